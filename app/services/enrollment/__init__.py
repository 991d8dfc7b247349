"""Enrollment and the identity registry: OSIA enrollment services, GovStack ``PUT /enrollment``, request
integrity, encrypted payloads, binary content and sealed blobs, the registry, and UIN issuance.

May import: models, stores, formats, errors, extensions, config, clock and the shared root services
(``keys``, ``audit``, ``outbox``, ``credentials``, ``transaction``); no capability package (the others
build on it). ``tests/contract/test_layering.py`` checks it.
"""
