"""Bad input to the issuance surfaces gets a 4xx in the surface's own error format, never a 5xx (what the
schemathesis run of every document will check too)."""

from typing import Any

import pytest

from tests.conftest import bearer
from tests.flows.issuance_helpers import SD_JWT_PID, Backend, HolderKey, Wallet, code_of


@pytest.fixture
def token(api_client: Any, client: Any) -> dict[str, Any]:
    backend = Backend(client, api_client("issuance.write", "issuance.read").token())
    created = backend.issued(
        credentialConfigurationId=SD_JWT_PID,
        claims={"family_name": "D", "given_name": "A", "birthdate": "1990-01-01", "personal_administrative_number": "1"},
    )
    wallet = Wallet(client)
    return wallet.token(code_of(wallet.offer(created["offerUri"])))


BAD_CREDENTIAL_BODIES = [
    None,
    7,
    "text",
    [],
    {},
    {"credential_identifier": 5},
    {"credential_identifier": "x" * 5000},
    {"credential_identifier": f"{SD_JWT_PID}:0", "proofs": "x"},
    {"credential_identifier": f"{SD_JWT_PID}:0", "proofs": {"jwt": "x"}},
    {"credential_identifier": f"{SD_JWT_PID}:0", "proofs": {"jwt": [{}]}},
    {"credential_identifier": f"{SD_JWT_PID}:0", "proofs": {"jwt": ["a.b.c"]}},
    {"credential_identifier": f"{SD_JWT_PID}:0", "proofs": {"jwt": ["e30.e30.e30"]}},
    {"credential_identifier": f"{SD_JWT_PID}:0", "proofs": {"ldp_vp": [{}]}},
    {"credential_identifier": f"{SD_JWT_PID}:0", "proof": {"proof_type": "jwt", "jwt": "x"}},
]


@pytest.mark.parametrize("body", BAD_CREDENTIAL_BODIES)
def test_bad_credential_requests_are_oid4vci_errors(client, token, body):
    response = client.post("/credential", json=body, headers=bearer(token["access_token"]))
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) <= {"error", "error_description"} and response.json()["error"]


def test_proof_headers_that_do_not_import(client, token):
    key = HolderKey()
    nonce = Wallet(client).c_nonce()
    for header in (
        {"jwk": {"kty": "EC"}},
        {"jwk": "nope"},
        {"x5c": ["!!!"]},
        {"x5c": "x"},
        {"jwk": {**key.public_jwk, "d": "secret"}},
    ):
        proof = key.proof(nonce, header=header)
        response = client.post(
            "/credential",
            headers=bearer(token["access_token"]),
            json={
                "credential_identifier": token["authorization_details"][0]["credential_identifiers"][0],
                "proofs": {"jwt": [proof]},
            },
        )
        assert response.status_code == 400 and response.json()["error"] == "invalid_proof", response.text


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/credential", {"content": b"not json", "headers": {"Content-Type": "application/json"}}),
        ("post", "/credential", {"content": b"x=1", "headers": {"Content-Type": "text/plain"}}),
        ("post", "/deferred_credential", {"json": {"transaction_id": "x"}}),
        ("post", "/notification", {"json": {"notification_id": 1}}),
        ("get", "/credential-offer/" + "x" * 70, {}),
        ("get", "/credential-offer/nope", {}),
        ("post", "/nonce", {"json": {"anything": True}}),
        ("get", "/statuslists/" + "a" * 40, {}),
        ("get", "/offers/" + "x" * 300, {}),
    ],
)
def test_wallet_side_garbage(client, method, path, kwargs):
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"credentialConfigurationId": SD_JWT_PID},
        {"credentialConfigurationId": 5},
        {"credentialConfigurationId": SD_JWT_PID, "subject": {"uin": "1"}, "claims": {}},
        {"credentialConfigurationIds": [SD_JWT_PID, SD_JWT_PID], "claims": {}},
        {"credentialConfigurationId": SD_JWT_PID, "claims": {"birthdate": ["x"]}},
        {"credentialConfigurationId": SD_JWT_PID, "claims": {}, "expiresIn": 10**9},
        {"credentialConfigurationId": SD_JWT_PID, "claims": {}, "txCode": {"length": 99}},
        {"credentialConfigurationId": SD_JWT_PID, "claims": {}, "grant": "authorization_code"},
        {"credentialConfigurationId": SD_JWT_PID, "claims": {}, "walletEndpoint": "https://w.example"},
        {"credentialConfigurationId": SD_JWT_PID, "claims": {}, "unknown": 1},
    ],
)
def test_bad_issuance_requests_are_osia_errors(client, api_client, body):
    response = client.post("/v1/issuance", json=body, headers=bearer(api_client("issuance.write").token()))
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"code", "message"}


def test_bad_search_and_complete(client, api_client):
    auth = bearer(api_client("issuance.write", "issuance.read").token())
    assert client.get("/v1/issuance", params={"createdAfter": "yesterday"}, headers=auth).status_code == 400
    assert client.get("/v1/issuance", params={"state": "nope"}, headers=auth).status_code == 400
    assert client.post("/v1/issuance/x/complete", json={"claims": {}}, headers=auth).status_code == 404
    assert client.post("/v1/issuance/x/complete", json={"deny": 1}, headers=auth).status_code == 400


def _x5c_header(public_key: Any) -> dict[str, Any]:
    """A proof header naming ``public_key`` by a certificate (built with cryptography, signed by another key: the
    size check must come before any signature is checked)."""
    import base64
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    signer = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "holder")])
    start = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .sign(signer, hashes.SHA256())
    )
    return {"x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}


def _rsa_public(bits: int) -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    if bits <= 4096:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    # a large odd modulus is enough for a public key (nobody needs its factors to send a costly proof)
    return rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) | 1).public_key()


@pytest.mark.parametrize("bits", [1024, 8200])
def test_x5c_proof_keys_outside_2048_to_8192_bits_are_invalid_proof(bits):
    """NIST SP 800-131A: below 2048 bits is too weak; above 8192 bits a proof only costs the issuer CPU time."""
    from app.services.issuance.errors import InvalidProof
    from app.services.issuance.proofs import _key

    with pytest.raises(InvalidProof) as refused:
        _key(_x5c_header(_rsa_public(bits)))
    assert refused.value.code == "invalid_proof"
    assert "bits" in str(refused.value.__cause__)
    assert _key(_x5c_header(_rsa_public(2048))).public_key.key_size == 2048
