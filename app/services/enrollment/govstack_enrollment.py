"""GovStack ``PUT /enrollment``: a MOSIP-style registration packet mapped onto the OSIA enrollment
service (one model, two wire formats). The packet is enrolled in one step (finalize=true);
replaying the same packet answers the same (offline registration clients retry).
"""

import importlib.metadata
import json
from typing import Any

from app.clock import clock
from app.errors import InvalidRequest
from app.formats.timefmt import format_response_time
from app.services.enrollment import enrollments
from app.services.enrollment.integrity import verify_request

#: the installed package's version (package metadata, not ``app.__version__``: a service never imports the app factory)
_VERSION = importlib.metadata.version("idbb")

_FINGERS = {
    "thumb": "THUMB",
    "indexfinger": "INDEX",
    "middlefinger": "MIDDLE",
    "ringfinger": "RING",
    "littlefinger": "LITTLE",
}
_IRIS = {"left": "EYE_LEFT", "right": "EYE_RIGHT"}


def _field_value(value: Any) -> Any:
    """MOSIP sends simple types as strings and localised ones as JSON text of [{language, value}]."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            entries = json.loads(value)
        except ValueError:
            return value
        if isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries):
            chosen = next((e for e in entries if e.get("language") == "eng"), entries[0])
            return chosen.get("value")
    if isinstance(value, list) and value and all(isinstance(e, dict) and "value" in e for e in value):
        chosen = next((e for e in value if e.get("language") == "eng"), value[0])
        return chosen.get("value")
    return value


def _subtype(modality: str, parts: list[Any]) -> str:
    words = [str(p).replace(" ", "").lower() for p in parts or []]
    if modality == "FINGER" and len(words) >= 2 and words[0] in ("left", "right") and words[1] in _FINGERS:
        return f"{words[0].upper()}_{_FINGERS[words[1]]}"
    if modality == "IRIS" and words and words[0] in _IRIS:
        return _IRIS[words[0]]
    if modality == "FACE":
        return "PORTRAIT"
    return "UNKNOWN"


def _biometrics(cbeff: Any) -> list[dict[str, Any]]:
    if not isinstance(cbeff, dict):
        return []
    items = []
    for segment in cbeff.get("segments") or cbeff.get("segment") or []:
        if not isinstance(segment, dict):
            continue
        info = segment.get("bdbInfo") or {}
        types = info.get("type") or []
        first = types[0] if types else None
        modality = (first.get("value") if isinstance(first, dict) else first) or "UNKNOWN"
        modality = str(modality).upper()
        if modality not in ("FACE", "FINGER", "IRIS"):
            modality = "UNKNOWN"
        item: dict[str, Any] = {"biometricType": modality, "biometricSubType": _subtype(modality, info.get("subtype"))}  # type: ignore[arg-type]  # _subtype accepts a missing subtype; its annotation is narrower
        if segment.get("bdb"):
            item["image"] = segment["bdb"]
        quality = (info.get("quality") or {}).get("score") if isinstance(info.get("quality"), dict) else None
        if isinstance(quality, int):
            item["quality"] = quality
        items.append(item)
    return items


def _documents(documents: Any) -> list[dict[str, Any]]:
    out = []
    for name, doc in (documents or {}).items() if isinstance(documents, dict) else []:
        if not isinstance(doc, dict) or not doc.get("document"):
            continue
        fmt = str(doc.get("format") or "").lower()
        mime = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}.get(fmt)
        part: dict[str, Any] = {"pages": [1], "data": doc["document"]}
        if mime:
            part["mimeType"] = mime
        out.append({"documentType": "OTHER", "documentTypeOther": str(name)[:64], "parts": [part]})
    return out


def to_osia(request: dict[str, Any]) -> dict[str, Any]:
    fields = {k: _field_value(v) for k, v in (request.get("fields") or {}).items()}
    process = str(request.get("process") or "NEW").upper()
    request_data: dict[str, Any] = {
        "requestType": "UPDATE" if process == "UPDATE" else "FIRST_ISSUANCE",
        "process": process,
        "source": request.get("source"),
        "offlineMode": bool(request.get("offlineMode")),
    }
    if process == "UPDATE":
        request_data["uin"] = fields.pop("UIN", None) or fields.pop("uin", None)
        request_data["reason"] = fields.pop("reason", None)
    biographic = {k: v for k, v in fields.items() if v is not None}
    body: dict[str, Any] = {
        "enrollmentType": str(request.get("process") or "NEW"),
        "requestData": {k: v for k, v in request_data.items() if v is not None},
        "contextualData": {
            "refId": request.get("refId"),
            "source": request.get("source"),
            "schemaVersion": request.get("schemaVersion"),
        },
        "biographicData": biographic,
    }
    biometrics = _biometrics(request.get("biometrics"))
    if biometrics:
        body["biometricData"] = biometrics
    documents = _documents(request.get("documents"))
    if documents:
        body["documentData"] = documents
    return body


def enroll(envelope: dict[str, Any], *, client_id: str) -> dict[str, Any]:
    request = envelope.get("request")
    if not isinstance(request, dict):
        raise InvalidRequest("The member 'request' must be an object.")
    registration_id = request.get("id")
    if not isinstance(registration_id, str) or not registration_id:
        raise InvalidRequest("request.id (the registration id) is required.")
    verify_request(envelope, client_id, registration_id, id_member=("request", "id"))
    enrollments.create(
        registration_id,
        to_osia(request),
        finalize=True,
        client_id=client_id,
        transaction_id=str(envelope.get("id") or registration_id)[:128],
        verified=True,
    )
    process = str(request.get("process") or "NEW")
    return {
        "id": envelope.get("id"),
        "version": envelope.get("version"),
        "responsetime": format_response_time(clock.now()),
        "metaData": None,
        "response": [
            {
                "id": registration_id,
                "packetName": f"{registration_id}_{process.lower()}",
                "source": str(request.get("source") or "REGISTRATION_CLIENT"),
                "process": process,
                "refId": str(request.get("refId") or ""),
                "schemaVersion": str(request.get("schemaVersion") or ""),
                "providerName": "idbb",
                "providerVersion": _VERSION,
                "creationDate": format_response_time(clock.now()),
            }
        ],
        "errors": [],
    }
