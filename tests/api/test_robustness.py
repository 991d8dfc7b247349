"""Issue 14, "5xx and other robustness findings": each request as the issue's curl sent it."""

import base64
import json
import secrets

import pytest

from tests.api.oidc.test_client_mgmt import create_body, only_error, rsa_public_jwk, update_body
from tests.conftest import ASSERTION_TYPE, bearer
from tests.enrollment_helpers import full_body

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FORM_ENDPOINTS = ("/oauth/token", "/oauth/v2/token", "/oauth/par", "/oauth/introspect", "/oauth/revoke")
DEEP = b"[" * 10000 + b"]" * 10000


def _envelope_error(response):
    assert response.status_code == 200, response.text
    return response.json()["errors"][0]["errorCode"]


# --- 1. non-UTF-8 JSON ------------------------------------------------------------------------------


def test_non_utf8_json_without_a_token_is_invalid_request(client):
    response = client.post("/linked-authorization/link-status", content=b"\xbf", headers=JSON)
    assert _envelope_error(response) == "invalid_request"


def test_non_utf8_json_with_a_token_is_invalid_request(client, admin_token):
    response = client.post("/client-mgmt/oidc-client", content=b"\xbf", headers={**JSON, **bearer(admin_token)})
    assert _envelope_error(response) == "invalid_request"


def test_non_utf8_json_at_osia_speaks_osia(osia):
    response = osia.http.post(osia.url("/v1/enrollments/e-1"), content=b'{"a":"\xff"}', headers=osia.auth(JSON))
    assert response.status_code == 400
    assert response.json()["code"] == 400


# --- 2. repeated form parameters with odd names --------------------------------------------------------


@pytest.mark.parametrize("path", FORM_ENDPOINTS)
@pytest.mark.parametrize("name", ["%C3%A9", "%22", "%01"])
def test_repeated_parameter_with_an_odd_name_is_invalid_request(client, path, name):
    body = f"grant_type=client_credentials&{name}=1&{name}=2".encode()
    response = client.post(path, content=body, headers=FORM)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "invalid_request", "error_description": "Parameter repeated."}


def test_repeated_parameter_with_a_plain_name_is_still_named(client):
    response = client.post("/oauth/token", content=b"grant_type=client_credentials&scope=a&scope=b", headers=FORM)
    assert response.json()["error_description"] == "Parameter repeated: scope."


@pytest.mark.parametrize(
    "path,request_",
    [
        ("/linked-authorization/link-transaction", {"linkCode": "LONE"}),
        ("/linked-authorization/v2/link-transaction", {"linkCode": "LONE"}),
        ("/linked-authorization/link-code", {"transactionId": "LONE"}),
        (
            "/linked-authorization/authenticate",
            {
                "linkedTransactionId": "LONE",
                "individualId": "LONE",
                "challengeList": [{"authFactorType": "PIN", "challenge": "123456", "format": "number"}],
            },
        ),
        ("/linked-authorization/send-otp", {"transactionId": "LONE", "individualId": "LONE", "otpChannels": ["email"]}),
    ],
)
def test_an_escaped_lone_surrogate_in_json_is_invalid_request(client, path, request_):
    """RFC 7493 §2.1: ``"\\ud800"`` is valid JSON but no string a database driver or a hash can encode: the
    wallet calls answered 500 (UnicodeEncodeError at the digest of a link code, at the lookup of a transaction)
    without any token. The request guard refuses it on every JSON endpoint."""
    from tests.conftest import request_time

    body = json.dumps({"requestTime": request_time(), "request": request_}).replace("LONE", "\\ud800")
    response = client.post(path, content=body.encode(), headers={**JSON, "X-XSRF-TOKEN": "x"})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["errors"][0]["errorCode"] == "invalid_request"


def test_a_surrogate_pair_in_json_passes_the_guard(client):
    from tests.conftest import request_time

    body = json.dumps({"requestTime": request_time(), "request": {"linkCode": "PAIR"}}).replace(
        "PAIR", "\\ud83d\\ude00"
    )  # U+1F600, escaped as a pair: an unknown link code, not a refused body
    response = client.post("/linked-authorization/link-transaction", content=body.encode(), headers=JSON)
    assert _envelope_error(response) == "invalid_link_code"


# --- 5. JSON nested 10,000 deep -----------------------------------------------------------------------


def test_deep_json_without_a_token_is_invalid_request(client):
    response = client.post("/linked-authorization/link-status", content=DEEP, headers=JSON)
    assert _envelope_error(response) == "invalid_request"


def test_deep_json_with_a_token_is_invalid_request(client, admin_token):
    response = client.post("/client-mgmt/oidc-client", content=DEEP, headers={**JSON, **bearer(admin_token)})
    assert _envelope_error(response) == "invalid_request"


def test_json_nesting_up_to_the_bound_passes_the_guard(client, admin_token):
    body = json.dumps({"requestTime": "x", "request": [[[[[[[[1]]]]]]]]}).encode()
    response = client.post("/client-mgmt/oidc-client", content=body, headers={**JSON, **bearer(admin_token)})
    assert _envelope_error(response) != "server_error"
    assert "nests deeper" not in response.text


# --- 6. sizes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/par"])
def test_form_field_over_a_mebibyte_is_413_in_oauth_json(client, path):
    body = b"grant_type=client_credentials&x=" + b"a" * (1024 * 1024 + 10)
    response = client.post(path, content=body, headers=FORM)
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"


def test_body_over_the_json_limit_is_refused_in_the_envelope(make_app):
    app = make_app(max_json_bytes=1000)
    client = app.test_client(base_url="https://idbb.test")
    response = client.post("/linked-authorization/link-status", content=b'{"a":"' + b"x" * 2000 + b'"}', headers=JSON)
    assert _envelope_error(response) == "invalid_request"
    assert "larger" in response.json()["errors"][0]["errorMessage"]


# --- 7. Basic credentials that are not UTF-8 ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/par"])
def test_basic_credentials_that_are_not_utf8_are_invalid_client(client, path):
    response = client.post(
        path, data={"grant_type": "client_credentials", "token": "x"}, headers={"Authorization": "Basic //46eA=="}
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")


# --- 3. a newline in a path parameter ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/registry/identities/a%0Ab",
        "/registry/identities/a%0Db/history",
        "/client-mgmt/oidc-client/a%0Ab",
        "/v1/enrollments/a%0Ab?transactionId=t",
    ],
)
def test_newline_in_a_path_parameter_meets_the_security_check(client, path):
    response = client.get(path)
    assert response.status_code == 401, response.text


def test_newline_in_a_path_parameter_with_a_token_is_not_found(client, api_client):
    token = api_client("registry.read").token()
    response = client.get("/registry/identities/a%0Ab", headers=bearer(token))
    assert response.status_code in (400, 404), response.text


def test_an_api_view_is_never_reached_without_connexion_routing(app, monkeypatch):
    """Defense in depth: the Flask app alone (as if Connexion's router had missed the path) refuses before
    the view runs."""
    from app.services.enrollment import registry

    reached = []
    monkeypatch.setattr(registry, "read_identity", lambda *a, **k: reached.append(a))
    flask_client = app.app.test_client()
    try:
        status = flask_client.get("/registry/identities/1234567890").status_code
    except Exception as exc:  # the Flask app alone lets the refusal propagate to Connexion's handler
        status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    assert status == 404
    assert reached == []


@pytest.mark.parametrize(
    ("method", "path", "shape"),
    [
        ("GET", "/registry/identities//history", "problem"),
        ("POST", "/oauth//token", "oauth"),
        ("GET", "/client-mgmt//oidc-client/x", "envelope"),
        ("PUT", "/v1/enrollments//finalize?transactionId=1", "osia"),
    ],
)
def test_an_empty_path_segment_is_a_404_in_the_surfaces_format_not_a_redirect(client, method, path, shape):
    """werkzeug merged "//" with a 308 that had no Location, an error body, and no security check (fuzzing)."""
    response = client.request(method, path)
    assert response.status_code == 404, response.text
    assert "Location" not in response.headers
    body = response.json()
    assert {"problem": "title", "oauth": "error", "envelope": "errors", "osia": "code"}[shape] in body


# --- 4, 6, 8, 13: enrollment values -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"contextualData":{"n":9007199254740993}}',
        b'{"contextualData":{"n":NaN}}',
        b'{"contextualData":{"n":1e400}}',
        b'{"contextualData":{"n":"\\ud800"}}',
        b'{"contextualData":{"n":-Infinity}}',
    ],
)
def test_values_canonical_hashing_cannot_take_are_400(osia, raw):
    response = osia.http.post(osia.url("/v1/enrollments/E-4"), content=raw, headers=osia.auth(JSON))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 400
    assert osia.read("E-4").status_code == 404  # nothing half-written


@pytest.mark.parametrize("biographic", [[1, 2], "abc", 5])
def test_biographic_data_that_is_not_an_object_is_400(osia, biographic):
    body = full_body()
    body["biographicData"] = biographic
    response = osia.create("E-8", body)
    assert response.status_code == 400, response.text
    assert "biographicData must be an object" in response.json()["message"]
    assert osia.finalize("E-8").status_code == 404


def test_attribute_over_the_size_bound_is_400(osia):
    response = osia.create("E-6", full_body(first="x" * (10 * 1024 * 1024)))
    assert response.status_code == 400
    assert "firstName: longer than 1024 characters" in response.json()["message"]
    assert osia.create("E-6b", full_body(first="x" * 1024)).status_code == 204


@pytest.mark.parametrize("name", ["Ami\x00na", "Ami\x07na", "Ami\nna", "Ami\x85na"])
def test_nul_and_control_characters_in_names_are_400(osia, name):
    response = osia.create("E-13", full_body(first=name))
    assert response.status_code == 400, response.text
    assert osia.read("E-13").status_code == 404


def test_nul_and_control_characters_in_a_patch_are_400(osia):
    assert osia.create("E-13p", full_body()).status_code == 204
    response = osia.patch("E-13p", {"biographicData": {"lastName": "Dial\x00lo"}})
    assert response.status_code == 400, response.text
    response = osia.patch("E-13p", {"contextualData": {"note": "a\x00b"}})
    assert response.status_code == 400, response.text
    assert osia.patch("E-13p", {"biographicData": {"gender": None}}).status_code == 204


# --- 5 (nested JSON idbb parses itself), 11 (RSA moduli), 13 (client names) -------------------------------


def _b64url_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/par"])
def test_client_assertion_nested_10000_deep_is_invalid_client(client, path):
    assertion = ".".join([_b64url(b'{"alg":"ES256"}'), _b64url(b'{"sub":"x","a":' + DEEP + b"}"), _b64url(b"s")])
    response = client.post(
        path,
        data={
            "grant_type": "client_credentials",
            "token": "x",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == "invalid_client"


def test_public_key_given_as_a_deeply_nested_json_string_is_refused(client, admin_token):
    key = '{"kty":"RSA","x":' + "[" * 10000 + "]" * 10000 + "}"
    response = client.post("/client-mgmt/oidc-client", json=create_body(key), headers=bearer(admin_token))
    assert only_error(response) == "invalid_public_key"


@pytest.fixture(scope="module")
def rp_jwk():
    return rsa_public_jwk()


@pytest.mark.parametrize(
    "n",
    [
        secrets.randbits(16385) | (1 << 16384) | 1,
        secrets.randbits(1000000) | 1,
        (secrets.randbits(2047) | (1 << 2047)) & ~1,
        3 * 65537,
    ],
    ids=["16385-bit", "1000000-bit", "even", "tiny"],
)
def test_rsa_client_keys_over_8192_bits_or_invalid_are_refused(client, admin_token, n):
    key = {"kty": "RSA", "n": _b64url_int(n), "e": "AQAB"}
    response = client.post("/client-mgmt/oidc-client", json=create_body(key), headers=bearer(admin_token))
    assert only_error(response) == "invalid_public_key"


def test_rsa_wallet_keys_over_8192_bits_are_refused():
    from app.formats import FormatError
    from app.formats.wla import parse_wallet_jwk

    with pytest.raises(FormatError, match="at most 8192"):
        parse_wallet_jwk({"kty": "RSA", "n": _b64url_int(secrets.randbits(9000) | (1 << 8999) | 1), "e": "AQAB"})


@pytest.mark.parametrize("member", ["clientName", "relyingPartyId"])
@pytest.mark.parametrize("value", ["Health\x00Portal", "Health\x07Portal", "Health\nPortal"])
def test_nul_and_control_characters_in_client_names_are_refused(client, admin_token, rp_jwk, member, value):
    response = client.post(
        "/client-mgmt/oidc-client", json=create_body(rp_jwk, **{member: value}), headers=bearer(admin_token)
    )
    # NUL: the request guard's invalid_request (any surface); other controls: GovStack's own code
    expected = {"invalid_request"} if "\x00" in value else {"invalid_client_name", "invalid_rp_id"}
    assert only_error(response) in expected
    got = client.get("/client-mgmt/oidc-client/health-portal", headers=bearer(admin_token))
    assert got.json()["errors"], "nothing was stored"


def test_nul_in_a_client_name_update_is_refused(client, admin_token, rp_jwk):
    assert not client.post("/client-mgmt/oidc-client", json=create_body(rp_jwk), headers=bearer(admin_token)).json()[
        "errors"
    ]
    response = client.put(
        "/client-mgmt/oidc-client/health-portal", json=update_body(clientName="a\x00b"), headers=bearer(admin_token)
    )
    assert only_error(response) == "invalid_request"
    response = client.put(
        "/client-mgmt/oidc-client/health-portal", json=update_body(clientName="a\x1bb"), headers=bearer(admin_token)
    )
    assert only_error(response) == "invalid_client_name"


# --- 12. 405 carries Allow (RFC 9110 §15.5.6) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/oauth/token", {"POST"}),
        ("DELETE", "/oidc/userinfo", {"GET", "HEAD", "POST"}),
        ("DELETE", "/client-mgmt/oidc-client/x", {"GET", "HEAD", "PUT"}),
        ("POST", "/health", {"GET", "HEAD"}),
        ("PUT", "/linked-authorization/link-status", {"POST"}),
        ("PUT", "/authorize", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("GET", "/authorize/login", {"OPTIONS", "POST"}),
    ],
)
def test_405_names_the_allowed_methods(client, method, path, allow):
    response = client.request(method, path)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allow


# --- 9. every page error has its text in every language -------------------------------------------------


def test_every_page_error_key_raised_in_the_code_is_in_every_catalog():
    """A rejected request object showed the raw key ``error.bad_request_object`` (missing in en/fr/ar)."""
    import pathlib
    import re

    from app.ui.i18n import catalogs

    root = pathlib.Path(__file__).resolve().parents[2] / "app"
    used = set()
    for source in root.rglob("*.py"):
        used |= set(re.findall(r"""PageError\(\s*["']([a-z_]+\.[a-z_.]+)["']""", source.read_text(encoding="utf-8")))
    assert "error.bad_request_object" in used
    for lang, catalog in catalogs().items():
        assert not used - set(catalog), (lang, sorted(used - set(catalog)))


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_a_request_object_with_alg_none_shows_a_translated_page(client, admin_token, lang):
    from tests.flows.oidc_helpers import register_rp

    rp = register_rp(client, admin_token)
    params = rp.authorize_params()
    claims = _b64url(json.dumps({**params, "iss": rp.client_id, "aud": "https://idbb.test"}).encode())
    request_object = _b64url(b'{"alg":"none"}') + "." + claims + "."
    page = client.get(
        "/authorize",
        params={"client_id": rp.client_id, "request": request_object, "response_type": "code", "scope": "openid"},
        headers={"Accept-Language": lang},
    )
    from app.ui.i18n import catalogs

    assert "error.bad_request_object" not in page.text
    assert catalogs()[lang]["error.bad_request_object"] in page.text


# --- security 5 and 6: CSP form-action and the documentation pages' framing protection ----------------


def _csp(response) -> dict[str, str]:
    directives = [d.strip() for d in response.headers["content-security-policy"].split(";") if d.strip()]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in directives}


def test_login_page_form_action_allows_self_and_the_redirect_uri_origin_only(client, admin_token):
    from tests.flows.oidc_helpers import REDIRECT, register_rp

    rp = register_rp(client, admin_token)
    page = rp.authorize()
    assert page.status_code == 200
    origin = "/".join(REDIRECT.split("/")[:3])
    assert _csp(page)["form-action"].split() == ["'self'", origin]
    assert "*" not in page.headers["content-security-policy"]


def test_error_page_form_action_is_self_only(client):
    page = client.get("/authorize", params={"client_id": "nobody", "response_type": "code"})
    assert _csp(page)["form-action"] == "'self'"


@pytest.mark.parametrize(
    ("uri", "source"),
    [
        ("https://rp.example:8443/cb?x=1", ("https://rp.example:8443",)),
        ("http://127.0.0.1:3000/callback", ("http://127.0.0.1:3000",)),
        ("com.example.app:/oauth", ("com.example.app:",)),
        ("https://a b/", ()),
        (None, ()),
    ],
)
def test_csp_source(uri, source):
    from app.services.page_outcome import csp_source

    assert csp_source(uri) == source


@pytest.mark.parametrize("path", ["/docs/oidc/", "/docs/client-mgmt/", "/docs/registry/openapi.json"])
def test_documentation_pages_refuse_framing(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert _csp(response)["frame-ancestors"] == "'none'"
    assert _csp(response)["form-action"] == "'self'"
