"""Users' files as text: UTF-8 (a leading byte-order mark dropped) or an encoding they name.

Bytes that do not decode are an error naming the line and the byte, with the way out, instead
of a UnicodeDecodeError traceback: Excel in China saves CSV as GB18030 unless told otherwise,
and Excel and Notepad put a byte-order mark before UTF-8.
"""

from __future__ import annotations

import codecs

from dealerpolicy.errors import Diagnostic, FactsError

__all__ = ["decode_text"]


def decode_text(data: bytes, name: str, encoding: str = "utf-8") -> str:
    """`data` decoded; raises FactsError (code input.encoding) for an unknown encoding or bad bytes."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise FactsError(Diagnostic("input.encoding", f"unknown encoding {encoding!r}",
                                    hint="e.g. utf-8 (the default) or gb18030")) from None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        hint = ("save it as UTF-8 (in Excel: \"CSV UTF-8\"), or name its encoding, e.g. --encoding gb18030"
                if codec == "utf-8" else "name the encoding the file was saved in with --encoding")
        raise FactsError(Diagnostic(
            "input.encoding", f"{name}: line {line}, byte {exc.start - line_start + 1}: not {encoding} text "
                              f"(byte 0x{data[exc.start]:02X})", hint=hint)) from None
    return text.removeprefix("\ufeff")
