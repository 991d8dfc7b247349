"""Pure protocol and format code: JOSE, COSE, X.509, AEAD, canonical JSON, time formats, and the credential
formats (SD-JWT VC, ISO mdoc, JWT VC) with Token Status Lists.

Nothing here imports Flask, SQLAlchemy or Connexion (ARCHITECTURE.md, "What may import what"),
so each module can be tested and reused alone. Failures raise :class:`FormatError`.
"""

from app.formats.errors import FormatError

__all__ = ["FormatError"]
