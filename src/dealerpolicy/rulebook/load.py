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
from dealerpolicy.rulebook.messages import PLACEHOLDER, check_message, compile_template
from dealerpolicy.rulebook.params import build_params, missing_literal_keys
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
    warnings: list[Diagnostic] = []
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
            policy = PolicyLoader(schema, node, name, bag, warnings).load()
            if policy is not None:
                policies.append(policy)
    if schema is not None:
        check_versions(policies, schema, bag)
    bag.raise_if_any(RulesError)
    assert schema is not None
    return Rulebook(root=root, schema=schema, policies=policies, files=files,
                    warnings=sorted(warnings, key=Diagnostic.sort_key))


POLICY_SUFFIXES = (".yaml", ".yml")


def policy_files(root: Path) -> list[Path]:
    """Policy files: every *.yaml/*.yml under root (in any case: `zz.YAML` too) except schema.yaml
    and the tests/ and fixtures/ folders."""
    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in POLICY_SUFFIXES or path.is_dir():
            continue
        rel = path.relative_to(root)
        if rel.parts[0] in ("tests", "fixtures") or rel.name.lower() == "schema.yaml":
            continue
        out.append(path)
    return out


class PolicyLoader:
    """Checks one policy file and builds its `Policy`."""

    def __init__(self, schema: Schema, node: Node, file: str, bag: DiagnosticBag,
                 warnings: list[Diagnostic] | None = None):
        self.schema, self.node, self.file, self.bag = schema, node, file, bag
        self.warnings: list[Diagnostic] = [] if warnings is None else warnings
        self.errors_before = len(bag.items)

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        """A finding that does not stop the rulebook: `validate` shows it, `validate --strict` refuses it."""
        self.warnings.append(Diagnostic(code, message, span, None, hint, "warning"))

    def load(self) -> Policy | None:
        spec = self._validate_shape()
        if spec is None:
            return None
        point = self.schema.points.get(spec.point)
        if point is None:
            self._unknown("point.unknown", "point", spec.point, list(self.schema.points), ("point",))
            return None
        self.point = point
        self._check_period(spec)
        if not spec.rules:
            rules_node = self._at(("rules",))
            self.warn("policy.no_rules", f"policy {spec.policy} version {spec.version} has no rules: it can "
                      "never change a decision", rules_node.key_span or rules_node.span,
                      "add rules, or delete the file")
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

    def _check_period(self, spec: m.PolicyFile) -> None:
        """[effective_from, effective_until] holds at least one day (both ends are inclusive)."""
        start, until = spec.effective_from, spec.effective_until
        if until is None or until >= start:
            return
        self.bag.add("policy.empty_period", f"effective_until {until} is before effective_from {start}: "
                     f"version {spec.version} of policy {spec.policy} would never be in force",
                     self._at(("effective_until",)).span,
                     f"both dates are inclusive: a version in force for a single day has effective_until: {start}; "
                     "remove effective_until: for no end")

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
            e = check(parse(str(text)), scope or self.scope, expect, text=str(text))
        except ExprProblem as problem:
            self._expr_problem(problem, node, base_span)
            return None
        except ExprProblems as problems:
            for each in problems.problems:
                self._expr_problem(each, node, base_span)
            return None
        # (a table row's condition is built from pieces already checked at their own place: not again)
        if base_span is None and not self.keys_exist(e, node):
            return None
        return e

    def keys_exist(self, e: ir.Expr, node: Node, offset: int = 0) -> bool:
        """A keyed param indexed by a literal key has that key (`min_capital["county"]`): otherwise
        every request would be undecided for want of a value. Reported at the key inside `node`."""
        ok = True
        for index, key in missing_literal_keys(e):
            options = sorted(index.mapping)
            guess = difflib.get_close_matches(key, options, n=1, cutoff=0.5)
            hint = (f"did you mean {guess[0]!r}? " if guess else "") + \
                f"param {index.param} has values for: {', '.join(options) or 'nothing'}"
            at = index.key or index
            self.bag.add("param.missing_key", f"param {index.param} has no value for {key!r}",
                         node.locate(offset + at.start, max(at.end - at.start, 1)), hint, tuple(guess))
            ok = False
        return ok

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
        """Derived values in dependency order; a cycle is reported where it closes. Iterative: a chain
        or cycle of thousands of values must not exhaust Python's stack."""
        order: list[Derived] = []
        state: dict[str, int] = {}  # 1: on the current path, 2: placed

        def deps(name: str):
            return iter(sorted(d for d in built[name].expr.deps if d in built))

        for root in built:
            if state.get(root):
                continue
            state[root] = 1
            trail = [root]
            stack = [deps(root)]
            while stack:
                for dep in stack[-1]:
                    seen = state.get(dep)
                    if seen == 2:
                        continue
                    if seen == 1:
                        self.bag.add("derive.cycle", "derived values depend on each other in a cycle: "
                                     + _cycle_text(trail[trail.index(dep):] + [dep]), built[dep].span,
                                     "break the cycle: compute one of them from facts only")
                        continue
                    state[dep] = 1
                    trail.append(dep)
                    stack.append(deps(dep))
                    break
                else:
                    stack.pop()
                    name = trail.pop()
                    state[name] = 2
                    order.append(built[name])
        return order

    # -- rules ---------------------------------------------------------------------
    def _rules(self, spec: m.PolicyFile) -> list[Rule]:
        rules: list[Rule] = []
        seen: dict[str, Span] = {}
        for i, r in enumerate(spec.rules):
            path = ("rules", i)
            id_node = self._at((*path, "id"))
            if not r.id.strip():
                self.bag.add("rule.empty_id", "a rule id may not be empty", id_node.span,
                             "write the clause id managers cite, e.g. id: CR-5")
                continue
            if r.id in seen:
                self.bag.add("rule.duplicate_id", f"rule id {r.id!r} is used twice in this policy",
                             id_node.span, f"the first is at line {seen[r.id].line}; clause ids must be unique")
                continue
            seen[r.id] = id_node.span
            if r.on_missing is not None and r.on_missing != "ignore" and r.on_missing not in self.point.outcomes:
                self._unknown("rule.unknown_outcome", f"outcome for point {self.point.name}", r.on_missing,
                              [*self.point.outcomes, "ignore"], (*path, "on_missing"))
            rules.extend(self._rule(r, path))
        self._check_expanded_ids(rules)
        return rules

    def _check_expanded_ids(self, rules: list[Rule]) -> None:
        """Ids are unique once tables are expanded: a row is the rule `ID[label]`, which another row
        with the same label, or a rule written with that id, would silently replace."""
        first: dict[str, Rule] = {}
        for rule in rules:
            other = first.setdefault(rule.id, rule)
            if other is rule:
                continue
            where = other.id_span or other.span
            line = f" (line {where.line})" if where else ""
            if rule.row is not None and other.row is not None and rule.clause == other.clause:
                hint = f"the first is row {other.row.label!r}{line}; give each row of {rule.clause} its own label:"
            else:
                hint = (f"the first is {_described(other)}{line}; a row of a table rule is the rule ID[label]: "
                        + ("give the row another label:" if rule.row is not None else "rename this rule"))
            self.bag.add("rule.duplicate_id", f"rule id {rule.id!r} is used twice in this policy "
                         f"({_described(rule)})", rule.id_span or rule.span, hint)

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
                     r.on_missing, tuple(r.tags), self._at(path).span, templates=templates,
                     id_span=self._at((*path, "id")).span, when_span=self._at((*path, "when")).span)]

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
        templates: dict[str, Any] = {}
        for lang in ("zh", "en"):
            if not texts[lang].strip():
                self.bag.add("message.empty", f"the {'Chinese' if lang == 'zh' else 'English'} message is empty",
                             self._at((*path, "message", lang)).span,
                             "write what the decision should say, e.g. "
                             + ('zh: "订单金额 {order.amount} 低于起订额"' if lang == "zh"
                                else 'en: "Order amount {order.amount} is below the minimum"'))
                ok = False
            elif not check_message(self, texts[lang], (*path, "message", lang), out_scope):
                ok = False
            else:
                templates[lang] = compile_template(texts[lang], out_scope)
                if not self._placeholder_keys_exist(texts[lang], templates[lang], (*path, "message", lang)):
                    ok = False
        if not ok:
            return None
        return built, texts, templates

    def _placeholder_keys_exist(self, text: str, template: Any, path: tuple) -> bool:
        """`keys_exist` for each `{expression}` of a message (its offsets are the placeholder's)."""
        exprs = [p for p in template.parts if isinstance(p, ir.Expr)]
        found = [mt for mt in PLACEHOLDER.finditer(text) if mt.group(1) is not None]
        ok = True
        for e, mt in zip(exprs, found, strict=False):
            inner = mt.group(1)
            offset = mt.start(1) + (len(inner) - len(inner.lstrip()))
            ok = self.keys_exist(e, self._at(path), offset) and ok
        return ok

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


def _described(rule: Rule) -> str:
    if rule.row is not None:
        return f"row {rule.row.label!r} of table rule {rule.clause}"
    return f"rule {rule.id}"


def _cycle_text(names: list[str], most: int = 12) -> str:
    """`a → b → a`; a long cycle keeps its first and last names."""
    if len(names) > most:
        names = [*names[:most // 2], f"… ({len(names) - most} more) …", *names[-most // 2:]]
    return " → ".join(names)


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
