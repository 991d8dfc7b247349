"""The keys credentials are signed with.

SD-JWT VCs and JWT VCs: idbb's current P-256 signing key (ES256), its ``kid`` and self-signed certificate in
``x5c`` (SD-JWT VC draft 18 §2.5), discoverable at ``/.well-known/jwt-vc-issuer`` too. mdocs: a document-signer
key certified by an IACA root that idbb creates on first use and publishes at ``mdoc_iacas_uri`` (ISO/IEC 18013-5
Annex B); both private keys are sealed with the KEK like every signing key.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.extensions import db, state
from app.formats import aead, x509
from app.models.issuance import MdocAuthority
from app.services import audit, keys

IACA_ID = "iaca-1"
IACA_YEARS = 10
DS_DAYS = 450  # Annex B.1.4: at most 457 days
DS_RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class DocumentSigner:
    key: ec.EllipticCurvePrivateKey
    certificate: bytes
    not_after: datetime


def jose_signer() -> tuple[keys.ActiveKey, list[str]]:
    """The ES256 key and its ``x5c`` chain for JOSE credentials."""
    active = keys.signing_key("EC")
    record = keys.record(active.kid)
    return active, [x509.x5c_entry(record.cert_der)] if record is not None else []


def _seal(private: ec.EllipticCurvePrivateKey, authority_id: str) -> bytes:
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return aead.seal(state().settings.kek_bytes(), pem, authority_id.encode("ascii"))


def _unseal(row: MdocAuthority) -> ec.EllipticCurvePrivateKey:
    pem = aead.open_sealed(state().settings.kek_bytes(), bytes(row.private_sealed), row.authority_id.encode("ascii"))
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _add_once(row: MdocAuthority) -> MdocAuthority:
    """Insert ``row`` unless another worker just did (the same primary key): then theirs wins."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
        return row
    except IntegrityError:
        found = db.session.get(MdocAuthority, row.authority_id)
        assert found is not None
        return found


def iaca() -> MdocAuthority:
    """The IACA root, created on first use (Annex B.1.2), in the caller's transaction."""
    row = db.session.get(MdocAuthority, IACA_ID)
    if row is not None:
        return row
    settings = state().settings
    now = clock.now().replace(microsecond=0)
    private = ec.generate_private_key(ec.SECP256R1())
    not_after = now + timedelta(days=365 * IACA_YEARS)
    der = x509.iaca_certificate(
        private,
        common_name=f"idbb IACA {settings.mdoc_country}",
        country=settings.mdoc_country,
        not_before=now - timedelta(minutes=5),
        not_after=not_after,
        issuer_uri=f"{settings.issuer}/mdoc/iacas",
    )
    row = _add_once(
        MdocAuthority(
            authority_id=IACA_ID,
            kind="iaca",
            private_sealed=_seal(private, IACA_ID),
            cert_der=der,
            created_at=now,
            not_after=not_after,
        )
    )
    if row.cert_der == der:
        audit.record("mdoc.iaca_created", actor="system", target=IACA_ID, details={"country": settings.mdoc_country})
    return row


def iaca_certificates() -> list[bytes]:
    """DER certificates of every IACA idbb publishes (``mdoc_iacas_uri``)."""
    rows = db.session.execute(select(MdocAuthority).where(MdocAuthority.kind == "iaca")).scalars().all()
    return [bytes(r.cert_der) for r in rows]


def document_signer() -> DocumentSigner:
    """The current document signer (cached per process), renewed 30 days before its certificate expires."""
    now = clock.now()
    cached = state().cache.get("mdoc_ds")
    if isinstance(cached, DocumentSigner) and now < cached.not_after - DS_RENEW_BEFORE:
        return cached
    row = db.session.execute(
        select(MdocAuthority).where(MdocAuthority.kind == "ds").order_by(MdocAuthority.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None or now >= row.not_after - DS_RENEW_BEFORE:
        root = iaca()
        root_key = _unseal(root)
        private = ec.generate_private_key(ec.SECP256R1())
        # read the clock after iaca(): a root created in this call must not start a second after its signer
        start = clock.now().replace(microsecond=0) - timedelta(minutes=5)
        not_after = min(start + timedelta(days=DS_DAYS), root.not_after)
        authority_id = f"ds-{secrets.token_hex(8)}"
        der = x509.document_signer_certificate(
            root_key,
            bytes(root.cert_der),
            private.public_key(),
            common_name=f"idbb DS {authority_id[3:11]}",
            not_before=start,
            not_after=not_after,
            issuer_uri=f"{state().settings.issuer}/mdoc/iacas",
        )
        row = _add_once(
            MdocAuthority(
                authority_id=authority_id,
                kind="ds",
                private_sealed=_seal(private, authority_id),
                cert_der=der,
                created_at=now,
                not_after=not_after,
            )
        )
        audit.record("mdoc.document_signer_created", actor="system", target=authority_id)
    signer = DocumentSigner(_unseal(row), bytes(row.cert_der), row.not_after)
    state().cache["mdoc_ds"] = signer
    return signer
