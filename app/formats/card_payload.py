"""The signed, compact payload printed as a QR code on an ID card: a CWT (RFC 8392) in a COSE_Sign1 (RFC 9052).

A verifier offline reads the QR, takes ``kid`` from the protected header, picks that key from idbb's published
JWKS (the ES256 key, whose ``x5c`` also carries it) and checks the signature: no call to idbb is needed. The
claims are exactly the printed data, so an altered card (photo aside, which the payload does not carry: a QR of
a few hundred bytes cannot hold it) no longer matches its QR.

QR text: ``IDC1:`` followed by the base64url (no padding) of the tagged COSE_Sign1. base64url is in QR byte mode;
it keeps the text printable for readers that hand text, not bytes, to the application.

Claims (RFC 8392 §3.1 registered keys where one fits; the printed fields as text keys, §4 allows them):
``1`` iss, ``2`` sub (the UIN), ``4`` exp (end of the card's validity), ``5`` nbf (start), ``6`` iat, ``7`` cti
(card number), and ``"given_name"``, ``"family_name"``, ``"birthdate"`` (OpenID Connect claim names) when printed;
``65535`` status, the card's Token Status List entry (draft-ietf-oauth-status-list-20 §6.3: a ``Status`` map
``{"status_list": {"idx": uint, "uri": tstr}}``), so a verifier who reads the QR offline learns where to check later
whether the card was suspended or revoked.
"""

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import cbor2

from app.formats import cose
from app.formats.errors import CardPayloadError, CoseError
from app.formats.status_list import checked_reference

PREFIX = "IDC1:"
#: RFC 8392 §3.1 claim keys.
ISS, SUB, EXP, NBF, IAT, CTI = 1, 2, 4, 5, 6, 7
#: draft-ietf-oauth-status-list-20 §6.3 / §14.6: the CWT ``status`` claim (requested assignment 65535).
STATUS = 65535
#: CWT content type for the COSE header (RFC 8392 §6: the CWT CBOR tag 61 / typ "application/cwt").
CWT_TYP = "application/cwt"
PRINTED_TEXT_CLAIMS = ("given_name", "family_name", "birthdate")
MAX_TEXT = 2048  # a QR code of version 40 holds at most 2953 bytes: anything longer was not printed by idbb


@dataclass(frozen=True)
class CardData:
    """What is printed on the card and signed into its QR code."""

    issuer: str
    uin: str
    card_number: str
    given_name: str | None
    family_name: str | None
    birthdate: str | None
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    status: Mapping[str, Any] | None = None  # status_list.status_reference(idx, uri)


def _seconds(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


def claims(card: CardData) -> dict[Any, Any]:
    """The CWT claims set for ``card`` (RFC 8392 §3)."""
    out: dict[Any, Any] = {
        ISS: card.issuer,
        SUB: card.uin,
        EXP: _seconds(card.valid_until),
        NBF: _seconds(card.valid_from),
        IAT: _seconds(card.issued_at),
        CTI: card.card_number.encode("utf-8"),
    }
    for name in PRINTED_TEXT_CLAIMS:
        value = getattr(card, name)
        if value:
            out[name] = str(value)
    if card.status is not None:
        out[STATUS] = checked_reference(card.status)  # §6.3: the Status map MUST carry status_list {idx, uri}
    return out


def encode(card: CardData, key: cose.SigningKey, *, kid: str) -> str:
    """The QR text: ``IDC1:`` + base64url(COSE_Sign1(CWT claims)), signed with ``key`` (ES256 for P-256)."""
    payload = cbor2.dumps(claims(card), canonical=True)
    # RFC 9052 §3.1: kid is a bstr; the JWKS "kid" as UTF-8 bytes, so a verifier finds the key by its name
    signed = cose.sign1(payload, key, protected={cose.HEADER_TYP: CWT_TYP, cose.HEADER_KID: kid.encode("ascii")})
    return PREFIX + base64.urlsafe_b64encode(signed).rstrip(b"=").decode("ascii")


def _raw(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith(PREFIX) or len(text) > MAX_TEXT:
        raise CardPayloadError("not an idbb card payload")
    body = text[len(PREFIX) :]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError) as exc:
        raise CardPayloadError("card payload is not base64url") from exc


def key_id(text: str) -> str:
    """The ``kid`` of the key that signed the payload (unverified: only to pick the key)."""
    try:
        kid = cose.parse_sign1(_raw(text)).protected.get(cose.HEADER_KID)
    except CoseError as exc:
        raise CardPayloadError("card payload is not a COSE_Sign1") from exc
    if not isinstance(kid, bytes):
        raise CardPayloadError("card payload has no kid")
    return kid.decode("ascii", "replace")


def verify(text: str, public_key: cose.VerifyingKey, *, now: datetime | None = None) -> Mapping[Any, Any]:
    """The verified claims of a card payload; raises :class:`CardPayloadError` if the signature fails or, given
    ``now``, the card is outside its validity (RFC 8392 §3.1.4, §3.1.5)."""
    try:
        message = cose.verify_sign1(_raw(text), public_key)
        decoded = cbor2.loads(message.payload)
    except (CoseError, cbor2.CBORDecodeError) as exc:
        raise CardPayloadError("card payload does not verify") from exc
    if not isinstance(decoded, dict) or not isinstance(decoded.get(SUB), str):
        raise CardPayloadError("card payload claims are malformed")
    if now is not None and not (decoded.get(NBF, 0) <= _seconds(now) < decoded.get(EXP, 0)):
        raise CardPayloadError("card is not valid at this time")
    return decoded


def printed_date(moment: datetime | date) -> str:
    """The form dates are printed in on the card (ISO 8601 calendar date, readable everywhere)."""
    return moment.strftime("%Y-%m-%d")
