"""The wallet side of login: linked authorization (GovStack §8 "Wallet – QR Code"), wallet key binding and
idbb's binding CA, and the browser's wallet page.

May import: what ``app.services.oidc`` may, plus ``oidc``'s public modules (the authorization transaction,
grants, consents, login authentication) and ``ops.sandbox`` (the compliance sandbox's fixed transactions).
"""
