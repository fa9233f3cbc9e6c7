"""Fixtures shared by every test folder (helpers in tests/minirules.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from minirules import empty_rules_dir


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """An empty rules folder over the mini schema; a test writes its policy into it."""
    return empty_rules_dir(tmp_path)
