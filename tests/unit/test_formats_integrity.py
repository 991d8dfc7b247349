"""app/formats/integrity: OSIA integrity scopes and hashes, detached JWS (RFC 7515 Appendix F, RFC 7797).

Keys are made with ``cryptography`` and converted with PyJWT; signatures to verify are made with PyJWT and checked
with the code under test, and the code's own signatures are checked with PyJWT, so a shared bug cannot pass.
Expected hashes are computed here with hashlib over ``rfc8785.dumps`` of selections written out by hand.
"""

import base64
import copy
import hashlib
import json

import jwt as pyjwt
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwcrypto import jwk
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from app.formats import FormatError
from app.formats.integrity import scope_digest, select_scope, sign_detached, verify_block, verify_detached


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def ec_pair(kid=None):
    private = ec.generate_private_key(ec.SECP256R1())
    public_jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    private_jwk = json.loads(ECAlgorithm.to_jwk(private))
    if kid:
        public_jwk["kid"] = private_jwk["kid"] = kid
    return private, jwk.JWK(**private_jwk), jwk.JWK(**public_jwk)


EC_PRIVATE, EC_PRIVATE_JWK, EC_PUBLIC_JWK = ec_pair("sig-2026")
OTHER_PRIVATE, _, OTHER_PUBLIC_JWK = ec_pair("other")

# OSIA 7.1 "Security & Privacy" example identity (03_-_security.rst), one biometric and one document
IDENTITY = {
    "identityType": "string",
    "status": "CLAIMED",
    "galleries": ["SAMPLE"],
    "clientData": "c3RyaW5n",
    "contextualData": {},
    "biographicData": {
        "lastName": "Smith",
        "firstName": "Alice",
        "dateOfBirth": "1987-11-30",
        "gender": "F",
        "nationality": "FRA",
    },
    "biometricData": [
        {
            "biometricType": "FINGER",
            "biometricSubType": "RIGHT_INDEX",
            "image": "SU1BR0UgQlVGRkVSIEJBU0U2NCBFTkNPREVE",
            "vendor": "SIA",
        }
    ],
    "encryption": {"type": "JWE", "scope": "$.clientData"},
    "integrity": [{"type": "NONE", "scope": "$", "alg": "SHA256", "hash": "00"}],
}


# === select_scope ============================================================================================


def test_select_whole_document_leaves_out_its_own_blocks():
    expected = {k: v for k, v in IDENTITY.items() if k not in ("integrity", "encryption")}
    assert select_scope(IDENTITY, "$") == expected
    assert "integrity" not in select_scope(IDENTITY, "$") and "encryption" not in select_scope(IDENTITY, "$")


def test_select_members_at_their_paths():
    assert select_scope(IDENTITY, "$.biographicData.firstName $.biographicData.lastName $.status") == {
        "biographicData": {"firstName": "Alice", "lastName": "Smith"},
        "status": "CLAIMED",
    }
    assert select_scope(IDENTITY, "$.biometricData") == {"biometricData": IDENTITY["biometricData"]}
    assert select_scope(IDENTITY, "  $.contextualData\n\t$.galleries ") == {
        "contextualData": {},
        "galleries": ["SAMPLE"],
    }


def test_select_covered_paths_and_duplicates():
    assert select_scope(IDENTITY, "$.biographicData $.biographicData.firstName $.biographicData") == {
        "biographicData": IDENTITY["biographicData"]
    }
    assert select_scope(IDENTITY, "$.status $") == select_scope(IDENTITY, "$")


def test_select_top_level_blocks_only_when_named():
    selection = select_scope(IDENTITY, "$ $.encryption.type")
    assert selection["encryption"] == {"type": "JWE"}
    assert "integrity" not in selection


def test_select_osia_relative_member_names():
    # OSIA's example writes the scope without "$.": "image biometricType biometricSubType"
    biometric = IDENTITY["biometricData"][0]
    assert select_scope(biometric, "image biometricType biometricSubType") == {
        "biometricType": "FINGER",
        "biometricSubType": "RIGHT_INDEX",
        "image": "SU1BR0UgQlVGRkVSIEJBU0U2NCBFTkNPREVE",
    }
    assert select_scope(IDENTITY, "biographicData.firstName") == {"biographicData": {"firstName": "Alice"}}


def test_selection_does_not_alias_the_document():
    document = copy.deepcopy(IDENTITY)
    selection = select_scope(document, "$ $.biographicData.firstName")
    selection["biographicData"]["firstName"] = "Mallory"
    selection["galleries"].append("X")
    assert document == IDENTITY


@pytest.mark.parametrize(
    "scope",
    [
        "$.nope",
        "$.biographicData.middleName",
        "$.status.value",  # status is a string, not an object
        "$.biometricData.image",  # biometricData is an array
        "$.biographicData $.biographicData.middleName",  # missing even though covered by a selected node
        "$.status $.nope",
    ],
)
def test_select_missing_node_is_refused(scope):
    with pytest.raises(FormatError):
        select_scope(IDENTITY, scope)


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "   ",
        "$.",
        "$..firstName",
        "$.biometricData[0]",
        "$.biometricData[*].image",
        "parts[*].pages",
        "$['status']",
        "$.*",
        "$.a..b",
        "@.status",
        "$status",
        "$.1abc",
        "$.biographicData.first-name",
        "biometricData[*].integrity[?@.id=='1'].hash",
    ],
)
def test_select_unsupported_syntax_is_refused(scope):
    with pytest.raises(FormatError):
        select_scope(IDENTITY, scope)


def test_select_needs_an_object():
    with pytest.raises(FormatError):
        select_scope(["a"], "$")  # type: ignore[arg-type]


# === scope_digest ============================================================================================


def test_scope_digest_is_a_hash_of_the_rfc8785_selection():
    expected_selection = {"biographicData": {"lastName": "Smith", "firstName": "Alice"}, "status": "CLAIMED"}
    canonical = rfc8785.dumps(expected_selection)
    assert canonical == b'{"biographicData":{"firstName":"Alice","lastName":"Smith"},"status":"CLAIMED"}'
    scope = "$.status $.biographicData.lastName $.biographicData.firstName"
    for alg, name in [
        ("SHA256", "sha256"),
        ("SHA-256", "sha256"),
        ("sha256", "sha256"),
        ("SHA384", "sha384"),
        ("SHA-384", "sha384"),
        ("SHA512", "sha512"),
        ("SHA-512", "sha512"),
    ]:
        digest = hashlib.new(name, canonical).digest()
        assert scope_digest(IDENTITY, scope, alg) == digest.hex()
        assert scope_digest(IDENTITY, scope, alg, encoding="base64url") == b64url(digest)


def test_scope_digest_reproduces_the_osia_worked_example():
    # 03_-_security.rst: the local integrity of the biometric is 7a0f87b0...3787 (hex SHA-256)
    assert (
        scope_digest(IDENTITY["biometricData"][0], "image biometricType biometricSubType", "SHA256")
        == "7a0f87b0ebb9236486f32d0f19fb560af06e74ba2a0b1202c167453471113787"
    )


def test_scope_digest_whole_document():
    expected = {k: v for k, v in IDENTITY.items() if k not in ("integrity", "encryption")}
    assert scope_digest(IDENTITY, "$", "SHA512") == hashlib.sha512(rfc8785.dumps(expected)).hexdigest()


def test_scope_digest_changes_with_the_data():
    changed = copy.deepcopy(IDENTITY)
    changed["biographicData"]["firstName"] = "Alicia"
    assert scope_digest(changed, "$.biographicData", "SHA256") != scope_digest(IDENTITY, "$.biographicData", "SHA256")
    assert scope_digest(changed, "$.status", "SHA256") == scope_digest(IDENTITY, "$.status", "SHA256")


@pytest.mark.parametrize("alg", ["MD5", "SHA1", "SHA-1", "SHA3-256", "", "none"])
def test_scope_digest_unsupported_alg(alg):
    with pytest.raises(FormatError):
        scope_digest(IDENTITY, "$", alg)


def test_scope_digest_unsupported_encoding():
    with pytest.raises(FormatError):
        scope_digest(IDENTITY, "$", "SHA256", encoding="base32")  # type: ignore[arg-type]


# === detached JWS ============================================================================================

PAYLOAD = rfc8785.dumps({"biographicData": {"firstName": "Alice"}})


def pyjwt_detached(payload: bytes, key=EC_PRIVATE, alg="ES256", headers=None) -> str:
    """PyJWT's detached mode: RFC 7797 unencoded payload (b64: false, crit: ["b64"])."""
    return pyjwt.api_jws.PyJWS().encode(payload, key, algorithm=alg, headers=headers, is_payload_detached=True)


def pyjwt_appendix_f(payload: bytes, key=EC_PRIVATE, alg="ES256", headers=None) -> str:
    """RFC 7515 Appendix F: an ordinary compact JWS with its payload part removed."""
    header, _, signature = pyjwt.api_jws.PyJWS().encode(payload, key, algorithm=alg, headers=headers).split(".")
    return f"{header}..{signature}"


def hand_made(header: dict, signing_payload: bytes, key=EC_PRIVATE) -> str:
    """A detached ES256 JWS over ``b64url(header) . signing_payload``, signed with PyJWT's ES256 primitive."""
    protected = b64url(json.dumps(header).encode())
    signature = ECAlgorithm(ECAlgorithm.SHA256).sign(protected.encode() + b"." + signing_payload, key)
    return f"{protected}..{b64url(signature)}"


def test_pyjwt_detached_tokens_really_are_detached():
    for token in (pyjwt_detached(PAYLOAD), pyjwt_appendix_f(PAYLOAD)):
        header, middle, signature = token.split(".")
        assert middle == "" and signature
    assert json.loads(base64.urlsafe_b64decode(pyjwt_detached(PAYLOAD).split(".")[0] + "==")).get("b64") is False


@pytest.mark.parametrize("make", [pyjwt_detached, pyjwt_appendix_f])
def test_verify_pyjwt_signatures(make):
    header = verify_detached(make(PAYLOAD, headers={"kid": "sig-2026"}), PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])
    assert header["alg"] == "ES256" and header["kid"] == "sig-2026"


@pytest.mark.parametrize("make", [pyjwt_detached, pyjwt_appendix_f])
def test_verify_finds_the_right_key_among_several(make):
    verify_detached(make(PAYLOAD), PAYLOAD, [OTHER_PUBLIC_JWK, EC_PUBLIC_JWK], ["ES256", "RS256"])


@pytest.mark.parametrize("make", [pyjwt_detached, pyjwt_appendix_f])
def test_verify_refuses_a_tampered_payload(make):
    token = make(PAYLOAD)
    for other in (PAYLOAD + b" ", PAYLOAD.replace(b"Alice", b"Alicf"), b"", rfc8785.dumps({"x": 1})):
        with pytest.raises(FormatError):
            verify_detached(token, other, [EC_PUBLIC_JWK], ["ES256"])


@pytest.mark.parametrize("make", [pyjwt_detached, pyjwt_appendix_f])
def test_verify_refuses_a_wrong_key(make):
    with pytest.raises(FormatError):
        verify_detached(make(PAYLOAD), PAYLOAD, [OTHER_PUBLIC_JWK], ["ES256"])
    with pytest.raises(FormatError):
        verify_detached(make(PAYLOAD), PAYLOAD, [], ["ES256"])
    with pytest.raises(FormatError):
        verify_detached(make(PAYLOAD, key=OTHER_PRIVATE), PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])


def test_verify_refuses_a_tampered_signature():
    header, _, signature = pyjwt_appendix_f(PAYLOAD).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[5] ^= 1
    with pytest.raises(FormatError):
        verify_detached(f"{header}..{b64url(bytes(raw))}", PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])


def test_verify_refuses_algorithms_not_listed():
    token = pyjwt_appendix_f(PAYLOAD)
    verify_detached(token, PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])  # the same token passes with ES256 listed
    for algorithms in (["ES384"], ["RS256", "PS256"], [], ["es256"]):
        with pytest.raises(FormatError):
            verify_detached(token, PAYLOAD, [EC_PUBLIC_JWK], algorithms)


def test_verify_refuses_alg_none_even_when_listed():
    protected = b64url(json.dumps({"alg": "none"}).encode())
    with pytest.raises(FormatError):
        verify_detached(f"{protected}..", PAYLOAD, [EC_PUBLIC_JWK], ["none", "ES256"])
    with pytest.raises(FormatError, match="algorithm is not accepted"):  # refused before any key is tried
        verify_detached(f"{protected}..AAAA", PAYLOAD, [EC_PUBLIC_JWK], ["none", "ES256"])
    # a payload that PyJWT signs with "none"
    none_token = pyjwt.api_jws.PyJWS().encode(PAYLOAD, None, algorithm="none")
    header, _, signature = none_token.split(".")
    assert signature == ""  # an unsecured JWS has an empty signature part
    with pytest.raises(FormatError):
        verify_detached(f"{header}..{signature}", PAYLOAD, [EC_PUBLIC_JWK], ["none"])


def test_verify_refuses_an_attached_payload():
    attached = pyjwt.api_jws.PyJWS().encode(PAYLOAD, EC_PRIVATE, algorithm="ES256")
    with pytest.raises(FormatError, match="not a detached JWS"):
        verify_detached(attached, PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])


def test_verify_refuses_b64_false_not_listed_in_crit():
    good = hand_made({"alg": "ES256", "b64": False, "crit": ["b64"]}, PAYLOAD)
    verify_detached(good, PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])  # the hand-made form itself verifies
    bad = hand_made({"alg": "ES256", "b64": False}, PAYLOAD)
    with pytest.raises(FormatError):
        verify_detached(bad, PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])


def test_verify_refuses_unknown_critical_headers():
    good = hand_made({"alg": "ES256"}, b64url(PAYLOAD).encode())
    verify_detached(good, PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])
    for header in (
        {"alg": "ES256", "crit": ["exp2"], "exp2": 1},
        {"alg": "ES256", "crit": []},
        {"alg": "ES256", "crit": "b64"},
        {"alg": "ES256", "b64": "false", "crit": ["b64"]},
    ):
        token = hand_made(header, b64url(PAYLOAD).encode())
        with pytest.raises(FormatError, match="crit|b64"):  # refused by our header checks, not by chance
            verify_detached(token, PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a..b.c", "..", "!!..AAAA", "eyJhbGciOiJFUzI1NiJ9..", "bm90IGpzb24..AAAA", "WzFd..AAAA"],
)
def test_verify_refuses_malformed_tokens(token):
    with pytest.raises(FormatError):
        verify_detached(token, PAYLOAD, [EC_PUBLIC_JWK], ["ES256"])


def test_sign_detached_verifies_with_pyjwt():
    token = sign_detached(PAYLOAD, EC_PRIVATE_JWK, "ES256")
    header, middle, signature = token.split(".")
    assert middle == ""
    decoded_header = json.loads(base64.urlsafe_b64decode(header + "=="))
    assert decoded_header == {"alg": "ES256", "kid": "sig-2026"}
    # put the payload back (RFC 7515 Appendix F) and let PyJWT verify the result
    attached = f"{header}.{b64url(PAYLOAD)}.{signature}"
    assert pyjwt.api_jws.PyJWS().decode(attached, EC_PRIVATE.public_key(), algorithms=["ES256"]) == PAYLOAD
    assert verify_detached(token, PAYLOAD, [EC_PUBLIC_JWK], ["ES256"]) == decoded_header


def test_sign_detached_rsa_and_no_kid():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = jwk.JWK(**json.loads(RSAAlgorithm.to_jwk(private)))
    token = sign_detached(PAYLOAD, key, "PS256")
    header, _, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "PS256"}
    attached = f"{header}.{b64url(PAYLOAD)}.{signature}"
    assert pyjwt.api_jws.PyJWS().decode(attached, private.public_key(), algorithms=["PS256"]) == PAYLOAD


def test_sign_detached_refuses_none_and_mismatched_keys():
    for alg in ("none", "RS256", "HS256", "nonsense"):
        with pytest.raises(FormatError):
            sign_detached(PAYLOAD, EC_PRIVATE_JWK, alg)
    with pytest.raises(FormatError):
        sign_detached(PAYLOAD, EC_PUBLIC_JWK, "ES256")  # a public key cannot sign


# === verify_block ============================================================================================


def document_with_block(scope="$.biographicData $.biometricData", alg="SHA256", kind="NONE", sign=True):
    document = copy.deepcopy({k: v for k, v in IDENTITY.items() if k != "integrity"})
    selection = {"biographicData": IDENTITY["biographicData"], "biometricData": IDENTITY["biometricData"]}
    canonical = rfc8785.dumps(selection)
    block = {"type": kind, "scope": scope, "alg": alg, "hash": hashlib.sha256(canonical).hexdigest()}
    if kind == "JWS" and sign:
        block["signature"] = pyjwt_appendix_f(canonical, headers={"kid": "sig-2026"})
    document["integrity"] = [block]
    return document, block


def test_verify_block_none_type_checks_only_the_hash():
    document, block = document_with_block()
    verify_block(document, block, [], [])
    del block["type"]  # NONE is the default
    verify_block(document, block, [], [])


def test_verify_block_accepts_hex_and_base64_hashes():
    document, block = document_with_block()
    digest = bytes.fromhex(block["hash"])
    for encoded in (block["hash"].upper(), b64url(digest), base64.b64encode(digest).decode()):
        verify_block(document, dict(block, hash=encoded), [], [])


def test_verify_block_of_the_whole_document():
    document, block = document_with_block(scope="$")
    document["integrity"] = [block]  # the block lives in the document it covers: "$" leaves it out
    expected = {k: v for k, v in document.items() if k not in ("integrity", "encryption")}
    block["hash"] = hashlib.sha256(rfc8785.dumps(expected)).hexdigest()
    verify_block(document, block, [], [])
    document["status"] = "VALID"
    with pytest.raises(FormatError):
        verify_block(document, block, [], [])


def test_verify_block_refuses_changed_data():
    document, block = document_with_block()
    document["biographicData"]["firstName"] = "Mallory"
    with pytest.raises(FormatError):
        verify_block(document, block, [], [])


def test_verify_block_ignores_data_outside_the_scope():
    document, block = document_with_block()
    document["status"] = "VALID"
    verify_block(document, block, [], [])


@pytest.mark.parametrize(
    "change",
    [
        {"hash": "00" * 32},
        {"hash": "7a0f87b0ebb9236486f32d0f19fb560af06e74ba2a0b1202c167453471113787"},
        {"hash": "abc"},
        {"hash": ""},
        {"hash": 12},
        {"alg": "SHA512"},  # the hash was made with SHA-256
        {"alg": "MD5"},
        {"scope": "$.biographicData"},
        {"scope": "$.biometricData[*].image"},
        {"scope": "$.missing"},
        {"type": "PKCS7"},
        {"type": "OTHER"},
        {"followRef": True},
        {"encrypted": True},
        {"signatureRef": "https://objectserver.com/signature?id=00003"},
    ],
)
def test_verify_block_refusals(change):
    document, block = document_with_block()
    verify_block(document, block, [], [])  # unchanged, it passes
    with pytest.raises(FormatError):
        verify_block(document, dict(block, **change), [], [])


@pytest.mark.parametrize("missing", ["scope", "alg", "hash"])
def test_verify_block_required_members(missing):
    document, block = document_with_block()
    del block[missing]
    with pytest.raises(FormatError):
        verify_block(document, block, [], [])


def test_verify_block_jws():
    document, block = document_with_block(kind="JWS")
    verify_block(document, block, [EC_PUBLIC_JWK], ["ES256"])
    with pytest.raises(FormatError):
        verify_block(document, block, [OTHER_PUBLIC_JWK], ["ES256"])  # wrong key
    with pytest.raises(FormatError):
        verify_block(document, block, [EC_PUBLIC_JWK], ["RS256"])  # algorithm not accepted


def test_verify_block_jws_made_by_sign_detached():
    document, block = document_with_block(kind="JWS", sign=False)
    selection = {"biographicData": IDENTITY["biographicData"], "biometricData": IDENTITY["biometricData"]}
    block["signature"] = sign_detached(rfc8785.dumps(selection), EC_PRIVATE_JWK, "ES256")
    verify_block(document, block, [EC_PUBLIC_JWK], ["ES256"])


def test_verify_block_jws_over_other_data_is_refused():
    # the hash is right but the signature covers other data: the signature must cover the selection
    document, block = document_with_block(kind="JWS", sign=False)
    block["signature"] = pyjwt_appendix_f(rfc8785.dumps({"biographicData": {"firstName": "Mallory"}}))
    with pytest.raises(FormatError):
        verify_block(document, block, [EC_PUBLIC_JWK], ["ES256"])


def test_verify_block_jws_needs_a_signature():
    document, block = document_with_block(kind="JWS", sign=False)
    with pytest.raises(FormatError):
        verify_block(document, block, [EC_PUBLIC_JWK], ["ES256"])
    with pytest.raises(FormatError):
        verify_block(document, dict(block, signature=""), [EC_PUBLIC_JWK], ["ES256"])


def test_verify_block_jws_with_changed_data_and_recomputed_hash_is_refused():
    # an attacker who changes the data and recomputes the hash still cannot produce the signature
    document, block = document_with_block(kind="JWS")
    document["biographicData"]["firstName"] = "Mallory"
    block = dict(block, hash=scope_digest(document, block["scope"], "SHA256"))
    with pytest.raises(FormatError):
        verify_block(document, block, [EC_PUBLIC_JWK], ["ES256"])


def test_verify_block_needs_an_object():
    with pytest.raises(FormatError):
        verify_block(IDENTITY, "not a block", [], [])  # type: ignore[arg-type]
