"""The policy-file format as pydantic models (extra keys forbidden).

These models check the *shape* of a file; expressions inside are checked later against
the schema. `policy_json_schema()` gives editors a JSON Schema of the format.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Scalar = str | int | Decimal | bool | date


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class Text(_Strict):
    """A text in Chinese and English."""

    zh: str
    en: str


class ParamSpec(_Strict):
    type: str = Field(description="string, integer, decimal, money, percent, boolean or date")
    value: Scalar | list[Scalar] | None = Field(None, description="the value (a list for an 'in' list)")
    values: dict[str, Scalar] | None = Field(None, description="values keyed by an enum value, e.g. by tier")
    label: Text | None = None
    unit: Text | None = None
    description: str | None = None


class TableRow(_Strict):
    range: str | None = Field(None, description='interval with explicit bounds: "[1, 15]", "[100%, 110%)", "[91, inf)"')
    match: Scalar | list[Scalar] | None = Field(None, description="enum value(s) this row matches")
    value: Scalar | None = Field(None, description="the row's value (a literal)")
    expr: str | None = Field(None, description="the row's value as an expression")
    label: str | None = None


class TableSpec(_Strict):
    on: str = Field(description="expression whose value selects the row")
    rows: list[TableRow]
    default: Scalar | None = None
    gaps: Literal["error", "allowed"] = "error"


class DeriveSpec(_Strict):
    type: str
    expr: str | None = None
    table: TableSpec | None = None
    label: Text | None = None
    unit: Text | None = None
    description: str | None = None


OutputValue = str | int | Decimal | bool | dict[str, Scalar]


class Then(_Strict):
    outcome: str
    outputs: dict[str, OutputValue] = Field(default_factory=dict,
                                            description="name → expression (a string), or a literal number/bool, or {value: text}")
    message: Text


class RuleTableRow(_Strict):
    range: str | None = None
    match: Scalar | list[Scalar] | None = None
    label: str | None = None
    when: str | None = None
    outcome: str
    outputs: dict[str, OutputValue] = Field(default_factory=dict)
    message: Text


class RuleTable(_Strict):
    on: str
    rows: list[RuleTableRow]
    gaps: Literal["error", "allowed"] = "error"


class RuleSpec(_Strict):
    id: str = Field(description="the clause id managers cite, e.g. CR-5")
    title: Text
    when: str | None = None
    then: Then | None = None
    table: RuleTable | None = None
    on_missing: str | None = Field(None, description="an outcome of the point, or 'ignore'")
    tags: list[str] = Field(default_factory=list)
    description: str | None = None


class PolicyFile(_Strict):
    policy: str
    title: Text
    point: str
    version: str | int | Decimal
    effective_from: date
    effective_until: date | None = None
    leniency: Literal["most_lenient"] | None = None
    description: str | None = None
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    derive: dict[str, DeriveSpec] = Field(default_factory=dict)
    rules: list[RuleSpec]


def policy_json_schema() -> dict[str, Any]:
    schema = PolicyFile.model_json_schema()
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "dealerpolicy policy file"
    return schema
