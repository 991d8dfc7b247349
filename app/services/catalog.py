"""What idbb supports, in one place: client management validates against it, discovery publishes it."""

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
