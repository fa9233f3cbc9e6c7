"""Message templates: `{expression}` placeholders, checked at load time, rendered per decision."""

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

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")


@dataclass(frozen=True)
class Template:
    """A message split into text pieces and checked expressions."""

    parts: tuple[str | ir.Expr, ...]

    def render(self, env: dict) -> str:
        return "".join([p if isinstance(p, str) else format_value(p.fn(env), p.type.kind) for p in self.parts])


def compile_template(text: str, scope: Scope) -> Template:
    parts: list[str | ir.Expr] = []
    pos = 0
    for mt in PLACEHOLDER.finditer(text):
        parts.append(text[pos:mt.start()])
        pos = mt.end()
        if mt.group(1) is None:
            parts.append(mt.group()[0])
            continue
        parts.append(check(parse(mt.group(1).strip()), scope))
    parts.append(text[pos:])
    return Template(tuple(p for p in parts if p != ""))


def check_message(loader: PolicyLoader, text: str, path: tuple, scope: Scope) -> bool:
    """Check every placeholder of a message; problems point at the placeholder inside the text."""
    node = loader._at(path)
    ok = True
    for mt in PLACEHOLDER.finditer(text):
        inner = mt.group(1)
        if inner is None:
            continue
        offset = mt.start(1) + (len(inner) - len(inner.lstrip()))
        try:
            check(parse(inner.strip()), scope)
        except (ExprProblem, ExprProblems) as exc:
            ok = False
            problems = exc.problems if isinstance(exc, ExprProblems) else [exc]
            for p in problems:
                code = "message.unknown_placeholder" if p.code == "expr.unknown_field" else p.code
                loader.bag.add(code, f"message placeholder {{{inner.strip()}}}: {p.message}",
                               node.locate(offset + p.start, max(p.end - p.start, 1)), p.hint, p.suggestions)
    return ok
