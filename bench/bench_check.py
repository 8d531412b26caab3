"""How long `finops check` takes: it runs before every build, serve rebuild and run-sql.

Prints, for the built-in analyzers: a cold check in a fresh process (parse,
calls.sql over a header-only CSV, setup queries, DESCRIBE of each reported
query), a repeat in the same process (the cache that serve's rebuilds hit),
and the whole `finops check` command wall time (interpreter start-up and
imports included). Figures vary with the machine's load: run it alone.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def in_process() -> None:
    from finops.engine import check

    cold = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        result = check.check_analyzers(use_cache=False)
        cold.append(time.perf_counter() - t0)
        assert result.ok, result.problems
    t0 = time.perf_counter()
    check.check_analyzers()
    cached = time.perf_counter() - t0
    queries = sum(len(a.queries) for a in result.analyzers.values())
    print(f"check, {len(result.analyzers)} analyzers, {queries} queries: "
          f"median {statistics.median(cold):.3f} s (min {min(cold):.3f}, max {max(cold):.3f}) "
          f"over {RUNS} runs; cached repeat {cached * 1000:.2f} ms")


def command() -> None:
    finops = Path(sys.executable).parent / "finops"
    walls = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run([str(finops), "check", "-q"], check=True, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
    print(f"`finops check` command wall: median {statistics.median(walls):.3f} s "
          f"(min {min(walls):.3f}) over {RUNS} runs")


if __name__ == "__main__":
    in_process()
    command()
