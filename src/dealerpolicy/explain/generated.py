"""Generated explanation code: its builder, and the check every piece passes before it is compiled.

On this interpreter a call or a comprehension costs more than the formatting it wraps, so the hot
explanation paths (a rule's entry, its reasons, a derived value's story, the lines of a list) are
written out as straight code once per rule and language. Like the engine's generated code, it is
made of this package's own fragments only: every label, text and function is bound as a constant
`cN`, and `assert_our_code` refuses any other string, name, number or comment.
"""

from __future__ import annotations

import keyword
import re
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
    """Refuse generated source holding any name, string or number this module does not write.

    The source is read with patterns, not Python's tokenizer (whose pure-Python loop took most of
    the loading time of a rule of thousands of conditions): its string literals first, each one
    of ours; then the rest, which may hold only our names, the numbers 0, 1 and 2, spaces,
    newlines and our operators. That is stricter than Python's grammar, never looser: no
    backslash, `#`, stray quote, string prefix or triple quote can appear outside an accepted
    literal, so each literal found is the one Python reads.

    Every check reads within one line, and accepts a name whatever digits it holds; so the digits
    that continue a name are written 0 (`c12` → `c0`; a number stays as it is) and each distinct
    line is read once: the code of a long condition repeats a few lines with other numbers.
    """
    source = "\n".join(set(_NAME_DIGITS.sub("0", source).split("\n")))
    if "'''" in source or '"""' in source:
        raise AssertionError("generated explanation code holds a triple quote: refused")
    for text in set(_STRING.findall(source)):
        ok = text in _OUR_STRINGS or (_OUR_FSTRING.fullmatch(text) is not None
                                      and all(_our_name(name) for name in _FIELD_NAME.findall(text)))
        if not ok:
            raise AssertionError(f"generated explanation code holds {text!r}: refused")
    rest = _STRING.sub(" ", source)
    foreign = _FOREIGN.search(rest)
    if foreign is not None:
        raise AssertionError(f"generated explanation code holds {foreign.group()!r}: refused")
    for word in set(_WORD.findall(rest)):
        ok = _our_name(word) if _NAME_START.match(word) else word in ("0", "1", "2")
        if not ok:
            raise AssertionError(f"generated explanation code holds {word!r}: refused")
    operator = _OTHER_OPERATOR.search(_WORD.sub(" ", rest))
    if operator is not None:
        raise AssertionError(f"generated explanation code holds {operator.group()!r}: refused")


# A string literal not glued to a name or a dot (a prefixed b"…" or rb"…" is left unmatched, and its
# quote refused as foreign); an f-string only as f"…".
_STRING = re.compile(r"""(?<![\w.])f?"[^"\n]*"|(?<![\w.])'[^'\n]*'""")
_NAME_DIGITS = re.compile(r"(?<=[A-Za-z_])[0-9]+")  # digits that continue a name (in code or a string)
_NAME_DIGITS = re.compile(r"(?<=[A-Za-z_])[0-9]+")  # digits that continue a name (or a word in a string)
_FIELD_NAME = re.compile(r"[A-Za-z_]\w*")  # the names of an f-string's replacement fields
# anything but ASCII letters, digits, _, space, newline and the characters of the operators generated
# code writes: ( ) * + += , . : = == [ ] { }
_FOREIGN = re.compile(r"[^A-Za-z0-9_ \n()*+,.:=\[\]{}]")
_WORD = re.compile(r"[A-Za-z_]\w*|\.?[0-9][\w.]*")  # names; numbers, with whatever their digits run into
_NAME_START = re.compile(r"[A-Za-z_]")
_OTHER_OPERATOR = re.compile(r"\*\*|\*=|:=|\.\.\.")  # Python operators made of those characters, not written
