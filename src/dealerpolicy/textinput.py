"""Users' files as text: UTF-8 (a leading byte-order mark dropped) or an encoding they name.

Bytes that do not decode are an error naming the line and the byte, with the way out, instead
of a UnicodeDecodeError traceback: Excel in China saves CSV as GB18030 unless told otherwise,
and Excel and Notepad put a byte-order mark before UTF-8.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from dealerpolicy.errors import Diagnostic, FactsError

__all__ = ["RefusedJSON", "TextLines", "decode_text", "json_loads", "json_value_at", "text_lines"]

_CHUNK = 1 << 20


def decode_text(data: bytes, name: str, encoding: str = "utf-8") -> str:
    """`data` decoded; raises FactsError (code input.encoding) for an unknown encoding or bad bytes."""
    codec = _codec(encoding)
    _not_a_workbook(data[:8], name)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        raise _not_text(name, encoding, codec, data.count(b"\n", 0, exc.start) + 1,
                        exc.start - line_start + 1, data[exc.start]) from None
    return text.removeprefix("\ufeff")


@dataclass
class TextLines:
    """A file's text lines, line endings kept (as `open(newline="")` gives them), read as they
    are used; `count` is the number of lines (for a progress bar)."""

    lines: Iterator[str]
    count: int


def text_lines(stream: BinaryIO, name: str, encoding: str = "utf-8") -> TextLines:
    """The lines of `stream`, checked whole before the first is given out: raises FactsError as
    `decode_text` does. A seekable file is read twice (checked, then read line by line) and is
    never held in memory whole; anything else (a pipe) is read whole first."""
    codec = _codec(encoding)
    if not _seekable(stream):
        text = decode_text(stream.read(), name, encoding)
        count = text.count("\n") + (bool(text) and not text.endswith("\n"))
        return TextLines(iter(io.StringIO(text, newline="")), count)
    start = stream.tell()
    _not_a_workbook(stream.read(8), name)
    stream.seek(start)
    count = _check(stream, name, encoding, codec)
    stream.seek(start)
    reader = io.TextIOWrapper(stream, encoding=codec, newline="")
    return TextLines(_without_mark(reader), count)


def _without_mark(reader: io.TextIOWrapper) -> Iterator[str]:
    first = True
    for line in reader:
        if first:
            line, first = line.removeprefix("\ufeff"), False
        yield line


def _check(stream: BinaryIO, name: str, encoding: str, codec: str) -> int:
    """Decode the rest of `stream` chunk by chunk without keeping it; the number of lines."""
    decoder = codecs.getincrementaldecoder(codec)()
    fed = lines = line_start = 0  # bytes decoded so far; newlines in them; where the last line starts
    last = b""
    while True:
        chunk = stream.read(_CHUNK)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            data = exc.object  # the bytes the decoder held back from the last chunk, then this one
            base = fed - (len(data) - len(chunk))
            head = data[:exc.start]
            newlines = head.count(b"\n")
            if newlines:
                line_start = base + head.rfind(b"\n") + 1
            raise _not_text(name, encoding, codec, lines + newlines + 1, base + exc.start - line_start + 1,
                            data[exc.start]) from None
        if not chunk:
            return lines + (fed > 0 and not last.endswith(b"\n"))
        newlines = chunk.count(b"\n")
        if newlines:
            lines += newlines
            line_start = fed + chunk.rfind(b"\n") + 1
        fed += len(chunk)
        last = chunk


# The first bytes of an Excel workbook: .xlsx (a zip) and .xls (an OLE2 compound file).
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _not_a_workbook(head: bytes, name: str) -> None:
    if head.startswith(_WORKBOOKS):
        raise FactsError(Diagnostic("input.encoding", f"{name}: an Excel workbook, not text",
                                    hint='in Excel: File > Save As > "CSV UTF-8 (comma delimited)"'))


def _seekable(stream: BinaryIO) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, ValueError):
        return False


def _codec(encoding: str) -> str:
    """The codec's name; refused like an unknown one when it is no text encoding: hex, rot13, base64,
    zlib, bz2, uu… turn bytes into bytes (or text into text), and failed with a traceback."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, ValueError):  # ValueError: a name holding a NUL
        raise _unknown(f"unknown encoding {encoding!r}") from None
    if not getattr(info, "_is_text_encoding", True):
        raise _unknown(f"unknown encoding {encoding!r}: {info.name} is not a text encoding")
    return info.name


def _unknown(message: str) -> FactsError:
    return FactsError(Diagnostic("input.encoding", message, hint="e.g. utf-8 (the default) or gb18030"))


def _not_text(name: str, encoding: str, codec: str, line: int, byte: int, value: int) -> FactsError:
    hint = ('save it as UTF-8 (in Excel: "CSV UTF-8"), or name its encoding, e.g. --encoding gb18030'
            if codec == "utf-8" else "name the encoding the file was saved in with --encoding")
    return FactsError(Diagnostic("input.encoding", f"{name}: line {line}, byte {byte}: not {encoding} text "
                                                   f"(byte 0x{value:02X})", hint=hint))


_SURROGATE = re.compile("[\ud800-\udfff]")
# a \uD800-\uDFFF escape, or such a character itself: only then may the value hold a lone surrogate
_SURROGATE_MAYBE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
# a \uXXXX escape of a surrogate: a high one with its low one is a character, anything else is not
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|\\u[dD][c-fC-F][0-9a-fA-F]{2}")
# a JSON string (skipped whole, so that digits in it are not taken for a number), or a number
_STRING_OR_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?')


class RefusedJSON(json.JSONDecodeError):
    """Well-formed JSON holding a value refused here (a lone surrogate, an integer too long to read);
    `end` is where the JSON value being read ends, so that reading can go on after it; `digits`,
    for an integer too long, is how many digits it has (0 for a lone surrogate)."""

    def __init__(self, msg: str, doc: str, pos: int, end: int, digits: int = 0):
        super().__init__(msg, doc, pos)
        self.end = end
        self.digits = digits


def json_loads(text: str, **options: Any) -> Any:
    """`json.loads(text, **options)`, refusing what the standard module reads wrong or not at all,
    as a RefusedJSON (a json.JSONDecodeError) at its position: a lone surrogate (`"\\ud800"`, read into
    a string that no UTF-8 output, audit record or database can hold) and an integer of more than
    4,300 digits (Python's int conversion limit: a ValueError, not a JSONDecodeError)."""
    try:
        value = json.loads(text, **options)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        raise _long_number(text, 0, len(text), exc) from None
    _refuse_surrogates(value, text, 0, len(text))
    return value


def json_value_at(text: str, pos: int, **options: Any) -> tuple[Any, int]:
    """`json.JSONDecoder(**options).raw_decode(text, pos)` — the JSON value starting at `pos` and
    where it ends — refusing what `json_loads` refuses (a RefusedJSON, with `end` to read on from)."""
    try:
        value, end = json.JSONDecoder(**options).raw_decode(text, pos)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        # read again without converting integers, for where the value ends (or its syntax error)
        _, end = json.JSONDecoder(**{**options, "parse_int": str}).raw_decode(text, pos)
        raise _long_number(text, pos, end, exc) from None
    _refuse_surrogates(value, text, pos, end)
    return value, end


def _long_number(text: str, start: int, end: int, error: ValueError) -> Exception:
    """The error for the first integer in text[start:end] too long to convert (`error`, raised
    by a hook of the caller's, when there is none)."""
    limit = sys.get_int_max_str_digits()
    for m in _STRING_OR_NUMBER.finditer(text, start, end):
        number = m.group()
        if number[0] != '"' and m.group(1) is None and m.group(2) is None and len(number.lstrip("-")) > limit > 0:
            digits = len(number.lstrip("-"))
            return RefusedJSON(f"a number of more than {limit:,} digits", text, m.start(), end, digits)
    return error


def _refuse_surrogates(value: Any, text: str, start: int, end: int) -> None:
    if _SURROGATE_MAYBE.search(text, start, end) is None:  # the usual case: one scan, no walk of the value
        return
    if _holds_surrogate(value):
        at = next((m.start() for m in _SURROGATE_ESCAPE.finditer(text, start, end) if m.group(1) is None), start)
        raise RefusedJSON(f"lone surrogate {text[at:at + 6]} is not a character", text, at, end)


def _holds_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_holds_surrogate(k) or _holds_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(map(_holds_surrogate, value))
    return False
