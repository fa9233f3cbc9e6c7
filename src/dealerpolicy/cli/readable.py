"""Human-readable rendering of decisions: a one-line table row, and a full report.

Both print text taken from the input (subjects, messages, ids; in a report, every part of the
decision), so both pass it through `printable`: a control character in it is shown escaped.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from dealerpolicy.cli.render import printable

RERENDERED_FROM = "_rerendered_from"  # on a decision shown in another language than it was made in (explain)

HEAD = {
    "zh": ("对象", "结果", "命中规则", "说明"),
    "en": ("subject", "outcome", "rules", "message"),
}
WORDS = {
    "zh": {"decision": "决定", "as_of": "依据日期", "outcome": "结果", "rules_version": "规则版本",
           "matched": "命中规则", "why": "原因", "derived": "计算过程", "outputs": "输出", "missing": "缺少数据",
           "why_not": "未命中规则", "none": "无规则命中", "notes": "备注", "policy": "政策", "undecided": "未能判定",
           "rerendered": "说明与原因据审计记录重新以中文生成"},
    "en": {"decision": "Decision", "as_of": "as of", "outcome": "Outcome", "rules_version": "rules version",
           "matched": "Matched rules", "why": "because", "derived": "computed", "outputs": "Outputs",
           "missing": "Missing data", "why_not": "Rules that did not match", "none": "no rule matched",
           "notes": "Notes", "policy": "policy", "undecided": "Undecided",
           "rerendered": "messages and reasons re-rendered in English from the audit record"},
}


def table_header(lang: str) -> str:
    h = HEAD[lang]
    return f"{h[0]:<16} {h[1]:<13} {h[2]:<28} {h[3]}"


def table_row(d: dict[str, Any], lang: str) -> str:
    ids = [m["rule"] for m in d["matched"]] + [f"?{u['rule']}" for u in d.get("undecided", [])]
    rules = ",".join(ids) or "-"
    top = d["matched"][0] if d["matched"] else None
    pending = d["undecided"][0] if d.get("undecided") else None
    if pending and (top is None or top["outcome"] != d["outcome"]):
        first = pending["message"]
    else:
        first = top["message"] if top else ""
    subject = printable(str(d.get("subject") or "-"))  # escaped before padding: the columns stay aligned
    return f"{subject:<16} {printable(d['outcome']):<13} {printable(rules[:28]):<28} {printable(first)}"


def render_decision(d: dict[str, Any], lang: str) -> str:
    w = WORDS[lang if lang in WORDS else "zh"]
    lines = [f"{w['decision']} {d['decision_id'][:12]}  {d['point']} {d.get('subject') or ''}  "
             f"({w['as_of']} {d['as_of']}, {w['rules_version']} {d['rules_version'][:12]})",
             f"{w['outcome']}: {d['outcome']}"]
    matched = d["matched"]
    if d.get(RERENDERED_FROM) and (matched or d.get("undecided") or d.get("why_not") or d.get("notes")):
        lines.append(f"  ({w['rerendered']})")
    if not matched:
        lines.append(f"  {w['none']}")
    for m in matched:
        lines.append(f"  [{m['rule']}] {m['title']} → {m['outcome']}  ({w['policy']} {m['policy']} v{m['version']})")
        lines.append(f"      {m['message']}")
        for r in m.get("reasons", []):
            lines.append(f"      · {r['text']}")
        for dv in m.get("derived", []):
            lines.append(f"      = {dv.get('text', '')}")
            for item in dv.get("items", []):
                lines.append(f"          - {item['text']}")
    if d.get("outputs"):
        lines.append(f"{w['outputs']}: " + ", ".join(f"{k}={_shown(v)}" for k, v in d["outputs"].items()))
    lines += _undecided(d, w)
    for wn in d.get("why_not", []) or []:
        lines.append(f"  ✗ [{wn['rule']}] {wn['title']}: " + "; ".join(f["text"] for f in wn["failed"]))
    if d.get("notes"):
        lines.append(f"{w['notes']}: " + " | ".join(d["notes"]))
    return "\n".join(map(printable, lines))  # a newline inside a message is shown as \n, not obeyed


def _undecided(d: dict[str, Any], w: dict[str, str]) -> list[str]:
    """The missing fields, then each undecided rule with its message. An undecided rule need not
    lack data (a divisor that is 0 at run time): with no field missing, its heading says so."""
    missing, undecided = d.get("missing", []), d.get("undecided", [])
    if not missing and not undecided:
        return []
    head = f"{w['missing']}: {', '.join(missing)}" if missing else f"{w['undecided']}:"
    return [head] + [f"  [{u['rule']}] {u['title']} → {u['outcome']}: {u['message']}" for u in undecided]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Text(_Part):
    text: str


class _Derived(_Part):
    text: str = ""
    items: list[_Text] = []


class _Matched(_Part):
    rule: str
    title: str
    outcome: str
    policy: str
    version: str
    message: str
    reasons: list[_Text] = []
    derived: list[_Derived] = []


class _Undecided(_Part):
    rule: str
    title: str
    outcome: str
    message: str


class _WhyNot(_Part):
    rule: str
    title: str
    failed: list[_Text]


class _Report(_Part):
    """What `render_decision` reads of a decision (the README's decision JSON); the rest is ignored."""

    decision_id: str
    point: str
    as_of: str
    outcome: str
    matched: list[_Matched]
    rules_version: str
    outputs: dict[str, Any] = {}
    missing: list[str] = []
    undecided: list[_Undecided] = []
    why_not: list[_WhyNot] | None = None
    notes: list[str] = []
    lang: str = "zh"  # the words' language: the report's headings when no --lang is given


def report_problems(d: Any) -> list[str]:
    """Why `d` cannot be rendered as a decision, one `path: problem` per fault; [] when it can."""
    if not isinstance(d, dict):
        return [f"expected a decision object (from check --format json), got {_json_kind(d)}"]
    try:
        _Report.model_validate(d)
    except ValidationError as exc:
        return [f"{_path(e['loc']) or '(decision)'}: {_problem(e)}" for e in exc.errors()]
    return []


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else f"{'.' if out else ''}{step}"
    return out


def _problem(error: Any) -> str:
    if error["type"] == "missing":
        return "missing"
    return f"expected {_EXPECTED.get(error['type'], error['msg'])}, got {_json_kind(error['input'])}"


_EXPECTED = {"string_type": "text", "list_type": "a list", "dict_type": "an object",
             "model_type": "an object", "model_attributes_type": "an object"}


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return "a number"


def _shown(value: Any) -> str:
    """JSON values as people read them: true/false, not Python's True/False."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
