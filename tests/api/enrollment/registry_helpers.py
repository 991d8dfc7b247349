"""Helpers of the enrollment and registry review-finding tests (issue 5): identities, duplicate cases, signed blocks."""

import hashlib

import jwt as pyjwt
import rfc8785
from sqlalchemy import select

from app.extensions import db
from app.models.registry import DuplicateCase, Identity


def identities(app):
    with app.app.app_context():
        return db.session.execute(select(Identity)).scalars().all()


def cases(app):
    with app.app.app_context():
        return db.session.execute(select(DuplicateCase)).scalars().all()


def signed_block(selection: dict, private_pem: bytes, scope: str) -> dict:
    """An OSIA JWS integrity block over ``selection`` (computed with rfc8785 + PyJWT, not idbb's code)."""
    canonical = rfc8785.dumps(selection)
    return {
        "type": "JWS",
        "scope": scope,
        "alg": "SHA256",
        "hash": hashlib.sha256(canonical).hexdigest(),
        "signature": pyjwt.api_jws.PyJWS().encode(canonical, private_pem, algorithm="ES256", is_payload_detached=True),
    }
