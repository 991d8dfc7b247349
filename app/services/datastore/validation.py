"""``document_data`` checked against the credential configuration its ``scope`` names, before it is stored.

Seed 000 ("Input Validation: the issuer validates all document data against VCTM schemas"): here the schema is the
configuration's claims (``app/services/issuance/defaults/*.yaml``). A document holds only claims of the
configuration whose values come from the backend (a claim with ``source``), each of its declared type, and every
mandatory one; errors name the claim, never its value.
"""

from datetime import date
from typing import Any

from app.services.datastore.errors import InvalidFormat
from app.services.issuance.configurations import ClaimSpec, CredentialConfiguration, configured


def configuration_for(scope: str) -> CredentialConfiguration:
    """The configuration whose ``scope`` is ``scope`` (OpenID4VCI 1.0 §12.2.4: one scope per configuration)."""
    for config in configured().values():
        if config.scope == scope:
            return config
    raise InvalidFormat("No credential configuration has this scope.", details={"scope": scope})


def _type_ok(claim: ClaimSpec, value: Any) -> bool:
    if claim.type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if claim.type == "boolean":
        return isinstance(value, bool)
    if claim.type == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            return False
        return isinstance(value, str)
    return isinstance(value, str)


def check_document(scope: str, data: dict[str, Any]) -> CredentialConfiguration:
    """Refuse ``data`` unless it fits the claims of ``scope``'s configuration; returns the configuration."""
    config = configuration_for(scope)
    claims = {c.name: c for c in config.claims if c.source is not None and len(c.path) == 1}
    unknown = sorted(set(data) - set(claims))
    if unknown:
        raise InvalidFormat(
            "document_data holds a member the credential configuration does not define.",
            details={"scope": scope, "member": unknown[0][:100]},
        )
    for name, claim in claims.items():
        value = data.get(name)
        if value is None or value == "":
            if claim.mandatory:
                raise InvalidFormat("document_data lacks a mandatory claim.", details={"scope": scope, "claim": name})
            continue
        if not _type_ok(claim, value):
            raise InvalidFormat(f"document_data claim is not of type {claim.type}.", details={"scope": scope, "claim": name})
    if not data:
        raise InvalidFormat("document_data is empty.", details={"scope": scope})
    return config
