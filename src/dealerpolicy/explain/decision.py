"""Turn an engine `Evaluation` into the decision JSON (the contract documented in the README)."""

from __future__ import annotations

import weakref
from datetime import date
from typing import Any

from dealerpolicy.engine.evaluate import Evaluation
from dealerpolicy.explain.formats import iso
from dealerpolicy.explain.jsonvalues import to_json
from dealerpolicy.explain.matched import RulePlan
from dealerpolicy.explain.trace import Labeller, derived_used, why_not
from dealerpolicy.explain.words import reason_text
from dealerpolicy.lang import ir
from dealerpolicy.rulebook.policy import Derived, Policy, Rule

LEGAL_NOTE = {
    "zh": "规则 {rule} 涉及转售价格（纵向垄断风险），按政策仅立案调查，不自动处罚；请法务复核。",
    "en": "Rule {rule} concerns resale prices (vertical-monopoly risk): it opens an investigation only, "
          "no automatic penalty; legal review required.",
}
NOTES = {
    "no_policy_yet": {
        "zh": "{date} 没有生效的{label}政策（最早的自 {first} 起生效）：按默认结果 {outcome} 处理",
        "en": "no policy of point {point} is in force on {date} (the first takes effect on {first}): "
              "the default outcome {outcome} applies"},
    "no_policy": {
        "zh": "{date} 没有生效的{label}政策：按默认结果 {outcome} 处理",
        "en": "no policy of point {point} is in force on {date}: the default outcome {outcome} applies"},
    "lenient_applied": {
        "zh": "{policy}：{today} 生效的 {current} 版对经销商更轻，按从旧兼从轻适用（违规时的 {version} 版更重）",
        "en": "{policy}: version {current} (in force on {today}) is more lenient than version {version} "
              "and was applied"},
    "lenient_kept": {
        "zh": "{policy}：适用违规时的 {version} 版；{today} 生效的 {current} 版并不更轻",
        "en": "{policy}: version {version} applied; version {current} (in force on {today}) is not more lenient"},
}
MISSING_MESSAGE = {
    "zh": "缺少数据，无法判断：{fields}",
    "en": "Cannot decide for missing data: {fields}",
}
UNDECIDED_MESSAGE = {  # unknown with no field missing: a zero divisor, a list with no matching items…
    "zh": "无法判断：{reason}",
    "en": "Cannot decide: {reason}",
}


def build_decision(ev: Evaluation, *, labels: dict[str, dict[str, str]], lang: str = "zh",
                   with_why_not: bool = False, decision_id: str = "", rules_version: str = "",
                   elapsed_us: int = 0) -> dict[str, Any]:
    point = ev.point
    matched: list[tuple[int, dict[str, Any]]] = []
    undecided: list[dict[str, Any]] = []
    notes = [NOTES[kind][lang].format(**values, label=point.label.get(lang, point.name)) for kind, values in ev.notes]
    outputs: dict[str, Any] = {}
    output_severity: dict[str, int] = {}
    not_matched: list[dict[str, Any]] = []
    stories: dict[tuple[str, str], dict[str, Any]] = {}  # one story per derived value per decision
    policy_versions: dict[str, str] = {}
    for result in ev.results:
        policy = result.policy
        policy_versions[policy.id] = policy.version
        if result.lenient_note:
            kind, values = result.lenient_note
            notes.append(NOTES[kind][lang].format(**values))
        if not (result.matched or result.unknown or with_why_not):
            continue  # nothing of this policy to explain
        cache = _CACHES.get(id(policy)) or _policy_cache(policy)
        lab = cache.labellers.get(lang)
        if lab is None or lab.labels is not labels:
            lab = cache.labeller(labels, lang)
        items: dict[tuple[str, str], list[dict[str, Any]]] = {}  # aggregates' list items, shared
        env = result.env
        plans = lab.rule_plans
        for rule in result.matched:
            plan = plans.get(id(rule)) or cache.plan(rule, lab)
            entry, values = plan.entry(env, stories, items)
            if plan.point is point:
                severity = plan.severity
            else:
                severity = point.severity(rule.outcome)
                plan.point, plan.severity = point, severity
            matched.append((severity, entry))
            for name, _, json in plan.outputs:
                if severity > output_severity.get(name, -1):
                    outputs[name], output_severity[name] = json(values[name]), severity
            if plan.legal:
                notes.append(LEGAL_NOTE[lang].format(rule=rule.id))
        for rule, unknown in result.unknown:
            fields = sorted(unknown.paths)
            undecided.append({"policy": policy.id, "version": policy.version, "rule": rule.id,
                              "clause": rule.clause, "title": rule.title[lang],
                              "outcome": rule.on_missing or point.missing, "missing": fields,
                              "message": _undecided_message(fields, unknown.reason, lang)})
        if with_why_not:
            env = result.full_env()  # a failed condition may read values this request did not need
            decided = {r.id for r in result.matched} | {r.id for r, _ in result.unknown}
            for rule in policy.rules:
                if rule.id not in decided:
                    not_matched.append({"policy": policy.id, "rule": rule.id, "title": rule.title[lang],
                                        "outcome": rule.outcome, "failed": why_not(rule.when, env, lab)})
    if len(matched) > 1:
        matched.sort(key=lambda m: -m[0])
        entries = [m for _, m in matched]
    else:
        entries = [matched[0][1]] if matched else []
    as_of, subject = ev.as_of, ev.subject
    decision: dict[str, Any] = {
        "decision_id": decision_id,
        "point": point.name,
        "subject": subject if subject.__class__ is str else to_json(subject, ""),  # (a str as it is)
        "as_of": iso(as_of) if as_of.__class__ is date else as_of.isoformat(),
        "outcome": ev.outcome,
        "matched": entries,
        "outputs": outputs,
        "missing": ev.missing,
        "undecided": undecided,
        "rules_version": rules_version,
        "policy_versions": policy_versions,
        "notes": notes,
        "lang": lang,
        "elapsed_us": elapsed_us,
    }
    if with_why_not:
        decision["why_not"] = not_matched
    return decision


def _undecided_message(fields: list[str], reason: str, lang: str) -> str:
    if fields:
        return MISSING_MESSAGE[lang].format(fields=", ".join(fields))
    return UNDECIDED_MESSAGE[lang].format(reason=reason_text(reason, lang))


class _PolicyCache:
    """What explaining one policy needs on every decision, computed once: its derived values, the
    derived values each rule reads, and a Labeller (which caches names and texts) per language."""

    def __init__(self, policy: Policy):
        self.derived = {d.name: d for d in policy.derived}
        self.derived_labels = {d.name: d.label for d in policy.derived}
        self.used: dict[ir.Expr, list[Derived]] = {}
        self.id, self.version, self.key = policy.id, policy.version, policy.key
        self.labellers: dict[str, Labeller] = {}  # by language

    def labeller(self, labels: dict, lang: str) -> Labeller:
        lab = self.labellers.get(lang)
        if lab is None or lab.labels is not labels:  # other labels (not the schema's): start afresh
            lab = self.labellers[lang] = Labeller(labels, self.derived_labels, lang)
        return lab

    def derived_used(self, rule: Rule) -> list[Derived]:
        used = self.used.get(rule.when)
        if used is None:
            used = self.used[rule.when] = [self.derived[n] for n in derived_used(rule.when, self.derived)]
        return used

    def plan(self, rule: Rule, lab: Labeller) -> RulePlan:
        """The plan of a matched rule's entry, kept by the Labeller (one per language and labels)."""
        plan = lab.rule_plans.get(id(rule))
        if plan is None:
            plan = lab.rule_plans[id(rule)] = RulePlan(rule, self.derived_used(rule), lab, (self.id, self.version, self.key))
        return plan


_CACHES: dict[int, _PolicyCache] = {}  # by id(policy); an entry is dropped when its policy is freed


def _policy_cache(policy: Policy) -> _PolicyCache:
    cache = _CACHES.get(id(policy))
    if cache is None:
        cache = _CACHES[id(policy)] = _PolicyCache(policy)
        weakref.finalize(policy, _CACHES.pop, id(policy), None)
    return cache
