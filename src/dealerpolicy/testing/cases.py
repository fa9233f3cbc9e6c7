"""Policy test files (`rules/tests/*.yaml`): the format, loading with positions, checking against a rulebook.

A file holds shared `fixtures` (named fact sets) and `cases`. A case names a fixture with
`use:`, changes it with `set:` (dotted paths, `dealer.invoices[0].paid`) and `unset:`,
and says what the decision must be under `expect:`. A case with `table:` expands into one
case per row. Every problem is a Diagnostic with the file:line:col of the offending node,
like a rule error. See docs/testing.md.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from dealerpolicy.errors import DiagnosticBag, RulesError, Span
from dealerpolicy.rulebook.plan import Rulebook
from dealerpolicy.schema.types import Type
from dealerpolicy.source import Node, load_file

FILE_KEYS = ("point", "as_of", "today", "lang", "fixtures", "cases")
CASE_KEYS = ("name", "point", "as_of", "today", "lang", "use", "facts", "set", "unset", "expect", "table", "skip")
EXPECT_KEYS = ("outcome", "rules", "rules_include", "rules_exclude", "outputs", "missing", "message_contains",
               "versions")
FIXTURE_META = ("use", "set", "unset")
PATH_PART = re.compile(r"^([A-Za-z_][\w]*)((?:\[\d+\])*)$")


@dataclass
class Expect:
    """What a case requires of the decision; None / empty means "not checked"."""

    outcome: str | None = None
    rules: list[str] | None = None
    rules_include: list[str] = field(default_factory=list)
    rules_exclude: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    missing: list[str] | None = None
    message_contains: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    def rule_ids(self) -> list[str]:
        return [*(self.rules or []), *self.rules_include, *self.rules_exclude]

    def checks_nothing(self) -> bool:
        """No decision can fail it: `expect: {}`, or only empty mappings and lists that check nothing."""
        return self == Expect()


@dataclass
class Case:
    name: str
    point: str
    facts: dict[str, Any]
    expect: Expect
    span: Span
    as_of: date | None = None
    today: date | None = None
    lang: str = "zh"
    skip: str | None = None

    @property
    def file(self) -> str:
        return self.span.file


class CaseFileError(RulesError):
    """Problems in policy test files (reported like rule errors)."""


def test_files(tests_dir: Path) -> list[Path]:
    return sorted(p for p in tests_dir.rglob("*.y*ml") if p.is_file())


def load_cases(tests_dir: str | Path, book: Rulebook | None = None) -> list[Case]:
    """Every case of every file under `tests_dir`; raises CaseFileError with all problems."""
    root = Path(tests_dir)
    bag = DiagnosticBag()
    if not root.is_dir():
        bag.add("test.not_found", f"test folder {str(root)!r} does not exist", None,
                "put policy test files in rules/tests/*.yaml")
        bag.raise_if_any(CaseFileError)
    nodes: list[Node] = []
    for path in test_files(root):
        try:
            nodes.append(load_file(path, str(path)))
        except RulesError as exc:
            bag.extend(exc.diagnostics)
    reader = _Reader(bag, book)
    for node in nodes:
        reader.collect_fixtures(node)
    cases: list[Case] = []
    for node in nodes:
        cases.extend(reader.read_file(node))
    seen: dict[str, Span] = {}
    for case in cases:
        if case.name in seen:
            bag.add("test.duplicate_name", f"two cases are named {case.name!r}", case.span,
                    f"the other is at {seen[case.name]}; give each case its own name")
        seen.setdefault(case.name, case.span)
    bag.raise_if_any(CaseFileError)
    return cases


_BAD_POINT = "\0bad point"  # a file's point: that is not a point of the schema (reported once, at the file)


class _Reader:
    """Reads test files; with a rulebook, every name in them is checked against it: fact paths against the
    schema, rule ids (row ids included), outputs, policies and versions against the point's policies."""

    def __init__(self, bag: DiagnosticBag, book: Rulebook | None):
        self.bag, self.book = bag, book
        self.fixture_nodes: dict[str, Node] = {}
        self._resolved: dict[str, dict[str, Any]] = {}
        self._broken: set[str] = set()  # fixtures that did not resolve
        self.rule_ids: set[str] = set()
        self.rows: dict[str, set[str]] = defaultdict(set)  # clause → the row ids of its table
        self.ranged: set[str] = set()  # clauses whose row ids are their rows' ranges (no label:)
        if book is not None:
            for p in book.policies:
                self.rule_ids.update(r.id for r in p.rules)
                self.rule_ids.update(r.clause for r in p.rules)
                for r in p.rules:
                    if r.row is not None:
                        self.rows[r.clause].add(r.id)
                        if r.row.match is None and r.row.label[:1] in "[(":
                            self.ranged.add(r.clause)

    def _policies(self, point: str | None) -> list[Any]:
        assert self.book is not None
        return self.book.policies_of(point) if point is not None else list(self.book.policies)

    def _heads(self, point: str | None) -> tuple[str, ...]:
        """The fact types a path may start with: the point's facts, or every type for a fixture."""
        assert self.book is not None
        if point is not None and point in self.book.schema.points:
            return self.book.schema.points[point].facts
        return tuple(self.book.schema.types)

    # -- helpers ---------------------------------------------------------------------
    def _keys(self, node: Node, allowed: tuple[str, ...], where: str) -> bool:
        if not node.is_mapping:
            self.bag.add("test.not_a_mapping", f"{where} must be a mapping", node.span)
            return False
        ok = True
        for key, child in node.value.items():
            if key not in allowed:
                guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
                hint = f"did you mean {guess[0]!r}?" if guess else "allowed keys: " + ", ".join(allowed)
                self.bag.add("test.unknown_key", f"unknown key {key!r} in {where}", child.key_span or child.span,
                             hint, tuple(guess))
                ok = False
        return ok

    def _date(self, node: Node | None, what: str) -> date | None:
        if node is None:
            return None
        if isinstance(node.value, date):
            return node.value
        self.bag.add("test.invalid_value", f"{what}: expected a date like 2026-03-01, got {node.plain()!r}",
                     node.span)
        return None

    def _text(self, node: Node | None, what: str) -> str | None:
        if node is None:
            return None
        if isinstance(node.value, str) and node.value:
            return node.value
        self.bag.add("test.invalid_value", f"{what}: expected text, got {node.plain()!r}", node.span)
        return None

    # -- fixtures ----------------------------------------------------------------------
    def collect_fixtures(self, file_node: Node) -> None:
        fixtures = file_node.get("fixtures") if file_node.is_mapping else None
        if fixtures is None:
            return
        if not fixtures.is_mapping:
            self.bag.add("test.not_a_mapping", "fixtures: must map names to fact sets", fixtures.span)
            return
        for name, node in fixtures.value.items():
            if name in self.fixture_nodes:
                first = self.fixture_nodes[name].key_span or self.fixture_nodes[name].span
                self.bag.add("test.duplicate_fixture", f"fixture {name!r} is defined twice",
                             node.key_span or node.span, f"the other is at {first}")
                continue
            self.fixture_nodes[name] = node

    def fixture(self, name: str, at: Node, trail: tuple[str, ...] = ()) -> dict[str, Any] | None:
        if name in self._resolved:
            return copy.deepcopy(self._resolved[name])
        if name in self._broken:  # its problems are reported once, at the fixture
            return None
        node = self.fixture_nodes.get(name)
        if node is None:
            guess = difflib.get_close_matches(name, list(self.fixture_nodes), n=1, cutoff=0.5)
            hint = f"did you mean {guess[0]!r}?" if guess else (
                "fixtures: " + ", ".join(sorted(self.fixture_nodes)) if self.fixture_nodes else
                "define it under fixtures: in any file of rules/tests/")
            self.bag.add("test.unknown_fixture", f"unknown fixture {name!r}", at.span, hint, tuple(guess))
            return None
        if name in trail:
            self.bag.add("test.fixture_cycle", "fixtures use each other in a cycle: " + " → ".join([*trail, name]),
                         node.key_span or node.span)
            self._broken.add(name)
            return None
        if not node.is_mapping:
            self.bag.add("test.not_a_mapping", f"fixture {name!r} must be a mapping of facts", node.span)
            self._broken.add(name)
            return None
        base: dict[str, Any] = {}
        use = node.get("use")
        if use is not None:
            parent = self.fixture(str(use.value), use, (*trail, name))
            if parent is None:
                self._broken.add(name)
                return None
            base = parent
        own = {k: v.plain() for k, v in node.value.items() if k not in FIXTURE_META}
        known = self._known_facts({k: v for k, v in node.value.items() if k not in FIXTURE_META}, None)
        facts = self._apply(_merge(base, own), node) if known else None
        if facts is None:
            self._broken.add(name)
            return None
        self._resolved[name] = copy.deepcopy(facts)
        return facts

    def _apply(self, facts: dict[str, Any], node: Node, point: str | None = None) -> dict[str, Any] | None:
        """Apply `set:` and `unset:` of a fixture or case node (paths checked against `point`'s facts)."""
        ok = True
        set_node = node.get("set")
        if set_node is not None:
            if not set_node.is_mapping:
                self.bag.add("test.not_a_mapping", 'set: maps paths to values, e.g. {"order.amount": 30000}',
                             set_node.span)
                return None
            for path, value in set_node.value.items():
                ok = self._set(facts, path, value.plain(), value.key_span or value.span, point) and ok
        unset = node.get("unset")
        if unset is not None:
            items = unset.value if unset.is_sequence else [unset]
            for item in items:
                ok = self._set(facts, str(item.value), _UNSET, item.span, point) and ok
        return facts if ok else None

    def _set(self, facts: dict[str, Any], path: str, value: Any, span: Span, point: str | None = None,
             check: bool = True) -> bool:
        if check and not self._known_path(path, span, point, "set" if value is not _UNSET else "unset"):
            return False
        error = set_path(facts, path, value)
        if error:
            self.bag.add("test.bad_path", f"{path}: {error}", span,
                         'write a dotted path like "order.amount" or "dealer.invoices[0].paid"')
            return False
        return True

    def _known_path(self, path: str, span: Span, point: str | None, what: str) -> bool:
        """Whether `path` names a field of the schema (of `point`'s facts); else an error at `span`."""
        if self.book is None:
            return True
        problem = _path_problem(self.book.schema.types, self._heads(point), path)
        if problem is None:
            return True
        message, near = problem
        if near:
            hint = f"did you mean {near[0]!r}?"
        elif point is not None and message.startswith("no fact"):
            hint = f"point {point} reads " + ", ".join(self._heads(point))
        else:
            hint = "fields are listed in rules/schema.yaml"
        if point is not None and message.startswith("no fact"):
            message += f" for point {point}"
        self.bag.add("test.unknown_field", f"{what} {path}: {message}" if what else message, span, hint, near)
        return False

    def _known_facts(self, facts: dict[str, Node], point: str | None) -> bool:
        """The keys of a `facts:` mapping (or a fixture) name facts of `point` and fields of the schema."""
        if self.book is None:
            return True
        ok = True

        def walk(node: Node, path: str, t: Type) -> None:
            nonlocal ok
            if t.kind == "list" and node.is_sequence:
                for i, item in enumerate(node.value):
                    walk(item, f"{path}[{i}]", Type("record", fields=t.fields))
            elif t.kind in ("record", "list") and node.is_mapping:
                for name, child in node.value.items():
                    sub = t.field_map().get(name)
                    if sub is None:
                        ok = self._known_path(f"{path}.{name}", child.key_span or child.span, point, "") and ok
                    else:
                        walk(child, f"{path}.{name}", sub)

        for head, node in facts.items():
            if not self._known_path(head, node.key_span or node.span, point, ""):
                ok = False
            else:
                walk(node, head, self.book.schema.types[head])
        return ok

    # -- files and cases ---------------------------------------------------------------
    def read_file(self, node: Node) -> list[Case]:
        self._keys(node, FILE_KEYS, "a test file")
        if not node.is_mapping:
            return []
        defaults = {
            "point": self._file_point(node.get("point")),
            "as_of": self._date(node.get("as_of"), "as_of"),
            "today": self._date(node.get("today"), "today"),
            "lang": self._lang(node.get("lang"), "zh"),
        }
        cases_node = node.get("cases")
        if cases_node is None:
            if node.get("fixtures") is None:
                self.bag.add("test.no_cases", "this test file has neither cases: nor fixtures:", node.span,
                             "add cases: [{name: …, use: …, expect: {outcome: …}}]")
            return []
        if not cases_node.is_sequence:
            self.bag.add("test.not_a_list", "cases: must be a list", cases_node.span)
            return []
        out: list[Case] = []
        for item in cases_node.value:
            out.extend(self.read_case(item, defaults))
        return out

    def _file_point(self, node: Node | None) -> str | None:
        """The file's default point, checked once here (not again in each case that inherits it)."""
        if node is None:
            return None
        point = self._text(node, "point")
        return point if point is not None and self._known_point(point, node) else _BAD_POINT

    def _known_point(self, point: str, node: Node) -> bool:
        if self.book is None or point in self.book.schema.points:
            return True
        guess = difflib.get_close_matches(point, list(self.book.schema.points), n=1)
        self.bag.add("test.unknown_point", f"unknown decision point {point!r}", node.span,
                     f"did you mean {guess[0]!r}?" if guess else "points: " + ", ".join(self.book.schema.points),
                     tuple(guess))
        return False

    def _lang(self, node: Node | None, default: str) -> str:
        if node is None:
            return default
        if node.value in ("zh", "en"):
            return str(node.value)
        self.bag.add("test.invalid_value", f"lang: expected zh or en, got {node.plain()!r}", node.span)
        return default

    def read_case(self, node: Node, defaults: dict[str, Any]) -> list[Case]:
        self._keys(node, CASE_KEYS, "a case")
        if not node.is_mapping:
            return []
        name_node = node.get("name")
        name = self._text(name_node, "name")
        if name_node is None:
            self.bag.add("test.missing_key", "a case needs a name:", node.span,
                         'cite the clause, e.g. name: "CR-5 61 days: hold (on the lower bound)"')
        point_node = node.get("point")
        point = self._text(point_node, "point") if point_node is not None else defaults["point"]
        if point == _BAD_POINT:  # the file's point: is unknown, reported there
            point = None
        elif point is None:
            if point_node is None:
                self.bag.add("test.missing_key",
                             f"case {name!r}: no point (set point: here or at the top of the file)", node.span)
        elif point_node is not None and not self._known_point(point, point_node):
            point = None
        facts = self._facts(node, point)
        expect = self._expect(node.get("expect"), point)
        skip = node.get("skip")
        base = Case(name=name or "?", point=point or "?", facts=facts or {}, expect=expect or Expect(),
                    span=(name_node or node).span,
                    as_of=self._date(node.get("as_of"), "as_of") or defaults["as_of"],
                    today=self._date(node.get("today"), "today") or defaults["today"],
                    lang=self._lang(node.get("lang"), defaults["lang"]),
                    skip=str(skip.value) if skip is not None else None)
        if name is None or point is None or facts is None or expect is None:
            return []
        table = node.get("table")
        if table is not None:
            rows = self._table(base, table, point)
            return [] if self._asserts_nothing(node, base, table) else rows
        if self._asserts_nothing(node, base, None):
            return []
        if node.get("expect") is None:
            self.bag.add("test.missing_key", f"case {name!r} has no expect:", base.span,
                         "say what the decision must be, e.g. expect: {outcome: hold}")
        return [base]

    def _asserts_nothing(self, node: Node, base: Case, table: Node | None) -> bool:
        """A case whose `expect:` checks nothing would pass whatever the decision: refused, at the `expect:`.
        A table case may leave it empty when its columns say what each row expects."""
        expect_node = node.get("expect")
        if not base.expect.checks_nothing() or _expect_columns(table):
            return False
        if expect_node is None and table is None:
            return False  # reported as test.missing_key
        where = expect_node if expect_node is not None else table
        assert where is not None
        what = "expect: checks nothing" if expect_node is not None else "no expect: and no expect.* column"
        self.bag.add("test.empty_expect", f"case {base.name!r}: {what}, so it passes whatever the decision",
                     where.span, "say what the decision must be, e.g. expect: {outcome: hold} or expect: "
                     "{rules_exclude: [CR-5]}; a table may put it in columns like expect.outcome")
        return True

    def _facts(self, node: Node, point: str | None = None) -> dict[str, Any] | None:
        facts: dict[str, Any] = {}
        use = node.get("use")
        if use is not None:
            base = self.fixture(str(use.value), use)
            if base is None:
                return None
            facts = base
        own = node.get("facts")
        if own is not None:
            if not own.is_mapping:
                self.bag.add("test.not_a_mapping", "facts: maps fact types to records", own.span)
                return None
            if not self._known_facts(own.value, point):
                return None
            facts = _merge(facts, own.plain())
        return self._apply(facts, node, point)

    def _expect(self, node: Node | None, point: str | None) -> Expect | None:
        exp = Expect()
        if node is None:
            return exp
        if not self._keys(node, EXPECT_KEYS, "expect"):
            return None
        ok = True
        for key, child in node.value.items():
            ok = self._expect_item(exp, key, child, point) and ok
        return exp if ok else None

    def _expect_item(self, exp: Expect, key: str, child: Node, point: str | None) -> bool:
        value = child.plain()
        if key == "outcome":
            return self._outcome(exp, child, point)
        if key in ("rules", "rules_include", "rules_exclude", "missing", "message_contains"):
            items = value if isinstance(value, list) else [value]
            if not all(isinstance(i, str) for i in items):
                self.bag.add("test.invalid_value", f"expect.{key}: expected a list of text", child.span)
                return False
            if key in ("rules", "rules_include", "rules_exclude") and not self._known_rules(items, child):
                return False
            if key == "missing" and not self._known_missing(items, child, point):
                return False
            setattr(exp, key, list(items))
            return True
        if not isinstance(value, dict):
            self.bag.add("test.invalid_value", f"expect.{key}: expected a mapping", child.span)
            return False
        if key == "versions":
            if not self._known_versions(child, point):
                return False
            exp.versions = {str(k): str(v) for k, v in value.items()}
        else:
            if not all([self._known_output(str(k), v.key_span or v.span, point) for k, v in child.value.items()]):
                return False
            exp.outputs = dict(value)
        return True

    def _known_missing(self, paths: list[str], node: Node, point: str | None) -> bool:
        """`expect.missing` names fact fields (or derived values of the point's policies)."""
        if self.book is None:
            return True
        derived = {d.name for p in self._policies(point) for d in p.derived}
        items = node.value if node.is_sequence else [node]
        ok = True
        for path, item in zip(paths, items, strict=False):
            if path not in derived:
                ok = self._known_path(path, item.span, point, "expect.missing") and ok
        return ok

    def _known_output(self, name: str, span: Span, point: str | None) -> bool:
        """An output some rule of the point's policies sets."""
        if self.book is None or point is None:
            return True
        outputs = sorted({o for p in self._policies(point) for r in p.rules for o in r.outputs})
        if name in outputs:
            return True
        guess = difflib.get_close_matches(name, outputs, n=1, cutoff=0.6)
        self.bag.add("test.unknown_output", f"no rule of point {point} sets the output {name!r}", span,
                     f"did you mean {guess[0]!r}?" if guess else
                     ("outputs: " + ", ".join(outputs) if outputs else f"the rules of point {point} set no outputs"),
                     tuple(guess))
        return False

    def _known_versions(self, node: Node, point: str | None) -> bool:
        """`expect.versions` maps ids of the point's policies to versions they have."""
        if self.book is None:
            return True
        versions: dict[str, list[str]] = defaultdict(list)
        for p in self._policies(point):
            versions[p.id].append(p.version)
        ok = True
        for pid, child in node.value.items():
            if pid not in versions:
                guess = difflib.get_close_matches(pid, sorted(versions), n=1, cutoff=0.6)
                where = f" of point {point}" if point is not None else ""
                self.bag.add("test.unknown_policy", f"no policy{where} has the id {pid!r}", child.key_span or child.span,
                             f"did you mean {guess[0]!r}?" if guess else "policies: " + ", ".join(sorted(versions)),
                             tuple(guess))
                ok = False
            elif str(child.value) not in versions[pid]:
                known = ", ".join(sorted(versions[pid]))
                self.bag.add("test.unknown_version", f"policy {pid} has no version {child.plain()!r}", child.span,
                             f"versions of {pid}: {known}")
                ok = False
        return ok

    def _outcome(self, exp: Expect, child: Node, point: str | None) -> bool:
        outcome = child.value
        if self.book is not None and point is not None:
            outcomes = list(self.book.schema.points[point].outcomes)
            if outcome not in outcomes:
                guess = difflib.get_close_matches(str(outcome), outcomes, n=1)
                self.bag.add("test.unknown_outcome", f"{outcome!r} is not an outcome of point {point}", child.span,
                             f"did you mean {guess[0]!r}?" if guess else "outcomes: " + ", ".join(outcomes))
                return False
        exp.outcome = str(outcome)
        return True

    def _known_rules(self, ids: list[str], node: Node) -> bool:
        if self.book is None:
            return True
        ok = True
        items = node.value if node.is_sequence else [node]
        for rid, item in zip(ids, items, strict=False):
            if rid in self.rule_ids or self._moved_row(rid):
                continue
            clause = rid.split("[", 1)[0]
            # a row id is most likely a row of its own clause: suggest among those first
            guess = difflib.get_close_matches(rid, sorted(self.rows.get(clause, ())), n=1, cutoff=0.6) or \
                difflib.get_close_matches(rid, sorted(self.rule_ids), n=1, cutoff=0.6)
            self.bag.add("test.unknown_rule", f"no rule has the id {rid!r}", item.span,
                         f"did you mean {guess[0]!r}?" if guess else "use a clause id (CR-5) or a row id "
                         "(CR-5[61,90])", tuple(guess))
            ok = False
        return ok

    def _moved_row(self, rid: str) -> bool:
        """A row id like "CR-5[61,90]" of a clause whose rows are named by their ranges: when a bound moves,
        the row's id moves with it, and the case that cites the old id is a failing case, not a typo."""
        clause, bracket, rest = rid.partition("[")
        if not bracket:
            clause, bracket, rest = rid.partition("(")
        return bool(bracket) and clause in self.ranged and rest[-1:] in ("]", ")") and "," in rest

    # -- tables --------------------------------------------------------------------------
    def _table(self, base: Case, table: Node, point: str) -> list[Case]:
        if not self._keys(table, ("columns", "rows"), "table"):
            return []
        cols_node, rows_node = table.get("columns"), table.get("rows")
        if cols_node is None or rows_node is None or not cols_node.is_sequence or not rows_node.is_sequence:
            self.bag.add("test.table_shape", "a table needs columns: [..] and rows: [[..], ..]", table.span)
            return []
        columns = [str(c.value) for c in cols_node.value]
        if not all([self._known_column(col, c.span, point) for col, c in zip(columns, cols_node.value, strict=True)]):
            return []  # reported once at the column, not in every row
        out: list[Case] = []
        for i, row in enumerate(rows_node.value, 1):
            if not row.is_sequence or len(row.value) != len(columns):
                self.bag.add("test.table_shape", f"row {i} has {len(row.value) if row.is_sequence else 1} values "
                             f"for {len(columns)} columns", row.span, "columns: " + ", ".join(columns))
                continue
            case = self._row_case(base, columns, row, i, point)
            if case is not None:
                out.append(case)
        return out

    def _known_column(self, col: str, span: Span, point: str) -> bool:
        if col in ("name", "as_of", "today"):
            return True
        if col.startswith("expect."):
            key = col.removeprefix("expect.")
            if key.startswith("outputs."):
                return self._known_output(key.removeprefix("outputs."), span, point)
            if key in EXPECT_KEYS and key not in ("outputs", "versions"):
                return True
            keys = [f"expect.{k}" for k in EXPECT_KEYS if k not in ("outputs", "versions")] + ["expect.outputs.<name>"]
            guess = difflib.get_close_matches(col, keys, n=1, cutoff=0.6)
            self.bag.add("test.unknown_key", f"unknown column {col!r}", span,
                         f"did you mean {guess[0]!r}?" if guess else "expect columns: " + ", ".join(keys), tuple(guess))
            return False
        return self._known_path(col, span, point, "column")

    def _row_case(self, base: Case, columns: list[str], row: Node, index: int, point: str) -> Case | None:
        case = copy.deepcopy(base)
        case.span = row.span
        label: list[str] = []
        row_name = None
        ok = True
        for col, cell in zip(columns, row.value, strict=True):
            value = cell.plain()
            if col == "name":
                row_name = str(value)
            elif col in ("as_of", "today"):
                setattr(case, col, self._date(cell, col))
                label.append(f"{col}={value}")
            elif col.startswith("expect."):
                key = col.removeprefix("expect.")
                if key.startswith("outputs."):
                    case.expect.outputs[key.removeprefix("outputs.")] = value
                else:  # the columns are checked (_known_column)
                    ok = self._expect_item(case.expect, key, cell, point) and ok
            else:
                ok = self._set(case.facts, col, value, cell.span, point, check=False) and ok
                label.append(f"{col}={_show(value)}")
        case.name = f"{base.name} — {row_name or ', '.join(label) or f'row {index}'}"
        return case if ok else None


def _expect_columns(table: Node | None) -> bool:
    """Whether a case's `table:` has an `expect.…` column (each row then says what it expects); True when
    its columns cannot be read (the table's own error is reported, not this)."""
    if table is None:
        return False
    columns = table.get("columns") if table.is_mapping else None
    if columns is None or not columns.is_sequence:
        return True
    return any(str(c.value).startswith("expect.") for c in columns.value)


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET = _Unset()


def set_path(facts: dict[str, Any], path: str, value: Any) -> str | None:
    """Set (or, with the unset marker, remove) `path` in nested facts; returns an error text or None."""
    steps: list[str | int] = []
    for part in path.split("."):
        mt = PATH_PART.match(part)
        if not mt:
            return f"cannot read the path part {part!r}"
        steps.append(mt.group(1))
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", mt.group(2)))
    node: Any = facts
    for step, nxt in zip(steps, steps[1:], strict=False):
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return f"no item [{step}] here (the list has {len(node) if isinstance(node, list) else 0} items)"
            node = node[step]
            continue
        if not isinstance(node, dict):
            return f"{step!r} is inside a value that is not a record"
        if step not in node or node[step] is None:
            node[step] = [] if isinstance(nxt, int) else {}
        node = node[step]
    last = steps[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last > len(node):
            return f"no item [{last}] here"
        if value is _UNSET:
            if last < len(node):
                node.pop(last)
        elif last == len(node):
            node.append(value)
        else:
            node[last] = value
        return None
    if not isinstance(node, dict):
        return f"{last!r} is inside a value that is not a record"
    if value is _UNSET:
        node.pop(last, None)
    else:
        node[last] = value
    return None


def _path_problem(types: dict[str, Type], heads: Collection[str], path: str) -> tuple[str, tuple[str, ...]] | None:
    """What is wrong with `path` ("dealer.invoices[0].due_date") as a field of `types` starting at one of `heads`:
    (message, did-you-mean paths), or None when it names a field (or the path cannot be read: set_path says so)."""
    parts = [PATH_PART.match(p) for p in path.split(".")]
    if not all(parts):
        return None
    names = [m.group(1) for m in parts if m]

    def near(i: int, options: Collection[str]) -> tuple[str, ...]:
        found = difflib.get_close_matches(names[i], sorted(options), n=1, cutoff=0.6)
        return tuple(".".join(found[0] + m.group(2) if j == i else m.group(0) for j, m in enumerate(parts) if m)
                     for _ in found)

    if names[0] not in heads or names[0] not in types:
        return f"no fact {names[0]!r}", near(0, [h for h in heads if h in types])
    t = types[names[0]]
    for i in range(1, len(names)):
        if t.kind not in ("record", "list"):
            return f"{names[i - 1]!r} is {t.describe()}: it has no field {names[i]!r}", ()
        fields = t.field_map()
        if names[i] not in fields:
            return f"{'.'.join(names[:i])} has no field {names[i]!r}", near(i, fields)
        t = fields[names[i]]
    return None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of records (lists and scalars in `over` replace those in `base`)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _show(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return f"[{len(value)} items]"
    return str(value)
