"""Token Status Lists (``openapi/status-list.yaml``): the signed list by ``Accept``, from the cache."""

from flask import Response, request

from app.extensions import state
from app.services.status import publication


def status_list(listId: str) -> Response:
    accept = request.headers.get("Accept", "")
    media = publication.CWT_MEDIA if publication.CWT_MEDIA in accept else publication.JWT_MEDIA
    token = publication.published(listId)
    etag = token.etag(media)
    headers = {"Cache-Control": f"public, max-age={state().settings.status_list_ttl}", "ETag": etag, "Vary": "Accept"}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    return Response(token.body(media), status=200, headers=headers, content_type=media)
