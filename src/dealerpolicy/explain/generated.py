"""Generated explanation code: its builder, and the check every piece passes before it is compiled.

On this interpreter a call or a comprehension costs more than the formatting it wraps, so the hot
explanation paths (a rule's entry, its reasons, a derived value's story, the lines of a list) are
written out as straight code once per rule and language. Like the engine's generated code, it is
made of this package's own fragments only: every label, text and function is bound as a constant
`cN`, and `assert_our_code` refuses any other string, name, number or comment.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections.abc import Iterator
from typing import Any

from dealerpolicy.lang.values import Unknown

ERROR = Unknown(frozenset(), "error")  # the value of a closure that raised: an explanation never breaks


class Code:
    """Python source for explanations, made of local names and indices only: every name, label, text
    and function it uses is bound in its namespace as a constant `cN` (never written into the code)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.space: dict[str, Any] = {"ERROR": ERROR}
        self._ids: dict[int, str] = {}

    def const(self, value: Any) -> str:
        name = self._ids.get(id(value))
        if name is None:
            name = self._ids[id(value)] = f"c{len(self._ids)}"
            self.space[name] = value
        return name

    def add(self, line: str) -> None:
        self.lines.append(line)

    def build(self, name: str, what: str) -> Any:
        source = "\n".join(self.lines) + "\n"
        assert_our_code(source)
        exec(compile(source, f"<explain {what}>", "exec"), self.space)  # noqa: S102 - checked just above
        return self.space[name]


# What generated explanation code may contain: its own local names, the JSON keys of the decision
# contract, and the separators of its texts. A rulebook's text only ever reaches it as a `cN`.
_CONTRACT_KEYS = ("claim", "clause", "counted", "derived", "excluded", "expr", "failed", "field",
                  "high", "inclusive", "index", "items", "label", "left", "list", "low", "message",
                  "missing", "name", "negated", "op", "options", "outcome", "outputs", "param",
                  "policy", "reasons", "result", "right", "row", "rule", "status", "tags", "text",
                  "title", "unknown", "value", "version")
_OUR_STRINGS = frozenset({f'"{k}"' for k in _CONTRACT_KEYS} | {"''", "')'", "', '", "' ('", "' and '"})
_OUR_FSTRING = re.compile(r'f"(?:\{[a-z_]\w*(?:\([a-z_]\w*\))?\}|\] \(|, )*"')  # list lines: {c_head}{i}] (…)
_OUR_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_OUR_CAPITALS = frozenset({"ERROR", "Exception", "TypeError", "ValueError", "AttributeError", "True", "False",
                           "None"})
_OUR_KEYWORDS = frozenset({"and", "or", "not", "def", "if", "elif", "else", "for", "in", "is", "return", "try",
                           "except", "continue", "break", "pass"})
_FORBIDDEN_NAMES = frozenset({"eval", "exec", "compile", "open", "globals", "locals", "vars", "getattr", "setattr",
                              "delattr", "breakpoint", "input", "help", "exit", "quit"})


def _our_name(text: str) -> bool:
    if keyword.iskeyword(text):
        return text in _OUR_KEYWORDS or text in _OUR_CAPITALS
    if text in _OUR_CAPITALS or text == "__class__":
        return True
    return _OUR_NAME.fullmatch(text) is not None and "__" not in text and text not in _FORBIDDEN_NAMES


def assert_our_code(source: str) -> None:
    """Refuse generated source holding any name, string or number this module does not write."""
    for tok in _tokens(source):
        text = tok.string
        if tok.type == tokenize.NAME:
            ok = _our_name(text)
        elif tok.type == tokenize.STRING:
            ok = text in _OUR_STRINGS or _OUR_FSTRING.fullmatch(text) is not None
        elif tok.type == tokenize.NUMBER:
            ok = text in ("0", "1", "2")
        else:
            ok = tok.type in _LAYOUT or (tok.type == tokenize.OP and text in _OPS)
        if not ok:
            raise AssertionError(f"generated explanation code holds {text!r}: refused")


_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+ (PEP 701)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def _tokens(source: str) -> Iterator[tokenize.TokenInfo]:
    """The source's tokens, an f-string as one STRING token as Python 3.11 gives it.

    From 3.12 on, the tokenizer splits an f-string into its start, literal pieces, the names
    and operators of its replacement fields and its end; checking the whole text against
    `_OUR_FSTRING` keeps the guard the same on every Python this project supports.
    """
    lines = source.splitlines(keepends=True)
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for tok in tokens:
        if _FSTRING_START is None or tok.type != _FSTRING_START:
            yield tok
            continue
        depth, end = 1, tok
        while depth:
            end = next(tokens)
            depth += (end.type == _FSTRING_START) - (end.type == _FSTRING_END)
        if tok.start[0] == end.end[0]:
            text = lines[tok.start[0] - 1][tok.start[1]:end.end[1]]
        else:  # not written by this module: refused by the STRING check whatever it holds
            text = "".join(lines[tok.start[0] - 1:end.end[0]])
        yield tokenize.TokenInfo(tokenize.STRING, text, tok.start, end.end, tok.line)


_LAYOUT = frozenset({tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER})
_OPS = frozenset({"(", ")", "*", "+", "+=", ",", ".", ":", "=", "==", "[", "]", "{", "}"})
