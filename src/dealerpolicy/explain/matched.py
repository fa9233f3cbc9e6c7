"""The entry of a matched rule in a decision, planned once per rule and Labeller (policy, language).

The plan keeps everything of the entry that does not depend on the request — ids, title, tags,
the message's text pieces and constants, the reasons' and derived values' plans — so an entry
costs only the request's values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dealerpolicy.explain.formats import json_formatter, text_formatter
from dealerpolicy.explain.generated import Code
from dealerpolicy.explain.plan import Atom, reasons_function
from dealerpolicy.lang import ir
from dealerpolicy.rulebook.policy import Derived, Rule

if TYPE_CHECKING:
    from dealerpolicy.explain.trace import Labeller


class Message:
    """A message template as pieces: static text (with constants and params already shown), output
    values read from the rule's outputs, and expressions evaluated on the request's env."""

    __slots__ = ("pieces", "needs_outputs")

    def __init__(self, parts: tuple[str | ir.Expr, ...], outputs: dict[str, ir.Expr]):
        # a piece is (text, None, None), (None, output name, formatter) or (None, fn, formatter)
        pieces: list[tuple[str | None, Any, Callable[[Any], str] | None]] = []
        self.needs_outputs = False  # an expression reads an output: evaluate it on env + outputs
        for p in parts:
            if isinstance(p, str):
                pieces.append((p, None, None))
                continue
            fmt = text_formatter(p.type.kind)
            if isinstance(p, ir.Const):
                pieces.append((fmt(p.fn({})), None, None))
            elif isinstance(p, ir.Ref) and p.kind == "derived" and p.path in outputs:
                pieces.append((None, p.path, fmt))
            else:
                self.needs_outputs |= any(isinstance(n, ir.Ref) and n.kind != "item" and n.path in outputs
                                          for n in ir.walk(p))
                pieces.append((None, p.fn, fmt))
        merged: list[tuple[str | None, Any, Callable[[Any], str] | None]] = []
        for piece in pieces:  # adjacent static texts as one
            if piece[0] is not None and merged and merged[-1][0] is not None:
                merged[-1] = (merged[-1][0] + piece[0], None, None)
            else:
                merged.append(piece)
        self.pieces = merged

    def render(self, env: dict, values: dict[str, Any]) -> str:
        if self.needs_outputs:
            env = {**env, **values}
        out = []
        for text, source, fmt in self.pieces:
            if text is not None:
                out.append(text)
            elif source.__class__ is str:
                out.append(fmt(values[source]))  # type: ignore[misc]
            else:
                out.append(fmt(source(env)))  # type: ignore[misc]
        return "".join(out)


class RulePlan:
    """A matched rule's entry: `entry(env, stories, items)` returns it with the output values."""

    __slots__ = ("head", "message", "reasons", "reasons_of", "derived", "outputs", "tags", "legal", "point",
                 "severity", "entry")

    def __init__(self, rule: Rule, derived: list[Derived], lab: Labeller, policy: tuple[str, str, str]):
        policy_id, version, policy_key = policy  # the policy's id, version and key
        self.head = (policy_id, version, rule.id, rule.clause, rule.outcome, rule.title[lab.lang])
        self.message = Message(rule.templates[lab.lang].parts, rule.outputs)
        self.reasons: list[Atom] = lab.reasons_plan(rule.when)
        self.reasons_of = reasons_function(self.reasons)  # env → [a.entry(env) for a in self.reasons]
        # (the story's key in the decision, its generated `Story.entry`)
        self.derived: list[tuple[tuple[str, str], Callable]] = [((policy_key, d.name), lab.story(d).run)
                                                                for d in derived]
        self.outputs = [(name, e.fn, json_formatter(e.type.kind)) for name, e in rule.outputs.items()]
        self.tags = rule.tags
        self.legal = "legal_review" in rule.tags  # the decision notes it
        self.point: Any = None  # the decision point `severity` is of (known at the first decision)
        self.severity = 0
        self.entry = self._function()  # type: ignore[method-assign]  # `entry` as straight code

    def _function(self) -> Callable[[dict, dict, dict], tuple[dict[str, Any], dict[str, Any]]]:
        """`entry` written out for this rule: the same steps in the same order (output values, message,
        reasons, stories, output JSON), without the loops."""
        code = Code()
        code.add("def entry(env, stories, items):")
        n = range(len(self.outputs))
        for i, (_, fn, _) in enumerate(self.outputs):
            code.add(f"    o{i} = {code.const(fn)}(env)")
        code.add(f"    values = {{{', '.join(f'{code.const(name)}: o{i}' for i, (name, _, _) in enumerate(self.outputs))}}}")
        index = {name: i for i, (name, _, _) in enumerate(self.outputs)}
        menv = "env"
        if self.message.needs_outputs:
            code.add("    menv = {**env, **values}")
            menv = "menv"
        parts = []  # `Message.render`, written out
        for text, source, fmt in self.message.pieces:
            if text is not None:
                parts.append(code.const(text))
            elif source.__class__ is str:
                parts.append(f"{code.const(fmt)}(o{index[source]})")
            else:
                parts.append(f"{code.const(fmt)}({code.const(source)}({menv}))")
        code.add(f"    message = ''.join(({''.join(f'{p}, ' for p in parts)}))")
        code.add(f"    reasons = {code.const(self.reasons_of)}(env)")
        for j, (key, story) in enumerate(self.derived):  # one story per derived value per decision
            code.add(f"    d{j} = stories.get({code.const(key)})")
            code.add(f"    if d{j} is None:")
            code.add(f"        d{j} = stories[{code.const(key)}] = {code.const(story)}(env, items)")
        head = ", ".join(f'"{k}": {code.const(v)}' for k, v in
                         zip(("policy", "version", "rule", "clause", "outcome", "title"), self.head, strict=True))
        derived = ", ".join(f"d{j}" for j in range(len(self.derived)))
        outputs = ", ".join(f"{code.const(name)}: {code.const(json)}(o{i})"
                            for i, (name, _, json) in zip(n, self.outputs, strict=True))
        code.add(f'    return {{{head}, "message": message, "reasons": reasons, "derived": [{derived}], '
                 f'"outputs": {{{outputs}}}, "tags": list({code.const(self.tags)})}}, values')
        return code.build("entry", "rule entry")

    def entry_steps(self, env: dict, stories: dict[tuple[str, str], dict[str, Any]],
                    items: dict) -> tuple[dict[str, Any], dict[str, Any]]:
        """The entry, and the rule's output values (for the decision's `outputs`); `entry` is this
        function generated for the rule."""
        values = {name: fn(env) for name, fn, _ in self.outputs}
        head = self.head
        message = self.message.render(env, values)
        reasons = self.reasons_of(env)
        derived = []
        for key, story in self.derived:  # one story per derived value per decision
            found = stories.get(key)
            if found is None:
                found = stories[key] = story(env, items)
            derived.append(found)
        return {"policy": head[0], "version": head[1], "rule": head[2], "clause": head[3], "outcome": head[4],
                "title": head[5], "message": message, "reasons": reasons, "derived": derived,
                "outputs": {name: json(values[name]) for name, _, json in self.outputs},
                "tags": list(self.tags)}, values
