"""YAML with a position on every node.

`load_file` / `load_text` read one YAML document with safe semantics (nothing is ever
constructed from a tag) into a tree of `Node`s: every mapping, list and scalar keeps
its 1-based line/column, every mapping value the position of its key, and every
scalar its original text and quoting style, so later phases can point errors at the
exact character, even inside an expression string (`Node.locate`).

Scalars follow a small, predictable resolver (not YAML 1.1's): `true`/`false` are
booleans, `12` an int, `0.1` a `Decimal` built from the source text, `2026-01-01` a
`datetime.date`, `~`/`null`/empty are None; everything else (`yes`, `90%`,
`¥600,000`, `007`) stays a string. Duplicate keys, anchors/aliases, complex keys and
custom tags are errors, and so is nesting deeper than `MAX_DEPTH` levels (`yaml.too_deep`).
"""

from __future__ import annotations

import datetime
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from dealerpolicy.errors import Diagnostic, DiagnosticBag, RulesError, Span

__all__ = ["MAX_DEPTH", "Node", "load_file", "load_text", "read_source"]

# Mappings and lists nested deeper than this are refused (`yaml.too_deep`): the shipped rules nest
# fewer than 15 levels, and PyYAML's composer (and every walk over the tree) recurses once per level.
MAX_DEPTH = 100


@dataclass(frozen=True, slots=True)
class Node:
    """One YAML node: its value (dict/list of Nodes, or a scalar) and where it is."""

    value: Any
    span: Span
    key_span: Span | None = None
    text: str | None = None
    style: str | None = None

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.value, list)

    def get(self, key: str) -> Node | None:
        """The child node under `key` of a mapping, else None."""
        return self.value.get(key) if isinstance(self.value, dict) else None

    def plain(self) -> Any:
        """The value with every Node stripped: dicts, lists and scalars."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value

    def descend(self, path: Sequence[str | int]) -> Node:
        """The deepest node along `path` (e.g. a pydantic `loc`); stops where the path breaks."""
        node = self
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            node = child
        return node

    def locate(self, offset: int, length: int = 1) -> Span:
        """File position of character `offset` of this scalar's value string.

        Handles plain, quoted (escapes approximately) and `|` / `>` block scalars;
        an offset past the end points just after the last character.
        """
        if self.text is None:
            return self.span
        positions = _char_positions(self.text, self.span.line, self.span.col, self.style)
        if not positions:
            return Span(self.span.file, self.span.line, self.span.col,
                        self.span.line, self.span.col + max(length, 1))
        line, col = positions[min(max(offset, 0), len(positions) - 1)]
        return Span(self.span.file, line, col, line, col + max(length, 1))


def _child(node: Node, step: str | int) -> Node | None:
    if isinstance(node.value, dict):
        return node.value.get(str(step))
    if isinstance(node.value, list) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step]
    return None


# --------------------------------------------------------------------------- loading


def load_file(path: Path, display_name: str | None = None) -> Node:
    """Read and parse one YAML file; raises RulesError (all of its problems)."""
    name = display_name or str(path)
    return load_text(read_source(path, name), name)


def read_source(path: Path, display_name: str | None = None) -> str:
    """The text of one rule file; raises RulesError when it is unreadable or not UTF-8."""
    name = display_name or str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RulesError(Diagnostic("file.unreadable", f"cannot read the file: {exc.strerror}",
                                    Span(name, 1, 1))) from None
    try:  # newlines as text mode reads them (the rulebook's version hashes this text)
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:  # located at the first bad byte (its column counted in characters)
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[line_start:exc.start].decode("utf-8")) + 1
        raise RulesError(Diagnostic("yaml.encoding", f"the file is not UTF-8 text ({exc.reason})",
                                    Span(name, data.count(b"\n", 0, exc.start) + 1, col),
                                    hint="save the file as UTF-8")) from None


def load_text(text: str, name: str) -> Node:
    """Parse one YAML document from `text` (`name` is used in spans); raises RulesError."""
    try:
        loader = _Loader(text, name)
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise RulesError(_syntax_diagnostic(exc, name)) from None
    except yaml.reader.ReaderError as exc:
        raise RulesError(_reader_diagnostic(exc, text, name)) from None
    bag = DiagnosticBag(list(loader.problems))
    node = _Builder(name, text, bag).build(root) if root is not None else Node(None, Span(name, 1, 1))
    bag.raise_if_any(RulesError)
    return node


_IMPLICIT = "dealerpolicy:implicit"  # a plain scalar with no explicit tag: resolved by _scalar_value
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAGS = {"tag:yaml.org,2002:map"}
_SEQ_TAGS = {"tag:yaml.org,2002:seq"}


class _Loader(Reader, Scanner, Parser, Composer, Resolver):
    """PyYAML's pipeline up to the node graph; never constructs objects from tags."""

    def __init__(self, text: str, name: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        Resolver.__init__(self)
        self.name = name  # shown in reader/scanner marks
        self.problems: list[Diagnostic] = []
        self.depth = 0  # mappings and lists open around the node being composed

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return _IMPLICIT
        return "tag:yaml.org,2002:map" if kind is MappingNode else "tag:yaml.org,2002:seq"

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.get_event()
            self._alias_problem(event.start_mark, f"alias *{event.anchor} is not allowed")
            return ScalarNode(_IMPLICIT, "", event.start_mark, event.end_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            self._alias_problem(event.start_mark, f"anchor &{event.anchor} is not allowed")
            event.anchor = None
        if not isinstance(event, CollectionStartEvent):
            return super().compose_node(parent, index)
        if self.depth >= MAX_DEPTH:
            return self._skip_too_deep()
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _skip_too_deep(self) -> Any:
        """Report the collection that opens level MAX_DEPTH + 1 and consume it without recursing."""
        start = self.get_event()
        self.problems.append(Diagnostic(
            "yaml.too_deep", f"mappings and lists are nested more than {MAX_DEPTH} levels deep here",
            _span(self.name, start.start_mark),
            hint=f"rule files nest a few levels; flatten the data (at most {MAX_DEPTH} levels)"))
        open_collections = 1
        end = start
        while open_collections:
            end = self.get_event()
            if isinstance(end, CollectionStartEvent):
                open_collections += 1
            elif isinstance(end, CollectionEndEvent):
                open_collections -= 1
        return ScalarNode(_IMPLICIT, "", start.start_mark, end.end_mark)

    def _alias_problem(self, mark: Any, message: str) -> None:
        self.problems.append(Diagnostic(
            "yaml.alias", message, _span(self.name, mark),
            hint="write the value out in full; rule files do not use anchors (&) or aliases (*)"))


def _span(name: str, start: Any, end: Any = None) -> Span:
    if end is None:
        return Span(name, start.line + 1, start.column + 1)
    return Span(name, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


# --------------------------------------------------------------------------- syntax errors

# (substring of PyYAML's problem text, plain-language message, hint)
_SYNTAX_MESSAGES: tuple[tuple[str, str, str | None], ...] = (
    ("mapping values are not allowed here", "unexpected ':'",
     "put a space after ':' only between a key and its value; quote text that contains ': '"),
    ("could not find expected ':'", "missing ':' after a key", "write `key: value`"),
    ("did not find expected key", "bad indentation: expected a key at this level",
     "align the line with the other keys of the same mapping"),
    ("did not find expected '-' indicator", "bad indentation in a list",
     "start every list item with '- ' at the same column"),
    ("did not find expected node content", "missing value", None),
    ("expected <block end>", "bad indentation", "check that this line lines up with its siblings"),
    ("found character '\\t'", "tab character", "indent with spaces, not tabs"),
    ("found unexpected end of stream", "unexpected end of file", "close the quote or bracket"),
    ("found unknown escape character", "unknown escape in a double-quoted string",
     "use single quotes, or write \\\\ for a backslash"),
    ("expected a single document", "more than one YAML document in the file",
     "remove the '---' line: one file holds one document"),
    ("expected ',' or ']'", "missing ',' or ']' in a [ ] list", None),
    ("expected ',' or '}'", "missing ',' or '}' in a { } mapping", None),
    ("found undefined tag handle", "unknown tag", "remove the '!' tag"),
)


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, name: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    span = _span(name, mark) if mark is not None else Span(name, 1, 1)
    detail = " ".join(p for p in (exc.context, exc.problem) if p)
    message, hint = "invalid YAML", None
    for needle, plain, why in _SYNTAX_MESSAGES:
        if needle in detail:
            message, hint = plain, why
            break
    if exc.context and "quoted scalar" in exc.context and exc.context_mark is not None:
        span = _span(name, exc.context_mark)  # where the unclosed quote starts
        message, hint = "a quoted string is not closed", "add the closing quote"
    return Diagnostic("yaml.syntax", f"{message} ({detail})", span, hint=hint)


def _reader_diagnostic(exc: yaml.reader.ReaderError, text: str, name: str) -> Diagnostic:
    before = text[: exc.position]
    line = before.count("\n") + 1
    col = exc.position - (before.rfind("\n") + 1) + 1
    char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
    return Diagnostic("yaml.syntax", f"character {char!r} is not allowed in a YAML file",
                      Span(name, line, col), hint="remove the control character")


# --------------------------------------------------------------------------- node graph → Node


class _Builder:
    def __init__(self, name: str, text: str, bag: DiagnosticBag) -> None:
        self.name = name
        self.text = text
        self.bag = bag

    def build(self, node: Any, key_span: Span | None = None) -> Node:
        span = _span(self.name, node.start_mark, node.end_mark)
        if isinstance(node, MappingNode):
            self._check_tag(node, _MAP_TAGS, span)
            return Node(self._mapping(node), span, key_span)
        if isinstance(node, SequenceNode):
            self._check_tag(node, _SEQ_TAGS, span)
            return Node([self.build(item) for item in node.value], span, key_span)
        return self._scalar(node, span, key_span)

    def _mapping(self, node: MappingNode) -> dict[str, Node]:
        out: dict[str, Node] = {}
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_span = _span(self.name, key_node.start_mark, key_node.end_mark)
            if not isinstance(key_node, ScalarNode):
                self.bag.add("yaml.complex_key", "a key must be a single word or text, not a list or mapping",
                             key_span, hint="write `name: value`")
                continue
            key = key_node.value
            if key in first_lines:
                self._duplicate(key, key_span, first_lines[key])
                continue
            first_lines[key] = key_span.line
            out[key] = self.build(value_node, key_span)
        return out

    def _duplicate(self, key: str, span: Span, first_line: int) -> None:
        self.bag.add("yaml.duplicate_key", f'duplicate key "{key}" (already defined on line {first_line})',
                     span, hint=f'remove or rename one of the two "{key}" keys; the first is on line {first_line}')

    def _scalar(self, node: ScalarNode, span: Span, key_span: Span | None) -> Node:
        text = self.text[node.start_mark.index: node.end_mark.index]
        style = node.style or None
        if node.tag == _IMPLICIT and style is None:
            value = self._plain_value(node.value, span)
        else:
            self._check_tag(node, {_STR_TAG, _IMPLICIT}, span)
            value = node.value
        return Node(value, span, key_span, text, style)

    def _plain_value(self, raw: str, span: Span) -> Any:
        try:
            return _scalar_value(raw)
        except _NumberTooLong as exc:
            limit = sys.get_int_max_str_digits()
            self.bag.add("yaml.invalid_number", f"this integer has {exc.digits:,} digits: too long to be read"
                         + (f" (at most {limit:,})" if limit else ""), span,
                         hint="write a number of a sensible size, or quote it if it is text")
            return raw
        except ValueError:
            self.bag.add("yaml.invalid_date", f"{raw} is not a calendar date", span,
                         hint="write a real date as YYYY-MM-DD, or quote the text")
            return raw

    def _check_tag(self, node: Any, allowed: set[str], span: Span) -> None:
        if node.tag not in allowed and node.tag not in {_IMPLICIT}:
            self.bag.add("yaml.tag", f"tag {node.tag} is not allowed", span,
                         hint="remove the '!' tag; rule files are plain data")


_D = r"\d(?:_?\d)*"
_INT_RE = re.compile(r"[-+]?(?:0|[1-9](?:_?\d)*)")
_FLOAT_RE = re.compile(rf"[-+]?(?:{_D}\.(?:{_D})?|\.{_D})(?:[eE][-+]?\d+)?|[-+]?{_D}[eE][-+]?\d+")
_DATE_RE = re.compile(r"\d{4}-\d\d-\d\d")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}


class _NumberTooLong(ValueError):
    """An integer longer than Python reads (`sys.get_int_max_str_digits()`, 4,300 digits by default)."""

    def __init__(self, digits: int) -> None:
        super().__init__(f"{digits} digits")
        self.digits = digits


def _scalar_value(raw: str) -> Any:
    """Plain scalar text → Python value; raises ValueError for an impossible date,
    `_NumberTooLong` for an integer Python will not read."""
    if raw in _BOOLS:
        return _BOOLS[raw]
    if raw in _NULLS:
        return None
    if _INT_RE.fullmatch(raw):
        text = raw.replace("_", "")
        try:
            return int(text)
        except ValueError:  # the only way int() refuses what _INT_RE matched
            raise _NumberTooLong(len(text.lstrip("+-"))) from None
    if _FLOAT_RE.fullmatch(raw):
        return Decimal(raw.replace("_", ""))
    if _DATE_RE.fullmatch(raw):
        return datetime.date.fromisoformat(raw)
    return raw


# --------------------------------------------------------------------------- character positions

Pos = tuple[int, int]


def _char_positions(text: str, line: int, col: int, style: str | None) -> list[Pos]:
    """(line, col) of every character of the scalar's value, derived from its source text."""
    lines = [part.rstrip("\r") for part in text.split("\n")]
    if style in ("|", ">"):
        return _block_positions(lines, line, style)
    if style in ("'", '"'):
        body = [lines[0][1:]] + lines[1:]
        if body[-1].endswith(style):
            body[-1] = body[-1][:-1]
        decode = _single_quoted if style == "'" else _double_quoted
        return _flow_positions(body, line, col + 1, decode)
    return _flow_positions(lines, line, col, _verbatim)


Decoder = Any  # Callable[[str, int, int], Iterator[Pos]]


def _verbatim(segment: str, line: int, col: int) -> Iterator[Pos]:
    for i in range(len(segment)):
        yield line, col + i


def _single_quoted(segment: str, line: int, col: int) -> Iterator[Pos]:
    i = 0
    while i < len(segment):
        yield line, col + i
        i += 2 if segment.startswith("''", i) else 1


_ESCAPE_WIDTH = {"x": 4, "u": 6, "U": 10}


def _double_quoted(segment: str, line: int, col: int) -> Iterator[Pos]:
    i = 0
    while i < len(segment):
        if segment[i] == "\\" and i + 1 < len(segment):
            yield line, col + i
            i += _ESCAPE_WIDTH.get(segment[i + 1], 2)
            continue
        yield line, col + i
        i += 1


def _flow_positions(lines: list[str], line: int, col: int, decode: Decoder) -> list[Pos]:
    """Plain and quoted scalars: lines fold into one space, blank lines into newlines."""
    out: list[Pos] = []
    blanks: list[Pos] = []
    prev_end: Pos | None = None
    last = len(lines) - 1
    for i, text in enumerate(lines):
        here, first_col = line + i, (col if i == 0 else 1)
        start = 0 if i == 0 else len(text) - len(text.lstrip(" \t"))
        end = len(text) if i == last else len(text.rstrip(" \t"))
        if 0 < i < last and start >= end:
            blanks.append((here, first_col + start))
            continue
        if prev_end is not None:
            out.extend(blanks or [prev_end])
            blanks = []
        out.extend(decode(text[start:end], here, first_col + start))
        prev_end = (here, first_col + end)
    return out


def _block_positions(lines: list[str], line: int, style: str) -> list[Pos]:
    """`|` keeps every line break; `>` folds breaks between plain lines into spaces."""
    content = lines[1:]
    indent = _block_indent(content)
    out: list[Pos] = []
    prev: str | None = None
    pending: list[Pos] = []  # line breaks seen since the last text line
    for i, text in enumerate(content):
        here = line + 1 + i
        body = text[indent:] if len(text) > indent else ""
        if not body.strip(" ") and style == ">":
            pending.append((here, 1))
            continue
        if style == ">" and prev is not None:
            out.extend(_folded_breaks(prev, body, pending))
        elif style == ">":
            out.extend(pending)
        pending = []
        out.extend((here, indent + 1 + k) for k in range(len(body)))
        if style == "|":
            out.append((here, indent + 1 + len(body)))
        else:
            pending.append((here, indent + 1 + len(body)))
        prev = body
    out.extend(pending)
    return out


def _folded_breaks(prev: str, body: str, breaks: list[Pos]) -> list[Pos]:
    """Positions of the characters a folded scalar puts between two text lines."""
    more_indented = prev[:1] in (" ", "\t") or body[:1] in (" ", "\t")
    if more_indented or len(breaks) > 1:
        return breaks if more_indented else breaks[1:]
    return breaks[:1]


def _block_indent(content: list[str]) -> int:
    for text in content:
        if text.strip(" "):
            return len(text) - len(text.lstrip(" "))
    return 0
