"""Self-signed X.509 certificates for idbb's signing keys (published as ``x5c``/``x5t#S256``).

GovStack IDBB §8's JWKS schema requires ``x5c`` and ``x5t#S256`` for every key; eSignet publishes a
certificate per key the same way. RFC 7517 §4.7-4.9 define the members.
"""

import base64
import hashlib
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID


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
                digital_signature=not for_encryption, content_commitment=False, key_encipherment=for_encryption,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
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
