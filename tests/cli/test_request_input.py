"""`dealerpolicy check` reading hostile or unusual input: every bad request is reported at its
line, without a traceback, and the others are still decided."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealerpolicy import textinput
from dealerpolicy.cli.main import cli
from dealerpolicy.errors import FactsError

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"
HUGE = "9" * 5000  # beyond Python's int conversion limit (4,300 digits)
COLUMNS = "order.id,order.date,order.amount,order.payment,dealer.id,dealer.status"


def request(order_id: str, amount: str = "5000") -> dict:
    return {"point": "order", "facts": {
        "order": {"id": order_id, "date": "2026-03-31", "amount": amount, "payment": "prepaid"},
        "dealer": {"id": "D1", "status": "active"}}}


def line(order_id: str) -> str:
    return json.dumps(request(order_id), ensure_ascii=False)


def row(order_id: str) -> str:
    return f"{order_id},2026-03-31,5000,prepaid,D1,active"


def check(tmp_path: Path, name: str, text: str, *options: str) -> tuple[int, list[str], list[str]]:
    """Exit code, the subjects decided, and stderr's lines."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path), "--rules", str(MINI), "--point", "order",
                                      "--format", "jsonl", "--no-audit", "--lang", "en", *options])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, [json.loads(x)["subject"] for x in result.stdout.splitlines()], result.stderr.splitlines()


# 1. an integer too long to convert, a cell too big for csv

def test_an_integer_of_more_than_4300_digits_is_a_bad_line_in_jsonl(tmp_path: Path):
    huge = '{"point": "order", "facts": {"n": ' + HUGE + "}}"
    code, decided, errors = check(tmp_path, "o.jsonl", "\n".join([line("O1"), huge, line("O3")]) + "\n")
    assert (code, decided) == (1, ["O1", "O3"])
    assert errors[0] == "line 2: error[request.invalid]: invalid JSON at column 35: a number of more than 4,300 digits"


def test_an_integer_of_more_than_4300_digits_is_a_bad_item_in_a_json_array(tmp_path: Path):
    text = "[" + line("O1") + ',\n{"x": ' + HUGE + "},\n" + line("O3") + "]\n"
    code, decided, errors = check(tmp_path, "o.json", text)
    assert (code, decided) == (1, ["O1", "O3"])
    assert errors[0] == "line 2: error[request.invalid]: invalid JSON at column 7: a number of more than 4,300 digits"


def test_an_integer_of_more_than_4300_digits_in_a_csv_list_cell_is_a_bad_row(tmp_path: Path):
    text = f"{COLUMNS},dealer.invoices\n{row('O1')},[]\n{row('O2')},\"[{HUGE}]\"\n{row('O3')},\n"
    code, decided, errors = check(tmp_path, "o.csv", text)
    assert (code, decided) == (1, ["O1", "O3"])
    assert errors[0] == ("line 3: error[request.invalid]: column dealer.invoices: a list cell must be JSON "
                         "(a number of more than 4,300 digits, at column 2 of the cell)")


def test_json_loads_and_json_value_at_refuse_a_long_integer_where_it_is():
    text = '{"id": "' + HUGE + '", "n": -' + HUGE + "}"  # the digits in the string are no number
    with pytest.raises(json.JSONDecodeError) as caught:
        textinput.json_loads(text)
    assert (caught.value.msg, caught.value.pos) == ("a number of more than 4,300 digits", text.index("-"))
    with pytest.raises(textinput.RefusedJSON) as at:
        textinput.json_value_at("[1, " + text + ", 2]", 4)
    assert at.value.end == 4 + len(text)  # where to read on from
    assert textinput.json_loads('{"n": 1.' + HUGE + "}")["n"] == 2.0  # a float reads (1.999… rounded)


def test_a_csv_cell_over_the_size_limit_is_a_bad_row_and_the_rest_are_decided(tmp_path: Path):
    big = "X" * (csv.field_size_limit() + 10)
    text = f"{COLUMNS}\n{row('O1')}\n{row(big)}\n{row('O3')}\n"
    code, decided, errors = check(tmp_path, "o.csv", text)
    assert (code, decided) == (1, ["O1", "O3"])
    assert errors[0] == "line 3: error[request.invalid]: column order.id: a cell of more than 128 KiB"


def test_a_quoted_cell_that_runs_past_the_size_limit_stops_the_reading_with_a_clear_message(tmp_path: Path):
    text = f"{COLUMNS}\n{row('O1')}\nO2,\"{'x' * 1000}\n" + f"{'y' * 1000}\n" * 140 + f"{row('O9')}\n"
    code, decided, errors = check(tmp_path, "o.csv", text)
    assert (code, decided) == (1, ["O1"])
    assert errors[0].startswith("line 3: error[request.invalid]: a cell of more than 128 KiB: the quoted cell "
                                "opened at line 3, column 4 runs on to line ")
    assert errors[0].endswith("a quote never closed? The rest of the input is not read")


# 2. a JSON file is never taken for CSV; a second byte-order mark

@pytest.mark.parametrize("first", ["oops, not json", "# orders, July"])
@pytest.mark.parametrize("name", ["o.jsonl", "o.ndjson", "o.json"])
def test_a_json_named_file_with_a_comma_in_a_bad_first_line_is_read_as_json(tmp_path: Path, name: str, first: str):
    code, decided, errors = check(tmp_path, name, f"{first}\n{line('O2')}\n{line('O3')}\n")
    assert (code, decided) == (1, ["O2", "O3"])
    assert errors[0] == "line 1: error[request.invalid]: invalid JSON at column 1: Expecting value"


def test_a_file_without_a_json_name_is_still_sniffed_for_csv(tmp_path: Path):
    code, decided, _ = check(tmp_path, "o.txt", f"{COLUMNS}\n{row('O1')}\n")
    assert (code, decided) == (0, ["O1"])


def test_a_second_byte_order_mark_is_reported_as_such(tmp_path: Path):
    path = tmp_path / "o.jsonl"  # the first mark is dropped; the second is text
    path.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + f"{line('O1')}\n{line('O2')}\n".encode())
    result = CliRunner().invoke(cli, ["check", str(path), "--rules", str(MINI), "--no-audit", "--format", "jsonl"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == ("line 1: error[request.invalid]: invalid JSON at column 1: "
                                             "a byte-order mark (U+FEFF) inside the text")
    assert [json.loads(x)["subject"] for x in result.stdout.splitlines()] == ["O2"]


# 3. a key twice

def test_a_key_twice_in_a_jsonl_line_is_refused_naming_it(tmp_path: Path):
    point_twice = '{"point":"ordr","point":"order",' + line("O1")[1:].replace('"point": "order", ', "")
    amount_twice = line("O2").replace('"amount": "5000"', '"amount":"1.00","amount": "5000"')
    code, decided, errors = check(tmp_path, "o.jsonl", "\n".join([point_twice, amount_twice, line("O3")]) + "\n")
    assert (code, decided) == (1, ["O3"])
    assert errors[0] == 'line 1: error[request.invalid]: duplicate key "point" at point'
    assert errors[2] == 'line 2: error[request.invalid]: duplicate key "amount" at facts.order.amount'


def test_a_key_twice_in_an_array_item_or_a_pretty_request_is_refused(tmp_path: Path):
    twice = json.dumps(request("O2"), indent=2).replace('"amount": "5000"', '"amount": "1",\n "amount": "5000"')
    _, decided, errors = check(tmp_path, "a.json", f"[{line('O1')},\n{twice}]")
    assert (decided, errors[0]) == (["O1"], 'line 2: error[request.invalid]: duplicate key "amount" at '
                                            "facts.order.amount")
    _, decided, errors = check(tmp_path, "p.json", f"{twice}\n{json.dumps(request('O3'), indent=2)}\n")
    assert (decided, errors[0]) == (["O3"], 'line 1: error[request.invalid]: duplicate key "amount" at '
                                            "facts.order.amount")


@pytest.mark.parametrize("text, twice", [
    ('{"a": "x:y", "b": {"c": ":"}}', False),  # colons in strings: no false alarm
    ('{"a": "x:y", "a": 1}', True),
    ('{"a" : 1, "a"\t:2}', True),  # whitespace before the colon
    ('{"a": "\\u003a", "a": "x:"}', True),  # a colon written as an escape: read exactly
    ('{"k": [{"a": 1, "b": {"a": 2}}, {"a": 3, "a": 3}]}', True),
    ('{"a\\":": 1, "a\\":": 2}', True),
])
def test_a_key_twice_is_found_whatever_the_strings_hold(text: str, twice: bool):
    from dealerpolicy.cli.requests import _line_value

    value = _line_value(1, text)
    assert isinstance(value, FactsError) == twice, value
    assert value == json.loads(text) if not twice else "duplicate key" in value.diagnostics[0].message


def test_a_csv_column_twice_is_reported_once_and_nothing_is_decided(tmp_path: Path):
    text = f"{COLUMNS},order.amount\n{row('O1')},5\n{row('O2')},6\n"
    code, decided, errors = check(tmp_path, "o.csv", text)
    assert (code, decided) == (1, [])
    assert errors[0] == ("line 1: error[request.invalid]: column order.amount appears twice (columns 3 and 7): "
                         "no row is decided")
    assert errors[-1] == "1 of 1 requests had bad input and were not decided"


def test_empty_csv_columns_named_alike_are_no_trouble(tmp_path: Path):
    code, decided, _ = check(tmp_path, "o.csv", f"{COLUMNS},,\n{row('O1')},,\n")
    assert (code, decided) == (0, ["O1"])


# 4. an array item's line is the line it starts on

def test_a_json_array_item_is_reported_at_the_line_it_starts_on(tmp_path: Path):
    bad = request("O2", "abc")
    text = "[\n" + json.dumps(request("O1"), indent=2) + ",\n" + json.dumps(bad, indent=2) + ",\n  7\n]\n"
    start = text.splitlines().index('  "point": "order",', 3)
    code, decided, errors = check(tmp_path, "o.json", text)
    assert (code, decided) == (1, ["O1"])
    assert errors[0].startswith(f"line {start}: facts.order.amount: error[fact.invalid]: expected money")
    assert errors[2] == f"line {len(text.splitlines()) - 1}: error[request.invalid]: expected an object with point " \
                        "and facts"


def test_a_broken_json_array_is_one_error_at_its_line(tmp_path: Path):
    code, decided, errors = check(tmp_path, "o.json", f"[{line('O1')},\n{line('O2')}\n{line('O3')}]\n")
    assert (code, decided) == (1, [])
    assert errors[0] == "line 3: error[request.invalid]: invalid JSON at column 1: Expecting ',' delimiter"


# 5. a quote never closed

def test_an_unterminated_csv_quote_is_reported_where_it_opens_and_the_rest_are_decided(tmp_path: Path):
    text = f"{COLUMNS}\n{row('O1')}\n\"O2,2026-03-31,5000,prepaid,D1,active\n{row('O3')}\n{row('O4')}\n"
    code, decided, errors = check(tmp_path, "o.csv", text)
    assert (code, decided) == (1, ["O1", "O3", "O4"])
    assert errors[0] == ("line 3: error[request.invalid]: unterminated quoted cell: the quote at column 1 is never "
                         "closed (it ran to the end of the input; the lines after it are read again as rows)")


def test_a_quoted_cell_over_lines_is_numbered_by_its_first_line_and_text_after_a_quote_is_kept(tmp_path: Path):
    text = f'{COLUMNS}\n"O\n1",2026-03-31,5000,prepaid,D1,active\n"O2" ,2026-03-31,5000,prepaid,D1,active\n'
    code, decided, _ = check(tmp_path, "o.csv", text)
    assert (code, decided) == (0, ["O\n1", "O2"])  # `"O2" ` is `O2 ` as csv reads it when not strict


# 6. pretty-printed requests one after another

def test_pretty_printed_requests_one_after_another_are_each_read_at_their_line(tmp_path: Path):
    first, second = (json.dumps(request(i), indent=2) for i in ("O1", "O2"))
    broken = "{\n  \"point\": \"order\",\n  oops\n}"
    text = f"{first}\n{broken}\n\n{second}\n"
    code, decided, errors = check(tmp_path, "o.json", text)
    assert (code, decided) == (1, ["O1", "O2"])
    at = len(first.splitlines()) + 1
    assert errors[0] == (f"line {at}: error[request.invalid]: invalid JSON at line {at + 2}, column 3: "
                         "Expecting property name enclosed in double quotes")


def test_a_jsonl_file_with_a_bad_first_line_is_still_read_line_by_line(tmp_path: Path):
    code, decided, errors = check(tmp_path, "o.jsonl", '{"point": "order", "facts": {]}\n' + line("O2") + "\n")
    assert (code, decided) == (1, ["O2"])
    assert errors[0].startswith("line 1: error[request.invalid]: invalid JSON at column 30")


# 7. codecs that are not text encodings

@pytest.mark.parametrize("name", ["hex", "rot13", "base64", "zlib", "bz2", "uu"])
def test_a_codec_that_is_no_text_encoding_is_refused_as_an_unknown_one(tmp_path: Path, name: str):
    code, decided, errors = check(tmp_path, "o.jsonl", line("O1") + "\n", "--encoding", name)
    assert (code, decided) == (1, [])
    assert errors[0].startswith(f"error[input.encoding]: unknown encoding {name!r}: ")
    assert errors[0].endswith("is not a text encoding")
    with pytest.raises(FactsError):
        textinput.decode_text(b"{}", "o.jsonl", name)
