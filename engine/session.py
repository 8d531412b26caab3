"""A DuckDB session: the connection, and the calls CSV loaded into it through sql/calls.sql.

This module does file handling only: it finds the end of the last complete
line, snapshots a file that is being appended to, hands the path to the
SQL, and checks that the SQL saw every byte (else it reads a line-for-line
readable copy made by linefix.py). Validation, typing and de-duplication
live in sql/calls.sql. By default the calls come through the store
(engine/store.py), which runs calls.sql on new bytes only; `cache=False`
reads the file directly, as the store's check.
"""

from __future__ import annotations

import os
import re
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import duckdb

from . import linefix
from .concurrent import configure, connections
from .errors import FinopsError, MissingCSVError, NoDataError, duckdb_message
from .files import complete_bytes, copy_prefix
from .paths import CALLS_SQL, EMPTY_BUDGETS, EMPTY_SUBSCRIPTIONS, FINANCE_SQL, SQL_DIR
from .tempdir import ensure_private, run_dir

PRICES_DIR = SQL_DIR / "prices"


# A file modified this recently may be mid-append: read a snapshot of its
# complete lines rather than the live file.
_RECENT_WRITE_SECONDS = 2.0
_REJECT_SAMPLES = 5


@dataclass
class SourceInfo:
    """What was read: the `source` block of run-sql's JSON and every footer."""

    csv_path: str
    size_bytes: int
    rows: int
    rows_rejected: int
    duplicate_call_ids: int
    first_call: str | None
    last_call: str | None
    reject_samples: list[dict] = field(default_factory=list)
    partial_tail_bytes: int = 0
    data_lines: int = 0
    continuation_lines: int = 0
    unpriced_calls: int = 0
    error_calls: int = 0
    columns: list[str] = field(default_factory=list)
    unknown_price_models: list[dict] = field(default_factory=list)
    # What the store did (re-read from scratch and why, ...): build output
    # only, never part of the JSON contract, which must not depend on caching.
    notes: list[str] = field(default_factory=list, compare=False)

    @property
    def size_mb(self) -> float:
        return round(self.size_bytes / 1_000_000, 2)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("notes")
        data["size_mb"] = self.size_mb
        return data


class Stopped(Exception):
    """The work was stopped on purpose (`finops serve` is stopping): not a failure to report."""


class QueryStop:
    """Stops the DuckDB work of other threads (serve's builds, loads and filter requests).

    connect(stop=...) registers each connection it opens. stop() interrupts
    the query each of them runs now (DuckDB ends it within milliseconds with
    an InterruptException), and from then on connect() and check() raise
    Stopped, so the work ends at its next step instead of starting more.
    interrupt() only reaches the query running at that moment: a caller
    waiting for the work to end calls it again while it waits.
    """

    def __init__(self) -> None:
        # Reentrant: stop() runs in serve's signal handler, which may interrupt
        # the main thread inside track().
        self._lock = threading.RLock()
        self._connections: weakref.WeakSet = weakref.WeakSet()
        self._stopped = False

    def track(self, con: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            if not self._stopped:
                self._connections.add(con)
                return
        con.close()
        raise Stopped("stopping")

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        self.interrupt()

    def interrupt(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for con in connections:
            try:
                con.interrupt()
            except duckdb.Error:
                pass  # closed meanwhile: nothing runs on it

    @property
    def stopped(self) -> bool:
        """Whether stop() was called (read without the lock: a signal handler may ask)."""
        return self._stopped

    def check(self) -> None:
        if self._stopped:
            raise Stopped("stopping")


def connect(memory_limit: str | None = None, temp_dir: str | os.PathLike | None = None,
            threads: int | None = None, stop: QueryStop | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a memory cap and a spill folder.

    memory_limit defaults to $FINOPS_MEMORY_LIMIT or 2GB; temp_dir (where
    DuckDB spills when over the cap, and the CSV snapshot goes) to this
    process's private folder under $FINOPS_TEMP_DIR or the system temp.
    stop: the QueryStop that may interrupt this connection's queries.
    """
    memory_limit = memory_limit or os.environ.get("FINOPS_MEMORY_LIMIT", "2GB")
    # A private folder (tempdir.py): never a shared one another user could own.
    temp_dir = ensure_private(Path(temp_dir), fix_mode=False) if temp_dir else run_dir()
    config = {"memory_limit": memory_limit, "temp_directory": str(temp_dir)}
    if threads:
        config["threads"] = int(threads)
    try:
        con = duckdb.connect(":memory:", config=config)
    except duckdb.Error as exc:
        raise FinopsError(f"cannot start DuckDB ({duckdb_message(exc)}); "
                          "check --memory-limit / FINOPS_MEMORY_LIMIT") from None
    if stop is not None:
        stop.track(con)
    configure(con)
    return con


# `CREATE [OR REPLACE] TEMP` at the start of a statement's line (check.py
# reads an analyzer's statements with it too).
TEMP_CREATE = re.compile(r"^(\s*CREATE\s+(?:OR\s+REPLACE\s+)?)TEMP(?:ORARY)?\s+",
                          re.IGNORECASE | re.MULTILINE)


def shared(sql: str) -> str:
    """sql with its TEMP objects created in the session's database instead.

    The shared definitions (calls.sql, the store's relations, the list
    prices, finance.sql, filters.sql) say TEMP so that a user's own duckdb
    shell keeps them out of a database file. A session's database is in
    memory, and its objects must be seen by every connection to it: the
    analyzers run on two at once (Session.connections). An analyzer's own
    TEMP tables stay private to the connection it runs on.
    """
    return TEMP_CREATE.sub(r"\1", sql)


def _snapshot(path: Path, length: int, temp_dir: Path) -> Path:
    """Copy the first `length` bytes of path (its complete lines) to a temp file."""
    return copy_prefix(path, length, temp_dir, "calls-snapshot-")


# Settings of sql/calls.sql that a user may change through the environment.
_SQL_SETTINGS = {
    "min_call_date": ("FINOPS_MIN_CALL_DATE", "DATE"),
    "max_call_date": ("FINOPS_MAX_CALL_DATE", "DATE"),
    "ignore_extra_columns": ("FINOPS_IGNORE_EXTRA_COLUMNS", "BOOLEAN"),
}


def _apply_settings(con: duckdb.DuckDBPyConnection, settings: dict | None) -> None:
    """Bind calls.sql's settings: explicit ones, else FINOPS_* environment variables."""
    settings = dict(settings or {})
    for name, (env, sql_type) in _SQL_SETTINGS.items():
        value = settings.get(name)
        if value is None:
            value = os.environ.get(env) or None
        if value is None:
            con.execute(f"RESET VARIABLE {name}")
            continue
        if sql_type == "BOOLEAN" and isinstance(value, str):
            value = value.strip().lower() in ("1", "true", "yes", "on")
        try:
            con.execute(f"SET VARIABLE {name} = CAST(? AS {sql_type})", [value])
        except duckdb.Error:
            raise FinopsError(f"{env}={value!r} is not a valid {sql_type.lower()}"
                              + (" (YYYY-MM-DD)" if sql_type == "DATE" else "")) from None


def _read_is_complete(con: duckdb.DuckDBPyConnection, path: Path, length: int) -> bool:
    """Did the line reader account for every byte? (DuckDB skips, unsaid, an
    empty line and a line longer than its buffer; lines it rejects have
    unknown lengths.)"""
    lines, line_bytes, longest, unreadable = con.execute(
        "SELECT getvariable('csv_emitted_lines'), getvariable('csv_line_bytes'), "
        "getvariable('csv_longest_line'), (SELECT count(*) FROM csv_unreadable)").fetchone()
    # (The fast read takes lines up to its buffer size; the copy rejects a
    # line over linefix.MAX_LINE_BYTES.)
    if unreadable or longest > linefix.MAX_LINE_BYTES:
        return False
    # Each line read ends in LF, or CRLF: anything more was skipped.
    gap = length - (int(line_bytes) + int(lines))
    return gap == 0 or gap == linefix.count_cr(path, length)


def _run_calls_sql(con: duckdb.DuckDBPyConnection, read_path: Path, shown_path: Path,
                   length: int | None = None, sql: str | None = None) -> None:
    """Run calls.sql (or the part of it in sql) on read_path; a damaged file is
    read again from a readable copy."""
    length = read_path.stat().st_size if length is None else length
    temp_dir = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    if linefix.has_lone_cr(read_path, length):
        _run_calls_sql_on_copy(con, read_path, shown_path, length, temp_dir, sql)
        return
    _execute_calls_sql(con, read_path, shown_path, sql, fast_length=length)
    if not _read_is_complete(con, read_path, length):
        _run_calls_sql_on_copy(con, read_path, shown_path, length, temp_dir, sql)


def _run_calls_sql_on_copy(con, read_path: Path, shown_path: Path, length: int,
                           temp_dir: Path, sql: str | None = None) -> None:
    copy = linefix.readable_copy(read_path, length, temp_dir)
    try:
        _execute_calls_sql(con, copy, shown_path, sql)
    finally:
        copy.unlink(missing_ok=True)


def _execute_calls_sql(con: duckdb.DuckDBPyConnection, read_path: Path, shown_path: Path,
                       sql: str | None = None, fast_length: int | None = None) -> None:
    """Run calls.sql on read_path: on both cores when fast_length (its length) is
    given, else on one thread (a readable copy: linefix.py limits its lines).

    DuckDB 2.0's parallel line reader can skip lines at its buffer boundaries,
    unsaid (see linefix.safe_buffer_size); the one-thread read never does, and
    the byte count in _read_is_complete catches what the fast one missed.
    """
    con.execute("SET VARIABLE csv_path = ?", [str(read_path)])
    if fast_length is not None:
        size = linefix.safe_buffer_size(read_path, fast_length)
        # (An explicit line limit below the buffer size made it skip more lines.)
        settings = (size, size, True)
    else:
        # DuckDB takes a line shorter than max_line_size: every line the copy
        # keeps (a longer one is already its marker line).
        settings = (linefix.FIRST_BUFFER_BYTES, linefix.MAX_LINE_BYTES + 1, False)
    con.execute("SET VARIABLE csv_buffer_size = ?", [settings[0]])
    con.execute("SET VARIABLE csv_max_line_size = ?", [settings[1]])
    con.execute("SET VARIABLE csv_parallel = ?", [settings[2]])
    try:
        con.execute(shared(sql if sql is not None else CALLS_SQL.read_text(encoding="utf-8")))
    except duckdb.Error as exc:
        raise read_error(shown_path, duckdb_message(exc)) from None


def read_error(shown_path, message: str) -> FinopsError:
    """calls.sql's failure to read a file (a header check, ...) as one line with its fix."""
    if "does not know" in message:
        return FinopsError(f"{shown_path}: {message}; rename or drop them, or set "
                           "FINOPS_IGNORE_EXTRA_COLUMNS=1 to skip them")
    if "CSV header" in message:
        return FinopsError(f"{shown_path}: {message}; fix the header or pass --csv "
                           "with a file in the finops format (see docs/data-contract.md)")
    return FinopsError(f"{shown_path}: cannot read the CSV: {message}")


def load_list_prices(con: duckdb.DuckDBPyConnection, store=None, track=None) -> None:
    """List prices (generated from genai-prices by engine/prices.py) and each
    call at list price: small tables, read with every load, after `calls`.
    store, track: as for _run_finance_sql."""
    from . import finance_cache

    con.execute("SET VARIABLE list_prices_dir = ?", [str(PRICES_DIR)])
    con.execute(shared((PRICES_DIR / "list_prices.sql").read_text(encoding="utf-8")))
    sql = shared((PRICES_DIR / "calls_list_prices.sql").read_text(encoding="utf-8"))
    finance_cache.run(con, sql, store, {}, "list_prices", track)


_INPUT_COLUMNS = {
    "subscriptions": "customer_id,organization_id,subscription_tier,start_date,end_date,"
                     "monthly_price,discount_pct",
    "budgets": "month,scope,scope_id,budget_usd",
}


def _input_path(kind: str, given, empty: Path) -> Path:
    if not given:
        return empty
    path = Path(given)
    if not path.is_file():
        raise FinopsError(f"{kind} file not found: {path}; pass --{kind} with a CSV of "
                          f"{_INPUT_COLUMNS[kind]}")
    return path


def _run_finance_sql(con: duckdb.DuckDBPyConnection, subscriptions: str | os.PathLike | None,
                     budgets: str | os.PathLike | None = None, store=None,
                     track=None) -> None:
    """Revenue by day, budgets, the alert policy and the ledger (sql/finance.sql).

    store: the calls store the session reads; its tables then come from the
    store's cache when nothing they follow from changed (finance_cache.py).
    track: a QueryStop's track(), for the connection that writes that cache."""
    from . import finance_cache

    paths = {"subscriptions": _input_path("subscriptions", subscriptions, EMPTY_SUBSCRIPTIONS),
             "budgets": _input_path("budgets", budgets, EMPTY_BUDGETS)}
    for kind, path in paths.items():
        con.execute(f"SET VARIABLE {kind}_path = ?", [str(path)])
    try:
        finance_cache.run(con, shared(FINANCE_SQL.read_text(encoding="utf-8")), store, paths,
                          "finance", track)
    except duckdb.Error as exc:
        message = duckdb_message(exc)
        where = next((paths[k] for k in paths if message.startswith(f"{k} file")), FINANCE_SQL)
        raise FinopsError(f"{where}: {message}") from None


def ledger_section() -> str:
    """sql/finance.sql's statements between `-- ledger: begin` and `-- ledger: end`:
    the levers and the ledger of actions, stored once per load and run again
    around an analyzer whose parameters change an assumption they rest on."""
    text = FINANCE_SQL.read_text(encoding="utf-8")
    begin, end = text.index("\n-- ledger: begin\n"), text.index("\n-- ledger: end\n")
    return text[begin:end]


def assumption_change_query(params, assumptions) -> str | None:
    """The query (one boolean, `changed`) of whether the parameters bound now
    change a finance assumption (finance.sql's assumption_changed()), or None
    when none of params names one of assumptions. The one rule both engines
    follow to store the ledger again around an analyzer."""
    # Parameter names are identifiers (catalog.py), as in SET VARIABLE.
    named = [name for name in params if name in assumptions]
    if not named:
        return None
    return "SELECT " + " OR ".join(f"assumption_changed('{name}')" for name in named) + " AS changed"


def refresh_ledger_for_params(con: duckdb.DuckDBPyConnection, params) -> bool:
    """Store the ledger again under the analyzer parameters bound now when one
    changes a finance assumption (assumption_change_query); True when it did,
    and the caller calls store_ledger() again once they are reset."""
    try:
        names = {r[0] for r in con.execute("SELECT name FROM finance_assumptions").fetchall()}
    except duckdb.CatalogException:
        return False  # a connection without sql/finance.sql: no ledger to follow
    query = assumption_change_query(params, names)
    if query is None or not con.execute(query).fetchone()[0]:
        return False
    store_ledger(con)
    return True


def store_ledger(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(shared(ledger_section()))


def store_settings(settings: dict | None) -> dict:
    """calls.sql's settings in effect (explicit, else FINOPS_*): part of the store's key,
    since the rows it keeps depend on them."""
    settings = dict(settings or {})
    return {name: str(settings.get(name) if settings.get(name) is not None
                      else (os.environ.get(env) or None))
            for name, (env, _) in _SQL_SETTINGS.items()}


def read_calls_range(con: duckdb.DuckDBPyConnection, read_path: Path, shown_path: Path,
                     line_offset: int = 0, settings: dict | None = None) -> None:
    """Run calls.sql's prelude and `read` stage on read_path, a part of shown_path.

    read_path holds the file's header and some of its complete lines; the
    lines before those, beyond the header, number line_offset. A damaged
    range is read from a readable copy, as load_calls does. This is all the
    store asks of the contract SQL for each new byte range.
    """
    from .store import calls_sql_stages

    stages = calls_sql_stages()
    _apply_settings(con, settings)
    con.execute("SET VARIABLE line_offset = ?", [line_offset])
    _run_calls_sql(con, read_path, shown_path, sql=stages["prelude"] + stages["read"])


def load_calls_cached(con: duckdb.DuckDBPyConnection, csv_arg: str | os.PathLike,
                      connect_fn, *, persistent: bool = True, log=None,
                      require_rows: bool = True, settings: dict | None = None,
                      subscriptions=None, budgets=None, track=None, cache_tables: bool = True,
                      finance: bool = True, retry: bool = True):
    """Define `calls` and friends in con from the store; return (SourceInfo, store).

    The store is brought up to date (only new bytes are parsed), then
    calls.sql's `views` stage runs over its segments. The caller closes the
    store (it holds a shared lock while the segments are read). finance=False
    leaves sql/finance.sql to the caller (Session.finish_loading).
    """
    from . import store as store_mod

    inputs = store_mod.resolve_inputs(csv_arg)
    if len(inputs) == 1 and inputs[0].suffix.lower() not in store_mod.PARQUET_SUFFIXES:
        size = inputs[0].stat().st_size
        if size == 0 or store_mod.complete_bytes(inputs[0], size) == 0:
            detail = "is empty" if size == 0 else "has no complete line"
            raise NoDataError(f"no data yet: {inputs[0]} {detail}; run `finops simulate` "
                              "to create data")
    temp_dir = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    if persistent:
        store = store_mod.open_store(csv_arg, connect_fn, temp_dir, log=log, settings=settings)
    else:
        store = store_mod.temporary_store(csv_arg, connect_fn, temp_dir, log=log,
                                          settings=settings)
    try:
        if not store.files("calls"):
            raise NoDataError(f"no data yet: no file of {csv_arg} has a complete line; "
                              "run `finops simulate` to create data")
        stages = store_mod.calls_sql_stages()
        con.execute(shared(stages["prelude"]))
        store.define(con)
        con.execute(shared(stages["views"]))
        tables = store if cache_tables else None  # where the derived tables may be kept
        load_list_prices(con, tables, track)
        info = source_info(con, Path(csv_arg), size_bytes=store.report.size_bytes)
        if finance:
            _run_finance_sql(con, subscriptions, budgets, tables, track)  # as load_calls does
    except duckdb.Error as exc:
        message = duckdb_message(exc)
        if persistent and retry and str(store.dir) in message:
            # A segment that cannot be read while loading (a disk error, a file
            # cut short): the store is only a cache, so it is made again from
            # the input files, once.
            try:
                store.discard()
            except OSError as err:
                raise FinopsError(f"{csv_arg}: cannot read the store: {message} ({err}); "
                                  "pass --no-cache to read the file directly") from None
            info, store = load_calls_cached(
                con, csv_arg, connect_fn, persistent=persistent, log=log,
                require_rows=require_rows, settings=settings, subscriptions=subscriptions,
                budgets=budgets, track=track, cache_tables=cache_tables, finance=finance,
                retry=False)
            info.notes.insert(0, store_mod.remade_note(store.dir, message))
            return info, store
        store.close()
        raise FinopsError(f"{csv_arg}: cannot read the store: {message}; "
                          "pass --no-cache to read the file directly") from None
    except BaseException:
        store.close()
        raise
    # csv_path as source_info writes it (str(Path(...))), as a direct read does
    info.partial_tail_bytes = store.report.partial_tail_bytes
    info.notes = list(store.report.notes)
    if info.rows == 0 and require_rows:
        store.close()
        detail = f" ({info.rows_rejected} rows rejected)" if info.rows_rejected else ""
        raise NoDataError(f"no data yet: {Path(csv_arg)} has no valid rows{detail}; "
                          "run `finops simulate` to create data")
    return info, store


def require_csv(path: Path) -> None:
    """A clear error unless path is an existing file."""
    if not path.exists():
        raise MissingCSVError(f"CSV not found: {path}; run `finops simulate` first or pass --csv PATH")
    if path.is_dir():
        raise FinopsError(f"{path} is a folder; pass --csv with a CSV file")


def load_calls(con: duckdb.DuckDBPyConnection, csv_path: str | os.PathLike,
               subscriptions: str | os.PathLike | None = None,
               budgets: str | os.PathLike | None = None, *,
               require_rows: bool = True, settings: dict | None = None) -> SourceInfo:
    """Define `calls` and friends in con from the CSV; return what was read.

    A last line without its LF (a writer still appending) is never read: the
    file's complete lines are snapshotted first whenever the file does not
    end in LF or was written to moments ago, and a file that changed while
    it was being read in place is read again from a snapshot.
    require_rows=False lets an ad-hoc query see calls_rejected and
    data_quality when no row is valid. settings: calls.sql's settings
    (min_call_date, max_call_date, ignore_extra_columns).
    """
    from .store import resolve_inputs

    path = Path(csv_path)
    require_csv(path)
    resolve_inputs(path)  # the same checks as a read through the store (not a .gz, ...)
    stat = path.stat()
    if stat.st_size == 0:
        raise NoDataError(f"no data yet: {path} is empty; run `finops simulate` to create data")

    complete = complete_bytes(path, stat.st_size)
    if complete == 0:
        raise NoDataError(f"no data yet: {path} has no complete line; run `finops simulate` to create data")
    temp_dir = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    recent = time.time() - stat.st_mtime < _RECENT_WRITE_SECONDS

    snapshot: Path | None = None
    _apply_settings(con, settings)
    try:
        if complete < stat.st_size or recent:
            snapshot = _snapshot(path, complete, temp_dir)
            _run_calls_sql(con, snapshot, path)
        else:
            _run_calls_sql(con, path, path, complete)
            after = path.stat()
            if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                complete = complete_bytes(path, after.st_size)
                stat = after
                snapshot = _snapshot(path, complete, temp_dir)
                _run_calls_sql(con, snapshot, path)
    finally:
        if snapshot is not None:
            snapshot.unlink(missing_ok=True)

    load_list_prices(con)
    info = source_info(con, path, size_bytes=complete)
    _run_finance_sql(con, subscriptions, budgets)  # defined over no rows too (finops check)
    info.partial_tail_bytes = stat.st_size - complete
    if info.rows == 0 and require_rows:
        detail = f" ({info.rows_rejected} rows rejected)" if info.rows_rejected else ""
        raise NoDataError(f"no data yet: {path} has no valid rows{detail}; "
                          "run `finops simulate` to create data")
    return info


def source_info(con: duckdb.DuckDBPyConnection, path: Path, size_bytes: int) -> SourceInfo:
    (rows, rejected, duplicates, first, last, data_lines, continuation, unpriced,
     errors) = con.execute(
        "SELECT rows, rows_rejected, duplicate_call_ids, first_call, last_call, data_lines, "
        "continuation_lines, unpriced_calls, error_calls FROM data_quality").fetchone()
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM csv_header_fields WHERE known ORDER BY position").fetchall()]
    unknown = con.execute(
        "SELECT provider, model, calls FROM price_coverage WHERE unknown_to_price_list "
        "ORDER BY calls DESC, provider, model").fetchall()
    samples = con.execute(
        f"SELECT line, kind, reason FROM calls_rejected ORDER BY line NULLS LAST, kind, reason "
        f"LIMIT {_REJECT_SAMPLES}"
    ).fetchall()
    return SourceInfo(
        csv_path=str(path),
        size_bytes=size_bytes,
        rows=int(rows),
        rows_rejected=int(rejected),
        duplicate_call_ids=int(duplicates),
        first_call=_iso(first),
        last_call=_iso(last),
        reject_samples=[{"line": line, "kind": kind, "reason": reason}
                        for line, kind, reason in samples],
        data_lines=int(data_lines),
        continuation_lines=int(continuation),
        unpriced_calls=int(unpriced),
        error_calls=int(errors),
        columns=columns,
        unknown_price_models=[{"provider": p, "model": m, "calls": int(n)} for p, m, n in unknown],
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class Session:
    """A DuckDB connection with the calls table loaded from one CSV (or the store of one)."""

    con: duckdb.DuckDBPyConnection
    source: SourceInfo
    store: object | None = None
    stop: QueryStop | None = None  # interrupts con's queries and those of its connections()
    pending: Callable[[], None] | None = None  # the deferred sql/finance.sql (open_session)

    def finish_loading(self) -> None:
        """Run sql/finance.sql if open_session deferred it (defer_finance=True)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        try:
            pending()
        except BaseException:
            if self.stop is not None:
                self.stop.check()  # an interrupted load is a stop, not a broken file
            raise

    def connections(self, count: int) -> list[duckdb.DuckDBPyConnection]:
        """count more connections to this session's database (concurrent.connections)."""
        return connections(self.con, count,
                           track=self.stop.track if self.stop is not None else None)

    def close(self) -> None:
        try:
            if self.store is not None:
                from .finance_cache import wait

                wait(self.store)  # before the connection its writers use closes
        finally:
            self.con.close()
            if self.store is not None:
                self.store.close()


def open_session(csv_path: str | os.PathLike, memory_limit: str | None = None,
                 temp_dir: str | None = None, threads: int | None = None,
                 cache: bool = True, log=None, *,
                 require_rows: bool = True, settings: dict | None = None,
                 subscriptions: str | os.PathLike | None = None,
                 budgets: str | os.PathLike | None = None,
                 stop: QueryStop | None = None, cache_tables: bool = True,
                 defer_finance: bool = False) -> Session:
    """A session over the calls of csv_path: a CSV, a Parquet file, a folder or a glob.

    cache=True (the default) reads through the store beside the file, parsing
    only new bytes; cache=False reads a single CSV directly with calls.sql
    (other inputs go through a throwaway store). require_rows=False lets an
    ad-hoc query see calls_rejected and data_quality when no row is valid;
    settings: calls.sql's settings (see load_calls); subscriptions and budgets:
    the optional files sql/finance.sql reads; stop: the QueryStop that may
    interrupt the loading and every later query of this session;
    cache_tables=False: the ledger's tables are computed, never read from or
    written to the store (finance_cache.py), so the catalog is the plain one.
    defer_finance=True (read through the store): sql/finance.sql waits for
    Session.finish_loading, so a build that finds its reports current
    (uptodate.py) never runs it.
    """
    from .store import has_stages as store_has_stages
    from .store import is_single_csv

    con = connect(memory_limit=memory_limit, temp_dir=temp_dir, threads=threads, stop=stop)
    try:
        if is_single_csv(csv_path) and (not cache or not store_has_stages()):
            # Without its stage lines calls.sql can only read a whole file.
            return Session(con, load_calls(con, csv_path, subscriptions, budgets,
                                           require_rows=require_rows, settings=settings),
                           stop=stop)

        track = stop.track if stop is not None else None

        def scratch_connection() -> duckdb.DuckDBPyConnection:
            return connect(memory_limit=memory_limit, temp_dir=temp_dir, threads=threads,
                           stop=stop)

        source, store = load_calls_cached(con, csv_path, scratch_connection,
                                          persistent=cache, log=log,
                                          require_rows=require_rows, settings=settings,
                                          subscriptions=subscriptions, budgets=budgets,
                                          track=track, cache_tables=cache_tables,
                                          finance=not defer_finance)
    except BaseException:
        con.close()
        if stop is not None:
            stop.check()  # an interrupted load is a stop, not a file to complain about
        raise
    session = Session(con, source, store, stop=stop)
    if defer_finance:
        tables = store if cache_tables else None
        session.pending = lambda: _run_finance_sql(con, subscriptions, budgets, tables, track)
    return session
