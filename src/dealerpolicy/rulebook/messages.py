"""Message templates: `{expression}` placeholders, checked at load time, rendered per decision.

`{{` and `}}` write a brace; any other brace must open or close a placeholder. A placeholder
shows one value: a list (`{dealer.invoices}`) is refused — count or sum it instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dealerpolicy.lang import ir
from dealerpolicy.lang.check import Scope, check
from dealerpolicy.lang.parser import parse
from dealerpolicy.lang.problems import ExprProblem, ExprProblems
from dealerpolicy.lang.values import format_value

if TYPE_CHECKING:
    from dealerpolicy.rulebook.load import PolicyLoader

# The placeholders of a message that `check_message` accepted (every brace paired): `{{`, `}}`, `{expr}`.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")
_BRACE = re.compile(r"\{\{|\}\}|[{}]")
_LITERAL_HINT = "write {{ and }} for a brace in the text"


@dataclass(frozen=True)
class Template:
    """A message split into text pieces and checked expressions."""

    parts: tuple[str | ir.Expr, ...]

    def render(self, env: dict) -> str:
        return "".join([p if isinstance(p, str) else format_value(p.fn(env), p.type.kind) for p in self.parts])


@dataclass(frozen=True)
class _BraceProblem:
    message: str
    start: int
    length: int
    hint: str


def brace_problems(text: str) -> list[_BraceProblem]:
    """Braces that neither pair into a placeholder nor are doubled: an unclosed `{`, a `}` opened by
    nothing, an empty `{}` (each with its offset in the text)."""
    problems: list[_BraceProblem] = []
    pos = 0
    while True:
        mt = _BRACE.search(text, pos)
        if mt is None:
            return problems
        brace, at = mt.group(), mt.start()
        pos = mt.end()
        if brace in ("{{", "}}"):
            continue
        if brace == "}":
            problems.append(_BraceProblem("'}' closes no placeholder", at, 1,
                                          f"open the placeholder with '{{', or {_LITERAL_HINT}"))
            continue
        close, reopen = text.find("}", at + 1), text.find("{", at + 1)
        if close < 0 or 0 <= reopen < close:
            problems.append(_BraceProblem("'{' opens a placeholder that is never closed", at, 1,
                                          f"close it with '}}', e.g. {{order.amount}}, or {_LITERAL_HINT}"))
            continue
        if not text[at + 1:close].strip():
            problems.append(_BraceProblem("empty placeholder {}", at, close - at + 1,
                                          f"put a value between the braces, e.g. {{order.amount}}, or {_LITERAL_HINT}"))
        pos = close + 1


def compile_template(text: str, scope: Scope) -> Template:
    """The template of a message `check_message` accepted."""
    parts: list[str | ir.Expr] = []
    pos = 0
    for mt in PLACEHOLDER.finditer(text):
        parts.append(text[pos:mt.start()])
        pos = mt.end()
        if mt.group(1) is None:
            parts.append(mt.group()[0])
            continue
        inner = mt.group(1).strip()
        # (the text names a divisor that is 0; no shared filters: a rule's outputs are in this scope)
        parts.append(check(parse(inner), scope, text=inner, share=False))
    parts.append(text[pos:])
    return Template(tuple(p for p in parts if p != ""))


def check_message(loader: PolicyLoader, text: str, path: tuple, scope: Scope) -> bool:
    """Check the braces and every placeholder of a message; problems point at the place inside the text."""
    node = loader._at(path)
    braces = brace_problems(text)
    for b in braces:
        loader.bag.add("message.syntax", f"message: {b.message}", node.locate(b.start, b.length), b.hint)
    if braces:
        return False
    ok = True
    for mt in PLACEHOLDER.finditer(text):
        inner = mt.group(1)
        if inner is None:
            continue
        offset = mt.start(1) + (len(inner) - len(inner.lstrip()))
        source = inner.strip()
        shown = source if len(source) <= 40 else source[:39] + "…"
        try:
            e = check(parse(source), scope, text=source, share=False)
        except (ExprProblem, ExprProblems) as exc:
            ok = False
            problems = exc.problems if isinstance(exc, ExprProblems) else [exc]
            for p in problems:
                code = "message.unknown_placeholder" if p.code == "expr.unknown_field" else p.code
                loader.bag.add(code, f"message placeholder {{{shown}}}: {p.message}",
                               node.locate(offset + p.start, max(p.end - p.start, 1)), p.hint, p.suggestions)
            continue
        if e.type.kind == "list":
            ok = False
            name = e.path if isinstance(e, ir.Ref) else shown
            loader.bag.add("expr.type_mismatch", f"message placeholder {{{shown}}}: {name} is a list; "
                           "a placeholder shows one value", node.locate(offset, len(source)),
                           f"show a figure of it, e.g. {{count({name})}}, or a sum or max of one of its fields")
    return ok
