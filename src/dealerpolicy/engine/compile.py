"""Compile a policy's rule conditions into durable_rules conditions over one flat fact.

Each request becomes ONE flat fact: `{key: int | str | bool}` (money in fen, dates as
day numbers, percents and decimals scaled). Simple comparisons (a field or derived value
against a constant, or two exactly-encoded fields) go to durable_rules as they are;
anything it cannot do safely — arithmetic, functions, aggregates, comparisons of values
that are not exact integers at their scale, long `in` lists — is *hoisted*: computed in
Python as a boolean key the durable condition then tests. Conditions are first put in
negation normal form, so an absent key (an unknown value) never matches, exactly like
Kleene logic says a condition over unknown data is not true.

A rule whose durable_rules form would exceed what durable_rules holds (an `or` of more than
64 branches, more than 512 alternatives, more than 247 keys, more than 14 and/or groups, or the
same condition as too many other rules) is hoisted whole: its `when` is computed in Python and
durable tests that boolean. The rule matches exactly when its condition is true, as before; only
where it is computed moves. Nested groups of one operator are merged first (`a and (b and c)` is
one `and` of three), so only conditions with that many real and/or groups are hoisted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dealerpolicy.engine import durable_host
from dealerpolicy.errors import Diagnostic, EngineError
from dealerpolicy.lang import ir
from dealerpolicy.lang.values import Unknown
from dealerpolicy.rulebook.plan import Rulebook
from dealerpolicy.rulebook.policy import Policy, Rule

SCALES = {"money": 100, "percent": 10**6, "decimal": 10**6, "integer": 1}
OPS = {"==": "$eq", "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
MAX_IN_OPTIONS = 16
INT64 = 2**63 - 1
#: Keys one rule may read: durable's limit on a fact, less the keys the host adds (sid, id, sentinel).
MAX_RULE_KEYS = durable_host.MAX_KEYS_PER_FACT - len(durable_host._RESERVED_KEYS)
#: Rules of one policy that may share one durable condition; further ones are hoisted whole, so
#: that the policies in force together stay far below durable's MAX_IDENTICAL_CONDITIONS (255).
MAX_SHARED_CONDITION = 8
#: `$and`/`$or` groups one rule's condition may hold. durable_rules keeps a rule's groups in one
#: sequence of 31 entries, two a group (rete.c: MAX_SEQUENCE_EXPRESSIONS 32, else error 113), and the
#: host adds one `$and` around every condition, so 15 in all. Measured in a child process: 15 groups
#: with the host's are built, 16 are refused (error 113), however they nest (deep or side by side).
#: Counted on the host's form of the condition, where a same-fact comparison is an `$and` of its own.
MAX_GROUPS = 14


@dataclass
class KeySpec:
    """How one flat-fact key is computed from the evaluation env."""

    key: str
    getter: Callable[[dict], Any]
    encode: Callable[[Any], Any]
    expr: ir.Expr | None = None  # what the getter computes (negated when `negate`)
    negate: bool = False
    kind: str = "boolean"  # the value's type kind
    mode: str | None = None  # numbers: x exact int, f floor, c ceil at the kind's scale


@dataclass
class CompiledPolicy:
    policy: Policy
    conditions: dict[str, dict]  # rule id → durable condition
    keys: list[KeySpec] = field(default_factory=list)
    rule_keys: dict[str, frozenset[str]] = field(default_factory=dict)  # rule id → keys it reads
    hoisted: int = 0
    native: int = 0
    whole: dict[str, str] = field(default_factory=dict)  # rule id → why its `when` is computed in Python


def compile_policy(policy: Policy, prefix: str = "") -> CompiledPolicy:
    """Compile one policy; `prefix` namespaces its derived and hoisted keys (several policies share a fact)."""
    return _Compiler(policy, prefix).run()


class _Compiler:
    def __init__(self, policy: Policy, prefix: str = ""):
        self.policy = policy
        self.prefix = prefix
        self.keys: dict[str, KeySpec] = {}
        self.hoists = 0
        self.native = 0
        self.used: set[str] = set()

    def run(self) -> CompiledPolicy:
        conditions: dict[str, dict] = {}
        rule_keys: dict[str, frozenset[str]] = {}
        whole: dict[str, str] = {}
        shared: Counter[str] = Counter()  # durable condition (canonical JSON) → rules using it
        for rule in self.policy.rules:
            if rule.id in conditions:  # the loader refuses this (rule.duplicate_id): never overwrite a rule
                raise EngineError(Diagnostic(
                    "engine.duplicate_rule", f"policy {self.policy.key}: two rules have the id {rule.id!r}; "
                    "one would silently replace the other", rule.id_span or rule.span,
                    hint="this is a bug of the rules loader (rule.duplicate_id); report it with the rules folder"))
            saved = (dict(self.keys), self.hoists, self.native)
            self.used = set()
            cond = self.cond(rule.when, True)
            canonical = json.dumps(cond, sort_keys=True, default=str)
            why = _too_complex(rule.id, cond, shared[canonical])
            if why is None:
                shared[canonical] += 1
            else:  # what durable cannot hold is computed in Python as one boolean (same answer)
                self.keys, self.hoists, self.native = saved
                self.used = set()
                cond = self.hoist(rule.when, True)
                whole[rule.id] = why
            conditions[rule.id] = cond
            rule_keys[rule.id] = frozenset(self.used)
        return CompiledPolicy(self.policy, conditions, list(self.keys.values()), rule_keys,
                              self.hoists, self.native, whole)

    # -- boolean structure -----------------------------------------------------
    def cond(self, e: ir.Expr, positive: bool) -> dict:
        if isinstance(e, ir.Logic):
            is_and = (e.op == "and") == positive
            return _group("$and" if is_and else "$or", [self.cond(i, positive) for i in e.items])
        if isinstance(e, ir.Not):
            return self.cond(e.operand, not positive)  # type: ignore[arg-type]
        native = self.native_atom(e, positive)
        if native is not None:
            self.native += 1
            return native
        return self.hoist(e, positive)

    def hoist(self, e: ir.Expr, positive: bool) -> dict:
        """Compute the atom in Python; durable tests the resulting boolean key."""
        self.hoists += 1
        key = f"{self.prefix}h{self.hoists}"
        fn = e.fn  # the reference closure: the generated encoder (engine/encoder.py) inlines its own code
        if positive:
            def getter(env, _f=fn):
                return _f(env)
        else:
            def getter(env, _f=fn):
                v = _f(env)
                return (not v) if v.__class__ is bool else v
        self.keys[key] = KeySpec(key, getter, _encode_bool, expr=e, negate=not positive)
        self.used.add(key)
        return {"$eq": {key: True}}

    # -- atoms -----------------------------------------------------------------------
    def native_atom(self, e: ir.Expr, positive: bool) -> dict | None:
        if isinstance(e, ir.Ref) and e.type.kind == "boolean" and e.kind != "item":
            key = self.ref_key(e, None)
            return {"$eq": {key: positive}} if key else None
        if isinstance(e, ir.Compare):
            op = e.op if positive else NEGATE[e.op]
            return self.compare(op, e.left, e.right)  # type: ignore[arg-type]
        if isinstance(e, ir.InSet):
            return self.in_set(e, positive)
        if isinstance(e, ir.Between):
            lo, hi = (">=", "<=") if positive else ("<", ">")
            a = self.compare(lo, e.value, e.low)  # type: ignore[arg-type]
            b = self.compare(hi, e.value, e.high)  # type: ignore[arg-type]
            if a is None or b is None:
                return None
            return _group("$and" if positive else "$or", [a, b])
        return None

    def compare(self, op: str, left: ir.Expr, right: ir.Expr) -> dict | None:
        if _is_const(left) and not _is_const(right):
            left, right, op = right, left, FLIP[op]
        if not _is_simple(left):
            return None
        if _is_const(right):
            return self.against_const(op, left, right.value)  # type: ignore[attr-defined]
        if _is_simple(right) and _exact_int(left) and _exact_int(right) and _same_scale(left, right):
            a, b = self.ref_key(left, "x"), self.ref_key(right, "x")
            if a and b:
                return {OPS[op]: {a: {"$m": b}}}
        return None

    def against_const(self, op: str, ref: ir.Expr, value: Any) -> dict | None:
        kind = ref.type.kind
        if kind in ("string", "enum"):
            if op not in ("==", "!=") or not isinstance(value, str):
                return None
            key = self.ref_key(ref, None)
            return {OPS[op]: {key: value}} if key else None
        if kind == "boolean":
            if op not in ("==", "!=") or not isinstance(value, bool):
                return None
            key = self.ref_key(ref, None)
            return {OPS[op]: {key: value}} if key else None
        if kind == "date":
            if not isinstance(value, date):
                return None
            key = self.ref_key(ref, None)
            return {OPS[op]: {key: value.toordinal()}} if key else None
        scale = SCALES.get(kind)
        if scale is None or isinstance(value, bool) or not isinstance(value, int | Decimal):
            return None
        scaled = Decimal(value) * scale
        if scaled != scaled.to_integral_value() or abs(scaled) > INT64:
            return None
        c = int(scaled)
        if _exact_int(ref):
            key = self.ref_key(ref, "x")
            return {OPS[op]: {key: c}} if key else None
        floor_key, ceil_key = self.ref_key(ref, "f"), self.ref_key(ref, "c")
        if not (floor_key and ceil_key):
            return None
        if op in (">", "<="):
            return {OPS[op]: {ceil_key: c}}
        if op in (">=", "<"):
            return {OPS[op]: {floor_key: c}}
        if op == "==":
            return {"$and": [{"$eq": {floor_key: c}}, {"$eq": {ceil_key: c}}]}
        return {"$or": [{"$neq": {floor_key: c}}, {"$neq": {ceil_key: c}}]}

    def in_set(self, e: ir.InSet, positive: bool) -> dict | None:
        if len(e.options) > MAX_IN_OPTIONS or not all(_is_const(o) for o in e.options):
            return None
        include = positive != e.negated
        parts = []
        for o in e.options:
            atom = self.compare("==" if include else "!=", e.value, o)  # type: ignore[arg-type]
            if atom is None:
                return None
            parts.append(atom)
        if not parts:
            return None
        return _group("$or" if include else "$and", parts)

    # -- keys --------------------------------------------------------------------------
    def ref_key(self, ref: ir.Expr, mode: str | None) -> str | None:
        """The flat key of a field/derived value (mode: x exact int, f floor, c ceil, None as is)."""
        if not isinstance(ref, ir.Ref) or ref.kind == "item":
            return None
        base = ref.path.replace(".", "__") if ref.kind == "fact" else f"{self.prefix}d__{ref.path}"
        key = base if mode in (None, "x") else f"{base}__{mode}"
        if key not in self.keys:
            self.keys[key] = KeySpec(key, ref.fn, _encoder(ref.type.kind, mode), expr=ref, kind=ref.type.kind,
                                     mode=mode)
        self.used.add(key)
        return key


def _group(op: str, parts: list[dict]) -> dict:
    """`op` over `parts`, the parts that are `op` groups themselves merged in (`a and (b and c)` is one
    `$and` of three): durable holds few groups in one rule (MAX_GROUPS). One part is that part."""
    flat: list[dict] = []
    for part in parts:
        inner = part.get(op) if len(part) == 1 else None
        if isinstance(inner, list):
            flat.extend(inner)
        else:
            flat.append(part)
    return {op: flat} if len(flat) > 1 else flat[0]


def _groups(cond: Any) -> int:
    """How many `$and`/`$or` groups a durable condition holds, at every depth."""
    if not isinstance(cond, dict):
        return 0
    count = 0
    for op, arg in cond.items():
        if op in ("$and", "$or") and isinstance(arg, list):
            count += 1 + sum(_groups(part) for part in arg)
    return count


def _durable_problem(rule_id: str, cond: dict) -> str | None:
    """Why durable_rules cannot build `cond` as one rule's condition (durable_host's limits), or None."""
    try:
        checked = durable_host._check(rule_id, cond)
    except EngineError as exc:  # an $or of more than 64 branches, more than 512 alternatives …
        return exc.diagnostics[0].message.removeprefix(f"rule {rule_id!r}: ")
    if len(checked.keys) > MAX_RULE_KEYS:
        return f"reads {len(checked.keys)} keys, durable_rules holds {MAX_RULE_KEYS}"
    groups = _groups(checked.durable)  # the host's form: its guards are groups too
    if groups > MAX_GROUPS:
        return f"has {groups} and/or groups, durable_rules holds {MAX_GROUPS} in one rule"
    return None


def _too_complex(rule_id: str, cond: dict, shared: int) -> str | None:
    """Why durable_rules cannot take `cond` as it is (see durable_host's limits), or None."""
    problem = _durable_problem(rule_id, cond)
    if problem is None and shared >= MAX_SHARED_CONDITION:
        return f"{shared} rules before it have the same condition"
    return problem


def rulebook_problems(book: Rulebook) -> list[Diagnostic]:
    """What durable_rules would refuse when the engine builds the policies in force together, as rules
    errors at the rule's `when:` (for `dealerpolicy validate`): the engine's own check, run at load.

    Compiles every policy as `Engine` does, and checks every combination of versions in force on
    some day with durable_host's limits. The compiler hoists what one rule cannot hold, so this finds
    only what many rules of policies in force together do: more than 255 rules with one condition.
    """
    compiled = {p.key: compile_policy(p, f"p{i}_") for i, p in enumerate(book.policies)}
    out: list[Diagnostic] = []
    reported: set[int] = set()
    for point in book.schema.points:
        policies = book.policies_of(point)
        days = sorted({p.effective_from for p in policies}
                      | {p.effective_until + timedelta(days=1) for p in policies if p.effective_until
                         and p.effective_until < date.max})
        combinations: dict[tuple[str, ...], date] = {}
        for day in days:
            combinations.setdefault(tuple(p.key for p in book.in_force(point, day)), day)
        for keys, day in combinations.items():
            seen: Counter[str] = Counter()
            for key in keys:
                part = compiled[key]
                for rule in part.policy.rules:
                    if id(rule) in reported:
                        continue
                    cond = part.conditions[rule.id]
                    problem = _durable_problem(rule.id, cond)
                    canonical = json.dumps(cond, sort_keys=True, default=str)
                    seen[canonical] += 1
                    if problem is None and seen[canonical] > durable_host.MAX_IDENTICAL_CONDITIONS:
                        problem = (f"more than {durable_host.MAX_IDENTICAL_CONDITIONS} rules of the policies in "
                                   f"force on {day} ({', '.join(keys)}) have exactly this condition")
                    if problem is not None:
                        reported.add(id(rule))
                        out.append(_too_complex_diagnostic(rule, problem))
    return out


def _too_complex_diagnostic(rule: Rule, problem: str) -> Diagnostic:
    return Diagnostic("rule.too_complex", f"rule {rule.id}: durable_rules cannot hold this condition: {problem}",
                      rule.when_span or rule.span, None,
                      "split the rule in two, or move part of the condition into a derived value "
                      "(derive: {name: {type: boolean, expr: …}})")


def _is_const(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and not isinstance(e.value, list)


def _is_simple(e: ir.Expr) -> bool:
    return isinstance(e, ir.Ref) and e.kind != "item" and e.type.kind != "list"


def _exact_int(e: ir.Expr) -> bool:
    """Values of this ref are exact integers at their scale (fact money has at most 2 decimals)."""
    kind = e.type.kind
    if kind in ("integer", "date"):
        return True
    return kind == "money" and isinstance(e, ir.Ref) and e.kind == "fact"


def _same_scale(a: ir.Expr, b: ir.Expr) -> bool:
    return SCALES.get(a.type.kind, 0) == SCALES.get(b.type.kind, 0) or a.type.kind == b.type.kind


def _encode_bool(v: Any) -> Any:
    return v if v.__class__ is bool else None


def _encoder(kind: str, mode: str | None) -> Callable[[Any], Any]:
    if kind == "date":
        return lambda v: v.toordinal() if isinstance(v, date) else None
    if kind in ("string", "enum"):
        return lambda v: v if isinstance(v, str) else None
    if kind == "boolean":
        return _encode_bool
    scale = SCALES[kind]
    if mode == "x":
        def exact(v):
            if v.__class__ is Unknown or v is None:
                return None
            scaled = v * scale
            i = int(scaled)
            if i != scaled or abs(i) > INT64:
                raise ValueError(f"value {v} does not fit the engine's exact integers")
            return i
        return exact
    import math

    rounding = math.floor if mode == "f" else math.ceil

    def bounded(v):
        if v.__class__ is Unknown or v is None:
            return None
        i = rounding(Decimal(v) * scale)
        return max(-INT64, min(INT64, i))
    return bounded
