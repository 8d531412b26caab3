"""Shared pieces of the benchmark scripts: simulated inputs and timed child runs."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
FINOPS = Path(sys.executable).parent / "finops"


def machine() -> str:
    return (f"machine: {platform.machine()} {os.cpu_count()} CPUs, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def simulate(mb: float) -> Path:
    """The seed-7 simulated CSV of about `mb` MB in bench/out/ (made once)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"build_{mb:g}mb.csv"
    if not path.exists():
        subprocess.run([str(FINOPS), "simulate", "--seed", "7", "--target-mb", str(mb),
                        "--out", str(path)], check=True, capture_output=True)
    return path


def timed_finops(*args: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `finops ARGS` child process."""
    with tempfile.TemporaryFile("w+") as errors:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(FINOPS), *args], stdout=subprocess.DEVNULL, stderr=errors)
        _, status, rusage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            sys.exit(f"finops {' '.join(args)} failed: {errors.read().strip()}")
    return seconds, rusage.ru_maxrss / 1024
