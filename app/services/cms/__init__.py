"""OSIA CMS v1.3 (Credential Services, OSIA v7.1): credential requests, credentials and their status, profiles.

Owns ``app.models.cms.CredentialRequest`` and the mapping of OSIA statuses onto the Token Status List values.
Credentials and status changes go through ``app.services.lifecycle``; wallet offers through
``app.services.issuance.backend``; printed cards through ``app.services.cards``. May import models, formats,
errors, the shared services and those three; never ``flask.request``, Connexion or ``app.api``.
"""
