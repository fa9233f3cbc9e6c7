"""One generated function per policy that fills the flat durable_rules fact from the env.

The same work as looping over `KeySpec.getter` / `KeySpec.encode` (which stay the reference and
the fallback), without two Python calls per key: each key's value is computed inline by the
code generator (`lang/codegen.py`) and encoded inline (booleans as they are, dates as day
numbers, numbers as integers at their scale).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

from dealerpolicy.engine.compile import INT64, SCALES, KeySpec
from dealerpolicy.lang import ir
from dealerpolicy.lang.codegen import Unsupported, Writer, build

Encoder = Callable[[dict[str, Any], dict[str, Any], set[str]], None]


def generate_encoder(keys: list[KeySpec], overflow: Callable[[str, Any], Any], label: str,
                     present: frozenset[str] = frozenset(), lazy: frozenset[str] = frozenset()) -> Encoder:
    """`encode(env, flat, absent)`; `overflow(key, value)` raises for numbers too large to be exact.

    `present`: fact field paths bound facts always hold (`Schema.present`); a key computed only
    from those and constants is never unknown, so its absent check is left out.
    `lazy`: derived values the env may lack (not needed by this request, see `engine.needs`);
    a key reading one that is not there is left out of the fact, and not counted as absent.
    Raises Unsupported when a key cannot be generated (the caller keeps the KeySpec loop).
    """
    w = Writer(present)
    for spec in keys:
        if spec.expr is None:
            raise Unsupported(f"key {spec.key} has no expression")
        key = w.const(spec.key)
        skipped = sorted({n.path for n in ir.walk(spec.expr)
                          if isinstance(n, ir.Ref) and n.kind == "derived" and n.path in lazy})
        # a fact key several policies read is encoded once
        w.emit(f"if {key} not in flat{''.join(f' and {w.const(name)} in env' for name in skipped)}:")
        w.indent += 1
        x = w.expr(spec.expr)
        known = x in w.known
        if spec.negate:
            w.emit(f"{x} = not {x}" if known else f"{x} = (not {x}) if {x}.__class__ is bool else {x}")
        if known:  # never None nor unknown: the encoding's first test opens the chain
            w.emit("if False: pass")
        else:
            w.emit(f"if {x} is None or {x}.__class__ is U: absent.add({key})")
        _emit_encoding(w, spec, key, x, overflow)
        w.indent -= 1
    w.emit("return None")
    return build(w, label, signature="env, flat, absent")


def _emit_encoding(w: Writer, spec: KeySpec, key: str, x: str, overflow: Callable[[str, Any], Any]) -> None:
    kind = "boolean" if spec.negate else spec.kind
    if kind == "boolean":
        w.emit(f"elif {x}.__class__ is bool: flat[{key}] = {x}")
    elif kind == "date":
        w.emit(f"elif isinstance({x}, {w.const(date)}): flat[{key}] = {x}.toordinal()")
    elif kind in ("string", "enum"):
        w.emit(f"elif isinstance({x}, str): flat[{key}] = {x}")
    elif spec.mode == "x":
        scaled, whole = w.var("s"), w.var("n")
        w.emit("else:")
        w.emit(f"    {scaled} = {x} * {w.const(SCALES[kind])}")
        w.emit(f"    {whole} = int({scaled})")
        w.emit(f"    if {whole} != {scaled} or abs({whole}) > {w.const(INT64)}: {w.const(overflow)}({key}, {x})")
        w.emit(f"    flat[{key}] = {whole}")
        return
    else:
        rounding = math.floor if spec.mode == "f" else math.ceil
        whole = w.var("n")
        w.emit("else:")
        w.emit(f"    {whole} = {w.const(rounding)}(D({x}) * {w.const(SCALES[kind])})")
        w.emit(f"    flat[{key}] = {whole} if -{w.const(INT64)} <= {whole} <= {w.const(INT64)} else "
               f"max(-{w.const(INT64)}, min({w.const(INT64)}, {whole}))")
        return
    w.emit(f"else: absent.add({key})")
