"""Load a rules directory into a checked `Rulebook`, reporting every problem at once.

Steps per policy file: located YAML → pydantic shape check (errors mapped back to
spans) → params → derived values (type-checked, cycles found) → rules (conditions,
tables, outputs, messages). Expression errors point inside the expression string.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dealerpolicy.errors import Diagnostic, DiagnosticBag, RulesError, Span
from dealerpolicy.lang import ir
from dealerpolicy.lang.check import Scope, check
from dealerpolicy.lang.parser import parse
from dealerpolicy.lang.problems import ExprProblem, ExprProblems
from dealerpolicy.rulebook import model as m
from dealerpolicy.rulebook.messages import check_message, compile_template
from dealerpolicy.rulebook.params import build_params
from dealerpolicy.rulebook.plan import Rulebook, check_versions
from dealerpolicy.rulebook.policy import Derived, Policy, Rule
from dealerpolicy.rulebook.tables import build_derived_table, build_rule_rows
from dealerpolicy.schema import Schema, schema_from_node
from dealerpolicy.schema.types import BOOLEAN, SCALAR_TYPES, Type, enum
from dealerpolicy.source import Node, load_text, read_source


def load_rulebook(rules_dir: str | Path) -> Rulebook:
    """Load and check `rules_dir` (schema.yaml + policies); raises RulesError with all problems."""
    root = Path(rules_dir)
    if not root.is_dir():
        raise RulesError(Diagnostic("rules.not_found", f"rules directory {str(root)!r} does not exist",
                                    hint="pass the folder that holds schema.yaml and the policies"))
    bag = DiagnosticBag()
    schema_path = root / "schema.yaml"
    if not schema_path.exists():
        raise RulesError(Diagnostic("rules.no_schema", f"{schema_path}: no schema.yaml",
                                    hint="every rules folder needs a schema.yaml with types and points"))
    schema: Schema | None = None
    files: dict[str, str] = {}  # each file's text, as read once (the rulebook's version hashes them)
    try:
        files["schema.yaml"] = read_source(schema_path)
        schema = schema_from_node(load_text(files["schema.yaml"], str(schema_path)))
    except RulesError as exc:
        bag.extend(exc.diagnostics)
    policies: list[Policy] = []
    for path in policy_files(root):
        name = str(path)
        try:
            text = files[path.relative_to(root).as_posix()] = read_source(path, name)
            node = load_text(text, name)
        except RulesError as exc:
            bag.extend(exc.diagnostics)
            continue
        if schema is not None:
            policy = PolicyLoader(schema, node, name, bag).load()
            if policy is not None:
                policies.append(policy)
    if schema is not None:
        check_versions(policies, schema, bag)
    bag.raise_if_any(RulesError)
    assert schema is not None
    return Rulebook(root=root, schema=schema, policies=policies, files=files)


def policy_files(root: Path) -> list[Path]:
    """Policy files: every *.yaml/*.yml under root except schema.yaml and the tests/ folder."""
    out = []
    for path in sorted(root.rglob("*.y*ml")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("tests", "fixtures") or rel.name == "schema.yaml":
            continue
        out.append(path)
    return out


class PolicyLoader:
    """Checks one policy file and builds its `Policy`."""

    def __init__(self, schema: Schema, node: Node, file: str, bag: DiagnosticBag):
        self.schema, self.node, self.file, self.bag = schema, node, file, bag
        self.errors_before = len(bag.items)

    def load(self) -> Policy | None:
        spec = self._validate_shape()
        if spec is None:
            return None
        point = self.schema.points.get(spec.point)
        if point is None:
            self._unknown("point.unknown", "point", spec.point, list(self.schema.points), ("point",))
            return None
        self.point = point
        facts = {name: self.schema.types[name] for name in point.facts if name in self.schema.types}
        params = build_params(spec.params, self.node.get("params"), self.bag)
        derived_types = {}
        for name, d in spec.derive.items():
            t = SCALAR_TYPES.get(d.type) or self._enum_type(d.type)
            if t is None:
                self._type_error(("derive", name, "type"), d.type)
                continue
            derived_types[name] = t
        self._check_name_clashes(facts, params, derived_types)
        self.scope = Scope(facts=facts, derived=derived_types, params=params)
        derived = self._derived(spec, derived_types)
        rules = self._rules(spec)
        if len(self.bag.items) > self.errors_before:
            return None
        policy = Policy(
            id=spec.policy, title=spec.title.model_dump(), point=spec.point, version=str(spec.version),
            effective_from=spec.effective_from, effective_until=spec.effective_until,
            leniency=spec.leniency, params=params, derived=derived, rules=rules, file=self.file,
            span=self.node.span,
            param_spans={k: v.key_span or v.span for k, v in (self.node.get("params").value.items()
                                                               if self.node.get("params") else [])},
        )
        for rule in rules:
            rule.policy = policy
        return policy

    # -- shape -------------------------------------------------------------------
    def _validate_shape(self) -> m.PolicyFile | None:
        if not self.node.is_mapping:
            self.bag.add("rule.not_a_mapping", "a policy file must be a mapping with policy:, point:, rules: …",
                         self.node.span)
            return None
        try:
            return m.PolicyFile.model_validate(self.node.plain())
        except ValidationError as exc:
            seen: set[tuple] = set()
            for err in exc.errors():
                self._shape_error(err, seen)
            return None

    def _shape_error(self, err: dict[str, Any], seen: set[tuple]) -> None:
        loc = tuple(err["loc"])
        target = self.node.descend(loc)
        key = (target.span, err["type"] if err["type"] in ("missing", "extra_forbidden") else "value")
        if key in seen:
            return
        seen.add(key)
        path = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.5)
            hint = f"did you mean {guess[0]!r}?" if guess else "allowed keys: " + ", ".join(allowed)
            self.bag.add("rule.unknown_key", f"unknown key {loc[-1]!r} in {path.rsplit('.', 1)[0] or 'the policy'}",
                         target.key_span or target.span, hint, tuple(guess))
        elif err["type"] == "missing":
            parent = self.node.descend(loc[:-1])
            self.bag.add("rule.missing_key", f"missing key {loc[-1]!r}" + (f" in {path.rsplit('.', 1)[0]}"
                                                                        if len(loc) > 1 else ""),
                         parent.key_span or parent.span, f"add {loc[-1]}: …")
        else:
            self.bag.add("rule.invalid_value", f"{path}: {err['msg'].lower()}, got {err.get('input')!r}",
                         target.span)

    # -- helpers -----------------------------------------------------------------
    def _at(self, path: tuple) -> Node:
        return self.node.descend(path)

    def _unknown(self, code: str, what: str, value: str, options: list[str], path: tuple) -> None:
        guess = difflib.get_close_matches(value, options, n=1, cutoff=0.5)
        hint = f"did you mean {guess[0]!r}?" if guess else "expected one of: " + ", ".join(options)
        self.bag.add(code, f"unknown {what} {value!r}", self._at(path).span, hint, tuple(guess))

    def _type_error(self, path: tuple, name: str) -> None:
        self._unknown("rule.unknown_type", "type", name, [*SCALAR_TYPES, "enum(a, b, …)"], path)

    def _enum_type(self, text: str) -> Type | None:
        """`enum(A, B, C)` → an enum type with those values."""
        mt = re.fullmatch(r"\s*enum\s*\((.*)\)\s*", text)
        if mt is None:
            return None
        values = [v.strip().strip("\"'") for v in mt.group(1).split(",") if v.strip()]
        return enum(values) if values and len(set(values)) == len(values) else None

    def _check_name_clashes(self, facts, params, derived) -> None:
        for name in derived:
            if name in facts or name in params:
                self.bag.add("derive.name_clash", f"derived value {name!r} has the same name as a "
                             f"{'fact' if name in facts else 'param'}", self._at(("derive", name)).key_span,
                             "rename one of them")
        for name in params:
            if name in facts:
                self.bag.add("param.name_clash", f"param {name!r} has the same name as a fact type",
                             self._at(("params", name)).key_span, "rename the param")

    def expr(self, text: str, path: tuple, scope: Scope | None = None, expect: Type | None = None,
             base_span: Span | None = None) -> ir.Expr | None:
        """Parse and check an expression found at `path` in the file; record problems."""
        node = self._at(path)
        try:
            return check(parse(str(text)), scope or self.scope, expect, text=str(text))
        except ExprProblem as problem:
            self._expr_problem(problem, node, base_span)
        except ExprProblems as problems:
            for each in problems.problems:
                self._expr_problem(each, node, base_span)
        return None

    def _expr_problem(self, p: ExprProblem, node: Node, base_span: Span | None) -> None:
        span = base_span or node.locate(p.start, max(p.end - p.start, 1))
        self.bag.items.append(Diagnostic(p.code, p.message, span, None, p.hint, "error", p.suggestions))

    # -- derived -------------------------------------------------------------------
    def _derived(self, spec: m.PolicyFile, types: dict[str, Type]) -> list[Derived]:
        built: dict[str, Derived] = {}
        for name, d in spec.derive.items():
            if name not in types:
                continue
            path = ("derive", name)
            if (d.expr is None) == (d.table is None):
                self.bag.add("derive.shape", f"derived value {name!r} needs exactly one of expr: or table:",
                             self._at(path).key_span)
                continue
            if d.expr is not None:
                e = self.expr(d.expr, (*path, "expr"), expect=types[name])
                if e is not None:
                    built[name] = Derived(name, types[name], e, d.label.model_dump() if d.label else None,
                                          span=self._at(path).key_span)
            else:
                derived = build_derived_table(self, name, types[name], d, path)
                if derived is not None:
                    built[name] = derived
        return self._ordered(built)

    def _ordered(self, built: dict[str, Derived]) -> list[Derived]:
        order: list[Derived] = []
        state: dict[str, int] = {}

        def visit(name: str, trail: list[str]) -> None:
            if state.get(name) == 2 or name not in built:
                return
            if state.get(name) == 1:
                cycle = " → ".join(trail[trail.index(name):] + [name])
                self.bag.add("derive.cycle", f"derived values depend on each other in a cycle: {cycle}",
                             built[name].span, "break the cycle: compute one of them from facts only")
                return
            state[name] = 1
            for dep in sorted(built[name].expr.deps):
                if dep in built:
                    visit(dep, [*trail, name])
            state[name] = 2
            order.append(built[name])

        for name in built:
            visit(name, [])
        return order

    # -- rules ---------------------------------------------------------------------
    def _rules(self, spec: m.PolicyFile) -> list[Rule]:
        rules: list[Rule] = []
        seen: dict[str, Span] = {}
        for i, r in enumerate(spec.rules):
            path = ("rules", i)
            id_node = self._at((*path, "id"))
            if r.id in seen:
                self.bag.add("rule.duplicate_id", f"rule id {r.id!r} is used twice in this policy",
                             id_node.span, f"the first is at line {seen[r.id].line}; clause ids must be unique")
                continue
            seen[r.id] = id_node.span
            if r.on_missing is not None and r.on_missing != "ignore" and r.on_missing not in self.point.outcomes:
                self._unknown("rule.unknown_outcome", f"outcome for point {self.point.name}", r.on_missing,
                              [*self.point.outcomes, "ignore"], (*path, "on_missing"))
            rules.extend(self._rule(r, path))
        return rules

    def _rule(self, r: m.RuleSpec, path: tuple) -> list[Rule]:
        common = None
        if r.when is not None:
            common = self.expr(r.when, (*path, "when"), expect=BOOLEAN)
            if common is None:
                if r.then is not None:  # still check the rest, to report every problem at once
                    self.then_parts(r.then.outcome, r.then.outputs, r.then.message, (*path, "then"))
                return []
        if r.table is not None:
            if r.then is not None:
                self.bag.add("rule.shape", f"rule {r.id}: a table rule gives each row its outcome; remove then:",
                             self._at((*path, "then")).key_span)
                return []
            return build_rule_rows(self, r, path, common)
        if r.then is None or common is None:
            self.bag.add("rule.shape", f"rule {r.id} needs when: and then: (or a table:)",
                         self._at(("rules", path[1], "id")).span, "add when: <condition> and then: {outcome: …}")
            return []
        built = self.then_parts(r.then.outcome, r.then.outputs, r.then.message, (*path, "then"))
        if built is None:
            return []
        outputs, message, templates = built
        return [Rule(r.id, r.id, r.title.model_dump(), common, r.then.outcome, outputs, message,
                     r.on_missing, tuple(r.tags), self._at(path).span, templates=templates)]

    def then_parts(self, outcome: str, outputs: dict, message: m.Text, path: tuple,
                   extra: dict[str, Type] | None = None):
        ok = True
        if outcome not in self.point.outcomes:
            self._unknown("rule.unknown_outcome", f"outcome for point {self.point.name}", outcome,
                          list(self.point.outcomes), (*path, "outcome"))
            ok = False
        built: dict[str, ir.Expr] = {}
        for name, value in outputs.items():
            e = self._output(name, value, (*path, "outputs", name))
            if e is None:
                ok = False
            else:
                built[name] = e
        out_scope = Scope(self.scope.facts, self.scope.derived, self.scope.params,
                          {**(extra or {}), **{k: v.type for k, v in built.items()}})
        texts = message.model_dump()
        for lang in ("zh", "en"):
            if not check_message(self, texts[lang], (*path, "message", lang), out_scope):
                ok = False
        if not ok:
            return None
        templates = {lang: compile_template(texts[lang], out_scope) for lang in ("zh", "en")}
        return built, texts, templates

    def _output(self, name: str, value: Any, path: tuple) -> ir.Expr | None:
        node = self._at(path)
        if isinstance(value, dict):
            if set(value) != {"value"}:
                self.bag.add("rule.invalid_value", f"output {name}: write an expression, or {{value: text}}",
                             node.span)
                return None
            value = value["value"]
            from dealerpolicy.schema.types import STRING
            return ir.Const(STRING, 0, 0, fn=lambda env, _v=value: _v, value=value)
        if isinstance(value, bool | int) or not isinstance(value, str):
            return self.expr(str(value).lower() if isinstance(value, bool) else str(value), path)
        return self.expr(value, path)


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names of the pydantic model reached by `loc` (for did-you-mean on unknown keys)."""
    import typing

    current: Any = m.PolicyFile
    for step in loc:
        current = _unwrap(current, step)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, m.BaseModel):
        return list(current.model_fields)
    del typing
    return []


def _unwrap(tp: Any, step: Any) -> Any:
    import types
    import typing

    if isinstance(tp, type) and issubclass(tp, m.BaseModel):
        f = tp.model_fields.get(str(step))
        return _strip_optional(f.annotation) if f else None
    origin = typing.get_origin(tp)
    if origin in (list, dict):
        return _strip_optional(typing.get_args(tp)[-1])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            out = _unwrap(arg, step)
            if out is not None:
                return out
    return None


def _strip_optional(tp: Any) -> Any:
    import types
    import typing

    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, m.BaseModel)]
        if models:
            return models[0]
        containers = [a for a in args if typing.get_origin(a) in (list, dict)]
        if containers:
            return containers[0]
        return args[0] if len(args) == 1 else tp
    return tp
