"""The engine's entry points: one function per thing a user asks for.

The CLI and the build call these; they open DuckDB, load the CSV once and
run SQL. Nothing here prints or knows about click.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from . import catalog
from .errors import FinopsError
from .runner import AnalyzerResult, QueryResult, run_analyzer
from .source import CALLS_SQL, SourceInfo, connect, duckdb_message, load_calls, require_csv


@dataclass
class Session:
    """A DuckDB connection with the calls table loaded from one CSV."""

    con: duckdb.DuckDBPyConnection
    source: SourceInfo

    def close(self) -> None:
        self.con.close()


def open_session(csv_path: str | os.PathLike, memory_limit: str | None = None,
                 temp_dir: str | None = None, threads: int | None = None) -> Session:
    con = connect(memory_limit=memory_limit, temp_dir=temp_dir, threads=threads)
    try:
        source = load_calls(con, csv_path)
    except BaseException:
        con.close()
        raise
    return Session(con, source)


def run_sql(name: str, csv_path: str | os.PathLike, *, sql_dirs=(), params=None,
            query: str | None = None, memory_limit: str | None = None
            ) -> tuple[SourceInfo, list[AnalyzerResult]]:
    """Run one analyzer, or `all`, on the CSV (read once)."""
    analyzers = catalog.select(catalog.discover(list(sql_dirs)), name)
    if query and len(analyzers) > 1:
        raise FinopsError("--query needs one analyzer, not `all`")
    if query:
        analyzers[0].query(query)  # a typo fails before the CSV is read
    if params and len(analyzers) > 1:
        unknown = set(params) - {p for a in analyzers for p in a.params}
        if unknown:
            raise FinopsError(f"no analyzer has parameter(s) {', '.join(sorted(unknown))}")
    session = open_session(csv_path, memory_limit=memory_limit)
    try:
        results = []
        for analyzer in analyzers:
            own = {k: v for k, v in (params or {}).items()
                   if len(analyzers) == 1 or k in analyzer.params}
            results.append(run_analyzer(session.con, analyzer, own, only=query))
        return session.source, results
    finally:
        session.close()


def adhoc_query(sql: str, csv_path: str | os.PathLike,
                memory_limit: str | None = None) -> tuple[SourceInfo, QueryResult]:
    """Run one ad-hoc statement against the calls views."""
    if not sql.strip():
        raise FinopsError('give a query, e.g. finops sql "SELECT count(*) FROM calls"')
    session = open_session(csv_path, memory_limit=memory_limit)
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


def duckdb_cli() -> str:
    """The DuckDB CLI the project's set-up installed (duckdb-cli), or one on PATH."""
    beside = Path(sys.executable).parent / "duckdb"
    if beside.exists():
        return str(beside)
    found = shutil.which("duckdb")
    if not found:
        raise FinopsError("the DuckDB CLI is not installed; run `pip install duckdb-cli` "
                          "(make install does this) and try again")
    return found


def shell_invocation(csv_path: str | os.PathLike) -> tuple[list[str], dict[str, str]]:
    """argv and environment for a DuckDB shell with the calls views loaded.

    The CSV path reaches SQL through an environment variable and getenv(),
    never pasted into SQL text.
    """
    path = Path(csv_path)
    require_csv(path)
    env = dict(os.environ, FINOPS_CSV_PATH=str(path.resolve()))
    init = "SET VARIABLE csv_path = getenv('FINOPS_CSV_PATH');"
    # Single quotes in a path would end the .read argument; refuse clearly.
    if "'" in str(CALLS_SQL):
        raise FinopsError(f"the finops install path contains a quote: {CALLS_SQL}")
    argv = [duckdb_cli(), "-cmd", init, "-cmd", f".read '{CALLS_SQL}'", "-cmd",
            ".print 'finops: calls, calls_rejected, data_quality, customer_economics, "
            "model_prices, subscription_tiers are loaded. Try: SELECT * FROM data_quality;'"]
    return argv, env
