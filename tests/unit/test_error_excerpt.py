"""A diagnostic's source line: quoted whole when short, as a window around the column when long
(a one-line JSON or YAML file), with the caret still under the character it points at."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

from click.testing import CliRunner

from dealerpolicy.cli.main import cli
from dealerpolicy.cli.render import EXCERPT, render_diagnostic
from dealerpolicy.errors import Diagnostic, Span

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"
CONTROL = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\n"}


def columns(text: str) -> int:
    """Terminal columns, by Unicode's own widths (not the code's)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def quoted(tmp_path: Path, line: str, col: int, width: int = 1) -> tuple[str, str]:
    """The quoted line and the caret line of a diagnostic at line 2, `col`, without their margins."""
    path = tmp_path / f"f{len(list(tmp_path.iterdir()))}.yaml"  # a new file each time: lines are cached
    path.write_text("first: 1\n" + line + "\n", encoding="utf-8")
    out = render_diagnostic(Diagnostic("x.bad", "bad", Span(str(path), 2, col, 2, col + width))).splitlines()
    assert out[1].startswith("     2 | ") and out[2].startswith("       | "), out
    return out[1].removeprefix("     2 | "), out[2].removeprefix("       | ")


def caret_under(shown: str, caret: str, marked: str) -> bool:
    """Whether the caret line's first ^ is under the first `marked` in the quoted line."""
    return caret.index("^") == columns(shown[:shown.index(marked)])


def test_a_short_line_is_quoted_whole_as_before(tmp_path: Path):
    assert quoted(tmp_path, "  amount: 5000  # yuan", 11, 4) == ("  amount: 5000  # yuan", " " * 10 + "^^^^")
    assert quoted(tmp_path, "title: {zh: 授\x1b信}", 14) == ("title: {zh: 授\\u001b信}", " " * 14 + "^" * 6)


def test_a_line_of_exactly_the_excerpt_width_is_whole_and_one_column_more_is_cut(tmp_path: Path):
    line = "a" * (EXCERPT - 1) + "X"
    assert quoted(tmp_path, line, EXCERPT) == (line, " " * (EXCERPT - 1) + "^")
    shown, caret = quoted(tmp_path, line + "b", EXCERPT)
    assert shown.startswith("…") and not shown.endswith("…") and shown.endswith("Xb")
    assert columns(shown) <= EXCERPT and caret_under(shown, caret, "X")


def test_a_long_line_is_cut_at_both_ends_around_the_column(tmp_path: Path):
    line = "a" * 2499 + "X" + "b" * 2500
    shown, caret = quoted(tmp_path, line, 2500)
    assert shown.startswith("…a") and shown.endswith("b…")
    assert 100 <= columns(shown) <= EXCERPT
    assert caret_under(shown, caret, "X") and caret.strip() == "^"
    assert 10 < caret.index("^") < columns(shown) - 10  # context on both sides


def test_a_column_near_the_start_keeps_the_start(tmp_path: Path):
    line = "{" + "a" * 8 + "X" + "b" * 4990
    shown, caret = quoted(tmp_path, line, 10)
    assert shown.startswith("{aaaaaaaaXb") and shown.endswith("b…") and columns(shown) <= EXCERPT
    assert caret == " " * 9 + "^"


def test_a_column_near_the_end_keeps_the_end_and_a_caret_past_it(tmp_path: Path):
    line = "a" * 4995 + "X" + "}}}}"
    shown, caret = quoted(tmp_path, line, 4996)
    assert shown.startswith("…") and shown.endswith("aX}}}}") and columns(shown) <= EXCERPT
    assert caret_under(shown, caret, "X")
    shown, caret = quoted(tmp_path, line, len(line) + 1)  # e.g. "unexpected end of the line"
    assert shown.endswith("X}}}}") and caret.index("^") == columns(shown)


def test_wide_characters_keep_the_caret_under_its_character(tmp_path: Path):
    line = "订单" * 1200 + "X" + "金额" * 1200
    shown, caret = quoted(tmp_path, line, 2401)
    assert shown[0] == "…" and shown[1] in "订单" and shown.endswith("…")
    assert columns(shown) <= EXCERPT and caret_under(shown, caret, "X")


def test_control_characters_in_a_long_line_are_escaped_never_cut_inside_their_escape(tmp_path: Path):
    line = "a\x1b" * 2000 + "X" + "\x07b" * 2000
    for col in (4001, 10, len(line) - 3):
        shown, caret = quoted(tmp_path, line, col)
        assert not CONTROL & set(shown)
        assert re.fullmatch(r"…?(?:a|b|X|\\u001b|\\u0007)*…?", shown), shown
        assert columns(shown) <= EXCERPT
    shown, caret = quoted(tmp_path, line, 4001)
    assert caret_under(shown, caret, "X")


def test_a_mark_wider_than_the_excerpt_is_cut_and_the_caret_starts_under_it(tmp_path: Path):
    line = "a" * 199 + "X" + "b" * 4800
    shown, caret = quoted(tmp_path, line, 200, 3000)
    assert shown.startswith("…") and shown.endswith("b…") and columns(shown) <= EXCERPT
    assert caret_under(shown, caret, "X") and columns(caret) <= EXCERPT


def test_validate_quotes_a_long_rules_line_around_the_fault(tmp_path: Path):
    rules = tmp_path / "rules"
    shutil.copytree(MINI, rules)
    credit = rules / "policies" / "credit.yaml"
    title = "授" + "长" * 3000
    credit.write_text(credit.read_text(encoding="utf-8").replace("title: {zh: 授", f"title: {{zh: {title}\x1b", 1),
                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(rules)])
    assert result.exit_code == 1
    assert not CONTROL & set(result.output)
    shown, caret = (line[9:] for line in result.stderr.splitlines()[1:3])
    assert shown.startswith("…长") and shown.endswith("\\u001b信, en: Credit}")
    assert columns(shown) <= EXCERPT and caret.endswith("^" * 6) and caret_under(shown, caret, "\\u001b")
