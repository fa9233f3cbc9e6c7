"""Read decision requests from JSON, JSONL or CSV, each with the line it came from.

JSONL (one request per line) is the default and the fast path. A JSON array, and requests
pretty-printed one after another (`jq . orders.jsonl`), are read whole, each numbered by the line
it starts on; CSV is read row by row. What cannot be read is a FactsError at its line, never a
traceback, and the other requests are still read: a key twice in one JSON object, an integer too
long to convert, a cell over csv's size limit, a quote never closed.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from dealerpolicy.errors import Diagnostic, FactsError
from dealerpolicy.schema.model import Schema
from dealerpolicy.textinput import RefusedJSON, json_loads, json_value_at

TRUE = {"true", "1", "yes", "y", "是"}
FALSE = {"false", "0", "no", "n", "否"}
_JSON_NAMES = (".jsonl", ".ndjson", ".json")
_BOM = "\ufeff"


def read_requests(lines: Iterable[str], name: str, schema: Schema,
                  default_point: str | None) -> Iterator[tuple[int, Any]]:
    """Yield (line, raw request or FactsError) in input order; one bad line never stops the rest.

    `lines` are the input's lines with their endings (`textinput.text_lines`); JSONL and CSV are
    read as they are used, so a file of any size takes little memory. A JSON array, and JSON
    values one after another, are read whole.
    """
    lines = iter(lines)
    ahead: list[str] = []  # the leading blank lines and the first other one
    for line in lines:
        ahead.append(line)
        if line.strip():
            break
    # a second byte-order mark is no reason to take JSON for CSV: it is reported where it is read
    first = ahead[-1].strip().lstrip(_BOM).lstrip() if ahead else ""
    rest = itertools.chain(ahead, lines)
    if _is_csv(name, first):
        yield from _csv(rest, schema, default_point)
    elif first.startswith("["):
        yield from _array(_Text(list(rest)))
    else:
        yield from _jsonl(rest)


def _is_csv(name: str, first: str) -> bool:
    """CSV by its name; or, for a name that does not say JSON (stdin, .txt), by a first line that
    holds a comma and does not open JSON. A .jsonl whose first line is `# orders, July` is JSONL
    with a bad first line, not a CSV header that makes every request a bad row."""
    low = name.lower()
    if low.endswith(".csv"):
        return True
    return not low.endswith(_JSON_NAMES) and not first.startswith(("{", "[")) and "," in first


def _bad(line: int, message: str, hint: str | None = None) -> FactsError:
    return FactsError(Diagnostic("request.invalid", message, field_path=f"line {line}", hint=hint))


# --- JSONL: one request per line ----------------------------------------------------------------

def _jsonl(lines: Iterator[str]) -> Iterator[tuple[int, Any]]:
    """One request per line; or, when the first line opens JSON that goes on past it (a
    pretty-printed request's `{`), JSON values one after another, read whole."""
    numbered = enumerate(lines, 1)
    found = next(((n, text) for n, text in numbered if text.strip()), None)
    if found is None:
        return
    number, line = found
    value = _line_value(number, line)
    if isinstance(value, FactsError) and _goes_on(line):
        yield from _sequence(_Text([line, *(later for _, later in numbered)], first_line=number))
        return
    yield number, value
    for number, line in numbered:
        if line.strip():
            yield number, _line_value(number, line)


def _goes_on(line: str) -> bool:
    """Whether `line` opens a JSON object that is cut off by the line's end (not one that is
    broken inside the line: that is a bad JSONL line, and the lines after it are read as JSONL)."""
    text = line.strip()
    if not text.startswith("{"):
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.pos >= len(text)
    except (ValueError, RecursionError):
        return False
    return False


def _line_value(number: int, line: str) -> Any:
    """The request on one line, or the FactsError saying why it is not one."""
    text = line.rstrip("\r\n")
    try:
        value = _loads(text)
        if _may_repeat(text, value) and (repeat := _repeat_in(json_loads(text, object_pairs_hook=_pairs))):
            return _bad(number, repeat, hint=_REPEAT_HINT)
    except (json.JSONDecodeError, RecursionError) as exc:
        return _bad_json(number, exc)
    return value


def _bad_json(number: int, exc: Exception) -> FactsError:
    if isinstance(exc, json.JSONDecodeError):
        what, hint = _what(exc)
        return _bad(number, f"invalid JSON at column {exc.colno}: {what}", hint=hint)
    return _bad(number, _TOO_DEEP)


def _what(exc: json.JSONDecodeError) -> tuple[str, str | None]:
    """What is wrong, in words, and the way out when there is one to give."""
    if exc.doc[exc.pos:exc.pos + 1] == _BOM:  # json: "Unexpected UTF-8 BOM" or "Expecting value"
        return ("a byte-order mark (U+FEFF) inside the text",
                "only the very start of a file may hold one: save it again as UTF-8, or delete the mark")
    return exc.msg, None


_DEEP = "nested too deeply (a request is a few levels deep)"
_TOO_DEEP = f"invalid JSON: {_DEEP}"
# Every ASCII digit byte to "0", every other byte to " ": a run of 19 digits in a line then shows
# as 19 zeros, found by a plain substring search (UTF-8 encodes no other character with such bytes).
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_NINETEEN_DIGITS = b"0" * 19  # an integer this long may lie beyond 64 bits


def _has_long_number(line: str) -> bool:
    """Whether `line` holds 19 digits in a row. ~3.6 µs on a 1.3 KB request, against 24–33 µs for
    the regular expression `[0-9]{19}` / `\\d{19}`, which tries every character in Python's regex
    engine (0.8 s of `check`'s 6.6 s on 20,000 orders)."""
    return _NINETEEN_DIGITS in line.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZEROS)


def _loads(line: str) -> Any:
    """`json.loads(line)`, through orjson when that gives the same value (~4x faster on a request).

    orjson reads an integer beyond 64 bits as a float, and refuses NaN, Infinity and lone
    surrogates, which the standard module reads; such lines (and any line orjson refuses,
    for the standard module's error message) are read by the standard module. Either keeps
    the last value of a key given twice (see `_may_repeat`).
    """
    if not _has_long_number(line):
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    return json_loads(line)


# --- a key twice in one object ------------------------------------------------------------------

_REPEAT_HINT = "a key may appear once in an object: delete the one not meant (nothing is decided on a guess)"


def _may_repeat(text: str, value: Any) -> bool:
    """Whether the JSON `text`, read into `value`, may hold a key twice in one object: json and
    orjson keep the last value without a word, so such a text is read again exactly (`_pairs`).

    JSON's only colons outside strings part keys from values: the text has one per key it
    holds, plus the colons inside its strings. Written again by orjson, `value` has one per key
    kept, plus the colons inside the strings kept. Unless the text writes a colon as `\\u003a`,
    it has as many colons only when no key was dropped (a dropped key takes its colon, and those
    in its strings, with it). Measured on the first 5,000 requests of a 20,000-order file (1.3 KB
    each, the fastest of 30 reads of each line): `_line_value` 13.6 → 18.0 µs, ~4.4 µs added; a
    walk over the objects counting their keys instead cost ~8 µs.
    """
    if "\\" in text and "\\u003" in text:
        return True
    try:
        return text.count(":") != orjson.dumps(value).count(b":")
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, read by json
        return True


class _Repeated(dict):  # type: ignore[type-arg]
    """An object read from JSON that held `key` twice (its last value kept)."""

    key: str


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object_pairs_hook: the object, marked as a `_Repeated` when a key came twice."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Repeated(obj)
    seen: set[str] = set()
    marked.key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return marked


def _repeat_in(value: Any) -> str | None:
    """`duplicate key "amount" at facts.order.amount` for the first object (in the order the
    objects open) read by `_pairs` with a key twice; None when there is none."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _Repeated):
            return f"duplicate key {json.dumps(item.key, ensure_ascii=False)} at {_join(path, item.key)}"
        if isinstance(item, dict):
            stack.extend((_join(path, k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(item))))
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- JSON read whole: an array, or values one after another -------------------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's


class _Text:
    """Input read whole, and the line each position in it is on, numbered as the input's lines
    are (a line may end in \\r alone)."""

    def __init__(self, lines: list[str], first_line: int = 1):
        self.lines = lines
        self.text = "".join(lines)
        self.first_line = first_line
        self._starts = list(itertools.accumulate(map(len, lines[:-1]), initial=0))

    def line(self, pos: int) -> int:
        return self.first_line - 1 + max(bisect.bisect_right(self._starts, pos), 1)

    def where(self, pos: int, line: int) -> str:
        """`column C`, or `line L, column C` when `pos` is not on `line`."""
        at = self.line(pos)
        column = f"column {pos - self._starts[at - self.first_line] + 1}"
        return column if at == line else f"line {at}, {column}"

    def skip(self, pos: int) -> int:
        match = _WHITESPACE.match(self.text, pos)
        return match.end() if match else pos

    def next_object(self, line: int) -> int:
        """Where the first line after `line` that starts with `{` begins; the end when none does."""
        for i in range(line - self.first_line + 1, len(self.lines)):
            if self.lines[i].startswith("{"):
                return self._starts[i]
        return len(self.text)

    def invalid(self, exc: json.JSONDecodeError, line: int) -> FactsError:
        what, hint = _what(exc)
        return _bad(line, f"invalid JSON at {self.where(exc.pos, line)}: {what}", hint=hint)


def _value_at(src: _Text, pos: int, line: int) -> tuple[Any, int]:
    """The JSON value at `pos` and where it ends; the value is a FactsError when it is refused (a
    key twice, a lone surrogate, a number too long). Raises json.JSONDecodeError when the text
    is not JSON (nested too deeply included): where the value ends is then unknown."""
    try:
        value, end = json_value_at(src.text, pos, object_pairs_hook=_pairs)
    except RefusedJSON as exc:
        return src.invalid(exc, line), exc.end
    except RecursionError:
        raise json.JSONDecodeError(_DEEP, src.text, pos) from None
    repeat = _repeat_in(value)
    return (_bad(line, repeat, hint=_REPEAT_HINT) if repeat else value), end


def _sequence(src: _Text) -> Iterator[tuple[int, Any]]:
    """JSON values one after another (pretty-printed requests, `jq . orders.jsonl`), each
    numbered by the line it starts on. One that is not JSON is reported there, and reading goes
    on at the next line that starts with `{` (as explain's reader does)."""
    pos = src.skip(0)
    while pos < len(src.text):
        line = src.line(pos)
        try:
            value, end = _value_at(src, pos, line)
        except json.JSONDecodeError as exc:
            yield line, src.invalid(exc, line)
            pos = src.skip(src.next_object(line))
            continue
        yield line, value
        pos = src.skip(end)


def _array(src: _Text) -> Iterator[tuple[int, Any]]:
    """The items of a JSON array, each numbered by the line it starts on (explain's `_item_lines`).
    An item refused (a key twice, a number too long…) is reported alone; an array that is not
    JSON is one error at its line, and nothing in it is decided (where its items are is unknown)."""
    try:
        items = _array_items(src)
    except json.JSONDecodeError as exc:
        line = src.line(exc.pos)
        yield line, src.invalid(exc, line)
        return
    yield from items


def _array_items(src: _Text) -> list[tuple[int, Any]]:
    """Read item by item (so that one refused is refused alone), the array's syntax checked as json does."""
    text, items = src.text, []
    pos = src.skip(0)
    if not text.startswith("[", pos):
        raise json.JSONDecodeError("Expecting value", text, pos)
    pos = src.skip(pos + 1)
    closed = text.startswith("]", pos)
    while not closed:
        line = src.line(pos)
        value, pos = _value_at(src, pos, line)
        items.append((line, value))
        pos = src.skip(pos)
        if text.startswith(",", pos):
            pos = src.skip(pos + 1)
        elif not (closed := text.startswith("]", pos)):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
    after = src.skip(pos + 1)
    if after < len(text):
        raise json.JSONDecodeError("Extra data", text, after)
    return items


# --- CSV ----------------------------------------------------------------------------------------

_QUOTE_HINT = 'close the quote; a " inside a quoted cell is written "", e.g. "5"" pipe"'


def _csv(lines: Iterator[str], schema: Schema, default_point: str | None) -> Iterator[tuple[int, Any]]:
    """Each row as a request, numbered by the line it starts on. A header that makes every row
    ambiguous (a column twice) is reported once, and no row is decided."""
    header: list[str] = []
    for line, cells in _csv_rows(lines, header):
        if isinstance(cells, FactsError):
            yield line, cells
            if not header:
                return  # the header cannot be read: no row can
            continue
        if not header:
            header.extend(cells)
            problem = _header_problem(header, line)
            if problem is not None:
                yield line, problem
                return
            continue
        row: dict[str | None, Any] = dict(zip(header, cells, strict=False))  # a short row: its last cells empty
        if len(cells) > len(header):
            row[None] = cells[len(header):]
        try:
            yield line, _row_request(row, schema, default_point, line)
        except FactsError as exc:
            yield line, exc


def _header_problem(header: list[str], line: int) -> FactsError | None:
    """A column named twice (a row would hold two values for one field), or a byte-order mark in
    a name (a second one, before the first column: `point` would not be found)."""
    places: dict[str, list[int]] = {}
    for number, name in enumerate(header, 1):
        if name.strip():  # empty columns (trailing commas from Excel) are never read
            places.setdefault(name, []).append(number)
    problems = [Diagnostic("request.invalid", f"column {name} appears {_times(len(at))} (columns {_listed(at)}): "
                           "no row is decided", field_path=f"line {line}",
                           hint="keep one of them: a row would give one field two values")
                for name, at in places.items() if len(at) > 1]
    problems += [Diagnostic("request.invalid", f"column {number} ({name!r}): a byte-order mark (U+FEFF) inside the "
                            "text: no row is decided", field_path=f"line {line}",
                            hint="only the very start of a file may hold one: save it again as UTF-8")
                 for number, name in enumerate(header, 1) if _BOM in name]
    return FactsError(problems) if problems else None


def _times(n: int) -> str:
    return "twice" if n == 2 else f"{n} times"


def _listed(numbers: list[int]) -> str:
    *most, last = map(str, numbers)
    return f"{', '.join(most)} and {last}"


class _Tape:
    """The input's lines as csv's reader takes them, counted, keeping those of the row being read:
    to say where a quote never closed opened, and to give back the lines it swallowed."""

    def __init__(self, lines: Iterator[str]):
        self._lines = lines
        self._back: list[str] = []
        self.count = 0  # lines taken (and not given back)
        self.row: list[str] = []

    def __iter__(self) -> _Tape:
        return self

    def __next__(self) -> str:
        line = self._back.pop() if self._back else next(self._lines)
        self.count += 1
        self.row.append(line)
        return line

    def give_back(self, lines: list[str]) -> None:
        self._back.extend(reversed(lines))
        self.count -= len(lines)

    def position(self, index: int) -> tuple[int, int, int]:
        """(line, column, which line of the row) of `index` in the text of the row's lines."""
        start = self.count - len(self.row) + 1
        for k, text in enumerate(self.row):
            if index < len(text) or k == len(self.row) - 1:
                return start + k, index + 1, k
            index -= len(text)
        return start, 1, 0


def _csv_rows(lines: Iterator[str], header: list[str]) -> Iterator[tuple[int, list[str] | FactsError]]:
    """The cells of each row, numbered by the line the row starts on; a FactsError there for a row
    csv cannot read, and reading goes on where it safely can. `header` (once read) names cells."""
    tape = _Tape(lines)
    reader = csv.reader(tape, strict=True)  # strict: a quote never closed is an error, not a cell
    while True:
        start = tape.count + 1
        tape.row.clear()
        try:
            cells: list[str] | FactsError = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            cells, go_on = _refused_row(str(exc), tape, start, header)
            if not go_on:
                yield start, cells
                return
        if cells:  # [] is a blank line
            yield start, cells


def _refused_row(error: str, tape: _Tape, start: int, header: list[str]) -> tuple[list[str] | FactsError, bool]:
    """What to make of a row csv's strict reader refused, and whether reading can go on after it."""
    opened, big = _scan("".join(tape.row))
    if error.startswith("field larger than field limit"):
        return _big_cell(tape, start, header, opened, big)
    if error == "unexpected end of data" and opened is not None:
        line, column, k = tape.position(opened)
        tape.give_back(tape.row[k + 1:])  # read again as rows: the quote was meant to close on its line
        where = f"column {column}" if line == start else f"line {line}, column {column}"
        return _bad(start, f"unterminated quoted cell: the quote at {where} is never closed (it ran to the "
                           "end of the input; the lines after it are read again as rows)", hint=_QUOTE_HINT), True
    # text after a closing quote (`"A1" ,`): read as csv reads it when not strict (`A1 `), as before
    lenient = csv.reader(itertools.chain(list(tape.row), tape))
    try:
        return next(lenient), True
    except (csv.Error, StopIteration) as exc:
        return _bad(start, f"not CSV that can be read: {exc}"), False


def _big_cell(tape: _Tape, start: int, header: list[str], opened: int | None,
              big: int | None) -> tuple[FactsError, bool]:
    size = f"a cell of more than {csv.field_size_limit() // 1024} KiB"
    if opened is None:  # the row ends with its line: csv's reader goes on at the next one
        name = f"column {header[big]}: " if header and big is not None and big < len(header) else ""
        return _bad(start, f"{name}{size}", hint="a request's cells are short: is this the right file?"), True
    line, column, _ = tape.position(opened)
    return _bad(start, f"{size}: the quoted cell opened at line {line}, column {column} runs on to line "
                       f"{tape.count}, a quote never closed? The rest of the input is not read", hint=_QUOTE_HINT), False


def _scan(text: str) -> tuple[int | None, int | None]:
    """Read `text` (the lines of a row csv refused) as csv's default dialect reads it: where the
    quoted cell still open at its end opened, and which cell (from 0) first outgrows csv's limit."""
    limit = csv.field_size_limit()
    state, cell, start = _START, 0, 0
    opened = big = None
    for i, ch in enumerate(text):
        if state == _QUOTED:
            if ch == '"':
                state = _QUOTE_IN_QUOTED
            continue
        if state == _QUOTE_IN_QUOTED and ch == '"':  # "" in a quoted cell
            state = _QUOTED
        elif ch in ",\r\n":
            if big is None and i - start > limit:
                big = cell
            state, cell, start = _START, cell + 1, i + 1
        elif state == _START and ch == '"':
            state, opened = _QUOTED, i
        else:
            state = _FIELD
    if big is None and len(text) - start > limit:
        big = cell
    return (opened if state == _QUOTED else None), big


_START, _FIELD, _QUOTED, _QUOTE_IN_QUOTED = range(4)


def _row_request(row: dict[str | None, Any], schema: Schema, default_point: str | None,
                 line: int) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    request: dict[str, Any] = {"point": row.pop("point", None) or default_point, "facts": facts}
    as_of = row.pop("as_of", None)
    if as_of:
        request["as_of"] = as_of
    extra = row.pop(None, None)  # cells beyond the header's columns
    if extra:
        raise _bad(line, f"{len(extra)} more cell(s) than the header has columns: {', '.join(map(repr, extra))}",
                   hint="quote a cell that holds a comma, e.g. \"华兴,食品\"")
    for column, cell in row.items():
        if cell is None or cell == "" or column is None:
            continue
        fact, _, field = column.partition(".")
        if not field:
            raise _bad(line, f"column {column!r} must name a field like order.amount")
        facts.setdefault(fact, {})[field] = _cell(cell, schema.field(column), line, column)
    return request


def _cell(cell: str, t: Any, line: int, column: str) -> Any:
    kind = t.kind if t is not None else "string"
    text = cell.strip()
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text  # the schema reports it with its path (a number too long to convert too)
    if kind == "boolean":
        low = text.lower()
        return True if low in TRUE else False if low in FALSE else text
    if kind == "list":
        return _list_cell(text, line, column)
    return text


def _list_cell(text: str, line: int, column: str) -> Any:
    try:
        value = json_loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        what, hint = _what(exc)
        raise _bad(line, f"column {column}: a list cell must be JSON ({what}, at column {exc.colno} of the cell)",
                   hint=hint) from None
    except RecursionError:
        raise _bad(line, f"column {column}: a list cell must be JSON ({_DEEP})") from None
    repeat = _repeat_in(value)
    if repeat:
        raise _bad(line, f"column {column}: {repeat}", hint=_REPEAT_HINT)
    return value
