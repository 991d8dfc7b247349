"""The happy path end to end: authorize → PIN → consent → token → userinfo, checked with PyJWT."""

from tests.conftest import ISSUER, server_jwks, verify_with_pyjwt


def test_code_flow_with_pin_consent_token_and_userinfo(client, rp, citizen):
    page = rp.authorize()
    assert page.status_code == 200, page.text
    consent_page = rp.login_pin(page, citizen.uin, citizen.pin)
    assert consent_page.status_code == 200, consent_page.text
    assert "consent-form" in consent_page.text
    code = rp.code_from(rp.consent(consent_page))
    response = rp.exchange(code)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    jwks = server_jwks(client)
    id_token = verify_with_pyjwt(body["id_token"], jwks, audience=rp.client_id)
    assert id_token["iss"] == ISSUER and id_token["nonce"] == rp.last["nonce"]
    assert id_token["acr"] == "idbb:acr:static-code" and id_token["amr"] == ["pin"]
    info = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200, info.text
    assert info.headers["content-type"].startswith("application/jwt")
    claims = verify_with_pyjwt(info.text, jwks, audience=rp.client_id)
    assert claims["sub"] == id_token["sub"]
    assert claims["name"] == "Amina Diallo" and claims["birthdate"] == "1990-04-12"
