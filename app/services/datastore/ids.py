"""UUIDv7 (RFC 9562 §5.7) for a mapping or document whose id the authentic source leaves to the issuer (seed 000:
"If authentic_source_person_id is omitted, a UUIDv7 is generated automatically")."""

import os
import time
import uuid


def uuid7() -> str:
    """48 bits of Unix milliseconds, version 7, 74 random bits, the RFC 9562 variant."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # RFC 9562 §5.7: ver field 0b0111
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 §4.1: variant 0b10
    return str(uuid.UUID(int=value))
