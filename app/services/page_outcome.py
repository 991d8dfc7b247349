"""What a browser step answers: a page (template + context) or a redirect, and the SSO cookie to set or clear.

The views render outcomes; the services that make them (authorization, logout) decide everything.
"""

from dataclasses import dataclass, field
from typing import Any


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
