"""Tokens of the expression language; offsets are 0-based positions in the expression text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dealerpolicy.lang.problems import ExprProblem
from dealerpolicy.schema.values import DECIMAL_LIMIT, INTEGER_LIMIT, MONEY_LIMIT

KEYWORDS = {"and", "or", "not", "in", "between", "where", "true", "false", "inf"}
OPERATORS = {
    "==": "==", "!=": "!=", "<=": "<=", ">=": ">=", "<": "<", ">": ">",
    "≠": "!=", "≤": "<=", "≥": ">=", "=": "=",
    "+": "+", "-": "-", "*": "*", "/": "/", "×": "*", "÷": "/",
    "(": "(", ")": ")", "[": "[", "]": "]", ",": ",", ".": ".",
    "（": "(", "）": ")", "，": ",",
}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\d]))
  | (?P<money>[¥￥]\s?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?)
  | (?P<number>\d+(?:\.\d+)?%?)
  | (?P<string>"[^"\\]*(?:\\.[^"\\]*)*"|'[^'\\]*(?:\\.[^'\\]*)*'|“[^”]*”|「[^」]*」)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>==|!=|<=|>=|[<>≠≤≥=+\-*/×÷()\[\],.（），])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number percent money date string name keyword op end
    value: object
    start: int
    end: int
    text: str


# The largest literal of each kind: the engine's bounds (schema/values.py), which facts must keep too.
# A bare number may become money or an integer (`order.amount > 1000`): the larger of those bounds.
_LIMITS = {"number": (max(MONEY_LIMIT, Decimal(INTEGER_LIMIT)), "1,000,000,000,000,000 (10^15)"),
           "money": (MONEY_LIMIT, "¥1,000,000,000,000,000.00"),
           "percent": (DECIMAL_LIMIT * 100, "100,000,000,000,000% (a fraction of 10^12)")}


def _number(text: str, start: int, end: int, kind: str = "number", written: str = "") -> Decimal | int:
    raw = text.replace(",", "")
    limit, shown = _LIMITS[kind]
    whole = raw.partition(".")[0].lstrip("0")
    # the digit count first: int() of thousands of digits is slow, and refused beyond 4,300
    if len(whole) > len(str(int(limit))) or Decimal(raw) > limit:
        written = written or text
        if len(written) > 24:
            written = f"{written[:12]}…{written[-4:]} ({len(whole)} digits before the point)"
        raise ExprProblem("expr.number_too_large", f"{written} is out of range: the largest {kind} is {shown}",
                          start, end, "the engine keeps every value exact within these bounds; "
                          "facts beyond them are refused too")
    return int(raw) if raw.isdigit() else Decimal(raw)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise ExprProblem("expr.syntax", f"unexpected character {text[pos]!r}", pos, pos + 1,
                              hint="strings need quotes, e.g. \"华南\"")
        kind = m.lastgroup or ""
        raw = m.group()
        start, end = m.start(), m.end()
        pos = end
        if kind == "ws":
            continue
        tokens.append(_make(kind, raw, start, end))
    tokens.append(Token("end", None, len(text), len(text), ""))
    return tokens


def _make(kind: str, raw: str, start: int, end: int) -> Token:
    if kind == "date":
        try:
            return Token("date", date.fromisoformat(raw), start, end, raw)
        except ValueError:
            raise ExprProblem("expr.syntax", f"{raw} is not a calendar date", start, end) from None
    if kind == "money":
        digits = raw.lstrip("¥￥").strip()
        return Token("money", Decimal(str(_number(digits, start, end, "money", raw))), start, end, raw)
    if kind == "number":
        if raw.endswith("%"):
            return Token("percent", Decimal(str(_number(raw[:-1], start, end, "percent", raw))) / 100, start, end, raw)
        return Token("number", _number(raw, start, end), start, end, raw)
    if kind == "string":
        body = raw[1:-1]
        if raw[0] in "\"'":
            body = re.sub(r"\\(.)", r"\1", body)
        return Token("string", body, start, end, raw)
    if kind == "name":
        if raw in KEYWORDS:
            return Token("keyword", raw, start, end, raw)
        return Token("name", raw, start, end, raw)
    return Token("op", OPERATORS[raw], start, end, raw)
