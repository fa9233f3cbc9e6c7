"""Human-readable rendering of decisions: a one-line table row, and a full report."""

from __future__ import annotations

from typing import Any

HEAD = {
    "zh": ("对象", "结果", "命中规则", "说明"),
    "en": ("subject", "outcome", "rules", "message"),
}
WORDS = {
    "zh": {"decision": "决定", "as_of": "依据日期", "outcome": "结果", "rules_version": "规则版本",
           "matched": "命中规则", "why": "原因", "derived": "计算过程", "outputs": "输出", "missing": "缺少数据",
           "why_not": "未命中规则", "none": "无规则命中", "notes": "备注", "policy": "政策"},
    "en": {"decision": "Decision", "as_of": "as of", "outcome": "Outcome", "rules_version": "rules version",
           "matched": "Matched rules", "why": "because", "derived": "computed", "outputs": "Outputs",
           "missing": "Missing data", "why_not": "Rules that did not match", "none": "no rule matched",
           "notes": "Notes", "policy": "policy"},
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
    return f"{str(d.get('subject') or '-'):<16} {d['outcome']:<13} {rules[:28]:<28} {first}"


def render_decision(d: dict[str, Any], lang: str) -> str:
    w = WORDS[lang if lang in WORDS else "zh"]
    lines = [f"{w['decision']} {d.get('decision_id', '')[:12]}  {d.get('point')} {d.get('subject') or ''}  "
             f"({w['as_of']} {d.get('as_of')}, {w['rules_version']} {str(d.get('rules_version', ''))[:12]})",
             f"{w['outcome']}: {d.get('outcome')}"]
    matched = d.get("matched", [])
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
    if d.get("missing") or d.get("undecided"):
        lines.append(f"{w['missing']}: {', '.join(d.get('missing', []))}")
        for u in d.get("undecided", []):
            lines.append(f"  [{u['rule']}] {u['title']} → {u['outcome']}: {u['message']}")
    for wn in d.get("why_not", []) or []:
        lines.append(f"  ✗ [{wn['rule']}] {wn['title']}: " + "; ".join(f["text"] for f in wn["failed"]))
    if d.get("notes"):
        lines.append(f"{w['notes']}: " + " | ".join(d["notes"]))
    return "\n".join(lines)


def _shown(value: Any) -> str:
    """JSON values as people read them: true/false, not Python's True/False."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
