"""`finops run-sql all --format json` of this tree against another git ref, run for run.

On a shared machine absolute seconds drift with the load; the ratio of two
trees measured alternately, in the same minutes, does not drift as much.
The ref (default `main`) is exported with `git archive` to a temp folder
and run through the same interpreter (a `finops` package of symlinks, so
no second install). Each size: the seed-7 simulated CSV of bench/out/,
then RUNS alternating runs of each tree; best, median, worst, peak RSS,
CPU seconds (user + system, all threads: the steadier figure on a shared
machine), and the ratios this/ref. --no-cache passes --no-cache to every
tree whose run-sql has it (the whole file parsed on every run, as before
the store, or on a ref older than it).
Usage: python bench/bench_against_ref.py [--ref main] [--runs 3] [--no-cache] [MB ...]
(default: 50 500)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, simulate

PACKAGES = ("engine", "simulator", "sql", "templates", "viewer")
LAUNCH = ("import sys; root = sys.argv.pop(1); sys.path.insert(0, root); "
          "import finops.engine.cli as cli; cli.main()")


def package_tree(source: Path, dest: Path) -> Path:
    """dest/finops/<part> -> source/<part>: a `finops` package without installing."""
    (dest / "finops").mkdir(parents=True)
    for part in PACKAGES:
        (dest / "finops" / part).symlink_to(source / part)
    return dest


def has_option(root: Path, option: str) -> bool:
    """Whether this tree's `run-sql` takes option."""
    help_text = subprocess.run([sys.executable, "-c", LAUNCH, str(root), "run-sql", "--help"],
                               capture_output=True, text=True).stdout
    return option in help_text


def timed(root: Path, csv_path: Path, extra: tuple[str, ...] = ()) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds of one run-sql all."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, str(root), "run-sql", "all",
                             "--format", "json", "--csv", str(csv_path), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{root}: run-sql failed: {proc.stderr.read().decode()[:500]}")
    return (time.perf_counter() - t0, rusage.ru_maxrss / 1024,
            rusage.ru_utime + rusage.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", default="main")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("sizes", nargs="*", type=float, default=[50.0, 500.0])
    args = parser.parse_args()
    print(machine(), f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="finops-bench-ref-") as tmp:
        tmp = Path(tmp)
        exported = tmp / "src"
        exported.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.ref],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(exported)], input=archive, check=True)
        trees = {args.ref: package_tree(exported, tmp / "ref"),
                 "this tree": package_tree(ROOT, tmp / "this")}
        extra = {name: ("--no-cache",) if args.no_cache and has_option(root, "--no-cache") else ()
                 for name, root in trees.items()}
        for mb in args.sizes:
            csv_path = simulate(mb)
            runs = {name: [] for name in trees}
            for _ in range(args.runs):
                for name, root in trees.items():
                    runs[name].append(timed(root, csv_path, extra[name]))
            secs = {name: [s for s, _, _ in r] for name, r in runs.items()}
            cpus = {name: [c for _, _, c in r] for name, r in runs.items()}
            for name, r in runs.items():
                print(f"{mb:g} MB {name}{' ' + ' '.join(extra[name]) if extra[name] else ''}: "
                      f"best {min(secs[name]):.2f} s, median "
                      f"{statistics.median(secs[name]):.2f} s, worst {max(secs[name]):.2f} s; "
                      f"CPU best {min(cpus[name]):.2f} s, median {statistics.median(cpus[name]):.2f} s; "
                      f"peak RSS {max(m for _, m, _ in r):.0f} MB")
            this, ref = secs["this tree"], secs[args.ref]
            this_cpu, ref_cpu = cpus["this tree"], cpus[args.ref]
            print(f"{mb:g} MB this/{args.ref}: wall best {min(this) / min(ref):.3f}, "
                  f"median {statistics.median(this) / statistics.median(ref):.3f}; CPU best "
                  f"{min(this_cpu) / min(ref_cpu):.3f}, median "
                  f"{statistics.median(this_cpu) / statistics.median(ref_cpu):.3f} "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
