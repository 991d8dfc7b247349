"""What a browser step answers: a page (template + context) or a redirect, and the SSO cookie to set or clear.

The views render outcomes; the services that make them (authorization, logout) decide everything.
"""

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Outcome:
    template: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    redirect: str | None = None
    status: int = 200
    set_session: str | None = None
    clear_session: bool = False
    #: seconds for a ``Retry-After`` header (RFC 9110 §10.2.3), sent with a 429 page (RFC 6585 §4)
    retry_after: int | None = None
    #: Origins beyond 'self' that the page's forms may post to or be redirected to (CSP ``form-action``).
    form_action: tuple[str, ...] = ()


_HOST_PORT = re.compile(r"[A-Za-z0-9.\-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")


def csp_source(uri: str | None) -> tuple[str, ...]:
    """The CSP source expression (CSP 3 §2.3.1) matching where ``uri`` leads: ``scheme://host[:port]`` for
    http(s), ``scheme:`` for a native app's private-use scheme; nothing for anything else.

    A form's redirect counts as its navigation (CSP 3 §6.3.1 ``form-action``: browsers check the redirect
    target too), so the login and consent pages must allow the relying party's redirect URI and no more.
    """
    if not uri:
        return ()
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not _SCHEME.fullmatch(scheme):
        return ()
    if scheme in ("http", "https"):
        host = parts.netloc.rsplit("@", 1)[-1]
        return (f"{scheme}://{host}",) if _HOST_PORT.fullmatch(host) else ()
    return (f"{scheme}:",)
