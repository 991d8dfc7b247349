"""app/formats/jwt_vc: jwt_vc_json credentials (OpenID4VCI 1.0 Appendix A.1.1, VC Data Model 1.1 §6.3.1),
verified with PyJWT (signature, exp/nbf/iat, required claims) and read as the VC-JWT mapping prescribes."""

import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk

from app.formats.errors import CredentialError, FormatError
from app.formats.jwt_vc import issue_jwt_vc
from app.formats.status_list import status_reference

ISSUER = "https://idbb.test"
PRIVATE = ec.generate_private_key(ec.SECP256R1())
KEY = jwk.JWK(**dict(jwk.JWK.from_pyca(PRIVATE).export(as_dict=True), kid="vc-jwt-1"))
HOLDER = jwk.JWK.generate(kty="EC", crv="P-256")
NOW = int(time.time())
TYPES = ["VerifiableCredential", "NationalIdCredential"]
SUBJECT = {"given_name": "Ama", "family_name": "Mensah", "birthdate": "1990-04-01"}


def issue(**overrides):
    arguments = dict(
        issuer=ISSUER,
        types=TYPES,
        credential_subject=SUBJECT,
        key=KEY,
        alg="ES256",
        iat=NOW,
        exp=NOW + 3600,
        holder_key=HOLDER.export_public(as_dict=True),
        status=status_reference(5, f"{ISSUER}/statuslists/2"),
    )
    arguments.update(overrides)
    return issue_jwt_vc(**arguments)


def test_verified_by_pyjwt():
    token = issue()
    assert pyjwt.get_unverified_header(token) == {"alg": "ES256", "kid": "vc-jwt-1", "typ": "JWT"}
    claims = pyjwt.decode(
        token,
        PRIVATE.public_key(),
        algorithms=["ES256"],
        issuer=ISSUER,
        options={"require": ["iss", "exp", "nbf", "iat", "jti"]},
    )
    assert claims["vc"] == {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": TYPES,
        "credentialSubject": SUBJECT,
    }
    assert claims["nbf"] == claims["iat"] == NOW and claims["exp"] == NOW + 3600
    assert claims["jti"].startswith("urn:uuid:")
    assert claims["cnf"] == {"jwk": HOLDER.export_public(as_dict=True)}
    assert claims["status"] == {"status_list": {"idx": 5, "uri": f"{ISSUER}/statuslists/2"}}
    assert "sub" not in claims


def test_subject_id_becomes_sub_and_credential_subject_id():
    token = issue(subject_id="did:example:holder", holder_key=None, status=None, jti="urn:uuid:1234")
    claims = pyjwt.decode(token, PRIVATE.public_key(), algorithms=["ES256"])
    assert claims["sub"] == "did:example:holder" == claims["vc"]["credentialSubject"]["id"]
    assert claims["jti"] == "urn:uuid:1234" and "cnf" not in claims and "status" not in claims


def test_pyjwt_rejects_expired_and_forged():
    token = issue(iat=NOW - 7200, exp=NOW - 3600)
    with pytest.raises(pyjwt.ExpiredSignatureError):
        pyjwt.decode(token, PRIVATE.public_key(), algorithms=["ES256"])
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(issue(), ec.generate_private_key(ec.SECP256R1()).public_key(), algorithms=["ES256"])
    with pytest.raises(pyjwt.ImmatureSignatureError):
        # nbf from the clock now, not NOW: the module's NOW is taken at collection, perhaps long before
        pyjwt.decode(issue(nbf=int(time.time()) + 600), PRIVATE.public_key(), algorithms=["ES256"])


def test_bad_input_is_refused():
    with pytest.raises(CredentialError):
        issue(types=["NationalIdCredential"])
    with pytest.raises(CredentialError):
        issue(contexts=["https://example.com/ctx"])
    with pytest.raises(CredentialError):
        issue(exp=NOW)
    with pytest.raises(CredentialError):
        issue(holder_key=None, subject_id=None)
    with pytest.raises(CredentialError):
        issue(holder_key=HOLDER.export(as_dict=True))  # private
    with pytest.raises(CredentialError):
        issue(credential_subject={})
    with pytest.raises(FormatError):
        issue(status={"status_list": {"idx": -1, "uri": ISSUER}})


def test_extra_header_cannot_override_or_add_critical_members():
    from app.formats.jose import sign_jwt

    for name in ("alg", "kid", "typ", "crit", "b64"):
        with pytest.raises(FormatError):
            sign_jwt({"a": 1}, KEY, "ES256", extra_header={name: "x"})
    token = sign_jwt({"a": 1}, KEY, "ES256", extra_header={"x5c": ["MIIB"]})
    assert pyjwt.get_unverified_header(token)["x5c"] == ["MIIB"]
