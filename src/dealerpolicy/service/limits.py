"""Request body size limit (server.max_body_bytes → 413), as pure ASGI middleware.

A declared Content-Length over the limit is refused before reading; a chunked body is
counted as it arrives and refused when it passes the limit. Nothing is decided then.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dealerpolicy.service.problems import HTTPProblem


class _TooLarge(HTTPProblem):
    """Raised from `receive`; FastAPI lets HTTP exceptions through its body parsing."""

    def __init__(self, max_bytes: int):
        super().__init__(413, "request.too_large", f"the body is larger than {max_bytes} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body: dict[str, Any] = {
            "type": "https://dealerpolicy.dev/problems/request.too_large", "title": "Request too large",
            "status": 413, "detail": f"the body is larger than {self.max_bytes} bytes",
            "errors": [{"code": "request.too_large", "severity": "error",
                        "message": f"the body is larger than {self.max_bytes} bytes",
                        "hint": "send fewer requests per batch, or raise server.max_body_bytes"}]}
        data = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})


class CountAnswers:
    """Counts answers by route template and status (dealerpolicy_http_requests_total)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            service = getattr(scope["app"].state, "service", None) if "app" in scope else None
            if service is not None:
                service.metrics.inc("dealerpolicy_http_requests_total", route=route,
                                    method=scope["method"], status=str(status))
