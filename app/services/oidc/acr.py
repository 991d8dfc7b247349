"""The authentication context classes, in one table per question (GovStack IDBB §7, OIDC Core §2 ``acr``).

Which ACRs exist, which RFC 8176 ``amr`` values satisfy each, which login page method produces it, and which
factors a wallet presents for it (linked authorization): each question is answered once, here, so client
management, discovery, the browser flow and the wallet flow cannot disagree.
"""

#: GovStack IDBB §7 authentication context classes (the six ``idbb:acr:*`` values).
ACR_VALUES = (
    "idbb:acr:static-code",
    "idbb:acr:generated-code",
    "idbb:acr:linked-wallet",
    "idbb:acr:biometrics",
    "idbb:acr:biometrics-generated-code",
    "idbb:acr:linked-wallet-static-code",
)

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

#: The browser login page's method for each ACR it can satisfy (biometrics have no page: no matcher).
METHOD_FOR_ACR = {
    "idbb:acr:static-code": "pin",
    "idbb:acr:generated-code": "otp",
    "idbb:acr:linked-wallet": "wallet",
    "idbb:acr:linked-wallet-static-code": "wallet",
}

#: The wallet's auth factors (GovStack AuthFactor / eSignet authFactors) per ACR; each ACR is one
#: alternative, all of whose factors must be presented.
ACR_FACTORS: dict[str, tuple[str, ...]] = {
    "idbb:acr:static-code": ("PIN",),
    "idbb:acr:generated-code": ("OTP",),
    "idbb:acr:linked-wallet": ("WLA",),
    "idbb:acr:linked-wallet-static-code": ("WLA", "PIN"),
}
