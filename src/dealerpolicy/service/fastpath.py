"""`POST /v1/decisions/{point}` answered without the framework's routing layers.

Order systems call this on every order. Measured on this machine, FastAPI's routing,
request handling and exception middleware cost ~0.3 ms of CPU per request, as much as
deciding and recording the decision; uvicorn itself costs 0.05 ms. This ASGI layer sits
inside the body-limit and answer-counting middleware and answers exactly the requests the
route would get, through the route's own logic (`routes.decide_checked`), reading the token,
`lang` and body straight from the ASGI messages and rendering errors with the same problem
handlers. Everything else — other methods, other paths, the batch route — goes on to
FastAPI, which also keeps documenting the route in OpenAPI.
"""

from __future__ import annotations

import re

from starlette.datastructures import QueryParams
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from dealerpolicy.service.auth import token_of
from dealerpolicy.service.problems import HANDLED, error_response, json_bytes
from dealerpolicy.service.routes import decide_checked, decision_headers, router

PATH = "/v1/decisions/{point}"
_DECISION = re.compile(r"/v1/decisions/([^/]+)")
_BATCH = re.compile(r"[^/]+:batch")


class _Disconnected(Exception):
    """The client went away before its body arrived: there is nobody to answer."""


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
        scope["route"] = self._route or self._find_route()  # labels the answer in the metrics

        async def read_body() -> bytes:
            chunks = []
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Disconnected
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    return b"".join(chunks)

        try:
            decision, recorded = await decide_checked(scope["app"].state, match.group(1), _token(scope),
                                                      _query(scope), read_body)
        except _Disconnected:
            return
        except HANDLED as exc:
            if getattr(exc, "status_code", None) == 413:
                raise  # a body over the limit: the body-limit layer answers, as for every route
            await error_response(exc)(scope, receive, send)
            return
        data = json_bytes(decision)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in decision_headers(recorded).items()]
        balance = scope["app"].state.balance
        if balance is not None and balance.should_close(scope.get("client")):
            headers.append((b"connection", b"close"))  # this worker holds more than its share
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    def _find_route(self) -> BaseRoute | None:
        for route in router.routes:
            if getattr(route, "path", None) == PATH and "POST" in getattr(route, "methods", ()):
                self._route = route
                return route
        return None


def _token(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return token_of(value.decode("latin-1"))
    return ""


_NO_QUERY = QueryParams(b"")


def _query(scope: Scope) -> QueryParams:
    query = scope.get("query_string", b"")
    return QueryParams(query) if query else _NO_QUERY
