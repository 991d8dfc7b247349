"""A wallet and a backend speaking plain HTTP to idbb's credential issuer, and independent verifiers.

Proofs and DPoP proofs are signed here with PyJWT; credentials are checked with the ``sd-jwt`` package, pymdoccbor
and ``cryptography``, and PyJWT; status lists with a decoder written from draft-ietf-oauth-status-list-20 §4.1.
None of it calls idbb's own format code.
"""

import base64
import hashlib
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cbor2
import jwt as pyjwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwt.algorithms import ECAlgorithm

from app.clock import clock
from tests.conftest import ISSUER, bearer

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
SD_JWT_PID = "eu.europa.ec.eudi.pid_vc_sd_jwt"
MDOC_PID = "eu.europa.ec.eudi.pid_mdoc"
JWT_VC = "NationalIdCredential_jwt_vc_json"


def now() -> int:
    return int(clock.timestamp())


@dataclass
class HolderKey:
    private: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def public_jwk(self) -> dict[str, Any]:
        return ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)

    def proof(
        self,
        nonce: str | None,
        *,
        aud: str = ISSUER,
        iat: int | None = None,
        typ: str = "openid4vci-proof+jwt",
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        body: dict[str, Any] = {"aud": aud, "iat": now() if iat is None else iat, **claims}
        if nonce is not None:
            body["nonce"] = nonce
        headers = {"typ": typ, "jwk": self.public_jwk, **(header or {})}
        return pyjwt.encode(body, self.pem, algorithm="ES256", headers=headers)

    def dpop(self, method: str, url: str, *, nonce: str | None = None, access_token: str | None = None) -> str:
        body: dict[str, Any] = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": now()}
        if nonce:
            body["nonce"] = nonce
        if access_token:
            body["ath"] = base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()
        return pyjwt.encode(body, self.pem, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.public_jwk})


class Wallet:
    """The wallet side of OpenID4VCI 1.0, over plain HTTP."""

    def __init__(self, http: Any) -> None:
        self.http = http
        self.dpop_key: HolderKey | None = None
        self.dpop_nonce: str | None = None

    def offer(self, offer_uri: str) -> dict[str, Any]:
        query = parse_qs(urlsplit(offer_uri).query)
        reference = query["credential_offer_uri"][0]
        assert reference.startswith(ISSUER + "/credential-offer/")
        response = self.http.get(reference[len(ISSUER) :])
        assert response.status_code == 200, response.text
        return dict(response.json())

    def token_response(self, code: str, tx_code: str | None = None, *, dpop: bool = False, **extra: str) -> Any:
        form = {"grant_type": PRE_AUTH, "pre-authorized_code": code, **extra}
        if tx_code is not None:
            form["tx_code"] = tx_code
        headers = {}
        if dpop:
            self.dpop_key = self.dpop_key or HolderKey()
            headers["DPoP"] = self.dpop_key.dpop("POST", ISSUER + "/oauth/token", nonce=self.dpop_nonce)
        response = self.http.post("/oauth/token", data=form, headers=headers)
        if dpop and response.status_code == 400 and response.json().get("error") == "use_dpop_nonce":
            self.dpop_nonce = response.headers["DPoP-Nonce"]  # RFC 9449 §8: retry with the server's nonce
            headers["DPoP"] = self.dpop_key.dpop("POST", ISSUER + "/oauth/token", nonce=self.dpop_nonce)
            response = self.http.post("/oauth/token", data=form, headers=headers)
        return response

    def token(self, code: str, tx_code: str | None = None, *, dpop: bool = False) -> dict[str, Any]:
        response = self.token_response(code, tx_code, dpop=dpop)
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
        return dict(response.json())

    def c_nonce(self) -> str:
        response = self.http.post("/nonce")
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"  # §7.2
        return str(response.json()["c_nonce"])

    def auth(self, token: dict[str, Any], path: str, *, key: HolderKey | None = None) -> dict[str, str]:
        if token["token_type"] == "DPoP":
            signer = key or self.dpop_key
            assert signer is not None
            return {
                "Authorization": f"DPoP {token['access_token']}",
                "DPoP": signer.dpop("POST", ISSUER + path, nonce=self.dpop_nonce, access_token=token["access_token"]),
            }
        return bearer(token["access_token"])

    def credential_response(self, token: dict[str, Any], body: Any, *, key: HolderKey | None = None) -> Any:
        return self.http.post("/credential", json=body, headers=self.auth(token, "/credential", key=key))

    def credential(self, token: dict[str, Any], holders: list[HolderKey], identifier: str | None = None) -> Any:
        nonce = self.c_nonce()
        ident = identifier or token["authorization_details"][0]["credential_identifiers"][0]
        return self.credential_response(
            token, {"credential_identifier": ident, "proofs": {"jwt": [h.proof(nonce) for h in holders]}}
        )


class Backend:
    """An API client with the issuance scopes calling ``/v1/issuance``."""

    def __init__(self, http: Any, token: str) -> None:
        self.http, self.token = http, token

    def issue(self, **body: Any) -> Any:
        return self.http.post("/v1/issuance", json=body, headers=bearer(self.token))

    def issued(self, **body: Any) -> dict[str, Any]:
        response = self.issue(**body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def read(self, issuance_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/issuance/{issuance_id}", headers=bearer(self.token))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def states(self, issuance_id: str) -> list[str]:
        return [step["state"] for step in self.read(issuance_id)["history"]]


def code_of(offer: dict[str, Any]) -> str:
    return str(offer["grants"][PRE_AUTH]["pre-authorized_code"])


# --- independent verification ------------------------------------------------------------------


def published_key(http: Any, kid: str) -> dict[str, Any]:
    document = http.get("/.well-known/jwt-vc-issuer").json()
    assert document["issuer"] == ISSUER
    match = [k for k in document["jwks"]["keys"] if k["kid"] == kid]
    assert match, f"kid {kid} is not in /.well-known/jwt-vc-issuer"
    return dict(match[0])


def iaca_roots(http: Any) -> list[x509.Certificate]:
    response = http.get("/mdoc/iacas")
    assert response.status_code == 200
    return [x509.load_der_x509_certificate(base64.b64decode(item["certificate"])) for item in response.json()["iacas"]]


def decode_status(lst: bytes, bits: int, idx: int) -> int:
    """draft-20 §4.1: ZLIB-compressed bytes, ``bits`` per entry, entry ``idx`` counted from the LSB of byte 0."""
    raw = zlib.decompress(lst)
    per_byte = 8 // bits
    return (raw[idx // per_byte] >> ((idx % per_byte) * bits)) & ((1 << bits) - 1)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def status_of_jwt(http: Any, uri: str, idx: int) -> int:
    """Fetch the list as ``statuslist+jwt`` (§5.1), verify it with PyJWT against idbb's JWKS, read entry ``idx``."""
    assert uri.startswith(ISSUER + "/statuslists/")
    response = http.get(uri[len(ISSUER) :], headers={"Accept": "application/statuslist+jwt"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/statuslist+jwt")
    assert response.headers["ETag"] and "max-age=" in response.headers["Cache-Control"]
    token = response.text
    header = pyjwt.get_unverified_header(token)
    assert header["typ"] == "statuslist+jwt"
    jwks = http.get("/.well-known/jwks.json").json()
    key = pyjwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    claims = pyjwt.decode(token, key=key, algorithms=[header["alg"]], options={"verify_exp": False, "verify_iat": False})
    assert claims["sub"] == uri and claims["exp"] > claims["iat"] and claims["ttl"] > 0  # §5.1
    return decode_status(b64url_decode(claims["status_list"]["lst"]), claims["status_list"]["bits"], idx)


def status_of_cwt(http: Any, uri: str, idx: int) -> int:
    """The same list as ``statuslist+cwt`` (§5.2): COSE_Sign1 verified with ``cryptography``, claims by number."""
    response = http.get(uri[len(ISSUER) :], headers={"Accept": "application/statuslist+cwt"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/statuslist+cwt")
    message = cbor2.loads(response.content)
    assert isinstance(message, cbor2.CBORTag) and message.tag == 18  # COSE_Sign1_Tagged, no CWT tag
    protected_bytes, unprotected, payload, signature = message.value
    protected = cbor2.loads(protected_bytes)
    assert protected[1] == -7 and protected[16] == "application/statuslist+cwt"  # ES256, typ
    der = unprotected[33] if isinstance(unprotected[33], bytes) else unprotected[33][0]
    public = x509.load_der_x509_certificate(der).public_key()
    to_sign = cbor2.dumps(["Signature1", protected_bytes, b"", payload])  # RFC 9052 §4.4
    half = len(signature) // 2
    public.verify(
        encode_dss_signature(int.from_bytes(signature[:half]), int.from_bytes(signature[half:])),
        to_sign,
        ec.ECDSA(hashes.SHA256()),
    )
    claims = cbor2.loads(payload)
    assert claims[2] == uri and claims[4] > claims[6] and claims[65534] > 0  # sub, exp > iat, ttl
    return decode_status(claims[65533]["lst"], claims[65533]["bits"], idx)


def fresh_time() -> float:
    return time.time()
