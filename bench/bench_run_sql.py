"""`finops run-sql all --format json` wall time and peak memory on 50 MB and 500 MB.

Each size: the seed-7 simulated CSV in bench/out/ (shared with bench_build),
then the real command in a child process, timed by wall clock, three times;
the best and the worst run are printed with the child's peak RSS.
Budgets from the issue: 50 MB under 1.5 s, 500 MB under 15 s, peak under 2 GB
(DuckDB's memory_limit defaults to 2GB; set FINOPS_MEMORY_LIMIT to change it).
Usage: python bench/bench_run_sql.py [MB ...]   (default: 50 500)
"""

from __future__ import annotations

import sys

from common import machine, simulate, timed_finops

BUDGET_SECONDS = {50: 1.5, 500: 15.0}
BUDGET_RSS_MB = 2048


def main(sizes: list[float]) -> int:
    print(machine())
    over = False
    for mb in sizes:
        csv_path = simulate(mb)
        runs = [timed_finops("run-sql", "all", "--format", "json", "--csv", str(csv_path))
                for _ in range(3)]
        best = min(s for s, _ in runs)
        worst = max(s for s, _ in runs)
        peak = max(r for _, r in runs)
        budget = BUDGET_SECONDS.get(int(mb))
        ok = (budget is None or best < budget) and peak < BUDGET_RSS_MB
        print(f"{mb:g} MB ({csv_path.stat().st_size / 1e6:.1f} MB): run-sql all --format json "
              f"best {best:.2f} s, worst {worst:.2f} s, peak RSS {peak:.0f} MB"
              + (f" (budget {budget:g} s, {BUDGET_RSS_MB} MB)" if budget else "")
              + (" OK" if ok else " OVER BUDGET"))
        over |= not ok
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main([float(a) for a in sys.argv[1:]] or [50.0, 500.0]))
