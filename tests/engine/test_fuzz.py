"""Generated rulebooks and facts never crash, hang or disagree (run in a child process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "fuzz_rulebooks.py"


def test_generated_rulebooks_never_crash_hang_or_disagree():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--examples", "150"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    assert "fuzz OK" in proc.stdout
