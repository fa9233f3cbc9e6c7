"""Words of explanations in zh and en, and the unparser that writes an IR node back as text."""

from __future__ import annotations

import weakref

from dealerpolicy.lang import ir
from dealerpolicy.lang.values import Reason, format_value

OP_SYMBOL = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
BOUND = {
    "zh": {"<=": "（含）", ">=": "（含）", "<": "（不含）", ">": "（不含）"},
    "en": {"<=": "(inclusive)", ">=": "(inclusive)", "<": "(exclusive)", ">": "(exclusive)"},
}
RESULT = {
    "zh": {True: "成立", False: "不成立", None: "未知（缺少数据）"},
    "en": {True: "true", False: "false", None: "unknown (missing data)"},
}
WORDS = {
    "zh": {"in": "属于", "not in": "不属于", "between": "介于", "and": "且", "not": "并非", "counted": "计入",
           "excluded": "排除", "row": "落在区间", "value": "取值", "missing": "缺少数据", "param": "参数",
           "no_items": "没有符合条件的项目", "default": "默认值"},
    "en": {"in": "in", "not in": "not in", "between": "between", "and": "and", "not": "not", "counted": "counted",
           "excluded": "excluded", "row": "falls in row", "value": "value", "missing": "missing", "param": "param",
           "no_items": "no matching items", "default": "default"},
}

# An unknown value's reason (lang.values.Reason) in the languages other than English, by its kind.
REASONS = {
    "zh": {
        "zero_divisor": "除数为 0：{divisor} = 0",
        "percent_of_zero": "percent()：整体为 0，无法计算百分比",
        "no_items": "{list} 没有符合条件的项目",
        "no_value": "没有 {key} 对应的值",
        "no_row": "{table}：没有 {key} 对应的行",
        "function_error": "{function}() 无法计算：{error}",
    },
}
# A built-in function's failure (lang.values.FUNCTION_PROBLEMS) in the languages other than English;
# a failure of no known kind keeps Python's English text.
FUNCTION_PROBLEMS = {
    "zh": {
        "year_range": "年份 {year} 不在 1–9999 之间",
        "month_range": "月份 {month} 不在 1–12 之间",
        "day_range": "该月没有这一天",
        "date_range": "日期将超出 0001-01-01 至 9999-12-31 的范围",
        "too_large": "数值过大，无法计算",
    },
}


def reason_text(reason: str, lang: str) -> str:
    """An unknown value's reason in `lang` (English, and a reason of no known kind, as it is)."""
    words = REASONS.get(lang)
    if words is None or not isinstance(reason, Reason):
        return reason
    values = reason.values
    problem = values.get("problem")
    if problem is not None:
        values = {**values, "error": FUNCTION_PROBLEMS[lang][problem].format(**values)}
    return words[reason.kind].format(**values)


_TEXT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def unparse(e: ir.Expr) -> str:
    """The expression as text (canonical spacing), for explanations; cached per node."""
    try:
        return _TEXT[e]
    except KeyError:
        text = _TEXT[e] = _unparse(e)
        return text


def _unparse(e: ir.Expr) -> str:
    if isinstance(e, ir.Const):
        if e.param:
            return e.param
        return format_value(e.value, e.type.kind) if not isinstance(e.value, str) else f'"{e.value}"'
    if isinstance(e, ir.Ref):
        return e.field_name if e.kind == "item" else e.path
    if isinstance(e, ir.ParamIndex):
        return f"{e.param}[{unparse(e.key)}]" if e.key else e.param
    if isinstance(e, ir.Arith):
        return f"{_paren(e.left)} {e.op} {_paren(e.right)}"
    if isinstance(e, ir.Neg):
        return f"-{_paren(e.operand)}"
    if isinstance(e, ir.Compare):
        return f"{unparse(e.left)} {OP_SYMBOL[e.op]} {unparse(e.right)}"
    if isinstance(e, ir.InSet):
        opts = e.param or "[" + ", ".join(unparse(o) for o in e.options) + "]"
        return f"{unparse(e.value)} {'not in' if e.negated else 'in'} {opts}"
    if isinstance(e, ir.Between):
        return f"{unparse(e.value)} between {unparse(e.low)} and {unparse(e.high)}"
    if isinstance(e, ir.Logic):
        return f" {e.op} ".join(_paren(i) for i in e.items)
    if isinstance(e, ir.Not):
        return f"not {_paren(e.operand)}"
    if isinstance(e, ir.Func):
        return f"{e.name}({', '.join(unparse(a) for a in e.args)})"
    if isinstance(e, ir.Aggregate):
        src = unparse(e.source) if e.source else "?"
        inner = src if e.projection is None else unparse(e.projection)
        if e.projection is not None and e.source is not None:
            inner = _qualify(e.projection, e.source.path)
        where = f" where {unparse(e.where)}" if e.where is not None else ""
        return f"{e.name}({inner}{where})"
    if isinstance(e, ir.TableLookup):
        return f"table({unparse(e.on)})" if e.on else "table"
    return "?"


def _qualify(projection: ir.Expr, list_path: str) -> str:
    if isinstance(projection, ir.Ref) and projection.kind == "item":
        return f"{list_path}.{projection.field_name}"
    return unparse(projection)


def _paren(e: ir.Expr | None) -> str:
    if e is None:
        return "?"
    text = unparse(e)
    return f"({text})" if isinstance(e, ir.Logic | ir.Arith) else text
