"""The growth curve: `finops build` time and peak memory at 50 MB, 500 MB and 5 GB.

For each size: the seed-7 simulated CSV in bench/out/ (made once), then, each
as a child process timed by wall clock with its peak RSS:
  - a build with --no-cache (the whole file parsed, as before the store; up to 500 MB),
  - the first build through the store (store deleted first: every byte parsed),
  - a rebuild with nothing new into the same folder (the file untouched for
    long: no re-hash; the reports are current, so it leaves them),
  - the same build into a new folder (the analyzers run; it computes the
    ledger's tables and writes them to the store), and another (which reads
    them from the store),
  - a rebuild after appending about 1 MB (`finops simulate --append`), which
    re-hashes the whole prefix read before, and one more right after it
    (re-hashes, then finds the reports current).
The file is cut back to its original size afterwards, so runs repeat.
At the smallest size it also compares `finops run-sql all` with a plain
DuckDB group-by scan of the same CSV (the duckdb CLI, per-model and
per-customer-day aggregates), measured in the same run, with the ledger's
tables read from the store and computed (FINOPS_CACHE_TABLES=0).

Usage: python bench/bench_scale.py [MB ...]     (default: 50 500; the full curve: 50 500 5000)
Goals (issue 14): rebuild after a 1 MB append to 500 MB under 1.5 s; first
build of 5 GB under 60 s with peak RSS under 2.5 GB; run-sql all at 50 MB
within 3x the plain scan. The machine is shared: figures are noisy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import FINOPS, OUT, machine

import xxhash

DUCKDB = Path(sys.executable).parent / "duckdb"
STORE_SUFFIX = ".finops-store"
PLAIN_SCAN = """
SET VARIABLE p = getenv('BENCH_CSV');
SELECT provider, model, count(*) AS calls, sum(CAST(cost_usd AS DECIMAL(18,6))) AS cost,
       sum(input_tokens) AS input_tokens, avg(latency_ms) AS latency
FROM read_csv(getvariable('p'), header = true) GROUP BY ALL ORDER BY ALL;
SELECT customer_id, CAST("timestamp" AS DATE) AS day, count(*) AS calls,
       sum(CAST(cost_usd AS DECIMAL(18,6))) AS cost
FROM read_csv(getvariable('p'), header = true) GROUP BY ALL ORDER BY ALL LIMIT 5;
"""


def scale_csv(mb: float) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"scale_{mb:g}mb.csv"
    if not path.exists():
        print(f"simulating {mb:g} MB into {path} ...", flush=True)
        subprocess.run([str(FINOPS), "simulate", "--seed", "7", "--target-mb", str(mb),
                        "--out", str(path), "--quiet"], check=True)
    return path


def timed_finops(*args: str) -> tuple[float, float]:
    """Like common.timed_finops: wall seconds and this child's own peak RSS (MB).

    The child's CPU seconds (user + system, all threads) go to CPU_SECONDS:
    on a machine shared with other jobs they say more than the wall clock.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(FINOPS), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"finops {' '.join(args)} failed: {err.strip()[-500:]}")
    CPU_SECONDS.append(rusage.ru_utime + rusage.ru_stime)
    return seconds, rusage.ru_maxrss / 1024


CPU_SECONDS: list[float] = []


def cpu() -> str:
    return f"cpu {CPU_SECONDS[-1]:6.2f} s"


def hash_seconds(path: Path) -> float:
    """What the store's check costs: xxh3-128 over the whole file, in this process."""
    t0 = time.perf_counter()
    h = xxhash.xxh3_128()
    buf = bytearray(1 << 22)
    view = memoryview(buf)
    with open(path, "rb") as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return time.perf_counter() - t0


def store_size(path: Path) -> int:
    store = path.parent / (path.name + STORE_SUFFIX)
    return sum(p.stat().st_size for p in store.glob("*.parquet")) if store.exists() else 0


def bench_size(mb: float) -> None:
    csv_path = scale_csv(mb)
    size = csv_path.stat().st_size
    store = csv_path.parent / (csv_path.name + STORE_SUFFIX)
    out = OUT / f"scale_reports_{mb:g}mb"
    build = ["build", "--csv", str(csv_path), "--out", str(out), "--quiet"]
    print(f"\n{mb:g} MB: {size / 1e6:.0f} MB CSV", flush=True)
    if mb <= 1000:
        t, rss = timed_finops(*build, "--no-cache")
        print(f"  build --no-cache (whole file parsed)   {t:7.2f} s  {cpu()}  peak RSS {rss:6.0f} MB", flush=True)
    shutil.rmtree(store, ignore_errors=True)
    t, rss = timed_finops(*build)
    print(f"  first build (store made)               {t:7.2f} s  {cpu()}  peak RSS {rss:6.0f} MB"
          f"  store {store_size(csv_path) / 1e6:.0f} MB of Parquet", flush=True)
    t, rss = timed_finops(*build)
    print(f"  rebuild, nothing new                   {t:7.2f} s  {cpu()}  peak RSS {rss:6.0f} MB"
          f"  (file untouched: size and ctime checked, no re-hash; the reports are current:"
          f" up to date, nothing written)", flush=True)
    for n, what in enumerate(("computes the ledger's tables and writes them to the store",
                              "the ledger's tables read from the store")):
        fresh = ["build", "--csv", str(csv_path), "--out", f"{out}_new{n}", "--quiet"]
        shutil.rmtree(f"{out}_new{n}", ignore_errors=True)
        t, rss = timed_finops(*fresh)
        print(f"  nothing new, into a new folder{' again' if n else '      '}   {t:7.2f} s  {cpu()}"
              f"  peak RSS {rss:6.0f} MB  (every analyzer runs; {what})", flush=True)
    print(f"  the re-hash a build does after any write to the file (xxh3-128, in page cache): "
          f"{hash_seconds(csv_path):.2f} s", flush=True)
    try:
        t0 = time.perf_counter()
        subprocess.run([str(FINOPS), "simulate", "--append", "--target-mb", "1", "--out",
                        str(csv_path), "--quiet"], check=True)
        grown = csv_path.stat().st_size - size
        t_app = time.perf_counter() - t0
        t, rss = timed_finops(*build)
        print(f"  rebuild after a {grown / 1e6:.1f} MB append            {t:7.2f} s  "
              f"{cpu()}  peak RSS {rss:6.0f} MB  (append itself {t_app:.1f} s)", flush=True)
        t, rss = timed_finops(*build)
        print(f"  rebuild again, nothing new (re-hashes) {t:7.2f} s  {cpu()}  peak RSS {rss:6.0f} MB"
              f"  (then up to date)", flush=True)
    finally:
        os.truncate(csv_path, size)  # the next run starts from the same file


def bench_run_sql_vs_scan(mb: float) -> None:
    csv_path = scale_csv(mb)
    args = ["run-sql", "all", "--csv", str(csv_path), "--format", "json", "--quiet"]
    timed_finops(*args)  # the store is up to date, and holds the ledger's tables
    computed, computed_cpu = [], []
    os.environ["FINOPS_CACHE_TABLES"] = "0"
    try:
        for _ in range(3):
            computed.append(timed_finops(*args)[0])
            computed_cpu.append(CPU_SECONDS[-1])
    finally:
        del os.environ["FINOPS_CACHE_TABLES"]
    runs = [timed_finops(*args)[0] for _ in range(3)]
    run_cpu = min(CPU_SECONDS[-3:])
    env = dict(os.environ, BENCH_CSV=str(csv_path))
    scans, scan_cpu = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(DUCKDB), "-c", PLAIN_SCAN], env=env,
                                stdout=subprocess.DEVNULL)
        _, status, rusage = os.wait4(proc.pid, 0)
        scans.append(time.perf_counter() - t0)
        scan_cpu.append(rusage.ru_utime + rusage.ru_stime)
    print(f"\n{mb:g} MB: run-sql all --format json (store up to date, the ledger's tables read "
          f"from it) best {min(runs):.2f} s; plain duckdb CLI group-by scan (per model, per "
          f"customer-day) best {min(scans):.2f} s; ratio {min(runs) / min(scans):.1f}x (goal: "
          f"within 3x); CPU seconds {run_cpu:.2f} vs {min(scan_cpu):.2f}, ratio "
          f"{run_cpu / min(scan_cpu):.1f}x", flush=True)
    print(f"{mb:g} MB: the same run-sql computing the ledger's tables (FINOPS_CACHE_TABLES=0, "
          f"as after new data) best {min(computed):.2f} s, ratio "
          f"{min(computed) / min(scans):.1f}x; CPU seconds {min(computed_cpu):.2f}, ratio "
          f"{min(computed_cpu) / min(scan_cpu):.1f}x", flush=True)


def main(sizes: list[float]) -> int:
    print(machine())
    print(f"load average at start: {os.getloadavg()[0]:.1f} (shared machine: figures are noisy)")
    for mb in sizes:
        bench_size(mb)
    if min(sizes) <= 100:
        bench_run_sql_vs_scan(min(sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main([float(a) for a in sys.argv[1:]] or [50.0, 500.0]))
