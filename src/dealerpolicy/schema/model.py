"""schema.yaml → fact types and decision points, plus fast validation of request facts.

`load_schema` checks the file like a compiler (every problem, each with its span) and
builds, once, a pydantic-core validator per decision point and per fact type.
`Schema.bind` runs on every request: one validator call, then pydantic's located
errors are reworded as `facts.order.amount: expected money (CNY), got "abc"`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic_core import SchemaValidator, ValidationError

from dealerpolicy.errors import Diagnostic, DiagnosticBag, FactsError, RulesError, Span
from dealerpolicy.schema.types import NUMERIC_KINDS, Type, enum, list_of, record
from dealerpolicy.schema.values import (
    FastChecks,
    core_type,
    fast_point_schema,
    format_money,
    invalid_hint,
    out_of_bounds,
    parse_bound,
    parse_number,
    record_schema,
    show_input,
    validator,
)
from dealerpolicy.source import Node, load_file

__all__ = ["Point", "Schema", "load_schema", "schema_from_node"]

FIELD_TYPES = ("string", "integer", "decimal", "money", "percent", "boolean", "date", "enum", "list")
_TOP_KEYS = ("types", "points")
_TYPE_KEYS = ("label", "fields")
_FIELD_KEYS = ("type", "required", "label", "unit", "values", "fields", "min", "max")
_POINT_KEYS = ("label", "facts", "subject", "date", "outcomes", "default", "missing")
_LABEL_KEYS = ("zh", "en")

# A fact type or field name must be what the expression lexer reads as a name: `_NAME` is the lexer's
# name pattern and NAME_KEYWORDS its keywords, copied from dealerpolicy/lang/lexer.py (`_TOKEN_RE`'s
# `name` group and `KEYWORDS`) because schema may not import lang (tests/test_architecture.py).
# tests/unit/test_case_loader_gaps.py asserts that the two keyword sets agree.
_NAME = re.compile(r"[^\W\d]\w*")
NAME_KEYWORDS = frozenset({"and", "or", "not", "in", "between", "where", "true", "false", "inf"})


@dataclass(frozen=True)
class Point:
    """A decision point: the facts it reads and its outcomes, most severe first."""

    name: str
    label: dict[str, str]
    facts: tuple[str, ...]
    subject: str | None
    date: str | None
    outcomes: tuple[str, ...]
    default: str
    missing: str
    span: Span

    def severity(self, outcome: str) -> int:
        """Higher = more severe; raises ValueError for an outcome not of this point."""
        return len(self.outcomes) - self.outcomes.index(outcome)


@dataclass
class Schema:
    """Fact types, labels/units by dotted field path, decision points, and their validators."""

    types: dict[str, Type]
    labels: dict[str, dict[str, str]]
    units: dict[str, dict[str, str]]
    points: dict[str, Point]
    required: dict[str, frozenset[str]] = field(default_factory=dict)
    _point_validators: dict[str, SchemaValidator] = field(default_factory=dict, repr=False)
    _type_validators: dict[str, SchemaValidator] = field(default_factory=dict, repr=False)
    _fast_validators: dict[str, tuple[SchemaValidator, FastChecks]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name, t in self.types.items():
            self._type_validators[name] = validator(core_type(t, name, self.required))
        for name, point in self.points.items():
            facts = [(f, self.types[f]) for f in point.facts]
            needed = {"": frozenset(point.facts), **self.required}
            schema = record_schema(facts, "", needed, name_of=lambda f: f)
            self._point_validators[name] = validator(schema)
            fast, checks = fast_point_schema(facts, needed)
            self._fast_validators[name] = (validator(fast), checks)

    def field(self, path: str) -> Type | None:
        """The Type at a dotted path (`order.amount`, `dealer.invoices.due_date`), else None."""
        head, *rest = path.split(".")
        t = self.types.get(head)
        for step in rest:
            if t is None or t.kind not in ("record", "list"):
                return None
            t = t.field_map().get(step)
        return t

    def present(self, point: str) -> frozenset[str]:
        """Dotted paths that are never absent (nor None) in facts bound for `point`.

        The point's validator requires every fact of the point and, in each record, the fields
        `required` names (null is refused for them); so those fact fields are always there.
        Required fields of list items are there in every item, whether or not the list is.
        The code generator skips the absent/unknown checks of these reads.
        """
        out: set[str] = set()

        def walk(t: Type, path: str) -> None:
            needed = self.required.get(path, frozenset())
            for name, ft in t.fields:
                if name in needed and ft.kind != "any":
                    out.add(f"{path}.{name}")
                if ft.kind == "list":  # an item, when there is one, has its required fields
                    walk(ft, f"{path}.{name}")

        for fact in self.points[point].facts:
            walk(self.types[fact], fact)
        return frozenset(out)

    def bind(self, point: str, facts: Any) -> dict[str, Any]:
        """Validated, normalised facts for `point`; raises FactsError with every problem.

        The usual request (plain JSON, no nulls, no unknown keys) passes the point's fast
        validator (see `fast_point_schema`), whose key counts show nothing was ignored; any
        other goes through the full validator, which alone decides errors.
        """
        fast, checks = self._fast_validators[point]
        try:
            out = fast.validate_python(facts)
        except ValidationError:
            pass
        else:
            if len(facts) == len(out) and _counts_match(facts, out, checks):
                return out  # type: ignore[no-any-return]
        try:
            return self._point_validators[point].validate_python(facts)  # type: ignore[no-any-return]
        except ValidationError as exc:
            roots = {f: self.types[f] for f in self.points[point].facts}
            raise FactsError([_fact_diagnostic(e, roots, "facts") for e in exc.errors()]) from None

    def validate_fact(self, type_name: str, data: Any, path: str = "") -> dict[str, Any]:
        """One fact of type `type_name`, same rules as bind; error paths start at `path` or the type name."""
        try:
            return self._type_validators[type_name].validate_python(data)  # type: ignore[no-any-return]
        except ValidationError as exc:
            prefix = path or type_name
            t = self.types[type_name]
            raise FactsError([_fact_diagnostic(e, t, prefix) for e in exc.errors()]) from None


def _counts_match(facts: dict[str, Any], out: dict[str, Any], checks: FastChecks) -> bool:
    """No unknown key in what the fast validator ignored: its output kept every key it read, but
    for the nulls of optional fields, which it left out."""
    for name, lists, optional in checks:
        record = facts[name]
        if len(record) != len(out[name]) and \
                len(record) - sum(1 for k, v in record.items() if v is None and k in optional) != len(out[name]):
            return False
        for field_name, n in lists:
            items = record.get(field_name)
            if items is not None and sum(map(len, items)) != n * len(items):
                return False
    return True


def load_schema(path: Path, display_name: str | None = None) -> Schema:
    """Read schema.yaml; raises RulesError listing every problem with its span."""
    root = load_file(path, display_name)
    return schema_from_node(root)


def schema_from_node(root: Node) -> Schema:
    """Build a Schema from an already loaded YAML tree; raises RulesError."""
    reader = _Reader()
    schema = reader.schema(root)
    reader.bag.raise_if_any(RulesError)
    assert schema is not None
    return schema


# --------------------------------------------------------------------------- schema file


def _did_you_mean(word: str, options: Iterable[str]) -> tuple[str, ...]:
    return tuple(difflib.get_close_matches(word, list(options), n=3, cutoff=0.6))


def _hint(suggestions: tuple[str, ...], fallback: str | None = None) -> str | None:
    if suggestions:
        return "did you mean " + " or ".join(f'"{s}"' for s in suggestions) + "?"
    return fallback


class _Reader:
    """Reads the located YAML tree of schema.yaml, collecting every problem."""

    def __init__(self) -> None:
        self.bag = DiagnosticBag()
        self.labels: dict[str, dict[str, str]] = {}
        self.units: dict[str, dict[str, str]] = {}
        self.required: dict[str, frozenset[str]] = {}

    def schema(self, root: Node) -> Schema | None:
        """The Schema, or None when any problem was found (they are in `bag`)."""
        top = self._mapping(root, "the schema file", _TOP_KEYS, required=_TOP_KEYS)
        types_node = top.get("types") if top else None
        types = self._types(types_node)
        # without a types: mapping (misspelt, or not a mapping: already reported), points are checked
        # for their own shape only, not against types that are not there (one error, not one per fact)
        known = types if types_node is not None and isinstance(types_node.value, dict) else None
        points = self._points(top.get("points"), known) if top else {}
        if self.bag:
            return None
        return Schema(types, self.labels, self.units, points, self.required)

    # -- shapes

    def _mapping(self, node: Node | None, what: str, allowed: tuple[str, ...],
                 required: tuple[str, ...] = ()) -> dict[str, Node] | None:
        if node is None:
            return None
        if not isinstance(node.value, dict):
            self.bag.add("schema.invalid", f"{what} must be a mapping (key: value lines), got {_shown(node)}",
                         node.span)
            return None
        near_misses: set[str] = set()
        for key, child in node.value.items():
            if key not in allowed:
                near_misses.update(self._unknown_key(key, child, what, allowed))
        for key in required:
            if key not in node.value and key not in near_misses:  # a misspelt key already says "did you mean"
                self.bag.add("schema.missing_key", f'{what} has no "{key}"', node.key_span or node.span,
                             hint=f'add "{key}:"')
        return node.value

    def _unknown_key(self, key: str, child: Node, what: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        near = _did_you_mean(key, allowed)
        self.bag.add("schema.unknown_key", f'unknown key "{key}" in {what}', child.key_span or child.span,
                     hint=_hint(near, "allowed keys: " + ", ".join(allowed)), suggestions=near)
        return near

    def _name_ok(self, name: str, node: Node, what: str) -> bool:
        """A type or field name rules can refer to: a name to the expression lexer, not a keyword."""
        if _NAME.fullmatch(name) and name not in NAME_KEYWORDS:
            return True
        if name in NAME_KEYWORDS:
            message = f'{what} "{name}" is a word of the rule language: rules cannot refer to it'
            rule = "rename it; " + ", ".join(sorted(NAME_KEYWORDS)) + " are reserved words"
        elif not name:
            message, rule = f"a {what} has an empty name", f"give the {what} a name of letters, digits and _"
        else:
            message = f'{what} "{name}" is not a name rules can refer to'
            rule = "a name starts with a letter or _ and has only letters, digits and _ (no spaces, dots, - or $)"
        fixed = re.sub(r"\W+", "_", name).strip("_")
        near = (fixed,) if fixed != name and _NAME.fullmatch(fixed) and fixed not in NAME_KEYWORDS else ()
        self.bag.add("schema.invalid_name", message, node.key_span or node.span, hint=_hint(near, rule),
                     suggestions=near)
        return False

    def _strings(self, node: Node, what: str) -> list[Node]:
        items = node.value if isinstance(node.value, list) else None
        if not items or any(not isinstance(i.value, str) for i in items):
            self.bag.add("schema.invalid", f"{what} must be a non-empty list of names, got {_shown(node)}",
                         node.span, hint=f"write {what} as [a, b, c]")
            return []
        return items

    def _label(self, node: Node | None, path: str, store: dict[str, dict[str, str]]) -> dict[str, str]:
        body = self._mapping(node, "a label", _LABEL_KEYS)
        if not body:
            return {}
        text = {k: str(v.value) for k, v in body.items() if k in _LABEL_KEYS and v.value is not None}
        store[path] = text
        return text

    # -- types and fields

    def _types(self, node: Node | None) -> dict[str, Type]:
        if node is None:
            return {}
        if not isinstance(node.value, dict):
            self.bag.add("schema.invalid", f"types must be a mapping of type names, got {_shown(node)}",
                         node.span)
            return {}
        out = {}
        for name, child in node.value.items():  # a bad name is reported, and kept: no cascade at its uses
            self._name_ok(name, child, "fact type")
            out[name] = record(name, self._record(name, child))
        return out

    def _record(self, name: str, node: Node) -> dict[str, Type]:
        body = self._mapping(node, f'type "{name}"', _TYPE_KEYS, required=("fields",))
        if body is None:
            return {}
        self._label(body.get("label"), name, self.labels)
        return self._fields(body.get("fields"), name)

    def _fields(self, node: Node | None, path: str) -> dict[str, Type]:
        if node is None:
            return {}
        if not isinstance(node.value, dict) or not node.value:
            self.bag.add("schema.invalid", f'the fields of "{path}" must be a mapping of field names, '
                         f"got {_shown(node)}", node.span)
            return {}
        out: dict[str, Type] = {}
        needed: list[str] = []
        for name, child in node.value.items():
            self._name_ok(name, child, "field")
            t, is_required = self._field(f"{path}.{name}", child)
            if t is not None:
                out[name] = t
                if is_required:
                    needed.append(name)
        self.required[path] = frozenset(needed)
        return out

    def _field(self, path: str, node: Node) -> tuple[Type | None, bool]:
        body = self._mapping(node, f'field "{path}"', _FIELD_KEYS, required=("type",))
        if body is None or "type" not in body:
            return None, False
        self._label(body.get("label"), path, self.labels)
        self._label(body.get("unit"), path, self.units)
        return self._field_type(path, body), self._required_flag(body.get("required"))

    def _required_flag(self, node: Node | None) -> bool:
        if node is None:
            return False
        if not isinstance(node.value, bool):
            self.bag.add("schema.invalid", f"required must be true or false, got {_shown(node)}", node.span)
            return False
        return node.value

    def _field_type(self, path: str, body: dict[str, Node]) -> Type | None:
        type_node = body["type"]
        kind = type_node.value
        if kind not in FIELD_TYPES:
            near = _did_you_mean(str(kind), FIELD_TYPES)
            self.bag.add("schema.unknown_type", f'unknown field type "{kind}"', type_node.span,
                         hint=_hint(near, "allowed types: " + ", ".join(FIELD_TYPES)), suggestions=near)
            return None
        self._misplaced(body, "values", kind == "enum", "enum")
        self._misplaced(body, "fields", kind == "list", "list")
        self._misplaced(body, "min", kind in NUMERIC_KINDS, "integer, decimal, money or percent")
        self._misplaced(body, "max", kind in NUMERIC_KINDS, "integer, decimal, money or percent")
        if kind == "enum":
            return self._enum(path, body.get("values"), type_node)
        if kind == "list":
            return self._list(path, body.get("fields"), type_node)
        if kind not in NUMERIC_KINDS:
            return Type(kind)
        low = self._bound(path, kind, "min", body.get("min"))
        high = self._bound(path, kind, "max", body.get("max"))
        if low is not None and high is not None and low > high:
            self.bag.add("schema.invalid", f'min of "{path}" is above its max', body["min"].span,
                         hint="min is the least value a fact may carry, max the greatest")
            return None
        return Type(kind, low=low, high=high)

    def _bound(self, path: str, kind: str, key: str, node: Node | None) -> Any:
        """A `min` / `max` as a value of the field's kind (None when absent or wrong)."""
        if node is None:
            return None
        try:
            return parse_bound(kind, node.value)
        except ValueError:
            hint = 'write a percent like "100%"' if kind == "percent" else invalid_hint(Type(kind))
            self.bag.add("schema.invalid", f'{key} of "{path}" must be {kind}, got {_shown(node)}', node.span,
                         hint=hint)
            return None

    def _misplaced(self, body: dict[str, Node], key: str, fits: bool, kind: str) -> None:
        if key in body and not fits:
            node = body[key]
            self.bag.add("schema.unexpected_key", f'"{key}" is only for type {kind}',
                         node.key_span or node.span, hint=f'remove "{key}" or change the type to {kind}')

    def _enum(self, path: str, node: Node | None, type_node: Node) -> Type | None:
        if node is None:
            self.bag.add("schema.enum_values", f'enum field "{path}" has no values', type_node.span,
                         hint="add values: [a, b, c]")
            return None
        items = self._strings(node, "values")
        seen: set[str] = set()
        for item in items:
            if item.value in seen:
                self.bag.add("schema.duplicate_value", f'enum value "{item.value}" is listed twice', item.span)
            seen.add(item.value)
        return enum([i.value for i in items]) if items else None

    def _list(self, path: str, node: Node | None, type_node: Node) -> Type | None:
        if node is None:
            self.bag.add("schema.list_fields", f'list field "{path}" has no fields', type_node.span,
                         hint="add fields: with one line per field of each item")
            return None
        fields = self._fields(node, path)
        return list_of(path.rsplit(".", 1)[-1], fields) if fields else None

    # -- points

    def _points(self, node: Node | None, types: dict[str, Type] | None) -> dict[str, Point]:
        """The points; with `types` None (no types: to check against) facts and fields are not looked up."""
        if node is None:
            return {}
        if not isinstance(node.value, dict):
            self.bag.add("schema.invalid", f"points must be a mapping of point names, got {_shown(node)}",
                         node.span)
            return {}
        out = {}
        for name, child in node.value.items():
            point = self._point(name, child, types)
            if point is not None:
                out[name] = point
        return out

    def _point(self, name: str, node: Node, types: dict[str, Type] | None) -> Point | None:
        required = ("facts", "outcomes", "default", "missing")
        body = self._mapping(node, f'point "{name}"', _POINT_KEYS, required=required)
        if body is None or any(k not in body for k in required):
            return None
        facts = self._point_facts(body["facts"], types)
        outcomes = self._outcomes(body["outcomes"])
        default = self._outcome_ref(body["default"], outcomes, "default")
        missing = self._outcome_ref(body["missing"], outcomes, "missing")
        subject = self._field_ref(body.get("subject"), facts, types, "subject", None)
        date = self._field_ref(body.get("date"), facts, types, "date", "date")
        label = self._label(body.get("label"), f"points.{name}", {})
        return Point(name, label, tuple(facts), subject, date, tuple(outcomes), default, missing, node.span)

    def _point_facts(self, node: Node, types: dict[str, Type] | None) -> list[str]:
        names = []
        for item in self._strings(node, "facts"):
            if types is not None and item.value not in types:
                near = _did_you_mean(item.value, types)
                declared = "declared types: " + ", ".join(types) if types else "no fact type is declared under types:"
                self.bag.add("schema.unknown_fact", f'unknown fact type "{item.value}"', item.span,
                             hint=_hint(near, declared), suggestions=near)
            else:
                names.append(item.value)
        return names

    def _outcomes(self, node: Node) -> list[str]:
        out: list[str] = []
        for item in self._strings(node, "outcomes"):
            if item.value in out:
                self.bag.add("schema.duplicate_outcome", f'outcome "{item.value}" is listed twice', item.span,
                             hint="each outcome appears once, most severe first")
            else:
                out.append(item.value)
        return out

    def _outcome_ref(self, node: Node, outcomes: list[str], key: str) -> str:
        value = str(node.value)
        if outcomes and value not in outcomes:
            near = _did_you_mean(value, outcomes)
            self.bag.add("schema.unknown_outcome", f'{key} outcome "{value}" is not one of the outcomes',
                         node.span, hint=_hint(near, "outcomes: " + ", ".join(outcomes)), suggestions=near)
        return value

    def _field_ref(self, node: Node | None, facts: list[str], types: dict[str, Type] | None, key: str,
                   kind: str | None) -> str | None:
        if node is None:
            return None
        path = str(node.value)
        if types is None:
            return path
        head, _, rest = path.partition(".")
        t = types[head].field_map().get(rest) if head in facts and rest else None
        if t is None:
            options = [f"{f}.{n}" for f in facts for n, ft in types[f].fields if kind in (None, ft.kind)]
            near = _did_you_mean(path, options)
            self.bag.add("schema.unknown_field", f'{key} "{path}" is not a field of this point\'s facts',
                         node.span, hint=_hint(near, "write fact.field, e.g. order.id"), suggestions=near)
        elif kind is not None and t.kind != kind:
            self.bag.add("schema.type_mismatch", f'{key} "{path}" must be a {kind} field, it is {t.describe()}',
                         node.span)
        return path


def _shown(node: Node) -> str:
    if isinstance(node.value, dict):
        return "a mapping"
    if isinstance(node.value, list):
        return "a list"
    return node.text if node.text else show_input(node.value)  # as written in the file


# --------------------------------------------------------------------------- fact errors


def _fact_diagnostic(err: Any, root: dict[str, Type] | Type, prefix: str) -> Diagnostic:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    path = prefix + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return _unknown(loc, root, path)
    if kind == "missing" or (err.get("input", 0) is None and loc and isinstance(loc[-1], str)):
        return _missing(loc, root, path)
    return _invalid(err["input"], _type_at(root, loc), loc, path)


def _parent_fields(root: dict[str, Type] | Type, loc: tuple[str | int, ...]) -> dict[str, Type]:
    parent = _type_at(root, loc[:-1])
    if isinstance(parent, dict):
        return parent
    return parent.field_map() if parent is not None else {}


def _type_at(root: dict[str, Type] | Type, loc: tuple[str | int, ...]) -> Any:
    """The Type at a pydantic loc (a dict of facts at the top of a point), else None."""
    here: Any = root
    for step in loc:
        if isinstance(here, dict):
            here = here.get(str(step))
        elif isinstance(here, Type) and isinstance(step, str) and here.kind in ("record", "list"):
            here = here.field_map().get(step)
        elif not (isinstance(here, Type) and here.kind == "list"):
            return None
    return here


def _unknown(loc: tuple[str | int, ...], root: dict[str, Type] | Type, path: str) -> Diagnostic:
    name = str(loc[-1])
    known = _parent_fields(root, loc)
    near = _did_you_mean(name, known)
    fallback = "known: " + ", ".join(known)
    if len(loc) == 1 and isinstance(root, dict):
        return Diagnostic("fact.unknown_type", f'unknown fact "{name}" for this decision point', None, path,
                          _hint(near, "this point reads: " + ", ".join(known)), suggestions=near)
    return Diagnostic("fact.unknown_field", f'unknown field "{name}"', None, path,
                      _hint(near, fallback), suggestions=near)


def _missing(loc: tuple[str | int, ...], root: dict[str, Type] | Type, path: str) -> Diagnostic:
    t = _type_at(root, loc)
    what = "fact" if len(loc) == 1 and isinstance(root, dict) else "field"
    shown = f" ({t.describe()})" if isinstance(t, Type) and t.kind != "record" else ""
    return Diagnostic("fact.missing_required", f'required {what} "{loc[-1]}" is missing{shown}', None, path)


def _invalid(value: Any, t: Any, loc: tuple[str | int, ...], path: str) -> Diagnostic:
    got = show_input(value)
    if isinstance(t, dict):
        return Diagnostic("fact.invalid", f"expected a mapping of facts ({', '.join(t)}), got {got}", None, path)
    if not isinstance(t, Type):
        return Diagnostic("fact.invalid", f"unexpected value {got}", None, path)
    if t.kind == "record" or (t.kind == "list" and loc and isinstance(loc[-1], int)):
        return Diagnostic("fact.invalid", f"expected a mapping ({t.name}), got {got}", None, path)
    if t.low is not None or t.high is not None:
        outside = _outside(t, value, path)
        if outside is not None:
            return outside
    near = _did_you_mean(value, t.values) if t.kind == "enum" and isinstance(value, str) else ()
    return Diagnostic("fact.invalid", f"expected {t.describe()}, got {got}", None, path,
                      _hint(near, invalid_hint(t)), suggestions=near)


def _outside(t: Type, value: Any, path: str) -> Diagnostic | None:
    """The error for a value of the right kind outside the field's `min` / `max`, else None."""
    try:
        parsed = parse_number(t.kind, value)
    except (ValueError, ArithmeticError):
        return None
    if not out_of_bounds(t, parsed):
        return None
    if t.low is not None and parsed < t.low:
        message = f"{show_input(value)} is below the minimum {_show_bound(t, t.low)}"
    else:
        message = f"{show_input(value)} is above the maximum {_show_bound(t, t.high)}"
    if t.low is not None and t.high is not None:
        hint = f"{t.describe()} from {_show_bound(t, t.low)} to {_show_bound(t, t.high)}"
    elif t.low is not None:
        hint = f"{t.describe()} of at least {_show_bound(t, t.low)}"
    else:
        hint = f"{t.describe()} of at most {_show_bound(t, t.high)}"
    return Diagnostic("fact.out_of_range", message, None, path, hint)


def _show_bound(t: Type, value: Any) -> str:
    if t.kind == "money":
        return format_money(value)
    if t.kind == "percent":
        return f"{(value * 100).normalize():f}%"
    return str(value)
