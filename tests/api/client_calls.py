"""Helpers of the foundation review-finding tests (issue 2): token-endpoint calls and relying-party requests."""

from tests.conftest import ASSERTION_TYPE, ISSUER

PROTECTED = "/client-mgmt/oidc-client/anything"  # any operation guarded by read_oidc_client


def endpoint_call(client, path, caller, **form):
    data = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": caller.assertion(aud=ISSUER + path), **form}
    return client.post(path, data=data)


def rp_request(client_id, public_jwk, **changes):
    request = {
        "clientId": client_id,
        "clientName": "Health RP",
        "relyingPartyId": "health",
        "logoUri": "https://rp.example/logo.png",
        "redirectUris": ["https://rp.example/cb"],
        "authContextRefs": ["idbb:acr:static-code"],
        "publicKey": public_jwk,
        "userClaims": ["name"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }
    request.update(changes)
    return request
