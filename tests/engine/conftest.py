from __future__ import annotations

from pathlib import Path

import pytest

from dealerpolicy.api import Decider

MINI = Path(__file__).parent.parent / "fixtures" / "mini"


@pytest.fixture(scope="session")
def decider() -> Decider:
    d = Decider.from_dir(MINI)
    yield d
    d.close()
