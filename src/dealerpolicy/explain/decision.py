"""Turn an engine `Evaluation` into the decision JSON (the contract documented in the README)."""

from __future__ import annotations

from typing import Any

from dealerpolicy.engine.evaluate import Evaluation, PolicyResult
from dealerpolicy.explain.jsonvalues import to_json
from dealerpolicy.explain.trace import Labeller, derived_story, derived_used, reasons, why_not
from dealerpolicy.rulebook.policy import Rule

LEGAL_NOTE = {
    "zh": "规则 {rule} 涉及转售价格（纵向垄断风险），按政策仅立案调查，不自动处罚；请法务复核。",
    "en": "Rule {rule} concerns resale prices (vertical-monopoly risk): it opens an investigation only, "
          "no automatic penalty; legal review required.",
}
MISSING_MESSAGE = {
    "zh": "缺少数据，无法判断：{fields}",
    "en": "Cannot decide for missing data: {fields}",
}


def build_decision(ev: Evaluation, *, labels: dict[str, dict[str, str]], lang: str = "zh",
                   with_why_not: bool = False, decision_id: str = "", rules_version: str = "",
                   elapsed_us: int = 0) -> dict[str, Any]:
    point = ev.point
    matched: list[tuple[int, dict[str, Any]]] = []
    undecided: list[dict[str, Any]] = []
    notes = list(ev.notes)
    outputs: dict[str, Any] = {}
    output_severity: dict[str, int] = {}
    not_matched: list[dict[str, Any]] = []
    stories: dict[tuple[str, str], dict[str, Any]] = {}  # one story per derived value per decision
    for result in ev.results:
        lab = _labeller(result, labels, lang)
        if result.lenient_note:
            notes.append(f"{result.policy.id}: {result.lenient_note}")
        for rule in result.matched:
            entry, values = _matched_entry(rule, result, lab, lang, stories)
            severity = point.severity(rule.outcome)
            matched.append((severity, entry))
            for name, (value, kind) in values.items():
                if severity > output_severity.get(name, -1):
                    outputs[name], output_severity[name] = to_json(value, kind), severity
            if "legal_review" in rule.tags:
                notes.append(LEGAL_NOTE[lang].format(rule=rule.id))
        for rule, unknown in result.unknown:
            fields = sorted(unknown.paths)
            undecided.append({"policy": result.policy.id, "version": result.policy.version, "rule": rule.id,
                              "clause": rule.clause, "title": rule.title[lang],
                              "outcome": rule.on_missing or point.missing, "missing": fields,
                              "message": MISSING_MESSAGE[lang].format(fields=", ".join(fields) or unknown.reason)})
        if with_why_not:
            decided = {r.id for r in result.matched} | {r.id for r, _ in result.unknown}
            for rule in result.policy.rules:
                if rule.id not in decided:
                    not_matched.append({"policy": result.policy.id, "rule": rule.id, "title": rule.title[lang],
                                        "outcome": rule.outcome, "failed": why_not(rule.when, result.env, lab)})
    matched.sort(key=lambda m: -m[0])
    decision: dict[str, Any] = {
        "decision_id": decision_id,
        "point": point.name,
        "subject": to_json(ev.subject, ""),
        "as_of": ev.as_of.isoformat(),
        "outcome": ev.outcome,
        "matched": [m for _, m in matched],
        "outputs": outputs,
        "missing": ev.missing,
        "undecided": undecided,
        "rules_version": rules_version,
        "policy_versions": {r.policy.id: r.policy.version for r in ev.results},
        "notes": notes,
        "lang": lang,
        "elapsed_us": elapsed_us,
    }
    if with_why_not:
        decision["why_not"] = not_matched
    return decision


def _labeller(result: PolicyResult, labels: dict, lang: str) -> Labeller:
    return Labeller(labels, {d.name: d.label for d in result.policy.derived}, lang)


def _matched_entry(rule: Rule, result: PolicyResult, lab: Labeller, lang: str,
                   stories: dict[tuple[str, str], dict[str, Any]]):
    env = result.env
    values = {name: (e.fn(env), e.type.kind) for name, e in rule.outputs.items()}
    message_env = dict(env)
    message_env.update({name: v for name, (v, _) in values.items()})
    derived = {d.name: d for d in result.policy.derived}
    entry = {
        "policy": result.policy.id,
        "version": result.policy.version,
        "rule": rule.id,
        "clause": rule.clause,
        "outcome": rule.outcome,
        "title": rule.title[lang],
        "message": rule.templates[lang].render(message_env),
        "reasons": reasons(rule.when, env, lab),
        "derived": [_story(stories, result.policy.key, derived[n], env, lab)
                    for n in derived_used(rule.when, derived)],
        "outputs": {name: to_json(v, kind) for name, (v, kind) in values.items()},
        "tags": list(rule.tags),
    }
    return entry, values


def _story(stories: dict[tuple[str, str], dict[str, Any]], policy: str, derived: Any, env: dict,
           lab: Labeller) -> dict[str, Any]:
    key = (policy, derived.name)
    story = stories.get(key)
    if story is None:
        story = stories[key] = derived_story(derived, env, lab)
    return story
