"""X.509 certificates for idbb's signing keys: self-signed ones (published as ``x5c``/``x5t#S256``), and the
ISO/IEC 18013-5 Annex B mdoc PKI: an IACA root and the document-signer (DS) certificates it issues.

GovStack IDBB §8's JWKS schema requires ``x5c`` and ``x5t#S256`` for every key; eSignet publishes a
certificate per key the same way. RFC 7517 §4.7-4.9 define the members.
"""

import base64
import hashlib
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, CertificateIssuerPublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID, ObjectIdentifier

from app.formats.errors import CertificateError


def self_signed_certificate(
    private_key: CertificateIssuerPrivateKeyTypes,
    common_name: str,
    not_before: datetime,
    not_after: datetime,
    *,
    for_encryption: bool = False,
) -> bytes:
    """A DER certificate for ``private_key``'s public half, valid for exactly the key's lifetime.
    ``for_encryption`` marks a key-transport key (RFC 5280 §4.2.1.3 keyEncipherment)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    # Ed25519 signs the whole message itself (RFC 8410 §6): no separate hash algorithm.
    algorithm = None if isinstance(private_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not for_encryption,
                content_commitment=False,
                key_encipherment=for_encryption,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(private_key, algorithm)
    )
    return cert.public_bytes(Encoding.DER)


def x5c_entry(der: bytes) -> str:
    """RFC 7517 §4.7: standard base64 (not base64url) of the DER certificate."""
    return base64.b64encode(der).decode("ascii")


def x5t_s256(der: bytes) -> str:
    """RFC 7517 §4.9: base64url SHA-256 thumbprint of the DER certificate."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


#: ISO/IEC 18013-5 Annex B.1.4: extendedKeyUsage of a document-signer certificate (id-mdl-kp-mdlDS).
MDL_DS_EKU = ObjectIdentifier("1.0.18013.5.1.2")
#: Annex B.1.2 and B.1.4: the longest validity of an IACA (20 years) and of a DS certificate (457 days).
IACA_MAX_VALIDITY = timedelta(days=20 * 366)
DS_MAX_VALIDITY = timedelta(days=457)
_HASH_FOR_CURVE: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


def _mdoc_hash(key: ec.EllipticCurvePrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in _HASH_FOR_CURVE:
        raise CertificateError("mdoc certificates are signed with ECDSA on P-256, P-384 or P-521")
    return _HASH_FOR_CURVE[key.curve.name]()  # Annex B.1.1: ecdsa-with-SHA256/384/512 matching the curve


def _country(country: str) -> str:
    if not isinstance(country, str) or len(country) != 2 or not country.isascii() or not country.isupper():
        raise CertificateError("country must be an ISO 3166-1 alpha-2 code (upper case)")
    return country


def _mdoc_name(common_name: str, country: str, state_or_province: str | None, organization: str | None) -> x509.Name:
    # Annex B.1.2/B.1.4: countryName and commonName are mandatory in issuer and subject
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, _country(country))]
    if state_or_province:
        attributes.append(x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, state_or_province))
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _validity(not_before: datetime, not_after: datetime, longest: timedelta) -> None:
    if not_before.tzinfo is None or not_after.tzinfo is None:
        raise CertificateError("certificate validity must be timezone-aware")
    if not not_before < not_after <= not_before + longest:
        raise CertificateError(f"certificate validity must be positive and at most {longest.days} days")


def _issuer_alt_name(issuer_uri: str | None, issuer_email: str | None) -> x509.IssuerAlternativeName:
    names: list[x509.GeneralName] = []
    if issuer_uri:
        names.append(x509.UniformResourceIdentifier(issuer_uri))
    if issuer_email:
        names.append(x509.RFC822Name(issuer_email))
    if not names:  # Annex B.1.2, B.1.4: issuerAltName (an e-mail address or URL) is mandatory
        raise CertificateError("an mdoc certificate needs an issuer URI or e-mail address (issuerAltName)")
    return x509.IssuerAlternativeName(names)


def _crl(crl_uri: str | None) -> x509.CRLDistributionPoints | None:
    if not crl_uri:
        return None
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(crl_uri)], relative_name=None, reasons=None, crl_issuer=None
            )
        ]
    )


#: RFC 5280 §4.2.1.3, ISO/IEC 18013-5 Annex B.1.2: a root CA's key signs certificates and CRLs, nothing else
CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def ca_certificate_builder(
    name: x509.Name,
    public_key: CertificateIssuerPublicKeyTypes,
    *,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    key_identifier_first: bool = False,
) -> x509.CertificateBuilder:
    """A self-signed root CA certificate's builder (the IACA, the wallet-binding CA): subject = issuer, critical
    basicConstraints CA true with pathLenConstraint 0 (it signs end-entity certificates only) and critical keyUsage
    keyCertSign + cRLSign (RFC 5280 §4.2.1.9, §4.2.1.3; Annex B.1.2), and subjectKeyIdentifier (§4.2.1.2).

    ``key_identifier_first`` keeps each caller's extension order, so their DER (the binding CA's is deterministic
    and pinned by wallets) stays byte for byte what it was."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    key_id = x509.SubjectKeyIdentifier.from_public_key(public_key)
    if key_identifier_first:
        builder = builder.add_extension(key_id, critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).add_extension(
        CA_KEY_USAGE, critical=True
    )
    return builder if key_identifier_first else builder.add_extension(key_id, critical=False)


def iaca_certificate(
    private_key: ec.EllipticCurvePrivateKey,
    *,
    common_name: str,
    country: str,
    not_before: datetime,
    not_after: datetime,
    issuer_uri: str | None = None,
    issuer_email: str | None = None,
    crl_uri: str | None = None,
    state_or_province: str | None = None,
    organization: str | None = None,
) -> bytes:
    """A self-signed IACA root certificate (ISO/IEC 18013-5 Annex B.1.2), DER.

    basicConstraints CA with pathLenConstraint 0 and keyUsage keyCertSign + cRLSign, both critical;
    subjectKeyIdentifier; issuerAltName; CRL distribution point when ``crl_uri`` is given.
    """
    _validity(not_before, not_after, IACA_MAX_VALIDITY)
    name = _mdoc_name(common_name, country, state_or_province, organization)
    public = private_key.public_key()
    builder = ca_certificate_builder(
        name,
        public,
        serial=x509.random_serial_number(),  # Annex B.1.1: positive, at most 20 octets, non-sequential
        not_before=not_before,
        not_after=not_after,
        key_identifier_first=True,
    ).add_extension(_issuer_alt_name(issuer_uri, issuer_email), critical=False)
    crl = _crl(crl_uri)
    if crl is not None:
        builder = builder.add_extension(crl, critical=False)
    return builder.sign(private_key, _mdoc_hash(private_key)).public_bytes(Encoding.DER)


def keyed_certificate(der: bytes, key: ec.EllipticCurvePrivateKey, what: str) -> tuple[x509.Certificate, list[str]]:
    """The DER certificate ``der`` of ``key`` and its subject's ``countryName`` values; a certificate that does not
    parse or is another key's is a :class:`CertificateError` naming ``what`` (IACA, document signer)."""
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise CertificateError(f"{what} certificate is not DER X.509") from exc
    if certificate.public_key() != key.public_key():
        raise CertificateError(f"the {what} key does not belong to the {what} certificate")
    return certificate, [str(a.value) for a in certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)]


def document_signer_certificate(
    iaca_key: ec.EllipticCurvePrivateKey,
    iaca_der: bytes,
    ds_public_key: ec.EllipticCurvePublicKey,
    *,
    common_name: str,
    not_before: datetime,
    not_after: datetime,
    country: str | None = None,
    issuer_uri: str | None = None,
    issuer_email: str | None = None,
    crl_uri: str | None = None,
    state_or_province: str | None = None,
    organization: str | None = None,
) -> bytes:
    """A document-signer certificate issued by the IACA (ISO/IEC 18013-5 Annex B.1.4), DER.

    keyUsage digitalSignature and extendedKeyUsage 1.0.18013.5.1.2 (both critical), authority and subject key
    identifiers, issuerAltName; the subject's ``C=`` is the IACA's (Annex B.1.4: it SHALL match the issuer's, and
    the mdoc's issuing_country). The validity must lie inside the IACA's.
    """
    iaca, iaca_country = keyed_certificate(iaca_der, iaca_key, "IACA")
    if not iaca_country:
        raise CertificateError("IACA certificate has no countryName")
    if country is not None and country != iaca_country[0]:  # Annex B.1.4: subject C SHALL equal the issuer's C
        raise CertificateError("the DS country must be the IACA's")
    _validity(not_before, not_after, DS_MAX_VALIDITY)
    if not_before < iaca.not_valid_before_utc or not_after > iaca.not_valid_after_utc:
        raise CertificateError("the DS certificate must lie inside the IACA's validity")
    if not isinstance(ds_public_key, ec.EllipticCurvePublicKey) or ds_public_key.curve.name not in _HASH_FOR_CURVE:
        raise CertificateError("the document signer key must be ECDSA P-256, P-384 or P-521")
    builder = (
        x509.CertificateBuilder()
        .subject_name(_mdoc_name(common_name, str(iaca_country[0]), state_or_province, organization))
        .issuer_name(iaca.subject)
        .public_key(ds_public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                iaca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ds_public_key), critical=False)
        .add_extension(
            x509.KeyUsage(  # Annex B.1.4: digitalSignature only, critical
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # Annex B.1.4: extKeyUsage critical, id-mdl-kp-mdlDS (1.0.18013.5.1.2)
        .add_extension(x509.ExtendedKeyUsage([MDL_DS_EKU]), critical=True)
        .add_extension(_issuer_alt_name(issuer_uri, issuer_email), critical=False)
    )
    crl = _crl(crl_uri)
    if crl is not None:
        builder = builder.add_extension(crl, critical=False)
    return builder.sign(iaca_key, _mdoc_hash(iaca_key)).public_bytes(Encoding.DER)


def certificate_pem(der: bytes) -> str:
    """PEM text of a DER certificate (RFC 7468 §5), e.g. to publish the IACA at ``mdoc_iacas_uri``."""
    try:
        return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode("ascii")
    except ValueError as exc:
        raise CertificateError("certificate is not DER X.509") from exc
