"""OSIA CMS v1.3 over HTTP (``openapi/osia-cms.yaml``)."""
