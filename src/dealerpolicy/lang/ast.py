"""Parse tree of an expression: frozen nodes, each with its character range in the text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: object
    kind: str  # number percent money date string boolean infinity


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Name(Node):
    parts: tuple[str, ...]
    part_starts: tuple[int, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Index(Node):
    base: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # '-' or 'not'
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # + - * / == != < <= > >=
    left: Node
    right: Node
    op_start: int = 0


@dataclass(frozen=True, slots=True)
class Logical(Node):
    op: str  # and / or
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class InList(Node):
    value: Node
    options: Node
    negated: bool


@dataclass(frozen=True, slots=True)
class Between(Node):
    value: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    func: str
    func_end: int
    args: tuple[Node, ...]
    where: Node | None = None
