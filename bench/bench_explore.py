"""Statements and filters: build time and site size as customers grow, and one
filtered report on request at 50 MB.

1. For 200 and 5,000 customers (seed 7, 150,000 calls each, so only the
   number of statement pages changes): `finops build` in a child process,
   wall time, pages written and bytes on disk (reports, downloads,
   statements), then the same with --no-statements for the difference.
2. Rebuilds as `finops serve` makes them, for the same populations: a copy
   of the CSV is built once, then rebuilt with no change, then again after
   `finops simulate --append --rows 1000` (later calls of the same business):
   wall and CPU seconds of each build, and how many statement pages it wrote
   (a page is written only when its inputs changed; an older finops wrote
   them all, "n/a" in that column).
3. At 50 MB (bench/out/build_50mb.csv): ExploreService answering a filtered
   report (organization + date range) five times after one warm-up, as the
   serve filter bar does; the first request after a build pays the load.
Usage: python bench/bench_explore.py [--rebuilds-only] [CUSTOMERS ...]   (default: 200 5000)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import FINOPS, OUT, machine, simulate, timed_finops

ROWS = 150_000


def population(customers: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"explore_{customers}c.csv"
    if not path.exists():
        subprocess.run([str(FINOPS), "simulate", "--seed", "7", "--customers", str(customers),
                        "--rows", str(ROWS), "--out", str(path)], check=True, capture_output=True)
    return path


def site_size(out: Path) -> tuple[int, int]:
    files = [p for p in out.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def statements_scale(customers: list[int]) -> None:
    for n in customers:
        csv_path = population(n)
        for extra in ([], ["--no-statements"]):
            out = OUT / f"explore_site_{n}c{'_nostmt' if extra else ''}"
            seconds, peak = timed_finops("build", "--csv", str(csv_path), "--out", str(out),
                                         "--quiet", *extra)
            files, size = site_size(out)
            pages = (len(list((out / "customer").glob("*.html"))) if not extra else 0)
            label = "without statements" if extra else "with statements   "
            print(f"{n:>5} customers, {csv_path.stat().st_size / 1e6:.0f} MB CSV, {label}: "
                  f"build {seconds:5.2f} s, {files:5d} files, {size / 1e6:6.1f} MB on disk, "
                  f"{pages} customer pages, peak RSS {peak:.0f} MB")


def build_cpu(*args: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one `finops ARGS` child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(FINOPS), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"finops {' '.join(args)} failed: {proc.stderr.read().decode()[-500:]}")
    return time.perf_counter() - t0, rusage.ru_utime + rusage.ru_stime


def rebuilds(customers: list[int]) -> None:
    for n in customers:
        source = population(n)
        live = OUT / f"explore_live_{n}c" / "calls.csv"
        shutil.rmtree(live.parent, ignore_errors=True)
        live.parent.mkdir(parents=True)
        shutil.copyfile(source, live)
        shutil.copyfile(f"{source}.plan.json", f"{live}.plan.json")
        out = live.parent / "reports"
        args = ("build", "--csv", str(live), "--out", str(out), "--quiet")
        for step in ("first build", "no change", "+1,000 rows"):
            if step == "+1,000 rows":
                subprocess.run([str(FINOPS), "simulate", "--append", "--rows", "1000",
                                "--out", str(live)], check=True, capture_output=True)
            wall, cpu = build_cpu(*args)
            info = json.loads((out / "manifest.json").read_text())["statements"] or {}
            written = info.get("rewritten", "n/a")
            print(f"{n:>5} customers, rebuild {step:<12}: {wall:5.2f} s wall, {cpu:5.2f} s CPU, "
                  f"statement pages written {written} of {sum(info.get('pages', {}).values())}")
        shutil.rmtree(live.parent, ignore_errors=True)


def filtered_requests() -> None:
    from finops.engine.explore import ExploreService
    from finops.engine.site import build_site

    csv_path = simulate(50)
    with tempfile.TemporaryDirectory() as tmp:
        build_site(csv_path, Path(tmp) / "site", statements=False)
        service = ExploreService(csv_path, Path(tmp) / "site")
        pairs = [("from", "2025-10-20"), ("to", "2025-10-31"), ("organization", "org_003")]
        for name in ("understanding.html", "optimization.html", "profitability.html"):
            t0 = time.perf_counter()
            reply = service.handle(name, pairs)
            first = time.perf_counter() - t0
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                reply = service.handle(name, pairs)
                times.append(time.perf_counter() - t0)
            assert reply.status == 200, reply.body[:200]
            print(f"50 MB filtered {name:<20} first {first:.2f} s (loads the session), then "
                  f"min {min(times):.2f} s / max {max(times):.2f} s over 5 requests")
        service.close()


def main(argv: list[str]) -> int:
    print(machine())
    only_rebuilds = "--rebuilds-only" in argv
    customers = [int(a) for a in argv if a != "--rebuilds-only"] or [200, 5000]
    if not only_rebuilds:
        statements_scale(customers)
    rebuilds(customers)
    if not only_rebuilds:
        filtered_requests()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
