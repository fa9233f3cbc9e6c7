"""Users' files decoded: UTF-8 with or without a byte-order mark, a named encoding, bad bytes located."""

from __future__ import annotations

import io

import pytest

from dealerpolicy import textinput
from dealerpolicy.errors import FactsError
from dealerpolicy.textinput import decode_text, text_lines


def test_utf8_with_or_without_a_byte_order_mark():
    assert decode_text("订单,amount\n".encode(), "a.csv") == "订单,amount\n"
    assert decode_text(b"\xef\xbb\xbf" + "订单\n".encode(), "a.csv") == "订单\n"


def test_a_named_encoding_is_used():
    assert decode_text("华兴食品\n".encode("gb18030"), "a.csv", "GB18030") == "华兴食品\n"


def test_bytes_that_do_not_decode_name_the_line_the_byte_and_the_way_out():
    data = b"dealer.id,dealer.name\nD1," + "华兴".encode("gb18030") + b"\n"
    with pytest.raises(FactsError) as caught:
        decode_text(data, "dealers.csv")
    [d] = caught.value.diagnostics
    assert (d.code, d.message) == ("input.encoding", "dealers.csv: line 2, byte 4: not utf-8 text (byte 0xBB)")
    assert "--encoding gb18030" in d.hint


def test_an_unknown_encoding_is_refused_by_name():
    with pytest.raises(FactsError) as caught:
        decode_text(b"x", "a.csv", "klingon")
    assert caught.value.diagnostics[0].message == "unknown encoding 'klingon'"


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, as stdin from a pipe."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("stream", [io.BytesIO, lambda data: io.BufferedReader(_Pipe(data))])
def test_text_lines_keep_their_endings_drop_the_mark_and_are_counted(stream):
    text = text_lines(stream(b"\xef\xbb\xbf" + "a,订单\r\nb\n\nc".encode()), "x.csv")
    assert (list(text.lines), text.count) == (["a,订单\r\n", "b\n", "\n", "c"], 4)
    empty = text_lines(stream(b""), "x.csv")
    assert (list(empty.lines), empty.count) == ([], 0)


@pytest.mark.parametrize("chunk", [3, 5, 7, 1 << 20])
def test_a_bad_byte_is_located_as_decode_text_locates_it_whatever_the_chunks(monkeypatch, chunk):
    monkeypatch.setattr(textinput, "_CHUNK", chunk)  # chunk edges fall inside characters and lines
    data = "order.id,名称\n订单1,华兴\n".encode() * 3 + "订单9,".encode() + "华兴".encode("gb18030") + b"\n"
    with pytest.raises(FactsError) as whole:
        decode_text(data, "o.csv")
    with pytest.raises(FactsError) as streamed:
        text_lines(io.BytesIO(data), "o.csv")
    assert streamed.value.diagnostics[0].message == whole.value.diagnostics[0].message == (
        "o.csv: line 7, byte 9: not utf-8 text (byte 0xBB)")


def test_a_seekable_file_is_read_line_by_line_after_the_check(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"{}\n" * 100_000)
    with path.open("rb") as f:
        text = text_lines(f, str(path))
        assert text.count == 100_000
        assert next(text.lines) == "{}\n"
        assert f.tell() < 100_000 * 3  # not read whole


@pytest.mark.parametrize("head", [b"PK\x03\x04\x14\x00\x06\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"])
def test_an_excel_workbook_is_named_as_such_with_the_way_out(head):
    for read in (lambda data: decode_text(data, "orders.xlsx"), lambda data: text_lines(io.BytesIO(data), "orders.xlsx")):
        with pytest.raises(FactsError) as exc:
            read(head + b"\x00" * 100)
        [d] = exc.value.diagnostics
        assert d.message == "orders.xlsx: an Excel workbook, not text"
        assert "CSV UTF-8" in d.hint
