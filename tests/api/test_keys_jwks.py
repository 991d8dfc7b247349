"""JWKS shape (GovStack), key rotation with overlap, and private keys sealed at rest."""

import base64
import hashlib
import json

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from app.clock import clock
from tests.conftest import seal_audit, server_jwks, verify_with_pyjwt


def rfc7638(jwk: dict) -> str:
    members = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def test_jwks_has_govstack_shape_with_rsa_signer_first(client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    keys = response.json()["keys"]
    assert (keys[0]["kty"], keys[0]["use"]) == ("RSA", "sig")
    assert {k["kty"] for k in keys if k["use"] == "sig"} == {"RSA", "EC", "OKP"}
    assert [(k["kty"], k["alg"]) for k in keys if k["use"] == "enc"] == [("RSA", "RSA-OAEP-256")]
    assert keys[-1]["use"] == "enc"  # the payload-encryption key comes after every signing key
    for key in keys:
        assert {"kid", "use", "kty", "alg", "x5c", "x5t#S256", "exp"} <= key.keys()
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()
        assert key["kid"] == rfc7638(key)  # stable and derived from the key
        der = base64.b64decode(key["x5c"][0])
        cert = x509.load_der_x509_certificate(der)
        assert key["x5t#S256"] == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
        cert_public = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        as_sig = {k: v for k, v in key.items() if k != "alg"} if key["use"] == "enc" else key
        parsed = pyjwt.PyJWK(as_sig, algorithm="RS256" if key["use"] == "enc" else None)
        jwk_public = parsed.key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert cert_public == jwk_public
        assert key["exp"].endswith("Z")
    rsa = keys[0]
    assert rsa["alg"] == "RS256" and rsa["e"] and rsa["n"]


def test_rotation_overlap_old_tokens_verify_new_key_published_before_signing(app, client, api_client):
    from app.services import keys as key_service

    caller = api_client("read_oidc_client")
    old_token = caller.token()
    old_kid = pyjwt.get_unverified_header(old_token)["kid"]
    with app.app.app_context():
        new = key_service.rotate("RSA", actor="test")
        new_kid = new.kid
    published = [k["kid"] for k in server_jwks(client)["keys"]]
    assert new_kid in published and old_kid in published  # new key is published before it signs
    still_old = caller.token()
    assert pyjwt.get_unverified_header(still_old)["kid"] == old_kid
    clock.advance(app.app.extensions["idbb"].settings.key_publish_ahead + 1)
    fresh = caller.token()
    assert pyjwt.get_unverified_header(fresh)["kid"] == new_kid
    jwks = server_jwks(client)
    assert jwks["keys"][0]["kid"] == new_kid  # the current RSA signer comes first
    assert verify_with_pyjwt(old_token, jwks)["client_id"] == caller.client_id  # old token still verifies
    assert verify_with_pyjwt(fresh, jwks)["client_id"] == caller.client_id


def test_fully_retired_key_leaves_the_jwks(app, client):
    from app.services import keys as key_service

    old_kid = server_jwks(client)["keys"][0]["kid"]
    settings = app.app.extensions["idbb"].settings
    with app.app.app_context():
        key_service.rotate("RSA", actor="test")
    clock.advance(settings.key_publish_ahead + settings.key_retention - 10)
    assert old_kid in [k["kid"] for k in server_jwks(client)["keys"]]
    clock.advance(20)
    assert old_kid not in [k["kid"] for k in server_jwks(client)["keys"]]


def test_immediate_rotation_signs_with_the_new_key_at_once(app, api_client):
    from app.services import keys as key_service

    caller = api_client("read_oidc_client")
    with app.app.app_context():
        new_kid = key_service.rotate("RSA", immediate=True, actor="test").kid
    assert pyjwt.get_unverified_header(caller.token())["kid"] == new_kid


def test_rotation_is_audited(app):
    from app.extensions import db
    from app.models.audit import AuditEvent
    from app.services import keys as key_service

    with app.app.app_context():
        kid = key_service.rotate("EC", actor="operator:alice").kid
        seal_audit()
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.action == "key.rotated")).scalars().all()
    assert [(r.actor, r.target) for r in rows] == [("operator:alice", kid)]


def test_unknown_key_type_is_refused(app):
    from app.errors import IdbbError
    from app.services import keys as key_service

    with app.app.app_context(), pytest.raises(IdbbError):
        key_service.rotate("DSA")


def test_private_keys_are_sealed_at_rest(app, kek):
    from app.extensions import db
    from app.formats import FormatError, aead
    from app.models.keys import SigningKey

    with app.app.app_context():
        rows = db.session.execute(select(SigningKey)).scalars().all()
    assert rows
    for row in rows:
        stored = bytes(row.private_sealed)
        assert b"PRIVATE KEY" not in stored and b"-----BEGIN" not in stored
        pem = aead.open_sealed(base64.urlsafe_b64decode(kek), stored, row.kid.encode())
        assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
        private = serialization.load_pem_private_key(pem, password=None)
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert public == pyjwt.PyJWK(row.public_jwk).key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(FormatError):
            aead.open_sealed(b"\x00" * 32, stored, row.kid.encode())


def test_a_different_kek_cannot_sign(make_app):
    """Keys sealed under one KEK do not open under another: the app refuses to sign, it does not leak."""
    import os

    from app.errors import IdbbError
    from app.formats import FormatError
    from app.services import keys as key_service

    first = make_app()
    with first.app.app_context():
        assert key_service.signing_key("RSA").kid
    other = first.app.extensions["idbb"].settings.with_(kek=base64.urlsafe_b64encode(os.urandom(32)).decode())
    from app import create_app

    second = create_app(other)
    with second.app.app_context(), pytest.raises((FormatError, IdbbError)):
        key_service.signing_key("RSA")


def test_the_cached_published_view_follows_each_boundary_without_a_reload(app):
    """published_keys reuses one filtered, sorted view of the cached records: a moment past a key's next
    boundary (here the new key's not_before, then the old one's publish_until) must still get the right order."""
    from datetime import timedelta

    from app.services import keys as key_service

    settings = app.app.extensions["idbb"].settings
    with app.app.app_context():
        old_kid = key_service.signing_key("RSA").kid
        new = key_service.rotate("RSA", actor="test")
        new_kid, starts = new.kid, new.not_before
        records = key_service._records()
        before = [k.kid for k in key_service.published_keys(starts - timedelta(seconds=1))]
        assert before.index(old_kid) == 0 and new_kid in before  # the old key still signs and comes first
        after = [k.kid for k in key_service.published_keys(starts)]
        assert after.index(new_kid) == 0 and old_kid in after  # the new key signs from not_before on
        assert key_service.signing_key("RSA", starts - timedelta(seconds=1)).kid == old_kid
        assert key_service.signing_key("RSA", starts).kid == new_kid
        assert key_service.signing_key("RSA", starts - timedelta(seconds=1)).kid == old_kid  # the clock went back
        gone = starts + timedelta(seconds=settings.key_retention)
        assert old_kid not in [k.kid for k in key_service.published_keys(gone)]
        assert old_kid not in key_service.public_jwks_by_kid(gone)
        assert old_kid in key_service.public_jwks_by_kid(gone - timedelta(seconds=1))
        assert key_service._records() is records  # all of it from the same cached record list
