"""Small rulebooks over the mini schema (tests/fixtures/mini), written policy by policy in a test.

Importable from any test: tests/conftest.py puts this folder on sys.path (pytest's rootdir conftest).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dealerpolicy.errors import RulesError
from dealerpolicy.rulebook.load import load_rulebook

MINI = Path(__file__).parent / "fixtures" / "mini"

HEADER = """\
policy: p
title: {zh: 测试, en: Test}
point: order
version: 1
effective_from: 2026-01-01
"""

MESSAGE = 'message: {zh: "金额 {order.amount}", en: "Amount {order.amount}"}'


def empty_rules_dir(where: Path) -> Path:
    """A rules folder with the mini schema and no policy yet."""
    shutil.copy(MINI / "schema.yaml", where / "schema.yaml")
    (where / "policies").mkdir()
    return where


def write_policy(rules: Path, text: str, name: str = "p.yaml") -> Path:
    path = rules / "policies" / name
    path.write_text(text, encoding="utf-8")
    return path


def located_problems(rules: Path, text: str) -> list[tuple[int, int, str, str, str | None]]:
    """(line, col, code, message, hint) of each problem of one policy file; all carry a span and a hint."""
    write_policy(rules, text)
    with pytest.raises(RulesError) as exc:
        load_rulebook(rules)
    found = [(d.span.line, d.span.col, d.code, d.message, d.hint) for d in exc.value.diagnostics if d.span]
    assert len(found) == len(exc.value.diagnostics), exc.value.diagnostics
    assert all(hint for *_, hint in found), found
    return found
