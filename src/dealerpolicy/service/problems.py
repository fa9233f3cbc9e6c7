"""Errors → JSON problem objects (RFC 9457 `application/problem+json`).

Every error answer has the same shape: `type`, `title`, `status`, `detail` and
`errors`, the list of diagnostics (code, message, field path or file:line:col, hint)
exactly as `Diagnostic.to_json` gives them to the CLI.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from dealerpolicy.errors import DealerPolicyError, Diagnostic
from dealerpolicy.storage.jsonutil import dumps_bytes

PROBLEM_TYPE = "application/problem+json"
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 413: "Request too large", 422: "Unprocessable request",
          500: "Internal error", 503: "Service unavailable"}
# Diagnostic codes whose status differs from their error class's http_status.
STATUS_BY_CODE = {"request.unknown_point": 404, "fact.unknown_dealer": 404,
                  "request.unknown_decision": 404}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                  media_type: str = "application/json") -> Response:
    """A JSON response that keeps Chinese text readable (no \\u escapes)."""
    return Response(json_bytes(body), status, headers, media_type)


def json_bytes(body: Any) -> bytes:
    """Compact UTF-8 JSON; Decimal and dates as text."""
    try:
        return dumps_bytes(body)
    except TypeError:  # an object the storage encoder does not know: its text
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def status_of(exc: DealerPolicyError) -> int:
    """The HTTP status of an error: by its first diagnostic's code, else by its class."""
    for d in exc.diagnostics:
        if d.code in STATUS_BY_CODE:
            return STATUS_BY_CODE[d.code]
    return exc.http_status


def problem(status: int, diagnostics: list[Diagnostic] | list[dict[str, Any]],
            detail: str | None = None) -> dict[str, Any]:
    """The problem object for a status and its diagnostics."""
    errors = [d.to_json() if isinstance(d, Diagnostic) else d for d in diagnostics]
    first = errors[0]["message"] if errors else TITLES.get(status, "Error")
    return {"type": f"https://dealerpolicy.dev/problems/{errors[0]['code'] if errors else status}",
            "title": TITLES.get(status, "Error"), "status": status,
            "detail": detail or first, "errors": errors}


def error_problem(exc: DealerPolicyError) -> dict[str, Any]:
    """The problem object of a DealerPolicyError (all its diagnostics)."""
    return problem(status_of(exc), exc.diagnostics)


def problem_response(status: int, diagnostics: list[Diagnostic], detail: str | None = None,
                     headers: dict[str, str] | None = None) -> Response:
    return json_response(problem(status, diagnostics, detail), status, headers, PROBLEM_TYPE)


def _validation_diagnostics(exc: RequestValidationError) -> list[Diagnostic]:
    out = []
    for e in exc.errors():
        path = ".".join(str(p) for p in e.get("loc", ()))
        code = "request.invalid_json" if e.get("type") == "json_invalid" else "request.invalid"
        out.append(Diagnostic(code, f"{path}: {e.get('msg', 'invalid')}", field_path=path))
    return out


HANDLED = (DealerPolicyError, RequestValidationError, StarletteHTTPException)


def error_response(exc: Exception) -> Response:
    """The problem answer for one of the HANDLED errors."""
    if isinstance(exc, DealerPolicyError):
        return problem_response(status_of(exc), exc.diagnostics)
    if isinstance(exc, RequestValidationError):
        return problem_response(422, _validation_diagnostics(exc))
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or f"http.{exc.status_code}"
    return problem_response(exc.status_code, [Diagnostic(code, str(exc.detail))],
                            headers=getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem object."""

    async def handler(request: Request, exc: Exception) -> Response:
        return error_response(exc)

    for kind in HANDLED:
        app.add_exception_handler(kind, handler)


class HTTPProblem(StarletteHTTPException):
    """An HTTP error with a stable diagnostic code (401, 403, 404, 413…)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(status, message, headers)
        self.code = code
