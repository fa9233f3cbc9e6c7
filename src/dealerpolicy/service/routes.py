"""The HTTP routes: each parses, makes one call on `Service`, and renders."""

from __future__ import annotations

import difflib
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from dealerpolicy.errors import Diagnostic, FactsError, RulesError
from dealerpolicy.service.auth import Principal, authorize, bearer_token, require
from dealerpolicy.service.core import Service
from dealerpolicy.service.models import (
    PROBLEMS,
    BatchRequest,
    BatchResult,
    Decision,
    DecisionRequest,
    Lang,
    ReloadAnswer,
)
from dealerpolicy.service.problems import error_problem, json_response, problem_response

router = APIRouter(responses=PROBLEMS)
Checker = Annotated[Principal, Depends(require("check"))]
Auditor = Annotated[Principal, Depends(require("audit"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Reader = Annotated[Principal, Depends(require("audit", "admin"))]
AnyRole = Annotated[Principal, Depends(require())]


async def service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


Svc = Annotated[Service, Depends(service)]


_BATCH_REQUEST = TypeAdapter(BatchRequest)
_BATCH_DOCS = {
    "parameters": [
        {"name": "point", "in": "path", "required": True, "schema": {"type": "string", "title": "Point"}},
        {"name": "lang", "in": "query", "required": False,
         "schema": {"anyOf": [{"enum": ["zh", "en"], "type": "string"}, {"type": "null"}], "title": "Lang"}}],
    "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/BatchRequest"}}}},
    "security": [{"HTTPBearer": []}],
}


@router.post("/v1/decisions/{point}:batch", response_model=BatchResult, tags=["decisions"],
             openapi_extra=_BATCH_DOCS)
async def decide_batch(request: Request, point: str, svc: Svc, who: Checker) -> Response:
    """Decide many requests; each bad item gets its own problem; the rest are recorded together.

    The body is read as the single route reads it (any content type, a UTF-8 byte-order mark
    allowed, JSON errors as 422 `request.invalid_json`); an unknown point is a 404 before any item.
    """
    lang = decision_lang(request.query_params)
    svc.check_point(point)
    body = _parse_json(_BATCH_REQUEST, await request.body())
    limit = svc.settings.server.max_batch
    if len(body.requests) > limit:
        return problem_response(413, [Diagnostic("request.batch_too_large",
                                                 f"{len(body.requests)} requests; at most {limit} per batch",
                                                 field_path="requests", hint="split the batch")])
    items = [r.model_dump() for r in body.requests]
    # in a worker thread, as a plain route runs: the batch waits for its commit without holding up the loop
    result = await run_in_threadpool(svc.decide_batch, point, items, lang or svc.settings.language,
                                     f"http:{who.name}")
    recorded = result["recorded"] == result["decided"]
    return json_response(result, headers=decision_headers(recorded))


# The hot path: the token is checked and the body validated straight from its bytes (pydantic-core
# parses the JSON), without FastAPI's dependency and body machinery (most of a check's HTTP cost).
# The OpenAPI document still describes the body, the bearer security and the answer.
_DECISION_REQUEST = TypeAdapter(DecisionRequest)
_LANG = TypeAdapter(Lang)
_DECISION_DOCS = {
    "parameters": [
        {"name": "point", "in": "path", "required": True, "schema": {"type": "string", "title": "Point"}},
        {"name": "lang", "in": "query", "required": False,
         "schema": {"anyOf": [_LANG.json_schema(), {"type": "null"}], "title": "Lang"}}],
    "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/DecisionRequest"}}}},
    "security": [{"HTTPBearer": []}],
}


@router.post("/v1/decisions/{point}", response_model=Decision, tags=["decisions"], openapi_extra=_DECISION_DOCS)
async def decide(request: Request) -> Response:
    """Decide one request; answered only after its record is in the audit log."""
    decision, recorded = await decide_checked(request.app.state, request.path_params["point"],
                                              bearer_token(request), request.query_params, request.body)
    return json_response(decision, headers=decision_headers(recorded))


async def decide_checked(state: Any, point: str, token: str, query: Mapping[str, str],
                         read_body: Callable[[], Awaitable[bytes]]) -> tuple[dict[str, Any], bool]:
    """Check the token, then the query (lang), then read and validate the body; decide and record.

    Shared by the route and the fast path (`service/fastpath.py`); raises the errors the
    problem handlers render (401/403, 422, 404, 503).
    """
    who = authorize(state.tokens, token, ("check",))
    chosen = decision_lang(query)
    body = _parse_body(await read_body())
    svc: Service = state.service
    done = await svc.decide_async(point, {"facts": body.facts, "as_of": body.as_of, "why_not": body.why_not},
                                  chosen or svc.settings.language, f"http:{who.name}")
    if not done.recorded:
        done.decision["recorded"] = False
    return done.decision, done.recorded


def decision_headers(recorded: bool) -> dict[str, str]:
    return {"X-Decision-Recorded": "true" if recorded else "false", "X-Worker-Pid": str(os.getpid())}


DECISION_QUERY = ("lang",)  # the decision routes' only query parameter; the rest is in the body


def decision_lang(query: Mapping[str, str]) -> str | None:
    """The `lang` of a decision route's query; any other parameter is refused (422), not ignored: a
    request sent with `?as_of=2025-03-01` must not be decided silently under today's versions."""
    refuse_unknown_parameters(query, DECISION_QUERY, in_body=_BODY_FIELDS)
    return _parse_lang(query.get("lang"))


def refuse_unknown_parameters(query: Mapping[str, str], known: Sequence[str],
                              in_body: frozenset[str] = frozenset()) -> None:
    """422 `request.unknown_parameter` for each query parameter not in `known`: a misspelt filter
    (`?dealr=D1`) or a body field (`in_body`) sent in the query would otherwise be ignored without
    a word."""
    unknown = [name for name in query if name not in known]
    if unknown:
        raise FactsError([Diagnostic("request.unknown_parameter", f"unknown query parameter {name!r}",
                                     field_path=f"query.{name}", hint=_parameter_hint(name, known, in_body))
                          for name in unknown])


def _parameter_hint(name: str, known: Sequence[str], in_body: frozenset[str]) -> str:
    if not known:
        return "this route takes no query parameters"
    if in_body:
        return (f"{name} goes in the JSON body" if name in in_body
                else f"query parameters here: {', '.join(known)}; the rest goes in the JSON body")
    guess = difflib.get_close_matches(name, known, n=1)
    return f"did you mean {guess[0]!r}?" if guess else "query parameters here: " + ", ".join(known)


_BODY_FIELDS = frozenset(DecisionRequest.model_fields) | {"requests"}


def _parse_lang(value: str | None) -> str | None:
    try:
        return None if value is None else _LANG.validate_python(value)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("query", "lang", *e["loc"])}
                                      for e in exc.errors(include_url=False)]) from None


def _parse_body(data: bytes) -> DecisionRequest:
    return _parse_json(_DECISION_REQUEST, data)


_BOM = "\ufeff".encode()


def _parse_json(adapter: TypeAdapter[Any], data: bytes) -> Any:
    """The validated body (a UTF-8 byte-order mark is skipped); errors as FastAPI reports them
    (under `body.`), so they read the same. pydantic-core's parser refuses lone surrogates, which
    could not be stored or answered."""
    try:
        return adapter.validate_json(data[3:] if data.startswith(_BOM) else data)
    except ValidationError as exc:
        raise RequestValidationError([_reworded({**e, "loc": ("body", *e["loc"])})
                                      for e in exc.errors(include_url=False)]) from None


def _reworded(error: dict[str, Any]) -> dict[str, Any]:
    """A `point` in a decision's body (as in `check`'s input lines): say where the point goes."""
    if error.get("type") == "extra_forbidden" and error["loc"][-1] == "point":
        return {**error, "msg": "the point is named in the URL (/v1/decisions/{point}), not in the body"}
    return error


@router.get("/v1/decisions/{decision_id}", tags=["audit"])
def get_decision(request: Request, decision_id: str, svc: Svc, who: Auditor, lang: Lang | None = None) -> Response:
    """The recorded decision, with its explanation in `lang` (re-rendered if need be)."""
    refuse_unknown_parameters(request.query_params, ("lang",))
    return json_response(svc.get_decision(decision_id, lang))


LIST_QUERY = ("dealer", "point", "outcome", "rule", "since", "until", "limit", "offset")


@router.get("/v1/decisions", tags=["audit"])
def list_decisions(request: Request, svc: Svc, who: Auditor, dealer: str | None = None, point: str | None = None,
                   outcome: str | None = None, rule: str | None = None, since: str | None = None,
                   until: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                   offset: Annotated[int, Query(ge=0, le=2**53)] = 0) -> Response:
    """Recorded decisions, newest first (filters as `dealerpolicy audit list`)."""
    refuse_unknown_parameters(request.query_params, LIST_QUERY)
    try:
        found = svc.list_decisions(limit, offset, dealer=dealer, point=point, outcome=outcome,
                                   rule=rule, since=since, until=until)
    except FactsError as exc:  # a bad since / until: named as the query parameter it is
        raise FactsError([replace(d, field_path=f"query.{d.field_path}") for d in exc.diagnostics]) from None
    return json_response(found)


@router.get("/v1/rules", tags=["rules"])
def rules(request: Request, svc: Svc, who: AnyRole) -> Response:
    """Rules version, policies and the versions in force today."""
    refuse_unknown_parameters(request.query_params, ())  # `?as_of=` would not show another day's versions
    return json_response(svc.rules_info())


@router.post("/v1/rules:reload", response_model=ReloadAnswer, tags=["rules"])
def reload(request: Request, svc: Svc, who: Admin) -> Response:
    """Validate the rules folder and swap it in; 422 with every problem keeps the old rules."""
    refuse_unknown_parameters(request.query_params, ())  # `?dry_run=1` must not swap the rules in
    try:
        return json_response(svc.reload().model_dump())
    except RulesError as exc:
        body = error_problem(exc)
        body["detail"] = (f"{len(exc.diagnostics)} problem(s) in the rules; still serving "
                          f"{svc.rules.current.version}")
        body["rules_version"] = svc.rules.current.version
        return json_response(body, 422, media_type="application/problem+json")


@router.get("/v1/dealers/{dealer_id}", tags=["dealers"])
def get_dealer(request: Request, dealer_id: str, svc: Svc, who: Reader) -> Response:
    """A dealer's master data and history."""
    refuse_unknown_parameters(request.query_params, ())
    return json_response(svc.get_dealer(dealer_id))


_DEALER_BODY = TypeAdapter(dict[str, Any])


@router.put("/v1/dealers/{dealer_id}", tags=["dealers"], openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": {"type": "object"}}}}})
async def put_dealer(request: Request, dealer_id: str, svc: Svc, who: Admin) -> Response:
    """Create or replace a dealer's master data (validated with the schema's dealer type)."""
    refuse_unknown_parameters(request.query_params, ())  # `?validate_only=1` must not write
    body = _parse_json(_DEALER_BODY, await request.body())
    return json_response(svc.put_dealer(dealer_id, body))


def document_bodies(app: Any) -> None:
    """Put the hand-parsed bodies' models (DecisionRequest, BatchRequest) into the app's OpenAPI
    components, where the routes' `$ref`s point: FastAPI only adds the models it parses itself."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema  # type: ignore[no-any-return]
        doc = build()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in (DecisionRequest, BatchRequest):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        return doc

    app.openapi = openapi


@router.get("/healthz", tags=["health"])
def healthz() -> Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


@router.get("/readyz", tags=["health"])
def readyz(svc: Svc) -> Response:
    """Readiness: rules loaded and the database reachable (503 otherwise)."""
    return json_response(svc.ready())


@router.get("/metrics", tags=["health"], response_class=PlainTextResponse)
def metrics(svc: Svc) -> Response:
    """Prometheus text format, summed over the workers."""
    text = svc.metrics.render({"dealerpolicy_rules_generation": svc.rules.current.generation})
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
