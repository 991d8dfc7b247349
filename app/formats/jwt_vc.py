"""W3C Verifiable Credentials signed as a JWT, not using JSON-LD: the ``jwt_vc_json`` Credential Format of
OpenID4VCI 1.0 Appendix A.1.1, encoded as VC Data Model 1.1 §6.3.1 (JSON Web Token) defines.

The ``vc`` claim carries ``@context``, ``type`` and ``credentialSubject``; the registered claims stand in for the
VC properties (§6.3.1.1): ``iss`` for ``issuer``, ``nbf`` for ``issuanceDate``, ``exp`` for ``expirationDate``,
``jti`` for ``id``, ``sub`` for ``credentialSubject.id``. Holder binding without a DID is ``cnf.jwk`` (RFC 7800 §3.2),
as OpenID4VCI's proofs carry a JWK. A Token Status List reference is the top-level ``status`` claim (draft 20 §6.2).
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from jwcrypto import jwk

from app.formats.errors import CredentialError
from app.formats.jose import PublicJwk, sign_jwt
from app.formats.sd_jwt_vc import holder_cnf
from app.formats.status_list import checked_reference

FORMAT = "jwt_vc_json"  # OpenID4VCI 1.0 Appendix A.1.1.1
VC_CONTEXT_V1 = "https://www.w3.org/2018/credentials/v1"  # VCDM 1.1 §4.1: the first @context value MUST be this
BASE_TYPE = "VerifiableCredential"  # VCDM 1.1 §4.3: type MUST include VerifiableCredential
TYP = "JWT"  # VCDM 1.1 §6.3.1: typ, if present, MUST be JWT


def issue_jwt_vc(
    *,
    issuer: str,
    types: Sequence[str],
    credential_subject: Mapping[str, Any],
    key: jwk.JWK,
    alg: str,
    iat: int,
    exp: int,
    nbf: int | None = None,
    holder_key: jwk.JWK | PublicJwk | Mapping[str, Any] | None = None,
    subject_id: str | None = None,
    jti: str | None = None,
    contexts: Sequence[str] = (VC_CONTEXT_V1,),
    status: Mapping[str, Any] | None = None,
    x5c: Sequence[str] | None = None,
) -> str:
    """Sign a ``jwt_vc_json`` credential; ``types`` is ``credential_definition.type`` of the configuration.

    ``subject_id`` (a DID or URI of the holder) becomes ``sub`` and ``credentialSubject.id``; ``holder_key`` becomes
    ``cnf.jwk``. ``jti`` defaults to a fresh ``urn:uuid``. ``nbf`` defaults to ``iat``.
    """
    types = list(types)
    if BASE_TYPE not in types:  # VCDM 1.1 §4.3: the type property MUST include VerifiableCredential
        raise CredentialError("type must include VerifiableCredential")
    if not all(isinstance(t, str) and t for t in types):
        raise CredentialError("type values must be non-empty strings")
    contexts = list(contexts)
    if not contexts or contexts[0] != VC_CONTEXT_V1:  # VCDM 1.1 §4.1: the first item MUST be the v1 context
        raise CredentialError(f"the first @context must be {VC_CONTEXT_V1}")
    if not isinstance(issuer, str) or ":" not in issuer:  # VCDM 1.1 §4.5: issuer MUST be a URI
        raise CredentialError("issuer must be a URI")
    nbf = iat if nbf is None else nbf
    for name, value in (("iat", iat), ("exp", exp), ("nbf", nbf)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise CredentialError(f"{name} must be an integer NumericDate")
    if exp <= nbf:
        raise CredentialError("exp must come after nbf")
    if not isinstance(credential_subject, Mapping) or not credential_subject:
        raise CredentialError("credentialSubject must be a non-empty object")  # VCDM 1.1 §4.4: REQUIRED
    subject = dict(credential_subject)
    if "id" in subject and subject_id is not None and subject["id"] != subject_id:
        raise CredentialError("credentialSubject.id and subject_id differ")
    subject_id = subject_id if subject_id is not None else subject.get("id")
    vc: dict[str, Any] = {"@context": contexts, "type": types, "credentialSubject": subject}
    claims: dict[str, Any] = {
        "iss": issuer,  # §6.3.1.1: iss MUST represent the issuer property
        "nbf": nbf,  # §6.3.1.1: nbf MUST represent issuanceDate
        "iat": iat,
        "exp": exp,  # §6.3.1.1: exp MUST represent expirationDate
        "jti": jti if jti is not None else f"urn:uuid:{uuid.uuid4()}",  # §6.3.1.1: jti MUST represent id
        "vc": vc,
    }
    if subject_id is not None:
        subject["id"] = subject_id
        claims["sub"] = subject_id  # §6.3.1.1: sub MUST represent credentialSubject.id
    if holder_key is not None:
        claims["cnf"] = holder_cnf(holder_key)
    if subject_id is None and holder_key is None:
        raise CredentialError("a jwt_vc_json credential needs a subject id or a holder key")
    if status is not None:
        claims["status"] = checked_reference(status)
    extra = {"x5c": list(x5c)} if x5c else None
    return sign_jwt(claims, key, alg, typ=TYP, extra_header=extra)
