"""What idbb supports, in one place: client management validates against it, discovery publishes it."""

from collections.abc import Iterable

#: GovStack IDBB §7 authentication context classes (the six ``idbb:acr:*`` values).
ACR_VALUES = (
    "idbb:acr:static-code",
    "idbb:acr:generated-code",
    "idbb:acr:linked-wallet",
    "idbb:acr:biometrics",
    "idbb:acr:biometrics-generated-code",
    "idbb:acr:linked-wallet-static-code",
)
#: OIDC Core §5.1 standard claims that GovStack's client ``userClaims`` enumerates.
CLAIMS_SUPPORTED = (
    "name", "given_name", "family_name", "middle_name", "preferred_username", "nickname", "gender",
    "birthdate", "email", "email_verified", "phone_number", "phone_number_verified", "picture",
    "address", "locale", "zoneinfo",
)
#: Grant types a relying party may register.
RP_GRANT_TYPES = ("authorization_code",)
#: Token-endpoint authentication methods a relying party may register through client management.
RP_AUTH_METHODS = ("private_key_jwt",)

#: What each ACR demands (GovStack §7): alternatives, each a set of RFC 8176 ``amr`` values that must
#: all have been used. ``swk`` is the wallet's bound key, ``bio`` a biometric match.
ACR_REQUIREMENTS: dict[str, tuple[frozenset[str], ...]] = {
    "idbb:acr:static-code": (frozenset({"pin"}), frozenset({"pwd"})),
    "idbb:acr:generated-code": (frozenset({"otp"}),),
    "idbb:acr:linked-wallet": (frozenset({"swk"}),),
    "idbb:acr:biometrics": (frozenset({"bio"}),),
    "idbb:acr:biometrics-generated-code": (frozenset({"bio", "otp"}),),
    "idbb:acr:linked-wallet-static-code": (frozenset({"swk", "pin"}), frozenset({"swk", "pwd"})),
}
#: Login methods of the browser pages and the ``amr`` values each can produce.
METHOD_AMR = {"pin": ("pin", "pwd"), "otp": ("otp",), "wallet": ("swk",), "bio": ("bio",)}
#: OIDC Core §5.4: the claims each scope stands for.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "picture",
                "gender", "birthdate", "zoneinfo", "locale"),
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
#: Relying-party authentication methods at the token endpoint (issue 3: also secrets for RPs registered so).
RP_TOKEN_AUTH_METHODS = ("private_key_jwt", "client_secret_basic", "client_secret_post")
