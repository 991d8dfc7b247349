"""ISO/IEC 18013-5:2021 mdoc issuance: the IssuerSigned structure (§8.3.2.1.2.2) and its Mobile Security Object
signed as IssuerAuth (§9.1.2.4), with the Token Status List reference of draft-ietf-oauth-status-list-20 §6.3.

IssuerSigned = {"nameSpaces": {ns: [IssuerSignedItemBytes]}, "issuerAuth": COSE_Sign1}, where
IssuerSignedItemBytes = #6.24(bstr .cbor {digestID, random, elementIdentifier, elementValue}), and the COSE_Sign1
payload is MobileSecurityObjectBytes = #6.24(bstr .cbor MobileSecurityObject). The document-signer key comes in as
a ``cryptography`` private key and its certificate (DER) goes in the unprotected x5chain header (33); the
COSE signature is made by :mod:`app.formats.cose` with ``cryptography``. OpenID4VCI 1.0 Appendix A.2.4 sends the
credential as base64url of the CBOR IssuerSigned (:func:`issuer_signed_b64url`).
"""

import functools
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwcrypto import jwk
from jwcrypto.common import base64url_encode

from app.formats import cose
from app.formats.errors import CertificateError, CoseError, FormatError, MdocError
from app.formats.jose import PublicJwk, decode_b64url
from app.formats.status_list import checked_reference
from app.formats.x509 import keyed_certificate

MSO_VERSION = "1.0"  # §9.1.2.4
DIGEST_ALGORITHM = "SHA-256"  # §9.1.2.5: SHA-256, SHA-384 or SHA-512; idbb uses SHA-256
RANDOM_BYTES = 16  # §9.1.2.5: random SHALL be at least 16 bytes
TAG_ENCODED_CBOR, TAG_TDATE, TAG_FULL_DATE = 24, 0, 1004  # RFC 8949 §3.4.5.1, §3.4.1; RFC 8943 §2.1
DOCTYPE_MDL = "org.iso.18013.5.1.mDL"
NAMESPACE_MDL = "org.iso.18013.5.1"
DOCTYPE_PID = "eu.europa.ec.eudi.pid.1"  # EU PID rulebook: docType and namespace are the same string
NAMESPACE_PID = "eu.europa.ec.eudi.pid.1"


@dataclass(frozen=True)
class IssuedMdoc:
    """An issued mdoc: the encoded IssuerSigned, the structure itself, and the MSO as signed (for inspection)."""

    encoded: bytes
    issuer_signed: dict[str, Any]
    mso: dict[str, Any]


@dataclass(frozen=True)
class VerifiedMdoc:
    """What :func:`verify_issuer_signed` found: the docType, the elements by namespace, the MSO, the DS certificate."""

    doctype: str
    elements: dict[str, dict[str, Any]]
    mso: dict[str, Any]
    document_signer: x509.Certificate


def full_date(value: date) -> cbor2.CBORTag:
    """A ``full-date`` (§7.2.1: #6.1004(tstr), RFC 8943), as the PID rulebook uses for birth_date and the like."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise MdocError("a full-date needs a date, not a datetime")
    return cbor2.CBORTag(TAG_FULL_DATE, value.isoformat())


def tdate(moment: datetime) -> cbor2.CBORTag:
    """A ``tdate`` (§7.2.1: #6.0(tstr)) in UTC with ``Z`` and no fractional seconds (§9.1.2.4 validityInfo)."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise MdocError("a tdate needs a timezone-aware datetime")
    return cbor2.CBORTag(TAG_TDATE, moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _element_value(value: Any) -> Any:
    """Dates become full-date, datetimes tdate; other CBOR values (and ready CBORTags) pass through."""
    if isinstance(value, datetime):
        return tdate(value)
    if isinstance(value, date):
        return full_date(value)
    if isinstance(value, Mapping):
        return {k: _element_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_element_value(v) for v in value]
    return value


def issuer_signed_item(digest_id: int, identifier: str, value: Any, *, random: bytes | None = None) -> cbor2.CBORTag:
    """IssuerSignedItemBytes = #6.24(bstr .cbor IssuerSignedItem) (§8.3.2.1.2.2)."""
    random = random if random is not None else secrets.token_bytes(RANDOM_BYTES)
    if len(random) < RANDOM_BYTES:  # §9.1.2.5: the random value SHALL be at least 16 bytes
        raise MdocError("IssuerSignedItem random must be at least 16 bytes")
    if not isinstance(identifier, str) or not identifier:
        raise MdocError("elementIdentifier must be a non-empty string")
    item = {"digestID": digest_id, "random": random, "elementIdentifier": identifier, "elementValue": _element_value(value)}
    try:
        return cbor2.CBORTag(TAG_ENCODED_CBOR, cbor2.dumps(item))
    except (cbor2.CBOREncodeError, TypeError, ValueError) as exc:
        raise MdocError(f"element {identifier!r} is not CBOR-encodable") from exc


def item_digest(item_bytes: cbor2.CBORTag) -> bytes:
    """§9.1.2.5: the digest is over the encoded IssuerSignedItemBytes, tag 24 included."""
    return hashlib.sha256(cbor2.dumps(item_bytes)).digest()


def _device_key(holder_key: cose.VerifyingKey | jwk.JWK | PublicJwk | Mapping[int, Any]) -> dict[int, Any]:
    key: Any = holder_key
    if isinstance(holder_key, PublicJwk):  # imported and checked already (a wallet's proof key)
        key = holder_key.public_key  # an RSA key falls through to the refusal below
    elif isinstance(holder_key, jwk.JWK):
        if holder_key.has_private:
            raise MdocError("the device key must be public")
        try:
            key = holder_key.get_op_key("verify")
        except Exception as exc:  # jwcrypto raises several types
            raise MdocError("device key does not import") from exc
    try:
        if isinstance(key, Mapping):
            return cose.cose_key(cose.public_key_from_cose_key(key))  # validated, and private parts dropped
        if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            return cose.cose_key(key)  # §9.1.2.4: deviceKey is a COSE_Key
    except CoseError as exc:
        raise MdocError(f"device key: {exc}") from exc
    raise MdocError("device key must be a public EC or Ed25519 key")


@functools.lru_cache(maxsize=16)
def _signer_countries(certificate: bytes, key: ec.EllipticCurvePrivateKey) -> tuple[str, ...]:
    """The ``countryName`` values of the document signer ``certificate``, once it is known to be ``key``'s: a
    signer's certificate and key are reused for every mdoc, so the parse is cached (by the bytes and the key
    object)."""
    try:
        _, countries = keyed_certificate(certificate, key, "document signer")
    except CertificateError as exc:
        raise MdocError(str(exc)) from exc
    return tuple(countries)


def issue_mdoc(
    *,
    doctype: str,
    namespaces: Mapping[str, Mapping[str, Any]],
    device_key: cose.VerifyingKey | jwk.JWK | PublicJwk | Mapping[int, Any],
    key: ec.EllipticCurvePrivateKey,
    certificate: bytes,
    signed: datetime,
    valid_from: datetime,
    valid_until: datetime,
    expected_update: datetime | None = None,
    status: Mapping[str, Any] | None = None,
) -> IssuedMdoc:
    """Issue an IssuerSigned for ``doctype`` with the elements of ``namespaces`` ({ns: {identifier: value}}).

    ``key`` is the document signer's private key, ``certificate`` its DER certificate (from
    :func:`app.formats.x509.document_signer_certificate`). ``status`` is
    :func:`app.formats.status_list.status_reference`'s map. digestIDs are a random permutation per namespace, so
    they reveal nothing about the order of elements.
    """
    if not isinstance(doctype, str) or not doctype:
        raise MdocError("docType must be a non-empty string")
    if not namespaces:
        raise MdocError("an mdoc needs at least one namespace")
    for moment in (signed, valid_from, valid_until, expected_update):
        if moment is not None and (not isinstance(moment, datetime) or moment.tzinfo is None):
            raise MdocError("validity times must be timezone-aware datetimes")
    if not signed <= valid_from < valid_until:  # §9.1.2.4: validFrom SHALL be equal or later than signed
        raise MdocError("validity must be signed <= validFrom < validUntil")
    countries = _signer_countries(certificate, key)
    for elements in namespaces.values():
        # §7.2.1 / Annex B.1.4: issuing_country SHALL be the countryName of the document signer certificate
        if "issuing_country" in elements and (elements["issuing_country"],) != countries:
            raise MdocError("issuing_country is not the document signer certificate's country")
    name_spaces: dict[str, list[cbor2.CBORTag]] = {}
    value_digests: dict[str, dict[int, bytes]] = {}
    for namespace, elements in namespaces.items():
        if not isinstance(namespace, str) or not elements:
            raise MdocError("a namespace needs a string name and at least one element")
        ids = list(range(len(elements)))
        secrets.SystemRandom().shuffle(ids)
        items = []
        digests: dict[int, bytes] = {}
        for digest_id, (identifier, value) in zip(ids, elements.items(), strict=True):
            item = issuer_signed_item(digest_id, identifier, value)
            items.append(item)
            digests[digest_id] = item_digest(item)
        name_spaces[namespace] = items
        value_digests[namespace] = dict(sorted(digests.items()))
    validity: dict[str, Any] = {"signed": tdate(signed), "validFrom": tdate(valid_from), "validUntil": tdate(valid_until)}
    if expected_update is not None:
        validity["expectedUpdate"] = tdate(expected_update)
    mso: dict[str, Any] = {
        "version": MSO_VERSION,
        "digestAlgorithm": DIGEST_ALGORITHM,
        "valueDigests": value_digests,
        "deviceKeyInfo": {"deviceKey": _device_key(device_key)},
        "docType": doctype,
        "validityInfo": validity,
    }
    if status is not None:
        # Token Status List §6.3: a Status map whose status_list is a StatusListInfo {idx: uint, uri: tstr}
        mso["status"] = checked_reference(status)
    payload = cbor2.dumps(cbor2.CBORTag(TAG_ENCODED_CBOR, cbor2.dumps(mso)))  # MobileSecurityObjectBytes
    # §9.1.2.4: alg SHALL be in the protected header and nothing else should be; the DS certificate SHALL be in
    # the unprotected x5chain (33); IssuerAuth is an untagged COSE_Sign1
    issuer_auth = cose.sign1_structure(payload, key, protected={}, unprotected={cose.HEADER_X5CHAIN: certificate})
    issuer_signed = {"nameSpaces": name_spaces, "issuerAuth": issuer_auth}
    return IssuedMdoc(cbor2.dumps(issuer_signed), issuer_signed, mso)


def issuer_signed_b64url(issued: IssuedMdoc | bytes) -> str:
    """OpenID4VCI 1.0 Appendix A.2.4: the credential is base64url (no padding) of the CBOR IssuerSigned."""
    # jwcrypto has no type hints
    return cast(str, base64url_encode(issued.encoded if isinstance(issued, IssuedMdoc) else issued))


def _untag_cbor(item: Any, what: str) -> Any:
    if not isinstance(item, cbor2.CBORTag) or item.tag != TAG_ENCODED_CBOR or not isinstance(item.value, bytes):
        raise MdocError(f"{what} is not tag-24 encoded CBOR")
    try:
        return cbor2.loads(item.value)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise MdocError(f"{what} is not CBOR") from exc


def _tdate_value(item: Any, what: str) -> datetime:
    if isinstance(item, datetime):  # cbor2 decodes tag 0 itself
        return item if item.tzinfo else item.replace(tzinfo=UTC)
    raise MdocError(f"{what} is not a tdate")


def verify_issuer_signed(
    data: bytes | str,
    *,
    trusted_iacas: Sequence[bytes],
    now: datetime,
    doctype: str | None = None,
) -> VerifiedMdoc:
    """Verify an IssuerSigned (bytes, or its base64url form): the DS certificate in x5chain issued by one of the
    ``trusted_iacas`` (DER) and valid at ``now``, the COSE signature, every element's digest, and the validity.

    The DS certificate chain is checked by signature, name and validity only (no revocation): a relying party with a
    full ISO 18013-5 Annex B trust list does more.
    """
    try:
        raw = decode_b64url(data, "IssuerSigned") if isinstance(data, str) else data
    except FormatError as exc:
        raise MdocError(str(exc)) from exc
    try:
        issuer_signed = cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise MdocError("IssuerSigned is not CBOR") from exc
    if not isinstance(issuer_signed, dict) or not isinstance(issuer_signed.get("nameSpaces"), dict):
        raise MdocError("IssuerSigned has no nameSpaces")
    try:
        message = cose.parse_sign1(issuer_signed.get("issuerAuth"), require_tag=False)
    except CoseError as exc:
        raise MdocError(f"issuerAuth: {exc}") from exc
    chain = message.unprotected.get(cose.HEADER_X5CHAIN)
    leaf = chain if isinstance(chain, bytes) else chain[0] if isinstance(chain, list | tuple) and chain else None
    if not isinstance(leaf, bytes):
        raise MdocError("issuerAuth has no x5chain certificate")
    ds = _trusted_document_signer(leaf, trusted_iacas, now)
    public = ds.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise MdocError("document signer key type is not supported")
    try:
        cose.verify_sign1(message_to_list(message), public, require_tag=False)
    except CoseError as exc:
        raise MdocError(f"issuerAuth: {exc}") from exc
    try:
        mso_bytes = cbor2.loads(message.payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise MdocError("issuerAuth payload is not CBOR") from exc
    mso = _untag_cbor(mso_bytes, "MobileSecurityObjectBytes")
    if not isinstance(mso, dict) or mso.get("version") != MSO_VERSION or mso.get("digestAlgorithm") != DIGEST_ALGORITHM:
        raise MdocError("MSO version or digestAlgorithm is not supported")
    if doctype is not None and mso.get("docType") != doctype:
        raise MdocError("MSO docType is not the expected one")
    validity = mso.get("validityInfo")
    if not isinstance(validity, dict):
        raise MdocError("MSO has no validityInfo")
    if (
        not _tdate_value(validity.get("validFrom"), "validFrom")
        <= now
        < _tdate_value(validity.get("validUntil"), "validUntil")
    ):
        raise MdocError("the mdoc is not valid at this time")
    digests = mso.get("valueDigests")
    if not isinstance(digests, dict):
        raise MdocError("MSO has no valueDigests")
    elements: dict[str, dict[str, Any]] = {}
    for namespace, items in issuer_signed["nameSpaces"].items():
        expected = digests.get(namespace)
        if not isinstance(expected, dict) or not isinstance(items, list | tuple):
            raise MdocError(f"namespace {namespace!r} has no digests in the MSO")
        found: dict[str, Any] = {}
        for item_bytes in items:
            item = _untag_cbor(item_bytes, "IssuerSignedItemBytes")
            if not isinstance(item, dict) or not isinstance(item.get("elementIdentifier"), str):
                raise MdocError("IssuerSignedItem is malformed")
            digest = expected.get(item.get("digestID"))
            if not isinstance(digest, bytes) or not hmac.compare_digest(digest, item_digest(item_bytes)):
                raise MdocError(f"element {item['elementIdentifier']!r} does not match its digest")
            found[item["elementIdentifier"]] = item.get("elementValue")
        elements[namespace] = found
    return VerifiedMdoc(str(mso.get("docType")), elements, mso, ds)


def message_to_list(message: cose.Sign1) -> list[Any]:
    """The COSE_Sign1 array of a parsed message (to verify what was parsed, untagged)."""
    return [message.protected_bytes, message.unprotected, message.payload, message.signature]


def _trusted_document_signer(leaf: bytes, trusted_iacas: Sequence[bytes], now: datetime) -> x509.Certificate:
    try:
        ds = x509.load_der_x509_certificate(leaf)
    except ValueError as exc:
        raise MdocError("x5chain certificate is not DER X.509") from exc
    for der in trusted_iacas:
        iaca = x509.load_der_x509_certificate(der)
        if not _issued_by(ds, iaca):
            continue
        for cert in (ds, iaca):
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                raise MdocError("a certificate of the chain is not valid at this time")
        return ds
    raise MdocError("the document signer certificate is not issued by a trusted IACA")


def _issued_by(ds: x509.Certificate, iaca: x509.Certificate) -> bool:
    """The DS names the IACA as issuer and carries its signature (RFC 5280 §6.1.3 (a)(1), (a)(4))."""
    try:
        ds.verify_directly_issued_by(iaca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
