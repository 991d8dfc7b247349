"""The one exception type of the formats layer; services translate it to protocol errors."""


class FormatError(ValueError):
    """Raised when input does not parse, verify or decrypt. The message is safe to log."""
