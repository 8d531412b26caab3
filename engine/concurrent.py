"""More than one connection to a session's in-memory database.

DuckDB plans each statement on one thread, and an analyzer is many small
statements: on one connection the second core mostly waits while the
first plans. connections() opens more connections to the same database,
each holding what DuckDB keeps per connection (settings, variables), so
analyzers can run at once (analyze.run_each). Only objects created in the
database itself (session.shared) are seen by every connection; TEMP
objects are private to one.

(Running sql/finance.sql's statements at once, each after those it names,
was tried and gave nothing: its costly statements are scans that already
use both cores.)
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """The settings each connection holds for itself (DuckDB keeps them per connection)."""
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB draws a progress bar on the terminal for long queries; finops
    # output (JSON, CSV) must stay clean.
    con.execute("SET enable_progress_bar = false")
    # Belt and braces behind the SQL's safe_div(): a division by zero that
    # slips through yields NULL, never NaN or infinity.
    for setting in ("SET ieee_floating_point_ops = false",
                    "SET error_on_division_by_zero = false"):
        try:
            con.execute(setting)
        except duckdb.Error:
            pass  # older DuckDB: division by zero already yields NULL


def connections(con: duckdb.DuckDBPyConnection, count: int,
                track: Callable[[duckdb.DuckDBPyConnection], None] | None = None
                ) -> list[duckdb.DuckDBPyConnection]:
    """count more connections to con's database, each holding con's settings,
    search path and variables (the filters, the store's file lists, the
    inputs' paths).
    track(each) as it is opened (a QueryStop's, which may refuse it); the
    caller closes them, and on any failure none is left open."""
    variables = con.execute(
        "SELECT name, CAST(type AS VARCHAR) FROM duckdb_variables() ORDER BY name").fetchall()
    # Where unqualified names are looked up (the store's cached tables: finance_cache.py).
    search_path = con.execute("SELECT current_setting('search_path')").fetchone()[0]
    values = [(name, kind, con.execute("SELECT getvariable(?)", [name]).fetchone()[0])
              for name, kind in variables]
    made = []
    try:
        for _ in range(count):
            other = con.cursor()
            made.append(other)
            if track is not None:
                track(other)
            configure(other)
            if search_path:
                other.execute("SET search_path = ?", [search_path])
            for name, kind, value in values:
                # Names are DuckDB's own identifiers; the value is bound, typed as before.
                if value is None:
                    other.execute(f'SET VARIABLE "{name}" = NULL')
                else:
                    other.execute(f'SET VARIABLE "{name}" = CAST(? AS {kind})', [value])
    except BaseException:
        for other in made:
            other.close()
        raise
    return made
