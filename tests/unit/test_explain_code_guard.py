"""Generated explanation code may hold only what the explain module writes: never a rulebook's text."""

from __future__ import annotations

import pytest

from dealerpolicy.explain.generated import assert_our_code as _assert_our_code

OURS = '''def reasons(env):
    try:
        r = c0(env)
    except Exception:
        r = ERROR
    if r.__class__ is not bool:
        r = None
    e0 = {"expr": c10, "result": r, "op": c11, "claim": claim, "text": claim + c12[r]}
    claim = c5 + claim + ')'
    text = f"{c_head}{i}] ({h0}{f0(v0)}, {h1}{f1(v1)}{c_counted}"
    return [e0]
'''


def test_the_module_s_own_code_passes():
    _assert_our_code(OURS)


@pytest.mark.parametrize("foreign", [
    'x = "华南"',  # a rulebook string written into the code
    'x = "order_amount_label"',  # a word that is not a decision key
    "x = eval(c0)",
    "x = __import__(c0)",
    "import os",
    "x = c0.__globals__",
    "x = 3",  # a number the module never writes
    "x = c0 # comment",
    'x = f"{c0}; {c1}"',  # an f-string with other text
    "x = lambda: c0",
])
def test_anything_else_is_refused(foreign):
    with pytest.raises(AssertionError, match="refused"):
        _assert_our_code(foreign + "\n")
