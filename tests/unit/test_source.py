"""source.py: located YAML nodes, scalar resolution, locate(), and YAML faults."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from dealerpolicy.errors import RulesError, Span
from dealerpolicy.source import Node, load_file, load_text

DOC = """\
policy: credit-control
params:
  credit_cap: {type: money, value: 600000}
  near_limit:
    type: percent
    value: 90%
rules:
  - id: CR-3
    when: order.payment == "credit" and exposure > dealer.credit_limit
  - id: CR-5
    when: |
      count(dealer.invoices where not paid) > 2
        and order.amount > credit_cap
    note: 'it''s late'
    text: >
      first line
      second line
"""


def problems(text: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(RulesError) as info:
        load_text(text, "f.yaml")
    return [(d.code, d.span.line, d.span.col, d.message) for d in info.value.diagnostics]


def at(span: Span) -> tuple[int, int]:
    return span.line, span.col


@pytest.fixture
def root() -> Node:
    return load_text(DOC, "rules/credit.yaml")


def test_spans_of_nested_keys_and_values(root: Node) -> None:
    near = root.value["params"].value["near_limit"]
    assert at(near.key_span) == (4, 3)
    assert at(near.span) == (5, 5)
    value = near.value["value"]
    assert (at(value.key_span), at(value.span)) == ((6, 5), (6, 12))
    assert value.span.file == "rules/credit.yaml"
    cap = root.value["params"].value["credit_cap"].value["value"]
    assert at(cap.span) == (3, 36) and cap.value == 600000


def test_spans_of_list_items(root: Node) -> None:
    rules = root.value["rules"]
    assert at(rules.key_span) == (7, 1)
    assert [at(item.span) for item in rules.value] == [(8, 5), (10, 5)]
    assert at(rules.value[1].value["when"].key_span) == (11, 5)
    assert at(rules.value[0].value["id"].key_span) == (8, 5)


def test_scalar_text_and_style(root: Node) -> None:
    rule = root.value["rules"].value[1].value
    assert rule["when"].style == "|"
    assert rule["note"].style == "'" and rule["note"].value == "it's late"
    assert rule["note"].text == "'it''s late'"
    assert rule["text"].style == ">" and rule["text"].value == "first line second line\n"
    assert root.value["policy"].style is None and root.value["policy"].text == "credit-control"


def test_plain_strips_nodes(root: Node) -> None:
    data = root.plain()
    assert data["params"]["near_limit"] == {"type": "percent", "value": "90%"}
    assert data["rules"][0]["id"] == "CR-3"


def test_locate_in_plain_scalar(root: Node) -> None:
    when = root.value["rules"].value[0].value["when"]
    offset = when.value.index("exposure")
    span = when.locate(offset, len("exposure"))
    assert (span.line, span.col, span.end_col) == (9, 11 + offset, 11 + offset + 8)
    assert DOC.splitlines()[8][span.col - 1:span.end_col - 1] == "exposure"


def test_locate_in_literal_block(root: Node) -> None:
    when = root.value["rules"].value[1].value["when"]
    assert when.value.startswith("count(dealer.invoices")
    assert at(when.locate(0)) == (12, 7)
    offset = when.value.index("credit_cap")
    span = when.locate(offset, 10)
    assert at(span) == (13, 28)
    assert DOC.splitlines()[12][span.col - 1:span.end_col - 1] == "credit_cap"


def test_locate_in_folded_block(root: Node) -> None:
    text = root.value["rules"].value[1].value["text"]
    assert at(text.locate(text.value.index("second"))) == (17, 7)
    assert at(text.locate(len("first line"))) == (16, 17)  # the folded space is the line break


def test_locate_in_quoted_strings() -> None:
    node = load_text('a: "x \\t y == z"\nb: \'it\'\'s q\'\n', "f").value
    a = node["a"]
    assert a.value == "x \t y == z"
    assert at(a.locate(a.value.index("y"))) == (1, 10)  # the \t escape is two source characters
    b = node["b"]
    assert at(b.locate(b.value.index("q"))) == (2, 11)


def test_locate_past_end_and_on_mapping(root: Node) -> None:
    policy = root.value["policy"]
    assert at(policy.locate(999)) == (1, 9 + len("credit-control") - 1)
    assert root.locate(3) == root.span


def test_locate_multiline_plain_scalar() -> None:
    node = load_text("when: a > 1 and\n  b < 2\n", "f").value["when"]
    assert node.value == "a > 1 and b < 2"
    assert at(node.locate(node.value.index("b"))) == (2, 3)


def test_scalar_resolution() -> None:
    text = ("a: true\nb: false\nc: 0.1\nd: 12\ne: 2026-01-01\nf: ~\ng:\nh: null\ni: 90%\n"
            "j: ¥600,000\nk: yes\nl: '12'\nm: 007\nn: 1_000\no: -3\np: 60:00\nq: \"true\"\n")
    data = load_text(text, "f").plain()
    assert data == {
        "a": True, "b": False, "c": Decimal("0.1"), "d": 12, "e": datetime.date(2026, 1, 1),
        "f": None, "g": None, "h": None, "i": "90%", "j": "¥600,000", "k": "yes", "l": "12",
        "m": "007", "n": 1000, "o": -3, "p": "60:00", "q": "true",
    }
    assert type(data["c"]) is Decimal and type(data["d"]) is int


def test_float_is_decimal_of_source_text() -> None:
    data = load_text("a: 30000.10\nb: 19999.90\n", "f").plain()
    assert data["a"] + data["b"] == Decimal("50000.00")
    assert str(data["a"]) == "30000.10"


def test_int_keys_are_strings() -> None:
    assert load_text("2026: x\n", "f").plain() == {"2026": "x"}


def test_descend_follows_a_loc_path(root: Node) -> None:
    assert root.descend(("rules", 1, "when")) is root.value["rules"].value[1].value["when"]
    assert root.descend(("rules", 1, "nope")) is root.value["rules"].value[1]
    assert root.descend(("rules", 7)) is root.value["rules"]


def test_duplicate_keys_report_second_key_with_first_line() -> None:
    with pytest.raises(RulesError) as info:
        load_text("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "f.yaml")
    diags = info.value.diagnostics
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [
        ("yaml.duplicate_key", 4, 3), ("yaml.duplicate_key", 5, 1)]
    assert diags[0].message == 'duplicate key "c" (already defined on line 3)'
    assert "line 3" in (diags[0].hint or "")


def test_anchors_and_aliases_are_rejected() -> None:
    assert problems("a: &x 1\nb: *x\n") == [
        ("yaml.alias", 1, 4, "anchor &x is not allowed"),
        ("yaml.alias", 2, 4, "alias *x is not allowed"),
    ]


def test_complex_keys_and_tags_are_rejected() -> None:
    assert problems("? [a, b]\n: 1\n")[0][:3] == ("yaml.complex_key", 1, 3)
    found = problems("a: !!python/object:os.system x\n")
    assert found[0][:3] == ("yaml.tag", 1, 4)
    assert load_text("b: !!str 12\n", "f").plain() == {"b": "12"}


def test_impossible_date() -> None:
    assert problems("a: 2026-02-30\n") == [("yaml.invalid_date", 1, 4, "2026-02-30 is not a calendar date")]


@pytest.mark.parametrize(("text", "line", "col", "start"), [
    ("a:\n  b: 1\n c: 2\n", 3, 2, "bad indentation"),
    ("a: b: c\n", 1, 5, "unexpected ':'"),
    ("a: 1\nb\nc: 2\n", 3, 1, "missing ':' after a key"),
    ('a: 1\nb: "abc\nc: 1\n', 2, 4, "a quoted string is not closed"),
    ("a:\n\tb: 1\n", 2, 1, "tab character"),
    ("a: 1\n---\nb: 2\n", 2, 1, "more than one YAML document"),
    ("a: \x07\n", 1, 4, "character '\\x07' is not allowed"),
])
def test_syntax_errors(text: str, line: int, col: int, start: str) -> None:
    [(code, got_line, got_col, message)] = problems(text)
    assert (code, got_line, got_col) == ("yaml.syntax", line, col)
    assert message.startswith(start)


def test_syntax_error_keeps_yaml_problem_text() -> None:
    [(_, _, _, message)] = problems("a: b: c\n")
    assert message == "unexpected ':' (mapping values are not allowed here)"


def test_load_file_uses_display_name(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a:\n  b: 1\n", encoding="utf-8")
    node = load_file(path, "rules/x.yaml")
    assert str(node.value["a"].value["b"].span) == "rules/x.yaml:2:6"
    assert str(load_file(path).span).startswith(str(path))


def test_load_file_errors(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as info:
        load_file(tmp_path / "missing.yaml")
    assert info.value.diagnostics[0].code == "file.unreadable"
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(RulesError) as info:
        load_file(bad)
    assert info.value.diagnostics[0].code == "yaml.encoding"


def test_empty_document() -> None:
    node = load_text("", "f")
    assert node.value is None and at(node.span) == (1, 1)
