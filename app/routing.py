"""Routing for several Connexion APIs mounted at the same base path (measured on connexion 3.3.0).

``RoutingMiddleware.add_api`` chains same-base-path APIs by setting ``default`` on *every* earlier
mount, so with three or more APIs the middle ones are skipped (API 1 falls through to API 3): their
operations reach Flask without an operation context and fail. ``SwaggerUIMiddleware`` does not chain
at all (only the first API's UI is reachable). Here each middleware keeps one router per base path
holding every API's routes in the order the APIs were added: no API is skipped, every UI is reachable,
and a request walks one route list instead of a chain of nested routers (a request's route is still
the first that matches, and an operation that matches path and method wins over one that matches the
path only). The Swagger UI middleware also passes a request straight on when its path is outside the
documentation's prefixes (``/docs``), so API calls do not walk the documentation routes at all.
"""

import copy
import re
from typing import Any

import starlette.routing
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.routing import RoutingAPI, RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _merge(router: starlette.routing.Router, base_path: str, api_router: starlette.routing.Router) -> None:
    """Mount ``api_router`` at ``base_path``, or add its routes to the router already mounted there.

    Starlette's mount pattern is ``^<base>/(?P<path>.*)$`` without ``DOTALL``, so a path holding a newline
    (``/registry/identities/a%0Ab``) matched no mount while the operation's own ``[^/]+`` would have taken
    it: the request fell through to Flask, whose router did match, and reached the view without its
    security check (a 500 only because the operation context was missing). The mount takes any character.
    """
    for route in router.routes:
        if isinstance(route, starlette.routing.Mount) and route.path == base_path:
            route.app.routes.extend(api_router.routes)  # type: ignore[attr-defined]  # connexion's router is untyped; its app has routes
            return
    router.mount(base_path, app=api_router)
    mount = router.routes[-1]
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)  # type: ignore[attr-defined]  # starlette's Mount has path_regex at runtime


class MergedRoutingMiddleware(RoutingMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except HTTPException as exc:
            allowed = self._allowed_methods(scope) if exc.status_code == 405 else set()
            if not allowed:
                raise
            # RFC 9110 §15.5.6: the origin server MUST generate an Allow header field in a 405 response
            # (Starlette names only the first route that matched the path: one operation of several)
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))}) from None

    def _allowed_methods(self, scope: Scope) -> set[str]:
        """Every method some operation at this path accepts, over all the APIs merged on its base path."""
        methods: set[str] = set()
        for mount in self.router.routes:
            match, child = mount.matches(scope)
            if match == starlette.routing.Match.NONE or not isinstance(mount, starlette.routing.Mount):
                continue
            inner = {**scope, **child}
            for route in getattr(mount.app, "routes", []):
                if route.matches(inner)[0] != starlette.routing.Match.NONE:
                    methods |= set(getattr(route, "methods", None) or ())
        return methods

    def add_api(
        self, specification: Any, base_path: str | None = None, arguments: dict | None = None, **kwargs: Any
    ) -> None:
        api = RoutingAPI(specification, base_path=base_path, arguments=arguments, next_app=self.app, **kwargs)
        _merge(self.router, api.base_path, api.router)


class MergedSwaggerUIMiddleware(SwaggerUIMiddleware):
    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._prefixes: set[str] = set()

    def add_api(
        self, specification: Any, base_path: str | None = None, arguments: dict | None = None, **kwargs: Any
    ) -> None:
        api = SwaggerUIAPI(specification, base_path=base_path, arguments=arguments, default=self.default_fn, **kwargs)
        for route in api.router.routes:  # "/docs/oidc/openapi.json" -> "/docs"
            path = getattr(route, "path", "")
            self._prefixes.add(api.base_path + "/" + path.lstrip("/").split("/", 1)[0])
        _merge(self.router, api.base_path, api.router)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._is_documentation(scope):
            await self.app(scope, receive, send)  # what the router's default would do
            return

        async def protected(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *DOCS_HEADERS]}
            await send(message)

        await super().__call__(scope, receive, protected)

    def _is_documentation(self, scope: Scope) -> bool:
        """Whether the path, as the router will match it (without the ``root_path`` of a server run behind a
        path-stripping proxy, which ASGI puts in ``path`` too), is one of the documentation prefixes or below it."""
        path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
        if root and path.startswith(root):
            path = path[len(root) :]
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self._prefixes)


#: The documentation pages (Swagger UI) get the login pages' framing protection: no framing at all
#: (CSP ``frame-ancestors``, and ``X-Frame-Options`` for older browsers, RFC 7034), forms only to 'self'.
#: Swagger UI's page has one inline script and inline styles, so those are allowed there (nothing on it
#: comes from a request); everything else only from 'self'.
DOCS_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        b"'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def middlewares() -> list[Any]:
    """Connexion's default middleware list with the routing fixes in place."""
    fixes = {RoutingMiddleware: MergedRoutingMiddleware, SwaggerUIMiddleware: MergedSwaggerUIMiddleware}
    return [fixes.get(m, m) for m in copy.copy(ConnexionMiddleware.default_middlewares)]
