"""Simulator throughput: rows/s, MB/s and peak RSS for a 50 MB and a 500 MB run.

Each size runs in a fresh child process (so peak RSS is that run's alone) and
writes to bench/out/. Usage: python bench/bench_simulator.py [MB ...]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

CHILD = r"""
import json, resource, sys, time
from finops.simulator import simulate
t0 = time.perf_counter()
r = simulate(sys.argv[1], target_mb=float(sys.argv[2]), seed=7)
secs = time.perf_counter() - t0
print(json.dumps({"rows": r.rows, "bytes": r.file_bytes, "seconds": secs,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(mb: float) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"sim_{mb:g}mb.csv"
    res = subprocess.run([sys.executable, "-c", CHILD, str(path), str(mb)], check=True,
                         capture_output=True, text=True)
    stats = json.loads(res.stdout.strip().splitlines()[-1])
    path.unlink()
    path.with_name(path.name + ".plan.json").unlink(missing_ok=True)
    return stats


def main(argv: list[str]) -> None:
    sizes = [float(a) for a in argv] or [50.0, 500.0]
    print(f"cpus: {os.cpu_count()}  python: {sys.version.split()[0]}")
    print(f"{'target':>8} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'MB/s':>7} {'peak RSS':>9}")
    for mb in sizes:
        s = run(mb)
        print(f"{mb:>6g}MB {s['rows']:>10,} {s['seconds']:>8.2f} {s['rows'] / s['seconds']:>10,.0f} "
              f"{s['bytes'] / 1e6 / s['seconds']:>7.1f} {s['peak_rss_mb']:>7.0f}MB", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
