"""What idbb supports, in one place: client management validates against it, discovery publishes it.

The ACR tables live in :mod:`app.services.oidc.acr`.
"""

from collections.abc import Iterable

#: OIDC Core §5.1 standard claims that GovStack's client ``userClaims`` enumerates.
CLAIMS_SUPPORTED = (
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "preferred_username",
    "nickname",
    "gender",
    "birthdate",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "picture",
    "address",
    "locale",
    "zoneinfo",
)
#: Grant types a relying party may register.
RP_GRANT_TYPES = ("authorization_code",)
#: Authentication methods a relying party may register through GovStack client management
#: (``clientAuthMethods``): only ``private_key_jwt``; secrets come through the metadata below (issue 3).
RP_REGISTRABLE_AUTH_METHODS = ("private_key_jwt",)

#: OIDC Core §5.4: the claims each scope stands for.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "picture",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
    ),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
}


def scope_claims(scopes: Iterable[str]) -> list[str]:
    """The claims ``scopes`` stand for (OIDC Core §5.4), in scope order, each once."""
    return list(dict.fromkeys(claim for scope in scopes for claim in SCOPE_CLAIMS.get(scope, ())))


#: Scopes a relying party may ask for at /authorize.
OIDC_SCOPES = ("openid", *SCOPE_CLAIMS, "offline_access")
#: OIDC Core §3.1.2.1 ``prompt`` and ``display`` values.
PROMPTS = ("none", "login", "consent", "select_account")
DISPLAYS = ("page", "popup", "touch", "wap")
#: Algorithms idbb signs ID tokens and userinfo with, and encrypts them with (JWE, RFC 7518 §4, §5).
ID_TOKEN_SIGNING_ALGS = ("RS256", "PS256", "ES256", "EdDSA")
ENCRYPTION_ALGS = ("RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A256KW")
ENCRYPTION_ENCS = ("A256GCM", "A128CBC-HS256")
#: Relying-party authentication methods the token and PAR endpoints accept (issue 3: also secrets for RPs
#: registered so); also what ``token_endpoint_auth_method`` metadata may name.
RP_TOKEN_AUTH_METHODS = ("private_key_jwt", "client_secret_basic", "client_secret_post")
