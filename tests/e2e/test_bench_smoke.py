"""The benchmarks still run: a quick pass, their figures printed, the schedules bench's peer
check agreeing.

Speed itself is judged by running bench/schedules.py and bench/engine.py by hand, never by a
timed test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_schedules_benchmark_runs_and_agrees_with_its_peers() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "schedules.py"), "--quick"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "summary:" in done.stdout
    assert "WARNING" not in done.stdout, "ours and a peer gave different instants"


def test_engine_benchmark_runs_on_both_stores(postgres_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "engine.py"), "--quick", "--postgres-url", postgres_url],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for store in ("sqlite", "postgresql"):
        for figure in ("enqueue one by one", "drain, thread mode", "latency", "firing lateness"):
            assert any(
                line.startswith(store) and figure in line for line in done.stdout.splitlines()
            ), f"no {figure} figure for {store}"
    assert "summary:" in done.stdout
