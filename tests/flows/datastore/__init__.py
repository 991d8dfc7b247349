"""Datastore flows: documents to credentials to revocation, and external-issuer tokens (issue 18)."""
