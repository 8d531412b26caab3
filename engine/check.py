"""`finops check`: prove every analyzer file is sound before any data is read.

It parses every header strictly (catalog.py), then runs the SQL the way a
build would, but over a CSV that holds only the header: sql/calls.sql, each
analyzer's setup queries, and `DESCRIBE` of each reported query. The
columns that returns are compared with the hints (x, y, band, label,
format) and with the shapes of the standard queries (analyzer_format.py);
`getvariable()` names are compared with the declared parameters. Every
mistake is a catalog.Problem: `file:line: message — fix`.

build, serve, run-sql and the golden test call check_analyzers() first; the
result is cached per process on the files it depends on (sizes, times,
inodes), so a rebuild that only follows CSV growth does not check again,
and a clean result is remembered across processes (an empty file named by
that fingerprint in the user's private temp folder), so a command does not
pay a cold check at every start. This module reads no data and writes
nothing but a header-only temp file and that marker.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import __version__
from . import analyzer_format as fmt
from . import catalog
from .catalog import Analyzer, AnalyzerFileError, Problem, Query
from .errors import FinopsError, NoDataError, duckdb_message, sql_error_line
from .paths import CALLS_SQL, SQL_DIR
from .results import is_numeric_type
from .session import TEMP_CREATE, connect, load_calls
from .tempdir import ensure_private, private_root

log = logging.getLogger(__name__)

_GETVARIABLE = re.compile(r"getvariable\s*\(\s*'([^']*)'\s*\)", re.I)


@dataclass
class CheckResult:
    """What `finops check` found: the sound analyzers and every problem."""

    analyzers: dict[str, Analyzer]          # the analyzers without problems, in catalog order
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problems_of(self, path: Path) -> list[Problem]:
        return [p for p in self.problems if p.path == path]

    def broken(self) -> dict[Path, list[Problem]]:
        """Each file with problems -> its problems, in file order."""
        out: dict[Path, list[Problem]] = {}
        for p in self.problems:
            out.setdefault(p.path, []).append(p)
        return out

    def names(self) -> dict[str, Path]:
        """Every analyzer file by name (its stem), sound or not."""
        return {p.stem: p for p in self.files}


# --- static checks ------------------------------------------------------------

def _code_lines(sql: str) -> list[str]:
    """The SQL's lines with `--` comments blanked (string literals kept)."""
    out = []
    for line in sql.split("\n"):
        in_string = False
        cut = len(line)
        for n, ch in enumerate(line):
            if ch == "'":
                in_string = not in_string
            elif ch == "-" and not in_string and line[n:n + 2] == "--":
                cut = n
                break
        out.append(line[:cut])
    return out


def calls_variables() -> set[str]:
    """Variables sql/calls.sql reads (csv_path, ...): set by the engine, free to read."""
    try:
        text = CALLS_SQL.read_text(encoding="utf-8")
    except OSError:
        text = ""
    found = {m.group(1) for line in _code_lines(text) for m in _GETVARIABLE.finditer(line)}
    return found | set(fmt.ENGINE_VARIABLES)


def variable_problems(analyzer: Analyzer, engine_variables: set[str] | None = None
                      ) -> list[Problem]:
    """getvariable() names that are not declared, and declared parameters never read."""
    allowed = calls_variables() if engine_variables is None else engine_variables
    problems: list[Problem] = []
    read: set[str] = set()
    for query in analyzer.queries:
        for offset, line in enumerate(_code_lines(query.sql)):
            for m in _GETVARIABLE.finditer(line):
                name = m.group(1)
                read.add(name)
                if name not in analyzer.params and name not in allowed:
                    declared = ", ".join(analyzer.params) or "none"
                    problems.append(Problem(
                        analyzer.path, query.line + offset,
                        f"getvariable('{name}') in query {query.name} is not a declared "
                        f"parameter (declared: {declared}); DuckDB would read NULL",
                        f"fix the name, or declare it: `-- param: {name} = DEFAULT | ...`"))
    for param in analyzer.params.values():
        if param.name not in read:
            problems.append(Problem(analyzer.path, param.line,
                                    f"parameter {param.name} is declared but never read",
                                    f"read it with getvariable('{param.name}') or drop the line"))
    return problems


def write_problems(analyzer: Analyzer) -> list[Problem]:
    """Statements that would change what other analyzers read.

    Analyzers run two at once on one database (analyze.run_each): each may
    read the shared definitions and create TEMP objects, which are its own;
    anything else (a table in the database, an INSERT, a DROP, a SET) would
    reach the analyzer running beside it.
    """
    problems: list[Problem] = []
    for query in analyzer.queries:
        try:
            statements = duckdb.extract_statements(query.sql)
        except duckdb.Error:
            continue  # a syntax error: the run below reports it with its line
        for statement in statements:
            kind = statement.type
            if kind == duckdb.StatementType.SELECT:
                continue
            code = "\n".join(_code_lines(statement.query))
            if kind == duckdb.StatementType.CREATE and TEMP_CREATE.match(code):
                continue
            what = code.split(None, 3)[:3] if code.strip() else [str(kind)]
            problems.append(Problem(
                analyzer.path, query.line,
                f"query {query.name} runs `{' '.join(what)} ...`: an analyzer may only "
                "SELECT and create TEMP tables, views and macros",
                "write CREATE OR REPLACE TEMP ...; analyzers run side by side and must "
                "not change what another reads"))
    return problems


# --- checks that run the SQL ---------------------------------------------------

def header_only_csv(con: duckdb.DuckDBPyConnection, folder: Path) -> Path:
    """A CSV holding only the contract's header, as calls.sql defines it."""
    text = CALLS_SQL.read_text(encoding="utf-8")
    for statement in duckdb.extract_statements(text):
        if "contract_columns" in statement.query and "csv_path" not in statement.query:
            try:
                con.execute(statement.query)
            except duckdb.Error:
                pass
        if con.execute("SELECT count(*) FROM duckdb_tables() "
                       "WHERE table_name = 'contract_columns'").fetchone()[0]:
            break
    header = con.execute("SELECT string_agg(column_name, ',' ORDER BY position) "
                         "FROM contract_columns").fetchone()[0]
    path = folder / "header-only.csv"
    path.write_text(header + "\n", encoding="utf-8")
    return path


def _locate(analyzer: Analyzer, query: Query, exc: duckdb.Error, what: str) -> Problem:
    line, message = sql_error_line(query.line, exc)
    return Problem(analyzer.path, line, f"query {query.name}: {message}",
                   f"fix the SQL ({what} fails on an empty calls table)")


def _column_problems(analyzer: Analyzer, query: Query,
                     columns: list[tuple[str, str]]) -> list[Problem]:
    """Hints naming missing columns, non-numeric series, standard queries of the wrong shape."""
    problems: list[Problem] = []
    names = [c for c, _ in columns]
    types = dict(columns)
    have = ", ".join(names)
    for key in fmt.COLUMN_HINTS:
        if key not in query.meta:
            continue
        line = query.hint_lines.get(key, query.query_line)
        for column in fmt.split_columns(query.meta[key]):
            if column not in types:
                problems.append(Problem(analyzer.path, line, f"`{key}: {column}` names no column "
                                        f"of query {query.name}", f"use one of: {have}"))
            elif key in ("y", "band") and not is_numeric_type(types[column]):
                problems.append(Problem(analyzer.path, line, f"`{key}: {column}` is "
                                        f"{types[column]}, not a number, in query {query.name}",
                                        "chart a numeric column, or cast it in the SQL"))
    if query.meta.get("format"):
        line = query.hint_lines.get("format", query.query_line)
        for column in query.formats:
            if column not in types:
                problems.append(Problem(analyzer.path, line, f"`format: {column}=...` names no "
                                        f"column of query {query.name}", f"use one of: {have}"))
    shape = fmt.STANDARD_QUERIES.get(query.name)
    if shape:
        exact = query.name in fmt.EXACT_SHAPE
        got = names if exact else names[:len(shape)]
        if tuple(got) != shape:
            problems.append(Problem(
                analyzer.path, query.query_line,
                f"standard query {query.name} returns ({have}); it must return "
                f"({', '.join(shape)}){'' if exact else ' first'}",
                "rename or reorder its columns (docs/analyzers.md, standard queries)"))
        else:
            for column in fmt.NUMERIC_COLUMNS.get(query.name, ()):
                if not is_numeric_type(types[column]):
                    problems.append(Problem(analyzer.path, query.query_line,
                                            f"{query.name}.{column} is {types[column]}, not a "
                                            "number", f"cast {column} to a number in the SQL"))
    return problems


def _run_analyzer_sql(con: duckdb.DuckDBPyConnection, analyzer: Analyzer) -> list[Problem]:
    """Setup queries executed, reported queries described, columns compared with hints."""
    problems: list[Problem] = []
    for name, param in analyzer.params.items():
        con.execute(f"SET VARIABLE {name} = ?", [param.default])
    try:
        for query in analyzer.queries:
            try:
                statements = duckdb.extract_statements(query.sql)
            except duckdb.Error as exc:
                problems.append(_locate(analyzer, query, exc, "parsing"))
                return problems
            if len(statements) != 1:
                problems.append(Problem(analyzer.path, query.line,
                                        f"query {query.name} holds {len(statements)} statements",
                                        "give each statement its own `-- query: NAME` line"))
                return problems
            try:
                if query.hidden:
                    con.execute(query.sql)
                    continue
                columns = [(row[0], str(row[1])) for row in
                           con.execute("DESCRIBE " + query.sql).fetchall()]
            except duckdb.Error as exc:
                # Later queries read what this one defines: stop at the first.
                problems.append(_locate(analyzer, query, exc,
                                        "running it" if query.hidden else "DESCRIBE"))
                return problems
            problems.extend(_column_problems(analyzer, query, columns))
    finally:
        for name in analyzer.params:
            con.execute(f"RESET VARIABLE {name}")
    return problems


def _calls_problem(exc: duckdb.Error) -> Problem:
    message = duckdb_message(exc)
    line = 1
    m = re.search(r"LINE (\d+):", str(exc))
    if m:
        line = int(m.group(1))
        message = message.split(" LINE ")[0]
    return Problem(CALLS_SQL, line, f"calls.sql fails on a header-only CSV: {message}",
                   "fix sql/calls.sql; no analyzer can run until it loads")


def _run_checks(sql_dirs: list[Path]) -> CheckResult:
    started = time.perf_counter()
    files = catalog.analyzer_files([SQL_DIR, *sql_dirs])
    found, broken = catalog.parse_all(sql_dirs)
    problems: list[Problem] = []
    readable = list(found.values())
    for path, exc in broken:
        if not isinstance(exc, AnalyzerFileError):
            problems.append(Problem(path, _line_of(exc), _message_of(exc, path)))
            continue
        try:  # a file with a bad hint is still worth running, to report all at once
            readable.append(catalog.parse_analyzer(path, collect=problems))
        except FinopsError:
            problems.extend(exc.problems)
    engine_variables = calls_variables()
    for analyzer in readable:
        problems.extend(variable_problems(analyzer, engine_variables))
        problems.extend(write_problems(analyzer))
    con = connect(memory_limit="512MB", threads=1)
    try:
        with tempfile.TemporaryDirectory(prefix="finops-check-") as folder:
            try:
                header_csv = header_only_csv(con, Path(folder))
                try:
                    # The loader every command uses, so the check sees the same views.
                    load_calls(con, header_csv)
                except NoDataError:
                    pass  # expected: the file holds no row, and every view is defined
            except duckdb.Error as exc:
                problems.append(_calls_problem(exc))
            except FinopsError as exc:
                problems.append(Problem(CALLS_SQL, 1, f"calls.sql fails on a header-only CSV: "
                                        f"{exc}", "fix sql/calls.sql; no analyzer can run "
                                        "until it loads"))
            else:
                for analyzer in readable:
                    problems.extend(_run_analyzer_sql(con, analyzer))
    finally:
        con.close()
    bad = {p.path for p in problems}
    sound = {name: a for name, a in found.items() if a.path not in bad}
    if CALLS_SQL in bad:
        sound = {}
    order = {path: n for n, path in enumerate(files)}
    problems.sort(key=lambda p: (order.get(p.path, -1), p.line))
    return CheckResult(sound, problems, files, time.perf_counter() - started)


def _line_of(exc: Exception) -> int:
    m = re.match(r"^.*?:(\d+): ", str(exc))
    return int(m.group(1)) if m else 1


def _message_of(exc: Exception, path: Path) -> str:
    text = str(exc)
    prefix = re.match(r"^.*?:\d+: ", text)
    if prefix and text.startswith(str(path)):
        return text[prefix.end():]
    return text


# One cached result per set of folders; valid while no file's size or time changed.
_cache: dict[tuple, tuple[tuple, CheckResult]] = {}
_cache_lock = threading.Lock()
_ENGINE_DIR = Path(__file__).resolve().parent


def _fingerprint(sql_dirs: list[Path]) -> tuple:
    """Everything a check's verdict depends on: every file under sql/ (calls.sql,
    finance.sql, list prices, analyzers), the analyzer files of sql_dirs, the
    engine's own code, and the finops, DuckDB and Python versions. A file is
    stamped by size, modification and change time and inode, so a rewrite of
    the same size in the same clock tick still changes it (ctime moves on
    every write and cannot be set back)."""
    paths = {*SQL_DIR.rglob("*.sql"), *SQL_DIR.rglob("*.csv"), *_ENGINE_DIR.glob("*.py"),
             *catalog.analyzer_files([SQL_DIR, *sql_dirs])}
    stamps = []
    for path in sorted(paths):
        try:
            st = path.stat()
            stamps.append((str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
        except OSError:
            stamps.append((str(path), None, None, None, None))
    return (__version__, duckdb.__version__, sys.version, tuple(stamps))


def _passed_file(stamp: tuple) -> Path:
    """Where a clean check of exactly these files is remembered: the user's
    private folder (tempdir.py), one empty file per fingerprint."""
    digest = hashlib.sha256(repr(stamp).encode("utf-8")).hexdigest()[:40]
    return private_root() / "checked" / f"clean-{digest}"


def _remembered_clean(folders: list[Path], stamp: tuple) -> CheckResult | None:
    """The result of a check that passed on these very files in an earlier
    process: parsed again (cheap), the SQL not run. None when there is none,
    or when anything parses differently now."""
    started = time.perf_counter()
    try:
        if not _passed_file(stamp).is_file():
            return None
    except (OSError, FinopsError):
        return None
    found, broken = catalog.parse_all(folders)
    if broken:
        return None
    problems: list[Problem] = []
    engine_variables = calls_variables()
    for analyzer in found.values():
        problems.extend(variable_problems(analyzer, engine_variables))
    if problems:
        return None
    return CheckResult(found, [], catalog.analyzer_files([SQL_DIR, *folders]),
                       time.perf_counter() - started)


def _remember_clean(stamp: tuple) -> None:
    """Remember a clean check (only a clean one: problems are always looked for again)."""
    try:
        path = _passed_file(stamp)
        ensure_private(path.parent)
        path.touch()
        for old in sorted(path.parent.glob("clean-*"), key=lambda p: p.stat().st_mtime)[:-20]:
            old.unlink(missing_ok=True)  # keep the 20 latest
    except (OSError, FinopsError) as exc:
        log.debug("cannot remember the check: %s", exc)


def check_analyzers(sql_dirs=(), *, use_cache: bool = True) -> CheckResult:
    """Check the built-in analyzers and those under sql_dirs; never raises for a bad file.

    With use_cache, a result is reused while no file it depends on changed:
    in this process any result, across processes a clean one (every command
    runs the check first; a cold one costs ~0.5-0.8 s at every start).
    """
    folders = catalog.check_sql_dirs(sql_dirs)
    key = tuple(str(f.resolve()) for f in folders)
    stamp = _fingerprint(folders)
    if use_cache:
        with _cache_lock:
            hit = _cache.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
        result = _remembered_clean(folders, stamp)
        if result is not None:
            with _cache_lock:
                _cache[key] = (stamp, result)
            return result
    result = _run_checks(folders)
    log.debug("checked %d analyzer files in %.2fs: %d problems", len(result.files),
              result.seconds, len(result.problems))
    with _cache_lock:
        _cache[key] = (stamp, result)
    if result.ok and _fingerprint(folders) == stamp:  # unchanged while it ran
        _remember_clean(stamp)
    return result


class CheckFailed(FinopsError):
    """Problems in the analyzers a command needs; str() lists them, one per line."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def require_sound(result: CheckResult, names: list[str]) -> None:
    """Raise CheckFailed when any of the named analyzers (or calls.sql) has problems;
    log a warning naming every other file with problems, which is skipped."""
    paths = result.names()
    wanted = {paths[n] for n in names if n in paths} | {CALLS_SQL}
    blocking = [p for p in result.problems if p.path in wanted]
    if blocking:
        raise CheckFailed(blocking)
    for path, problems in result.broken().items():
        log.warning("skipped %s (%d problem%s; run `finops check`): %s", path.stem,
                    len(problems), "" if len(problems) == 1 else "s", problems[0])
