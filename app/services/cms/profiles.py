"""OSIA ``CredentialProfile`` (CMS 1.3 findCredentialProfiles): the credential configurations idbb issues to
wallets (``MOBILE``) and the printable ID card (``ID_CARD``)."""

from typing import Any

from app.extensions import state
from app.services.cards.personalized import CONFIGURATION_ID
from app.services.cms.errors import InvalidCmsExpression
from app.services.issuance.configurations import configured

ID_CARD = CONFIGURATION_ID
#: Expression attributes a profile search understands (OSIA Expression.attributeName; only "=" on them).
SEARCHABLE = ("credentialProfileId", "credentialType", "name")


def all_profiles() -> list[dict[str, Any]]:
    out = []
    for config in configured().values():
        name = next((d.get("name") for d in config.display if d.get("name")), config.id)
        out.append(
            {
                "credentialProfileId": config.id,
                "name": str(name),
                "description": f"{config.format} credential for a wallet (OpenID4VCI 1.0)",
                "credentialType": "MOBILE",
                "defaultLifetime": config.validity_days,
            }
        )
    out.append(
        {
            "credentialProfileId": ID_CARD,
            "name": "Printable ID card",
            "description": "ID-1 card PDF with a signed QR code (CWT, ES256) of the printed data",
            "credentialType": "ID_CARD",
            "defaultLifetime": state().settings.card_validity_days,
        }
    )
    return out


def profile(profile_id: str) -> dict[str, Any] | None:
    return next((p for p in all_profiles() if p["credentialProfileId"] == profile_id), None)


def find(expressions: list[dict[str, Any]] | None, *, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """Profiles matching every expression (OSIA: the list is an AND of its expressions)."""
    found = all_profiles()
    for expression in expressions or []:
        name, operator, value = expression["attributeName"], expression["operator"], expression["value"]
        if name not in SEARCHABLE or operator not in ("=", "!="):
            raise InvalidCmsExpression(f"Profiles are searched with = or != on {', '.join(SEARCHABLE)}.")
        found = [p for p in found if (p.get(name) == value) == (operator == "=")]
    return found[offset : offset + limit]
