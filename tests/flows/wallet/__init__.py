"""Flows of the wallet: linked authorization (QR login), the wallet page."""
