"""Request and response models: they validate bodies and generate the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictBool

Lang = Literal["zh", "en"]


class DecisionRequest(BaseModel):
    """One request for a decision at the point named in the URL."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "facts": {"order": {"id": "SO-1", "date": "2026-03-01", "amount": "50000", "payment": "credit"},
                  "dealer": {"id": "D001"}}, "why_not": False}]})
    facts: dict[str, Any] = Field(description="facts by type, validated against schema.yaml")
    # strict: "YYYY-MM-DD" and true/false only, as fact values are read (no 0 → 1970-01-01, no "yes")
    as_of: Annotated[dt.date, Strict()] | None = Field(
        None, description="choose the policy versions in force on this date (YYYY-MM-DD)")
    why_not: StrictBool = Field(False, description="also explain the rules that did not match")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: list[DecisionRequest] = Field(description="at most server.max_batch requests")


class Matched(BaseModel):
    model_config = ConfigDict(extra="allow")
    policy: str
    version: str
    rule: str
    outcome: str
    message: str
    reasons: list[dict[str, Any]]


class Decision(BaseModel):
    """A decision: outcome, matched rules with reasons, outputs, missing data, rules version."""

    model_config = ConfigDict(extra="allow")
    decision_id: str
    point: str
    subject: Any = None
    as_of: str
    outcome: str
    matched: list[Matched]
    outputs: dict[str, Any]
    missing: list[str]
    undecided: list[dict[str, Any]]
    rules_version: str
    policy_versions: dict[str, str]
    notes: list[str]
    lang: Lang
    elapsed_us: int


class Problem(BaseModel):
    """An error answer (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] = Field(description="diagnostics: code, message, field or "
                                                     "file/line/col, hint")


class BatchItem(BaseModel):
    index: int
    status: int
    decision: Decision | None = None
    problem: Problem | None = None


class BatchResult(BaseModel):
    rules_version: str
    decided: int
    failed: int
    recorded: int
    results: list[BatchItem]


class ReloadAnswer(BaseModel):
    changed: bool
    rules_version: str
    previous_version: str
    generation: int
    worker_pid: int
    elapsed_ms: float


PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text} for status, text in {
        401: "no or unknown bearer token", 403: "the token lacks the role",
        404: "unknown point, decision or dealer", 413: "body or batch too large",
        422: "invalid request (field paths in errors)", 503: "audit database unavailable"}.items()}
