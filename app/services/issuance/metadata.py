"""Discovery documents: the Credential Issuer Metadata (OpenID4VCI 1.0 §12.2), the JWT VC Issuer Metadata
(SD-JWT VC draft 18 §3) and the IACA certificates at ``mdoc_iacas_uri``.

idbb is its own authorization server, so ``authorization_servers`` names the issuer itself; the authorization-
server metadata (RFC 8414) at ``/.well-known/oauth-authorization-server`` adds the pre-authorized grant and
``pre-authorized_grant_anonymous_access_supported`` (§12.3).
"""

import base64
from typing import Any

from jwcrypto import jwk

from app.extensions import state
from app.formats import FormatError
from app.formats.sd_jwt_vc import issuer_metadata as jwt_vc_issuer_document
from app.services import keys
from app.services.issuance import signers
from app.services.issuance.configurations import configured
from app.services.issuance.wallet import REQUEST_ENCS, RESPONSE_ALGS, RESPONSE_ENCS
from app.services.transaction import atomic

IACAS_PATH = "/mdoc/iacas"


def credential_issuer() -> dict[str, Any]:
    """§12.2.4, with the 1.0 member names."""
    issuer = state().settings.issuer
    return {
        "credential_issuer": issuer,
        "authorization_servers": [issuer],
        "credential_endpoint": f"{issuer}/credential",
        "nonce_endpoint": f"{issuer}/nonce",
        "deferred_credential_endpoint": f"{issuer}/deferred_credential",
        "notification_endpoint": f"{issuer}/notification",
        # §12.2.4: batch_size is the most credentials one request may ask for (one per proof)
        "batch_credential_issuance": {"batch_size": state().settings.credential_batch_size},
        "display": [{"name": "idbb", "locale": "en"}, {"name": "idbb", "locale": "fr"}, {"name": "idbb", "locale": "ar"}],
        "mdoc_iacas_uri": f"{issuer}{IACAS_PATH}",
        # §12.2.4: encrypted requests to idbb's use=enc keys, responses to the wallet's key; both optional
        "credential_request_encryption": {
            "jwks": {
                "keys": [
                    {**k.public_jwk, "kid": k.kid, "use": "enc", "alg": k.alg}
                    for k in keys.published_keys()
                    if k.use == "enc"
                ]
            },
            "enc_values_supported": list(REQUEST_ENCS),
            "encryption_required": False,
        },
        "credential_response_encryption": {
            "alg_values_supported": list(RESPONSE_ALGS),
            "enc_values_supported": list(RESPONSE_ENCS),
            "encryption_required": False,
        },
        "credential_configurations_supported": {cid: c.metadata() for cid, c in configured().items()},
    }


def jwt_vc_issuer() -> dict[str, Any]:
    """The keys that sign SD-JWT VCs and JWT VCs, by value (draft 18 §3.2)."""
    issuer = state().settings.issuer
    public = [jwk.JWK(**{**k.public_jwk, "kid": k.kid}) for k in keys.published_keys() if k.use == "sig" and k.kty == "EC"]
    try:
        return jwt_vc_issuer_document(issuer, public)
    except FormatError:  # a plain-http development issuer: the same document, unchecked
        return {"issuer": issuer, "jwks": {"keys": [k.export_public(as_dict=True) for k in public]}}


def iacas() -> dict[str, Any]:
    """The IACA root certificates (base64 DER, and PEM) wallets and verifiers trust for idbb's mdocs."""
    from app.formats.x509 import certificate_pem

    with atomic():
        signers.iaca()
        certificates = signers.iaca_certificates()
    return {
        "iacas": [
            {"certificate": base64.b64encode(der).decode("ascii"), "pem": certificate_pem(der)} for der in certificates
        ]
    }
