"""Fixes for Connexion 3.3's routing of several APIs mounted at the same base path.

``RoutingMiddleware.add_api`` chains same-base-path APIs by setting ``default`` on *every*
earlier mount, so with three or more APIs the middle ones are skipped (API 1 falls through to
API 3): their operations reach Flask without an operation context and fail. Chaining only the
tail of the chain gives API 1 -> API 2 -> API 3 as intended. ``SwaggerUIMiddleware`` does not
chain at all (only the first API's UI is reachable); it gets the same tail chaining. Measured on
connexion 3.3.0.
"""

import copy
from typing import Any

import starlette.routing
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.routing import RoutingAPI, RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware


def _chain(router: starlette.routing.Router, base_path: str, api_router: starlette.routing.Router) -> None:
    """Mount ``api_router`` at ``base_path``; if that path is taken, append it to the chain's tail."""
    tail = None
    for route in router.routes:
        if isinstance(route, starlette.routing.Mount) and route.path == base_path:
            tail = route.app
            break
    while tail is not None and isinstance(getattr(tail, "default", None), starlette.routing.Router):
        tail = tail.default  # walk to the end of the chain
    if tail is not None:
        tail.default = api_router
    else:
        router.mount(base_path, app=api_router)


class ChainedRoutingMiddleware(RoutingMiddleware):
    def add_api(self, specification: Any, base_path: str | None = None, arguments: dict | None = None,
                **kwargs: Any) -> None:
        api = RoutingAPI(specification, base_path=base_path, arguments=arguments, next_app=self.app, **kwargs)
        _chain(self.router, api.base_path, api.router)


class ChainedSwaggerUIMiddleware(SwaggerUIMiddleware):
    def add_api(self, specification: Any, base_path: str | None = None, arguments: dict | None = None,
                **kwargs: Any) -> None:
        api = SwaggerUIAPI(specification, base_path=base_path, arguments=arguments, default=self.default_fn,
                           **kwargs)
        _chain(self.router, api.base_path, api.router)


def middlewares() -> list[Any]:
    """Connexion's default middleware list with the routing fixes in place."""
    fixes = {RoutingMiddleware: ChainedRoutingMiddleware, SwaggerUIMiddleware: ChainedSwaggerUIMiddleware}
    return [fixes.get(m, m) for m in copy.copy(ConnexionMiddleware.default_middlewares)]
