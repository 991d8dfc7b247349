"""app/formats/sd_jwt and sd_jwt_vc: SD-JWT VCs issued by idbb, checked by the ``sd-jwt`` reference implementation.

The holder side (selecting disclosures, signing the KB-JWT) and the verifier side (issuer signature, digests,
disclosures, KB-JWT aud/nonce/sd_hash) are the sd-jwt package's ``SDJWTHolder`` and ``SDJWTVerifier``; the header
and the plain claims are read with PyJWT. idbb's own parser is then checked against what sd-jwt accepted.
"""

import base64
import hashlib
import json
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk
from sd_jwt.holder import SDJWTHolder
from sd_jwt.verifier import SDJWTVerifier

from app.formats.errors import CredentialError, DisclosureError, FormatError, SdJwtError
from app.formats.sd_jwt import issue_sd_jwt, make_disclosure, parse_compact, process_payload, verify_key_binding
from app.formats.sd_jwt_vc import (
    NEVER_DISCLOSABLE,
    issue_sd_jwt_vc,
    issuer_metadata,
    issuer_metadata_url,
    verify_sd_jwt_vc,
)
from app.formats.status_list import status_reference

ISSUER = "https://idbb.test"
VCT = "urn:eudi:pid:1"
ISSUER_PRIVATE = ec.generate_private_key(ec.SECP256R1())
ISSUER_JWK = jwk.JWK(**dict(jwk.JWK.from_pyca(ISSUER_PRIVATE).export(as_dict=True), kid="vc-1"))
ISSUER_PUBLIC = jwk.JWK(**ISSUER_JWK.export_public(as_dict=True))
HOLDER_JWK = jwk.JWK.generate(kty="EC", crv="P-256")
HOLDER_PUBLIC = jwk.JWK(**HOLDER_JWK.export_public(as_dict=True))
NOW = int(time.time())

CLAIMS = {
    "given_name": "Ama",
    "family_name": "Mensah",
    "birthdate": "1990-04-01",
    "sub": "pairwise-123",
    "address": {"street_address": "12 Ring Road", "locality": "Accra", "country": "GH"},
    "nationalities": ["GH", "NG"],
    "age_equal_or_over": {"18": True, "65": False},
}
DISCLOSABLE = [
    ("given_name",),
    ("family_name",),
    ("birthdate",),
    ("sub",),
    ("address",),
    ("address", "street_address"),
    ("address", "locality"),  # recursive: the object and its members
    ("nationalities", None),  # every array element
    ("age_equal_or_over", "18"),
    ("age_equal_or_over", "65"),
]


def b64url_json(segment):
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def issue(**overrides):
    arguments = dict(
        issuer=ISSUER,
        vct=VCT,
        claims=CLAIMS,
        holder_key=HOLDER_PUBLIC,
        key=ISSUER_JWK,
        alg="ES256",
        iat=NOW,
        exp=NOW + 86_400,
        nbf=NOW - 5,
        status=status_reference(4711, f"{ISSUER}/statuslists/1"),
        disclosable=DISCLOSABLE,
        x5c=["MIIBfake"],
        decoys=(2, 2),
    )
    arguments.update(overrides)
    return issue_sd_jwt_vc(**arguments)


def issuer_key_callback(issuer, header):
    assert issuer == ISSUER and header["kid"] == "vc-1"
    return ISSUER_PUBLIC


def test_an_imported_proof_key_is_bound_as_its_public_members():
    """A wallet's proof key reaches issuance as a PublicJwk: cnf.jwk is the key the wallet sent, with its kid."""
    from app.formats.jwk import import_public_signing_jwk

    sent = {**HOLDER_JWK.export_public(as_dict=True), "kid": "wallet-1", "unregistered": "dropped"}
    payload = pyjwt.decode(issue(holder_key=import_public_signing_jwk(sent)).jwt, options={"verify_signature": False})
    assert payload["cnf"] == {"jwk": {k: v for k, v in sent.items() if k != "unregistered"}}


def test_issuer_jwt_header_and_plain_claims_with_pyjwt():
    issued = issue()
    header = pyjwt.get_unverified_header(issued.jwt)
    assert header == {"alg": "ES256", "kid": "vc-1", "typ": "dc+sd-jwt", "x5c": ["MIIBfake"]}
    payload = pyjwt.decode(issued.jwt, ISSUER_PRIVATE.public_key(), algorithms=["ES256"], options={"verify_aud": False})
    assert payload["iss"] == ISSUER and payload["vct"] == VCT
    assert payload["iat"] == NOW and payload["exp"] == NOW + 86_400 and payload["nbf"] == NOW - 5
    assert payload["cnf"] == {"jwk": HOLDER_JWK.export_public(as_dict=True)}
    assert "d" not in payload["cnf"]["jwk"]
    assert payload["status"] == {"status_list": {"idx": 4711, "uri": f"{ISSUER}/statuslists/1"}}
    assert payload["_sd_alg"] == "sha-256"
    # no disclosable claim appears in the clear; never-disclosable ones are all plain
    for name in ("given_name", "family_name", "birthdate", "sub", "address"):
        assert name not in payload
    assert {"iss", "vct", "exp", "nbf", "cnf", "status"} <= payload.keys()
    # 5 top-level disclosable claims + 2 decoys, sorted; nationalities' elements are {"...": digest}
    assert len(payload["_sd"]) == 7 and payload["_sd"] == sorted(payload["_sd"])
    assert len(payload["nationalities"]) == 2 and all(set(e) == {"..."} for e in payload["nationalities"])
    # only the members of age_equal_or_over are disclosable: the object stays, with 2 digests + 2 decoys
    assert set(payload["age_equal_or_over"]) == {"_sd"} and len(payload["age_equal_or_over"]["_sd"]) == 4


def test_disclosures_are_well_formed_and_hash_into_the_payload():
    issued = issue()
    assert issued.compact.endswith("~") and issued.compact.count("~") == len(issued.disclosures) + 1
    payload = b64url_json(issued.jwt.split(".")[1])
    all_digests = json.dumps(payload)
    for encoded in issued.compact.split("~")[1:-1]:
        decoded = b64url_json(encoded)
        assert len(decoded) in (2, 3)
        assert len(base64.urlsafe_b64decode(decoded[0] + "==")) >= 16  # salt >= 128 bits
        digest = base64.urlsafe_b64encode(hashlib.sha256(encoded.encode("ascii")).digest()).rstrip(b"=").decode()
        # digests of the address members sit inside the address disclosure, not the payload
        if len(decoded) == 3 and decoded[1] in {"street_address", "locality"}:
            continue
        if len(decoded) == 3 and decoded[1] in {"18", "65"}:
            continue
        assert digest in all_digests


def test_sd_jwt_reference_verifier_accepts_issuer_signature_and_all_disclosures():
    issued = issue()
    verifier = SDJWTVerifier(issued.compact, issuer_key_callback)
    claims = verifier.get_verified_payload()
    assert claims["given_name"] == "Ama" and claims["sub"] == "pairwise-123"
    assert claims["address"] == CLAIMS["address"]
    assert claims["nationalities"] == ["GH", "NG"]
    assert claims["age_equal_or_over"] == {"18": True, "65": False}
    assert claims["vct"] == VCT and "_sd" not in json.dumps(claims)


def test_key_binding_presentation_by_the_holder_verified_by_sd_jwt():
    issued = issue()
    holder = SDJWTHolder(issued.compact)
    holder.create_presentation(
        {"given_name": True, "address": {"locality": True}, "nationalities": [False, True]},
        nonce="n-0S6_WzA2Mj",
        aud="https://verifier.example",
        holder_key=HOLDER_JWK,
        sign_alg="ES256",
    )
    presentation = holder.sd_jwt_presentation
    verifier = SDJWTVerifier(
        presentation, issuer_key_callback, expected_aud="https://verifier.example", expected_nonce="n-0S6_WzA2Mj"
    )
    claims = verifier.get_verified_payload()
    assert claims["given_name"] == "Ama"
    assert claims["address"] == {"locality": "Accra", "country": "GH"}
    assert claims["nationalities"] == ["NG"]
    assert "family_name" not in claims and "birthdate" not in claims
    # and idbb's own verifier side agrees with the reference implementation on the same presentation
    _, ours, parsed = verify_sd_jwt_vc(presentation, {"vc-1": ISSUER_PUBLIC}, algorithms=["ES256"], now=NOW)
    assert ours == claims
    kb = verify_key_binding(
        parsed, HOLDER_PUBLIC, audience="https://verifier.example", nonce="n-0S6_WzA2Mj", now=int(time.time())
    )
    assert kb["nonce"] == "n-0S6_WzA2Mj"
    with pytest.raises(SdJwtError):
        verify_key_binding(
            parsed, HOLDER_PUBLIC, audience="https://other.example", nonce="n-0S6_WzA2Mj", now=int(time.time())
        )


def test_reference_verifier_rejects_a_key_binding_by_another_key():
    issued = issue()
    holder = SDJWTHolder(issued.compact)
    holder.create_presentation(
        {"given_name": True},
        nonce="n",
        aud="https://verifier.example",
        holder_key=jwk.JWK.generate(kty="EC", crv="P-256"),
        sign_alg="ES256",
    )
    with pytest.raises(Exception):  # noqa: B017 - jwcrypto's InvalidJWSSignature via sd-jwt
        SDJWTVerifier(
            holder.sd_jwt_presentation, issuer_key_callback, expected_aud="https://verifier.example", expected_nonce="n"
        )


def test_reference_verifier_rejects_a_forged_issuer_signature():
    issued = issue()
    other = jwk.JWK.generate(kty="EC", crv="P-256")
    with pytest.raises(Exception):  # noqa: B017
        SDJWTVerifier(issued.compact, lambda iss, header: other)


@pytest.mark.parametrize("name", sorted(NEVER_DISCLOSABLE))
def test_never_disclosable_claims_are_refused(name):
    with pytest.raises(DisclosureError):
        issue(disclosable=[(name,)], claims={})


def test_registered_claims_cannot_come_in_through_claims():
    for name in ("iss", "vct", "cnf", "status", "exp", "iat"):
        with pytest.raises(CredentialError):
            issue(claims={name: "x"}, disclosable=[])


def test_bad_input_is_refused():
    with pytest.raises(DisclosureError):
        issue(disclosable=[("no_such_claim",)])
    with pytest.raises(DisclosureError):
        issue(claims={"_sd": []}, disclosable=[])
    with pytest.raises(CredentialError):
        issue(holder_key=HOLDER_JWK.export(as_dict=True))  # a private key as holder key
    with pytest.raises(CredentialError):
        issue(exp=NOW - 1)
    with pytest.raises(CredentialError):
        issue(vct="")
    with pytest.raises(CredentialError):
        issue(aka_vcts=[VCT])
    assert issubclass(DisclosureError, FormatError)


def test_no_disclosable_claims_means_no_sd():
    issued = issue(disclosable=[])
    payload = b64url_json(issued.jwt.split(".")[1])
    assert "_sd" not in payload and "_sd_alg" not in payload  # draft 18: MUST NOT contain _sd
    assert issued.compact == issued.jwt + "~"
    claims = SDJWTVerifier(issued.compact, issuer_key_callback).get_verified_payload()
    assert claims["given_name"] == "Ama"


def test_plain_sd_jwt_with_fixed_salt_matches_rfc_9901_example_digest():
    # RFC 9901 §5.1 example disclosure for given_name
    disclosure = make_disclosure("given_name", "John", salt="2GLC42sKQveCfGfryNRN9w")
    assert b64url_json(disclosure.encoded) == ["2GLC42sKQveCfGfryNRN9w", "given_name", "John"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(disclosure.encoded.encode()).digest()).rstrip(b"=").decode()
    assert disclosure.digest == digest
    issued = issue_sd_jwt({"a": 1, "b": [1, 2]}, ISSUER_JWK, "ES256", disclosable=[("b", 1)], decoys=(0, 0))
    assert issued.payload["b"][0] == 1 and set(issued.payload["b"][1]) == {"..."}


def test_own_processing_refuses_tampering():
    issued = issue()
    parsed = parse_compact(issued.compact)
    payload = b64url_json(issued.jwt.split(".")[1])
    with pytest.raises(SdJwtError):  # the same disclosure twice
        process_payload(payload, [*parsed.disclosures, parsed.disclosures[0]])
    with pytest.raises(SdJwtError):  # a disclosure nothing points to
        process_payload(payload, [*parsed.disclosures, make_disclosure("extra", 1)])
    with pytest.raises(FormatError):
        verify_sd_jwt_vc(issued.compact, {"vc-1": ISSUER_PUBLIC}, algorithms=["ES256"], now=NOW + 86_400)  # expired


def test_issuer_metadata_document():
    assert issuer_metadata_url("https://idbb.test") == "https://idbb.test/.well-known/jwt-vc-issuer"
    assert issuer_metadata_url("https://idbb.test/tenant/1234/") == "https://idbb.test/.well-known/jwt-vc-issuer/tenant/1234"
    document = issuer_metadata(ISSUER, [ISSUER_JWK])
    assert document["issuer"] == ISSUER and "jwks_uri" not in document
    [key] = document["jwks"]["keys"]
    assert key["kid"] == "vc-1" and "d" not in key
    # the document's key verifies the credential (PyJWT, key from the published JWK)
    issued = issue()
    public = pyjwt.PyJWK(key).key
    pyjwt.decode(issued.jwt, public, algorithms=["ES256"])
    with pytest.raises(CredentialError):
        issuer_metadata_url("http://idbb.test")
