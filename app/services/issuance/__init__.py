"""Credential issuance: an OpenID4VCI 1.0 Credential Issuer fed by the registry and a backend issue API.

Owns ``app.models.issuance``: credential configurations (YAML data), credential offers and the pre-authorized
code grant, ``c_nonce``, key proofs, credential assembly in the three formats of ``app.formats`` (SD-JWT VC, ISO
mdoc, JWT VC), deferred issuance, notifications and the backend API (``/v1/issuance``). May import the shared
services (keys, access tokens, DPoP, audit, outbox, notifier, stored secrets, the registry, ``atomic``),
``app.services.status`` for status references, ``app.formats`` and ``app.models``; never ``flask`` or the API layer.
"""
