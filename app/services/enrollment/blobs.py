"""Biometric and document bytes, sealed at rest with AES-256-GCM under the data key.

GovStack IDBB §6 (enrollment data encryption) and OSIA's privacy chapter: images and documents
never sit in the database in clear. The blob id is the associated data, so a ciphertext moved
to another row does not decrypt.
"""

import hashlib
import uuid

from sqlalchemy import delete

from app.clock import clock
from app.extensions import db
from app.formats import aead
from app.models.enrollment import Blob
from app.services.stored_secrets import data_key


def store(owner: str, data: bytes, *, content_type: str | None, detected_format: str | None) -> Blob:
    blob_id = uuid.uuid4().hex
    row = Blob(
        blob_id=blob_id,
        owner=owner,
        content_type=content_type,
        detected_format=detected_format,
        sealed=aead.seal(data_key(), data, blob_id.encode("ascii")),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        created_at=clock.now(),
    )
    db.session.add(row)
    return row


def load(blob_id: str) -> tuple[bytes, Blob]:
    row = db.session.get(Blob, blob_id)
    if row is None:
        raise LookupError(blob_id)
    return aead.open_sealed(data_key(), bytes(row.sealed), blob_id.encode("ascii")), row


def delete_unreferenced(owner: str, keep: set[str]) -> None:
    """Drop an owner's blobs that its document no longer points to (replaced images)."""
    query = delete(Blob).where(Blob.owner == owner)
    if keep:
        query = query.where(Blob.blob_id.not_in(keep))
    db.session.execute(query)
