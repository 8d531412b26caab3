"""Run analyzers and ad-hoc statements: what `run-sql`, `sql` and the build ask of DuckDB.

Parameters are bound as DuckDB variables (`getvariable('name')` in the SQL),
never pasted into SQL text. No business arithmetic happens here.
"""

from __future__ import annotations

import os
import time

import duckdb

from . import catalog
from .catalog import Analyzer, Query
from .check import check_analyzers, require_sound
from .errors import FinopsError, duckdb_message, sql_error_line
from .results import AnalyzerResult, QueryResult
from .session import SourceInfo, open_session, refresh_ledger_for_params, store_ledger


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


def run_sql(name: str, csv_path: str | os.PathLike, *, sql_dirs=(), params=None,
            query: str | None = None, memory_limit: str | None = None, subscriptions=None,
            budgets=None, cache: bool = True, log=None) -> tuple[SourceInfo, list[AnalyzerResult]]:
    """Run one analyzer, or `all`, on the CSV (read once), after checking it."""
    analyzers = checked_selection(name, sql_dirs)
    if query and len(analyzers) > 1:
        raise FinopsError("--query needs one analyzer, not `all`")
    if query:
        analyzers[0].query(query)  # a typo fails before the CSV is read
    if params and len(analyzers) > 1:
        unknown = set(params) - {p for a in analyzers for p in a.params}
        if unknown:
            raise FinopsError(f"no analyzer has parameter(s) {', '.join(sorted(unknown))}")
    session = open_session(csv_path, memory_limit=memory_limit, cache=cache, log=log,
                           subscriptions=subscriptions, budgets=budgets)
    try:
        results = []
        for analyzer in analyzers:
            own = {k: v for k, v in (params or {}).items()
                   if len(analyzers) == 1 or k in analyzer.params}
            results.append(run_analyzer(session.con, analyzer, own, only=query))
        return session.source, results
    finally:
        session.close()


def adhoc_query(sql: str, csv_path: str | os.PathLike, memory_limit: str | None = None,
                cache: bool = True, log=None) -> tuple[SourceInfo, QueryResult]:
    """Run one ad-hoc statement against the calls views."""
    if not sql.strip():
        raise FinopsError('give a query, e.g. finops sql "SELECT count(*) FROM calls"')
    # No valid row is no reason to hide calls_rejected and data_quality.
    session = open_session(csv_path, memory_limit=memory_limit, cache=cache, log=log,
                           require_rows=False)
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
