"""Run analyzers and ad-hoc statements: what `run-sql`, `sql` and the build ask of DuckDB.

Parameters are bound as DuckDB variables (`getvariable('name')` in the SQL),
never pasted into SQL text. No business arithmetic happens here.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import duckdb

from . import catalog
from .catalog import Analyzer, Query
from .check import check_analyzers, require_sound
from .errors import FinopsError, duckdb_message, sql_error_line
from .results import AnalyzerResult, QueryResult
from .session import Session, SourceInfo, open_session, refresh_ledger_for_params, store_ledger

T = TypeVar("T")
R = TypeVar("R")

# Analyzers run at once, each on its own connection to the session's
# database: their planning is single-threaded, so a second one fills the
# other core while the first plans (see BENCHMARKS.md).
MAX_CONNECTIONS = 2


def resolve_params(analyzer: Analyzer, overrides: dict[str, str] | None) -> dict[str, object]:
    """The analyzer's parameters: defaults, then --param overrides, typed."""
    values = {name: p.default for name, p in analyzer.params.items()}
    for key, text in (overrides or {}).items():
        if key not in analyzer.params:
            known = ", ".join(analyzer.params) or "none"
            raise FinopsError(f"analyzer {analyzer.name} has no parameter {key!r} "
                              f"(its parameters: {known})")
        values[key] = analyzer.params[key].coerce(text, analyzer.name)
    return values


def _locate(analyzer: Analyzer, query: Query, exc: duckdb.Error) -> FinopsError:
    """A SQL error as `file:line: query NAME: message`."""
    line, message = sql_error_line(query.line, exc)
    return FinopsError(f"{analyzer.path}:{line}: query {query.name}: {message}", exit_code=1)


def run_analyzer(con: duckdb.DuckDBPyConnection, analyzer: Analyzer,
                 overrides: dict[str, str] | None = None,
                 only: str | None = None) -> AnalyzerResult:
    """Run an analyzer's queries (or just `only`) on con, which holds `calls`."""
    params = resolve_params(analyzer, overrides)
    wanted = [analyzer.query(only)] if only else analyzer.visible_queries
    started = time.perf_counter()
    results: dict[str, QueryResult] = {}
    restore = False
    try:
        for name, value in params.items():
            con.execute(f"SET VARIABLE {name} = ?", [value])
        # The stored ledger follows a --param that changes a finance assumption.
        restore = bool(params) and refresh_ledger_for_params(con, params)
        for query in analyzer.queries:
            if not query.hidden and query not in wanted:
                continue
            try:
                cursor = con.execute(query.sql)
                # Setup statements (hidden queries) run but are not reported.
                rows = None if query.hidden else cursor.fetchall()
            except duckdb.Error as exc:
                raise _locate(analyzer, query, exc) from None
            if rows is None:
                continue
            columns = [d[0] for d in cursor.description]
            types = [str(d[1]) for d in cursor.description]
            results[query.name] = QueryResult(query.name, columns, types, rows,
                                              dict(query.meta), query.title)
    finally:
        for name in params:
            con.execute(f"RESET VARIABLE {name}")
        if restore:
            store_ledger(con)
    return AnalyzerResult(analyzer, params, results, time.perf_counter() - started)


def run_each(session: Session, items: Sequence[T],
             run: Callable[[duckdb.DuckDBPyConnection, T], R], *,
             connections: int | None = None) -> Iterator[tuple[T, R | None, Exception | None, float]]:
    """(item, run(con, item), error, seconds) for each item, in order.

    run goes on up to `connections` connections to the session's database at
    once (default: DuckDB's threads, at most MAX_CONNECTIONS); with one, on
    session.con itself. run must only read what the session shares: it gets
    its own variables and TEMP objects, and a ledger stored again for a
    --param would be seen by the others, so such runs take one connection.
    An error is yielded in its place; the others still run.
    """
    if connections is None:
        threads = session.con.execute("SELECT current_setting('threads')").fetchone()[0]
        connections = min(int(threads), MAX_CONNECTIONS)
    connections = max(1, min(connections, len(items)))

    def timed(con: duckdb.DuckDBPyConnection, item: T) -> tuple[R | None, Exception | None, float]:
        started = time.perf_counter()
        try:
            return run(con, item), None, time.perf_counter() - started
        except Exception as exc:  # yielded in its place: one failure must not stop the others
            return None, exc, time.perf_counter() - started

    if connections == 1:
        for item in items:
            yield (item, *timed(session.con, item))
        return
    cons = session.connections(connections)
    free: queue.SimpleQueue = queue.SimpleQueue()
    for con in cons:
        free.put(con)

    def task(item: T):
        con = free.get()
        try:
            return timed(con, item)
        finally:
            free.put(con)

    pool = ThreadPoolExecutor(connections, thread_name_prefix="finops-analyzer")
    futures = [pool.submit(task, item) for item in items]
    finished = False
    try:
        for item, future in zip(items, futures):
            yield (item, *future.result())
        finished = True
    finally:
        # Stopped early (an error raised by the caller, Ctrl-C): no query may
        # go on inside DuckDB once this returns.
        for future in futures:
            future.cancel()
        if not finished:
            for con in cons:
                con.interrupt()
        pool.shutdown(wait=True)
        for con in cons:
            con.close()


def checked_selection(name: str, sql_dirs=()) -> list[Analyzer]:
    """The analyzers `name` selects (one, or `all`), after `finops check`.

    Problems in a selected analyzer (or in calls.sql) stop here with every
    problem listed; a broken file that was not selected is logged as a
    warning and skipped, so it never stops the others.
    """
    checked = check_analyzers(sql_dirs)
    names = list(checked.names()) if name == "all" else [name]
    require_sound(checked, names)
    return catalog.select(checked.analyzers, name)


def run_selection(name: str, sql_dirs=(), query: str | None = None,
                  params: dict | None = None) -> list[Analyzer]:
    """run-sql's analyzers (checked_selection), with --query and --param
    checked against them before any file is read, on either engine."""
    analyzers = checked_selection(name, sql_dirs)
    if query and len(analyzers) > 1:
        raise FinopsError("--query needs one analyzer, not `all`")
    if query:
        analyzers[0].query(query)  # a typo fails before the CSV is read
    if params and len(analyzers) > 1:
        unknown = set(params) - {p for a in analyzers for p in a.params}
        if unknown:
            raise FinopsError(f"no analyzer has parameter(s) {', '.join(sorted(unknown))}")
    return analyzers


def own_params(analyzer: Analyzer, analyzers: list[Analyzer], params: dict | None) -> dict:
    """The --param values analyzer is run with: every one when it runs alone
    (resolve_params names a wrong one), else those it declares."""
    return {k: v for k, v in (params or {}).items()
            if len(analyzers) == 1 or k in analyzer.params}


def run_sql(name: str, csv_path: str | os.PathLike, *, sql_dirs=(), params=None,
            query: str | None = None, memory_limit: str | None = None, subscriptions=None,
            budgets=None, cache: bool = True, log=None) -> tuple[SourceInfo, list[AnalyzerResult]]:
    """Run one analyzer, or `all`, on the CSV (read once), after checking it."""
    analyzers = run_selection(name, sql_dirs, query, params)
    session = open_session(csv_path, memory_limit=memory_limit, cache=cache, log=log,
                           subscriptions=subscriptions, budgets=budgets)
    try:
        def run(con: duckdb.DuckDBPyConnection, analyzer: Analyzer) -> AnalyzerResult:
            return run_analyzer(con, analyzer, own_params(analyzer, analyzers, params), only=query)

        results = []
        # A --param may store the ledger again (run_analyzer): one connection then.
        for _analyzer, result, error, _seconds in run_each(session, analyzers, run,
                                                           connections=1 if params else None):
            if error is not None:
                raise error
            results.append(result)
        return session.source, results
    finally:
        session.close()


def adhoc_query(sql: str, csv_path: str | os.PathLike, memory_limit: str | None = None,
                cache: bool = True, log=None) -> tuple[SourceInfo, QueryResult]:
    """Run one ad-hoc statement against the calls views."""
    if not sql.strip():
        raise FinopsError('give a query, e.g. finops sql "SELECT count(*) FROM calls"')
    # No valid row is no reason to hide calls_rejected and data_quality. The
    # user's SQL sees the plain catalog (no table cache attached behind it).
    session = open_session(csv_path, memory_limit=memory_limit, cache=cache, log=log,
                           require_rows=False, cache_tables=False)
    try:
        try:
            cursor = session.con.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
        except duckdb.Error as exc:
            raise FinopsError(f"query failed: {duckdb_message(exc)}", exit_code=1) from None
        columns = [d[0] for d in cursor.description] if cursor.description else []
        types = [str(d[1]) for d in cursor.description] if cursor.description else []
        return session.source, QueryResult("sql", columns, types, rows)
    finally:
        session.close()
