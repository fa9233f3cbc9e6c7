"""Fixtures for the policy-test tooling: copies of small rules folders under tests/testing/data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def credit_dir(tmp_path: Path) -> Path:
    """A writable copy of the credit rules folder with its passing cases."""
    target = tmp_path / "credit"
    shutil.copytree(DATA / "credit", target)
    return target


@pytest.fixture
def planted_dir() -> Path:
    return DATA / "planted"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def edit():
    """edit(path, old, new): replace the first `old` in a file."""
    return _edit
