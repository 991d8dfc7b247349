"""idbb's wallet-binding CA: the key binder that signs the certificate ``POST /wallet-binding`` returns.

GovStack Identity-Provider.yaml ``/wallet-binding`` ("Key binder signed certificate") and
esignet-notes.md §5: the identity provider certifies the wallet's public key; the wallet later names
that certificate by ``x5t#S256`` in its WLA tokens and signed consents.

Where the CA key lives (a design decision)
------------------------------------------
The CA key is an EC P-256 key **derived** from the KEK, not generated and stored:
``HKDF(KEK, info="idbb binding ca key v1")`` gives a 32-byte seed, a second HKDF expands it to
320 bits, and ``d = (c mod (n - 1)) + 1`` (FIPS 186-5 §A.2.1, key pair generation using extra
random bits) is the private scalar. The self-signed CA certificate is built from constants (subject,
a serial derived from the public key, fixed validity) and signed with deterministic ECDSA (RFC 6979),
so every worker and every restart yields the very same DER certificate and the same ``x5t#S256``.

Why not a row in ``signing_keys`` (sealed with the KEK like ``app/services/keys.py`` does):

* every row of that table is published in ``/.well-known/jwks.json`` and listed and rotated by
  ``idbb keys``; a CA key is not an OIDC signing key, and its ``use`` column (8 characters, sig/enc)
  has no place for it;
* "create on first use" in a table races between workers (two CAs, certificates from both), while
  a derived key needs no coordination and no database round trip;
* the protection is the same: whoever holds the KEK can unseal a sealed key as well as derive this
  one, and no one else can do either. The CA lives exactly as long as the KEK, like the pairwise
  subjects and the audit chain key already do; a new KEK means a new CA, whose certificates the
  wallets get at their next binding (stored bindings keep verifying WLA tokens: idbb checks WLA
  signatures with the stored public key, not through the chain).

The private scalar never leaves the process and is never logged; the CA object is cached per app.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from app.extensions import state
from app.formats.x509 import ca_certificate_builder
from app.services.stored_secrets import purpose_key

PURPOSE = "binding ca key"
CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "idbb"),
        x509.NameAttribute(NameOID.COMMON_NAME, "idbb wallet binding CA"),
    ]
)
CA_NOT_BEFORE = datetime(2025, 1, 1, tzinfo=UTC)
#: RFC 5280 §4.1.2.5: 99991231235959Z means "no well-defined expiration"; the CA ends with its KEK.
CA_NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
#: Leaf certificates start a little in the past so a verifier with a slow clock accepts them at once.
BACKDATE = timedelta(minutes=5)
#: Subject attribute of a sandbox certificate over a stand-in key (see ``issue``).
SANDBOX_MARK = "idbb sandbox: key not usable"


@dataclass(frozen=True)
class BindingCa:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class IssuedCertificate:
    pem: str
    der: bytes
    not_after: datetime


def _derive_key(seed: bytes) -> ec.EllipticCurvePrivateKey:
    order = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)  # P-256 n
    extra = HKDF(algorithm=hashes.SHA256(), length=40, salt=None, info=b"idbb binding ca P-256 scalar").derive(seed)
    scalar = int.from_bytes(extra, "big") % (order - 1) + 1  # FIPS 186-5 §A.2.1: 256 + 64 bits, then reduce
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _sign(builder: x509.CertificateBuilder, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    try:
        return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)  # RFC 6979: same bytes everywhere
    except TypeError:  # cryptography < 45: still the same key and name, only the signature bytes vary
        return builder.sign(key, hashes.SHA256())


def build_ca(seed: bytes) -> BindingCa:
    """The CA for a 32-byte seed: the same seed always gives the same key and DER certificate."""
    key = _derive_key(seed)
    public = key.public_key()
    spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    serial = int.from_bytes(hashlib.sha256(b"idbb binding ca serial\x00" + spki).digest()[:20], "big") >> 1
    builder = ca_certificate_builder(
        CA_NAME,
        public,
        serial=serial or 1,  # RFC 5280 §4.1.2.2: positive, at most 20 octets
        not_before=CA_NOT_BEFORE,
        not_after=CA_NOT_AFTER,
    )
    return BindingCa(key, _sign(builder, key))


def ca() -> BindingCa:
    """This deployment's binding CA (built once per app from the KEK-derived seed)."""
    return state().cached("binding_ca", lambda: build_ca(purpose_key(PURPOSE)))


def ca_certificate_pem() -> str:
    """The CA certificate relying parties and wallets verify binding certificates against."""
    return ca().pem


def issue(
    public_key: CertificatePublicKeyTypes, wallet_user_id: str, *, now: datetime, days: int, sandbox_stand_in: bool = False
) -> IssuedCertificate:
    """An X.509 v3 end-entity certificate over ``public_key`` for ``days`` from ``now``.

    Subject CN is the ``walletUserId`` pseudonym (never the individual id: no personal data in a
    certificate that the wallet shows around). ``sandbox_stand_in`` marks a certificate the
    sandbox issues over a throwaway key because the submitted key did not load.
    """
    authority = ca()
    start = now.replace(microsecond=0)
    not_after = start + timedelta(days=days)
    names = [x509.NameAttribute(NameOID.COMMON_NAME, wallet_user_id)]
    if sandbox_stand_in:
        names.insert(0, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, SANDBOX_MARK))
    ca_ski = authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(names))
        .issuer_name(authority.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    cert = builder.sign(authority.key, hashes.SHA256())
    return IssuedCertificate(cert.public_bytes(Encoding.PEM).decode("ascii"), cert.public_bytes(Encoding.DER), not_after)
