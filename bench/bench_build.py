"""`finops build` wall time on a 50 MB and a 500 MB simulated CSV, and report sizes.

Each size: simulate (seed 7) into bench/out/, then run the real command
`finops build --csv ... --out bench/out/reports_<N>mb` in a child process,
timed by wall clock, twice (the second run is the warm-cache figure).
Budgets from the issue: 50 MB under 2 s, 500 MB under 20 s.
Usage: python bench/bench_build.py [MB ...]   (default: 50 500)
"""

from __future__ import annotations

import sys

from common import OUT, machine, simulate, timed_finops

BUDGET_SECONDS = {50: 2.0, 500: 20.0}


def build(csv_path, out) -> tuple[float, float]:
    return timed_finops("build", "--csv", str(csv_path), "--out", str(out), "--quiet")


def main(sizes: list[float]) -> int:
    print(machine())
    over = False
    for mb in sizes:
        csv_path = simulate(mb)
        out = OUT / f"reports_{mb:g}mb"
        cold, peak = build(csv_path, out)
        warm, peak2 = build(csv_path, out)
        budget = BUDGET_SECONDS.get(int(mb))
        verdict = "" if budget is None else (" OK" if warm < budget else " OVER BUDGET")
        print(f"{mb:g} MB ({csv_path.stat().st_size / 1e6:.1f} MB): build {cold:.2f} s first run, "
              f"{warm:.2f} s second run, peak RSS {max(peak, peak2):.0f} MB"
              + (f" (budget {budget:g} s){verdict}" if budget else ""))
        over |= bool(budget and warm >= budget)
        files = sorted(p for p in out.iterdir() if p.is_file())
        total = sum(p.stat().st_size for p in files)
        for p in files:
            print(f"    {p.name:<40} {p.stat().st_size / 1024:8.1f} KB")
        print(f"    {'total (without assets/)':<40} {total / 1024:8.1f} KB")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main([float(a) for a in sys.argv[1:]] or [50.0, 500.0]))
