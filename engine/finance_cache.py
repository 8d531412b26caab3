"""The tables sql/finance.sql and the list prices derive from the calls, kept in the store.

sql/finance.sql (revenue by day, the alert policy, the agent runs, the
levers and the ledger of actions) and the calls at list price are the same
work on every load of unchanged calls: about 0.5 s at 50 MB, 1.7 s at 500
MB, 20 s at 5 GB. Once a load finds the store already up to date, their
tables are written to `<name>-<key>.duckdb` in the store folder with the key
of everything they were computed from (when the session closes, after the
analyzers: beside them the copy competed for DuckDB's memory cap; the two
newest files of each name are kept). A later load with the
same key attaches that file read-only and reads the tables where they lie
instead of computing them; the views, macros and checks are still created
by the files' own statements. Any difference in the key (the stored calls,
the SQL text run, calls.sql, the list prices, the subscriptions and budgets
files, the calls.sql settings, the engine's code as imported, DuckDB or
finops) computes afresh: never a stale answer. Ad-hoc queries (`finops
sql`) neither read nor write it: their catalog stays the plain one.

A load that ingested new bytes does not write the file (the live demo, whose
file grows between builds, would pay the write on every build for nothing).
Like the segments, the file is a cache: deleting it changes nothing but time,
and one written to since (its stamp, kept beside it in `.stamp`, differs)
is computed afresh.
FINOPS_CACHE_TABLES=0 turns it off (the benchmarks time both ways).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path

import duckdb
import xxhash

from .concurrent import configure
from .files import write_atomic, write_stamp
from .paths import CALLS_SQL
from .store import STORE_FORMAT, sql_literal

_ALIAS = "finops_finance_cache"
_KEY_TABLE = "finops_cache_key"
# sql's statements in order, each with the table it makes (NULL: none): a
# load that attaches the file runs the others without splitting sql again
# (DuckDB's split of sql/finance.sql is ~0.07 s of every run).
_STATEMENTS_TABLE = "finops_cache_statements"
_TABLE = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\b",
                    re.IGNORECASE)
_COMMENT = re.compile(r"^\s*--[^\n]*\n", re.MULTILINE)


def _statements(sql: str) -> list[tuple[str, str | None]]:
    """(statement, the table it creates or None), in order."""
    out = []
    for st in duckdb.extract_statements(sql):
        made = _TABLE.match(_COMMENT.sub("", st.query)) if st.type == duckdb.StatementType.CREATE \
            else None
        out.append((st.query, made.group(1) if made else None))
    return out


def enabled() -> bool:
    """False when FINOPS_CACHE_TABLES=0: every load computes the tables (and writes none)."""
    return os.environ.get("FINOPS_CACHE_TABLES", "1").strip() != "0"


def _code_hash() -> str:
    """The engine's Python as this process imported it (a long-running `serve`
    keeps its code after the files change: its tables are keyed by what ran)."""
    h = xxhash.xxh3_128()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


_CODE = _code_hash()


def cache_key(store, inputs: dict[str, Path], sql: str) -> str:
    """What the tables of sql (the text run) follow from, as one hash."""
    from importlib.metadata import PackageNotFoundError, version

    from .session import PRICES_DIR  # the list prices, read by both

    try:
        finops_version = version("finops")
    except PackageNotFoundError:
        finops_version = "?"
    h = xxhash.xxh3_128()
    # The stored calls: each unit's identity, its ingested bytes' hash and its
    # segments (not the still-since times, which change with no new byte).
    units = [{k: v for k, v in asdict(u).items() if not k.startswith("still_")}
             for u in store.units]
    h.update(json.dumps({"units": units, "settings": store._settings_key(),
                         "format": STORE_FORMAT, "duckdb": duckdb.__version__,
                         "finops": finops_version, "code": _CODE}, sort_keys=True).encode())
    h.update(sql.encode() + b"\0")
    sources = [CALLS_SQL, *sorted(p for p in PRICES_DIR.iterdir() if p.is_file())]
    for path in [*sources, *(inputs[k] for k in sorted(inputs))]:
        h.update(str(path.name).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def run(con: duckdb.DuckDBPyConnection, sql: str, store, inputs: dict[str, Path],
        name: str, track=None) -> None:
    """Run sql in con, its tables read from the store's cache `name` when its
    key matches; else computed, and written to that cache (when the session
    closes, wait()) when the store took no new bytes.
    store None (a file read directly, an ad-hoc query) or a throwaway store:
    just run it. track: a QueryStop's track(), for the writer's connection."""
    if store is None or store.scratch or not enabled():
        con.execute(sql)
        return
    key = cache_key(store, inputs, sql)
    # One file per key, the two newest kept: runs that alternate between two
    # sets of inputs (with and without --subscriptions) both stay cached.
    path = Path(store.dir) / f"{name}-{key[:16]}.duckdb"
    if _attach(con, path, key, f"{_ALIAS}_{name}"):
        return
    con.execute(sql)
    # The input files hashed again: one changed during the run leaves no cache behind.
    if store.report.new_bytes > 0 or cache_key(store, inputs, sql) != key:
        return
    statements = _statements(sql)  # split only for a file to write
    if any(table for _, table in statements):
        write = _begin_write(con, statements, path, key, f"{_ALIAS}_new_{name}", track)
        if write is not None:
            # Started when the session closes (wait()): written beside the
            # analyzers, the copy competed with them for DuckDB's memory cap
            # and a 5 GB build ran out of it.
            store.writers.append(write)


def _attach(con: duckdb.DuckDBPyConnection, path: Path, key: str, alias: str) -> bool:
    """Attach the cache at path (read-only, for the connection's life) behind
    con's own tables on its search path, and run sql's other statements (its
    views, macros and checks, as the file lists them: the key covers sql's
    text), when the cache holds every table under key.

    The cached tables are read where they lie, not copied: a later CREATE OR
    REPLACE of one (the ledger stored again for a --param, a filtered build)
    makes a table of the session's own database, found first.
    """
    try:
        if _stamp_path(path).read_text(encoding="utf-8") != write_stamp(path):
            return False  # written to since (a damaged block fails the query that reads it)
    except OSError:
        return False  # none yet, or its stamp is gone
    try:
        con.execute(f"ATTACH {sql_literal(path)} AS {alias} (READ_ONLY)")
    except duckdb.InterruptException:
        raise
    except duckdb.Error:
        return False  # damaged, or written by another DuckDB: computed afresh
    before = con.execute("SELECT current_setting('search_path')").fetchone()[0]
    try:
        stored = con.execute(f"SELECT key FROM {alias}.{_KEY_TABLE}").fetchone()
        held = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [alias]).fetchall()}
        if stored is None or stored[0] != key:
            raise LookupError
        statements = con.execute(
            f"SELECT query, made FROM {alias}.{_STATEMENTS_TABLE} ORDER BY position").fetchall()
        if not statements or not {t for _, t in statements if t} <= held:
            raise LookupError
        path_now = ",".join(p for p in (before or "memory.main", f"{alias}.main") if p)
        con.execute("SET search_path = ?", [path_now])
        for query, table in statements:
            if table is None:
                con.execute(query)
        return True
    except (duckdb.Error, LookupError) as exc:
        # The caller computes every statement (each a CREATE OR REPLACE).
        con.execute("SET search_path = ?", [before])
        con.execute(f"DETACH {alias}")
        if isinstance(exc, duckdb.InterruptException):
            raise
        return False


class _Write:
    """A cache file to write: its connection, in a transaction whose snapshot
    is fixed, and the work, run on a thread (so Ctrl-C can interrupt it)."""

    def __init__(self, writer: duckdb.DuckDBPyConnection, work, name: str, alias: str,
                 tmp: Path) -> None:
        self.writer = writer
        self.alias, self.tmp = alias, tmp
        self.thread = threading.Thread(target=work, name=f"finops-cache-{name}", daemon=True)

    def interrupt(self) -> None:
        try:
            self.writer.interrupt()
        except duckdb.Error:
            pass  # closed meanwhile: it has ended

    def run(self) -> None:
        """Write the file; interrupted, stop the write (the next load computes again)."""
        self.thread.start()
        try:
            self.thread.join()
        except BaseException:
            self.interrupt()
            self.thread.join()
            raise

    def discard(self) -> None:
        """Give up a write never run."""
        _discard(self.writer, self.alias, self.tmp)


def _begin_write(con: duckdb.DuckDBPyConnection, statements: list[tuple[str, str | None]],
                 path: Path, key: str, alias: str, track=None) -> _Write | None:
    """Start writing the tables statements made, and the statements, to a new
    cache file; the rest of the work is the returned _Write's thread (None
    when the file cannot be started).

    The copy is one transaction whose snapshot is taken here, before this
    returns: a table stored again later (the ledger for a --param, a filter)
    is never what the file holds under this key.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # DuckDB creates the database file itself
    tmp = Path(tmp)
    tables = [table for _, table in statements if table]
    writer = con.cursor()
    try:
        if track is not None:
            track(writer)
        configure(writer)
        writer.execute(f"ATTACH {sql_literal(tmp)} AS {alias}")
        writer.execute("BEGIN TRANSACTION")
        # The session's database joins the transaction now: its snapshot is fixed.
        writer.execute(f"SELECT count(*) FROM memory.main.{tables[0]}").fetchall()
    except duckdb.Error:
        _discard(writer, alias, tmp)
        return None

    def finish() -> None:
        try:
            for table in tables:
                writer.execute(f"CREATE TABLE {alias}.{table} AS SELECT * FROM memory.main.{table}")
            writer.execute(f"CREATE TABLE {alias}.{_STATEMENTS_TABLE} "
                           "(position INTEGER, query VARCHAR, made VARCHAR)")
            writer.executemany(f"INSERT INTO {alias}.{_STATEMENTS_TABLE} VALUES (?, ?, ?)",
                               [[i, query, made] for i, (query, made) in enumerate(statements)])
            writer.execute(f"CREATE TABLE {alias}.{_KEY_TABLE} AS SELECT CAST(? AS VARCHAR) AS key",
                           [key])
            writer.execute("COMMIT")
            writer.execute(f"DETACH {alias}")
            os.replace(tmp, path)  # readers see the old file or the new one, whole
            write_atomic(_stamp_path(path), write_stamp(path))
            writer.close()
            _prune(path)
        except BaseException:  # interrupted, or no room: the next load computes again
            _discard(writer, alias, tmp)

    return _Write(writer, finish, path.stem, alias, tmp)


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".stamp")


def _prune(path: Path) -> None:
    """Keep the two newest cache files of path's kind (an attached one stays readable)."""
    kind = path.name.rsplit("-", 1)[0]
    files = sorted(path.parent.glob(f"{kind}-*.duckdb"), key=lambda p: p.stat().st_mtime_ns,
                   reverse=True)
    for old in files[2:]:
        old.unlink(missing_ok=True)
        _stamp_path(old).unlink(missing_ok=True)


def _discard(writer: duckdb.DuckDBPyConnection, alias: str, tmp: Path) -> None:
    for statement in ("ROLLBACK", f"DETACH {alias}"):
        try:
            writer.execute(statement)
        except duckdb.Error:
            pass
    writer.close()
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)


def wait(store) -> None:
    """Write the cache files this store's loads left to write, before the
    connection they read closes. Called while an error or Ctrl-C is on its
    way out, it writes none (the next load computes the tables again)."""
    writes = store.writers
    while writes:
        write = writes.pop()
        if sys.exc_info()[0] is not None:
            write.discard()
            continue
        try:
            write.run()
        except BaseException:  # Ctrl-C during the write: the others are not begun
            while writes:
                writes.pop().discard()
            raise
