"""One error family for every user-facing problem.

Errors are values: a `Diagnostic` says what is wrong (stable dotted `code`), where
(a `Span` in a rules file or a `field_path` in a request), and what to write instead
(`hint`). Exceptions carry a list of diagnostics so a phase can report all problems
at once. Only the CLI and the HTTP service render them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Span:
    """A place in a source file; lines and columns are 1-based."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def shifted(self, line_delta: int, col: int, length: int = 1) -> Span:
        """A span inside this one, e.g. a token inside an expression string."""
        line = self.line + line_delta
        return Span(self.file, line, col, line, col + max(length, 1))


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    field_path: str | None = None
    hint: str | None = None
    severity: str = "error"
    suggestions: tuple[str, ...] = ()

    def sort_key(self) -> tuple:
        s = self.span
        return (s.file, s.line, s.col) if s else ("", 0, 0)

    def location(self) -> str:
        if self.span:
            return str(self.span)
        return self.field_path or ""

    def render(self) -> str:
        where = self.location()
        head = f"{where}: " if where else ""
        text = f"{head}{self.severity}[{self.code}]: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "severity": self.severity, "message": self.message}
        if self.span:
            out.update(asdict(self.span))
        if self.field_path:
            out["field"] = self.field_path
        if self.hint:
            out["hint"] = self.hint
        if self.suggestions:
            out["suggestions"] = list(self.suggestions)
        return out


class DealerPolicyError(Exception):
    """Base of every error a user may see; carries one or more diagnostics."""

    exit_code = 1
    http_status = 400

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic | str, code: str = "error"):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(code, diagnostics)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__(self.render())

    def render(self, limit: int = 50) -> str:
        shown = [d.render() for d in self.diagnostics[:limit]]
        rest = len(self.diagnostics) - limit
        if rest > 0:
            shown.append(f"… and {rest} more")
        return "\n".join(shown)

    def to_json(self) -> list[dict[str, Any]]:
        return [d.to_json() for d in self.diagnostics]


class ConfigError(DealerPolicyError):
    exit_code = 2
    http_status = 500


class RulesError(DealerPolicyError):
    exit_code = 3
    http_status = 422


class FactsError(DealerPolicyError):
    exit_code = 4
    http_status = 422


class UnknownDealerError(FactsError):
    http_status = 404


class AuditError(DealerPolicyError):
    exit_code = 5
    http_status = 503


class EngineError(DealerPolicyError):
    exit_code = 70
    http_status = 500


@dataclass
class DiagnosticBag:
    """Collects diagnostics during a phase; raise them all at the end."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, code: str, message: str, span: Span | None = None, hint: str | None = None,
            suggestions: tuple[str, ...] = (), field_path: str | None = None) -> None:
        self.items.append(Diagnostic(code, message, span, field_path, hint, "error", suggestions))

    def extend(self, diags: list[Diagnostic]) -> None:
        self.items.extend(diags)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, cls: type[DealerPolicyError] = RulesError) -> None:
        if self.items:
            raise cls(self.items)
