"""Problems found in one expression, located by character offsets into its text.

The rulebook loader turns offsets into file positions (the expression's YAML scalar knows
where each character sits), so errors point inside the expression, not at its key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExprProblem(Exception):
    code: str
    message: str
    start: int
    end: int
    hint: str | None = None
    suggestions: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.code} at {self.start}: {self.message}"


class ExprProblems(Exception):
    """Several problems of one expression (the checker keeps going after the first)."""

    def __init__(self, problems: list[ExprProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
