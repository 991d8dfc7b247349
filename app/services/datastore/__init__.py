"""The authentic sources' datastore and identity mapping (issue 18; wire format of seed 000, the SIROS ID issuer).

Owns: identity mappings (``mappings``), documents with their sealed ``document_data`` (``documents``), the check
of a document against the credential configuration its scope names (``validation``), issuing from a document and
revoking what was issued when it is deleted (``issuing``), and who may call the API (``access``: external bearer
tokens checked against a JWKS or an OIDC issuer's keys, SPOCP-style rules).

May import: ``app.models.datastore`` and ``app.models.issuance``, ``app.services.{transaction, audit, keys,
stored_secrets, api_clients, notifier}``, ``app.services.issuance.*``, ``app.services.lifecycle`` (revocation),
``app.formats.*``, ``app.errors``, ``app.extensions``, ``app.config``. Never Flask's request or Connexion: the API
layer passes the caller's identity and the request's method and path in.
"""
