"""Flows of credential issuance (OpenID4VCI)."""
