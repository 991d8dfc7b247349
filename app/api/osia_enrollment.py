"""OSIA Enrollment Services v1.3 (``openapi/osia-enrollment.yaml``); names follow OSIA's operationIds."""

from typing import Any

from flask import Response, request

from app.services.enrollment import enrollments


def _client(token_info: dict[str, Any]) -> str:
    return str(token_info.get("client_id", "unknown"))


def createEnrollment(
    enrollmentId: str, transactionId: str, token_info: dict[str, Any], body: Any = None, finalize: bool = False
) -> tuple[str, int]:
    enrollments.create(
        enrollmentId, body or {}, finalize=bool(finalize), client_id=_client(token_info), transaction_id=transactionId
    )
    return "", 204


def readEnrollment(
    enrollmentId: str, transactionId: str, token_info: dict[str, Any], attributes: list[str] | None = None
) -> dict[str, Any]:
    return enrollments.read(enrollmentId, attributes, client_id=_client(token_info), transaction_id=transactionId)


def updateEnrollment(
    enrollmentId: str, transactionId: str, token_info: dict[str, Any], body: Any = None, finalize: bool = False
) -> tuple[str, int]:
    enrollments.update(
        enrollmentId, body or {}, finalize=bool(finalize), client_id=_client(token_info), transaction_id=transactionId
    )
    return "", 204


def partialUpdateEnrollment(
    enrollmentId: str, transactionId: str, token_info: dict[str, Any], body: Any = None, finalize: bool = False
) -> tuple[str, int]:
    enrollments.patch(
        enrollmentId, body or {}, finalize=bool(finalize), client_id=_client(token_info), transaction_id=transactionId
    )
    return "", 204


def deleteEnrollment(enrollmentId: str, transactionId: str, token_info: dict[str, Any]) -> tuple[str, int]:
    enrollments.remove(enrollmentId, client_id=_client(token_info), transaction_id=transactionId)
    return "", 204


def finalizeEnrollment(enrollmentId: str, transactionId: str, token_info: dict[str, Any]) -> tuple[str, int]:
    enrollments.finalize(enrollmentId, client_id=_client(token_info), transaction_id=transactionId)
    return "", 204


def findEnrollments(
    transactionId: str, token_info: dict[str, Any], body: Any = None, offset: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    return enrollments.find(
        list(body or []), offset=offset, limit=limit, client_id=_client(token_info), transaction_id=transactionId
    )


def createBuffer(
    enrollmentId: str, transactionId: str, token_info: dict[str, Any], body: Any = None
) -> tuple[dict[str, str], int]:
    data = request.get_data()
    buffer_id = enrollments.create_buffer(
        enrollmentId,
        data,
        request.content_type or "application/octet-stream",
        request.headers.get("Digest") or request.headers.get("Content-Digest"),
        client_id=_client(token_info),
        transaction_id=transactionId,
    )
    return {"bufferId": buffer_id}, 201


def readBuffer(enrollmentId: str, bufferId: str, transactionId: str, token_info: dict[str, Any]) -> Response:
    data, content_type, digest = enrollments.read_buffer(
        enrollmentId, bufferId, client_id=_client(token_info), transaction_id=transactionId
    )
    return Response(data, status=200, content_type=content_type, headers={"Digest": digest})
