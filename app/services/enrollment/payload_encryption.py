"""Encrypted request payloads: a compact JWE (RFC 7516) encrypted to idbb's published ``use: enc`` key."""

from flask import Flask

from app.errors import InvalidRequest
from app.formats import FormatError
from app.formats.jwe import decrypt_compact
from app.services import keys


def decrypt(flask_app: Flask, token: str) -> bytes:
    """Try every published encryption key (newest first, so a key being rotated out still works)."""
    with flask_app.app_context():
        for key in keys.decryption_keys():
            try:
                return decrypt_compact(token, key)
            except FormatError:
                continue
    raise InvalidRequest("The JWE payload does not decrypt with idbb's encryption key.")
