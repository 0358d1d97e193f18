"""The benchmark still runs: a quick pass, its figures printed, its peer check agreeing.

Speed itself is judged by running bench/schedules.py by hand, never by a timed test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "schedules.py"


def test_schedules_benchmark_runs_and_agrees_with_its_peers() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "summary:" in done.stdout
    assert "WARNING" not in done.stdout, "ours and a peer gave different instants"
