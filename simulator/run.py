"""Write simulated calls to a CSV file: a whole run, an append, or a live stream.

Writes only ever append whole lines (each os.write holds complete rows, with
Ctrl-C held back while it runs), so a reader sees a valid file at any moment
except possibly a last line still being written, and an interrupted run
leaves no partial row. A small sidecar `<csv>.plan.json` records the plan
(seed, population, timeline, volume) so an append continues the same
business. This module raises FinopsError for user mistakes and never
imports click.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from finops.engine.errors import FinopsError

from .catalog import HEADER, HEADER_LINE
from .generate import DayRenderer, day_rows
from .plan import (DEFAULT_CUSTOMERS, DEFAULT_DAYS, DEFAULT_SEED, DEFAULT_START,
                   DEFAULT_VOLUME, SCENARIO_NAMES, Plan)

DEFAULT_OUT = Path("data/simulated_calls.csv")
DEFAULT_TARGET_MB = 50.0
DEFAULT_RATE = 2000.0  # rows/s in continuous mode: 50 MB in a little over a minute
ROW_BYTES_ESTIMATE = 326  # measured average line length, to size runs in rows
MB = 1_000_000
SIDECAR_SUFFIX = ".plan.json"
WRITTEN_BY = "finops simulate"  # the sidecar's mark: this file is the simulator's to replace
MAX_DAYS = 20_000


@dataclass
class Progress:
    """What a progress callback receives after every write."""

    rows: int  # rows written by this run
    bytes: int  # bytes written by this run
    file_bytes: int
    elapsed: float
    day: str  # the UTC date being written
    target_rows: int | None = None  # rows this run aims at (None: unknown)
    target_bytes: int | None = None  # bytes this run aims at
    done: bool = False

    @property
    def fraction(self) -> float | None:
        if self.target_bytes:
            return min(1.0, self.bytes / self.target_bytes)
        if self.target_rows:
            return min(1.0, self.rows / self.target_rows)
        return None


@dataclass
class SimulationResult:
    path: Path
    rows: int
    bytes: int
    file_bytes: int
    first_timestamp: str | None
    last_timestamp: str | None
    seconds: float
    volume: float
    stopped: bool = False  # stopped early by stop_event
    appended: bool = False
    plan: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# --- options ----------------------------------------------------------------

def parse_scenarios(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """'burst,seasonal' or a list -> validated tuple; None or 'all' -> every scenario."""
    if value is None:
        return SCENARIO_NAMES
    names = [v.strip() for v in (value.split(",") if isinstance(value, str) else value)]
    names = [n for n in names if n]
    if not names or names == ["all"]:
        return SCENARIO_NAMES
    for n in names:
        if n not in SCENARIO_NAMES:
            raise FinopsError(f"unknown scenario {n!r}; choose from: {', '.join(SCENARIO_NAMES)} (comma-separated)")
    return tuple(dict.fromkeys(names))


def parse_start(value: str | date | None) -> date:
    if value is None:
        return DEFAULT_START
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FinopsError(f"bad start date {value!r}; pass --start YYYY-MM-DD, e.g. --start 2025-10-01") from None


def parse_params(items: Iterable[str]) -> dict[str, dict]:
    """['model_migration.target=claude-opus-4', 'burst.multiplier=5:10'] -> params."""
    out: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        scen, dot, name = key.partition(".")
        if not sep or not dot:
            raise FinopsError(f"bad --param {item!r}; use SCENARIO.NAME=VALUE, e.g. burst.multiplier=5:10")
        out.setdefault(scen.strip(), {})[name.strip()] = _param_value(raw.strip())
    return out


def _param_value(raw: str):
    if ":" in raw:
        lo, hi = raw.split(":", 1)
        return (_param_value(lo), _param_value(hi))
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def _check_sizes(rows, target_mb, days, customers) -> None:
    if rows is not None and target_mb is not None:
        raise FinopsError("--rows and --target-mb both given; pass only one of them")
    if rows is not None and rows < 1:
        raise FinopsError(f"--rows must be at least 1 (got {rows})")
    if target_mb is not None and not (target_mb > 0 and math.isfinite(target_mb)):
        raise FinopsError(f"--target-mb must be a positive number (got {target_mb})")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise FinopsError(f"--days must be between 1 and {MAX_DAYS} (got {days})")
    if customers is not None and not 1 <= customers <= 999_999:
        raise FinopsError(f"--customers must be between 1 and 999999 (got {customers})")


def make_plan(seed: int, customers: int, days: int, start: date, scenarios, params) -> Plan:
    try:
        return Plan(seed=seed, customers=customers, days=days, start=start,
                    scenarios=scenarios, params=params)
    except (ValueError, KeyError, TypeError) as exc:
        msg = exc.args[0] if exc.args else exc
        raise FinopsError(f"bad scenario parameters: {msg}; see `finops simulate --help`") from None


# --- the existing file --------------------------------------------------------

@dataclass
class ExistingFile:
    size: int
    has_rows: bool
    first_date: date | None = None
    last_time: datetime | None = None
    last_seq: int = 0
    ends_with_newline: bool = True
    tail_customers: dict = field(default_factory=dict)  # id -> (org, product)


def inspect_file(path: Path) -> ExistingFile | None:
    """None when the file is missing or empty; refuses a header that is not the contract's."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise FinopsError(f"cannot read {path} ({exc.strerror or exc}); "
                          "pass --out with a file you can read and write") from None
    with fh:
        head = fh.read(len(HEADER_LINE) + 4096)
        if not head.startswith(HEADER_LINE.encode()):
            first = head.split(b"\n", 1)[0][:60].decode("utf-8", "replace")
            raise FinopsError(
                f"{path} does not start with the data contract's header (found {first!r}); "
                "pass another --out or delete the file to start fresh")
        rest = head[len(HEADER_LINE):]
        if not rest.strip():
            return ExistingFile(size=size, has_rows=False,
                                ends_with_newline=head.endswith(b"\n"))
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    info = ExistingFile(size=size, has_rows=True, ends_with_newline=tail.endswith(b"\n"))
    try:
        info.first_date = date.fromisoformat(rest[:10].decode())
    except ValueError:
        raise FinopsError(f"{path}: the first row has no valid timestamp; pass another --out or delete the file") from None
    lines = tail.split(b"\n")
    if not info.ends_with_newline:
        lines.pop()  # a partial line being written (or cut): not a row
    for raw in lines[1:] if size > 65536 else lines:  # the first may be cut by the seek
        parts = raw.decode("utf-8", "replace").split(",")
        if len(parts) < 12:
            continue
        try:
            t = datetime.fromisoformat(parts[0])
        except ValueError:
            continue
        info.last_time = t
        suffix = parts[1].rsplit("_", 1)[-1]
        info.last_seq = int(suffix) if suffix.isdigit() else 0
        info.tail_customers[parts[8]] = (parts[10], parts[11])
    if info.last_time is None:
        raise FinopsError(f"{path}: no valid row at the end of the file to continue from; "
                          "pass another --out or delete the file to start fresh")
    return info


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def written_by_simulator(path: Path) -> bool:
    """Whether `path` is a file this simulator wrote: the contract's header, and
    beside it the sidecar the simulator writes with every new file."""
    try:
        with open(path, "rb") as fh:
            if not fh.read(len(HEADER_LINE)) == HEADER_LINE.encode():
                return False
        side = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(side, dict) and side.get("written_by") == WRITTEN_BY


def _check_overwrite(out: Path) -> None:
    """Refuse to replace a file the simulator did not write: it may be someone's data."""
    try:
        size = out.stat().st_size
    except FileNotFoundError:
        return
    if out.is_dir() or size == 0 or written_by_simulator(out):
        return  # a directory is reported by the caller; an empty file holds nothing
    raise FinopsError(f"{out} exists and was not written by `finops simulate`; pass --force to "
                      "overwrite it, --append to add rows to it, or another --out")


def _read_sidecar(path: Path) -> dict | None:
    """The plan a file was written with, or None; a damaged one is a clear error."""
    side_path = _sidecar(path)
    try:
        data = json.loads(side_path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        data = None
    try:
        valid = (isinstance(data, dict)
                 and isinstance(data["seed"], int) and isinstance(data["customers"], int)
                 and isinstance(data["days"], int) and isinstance(data["volume"], (int, float))
                 and isinstance(data["scenarios"], list)
                 and all(isinstance(x, str) for x in data["scenarios"])
                 and isinstance(data["params"], dict)
                 and bool(date.fromisoformat(data["start"])))
    except (KeyError, TypeError, ValueError):
        valid = False
    if not valid:
        raise FinopsError(f"{side_path} is damaged (it records how {path.name} was simulated); "
                          "delete it to continue from the CSV alone")
    return data


# --- writing -------------------------------------------------------------------

class _Writer:
    """Appends whole lines with os.write; SIGINT waits until a write is complete."""

    def __init__(self, path: Path, fresh: bool):
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if fresh else 0)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise FinopsError(f"cannot write {path} ({exc.strerror or exc}); "
                              "pass --out with a writable path") from None
        self.file_bytes = os.fstat(self.fd).st_size
        self.bytes = 0
        self._main = threading.current_thread() is threading.main_thread()

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        if self._main:
            old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            view = memoryview(data)
            while view:
                n = os.write(self.fd, view)
                view = view[n:]
        finally:
            if self._main:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
        self.bytes += len(data)
        self.file_bytes += len(data)

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class _Job:
    plan: Plan
    volume: float
    first_day: int
    after_us: int  # on first_day, keep only rows after this time (append)
    first_seq: int
    horizon_end: int | None  # stop after this day when no size target
    target_rows: int | None
    target_bytes: int | None
    fresh: bool
    prefix: str  # written before the first row (header, or a newline to close a cut line)
    appended: bool


def _prepare(out, *, rows, target_mb, days, customers, start, seed, scenarios, params,
             volume, append, totals: bool, force: bool = False) -> _Job:
    """Resolve options against defaults, the existing file and its sidecar into a job.

    totals: rows/target_mb are totals for the file (continuous mode) rather
    than amounts for this run. force: replace an existing file even if the
    simulator did not write it.
    """
    out = Path(out)
    _check_sizes(rows, target_mb, days, customers)
    if not append and not force:
        _check_overwrite(out)
    scen = parse_scenarios(scenarios) if scenarios is not None else None
    start_d = parse_start(start) if start is not None else None
    existing = inspect_file(out) if append else None
    if out.exists() and out.is_dir():
        raise FinopsError(f"{out} is a directory; pass --out FILE.csv")
    side = _read_sidecar(out) if existing else None
    if existing is None or not existing.has_rows:
        if rows is None and target_mb is None and days is None:
            target_mb = DEFAULT_TARGET_MB
        seed_v = DEFAULT_SEED if seed is None else seed
        cust_v = DEFAULT_CUSTOMERS if customers is None else customers
        start_v = start_d or DEFAULT_START
        target_rows, target_bytes = rows, (round(target_mb * MB) if target_mb else None)
        if totals and existing is not None:  # a header-only file counts towards the total
            target_bytes = target_bytes - existing.size if target_bytes else None
        vol_fixed = volume
        if vol_fixed is None and not (days is not None and (rows or target_mb)):
            vol_fixed = DEFAULT_VOLUME
        plan, vol = _size_plan(seed_v, cust_v, days, start_v, scen, params,
                               target_rows, target_bytes, vol_fixed)
        prefix = "" if existing is not None else HEADER_LINE
        if existing is not None and not existing.ends_with_newline:
            prefix = "\n"
        return _Job(plan, vol, 0, -1, 1, None if (target_rows or target_bytes) else plan.days - 1,
                    target_rows, target_bytes, fresh=existing is None, prefix=prefix,
                    appended=existing is not None)

    # continue an existing file: same business (from the sidecar when present)
    seed_v = _pick("seed", seed, side, DEFAULT_SEED)
    cust_v = _pick("customers", customers, side, DEFAULT_CUSTOMERS)
    if side and scen is not None and list(scen) != side.get("scenarios"):
        raise FinopsError(f"{out} was simulated with --scenarios {','.join(side['scenarios'])}; "
                          "drop --scenarios or pass the same list to append")
    scen_v = tuple(side["scenarios"]) if side and scen is None else scen
    params_v = side.get("params") if side and params is None else params
    first_date = date.fromisoformat(side["start"]) if side else existing.first_date
    if start_d is not None and start_d != first_date:
        raise FinopsError(f"--start cannot move an existing file's timeline ({out} starts {first_date}); drop --start")
    last = existing.last_time
    last_day = (last.date() - first_date).days
    if last_day < 0:
        raise FinopsError(f"{out} ends before it starts ({last}); pass another --out")
    last_us = ((last.hour * 60 + last.minute) * 60 + last.second) * 1_000_000 + last.microsecond
    if side:
        horizon = int(side["days"])
    else:
        horizon = last_day + 1 + (days if days is not None else DEFAULT_DAYS)
    plan = make_plan(seed_v, cust_v, horizon, first_date, scen_v, _params_from_json(params_v))
    _check_identity(out, plan, existing)
    if volume is not None:
        vol = volume
    elif side:
        vol = float(side["volume"])
    else:
        vol = DEFAULT_VOLUME
    if totals:
        target_bytes = round(target_mb * MB) - existing.size if target_mb else None
        target_rows = rows - count_rows(out) if rows else None
        if target_rows is None and target_bytes is None and days is None:
            target_bytes = round(DEFAULT_TARGET_MB * MB) - existing.size
    else:
        if rows is None and target_mb is None and days is None:
            target_mb = DEFAULT_TARGET_MB
        target_rows, target_bytes = rows, (round(target_mb * MB) if target_mb else None)
    horizon_end = None
    if target_rows is None and target_bytes is None:
        horizon_end = last_day + (days or DEFAULT_DAYS)
    return _Job(plan, vol, last_day, last_us, existing.last_seq + 1, horizon_end,
                target_rows, target_bytes, fresh=False,
                prefix="" if existing.ends_with_newline else "\n", appended=True)


def _pick(name, given, side, default):
    if side is None:
        return default if given is None else given
    if given is not None and given != side.get(name):
        raise FinopsError(f"the file was simulated with --{name} {side.get(name)}; "
                          f"drop --{name} or pass the same value to append")
    return side.get(name)


def _params_from_json(params):
    """JSON turns (lo, hi) tuples into lists; the plan wants tuples back."""
    if not params:
        return params
    return {s: {k: tuple(v) if isinstance(v, list) else v for k, v in kv.items()}
            for s, kv in params.items()}


def _check_identity(out: Path, plan: Plan, existing: ExistingFile) -> None:
    by_id = {c.customer_id: c for c in plan.customers}
    for cid, (org, prod) in existing.tail_customers.items():
        c = by_id.get(cid)
        if c is not None and (c.organization_id, c.product_id) != (org, prod):
            raise FinopsError(
                f"{out} has {cid} in {org}/{prod} but this seed puts it in "
                f"{c.organization_id}/{c.product_id}; pass the --seed and --customers the file was made with")


def count_rows(path: Path) -> int:
    """Complete data rows in a file (newlines after the header)."""
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(16 * MB):
            n += chunk.count(b"\n")
    return max(0, n - 1)


def _size_plan(seed, customers, days, start, scenarios, params, target_rows, target_bytes,
               volume) -> tuple[Plan, float]:
    """Build the plan; with a size target, pick the horizon (or the volume) that fits it."""
    want = target_rows or (target_bytes / ROW_BYTES_ESTIMATE if target_bytes else None)
    if want is None:
        return make_plan(seed, customers, days or DEFAULT_DAYS, start, scenarios, params), (volume or DEFAULT_VOLUME)
    if days is not None:
        plan = make_plan(seed, customers, days, start, scenarios, params)
        if volume is None:
            total = sum(plan.rough_calls(d) for d in range(days))
            volume = want / total if total > 0 else DEFAULT_VOLUME
        return plan, volume
    # how many days does the target take at this volume? Scenario timing depends
    # on the horizon, so settle it in a few rounds.
    horizon = DEFAULT_DAYS
    for _ in range(4):
        plan = make_plan(seed, customers, horizon, start, scenarios, params)
        acc, d = 0.0, 0
        while acc < want and d < MAX_DAYS:
            acc += plan.rough_calls(d) * volume
            d += 1
        if d >= MAX_DAYS:
            raise FinopsError("the size target needs more than 20,000 days at this volume; "
                              "pass a smaller --rows/--target-mb or more --customers")
        if abs(d - horizon) <= max(1, horizon // 20):
            break
        horizon = d
    return plan, volume


def _day_lines(job: _Job) -> Iterator[tuple[int, list[str]]]:
    day = job.first_day
    while True:
        if job.horizon_end is not None and day > job.horizon_end:
            return
        if day - job.first_day > MAX_DAYS:
            return
        rows = day_rows(job.plan, day, job.volume)
        seq = 1
        if day == job.first_day and job.after_us >= 0:
            rows = [r for r in rows if r[0] > job.after_us]
            seq = job.first_seq
        yield day, DayRenderer(job.plan.date_of(day)).lines(rows, seq)
        day += 1


def _write_sidecar(out: Path, job: _Job) -> None:
    p = job.plan
    data = {"seed": p.seed, "customers": len(p.customers), "days": p.days,
            "start": p.start.isoformat(), "scenarios": list(p.scenarios),
            "params": {k: v for k, v in p.params.items()}, "volume": job.volume,
            "written_by": WRITTEN_BY}
    try:
        _sidecar(out).write_text(json.dumps(data, indent=1) + "\n")
    except OSError:
        pass  # the sidecar only helps a later append; the CSV is what matters


def _execute(out: Path, job: _Job, *, batch_rows: int | None, rate: float | None,
             stop_event: threading.Event | None, progress) -> SimulationResult:
    t0 = time.perf_counter()
    if job.target_bytes is not None and job.target_bytes <= 0 or job.target_rows is not None and job.target_rows <= 0:
        size = out.stat().st_size if out.exists() else 0
        return SimulationResult(out, 0, 0, size, None, None, 0.0, job.volume,
                                appended=job.appended, plan=job.plan.summary())
    writer = _Writer(out, job.fresh)
    if job.fresh:
        _write_sidecar(out, job)
    if job.prefix:
        writer.write(job.prefix)
    writer.bytes = 0
    rows_done = 0
    first_ts = last_ts = None
    stopped = False
    last_report = 0.0
    day_str = ""

    def report(done=False):
        if progress is not None:
            progress(Progress(rows_done, writer.bytes, writer.file_bytes, time.perf_counter() - t0,
                              day_str, job.target_rows, job.target_bytes, done))

    try:
        for day, lines in _day_lines(job):
            day_str = job.plan.date_of(day).isoformat()
            if job.target_rows is not None:
                lines = lines[: job.target_rows - rows_done]
            if job.target_bytes is not None:
                lines = _cut_at_bytes(lines, job.target_bytes - writer.bytes)
            if not lines:
                if _target_reached(job, rows_done, writer.bytes):
                    break
                continue
            if first_ts is None:
                first_ts = lines[0][:26]
            step = batch_rows or len(lines)
            for i in range(0, len(lines), step):
                if stop_event is not None and stop_event.is_set():
                    stopped = True
                    break
                chunk = lines[i:i + step]
                writer.write("".join(chunk))
                rows_done += len(chunk)
                last_ts = chunk[-1][:26]
                now = time.perf_counter()
                if rate:
                    wait = rows_done / rate - (now - t0)
                    if wait > 0:
                        if stop_event is not None:
                            stop_event.wait(wait)
                        else:
                            time.sleep(wait)
                if now - last_report > 0.1:
                    last_report = now
                    report()
            if stopped or _target_reached(job, rows_done, writer.bytes):
                break
    finally:
        writer.close()
        report(done=True)
    return SimulationResult(out, rows_done, writer.bytes, writer.file_bytes, first_ts, last_ts,
                            time.perf_counter() - t0, job.volume, stopped=stopped,
                            appended=job.appended, plan=job.plan.summary())


def _target_reached(job: _Job, rows: int, nbytes: int) -> bool:
    return ((job.target_rows is not None and rows >= job.target_rows)
            or (job.target_bytes is not None and nbytes >= job.target_bytes))


def _cut_at_bytes(lines: list[str], budget: int) -> list[str]:
    """Lines up to and including the one that reaches the byte budget (ASCII text)."""
    if budget <= 0:
        return []
    total = 0
    for i, line in enumerate(lines):
        total += len(line)
        if total >= budget:
            return lines[: i + 1]
    return lines


# --- the public entry points ---------------------------------------------------

def simulate(out: str | Path = DEFAULT_OUT, *, rows: int | None = None, target_mb: float | None = None,
             days: int | None = None, customers: int | None = None, start: str | date | None = None,
             seed: int | None = None, scenarios: str | Sequence[str] | None = None,
             params: dict | None = None, volume: float | None = None, append: bool = False,
             force: bool = False,
             progress: bool | Callable[[Progress], None] = False) -> SimulationResult:
    """Write simulated calls to `out` (a new file, or appended with append=True).

    An existing `out` is replaced only if the simulator wrote it (or `force`).

    Size: `rows` or `target_mb` (what this run writes) or `days`; with none of
    them, 50 MB. With a size target and no `days`, the run goes day after day
    until the target; with both, the call volume is scaled to fit.
    """
    job = _prepare(out, rows=rows, target_mb=target_mb, days=days, customers=customers,
                   start=start, seed=seed, scenarios=scenarios, params=params, volume=volume,
                   append=append, totals=False, force=force)
    return _execute(Path(out), job, batch_rows=None, rate=None, stop_event=None,
                    progress=_progress_callback(progress))


def run_continuous(out: str | Path = DEFAULT_OUT, *, target_mb: float | None = None,
                   rows: int | None = None, rate: float | None = DEFAULT_RATE,
                   batch_rows: int | None = None, days: int | None = None,
                   customers: int | None = None, start: str | date | None = None,
                   seed: int | None = None, scenarios: str | Sequence[str] | None = None,
                   params: dict | None = None, volume: float | None = None,
                   stop_event: threading.Event | None = None, fresh: bool = False,
                   force: bool = False,
                   progress: bool | Callable[[Progress], None] = False) -> SimulationResult:
    """Grow `out` day by day in small appended batches until the file holds
    `target_mb` MB (default 50) or `rows` rows, at about `rate` rows/s (None or
    0: as fast as possible). An existing file is continued unless `fresh`
    (then it is replaced, if the simulator wrote it or `force`). Returns
    early, with complete rows only, when stop_event is set. Safe to run in a
    thread.
    """
    if fresh:
        if not force:
            _check_overwrite(Path(out))
        Path(out).unlink(missing_ok=True)
        _sidecar(Path(out)).unlink(missing_ok=True)
    job = _prepare(out, rows=rows, target_mb=target_mb, days=days, customers=customers,
                   start=start, seed=seed, scenarios=scenarios, params=params, volume=volume,
                   append=True, totals=True)
    if rate is not None and rate < 0:
        raise FinopsError(f"--rate {rate:g} is negative; give rows per second, or 0 for as fast as possible")
    if batch_rows is None:
        batch_rows = max(1, min(2000, int(rate / 10))) if rate else 1000
    return _execute(Path(out), job, batch_rows=batch_rows, rate=rate, stop_event=stop_event,
                    progress=_progress_callback(progress))


def plan(*, seed: int | None = None, customers: int | None = None, days: int | None = None,
         start: str | date | None = None, scenarios: str | Sequence[str] | None = None,
         params: dict | None = None) -> Plan:
    """The population and scenario timeline a run with these options uses."""
    _check_sizes(None, None, days, customers)
    return make_plan(DEFAULT_SEED if seed is None else seed,
                     DEFAULT_CUSTOMERS if customers is None else customers,
                     DEFAULT_DAYS if days is None else days, parse_start(start),
                     parse_scenarios(scenarios), params)


def iter_lines(*, days: int = DEFAULT_DAYS, customers: int | None = None, start=None, seed=None,
               scenarios=None, params=None, volume: float = DEFAULT_VOLUME) -> Iterator[str]:
    """The data lines (no header) of a run of `days` days, for callers that write elsewhere."""
    p = plan(seed=seed, customers=customers, days=days, start=start, scenarios=scenarios, params=params)
    job = _Job(p, volume, 0, -1, 1, days - 1, None, None, True, "", False)
    for _, lines in _day_lines(job):
        yield from lines


# --- progress --------------------------------------------------------------------

def _progress_callback(progress):
    if progress is True:
        return TerminalProgress()
    return progress or None


class TerminalProgress:
    """A one-line progress bar on stderr: rows, MB, rows/s, ETA."""

    def __init__(self, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_line = 0.0

    def __call__(self, p: Progress) -> None:
        rate = p.rows / p.elapsed if p.elapsed > 0 else 0.0
        frac = p.fraction
        eta = ""
        if frac is not None and 0 < frac < 1 and p.elapsed > 0:
            left = p.elapsed * (1 - frac) / frac
            eta = f" ETA {int(left // 60)}:{int(left % 60):02d}"
        bar = ""
        if frac is not None:
            fill = int(frac * self.width)
            bar = f"[{'#' * fill}{'.' * (self.width - fill)}] {frac * 100:5.1f}% "
        text = (f"{bar}{p.rows:,} rows  {p.file_bytes / MB:.1f} MB  {rate:,.0f} rows/s"
                f"{eta}  {p.day}")
        if self.tty:
            self.stream.write("\r" + text.ljust(100)[:100] + ("\n" if p.done else ""))
            self.stream.flush()
        elif p.done or p.elapsed - self._last_line >= 5:
            self._last_line = p.elapsed
            self.stream.write(text + "\n")
            self.stream.flush()


__all__ = ["simulate", "run_continuous", "plan", "iter_lines", "count_rows", "inspect_file",
           "written_by_simulator",
           "parse_scenarios", "parse_params", "parse_start", "Progress", "SimulationResult",
           "TerminalProgress", "DEFAULT_OUT", "DEFAULT_RATE", "DEFAULT_TARGET_MB", "HEADER"]
