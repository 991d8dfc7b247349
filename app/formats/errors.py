"""The exception types of the formats layer; services translate them to protocol errors.

Every error is a :class:`FormatError`, so callers that only care that input was bad catch that one;
the subclasses let the credential issuer tell a refused request (a claim that may not be disclosable,
a status out of range) from a malformed structure or a signature that does not verify.
"""


class FormatError(ValueError):
    """Raised when input does not parse, verify or decrypt. The message is safe to log."""


class StatusListError(FormatError):
    """A Token Status List, its index, status value or ``bits`` is out of range or malformed."""


class CoseError(FormatError):
    """A COSE structure (COSE_Sign1, COSE_Key, header) does not parse, fit its key, or verify."""


class SdJwtError(FormatError):
    """An SD-JWT, one of its disclosures or its key-binding JWT is malformed or does not verify."""


class DisclosureError(SdJwtError):
    """Claims cannot be made selectively disclosable as asked (a reserved or never-disclosable name, a bad path)."""


class CredentialError(FormatError):
    """Credential input (claims, holder key, validity, status reference) cannot be issued as given."""


class MdocError(FormatError):
    """An ISO 18013-5 structure (IssuerSigned, MSO, IssuerSignedItem) is malformed or does not verify."""


class CertificateError(FormatError):
    """A certificate cannot be built or does not fit its profile (ISO 18013-5 Annex B)."""


class CardPayloadError(FormatError):
    """A printed card's QR payload (``IDC1:`` CWT) is malformed, expired or does not verify."""
