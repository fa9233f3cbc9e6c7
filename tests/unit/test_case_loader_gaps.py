"""Wrong references in test files, schema names rules cannot read, and YAML the loader must refuse.

Each is a diagnostic at the span of the thing at fault, with a hint, never a traceback:

* test files: misspelt fields in `unset:` / `set:` / table columns / `expect.missing`, table-row ids,
  output names and policy ids in `expect`, and a file-level `point:` reported once, where it is written;
* source.py: nesting deeper than a sane limit (`yaml.too_deep`), and an integer too long for Python
  (`yaml.invalid_number`, not "not a calendar date");
* schema.yaml: field and type names the expression lexer cannot read as names, and `type:` for `types:`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealerpolicy.api import load_rulebook
from dealerpolicy.cli.main import cli
from dealerpolicy.errors import Diagnostic, RulesError
from dealerpolicy.lang.lexer import KEYWORDS as LEXER_KEYWORDS
from dealerpolicy.rulebook.plan import Rulebook
from dealerpolicy.schema import load_schema
from dealerpolicy.source import load_text
from dealerpolicy.testing.cases import CaseFileError, load_cases

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
CREDIT = ROOT / "tests" / "testing" / "data" / "credit"


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return load_rulebook(RULES)


@pytest.fixture
def tests_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped rules/tests."""
    target = tmp_path / "tests"
    shutil.copytree(RULES / "tests", target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> tuple[int, int]:
    """1-based line and column of the first `needle` in the file."""
    for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in text:
            return i, text.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


def load_errors(tests: Path, book: Rulebook) -> list[Diagnostic]:
    with pytest.raises(CaseFileError) as info:
        load_cases(tests, book)
    return info.value.diagnostics


def located(diags: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.col) for d in diags if d.span]


# --------------------------------------------------------------------------- 1. test files


def test_the_shipped_cases_still_load(book: Rulebook) -> None:
    assert len(load_cases(RULES / "tests", book)) == 349


def test_a_misspelt_field_in_unset_is_a_load_error(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "credit-control.yaml"
    edit(f, "unset: [dealer.first_shipment_date]", "unset: [dealer.first_shipment_datee]")
    [d] = load_errors(tests_dir, book)
    assert (d.code, d.span.file, (d.span.line, d.span.col)) == (
        "test.unknown_field", str(f), line_of(f, "dealer.first_shipment_datee"))
    assert d.hint == "did you mean 'dealer.first_shipment_date'?"
    assert d.suggestions == ("dealer.first_shipment_date",)


def test_misspelt_fields_in_set_and_a_table_column_are_load_errors(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "credit-control.yaml"
    edit(f, "set: {dealer.status: suspended}", "set: {dealer.statsu: suspended}")
    edit(f, "columns: [name, dealer.first_shipment_date,", "columns: [name, dealer.first_shipment,")
    diags = load_errors(tests_dir, book)
    assert located(diags) == [
        ("test.unknown_field", *line_of(f, "dealer.statsu")),
        ("test.unknown_field", *line_of(f, "dealer.first_shipment,")),  # once, at the column, not per row
    ]
    assert [d.hint for d in diags] == ["did you mean 'dealer.status'?",
                                       "did you mean 'dealer.first_shipment_date'?"]


def test_a_field_of_a_fact_the_point_does_not_read(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "credit-control.yaml"
    edit(f, "set: {dealer.status: suspended}", "set: {incident.goods_value: 1}")
    [d] = load_errors(tests_dir, book)
    assert (d.code, d.span.line) == ("test.unknown_field", line_of(f, "incident.goods_value")[0])
    assert "point order" in d.message and "order, dealer" in (d.hint or "")


def test_a_list_item_path_is_checked_through_the_index(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "credit-control.yaml"
    edit(f, 'set: {"dealer.invoices[0].due_date": 2026-02-14', 'set: {"dealer.invoices[0].due_dat": 2026-02-14')
    [d] = load_errors(tests_dir, book)
    assert (d.code, (d.span.line, d.span.col)) == ("test.unknown_field", line_of(f, '"dealer.invoices[0].due_dat"'))
    assert d.hint == "did you mean 'dealer.invoices[0].due_date'?"


def test_an_unknown_row_id_of_a_labelled_table_is_a_load_error(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "credit-control.yaml"
    edit(f, 'expect: {outcome: reject, rules: [CR-0], message_contains: "suspended"}',
         'expect: {outcome: reject, rules: ["CR-5[61-91]"]}')
    [d] = load_errors(tests_dir, book)
    assert (d.code, (d.span.line, d.span.col)) == ("test.unknown_rule", line_of(f, '"CR-5[61-91]"'))
    assert d.hint == "did you mean 'CR-5[61-90]'?"


def test_an_unknown_clause_is_still_a_load_error(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "credit-control.yaml"
    edit(f, "rules: [CR-0], message_contains", "rules: [CR-00], message_contains")
    [d] = load_errors(tests_dir, book)
    assert (d.code, (d.span.line, d.span.col)) == ("test.unknown_rule", line_of(f, "CR-00"))


def test_a_range_row_id_whose_bounds_moved_still_loads_and_fails_at_run_time(tmp_path: Path) -> None:
    """Rows named by their range (no label:) change id when a bound moves: that is a FAIL, not a typo."""
    rules = tmp_path / "credit"
    shutil.copytree(CREDIT, rules)
    edit(rules / "policies" / "credit.yaml", 'range: "[61, 90]"', 'range: "[62, 90]"')
    edit(rules / "policies" / "credit.yaml", 'range: "[16, 60]"', 'range: "[16, 61]"')
    cases = load_cases(rules / "tests", load_rulebook(rules))
    assert ["CR-5[61,90]"] in [c.expect.rules for c in cases]


def test_unknown_missing_field_output_and_policy_are_load_errors(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "credit-control.yaml"
    edit(f, 'expect: {outcome: reject, rules: [CR-0], message_contains: "suspended"}',
         'expect: {outcome: reject, outputs: {fien: "1.00"}, versions: {credit-contrl: "2025.1"}, '
         'missing: [dealer.statuss]}')
    diags = load_errors(tests_dir, book)
    got = {d.code: d for d in diags}
    assert sorted(got) == ["test.unknown_field", "test.unknown_output", "test.unknown_policy"]
    assert (got["test.unknown_output"].span.line, got["test.unknown_output"].span.col) == line_of(f, "fien")
    assert (got["test.unknown_policy"].span.line, got["test.unknown_policy"].span.col) == line_of(f, "credit-contrl")
    assert (got["test.unknown_field"].span.line, got["test.unknown_field"].span.col) == line_of(f, "dealer.statuss")
    assert got["test.unknown_output"].message == "no rule of point order sets the output 'fien'"
    assert got["test.unknown_output"].hint.startswith("outputs: credit_limit, ")  # fine is an incident output
    assert got["test.unknown_policy"].hint == "did you mean 'credit-control'?"
    assert got["test.unknown_field"].hint == "did you mean 'dealer.status'?"


def test_an_unknown_policy_version_is_a_load_error(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "cross-territory.yaml"
    text = f.read_text(encoding="utf-8")
    assert 'versions: {cross-territory: "2025.1"}' in text
    f.write_text(text.replace('versions: {cross-territory: "2025.1"}', 'versions: {cross-territory: "2025.9"}', 1),
                 encoding="utf-8")
    [d] = load_errors(tests_dir, book)
    assert d.code == "test.unknown_version" and '"2025.9"' in (f.read_text().splitlines()[d.span.line - 1])
    assert "2025.1" in (d.hint or "") and "2026.1" in (d.hint or "")


def test_an_output_column_is_checked_once(tmp_path: Path) -> None:
    rules = tmp_path / "credit"
    shutil.copytree(CREDIT, rules)
    f = rules / "tests" / "credit.yaml"
    edit(f, "columns: [name, order.date, expect.outcome, expect.rules]",
         "columns: [name, order.date, expect.outcome, expect.rules, expect.outputs.exces]")
    text = f.read_text(encoding="utf-8")
    for rule in ('["CR-5[1,15]"]]', '["CR-5[16,60]"]]', '["CR-5[61,90]"]]', '["CR-5[91,inf)"]]'):
        text = text.replace(rule, rule[:-1] + ", null]")
    f.write_text(text, encoding="utf-8")
    diags = load_errors(rules / "tests", load_rulebook(rules))
    assert located(diags) == [("test.unknown_output", *line_of(f, "expect.outputs.exces"))]
    assert diags[0].hint == "did you mean 'excess'?"


def test_an_unknown_file_point_is_reported_once_at_its_key(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "credit-control.yaml"
    edit(f, "point: order\n", "point: ordr\n")
    diags = load_errors(tests_dir, book)
    assert located(diags) == [("test.unknown_point", *line_of(f, "ordr"))]
    assert diags[0].hint == "did you mean 'order'?"


def test_the_cli_reports_the_file_point_once(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    edit(rules / "tests" / "credit-control.yaml", "point: order\n", "point: ordr\n")
    result = CliRunner().invoke(cli, ["test", str(rules)])
    assert result.exit_code == 1
    assert result.output.count("error[") == 1 and "credit-control.yaml:2:8: error[test.unknown_point]" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- 2. source.py


def yaml_problems(text: str) -> list[tuple[str, int, int, str, str | None]]:
    with pytest.raises(RulesError) as info:
        load_text(text, "f.yaml")
    return [(d.code, d.span.line, d.span.col, d.message, d.hint) for d in info.value.diagnostics]


def test_deep_nesting_is_refused_at_the_node() -> None:
    [(code, line, col, message, hint)] = yaml_problems("policy: x\nparams: " + "[" * 2000 + "]" * 2000 + "\n")
    assert (code, line) == ("yaml.too_deep", 2)
    assert col == 9 + 99  # params' list is level 2 (the root mapping is 1); the list at level 101 is refused
    assert "100" in message and hint


def test_deep_block_nesting_is_refused_too() -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(150)) + " " * 150 + "v: 1\n"
    [(code, line, col, _, _)] = yaml_problems(text)
    assert (code, line, col) == ("yaml.too_deep", 101, 101)  # level n opens on line n, column n


def test_nesting_up_to_the_limit_loads() -> None:
    node = load_text("[" * 100 + "]" * 100, "f.yaml")
    depth = 0
    while node.value:
        node, depth = node.value[0], depth + 1
    assert depth == 99


def test_validate_reports_deep_yaml_without_a_traceback(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "policies" / "deep.yaml").write_text("policy: x\nparams: " + "[" * 2000 + "]" * 2000 + "\n",
                                                  encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(rules)])
    assert result.exit_code == 1
    assert "deep.yaml:2:" in result.output and "error[yaml.too_deep]" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_huge_integer_is_a_number_error_not_a_date() -> None:
    [(code, line, col, message, hint)] = yaml_problems("a: " + "9" * 5000 + "\n")
    assert (code, line, col) == ("yaml.invalid_number", 1, 4)
    assert "5,000 digits" in message and "date" not in message and "date" not in (hint or "")
    assert len(message) < 200  # the number is not printed in full


def test_a_huge_integer_in_a_test_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    edit(rules / "tests" / "credit-control.yaml", "set: {dealer.status: suspended}",
         "set: {order.amount: " + "9" * 5000 + "}")
    result = CliRunner().invoke(cli, ["test", str(rules)])
    assert result.exit_code == 1
    assert "error[yaml.invalid_number]" in result.output and "invalid_date" not in result.output


def test_an_impossible_date_is_still_a_date_error() -> None:
    assert yaml_problems("a: 2026-02-30\n")[0][:4] == ("yaml.invalid_date", 1, 4, "2026-02-30 is not a calendar date")


# --------------------------------------------------------------------------- 3. schema names

SCHEMA = """\
types:
  order:
    fields:
      id: {type: string, required: true}
      date: {type: date, required: true}
      amount: {type: money}
      lines:
        type: list
        fields:
          qty: {type: integer}
points:
  order:
    facts: [order]
    subject: order.id
    date: order.date
    outcomes: [hold, allow]
    default: allow
    missing: hold
"""


def schema_errors(tmp_path: Path, text: str) -> list[Diagnostic]:
    path = tmp_path / "schema.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_schema(path, "rules/schema.yaml")
    return info.value.diagnostics


def test_the_name_keywords_are_the_lexers() -> None:
    """schema may not import lang (tests/test_architecture.py): it keeps its own copy of the keywords."""
    from dealerpolicy.schema.model import NAME_KEYWORDS

    assert set(NAME_KEYWORDS) == set(LEXER_KEYWORDS)


@pytest.mark.parametrize("key", ["$s", "where", "and", '"a b"', '"x.y"', "true", "1", '""', "inf", "2x", "a-b"])
def test_a_field_name_rules_cannot_read_is_refused(tmp_path: Path, key: str) -> None:
    text = SCHEMA.replace("      amount: {type: money}\n", f"      {key}: {{type: money}}\n")
    [d] = schema_errors(tmp_path, text)
    assert (d.code, d.span.line, d.span.col) == ("schema.invalid_name", 6, 7)
    assert d.hint


def test_a_list_item_field_and_a_type_name_are_checked(tmp_path: Path) -> None:
    text = SCHEMA.replace("          qty:", "          not:").replace("  order:\n    fields:", "  my order:\n    fields:")
    text = text.replace("facts: [order]", 'facts: ["my order"]').replace("order.id", '"my order.id"')
    text = text.replace("order.date", '"my order.date"')
    diags = schema_errors(tmp_path, text)
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [
        ("schema.invalid_name", 2, 3), ("schema.invalid_name", 10, 11)]
    assert diags[0].hint == 'did you mean "my_order"?'


def test_unicode_names_are_fine(tmp_path: Path) -> None:
    text = SCHEMA.replace("      amount: {type: money}\n", "      金额: {type: money}\n      _x1: {type: money}\n")
    path = tmp_path / "schema.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_schema(path).field("order.金额") is not None


def test_type_for_types_is_one_error_without_a_cascade(tmp_path: Path) -> None:
    [d] = schema_errors(tmp_path, SCHEMA.replace("types:", "type:", 1))
    assert (d.code, d.span.line, d.span.col) == ("schema.unknown_key", 1, 1)
    assert d.hint == 'did you mean "types"?' and d.suggestions == ("types",)


def test_missing_types_checks_the_points_for_their_own_shape_only(tmp_path: Path) -> None:
    text = SCHEMA.split("points:")[0].replace("types:", "tipes:") + "points:" + SCHEMA.split("points:")[1].replace(
        "default: allow", "default: alow")
    diags = schema_errors(tmp_path, text)
    assert [d.code for d in diags] == ["schema.unknown_key", "schema.unknown_outcome"]


def test_the_shipped_schema_with_type_for_types(tmp_path: Path) -> None:
    text = (RULES / "schema.yaml").read_text(encoding="utf-8").replace("\ntypes:", "\ntype:", 1)
    diags = schema_errors(tmp_path, text)
    assert [d.code for d in diags] == ["schema.unknown_key"]
    assert all("declared types: " not in (d.hint or "") for d in diags)


def test_misspelt_fields_in_facts_are_load_errors(tests_dir: Path, book: Rulebook) -> None:
    f = tests_dir / "credit-control.yaml"
    edit(f, "    set: {dealer.status: suspended}\n", "    facts: {dealer: {statuss: suspended, invoices: [{due: 1}]}}\n")
    diags = load_errors(tests_dir, book)
    assert located(diags) == [("test.unknown_field", *line_of(f, "statuss")),
                              ("test.unknown_field", *line_of(f, "due:"))]
    assert [d.hint for d in diags] == ["did you mean 'dealer.status'?", "fields are listed in rules/schema.yaml"]


def test_a_broken_fixture_is_reported_once_not_per_use(tests_dir: Path, book: Rulebook) -> None:
    fx = tests_dir / "fixtures.yaml"
    text = fx.read_text(encoding="utf-8")
    assert "use: order_ok" in text  # another fixture builds on it, and many cases use it
    fx.write_text(text.replace("    order: {id: SO-1,", "    ordr: {id: SO-1,", 1), encoding="utf-8")
    diags = load_errors(tests_dir, book)
    assert located(diags) == [("test.unknown_field", *line_of(fx, "ordr:"))]
    assert diags[0].hint == "did you mean 'order'?"
