"""The datastore and identity-mapping API over HTTP (issue 18, seed 000's example bodies)."""
