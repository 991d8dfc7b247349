"""Thin HTTP handlers named by operationId; one module per spec file in ``openapi/``."""
