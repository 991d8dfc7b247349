"""Shared pieces for the enrollment tests: real image bytes, bodies, an OSIA client."""

import base64
import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import pytest


def png_bytes(width: int = 4, height: int = 4) -> bytes:
    """A real, decodable PNG (greyscale), made with zlib and struct."""
    raw = b"".join(b"\x00" + bytes([(x * 40 + y * 20) % 256 for x in range(width)]) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def wsq_bytes(size: int = 2048) -> bytes:
    """A WSQ-shaped buffer: SOI (FF A0), a transform table marker (FF A8) and filler."""
    return b"\xff\xa0\xff\xa8\x00\x3a" + bytes(range(256)) * (size // 256) + b"\xff\xa1"


def jpeg_bytes(size: int = 4096) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x11" * size + b"\xff\xd9"


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def person(first: str = "Amina", last: str = "Diallo", dob: str = "1990-04-12", **extra: Any) -> dict[str, Any]:
    return {"firstName": first, "lastName": last, "dateOfBirth": dob, "gender": "F", "nationality": "SEN", **extra}


def full_body(**biographic: Any) -> dict[str, Any]:
    return {
        "enrollmentType": "CITIZEN",
        "enrollmentFlags": {"timeout": 3600},
        "requestData": {"priority": 1, "requestType": "FIRST_ISSUANCE"},
        "contextualData": {"enrollmentDate": "2026-11-23T10:00:00Z", "operatorName": "op-17"},
        "biographicData": person(**biographic),
        "biometricData": [
            {"biometricType": "FACE", "biometricSubType": "PORTRAIT", "image": b64(png_bytes()), "mimeType": "image/png"},
            {
                "biometricType": "FINGER",
                "biometricSubType": "RIGHT_INDEX",
                "image": b64(wsq_bytes()),
                "compression": "WSQ",
                "resolution": 500,
            },
        ],
        "documentData": [
            {
                "documentType": "BIRTH_CERTIFICATE",
                "parts": [{"pages": [1], "data": b64(pdf_bytes()), "mimeType": "application/pdf"}],
            }
        ],
    }


@dataclass
class Osia:
    """Calls the OSIA enrollment API with a scoped token and a transactionId."""

    http: Any
    token: str

    def url(self, path: str, **query: Any) -> str:
        params = {"transactionId": f"tx-{uuid.uuid4().hex[:8]}", **query}
        text = "&".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items())
        return f"{path}?{text}"

    def auth(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def create(self, eid: str, body: Any, **query: Any) -> Any:
        return self.http.post(self.url(f"/v1/enrollments/{eid}", **query), json=body, headers=self.auth())

    def read(self, eid: str, **query: Any) -> Any:
        return self.http.get(self.url(f"/v1/enrollments/{eid}", **query), headers=self.auth())

    def update(self, eid: str, body: Any, **query: Any) -> Any:
        return self.http.put(self.url(f"/v1/enrollments/{eid}", **query), json=body, headers=self.auth())

    def patch(self, eid: str, body: Any, **query: Any) -> Any:
        return self.http.patch(self.url(f"/v1/enrollments/{eid}", **query), json=body, headers=self.auth())

    def finalize(self, eid: str) -> Any:
        return self.http.put(self.url(f"/v1/enrollments/{eid}/finalize"), headers=self.auth())

    def delete(self, eid: str) -> Any:
        return self.http.delete(self.url(f"/v1/enrollments/{eid}"), headers=self.auth())

    def find(self, expressions: Any, **query: Any) -> Any:
        return self.http.post(self.url("/v1/enrollments", **query), json=expressions, headers=self.auth())

    def upload(self, eid: str, data: bytes, content_type: str, digest: str | None = None) -> Any:
        headers = self.auth({"Content-Type": content_type})
        if digest:
            headers["Digest"] = digest
        return self.http.post(self.url(f"/v1/enrollments/{eid}/buffer"), content=data, headers=headers)

    def download(self, eid: str, buffer_id: str) -> Any:
        return self.http.get(self.url(f"/v1/enrollments/{eid}/buffer/{buffer_id}"), headers=self.auth())


ENROLL_SCOPES = ("enroll.read", "enroll.write", "enroll.buf.read", "enroll.buf.write")


@pytest.fixture
def osia(api_client: Any, client: Any) -> Osia:
    return Osia(client, api_client(*ENROLL_SCOPES).token())


@pytest.fixture
def signing_client(api_client: Any, client: Any) -> tuple[Osia, bytes]:
    """An enrollment station registered with ``signature_required``, and its private key (PEM)."""
    station = api_client(*ENROLL_SCOPES, signature_required=True)
    return Osia(client, station.token()), station.private_pem
