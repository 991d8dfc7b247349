"""GovStack credential management over HTTP (``openapi/credential-management.yaml``)."""
