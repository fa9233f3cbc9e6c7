"""schema/model.py: schema.yaml errors with spans, and fact binding (values, paths, all-at-once)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dealerpolicy.errors import FactsError, RulesError
from dealerpolicy.schema import Schema, load_schema
from dealerpolicy.schema.types import Type

SCHEMA = """\
types:
  order:
    label: {zh: 订单, en: Order}
    fields:
      id:      {type: string, required: true, label: {zh: 订单号, en: order id}}
      date:    {type: date, required: true}
      amount:  {type: money, required: true, label: {zh: 订单金额, en: order amount}}
      payment: {type: enum, values: [credit, prepaid]}
      qty:     {type: integer, unit: {zh: 件, en: pcs}}
  dealer:
    fields:
      code: {type: string, required: true}
      credit_limit: {type: money}
      achievement: {type: percent}
      ratio: {type: decimal}
      active: {type: boolean}
      invoices:
        type: list
        label: {zh: 发票, en: invoices}
        fields:
          amount: {type: money, required: true}
          due_date: {type: date, required: true}
          paid: {type: boolean}
points:
  order:
    label: {zh: 订单检查, en: Order check}
    facts: [order, dealer]
    subject: order.id
    date: order.date
    outcomes: [reject, hold, require_cash, warn, allow]
    default: allow
    missing: hold
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Schema:
    return load_schema(write(tmp_path_factory.mktemp("s"), SCHEMA))


def schema_errors(tmp_path: Path, text: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(RulesError) as info:
        load_schema(write(tmp_path, text), "rules/schema.yaml")
    return [(d.code, d.span.line, d.span.col, d.message) for d in info.value.diagnostics]


def facts(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order": {"id": "O-1", "date": "2026-03-01", "amount": 30000.10, "payment": "credit"},
        "dealer": {"code": "D-9", "invoices": [
            {"amount": 100, "due_date": "2026-01-31", "paid": False} for _ in range(3)]},
    }
    for key, value in over.items():
        fact, _, name = key.partition("__")
        base[fact][name] = value
    return base


def bind_errors(schema: Schema, data: Any) -> list[tuple[str, str | None, str]]:
    with pytest.raises(FactsError) as info:
        schema.bind("order", data)
    return [(d.code, d.field_path, d.message) for d in info.value.diagnostics]


# --------------------------------------------------------------------------- loading


def test_types_labels_units_and_points(schema: Schema) -> None:
    order = schema.types["order"]
    assert order.kind == "record" and order.name == "order"
    assert order.field_map()["payment"] == Type("enum", ("credit", "prepaid"))
    assert schema.types["dealer"].field_map()["invoices"].kind == "list"
    assert schema.labels["order.amount"] == {"zh": "订单金额", "en": "order amount"}
    assert schema.labels["order"] == {"zh": "订单", "en": "Order"}
    assert schema.labels["dealer.invoices"]["en"] == "invoices"
    assert schema.units["order.qty"] == {"zh": "件", "en": "pcs"}
    assert schema.field("dealer.invoices.due_date") == Type("date")
    assert schema.field("order.nope") is None
    point = schema.points["order"]
    assert (point.facts, point.subject, point.date) == (("order", "dealer"), "order.id", "order.date")
    assert (point.default, point.missing, point.span.line) == ("allow", "hold", 26)
    assert point.label == {"zh": "订单检查", "en": "Order check"}


def test_severity_most_severe_first(schema: Schema) -> None:
    point = schema.points["order"]
    assert point.severity("reject") > point.severity("hold") > point.severity("allow")
    assert max(point.outcomes, key=point.severity) == "reject"


def test_unknown_keys_with_did_you_mean(tmp_path: Path) -> None:
    text = SCHEMA.replace("    fields:\n      id:", "    feilds: {}\n    fields:\n      id:", 1)
    text = text.replace("{type: date, required: true}", "{type: date, requird: true}", 1)
    text = text.replace("    default: allow", "    defualt: allow\n    default: allow")
    found = schema_errors(tmp_path, text)
    assert found == [
        ("schema.unknown_key", 4, 5, 'unknown key "feilds" in type "order"'),
        ("schema.unknown_key", 7, 29, 'unknown key "requird" in field "order.date"'),
        ("schema.unknown_key", 32, 5, 'unknown key "defualt" in point "order"'),
    ]


def test_unknown_key_hint_and_suggestions(tmp_path: Path) -> None:
    text = SCHEMA.replace("points:", "pionts: {}\npoints:")
    with pytest.raises(RulesError) as info:
        load_schema(write(tmp_path, text))
    [diag] = info.value.diagnostics
    assert diag.suggestions == ("points",)
    assert diag.hint == 'did you mean "points"?'


def test_unknown_field_type_lists_allowed(tmp_path: Path) -> None:
    text = SCHEMA.replace("{type: money, required: true, label", "{type: mony, required: true, label")
    [(code, line, col, message)] = schema_errors(tmp_path, text)
    assert (code, line, col, message) == ("schema.unknown_type", 7, 23, 'unknown field type "mony"')
    text = SCHEMA.replace("credit_limit: {type: money}", "credit_limit: {type: currency}")
    with pytest.raises(RulesError) as info:
        load_schema(write(tmp_path, text))
    assert info.value.diagnostics[0].hint == (
        "allowed types: string, integer, decimal, money, percent, boolean, date, enum, list")


def test_enum_without_values_and_list_without_fields(tmp_path: Path) -> None:
    text = SCHEMA.replace("{type: enum, values: [credit, prepaid]}", "{type: enum}")
    text = text.replace("        type: list\n        label: {zh: 发票, en: invoices}\n        fields:\n"
                        "          amount: {type: money, required: true}\n"
                        "          due_date: {type: date, required: true}\n"
                        "          paid: {type: boolean}\n", "        type: list\n")
    assert schema_errors(tmp_path, text) == [
        ("schema.enum_values", 8, 23, 'enum field "order.payment" has no values'),
        ("schema.list_fields", 18, 15, 'list field "dealer.invoices" has no fields'),
    ]


def test_values_on_a_non_enum(tmp_path: Path) -> None:
    text = SCHEMA.replace("qty:     {type: integer,", "qty:     {type: integer, values: [1],")
    assert schema_errors(tmp_path, text) == [
        ("schema.unexpected_key", 9, 32, '"values" is only for type enum')]


def test_min_and_max_are_read_and_checked(tmp_path: Path) -> None:
    def errors(line: str) -> list[tuple[str, int, int, str]]:
        return schema_errors(tmp_path, SCHEMA.replace("qty:     {type: integer,", line))
    assert errors("qty:     {type: integer, min: 1.5,") == [
        ("schema.invalid", 9, 37, 'min of "order.qty" must be integer, got 1.5')]
    assert errors("qty:     {type: integer, min: 5, max: 1,") == [
        ("schema.invalid", 9, 37, 'min of "order.qty" is above its max')]
    assert errors("qty:     {type: integer, max: lots,") == [
        ("schema.invalid", 9, 37, 'max of "order.qty" must be integer, got lots')]
    assert errors("qty:     {type: percent, max: 1.5,") == [  # a slip for 1.5% (or 150%?): the sign is required
        ("schema.invalid", 9, 37, 'max of "order.qty" must be percent, got 1.5')]
    assert schema_errors(tmp_path, SCHEMA.replace("payment: {type: enum,", "payment: {type: enum, min: 0,")) == [
        ("schema.unexpected_key", 8, 29, '"min" is only for type integer, decimal, money or percent')]
    loaded = load_schema(write(tmp_path, SCHEMA.replace("qty:     {type: integer,", "qty:     {type: integer, min: 1, max: 9,")
                                      .replace("achievement: {type: percent}", "achievement: {type: percent, max: 150%}")))
    qty, achievement = loaded.field("order.qty"), loaded.field("dealer.achievement")
    assert qty is not None and (qty.low, qty.high) == (1, 9)
    assert achievement is not None and (achievement.low, achievement.high) == (None, Decimal("1.5"))


def test_point_references(tmp_path: Path) -> None:
    text = (SCHEMA.replace("facts: [order, dealer]", "facts: [order, dealr]")
            .replace("subject: order.id", "subject: order.ident")
            .replace("date: order.date", "date: order.amount"))
    assert schema_errors(tmp_path, text) == [
        ("schema.unknown_fact", 27, 20, 'unknown fact type "dealr"'),
        ("schema.unknown_field", 28, 14, 'subject "order.ident" is not a field of this point\'s facts'),
        ("schema.type_mismatch", 29, 11, 'date "order.amount" must be a date field, it is money (CNY)'),
    ]


def test_outcomes_unique_and_default_missing_in_outcomes(tmp_path: Path) -> None:
    text = (SCHEMA.replace("[reject, hold, require_cash, warn, allow]", "[reject, hold, warn, hold, allow]")
            .replace("default: allow", "default: alow").replace("missing: hold", "missing: wait"))
    found = schema_errors(tmp_path, text)
    assert found == [
        ("schema.duplicate_outcome", 30, 36, 'outcome "hold" is listed twice'),
        ("schema.unknown_outcome", 31, 14, 'default outcome "alow" is not one of the outcomes'),
        ("schema.unknown_outcome", 32, 14, 'missing outcome "wait" is not one of the outcomes'),
    ]


def test_missing_keys_and_shapes(tmp_path: Path) -> None:
    text = SCHEMA.replace("    default: allow\n", "").replace("{type: string, required: true}", "{required: yes}")
    assert schema_errors(tmp_path, text) == [
        ("schema.missing_key", 12, 7, 'field "dealer.code" has no "type"'),
        ("schema.missing_key", 25, 3, 'point "order" has no "default"'),
    ]
    text = SCHEMA.replace("{type: string, required: true}", "{type: string, required: yes}")
    assert schema_errors(tmp_path, text) == [
        ("schema.invalid", 12, 38, "required must be true or false, got yes")]
    assert schema_errors(tmp_path, "types: [a]\npoints: {}\n") == [
        ("schema.invalid", 1, 8, "types must be a mapping of type names, got a list")]
    assert schema_errors(tmp_path, "types: {}\n") == [
        ("schema.missing_key", 1, 1, 'the schema file has no "points"')]


def test_yaml_errors_come_through(tmp_path: Path) -> None:
    assert schema_errors(tmp_path, "types: {}\ntypes: {}\npoints: {}\n")[0][:3] == ("yaml.duplicate_key", 2, 1)


def test_shipped_schema_loads() -> None:
    shipped = Path(__file__).resolve().parents[2] / "rules" / "schema.yaml"
    assert set(load_schema(shipped).points) == {"order", "application", "incident", "review", "collection"}


# --------------------------------------------------------------------------- binding


def test_bind_normalises_values(schema: Schema) -> None:
    data = facts(dealer__achievement="95.5%", dealer__ratio=1.25, dealer__active=True, order__qty=3)
    out = schema.bind("order", json.loads(json.dumps(data)))
    assert out["order"] == {"id": "O-1", "date": datetime.date(2026, 3, 1), "amount": Decimal("30000.10"),
                            "payment": "credit", "qty": 3}
    dealer = out["dealer"]
    assert dealer["achievement"] == Decimal("0.955") and dealer["ratio"] == Decimal("1.25")
    assert dealer["invoices"][0] == {"amount": Decimal(100), "due_date": datetime.date(2026, 1, 31),
                                     "paid": False}
    assert type(out["order"]["amount"]) is Decimal


def test_money_sum_is_exact_at_a_threshold(schema: Schema) -> None:
    a = schema.bind("order", facts(order__amount=30000.10))["order"]["amount"]
    b = schema.bind("order", facts(order__amount="19999.90"))["order"]["amount"]
    assert a + b == Decimal("50000.00")
    assert a + b >= Decimal("50000")  # the threshold holds exactly


BOUNDED = (SCHEMA.replace("amount:  {type: money,", "amount:  {type: money, min: 0,")
           .replace("qty:     {type: integer,", "qty:     {type: integer, min: 1, max: 100,")
           .replace("achievement: {type: percent}", "achievement: {type: percent, min: 0%, max: 100%}")
           .replace("ratio: {type: decimal}", "ratio: {type: decimal, min: -1.5, max: 2}")
           .replace("amount: {type: money, required: true}", "amount: {type: money, required: true, min: 0}"))


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Schema:
    return load_schema(write(tmp_path_factory.mktemp("b"), BOUNDED))


@pytest.mark.parametrize(("field", "value", "message", "hint"), [
    ("order__amount", "-5.00", '"-5.00" is below the minimum ¥0.00', "money (CNY) of at least ¥0.00"),
    ("order__amount", -0.01, "-0.01 is below the minimum ¥0.00", "money (CNY) of at least ¥0.00"),
    ("order__qty", 0, "0 is below the minimum 1", "integer from 1 to 100"),
    ("order__qty", 101, "101 is above the maximum 100", "integer from 1 to 100"),
    ("dealer__achievement", "100.5%", '"100.5%" is above the maximum 100%', "percent from 0% to 100%"),
    ("dealer__achievement", 1.2, "1.2 is above the maximum 100%", "percent from 0% to 100%"),
    ("dealer__ratio", "-2", '"-2" is below the minimum -1.5', "decimal from -1.5 to 2"),
    ("dealer__ratio", 2.01, "2.01 is above the maximum 2", "decimal from -1.5 to 2"),
])
def test_a_value_outside_min_or_max_is_refused_naming_the_bound(bounded: Schema, field: str, value: Any,
                                                                 message: str, hint: str) -> None:
    with pytest.raises(FactsError) as info:
        bounded.bind("order", facts(**{field: value}))
    [d] = info.value.diagnostics
    assert (d.code, d.field_path, d.message, d.hint) == (
        "fact.out_of_range", "facts." + field.replace("__", "."), message, hint)


@pytest.mark.parametrize(("field", "value", "bound"), [
    ("order__amount", "0", Decimal(0)), ("order__amount", 0, Decimal(0)), ("order__amount", "-0.00", Decimal(0)),
    ("order__qty", 1, 1), ("order__qty", 100, 100), ("dealer__achievement", "100%", Decimal(1)),
    ("dealer__achievement", 0, Decimal(0)), ("dealer__ratio", "-1.5", Decimal("-1.5")), ("dealer__ratio", 2, Decimal(2)),
])
def test_the_bounds_themselves_are_allowed(bounded: Schema, field: str, value: Any, bound: Any) -> None:
    fact, _, name = field.partition("__")
    assert bounded.bind("order", facts(**{field: value}))[fact][name] == bound


def test_bounds_hold_in_list_items_and_leave_other_errors_alone(bounded: Schema) -> None:
    data = facts(order__amount="abc")
    data["dealer"]["invoices"][1]["amount"] = "-100"
    assert bind_errors(bounded, data) == [
        ("fact.invalid", "facts.order.amount", 'expected money (CNY), got "abc"'),
        ("fact.out_of_range", "facts.dealer.invoices[1].amount", '"-100" is below the minimum ¥0.00')]
    assert bind_errors(bounded, facts(order__qty=True)) == [
        ("fact.invalid", "facts.order.qty", "expected integer, got true")]


def test_the_shipped_schema_refuses_a_negative_order_amount() -> None:
    shipped = load_schema(Path(__file__).resolve().parents[2] / "rules" / "schema.yaml")
    order = {"id": "SO1", "dealer_id": "D1", "date": "2025-07-01", "amount": "-5.00", "payment": "credit"}
    dealer = {"id": "D1", "name": "n", "tier": "county", "status": "active"}
    with pytest.raises(FactsError) as info:
        shipped.bind("order", {"order": order, "dealer": dealer})
    assert [(d.code, d.field_path) for d in info.value.diagnostics] == [("fact.out_of_range", "facts.order.amount")]
    assert shipped.bind("order", {"order": {**order, "amount": "5.00"}, "dealer": dealer})["order"]["amount"] == \
        Decimal("5.00")


@pytest.mark.parametrize("value", [0, 600000, 30000.1, 30000.10, "30000.10", "-5", "1.230"])
def test_money_accepts(schema: Schema, value: Any) -> None:
    assert schema.bind("order", facts(order__amount=value))["order"]["amount"] == Decimal(str(value))


@pytest.mark.parametrize(("value", "shown"), [
    ("abc", '"abc"'), (1.234, "1.234"), (True, "true"), ("¥1,000", '"¥1,000"'), ([1], "a list"),
    (float("inf"), "Infinity"), ("1e3", '"1e3"'),
])
def test_money_rejects(schema: Schema, value: Any, shown: str) -> None:
    assert bind_errors(schema, facts(order__amount=value)) == [
        ("fact.invalid", "facts.order.amount", f"expected money (CNY), got {shown}")]


@pytest.mark.parametrize(("value", "text"), [
    (0.1, "0.1"), (1e3, "1000.0"), (1e15, "1000000000000000.0"), (-0.0, "-0.0"), (30000.1, "30000.1"),
    ("12.340", "12.340"), ("12.00", "12.00"), ("-0", "-0"), ("007.50", "7.50"), ("5.000000", "5.000000"),
    (10**15, "1000000000000000"), (-(10**15), "-1000000000000000"), ("1000000000000000.00", "1000000000000000.00"),
    ("-999999999999999.99", "-999999999999999.99"), ("0001000000000000000", "1000000000000000"),
    (Decimal("1.5"), "1.5"), (Decimal("1E+3"), "1E+3"), (Decimal("2.500"), "2.500"),
])
def test_money_keeps_the_exact_decimal(schema: Schema, value: Any, text: str) -> None:
    amount = schema.bind("order", facts(order__amount=value))["order"]["amount"]
    assert type(amount) is Decimal and str(amount) == text


@pytest.mark.parametrize(("value", "shown"), [
    ("12.345", '"12.345"'), (0.125, "0.125"), (1e-07, "1e-07"), (10**15 + 1, "1000000000000001"),
    ("1000000000000000.01", '"1000000000000000.01"'), (1e16, "1e+16"), (float("nan"), "NaN"), ("NaN", '"NaN"'),
    (" 5", '" 5"'), ("5 ", '"5 "'), ("+5", '"+5"'), ("1.", '"1."'), (".5", '".5"'), ("1_000", '"1_000"'),
    ("", '""'), ("-", '"-"'), (False, "false"), (Decimal("1.001"), "1.001"), (Decimal("NaN"), "NaN"),
    ({"amount": 1}, "a mapping"), (1e30, "1e+30"), ("1" * 30 + ".001", f'"{"1" * 30}.001"'),
    (Decimal("1E+40"), "1E+40"),
    ("５００００", '"５００００"'), ("٥٠٠٠٠", '"٥٠٠٠٠"'), ("5０.00", '"5０.00"'),  # digits are ASCII, as for integers
])
def test_money_rejects_more(schema: Schema, value: Any, shown: str) -> None:
    assert bind_errors(schema, facts(order__amount=value)) == [
        ("fact.invalid", "facts.order.amount", f"expected money (CNY), got {shown}")]


def test_money_null_required_is_missing_and_optional_is_absent(schema: Schema) -> None:
    assert bind_errors(schema, facts(order__amount=None)) == [
        ("fact.missing_required", "facts.order.amount", 'required field "amount" is missing (money (CNY))')]
    assert "credit_limit" not in schema.bind("order", facts(dealer__credit_limit=None))["dealer"]
    assert schema.bind("order", facts(dealer__credit_limit="5.50"))["dealer"]["credit_limit"] == Decimal("5.50")
    assert bind_errors(schema, facts(dealer__credit_limit="5.555")) == [
        ("fact.invalid", "facts.dealer.credit_limit", 'expected money (CNY), got "5.555"')]


@pytest.mark.parametrize(("value", "text"), [
    ("1.25", "1.25"), ("1.2345678", "1.2345678"), (0.1, "0.1"), (7, "7"), ("-0.500", "-0.500"),
    (10**12, "1000000000000"), ("999999999999.999999", "999999999999.999999"), (Decimal("1E-9"), "1E-9"),
])
def test_decimal_keeps_the_exact_decimal(schema: Schema, value: Any, text: str) -> None:
    ratio = schema.bind("order", facts(dealer__ratio=value))["dealer"]["ratio"]
    assert type(ratio) is Decimal and str(ratio) == text


@pytest.mark.parametrize(("value", "shown"), [
    ("1e3", '"1e3"'), (" 1", '" 1"'), ("1.", '"1."'), (10**12 + 1, "1000000000001"), ("1000000000000.1", '"1000000000000.1"'),
    (True, "true"), (float("inf"), "Infinity"), ("Infinity", '"Infinity"'),
])
def test_decimal_rejects(schema: Schema, value: Any, shown: str) -> None:
    assert bind_errors(schema, facts(dealer__ratio=value)) == [
        ("fact.invalid", "facts.dealer.ratio", f"expected decimal, got {shown}")]


def test_optional_list_null_is_absent_and_errors_keep_their_paths(schema: Schema) -> None:
    assert "invoices" not in schema.bind("order", facts(dealer__invoices=None))["dealer"]
    assert schema.bind("order", facts(dealer__invoices=[]))["dealer"]["invoices"] == []
    data = facts()
    data["dealer"]["invoices"][1]["amount"] = None
    data["dealer"]["invoices"][2]["paid"] = None
    data["dealer"]["invoices"][2]["amount"] = "1.001"
    assert bind_errors(schema, data) == [
        ("fact.missing_required", "facts.dealer.invoices[1].amount", 'required field "amount" is missing (money (CNY))'),
        ("fact.invalid", "facts.dealer.invoices[2].amount", 'expected money (CNY), got "1.001"'),
    ]


@pytest.mark.parametrize(("value", "fraction"), [
    ("95%", "0.95"), ("95.5%", "0.955"), ("100%", "1"), (0.95, "0.95"), (1, "1"), ("0%", "0")])
def test_percent_forms(schema: Schema, value: Any, fraction: str) -> None:
    assert schema.bind("order", facts(dealer__achievement=value))["dealer"]["achievement"] == Decimal(fraction)


@pytest.mark.parametrize("value", ["95", "abc%", True, "0.95", "９５%", "٩٥%"])
def test_percent_rejects(schema: Schema, value: Any) -> None:
    [(code, path, message)] = bind_errors(schema, facts(dealer__achievement=value))
    assert (code, path) == ("fact.invalid", "facts.dealer.achievement")
    assert message.startswith("expected percent, got ")


@pytest.mark.parametrize(("field", "good", "bad", "shown", "kind"), [
    ("order__qty", 3, 1.5, "1.5", "integer"),
    ("order__qty", -2, True, "true", "integer"),
    ("order__qty", 0, "3", '"3"', "integer"),
    ("dealer__active", False, "yes", '"yes"', "boolean"),
    ("dealer__active", True, 1, "1", "boolean"),
    ("order__date", "2026-02-28", "2026-02-30", '"2026-02-30"', "date"),
    ("order__date", "2026-02-28", "2026/02/28", '"2026/02/28"', "date"),
    ("order__date", "2026-02-28", 20260228, "20260228", "date"),
    ("order__payment", "prepaid", "cash", '"cash"', "enum (credit, prepaid)"),
    ("dealer__ratio", "1.25", "x", '"x"', "decimal"),
    ("dealer__code", "D-1", 12, "12", "string"),
])
def test_value_types(schema: Schema, field: str, good: Any, bad: Any, shown: str, kind: str) -> None:
    schema.bind("order", facts(**{field: good}))
    path = "facts." + field.replace("__", ".")
    assert bind_errors(schema, facts(**{field: bad})) == [("fact.invalid", path, f"expected {kind}, got {shown}")]


def test_enum_suggests_close_value(schema: Schema) -> None:
    with pytest.raises(FactsError) as info:
        schema.bind("order", facts(order__payment="credt"))
    [diag] = info.value.diagnostics
    assert diag.suggestions == ("credit",) and diag.hint == 'did you mean "credit"?'


def test_error_text_shape(schema: Schema) -> None:
    with pytest.raises(FactsError) as info:
        schema.bind("order", facts(order__amount="abc"))
    assert info.value.diagnostics[0].render().splitlines()[0] == (
        'facts.order.amount: error[fact.invalid]: expected money (CNY), got "abc"')


def test_unknown_field_did_you_mean(schema: Schema) -> None:
    data = facts()
    data["order"]["amout"] = 5
    with pytest.raises(FactsError) as info:
        schema.bind("order", data)
    [diag] = info.value.diagnostics
    assert (diag.code, diag.field_path, diag.message) == (
        "fact.unknown_field", "facts.order.amout", 'unknown field "amout"')
    assert diag.suggestions == ("amount",)


def test_unknown_and_missing_fact_types(schema: Schema) -> None:
    data = facts()
    data["ordr"] = {}
    del data["dealer"]
    assert bind_errors(schema, data) == [
        ("fact.missing_required", "facts.dealer", 'required fact "dealer" is missing'),
        ("fact.unknown_type", "facts.ordr", 'unknown fact "ordr" for this decision point'),
    ]
    assert bind_errors(schema, [1]) == [
        ("fact.invalid", "facts", "expected a mapping of facts (order, dealer), got a list")]


def test_missing_optional_and_null(schema: Schema) -> None:
    out = schema.bind("order", facts(order__payment=None, dealer__invoices=None, dealer__ratio=None))
    assert "payment" not in out["order"] and "invoices" not in out["dealer"] and "ratio" not in out["dealer"]
    assert "qty" not in out["order"]


def test_required_missing_or_null(schema: Schema) -> None:
    data = facts(order__id=None)
    del data["order"]["amount"]
    assert bind_errors(schema, data) == [
        ("fact.missing_required", "facts.order.id", 'required field "id" is missing (string)'),
        ("fact.missing_required", "facts.order.amount", 'required field "amount" is missing (money (CNY))'),
    ]


def test_list_item_paths_and_all_errors_at_once(schema: Schema) -> None:
    data = facts(order__amount="abc", order__date="tomorrow")
    invoices = data["dealer"]["invoices"]
    invoices[2]["due_date"] = "2026-02-30"
    invoices[1]["paid"] = "no"
    del invoices[0]["amount"]
    invoices.append(7)
    assert bind_errors(schema, data) == [
        ("fact.invalid", "facts.order.date", 'expected date, got "tomorrow"'),
        ("fact.invalid", "facts.order.amount", 'expected money (CNY), got "abc"'),
        ("fact.missing_required", "facts.dealer.invoices[0].amount", 'required field "amount" is missing (money (CNY))'),
        ("fact.invalid", "facts.dealer.invoices[1].paid", 'expected boolean, got "no"'),
        ("fact.invalid", "facts.dealer.invoices[2].due_date", 'expected date, got "2026-02-30"'),
        ("fact.invalid", "facts.dealer.invoices[3]", "expected a mapping (invoices), got 7"),
    ]


def test_list_must_be_a_list(schema: Schema) -> None:
    assert bind_errors(schema, facts(dealer__invoices="none")) == [
        ("fact.invalid", "facts.dealer.invoices", 'expected list of invoices, got "none"')]


def test_validate_fact_alone(schema: Schema) -> None:
    assert schema.validate_fact("dealer", {"code": "D", "achievement": 0.9}) == {
        "code": "D", "achievement": Decimal("0.9")}
    with pytest.raises(FactsError) as info:
        schema.validate_fact("dealer", {"cod": "D"}, "request.dealer")
    assert [(d.code, d.field_path) for d in info.value.diagnostics] == [
        ("fact.missing_required", "request.dealer.code"), ("fact.unknown_field", "request.dealer.cod")]
    with pytest.raises(FactsError) as info:
        schema.validate_fact("order", {"id": "x", "date": "2026-01-01", "amount": "?"})
    assert info.value.diagnostics[0].field_path == "order.amount"


def test_facts_error_is_422(schema: Schema) -> None:
    with pytest.raises(FactsError) as info:
        schema.bind("order", {})
    assert info.value.http_status == 422 and info.value.exit_code == 4
