"""How derived values were computed: a value's story, and the items of the lists it aggregates.

A story says a derived value's inputs and result (for a table: the row that applied); an
aggregate's items are listed as counted or excluded, with the condition that excluded each.
Built once per derived value and language (`Labeller.story`), like the rule plans in `plan`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from dealerpolicy.explain.formats import (
    Memo,
    json_formatter,
    print_alone,
    text_formatter,
    value_key,
)
from dealerpolicy.explain.generated import ERROR as _ERROR
from dealerpolicy.explain.generated import Code as _Code
from dealerpolicy.explain.plan import Operand, WhyNot, evaluate
from dealerpolicy.explain.words import unparse
from dealerpolicy.lang import ir
from dealerpolicy.lang.values import Unknown

if TYPE_CHECKING:
    from dealerpolicy.explain.trace import Labeller

_PLAIN = text_formatter("")


class AggregateItems:
    """Each list item of an aggregate: counted or excluded, and the condition that excluded it."""

    __slots__ = ("source", "path", "key", "idx", "where", "why", "share", "formats", "counted", "excluded",
                 "shared_key", "summary_of", "counted_lines", "lists")

    def __init__(self, agg: ir.Aggregate, lab: Labeller):
        source = agg.source
        self.source = source.fn if source is not None else None
        self.path = source.path if source is not None else ""
        self.key, self.idx = f"$item{agg.depth}", f"$idx{agg.depth}"
        self.where = agg.where.fn if agg.where is not None else None
        self.why = WhyNot(agg.where, lab) if agg.where is not None else None
        self.share = agg.share
        self.shared_key = (agg.share, lab.text(agg.where)) if agg.share and agg.where is not None else None
        # what its items are made of: aggregates that agree here list the same items
        self.lists = (self.path, agg.depth, lab.text(agg.where) if agg.where is not None else None)
        fields = source.type.fields if source is not None else ()
        self.formats = {name: text_formatter(t.kind) for name, t in fields}
        # `summary`, specialised to the list's declared fields
        self.summary_of = _summary_of(tuple(name for name, _ in fields), self.formats, self.summary)
        self.counted, self.excluded = f"): {lab.words['counted']}", lab.words["excluded"]
        # `_items` of a list whose items are all counted, as straight code
        self.counted_lines = _counted_lines(tuple(name for name, _ in fields), self.formats, self.path,
                                            self.counted)

    def items(self, env: dict, shared: dict | None) -> list[dict[str, Any]]:
        """The items, explained once per decision for aggregates that filter the same list the
        same way (`shared`, one dict per decision and policy; the engine shares their filters too)."""
        if shared is None or self.shared_key is None:
            return self._items(env)
        found = shared.get(self.shared_key)
        if found is None:
            found = shared[self.shared_key] = self._items(env)
        return found

    def _items(self, env: dict) -> list[dict[str, Any]]:
        if self.source is None:
            return []
        items = evaluate(self.source, env)
        if not isinstance(items, list):
            return []
        path, where = self.path, self.where
        known = env.get(self.share) if self.share else None  # filter results the engine already computed
        if known is not None and len(known) != len(items):
            known = None
        scope: list[dict] = []  # the env with the current item, copied only when a filter or reason must run
        if self.counted_lines is not None and (where is None or known is not None):
            # counted items as straight code, the others (their reasons read the env) line by line
            out = self.counted_lines(items, None if where is None else known,
                                     lambda i, item, ok: self._not_counted(env, scope, i, item, ok))
            if out is not None:
                return out
        out = []
        counted, summary_of = self.counted, self.summary_of
        for i, item in enumerate(items):
            if where is None:
                ok: Any = True
            elif known is not None:
                ok = known[i]
            else:
                ok = evaluate(where, self._scope(env, scope, i, item))
            if ok is True:
                out.append({"list": path, "index": i, "status": "counted",
                            "text": f"{path}[{i}] ({summary_of(item)}{counted}"})
            else:
                out.append(self._not_counted(env, scope, i, item, ok))
        return out

    def _scope(self, env: dict, scope: list[dict], i: int, item: Any) -> dict:
        """The env with item i as the current item (`scope` holds the one copy made per list)."""
        if not scope:
            scope.append(dict(env))
        current = scope[0]
        current[self.key], current[self.idx] = item, i
        return current

    def _not_counted(self, env: dict, scope: list[dict], i: int, item: Any, ok: Any) -> dict[str, Any]:
        """The line of an item the filter excluded (or left unknown), with the reasons why."""
        because = "; ".join(self.why.texts(self._scope(env, scope, i, item))) if self.why is not None else ""
        return {"list": self.path, "index": i, "status": "excluded" if ok is False else "unknown",
                "text": f"{self.path}[{i}] ({self.summary_of(item)}): {self.excluded} — {because}"}

    def summary(self, item: dict) -> str:
        """The item's first 4 fields, `name text` each."""
        fields = []
        shown = self.formats.get
        for k, v in item.items():
            fields.append(f"{k} {shown(k, _PLAIN)(v)}")
            if len(fields) == 4:
                break
        return ", ".join(fields)


def _counted_lines(names: tuple[str, ...], formats: dict[str, Callable[[Any], str]], path: str,
                   counted: str) -> Callable[[list, list | None], list[dict[str, Any]] | None] | None:
    """`AggregateItems._items` for items whose first fields are the list's first declared ones, in
    order, as straight code (`known`: the engine's filter results, None when the aggregate has no
    filter): a counted item's line is memoised by its index, values and their classes; an item
    not counted gets its line from `other(index, item, filter result)`, which reads the env.
    None (the caller explains the list itself) at the first item of another shape, or at the
    first item not counted when there is no `other`."""
    width = min(len(names), 4)
    if width == 0:
        return None
    rest = ", *_" if len(names) >= 4 else ""  # as `_summary_of`
    n = range(width)
    code = _Code()
    memo = Memo(None)  # as large as the formats module's memos
    code.space.update(memo_get=memo.get, keep=memo.keep, safe=_safe_values)
    head = f"{path}["
    for i in n:
        code.space[f"n{i}"], code.space[f"h{i}"], code.space[f"f{i}"] = names[i], f"{names[i]} ", formats[names[i]]
    code.space.update(c_path=path, c_head=head, c_counted=counted)
    values = "".join(f"v{i}, " for i in n)
    summary = ", ".join(f"{{h{i}}}{{f{i}(v{i})}}" for i in n)
    code.add("def counted_lines(items, known, other=None):")
    code.add("    out = []")
    code.add("    append = out.append")
    code.add("    i = 0")
    code.add("    for item in items:")
    code.add("        if known is not None and known[i] is not True:")
    code.add("            if other is None:")
    code.add("                return None")
    code.add("            append(other(i, item, known[i]))")
    code.add("            i += 1")
    code.add("            continue")
    code.add("        try:")
    code.add(f"            {', '.join(f'(k{i}, v{i})' for i in n)}{rest}, = item.items()")
    code.add("        except (ValueError, TypeError, AttributeError):")
    code.add("            return None")
    code.add(f"        if not ({' and '.join(f'k{i} == n{i}' for i in n)}):")
    code.add("            return None")
    code.add(f"        key = (i, {values}{''.join(f'v{i}.__class__, ' for i in n)})")
    code.add("        try:")
    code.add("            text = memo_get(key)")
    code.add("        except TypeError:")
    code.add("            text = None")
    code.add("        if text is None:")
    code.add(f'            text = f"{{c_head}}{{i}}] ({summary}{{c_counted}}"')
    code.add(f"            if safe(({values})):")
    code.add("                keep(key, text)")
    code.add('        append({"list": c_path, "index": i, "status": "counted", "text": text})')
    code.add("        i += 1")
    code.add("    return out")
    return code.build("counted_lines", "counted items")


def _summary_of(names: tuple[str, ...], formats: dict[str, Callable[[Any], str]],
                generic: Callable[[dict], str]) -> Callable[[dict], str]:
    """`AggregateItems.summary` for items whose first fields are the list's first declared ones, in
    order (the usual case), as straight code; its texts are memoised by the values and their classes
    (1, True and Decimal(1) are equal but may print differently). Any other item goes to `generic`.

    The code is made of indices only: names, heads and formatters are bound as values."""
    width = min(len(names), 4)
    if width == 0:
        return generic
    # an item of a list of 4 fields or more shows its first 4 (whatever follows); of fewer, all of them
    rest = ", *_" if len(names) >= 4 else ""
    n = range(width)
    pairs = ", ".join(f"(k{i}, v{i})" for i in n)
    values = "".join(f"v{i}, " for i in n)
    classes = "".join(f"v{i}.__class__, " for i in n)
    texts = " + ', ' + ".join(f"h{i} + f{i}(v{i})" for i in n)
    src = (
        "def summary(item):\n"
        "    try:\n"
        f"        {pairs}{rest}, = item.items()\n"
        "    except (ValueError, TypeError, AttributeError):\n"
        "        return generic(item)\n"
        f"    if not ({' and '.join(f'k{i} == n{i}' for i in n)}):\n"
        "        return generic(item)\n"
        f"    values = ({values})\n"
        "    try:\n"
        "        found = memo_get(values)\n"
        "    except TypeError:\n"
        "        found = None\n"
        f"    classes = ({classes})\n"
        "    if found is not None and found[0] == classes:\n"
        "        return found[1]\n"
        f"    text = {texts}\n"
        "    if safe(values):\n"
        "        memo.keep(values, (classes, text))\n"
        "    return text\n"
    )
    memo = Memo(5_000)
    space: dict[str, Any] = {"generic": generic, "memo": memo, "memo_get": memo.get, "safe": _safe_values}
    for i in n:
        space[f"n{i}"], space[f"h{i}"], space[f"f{i}"] = names[i], f"{names[i]} ", formats[names[i]]
    exec(compile(src, "<explain item summary>", "exec"), space)  # noqa: S102 - indices only, no rulebook text
    return space["summary"]


_SAFE_CLASSES = frozenset({str, int, bool, date, type(None)})  # a list line's values (no unknowns)


def _safe_values(values: tuple) -> bool:
    return print_alone(values, _SAFE_CLASSES)


class Story:
    """How a derived value was computed: its expression, inputs and (for aggregates) list items;
    for a table, the row its input falls in."""

    __slots__ = ("name", "json", "text", "expr", "on", "rows", "on_expr", "on_name", "on_text", "row_word",
                 "default", "head", "inputs", "open", "close", "aggregates", "memo", "run")

    def __init__(self, d: Any, lab: Labeller):
        expr = d.expr
        kind = d.type.kind
        self.name = d.name
        self.json, self.text = json_formatter(kind), text_formatter(kind)
        self.on = expr.on if isinstance(expr, ir.TableLookup) else None  # a table: the value it looks up
        self.expr = None if isinstance(expr, ir.TableLookup) else unparse(expr)
        if self.on is not None:
            self.rows = expr.rows
            self.on_expr = f"table({unparse(self.on)})"
            self.on_name, self.on_text = lab.name(self.on), text_formatter(self.on.type.kind)
            self.row_word, self.default = lab.words["row"], lab.words["default"]
        self.head = f"{lab.derived_name(d.name)} = {unparse(expr)} = "
        self.inputs = [Operand(r, lab) for r in _find_refs(expr)]
        self.open, self.close = ("（", "）") if lab.lang == "zh" else (" (", ")")
        # each list once: sum(x where c) / count(x where c) lists x's items once, not twice
        aggregates: dict[tuple, AggregateItems] = {}
        for node in ir.walk(expr):
            if isinstance(node, ir.Aggregate):
                items = lab.aggregate_items(node)
                aggregates.setdefault(items.lists, items)
        self.aggregates = list(aggregates.values())
        self.memo = Memo(2_000)  # texts by the values they show (see `formats.value_key`)
        self.run = self._function()  # `entry` as one generated function

    def _function(self) -> Callable[[dict, dict | None], dict[str, Any]]:
        """`entry` as straight code: the values read once each, the memo looked up with the key
        `value_key` gives (values, then their classes) — a key holding a value that does not decide
        its own text never hits, as no such key is kept."""
        code = _Code()
        code.space.update(texts=self._texts, keep=self.memo.keep, memo_get=self.memo.get, safe=value_key)
        code.add("def story(env, shared):")
        code.add(f"    v0 = env.get({code.const(self.name)})")
        fns = [self.on.fn] if self.on is not None else [o.fn for o in self.inputs if not o.const]
        for i, fn in enumerate(fns, 1):
            code.add("    try:")
            code.add(f"        v{i} = {code.const(fn)}(env)")
            code.add("    except Exception:")
            code.add(f"        v{i} = ERROR")
        n = range(len(fns) + 1)
        code.add(f"    values = ({''.join(f'v{i}, ' for i in n)}{''.join(f'type(v{i}), ' for i in n)})")
        code.add("    try:")
        code.add("        found = memo_get(values)")
        code.add("    except TypeError:")
        code.add("        found = None")
        code.add("    if found is None:")
        code.add(f"        found = texts([{', '.join(f'v{i}' for i in n)}])")
        code.add(f"        if safe([{', '.join(f'v{i}' for i in n)}]) is not None:")
        code.add("            keep(values, found)")
        code.add("    json, expr, row, text = found")
        code.add(f'    entry = {{"name": {code.const(self.name)}, "value": json, "expr": expr}}')
        code.add("    if row is not None:")
        code.add('        entry["row"] = row')
        code.add('    entry["text"] = text')
        if self.aggregates:
            parts = " + ".join(f"{code.const(a.items)}(env, shared)" for a in self.aggregates)
            # a new list, as `entry` makes (aggregates' items may be shared within a decision)
            code.add(f'    entry["items"] = {parts if len(self.aggregates) > 1 else f"list({parts})"}')
        code.add("    return entry")
        return code.build("story", "story")

    def entry(self, env: dict, shared: dict | None) -> dict[str, Any]:
        value = env.get(self.name)
        if self.on is not None:
            values = [value, evaluate(self.on.fn, env)]
        else:
            values = [value]
            for o in self.inputs:
                if not o.const:
                    try:
                        values.append(o.fn(env))
                    except Exception:  # noqa: BLE001
                        values.append(_ERROR)
        key = value_key(values)
        found = self.memo.get(key) if key is not None else None
        if found is None:
            found = self._texts(values)
            if key is not None:
                self.memo.keep(key, found)
        json, expr, row, text = found
        entry: dict[str, Any] = {"name": self.name, "value": json, "expr": expr}
        if row is not None:
            entry["row"] = row
        entry["text"] = text
        if self.aggregates:
            entry["items"] = [i for a in self.aggregates for i in a.items(env, shared)]
        return entry

    def _texts(self, values: list[Any]) -> tuple[Any, str | None, str | None, str]:
        """The story's JSON value, expr, row and text, from its value and its inputs' values."""
        value = values[0]
        if self.on is not None:
            on_value = values[1]
            row = None
            if not isinstance(on_value, Unknown):
                for r in self.rows:
                    if r.contains(on_value):
                        row = r
                        break
            where = row.label if row else self.default
            return (self.json(value), self.on_expr, where,
                    f"{self.on_name} {self.on_text(on_value)} {self.row_word} {where} → {self.name} = "
                    f"{self.text(value)}")
        text = self.head + self.text(value)
        if self.inputs:
            shown, rest = [], iter(values[1:])
            for o in self.inputs:
                shown.append(o.shown_const if o.const else o.show(next(rest)))
            text = f"{text}{self.open}{'; '.join(shown)}{self.close}"
        return self.json(value), self.expr, None, text


def _find_refs(e: ir.Expr) -> list[ir.Expr]:
    """The fields, derived values and params an expression reads."""
    out, seen = [], set()
    for node in ir.walk(e):
        if isinstance(node, ir.Ref) and node.kind != "item" and node.type.kind != "list" and node.path not in seen:
            seen.add(node.path)
            out.append(node)
        if isinstance(node, ir.Const) and node.param and node.param not in seen:
            seen.add(node.param)
            out.append(node)
    return out
