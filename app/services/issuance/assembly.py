"""Assembling one credential in its configuration's format, with ``app.formats`` doing all the encoding.

``dc+sd-jwt``: :func:`app.formats.sd_jwt_vc.issue_sd_jwt_vc` (claims marked ``sd`` disclosable, decoys added);
``mso_mdoc``: :func:`app.formats.mdoc.issue_mdoc` then base64url of the IssuerSigned (1.0 Appendix A.2.4);
``jwt_vc_json``: :func:`app.formats.jwt_vc.issue_jwt_vc` (1.0 Appendix A.1.1). Every credential carries its
Token Status List reference.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.formats.claims_path import ClaimsDescription, select
from app.formats.jose import PublicJwk
from app.formats.jwt_vc import issue_jwt_vc
from app.formats.mdoc import issue_mdoc, issuer_signed_b64url
from app.formats.sd_jwt_vc import issue_sd_jwt_vc
from app.formats.status_list import status_reference
from app.services.issuance import signers
from app.services.issuance.configurations import CredentialConfiguration
from app.services.status.allocation import StatusReference


@dataclass(frozen=True)
class Assembled:
    credential: str
    digest: str
    expires_at: datetime


def _nest(values: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in values.items():
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def selected(
    config: CredentialConfiguration, values: dict[tuple[str, ...], Any], requested: tuple[ClaimsDescription, ...]
) -> tuple[dict[tuple[str, ...], Any], list[ClaimsDescription]]:
    """OpenID4VCI 1.0 Appendix "Claims Description": with ``claims`` granted, the credential carries the claims
    asked for and those the metadata marks ``mandatory`` (always included); without, every claim. Also the
    wallet-mandatory descriptions left unmet (the caller refuses: the wallet would not accept the credential)."""
    if not requested:
        return values, []
    return select(values, requested, [c.path for c in config.claims if c.mandatory])


def assemble(
    config: CredentialConfiguration,
    values: dict[tuple[str, ...], Any],
    holder: PublicJwk,
    status: StatusReference,
    *,
    issuer: str,
    now: datetime,
) -> Assembled:
    moment = now.replace(microsecond=0)
    expires = moment + timedelta(days=config.validity_days)
    reference = status_reference(status.idx, status.uri)
    if config.format == "dc+sd-jwt":
        key, x5c = signers.jose_signer()
        disclosable = [c.path for c in config.claims if c.sd and c.path in values]
        issued = issue_sd_jwt_vc(
            issuer=issuer,
            vct=str(config.vct),
            claims=_nest(values),
            holder_key=holder,
            key=key.jwk,
            alg=key.alg,
            iat=int(moment.timestamp()),
            exp=int(expires.timestamp()),
            status=reference,
            disclosable=disclosable,
            x5c=x5c or None,
        )
        text = issued.compact
    elif config.format == "mso_mdoc":
        signer = signers.document_signer()
        namespaces: dict[str, dict[str, Any]] = {}
        for (namespace, element), value in values.items():
            namespaces.setdefault(namespace, {})[element] = value
        until = min(expires, signer.not_after)
        mdoc = issue_mdoc(
            doctype=str(config.doctype),
            namespaces=namespaces,
            device_key=holder,
            key=signer.key,
            certificate=signer.certificate,
            signed=moment,
            valid_from=moment,
            valid_until=until,
            status=reference,
        )
        text, expires = issuer_signed_b64url(mdoc), until
    else:
        key, x5c = signers.jose_signer()
        subject = _nest(values).get("credentialSubject", {})
        text = issue_jwt_vc(
            issuer=issuer,
            types=config.types,
            credential_subject=subject,
            key=key.jwk,
            alg=key.alg,
            iat=int(moment.timestamp()),
            exp=int(expires.timestamp()),
            holder_key=holder,
            status=reference,
            x5c=x5c or None,
        )
    return Assembled(text, hashlib.sha256(text.encode("ascii")).hexdigest(), expires)
