"""The browser pages live outside the OpenAPI documents (HTML, not API): check they are routed."""


def test_authorize_and_logout_pages_are_served(app):
    rules = {rule.rule: rule.methods for rule in app.app.url_map.iter_rules()}
    for path in ("/authorize", "/logout"):
        assert {"GET", "POST"} <= rules[path], path  # GovStack §8 /authorize GET; OIDC Core §3.1.2.1 allows POST
    for path in ("/authorize/login", "/authorize/otp", "/authorize/consent"):
        assert "POST" in rules[path], path


def test_offer_pages_are_served(app):
    rules = {rule.rule: rule.methods for rule in app.app.url_map.iter_rules()}
    assert "GET" in rules["/offers/<issuance_id>"]
    assert "GET" in rules["/offers/<scope>/<wallet_id>"]  # issue 18: the wallet chooser
