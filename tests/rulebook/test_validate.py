"""`dealerpolicy validate`: every error kind, each with its exact file:line:column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealerpolicy.cli.main import cli
from dealerpolicy.errors import RulesError
from dealerpolicy.rulebook.load import load_rulebook
from minirules import HEADER


def errors_of(rules: Path, body: str) -> list[tuple[int, int, str, str]]:
    """(line, col, code, message) of each problem of one policy file."""
    (rules / "policies" / "p.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(RulesError) as exc:
        load_rulebook(rules)
    return [(d.span.line, d.span.col, d.code, d.message) for d in exc.value.diagnostics if d.span]


RULE = """\
rules:
  - id: R-1
    title: {zh: 规则, en: Rule}
    when: %s
    then:
      outcome: %s
      message: {zh: "消息 %s", en: "message"}
"""


def rule(when: str = "order.amount > ¥1", outcome: str = "warn", placeholder: str = "") -> str:
    return HEADER + RULE % (when, outcome, placeholder)


CASES = [
    ("yaml syntax", HEADER + "rules: [\n  - id: x\n", (7, 3, "yaml.syntax")),
    ("unknown key with did-you-mean", HEADER.replace("version: 1", "verison: 1") + rule().split("\n", 5)[5],
     (4, 1, "rule.unknown_key")),
    ("unknown field in an expression", rule("order.amont > ¥1"), (9, 17, "expr.unknown_field")),
    ("money compared with a date", rule("order.amount > order.date"), (9, 11, "expr.type_mismatch")),
    ("string compared with a number", rule("order.id > 5"), (9, 11, "expr.type_mismatch")),
    ("unknown function", rule("flor(order.amount) > ¥1"), (9, 11, "expr.unknown_function")),
    ("wrong arity", rule("days_between(order.date) > 1"), (9, 11, "expr.arity")),
    ("undefined param", rule("order.amount > limit_x"), (9, 26, "expr.unknown_field")),
    ("outcome not in vocabulary", rule(outcome="block"), (11, 16, "rule.unknown_outcome")),
    ("unknown message placeholder", rule(placeholder="{order.amout}"), (12, 32, "message.unknown_placeholder")),
]


@pytest.mark.parametrize("name, body, expected", CASES, ids=[c[0] for c in CASES])
def test_error_location(rules: Path, name: str, body: str, expected: tuple[int, int, str]):
    found = errors_of(rules, body)
    assert expected in [(line, col, code) for line, col, code, _ in found], found


def test_unknown_key_suggests_the_right_one(rules: Path):
    body = HEADER.replace("version: 1", "verison: 1") + rule().split("\n", 5)[5]
    (rules / "policies" / "p.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(RulesError) as exc:
        load_rulebook(rules)
    unknown = [d for d in exc.value.diagnostics if d.code == "rule.unknown_key"][0]
    assert unknown.hint == "did you mean 'version'?"


def test_duplicate_rule_id(rules: Path):
    body = rule() + RULE.split("\n", 1)[1] % ("order.amount > ¥2", "hold", "")
    found = errors_of(rules, body)
    assert (13, 9, "rule.duplicate_id") in [(a, b, c) for a, b, c, _ in found]


TABLE = HEADER + """\
derive:
  band:
    type: integer
    table:
      on: days_between(order.date, 2026-12-31)
      rows:
        - {range: "[1, 15]", value: 1}
        - {range: "%s", value: 2}
rules:
  - id: R-1
    title: {zh: 规则, en: Rule}
    when: band == 2
    then: {outcome: warn, message: {zh: 消息, en: message}}
"""


def test_overlapping_table_rows(rules: Path):
    found = errors_of(rules, TABLE % "[15, 60]")
    assert (13, 19, "table.overlap") in [(a, b, c) for a, b, c, _ in found]


def test_gapped_table_rows(rules: Path):
    found = errors_of(rules, TABLE % "[17, 60]")
    assert (13, 19, "table.gap", "values between rows [1, 15] and [17, 60] have no row") in found


def test_contiguous_integer_rows_are_fine(rules: Path):
    (rules / "policies" / "p.yaml").write_text(TABLE % "[16, inf)", encoding="utf-8")
    assert load_rulebook(rules).policies[0].derived[0].name == "band"


def test_cycle_among_derived_values(rules: Path):
    body = HEADER + """\
derive:
  a: {type: integer, expr: b + 1}
  b: {type: integer, expr: a + 1}
rules:
  - id: R-1
    title: {zh: 规则, en: Rule}
    when: a > 1
    then: {outcome: warn, message: {zh: 消息, en: message}}
"""
    found = errors_of(rules, body)
    assert any(code == "derive.cycle" and "a → b → a" in msg for _, _, code, msg in found), found


def test_all_errors_reported_at_once(rules: Path):
    body = rule("order.amont > ¥1", outcome="block", placeholder="{nope}")
    codes = sorted(code for _, _, code, _ in errors_of(rules, body))
    assert codes == ["expr.unknown_field", "message.unknown_placeholder", "rule.unknown_outcome"]


def test_cli_text_and_json_and_exit_codes(rules: Path):
    (rules / "policies" / "p.yaml").write_text(rule("order.amont > ¥1"), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["validate", str(rules)])
    assert result.exit_code == 1
    path = rules / "policies" / "p.yaml"
    assert f"{path}:9:17: error[expr.unknown_field]: order has no field 'amont'" in result.output
    assert "hint: did you mean order.amount?" in result.output
    assert "^^^^^" in result.output  # a caret under the bad field, inside the expression
    as_json = runner.invoke(cli, ["validate", str(rules), "--format", "json"])
    assert as_json.exit_code == 1
    first = json.loads(as_json.output)["errors"][0]
    assert (first["line"], first["col"], first["code"]) == (9, 17, "expr.unknown_field")
    assert first["suggestions"][0] == "order.amount"


def test_cli_clean_summary(rules: Path):
    (rules / "policies" / "p.yaml").write_text(rule(), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(rules)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 1 policies, 1 rules, 1 points (order)")


def test_json_schema_of_the_format():
    result = CliRunner().invoke(cli, ["schema", "--json-schema"])
    schema = json.loads(result.output)
    assert result.exit_code == 0
    assert set(schema["required"]) >= {"policy", "point", "rules", "title", "version", "effective_from"}
    assert schema["additionalProperties"] is False


def test_overlapping_versions_of_one_policy(rules: Path):
    (rules / "policies" / "a.yaml").write_text(rule(), encoding="utf-8")
    (rules / "policies" / "b.yaml").write_text(rule().replace("version: 1", "version: 2"), encoding="utf-8")
    with pytest.raises(RulesError) as exc:
        load_rulebook(rules)
    assert [d.code for d in exc.value.diagnostics] == ["policy.overlapping_versions"]


ENUM_DERIVED = HEADER + """\
derive:
  size:
    type: enum(small, large)
    table:
      on: order.amount
      rows:
        - {range: "(-inf, ¥10,000)", value: small}
        - {range: "[¥10,000, inf)", value: %s}
rules:
  - id: R-1
    title: {zh: 规则, en: Rule}
    when: size == "%s"
    then: {outcome: warn, message: {zh: 消息, en: message}}
"""


def test_enum_typed_derived_values_check_their_values(rules: Path):
    found = errors_of(rules, ENUM_DERIVED % ("large", "huge"))
    assert [(c, m) for _, _, c, m in found] == [
        ("expr.unknown_value", "'huge' is not one of the allowed values of size (small, large)")]
    found = errors_of(rules, ENUM_DERIVED % ("big", "large"))
    assert [c for _, _, c, _ in found] == ["table.invalid_value"]
    (rules / "policies" / "p.yaml").write_text(ENUM_DERIVED % ("large", "large"), encoding="utf-8")
    assert load_rulebook(rules).policies[0].derived[0].type.values == ("small", "large")


def test_validate_names_the_rules_that_need_legal_review():
    shipped = Path(__file__).resolve().parents[2] / "rules"
    result = CliRunner().invoke(cli, ["validate", str(shipped)])
    assert result.exit_code == 0, result.output
    assert ("note: 2 rule(s) tagged legal_review (cross-territory:XR-8, cross-territory:XR-8b)"
            in result.output)


def test_unreadable_and_non_utf8_files_are_located_errors_not_tracebacks(rules: Path):
    (rules / "policies" / "gbk.yaml").write_bytes(HEADER.encode() + "title2: 现款\n".encode("gb18030"))
    (rules / "policies" / "gone.yaml").symlink_to(rules / "nowhere.yaml")  # a dangling link
    result = CliRunner().invoke(cli, ["validate", str(rules)])
    assert result.exit_code == 1
    assert f"{rules / 'policies' / 'gbk.yaml'}:6:9: error[yaml.encoding]: the file is not UTF-8 text" in result.output
    assert f"{rules / 'policies' / 'gone.yaml'}:1:1: error[file.unreadable]: cannot read the file" in result.output
    assert "Traceback" not in result.output


def test_a_schema_that_is_not_utf8_is_a_located_error(rules: Path):
    with (rules / "schema.yaml").open("ab") as f:
        f.write("# 现款\n".encode("gb18030"))
    with pytest.raises(RulesError) as exc:
        load_rulebook(rules)
    [d] = exc.value.diagnostics
    lines = (rules / "schema.yaml").read_bytes().count(b"\n")
    assert (d.code, d.span.line, d.span.col) == ("yaml.encoding", lines, 3)


def test_the_reload_watcher_reads_rule_files_as_the_loader_does(rules: Path):
    from dealerpolicy.service.reload import folder_version

    (rules / "policies" / "p.yaml").write_bytes(b"policy: p\r\ntitle: x\r\n")
    assert folder_version(rules) == load_version(rules)
    (rules / "policies" / "gbk.yaml").write_bytes("title: 现款\n".encode("gb18030"))
    assert folder_version(rules) is None  # not UTF-8: no version, no crash


def load_version(rules: Path) -> str:
    from dealerpolicy.rulebook.plan import content_hash
    from dealerpolicy.source import read_source

    return content_hash({"schema.yaml": read_source(rules / "schema.yaml"),
                         "policies/p.yaml": (rules / "policies" / "p.yaml").read_text(encoding="utf-8")})
