"""Key proofs of type ``jwt`` (OpenID4VCI 1.0 §8.2.1.1 and Appendix F.1), verified with idbb's JOSE code.

A proof is a JWT with header ``typ: openid4vci-proof+jwt``, an asymmetric ``alg`` the configuration accepts and
exactly one of ``jwk`` / ``kid`` / ``x5c`` naming the key to bind; claims ``aud`` (the Credential Issuer
Identifier), a fresh ``iat``, the ``nonce`` (a c_nonce from ``POST /nonce``) and no ``iss`` when the token came
from anonymous pre-authorized access. Each proof is used once (its digest goes to the replay store), each
c_nonce once, and the keys of a batch are distinct.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509 as pyca_x509
from jwcrypto import jwk

from app.clock import clock
from app.errors import Unauthorized
from app.extensions import state
from app.formats import FormatError
from app.formats.jose import PublicJwk, peek_header, verify_jwt
from app.formats.jwk import PRIVATE_MEMBERS, import_public_signing_jwk, supported_algs, thumbprint
from app.services.issuance import nonces
from app.services.issuance.configurations import CredentialConfiguration
from app.services.issuance.errors import InvalidCredentialRequest, InvalidNonce, InvalidProof

PROOF_TYP = "openid4vci-proof+jwt"  # Appendix F.1: typ MUST be openid4vci-proof+jwt
MAX_PROOF_LENGTH = 16384
LEEWAY = 5


@dataclass(frozen=True)
class BoundKey:
    key: PublicJwk  # imported with cryptography alone: it verifies the proof and is bound into the credential
    jkt: str  # its RFC 7638 thumbprint, computed once


def bound(key: PublicJwk) -> BoundKey:
    return BoundKey(key, thumbprint(key))


def _key(header: dict[str, Any]) -> PublicJwk:
    named = [n for n in ("jwk", "kid", "x5c") if n in header]
    if len(named) != 1:  # Appendix F.1: exactly one of kid, jwk, x5c
        raise InvalidProof(description="A proof names its key by exactly one of jwk, kid or x5c.")
    if named[0] == "kid":
        raise InvalidProof(description="Proof keys named by kid (DIDs) are not supported; send jwk.")
    try:
        if named[0] == "jwk":
            data = header["jwk"]
            if not isinstance(data, dict) or PRIVATE_MEMBERS & data.keys():  # F.1: MUST NOT contain a private key
                raise InvalidProof(description="The proof jwk must be a public key.")
            return import_public_signing_jwk(data)
        chain = header["x5c"]
        if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
            raise InvalidProof(description="The proof x5c is malformed.")
        import base64

        cert = pyca_x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
        # the certificate's key passes the same checks as a jwk: RSA within 2048..8192 bits (NIST SP 800-131A; a
        # larger modulus only buys the sender our CPU time), supported kty and curves
        return import_public_signing_jwk(jwk.JWK.from_pyca(cert.public_key()).export_public(as_dict=True))
    except InvalidProof:
        raise
    except (FormatError, ValueError, TypeError) as exc:
        raise InvalidProof(description="The proof key does not import.") from exc


def _verify_one(
    proof: Any, config: CredentialConfiguration, *, anonymous: bool, client_id: str | None
) -> tuple[BoundKey, str]:
    if not isinstance(proof, str) or not proof or len(proof) > MAX_PROOF_LENGTH:
        raise InvalidProof(description="A proof must be a compact JWT.")
    try:
        header = peek_header(proof)
    except FormatError as exc:
        raise InvalidProof(description="A proof is not a JWT.") from exc
    if header.get("typ") != PROOF_TYP:  # Appendix F.1: typ MUST be openid4vci-proof+jwt
        raise InvalidProof(description="The proof typ must be openid4vci-proof+jwt.")
    alg = header.get("alg")
    if alg not in config.proof_algs:  # F.1: alg MUST NOT be none or a MAC; §12.2.4 the configuration's list
        raise InvalidProof(description="The proof algorithm is not accepted for this credential.")
    key = _key(header)
    if alg not in supported_algs(key):
        raise InvalidProof(description="The proof algorithm does not fit its key.")
    try:
        _, claims = verify_jwt(proof, {str(header.get("kid")): key}, algorithms=[alg], typ=PROOF_TYP, header=header)
    except FormatError as exc:
        raise InvalidProof(description="The proof signature does not verify.") from exc
    settings = state().settings
    if claims.get("aud") != settings.issuer:  # F.1: aud MUST be the Credential Issuer Identifier
        raise InvalidProof(description="The proof aud must be the credential issuer.")
    iat = claims.get("iat")
    now = clock.epoch()
    if (
        not isinstance(iat, int | float)
        or isinstance(iat, bool)
        or not (now - settings.proof_max_age - LEEWAY <= iat <= now + LEEWAY)
    ):  # F.1: iat REQUIRED; §13.6 freshness
        raise InvalidProof(description="The proof iat is missing or not recent.")
    if anonymous and "iss" in claims:  # F.1: iss MUST be omitted after anonymous pre-authorized access
        raise InvalidProof(description="The proof must not carry iss after anonymous pre-authorized access.")
    if not anonymous and "iss" in claims and claims["iss"] != client_id:  # F.1: iss MUST be the client_id
        raise InvalidProof(description="The proof iss must be the client_id.")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:  # §8.3.1.2 (3): a proof without c_nonce is invalid_proof
        raise InvalidProof(description="The proof carries no c_nonce.")
    return bound(key), nonce


def verify(
    proofs: Any,
    config: CredentialConfiguration,
    *,
    anonymous: bool,
    client_id: str | None = None,
    revocation_key: str | None = None,
) -> list[BoundKey]:
    """The keys of a request's ``proofs`` (§8.2), each verified, fresh, used once, bound at most once.

    ``revocation_key``: the access token's revocation marker, when the caller left that check to this round trip
    to the replay store (a revoked token is :class:`Unauthorized`, RFC 6750 §3.1 ``invalid_token``)."""
    if not isinstance(proofs, dict) or not proofs:
        # §8.2: proofs MUST be present when proof_types_supported is (idbb always lists jwt)
        raise InvalidProof(description="proofs is required.")
    if set(proofs) != {"jwt"}:  # §8.2: exactly one proof type, idbb supports jwt
        raise InvalidProof(description="proofs must hold exactly one proof type: jwt.")
    items = proofs["jwt"]
    if not isinstance(items, list) or not items:  # §8.2: a non-empty array
        raise InvalidProof(description="proofs.jwt must be a non-empty array.")
    if len(items) > state().settings.credential_batch_size:  # §12.2.4 batch_credential_issuance.batch_size
        raise InvalidCredentialRequest(description="More proofs than the batch size.")
    verified = [_verify_one(p, config, anonymous=anonymous, client_id=client_id) for p in items]
    keys = [k for k, _ in verified]
    if len({k.jkt for k in keys}) != len(keys):  # §8.3: each key binds at most one credential
        raise InvalidProof(description="The proofs of a batch must use distinct keys.")
    ttl = state().settings.proof_max_age + 60
    entries = [(f"proof:{hashlib.sha256(p.encode('ascii', 'replace')).hexdigest()}", ttl) for p in items]
    spent = [nonces.marker(n) for n in sorted({n for _, n in verified})]
    if any(entry is None for entry in spent):  # §7: unknown or expired c_nonce
        raise InvalidNonce()
    # proofs and c_nonces are marked in one replay-store round trip; a proof seen before fails the request even
    # when its c_nonce is new (and that c_nonce is spent with it: the wallet asks for a fresh one)
    markers = [*entries, *(e for e in spent if e is not None)]
    if revocation_key is None:
        added = state().replay.add_many_once(markers, clock.now())
    else:
        revoked, added = state().replay.seen_and_add_many(revocation_key, markers, clock.now())
        if revoked:
            raise Unauthorized(detail="revoked")
    if not all(added[: len(entries)]):
        raise InvalidProof(description="A proof was already used.")  # §13.6: a proof is used once
    if not all(added[len(entries) :]):
        raise InvalidNonce()  # §7: a c_nonce is used once
    return keys
