"""The loops of generated code: aggregates over a list (sum, count, max, min, any, all…).

Part of `codegen.Writer` (a mixin: it uses the writer's `emit`, `expr`, `var`, `const`, `known`,
`hoisted`). Each aggregate reads its list once, computes its filter's result per item once
(shared by aggregates that filter the same list the same way), hoists the values that do not
depend on the item out of the loop, and, when those values are known (the usual case), runs a
copy of its loop without their per-item unknown checks (loop unswitching).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dealerpolicy.lang import ir
from dealerpolicy.lang.closures import WORTH_CACHING, reads_items
from dealerpolicy.lang.values import Reason, Unknown


class Unsupported(Exception):
    """The tree has a shape the generator does not handle; keep the closure."""


class ListAggregates:
    """`codegen.Writer`'s aggregate methods."""

    def _Aggregate(self, e: ir.Aggregate) -> str:
        if e.source is None:
            raise Unsupported("aggregate without a list")
        source = self._source(e.source)
        v = self.var()
        source_known = source in self.known
        if not source_known:
            self.emit(f"if {source}.__class__ is U: {v} = {source}")
            self.emit("else:")
            self.indent += 1
        saved = dict(self.hoisted)
        try:
            self._hoist_item_free(e)
            invariant = [h for h in dict.fromkeys(self.hoisted[k] for k in self.hoisted if k not in saved)
                         if h not in self.known]
            if invariant and not self.items:
                # Loop unswitching: the request values read inside the loop are rarely unknown; when none
                # is, a copy of the loops where they count as known skips their per-item checks.
                self.emit("if " + " and ".join(f"{h}.__class__ is not U" for h in invariant) + ":")
                self.indent += 1
                before = set(self.known)
                self.known.update(invariant)
                fast_known = self._loops(e, source, v)
                self.known = before
                self.indent -= 1
                self.emit("else:")
                self.indent += 1
                result_known = self._loops(e, source, v) and fast_known
                self.indent -= 1
            else:
                result_known = self._loops(e, source, v)
        finally:
            self.hoisted = saved
        if not source_known:
            self.indent -= 1
        elif result_known:
            self.known.add(v)
        return v

    def _loops(self, e: ir.Aggregate, source: str, v: str) -> bool:
        """The filter and aggregate loops assigning `v`; True when `v` is then never unknown."""
        item, index = self.var("i"), self.var("n")
        self.items.append((e.depth, item, index, e.source.path))  # type: ignore[union-attr]
        try:
            oks, oks_known = self._filter_results(e, source, item, index)
            if e.name in ("any", "all"):
                return self._quantifier(e, source, oks, oks_known, v)
            return self._collect(e, source, oks, oks_known, item, index, v)
        finally:
            self.items.pop()

    def _source(self, ref: ir.Ref) -> str:
        v = self.var()
        missing = self.const(Unknown(frozenset({ref.path})))
        if ref.kind == "item":  # a list inside the item of an enclosing aggregate
            for _depth, item, _index, outer_path in reversed(self.items):
                if ref.path.startswith(outer_path + "."):
                    return self.read_field(v, item, ref.path.rsplit(".", 1)[1], ref.path, lambda: missing)
            raise Unsupported("nested list outside an aggregate")
        fact, _, name = ref.path.partition(".")
        if "." in name:
            raise Unsupported("deep list path")
        return self.read_field(v, f"env[{self.const(fact)}]", name, ref.path, lambda: missing)

    def _hoist_item_free(self, e: ir.Aggregate) -> None:
        """Sub-expressions that read no list item have one value per request: compute them before the loop."""
        for part in (e.projection, e.where):
            if part is not None:
                for node in _item_free_roots(part):
                    self.hoisted[id(node)] = self.expr(node)

    def _loop_head(self, index: str, item: str, iterable: str) -> int:
        """Emit `for index, item in enumerate(iterable):`; `_drop_index` may simplify it later."""
        self.emit(f"for {index}, {item} in enumerate({iterable}):")
        return len(self.lines) - 1

    def _drop_index(self, at: int, index: str, replacement: str, skip: int = 0) -> None:
        """When the loop body never reads `index` (only unknown values name it), loop without it:
        the `for` line at `at` becomes `replacement`, and the `skip` lines after it are dropped."""
        uses = re.compile(rf"\b{index}\b")
        if any(uses.search(line) for line in self.lines[at + 1 + skip:]):
            return
        head = self.lines[at]
        self.lines[at] = head[: len(head) - len(head.lstrip())] + replacement
        del self.lines[at + 1: at + 1 + skip]

    def _filter_results(self, e: ir.Aggregate, source: str, item: str, index: str) -> tuple[str | None, bool]:
        """The `where` result per item, kept in the env under the aggregate's share key like the closure;
        and whether every result is a boolean (never unknown)."""
        if e.where is None:
            return None, True
        oks = self.var("w")
        share = self.const(e.share) if e.share else None
        if share:
            self.emit(f"{oks} = env.get({share})")
            self.emit(f"if {oks} is None or len({oks}) != len({source}):")
            self.indent += 1
        pure = self._pure(e.where)
        if pure is not None:
            self.emit(f"{oks} = [{pure} for {item} in {source}]")
        else:
            self.emit(f"{oks} = []")
            at = self._loop_head(index, item, source)
            self.indent += 1
            ok = self.expr(e.where)
            self.emit(f"{oks}.append({ok})")
            self.indent -= 1
            self._drop_index(at, index, f"for {item} in {source}:")
        if share:
            self.emit(f"env[{share}] = {oks}")
            self.indent -= 1
        # the same share key is the same filter over the same list: whoever computed the shared
        # results, they are booleans whenever this filter's are
        return oks, pure is not None or ok in self.known

    def _quantifier(self, e: ir.Aggregate, source: str, oks: str | None, oks_known: bool, v: str) -> bool:
        decisive = e.name == "any"
        if oks is None:
            self.emit(f"{v} = len({source}) > 0" if decisive else f"{v} = True")
            return True
        unknown, ok = self.var("u"), self.var("x")
        if not oks_known:
            self.emit(f"{unknown} = None")
        self.emit(f"{v} = {not decisive}")
        self.emit(f"for {ok} in {oks}:")
        self.emit(f"    if {ok} is {decisive}:")
        self.emit(f"        {v} = {decisive}")
        self.emit("        break")
        if oks_known:
            return True
        self.emit(f"    if {ok} is not {not decisive}: {unknown} = {ok} if {unknown} is None else merge({unknown}, {ok})")
        self.emit(f"else: {v} = {not decisive} if {unknown} is None else {unknown}")
        return False

    def _collect(self, e: ir.Aggregate, source: str, oks: str | None, oks_known: bool, item: str, index: str,
                 v: str) -> bool:
        unknown, acc = self.var("u"), self.var("s")
        self.emit(f"{unknown} = None")
        self.emit(f"{acc} = {'0' if e.name in ('count', 'sum') else '[]'}")
        if oks is not None and e.projection is None and oks_known:  # count of a boolean filter
            self.emit(f"{acc} = {oks}.count(True)")
            self.emit(f"{v} = {acc}")
            return True
        if oks is not None and e.projection is None:
            ok = self.var("x")
            self.emit(f"for {ok} in {oks}:")
            self.emit(f"    if {ok} is True: {acc} += 1")
            self.emit(f"    elif {ok} is not False: {unknown} = {ok} if {unknown} is None else merge({unknown}, {ok})")
            self.emit(f"if {unknown} is not None: {v} = {unknown}")
            self.emit(f"else: {v} = {acc}")
            return False
        p = self._pure(e.projection) if e.projection is not None and e.name != "count" else None
        if p is not None and (oks is None or oks_known):  # one comprehension picks the values
            ok = self.var("x")
            picks = (f"[{p} for {item}, {ok} in zip({source}, {oks}) if {ok} is True]" if oks is not None
                     else f"[{p} for {item} in {source}]")
            if e.name == "sum":
                self.emit(f"{v} = sum({picks}, 0)")
                return True
            self.emit(f"{acc} = {picks}")
            empty = Unknown(frozenset(), Reason("no_items", list=e.source.path))  # type: ignore[union-attr]
            self.emit(f"if not {acc}: {v} = {self.const(empty)}")
            self.emit(f"else: {v} = {e.name}({acc})")
            return False
        at = self._loop_head(index, item, source)
        self.indent += 1
        if oks is not None:
            ok = self.var("x")
            self.emit(f"{ok} = {oks}[{index}]")
            self.emit(f"if {ok} is not True:")
            self.emit(f"    if {ok} is not False: {unknown} = {ok} if {unknown} is None else merge({unknown}, {ok})")
            self.emit("    continue")
        known = oks is None or oks_known
        if e.projection is None:
            self.emit(f"{acc} += 1")
        else:
            p = self.expr(e.projection)
            if p in self.known:
                self.emit(f"{acc} = {acc} + {p}" if e.name == "sum" else
                          f"{acc} += 1" if e.name == "count" else f"{acc}.append({p})")
            else:
                known = False
                self.emit(f"if {p}.__class__ is U: {unknown} = {p} if {unknown} is None else merge({unknown}, {p})")
                if e.name == "count":
                    self.emit(f"else: {acc} += 1")
                elif e.name == "sum":
                    self.emit(f"else: {acc} = {acc} + {p}")
                else:
                    self.emit(f"else: {acc}.append({p})")
        self.indent -= 1
        if oks is not None:
            self._drop_index(at, index, f"for {item}, {ok} in zip({source}, {oks}):", skip=1)
        else:
            self._drop_index(at, index, f"for {item} in {source}:")
        if e.name in ("count", "sum"):
            if known:
                self.emit(f"{v} = {acc}")
                return True
            self.emit(f"if {unknown} is not None: {v} = {unknown}")
            self.emit(f"else: {v} = {acc}")
            return False
        empty = Unknown(frozenset(), Reason("no_items", list=e.source.path))  # type: ignore[union-attr]
        self.emit(f"if {unknown} is not None: {v} = {unknown}")
        self.emit(f"elif not {acc}: {v} = {self.const(empty)}")
        self.emit(f"else: {v} = {e.name}({acc})")
        return False


def _item_free_roots(e: ir.Expr) -> Iterable[ir.Expr]:
    """The largest sub-trees worth computing once per request (the closures cache the same ones),
    and the plain reads of request values (`order.date` inside a filter), read once, not per item."""
    if (isinstance(e, WORTH_CACHING) or (isinstance(e, ir.Ref) and e.kind != "item")) and not reads_items(e):
        yield e
        return
    for child in e.children():
        if child is not None:
            yield from _item_free_roots(child)
