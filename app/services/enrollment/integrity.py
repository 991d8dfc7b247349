"""Integrity of enrollment requests (OSIA v7 ``integrity`` blocks; GovStack §6 enrollment integrity).

An enrollment client is a registered API client with a public key. A request may carry OSIA
``integrity`` blocks: a digest over RFC 8785 canonical JSON of the scoped nodes and, for type JWS,
a detached JWS over those same bytes signed by the client. A client registered with
``signature_required`` must send a valid JWS block whose scope is ``$`` (the whole request, so no
member travels unsigned), and the signed request must name the enrollment it is for (OSIA's
read-only ``enrollmentId``; the GovStack packet's ``request.id``), so a signed body captured for
one enrollment cannot be replayed onto another.
"""

from typing import Any

from app.errors import InvalidIntegrity, InvalidSignature, SignatureRequired, UnsupportedEncryption
from app.extensions import db
from app.formats import FormatError
from app.formats.integrity import verify_block
from app.formats.jwk import parse_public_signing_jwk
from app.models.clients import Client

SIGNATURE_ALGS = ("RS256", "PS256", "ES256", "EdDSA")


def verify_request(
    body: dict[str, Any], client_id: str, enrollment_id: str, id_member: tuple[str, ...] = ("enrollmentId",)
) -> None:
    if body.get("encryption") is not None:
        # idbb decrypts whole payloads (JWE, application/jose), not OSIA node-level encryption blocks
        raise UnsupportedEncryption("Node-level encryption blocks are not supported; send the whole payload as a JWE.")
    client = db.session.get(Client, client_id)
    required = bool(client and (client.client_metadata or {}).get("signature_required"))
    blocks = body.get("integrity") or []
    if not isinstance(blocks, list):
        raise InvalidIntegrity("integrity must be a list of Integrity objects.")
    signed = False
    keys = []
    if client is not None and client.public_jwk:
        keys = [parse_public_signing_jwk(client.public_jwk)]
    for block in blocks:
        if not isinstance(block, dict):
            raise InvalidIntegrity("integrity entries must be objects.")
        if block.get("type") == "JWS" and not keys:
            raise InvalidSignature("The client has no registered key to verify a signature.")
        try:
            verify_block(body, block, keys, SIGNATURE_ALGS)
        except FormatError as exc:
            raise InvalidSignature(f"Integrity check failed: {exc}") from exc
        signed = signed or (block.get("type") == "JWS" and str(block.get("scope", "")).split() == ["$"])
    if required and not signed:
        raise SignatureRequired("This enrollment client must sign its whole requests (JWS integrity, scope '$').")
    if required and _member(body, id_member) != enrollment_id:
        raise SignatureRequired(f"A signed request must name its enrollment in {'.'.join(id_member)}.")


def _member(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value
