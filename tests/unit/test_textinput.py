"""Users' files decoded: UTF-8 with or without a byte-order mark, a named encoding, bad bytes located."""

from __future__ import annotations

import pytest

from dealerpolicy.errors import FactsError
from dealerpolicy.textinput import decode_text


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
