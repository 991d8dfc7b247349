"""The wallet side of login: linked authorization (GovStack §8 "Wallet – QR Code"), wallet key binding and
idbb's binding CA, and the browser's wallet page.

May import: models, stores, formats, errors, extensions, config, clock, the shared root services,
``oidc``'s public names (the authorization transaction, grants, consents, login authentication, the ACR
tables), ``enrollment.registry`` (the person a wallet key is bound to) and ``ops.sandbox`` (the
compliance sandbox's fixed transactions). ``tests/contract/test_layering.py`` checks it.
"""
