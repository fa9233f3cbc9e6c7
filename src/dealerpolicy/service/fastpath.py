"""`POST /v1/decisions/{point}` answered without the framework's routing layers.

Order systems call this on every order. Measured on this machine, FastAPI's routing,
request handling and exception middleware cost ~0.3 ms of CPU per request, as much as
deciding and recording the decision; uvicorn itself costs 0.05 ms. This ASGI layer sits
inside the body-limit and answer-counting middleware and hands exactly the requests the
route would get to the route's own function (`routes.decide`), rendering errors with the
same problem handlers. Everything else — other methods, other paths, the batch route —
goes on to FastAPI, which also keeps documenting the route in OpenAPI.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from dealerpolicy.service.problems import HANDLED, error_response
from dealerpolicy.service.routes import decide, router

PATH = "/v1/decisions/{point}"
_DECISION = re.compile(r"/v1/decisions/([^/]+)")
_BATCH = re.compile(r"[^/]+:batch")


class DecisionFastPath:
    def __init__(self, app: ASGIApp):
        self.app = app
        self._route: BaseRoute | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _DECISION.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if match is None or _BATCH.fullmatch(match.group(1)):
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"point": match.group(1)}
        scope["route"] = self._route or self._find_route(scope)  # labels the answer in the metrics
        try:
            response = await decide(Request(scope, receive))
        except HANDLED as exc:
            if getattr(exc, "status_code", None) == 413:
                raise  # a body over the limit: the body-limit layer answers, as for every route
            response = error_response(exc)
        await response(scope, receive, send)

    def _find_route(self, scope: Scope) -> BaseRoute | None:
        for route in router.routes:
            if getattr(route, "path", None) == PATH and "POST" in getattr(route, "methods", ()):
                self._route = route
                return route
        return None
