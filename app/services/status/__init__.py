"""Token Status Lists (draft-ietf-oauth-status-list-20): allocating an index for every credential issued, and
publishing each list as ``statuslist+jwt`` / ``statuslist+cwt`` from a cache, re-signed before it expires.

Owns ``app.models.status``. May import ``app.formats.status_list``, the shared services (keys, transaction) and
``app.extensions``; knows nothing of OpenID4VCI. The lifecycle API that changes entries (suspend, revoke) comes
next and will call :func:`app.services.status.publication.mark_changed`.
"""
