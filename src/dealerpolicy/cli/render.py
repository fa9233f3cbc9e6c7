"""Rendering of diagnostics for the terminal: location, message, the source line with a caret, hint."""

from __future__ import annotations

import json
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


def render_diagnostic(d: Diagnostic) -> str:
    where = d.location()
    out = [f"{where + ': ' if where else ''}{d.severity}[{d.code}]: {d.message}"]
    s = d.span
    if s is not None:
        lines = _lines(s.file)
        if 0 < s.line <= len(lines):
            text = lines[s.line - 1]
            width = max(1, (s.end_col - s.col) if s.end_col and s.end_line == s.line else 1)
            out.append(f"  {s.line:>4} | {text}")
            out.append("       | " + _pad(text, s.col - 1) + "^" * min(width, max(1, len(text) - s.col + 1)))
    if d.hint:
        out.append(f"  hint: {d.hint}")
    return "\n".join(out)


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
