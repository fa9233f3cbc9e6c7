"""Rendering of diagnostics for the terminal: location, message, the source line with a caret, hint;
and `printable`, for text from the input (a request, a decision, a rules file) shown on a terminal."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import click

from dealerpolicy.errors import DealerPolicyError, Diagnostic


@lru_cache(maxsize=64)
def _lines(path: str) -> tuple[str, ...]:
    try:
        return tuple(Path(path).read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return ()


# C0 controls, DEL, C1 controls, and lone surrogates (halves of a UTF-16 pair, which no output can encode)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def printable(text: str) -> str:
    """`text` with its control characters written as JSON writes them (`\\u001b`, `\\n`), as error
    messages show input: text from a request or a decision must not retitle, clear or move the
    user's terminal, nor stop the output with a UnicodeEncodeError. Other Unicode is kept."""
    if text.isprintable():  # almost always; twice as fast as the search (a few other characters are not)
        return text
    return _UNPRINTABLE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT.get(char) or f"\\u{ord(char):04x}"


def render_diagnostic(d: Diagnostic) -> str:
    where = d.location()
    out = [printable(f"{where + ': ' if where else ''}{d.severity}[{d.code}]: {d.message}")]
    s = d.span
    if s is not None:
        lines = _lines(s.file)
        if 0 < s.line <= len(lines):
            width = max(1, (s.end_col - s.col) if s.end_col and s.end_line == s.line else 1)
            out += _quoted(s.line, lines[s.line - 1], s.col, width)
    if d.hint:
        out.append(printable(f"  hint: {d.hint}"))
    return "\n".join(out)


EXCERPT = 120  # columns of a source line shown at most: a longer one is cut around the column, with "…"
_LEAD = 40  # columns kept before the column when the line goes on long after it


def _quoted(number: int, text: str, col: int, width: int) -> list[str]:
    """The source line, and a caret under `width` characters from `col`; both escaped, as a
    control character in the line (the very error, perhaps) would act on the terminal. A line
    wider than EXCERPT columns (a one-line JSON file) is shown around the column (`_window`)."""
    shown = printable(text)
    if _width(shown) > EXCERPT:
        before, marked, shown = _window(text, col, width)
    else:
        before, marked = printable(text[:col - 1]), printable(text[col - 1:col - 1 + width])
    return [f"  {number:>4} | {shown}", "       | " + _pad(before, len(before)) + "^" * max(1, len(marked))]


def _window(text: str, col: int, width: int) -> tuple[str, str, str]:
    """At most EXCERPT columns of `text` around `col`, escaped, "…" where cut: (the part before the
    column, the part under the caret, the whole excerpt). The line's start when the column is near
    it, else _LEAD columns before the column, or more when the rest of the line is short; the
    caret's part next, cut if it is too wide; then the rest."""
    start, stop = col - 1, col - 1 + width
    lead = _width(printable(text[:start]))
    if lead > EXCERPT - _LEAD:
        lead = max(_LEAD, EXCERPT - 1 - _width(printable(text[start:])))  # 1: a caret past the line's end
    before, _ = _fit(text[:start], lead, from_end=True)
    room = EXCERPT - _width(before)
    marked, cut = _fit(text[start:stop], room - 1)  # a column left for the "…" after it
    after = "" if cut else _fit(text[stop:], room - _width(marked))[0]
    return before, marked, before + marked + after


def _fit(text: str, budget: int, from_end: bool = False) -> tuple[str, bool]:
    """`text` escaped, in at most `budget` columns (budget >= 1): whole, or cut at its end (at its
    start if from_end) with "…" in place of the rest; and whether it was cut."""
    whole = printable(text)
    if _width(whole) <= budget:
        return whole, False
    kept: list[str] = []
    used = 1  # the "…"
    for ch in reversed(text) if from_end else text:
        unit = printable(ch)  # a character escaped whole: never cut inside its \uXXXX
        used += _width(unit)
        if used > budget:
            break
        kept.append(unit)
    return ("…" + "".join(reversed(kept)) if from_end else "".join(kept) + "…"), True


def _width(text: str) -> int:
    """Terminal columns of `text`, counted as `_pad` counts them."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, n: int) -> str:
    """Spaces under the first n characters; wide (CJK) characters take two columns."""
    return "".join("  " if ord(ch) > 0x2E80 else ("\t" if ch == "\t" else " ") for ch in text[:n])


def report_error(exc: DealerPolicyError, fmt: str = "text", limit: int = 50) -> None:
    if fmt == "json":
        click.echo(json.dumps({"errors": exc.to_json()}, ensure_ascii=False, indent=2))
        return
    diags = exc.diagnostics
    n = len(diags)
    for d in diags[:limit]:
        click.echo(render_diagnostic(d), err=True)
    if n > limit:
        click.echo(f"… and {n - limit} more", err=True)
    click.echo(f"{n} error{'s' if n != 1 else ''}", err=True)
