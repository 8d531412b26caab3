"""The Spark engine: the same analyzer files, run on a Spark cluster or in local mode.

`--engine spark` runs here instead of DuckDB. The analyzers stay DuckDB SQL;
engine/dialect.py translates each statement. This module owns the Spark
side: the session (local master, a cluster master URL, or a Spark Connect
`sc://` URL), the calls contract on Spark (the same rules as calls.sql,
see calls_on_spark()), the shared definitions of calls.sql (macros,
reference tables, `period`, `customer_economics`), parameters bound as
session variables, and results turned into the same QueryResult objects
DuckDB gives, so run-sql's JSON and the reports do not know which engine
ran.

pyspark is the optional `finops[spark]` extra; nothing here is imported by
the DuckDB path.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from . import dialect, linefix
from .catalog import Analyzer
from .errors import FinopsError
from .paths import CALLS_SQL, FINANCE_SQL
from .results import AnalyzerResult, QueryResult


def spark_error(exc: BaseException) -> str:
    """The one line of a Spark failure worth showing (not py4j's wrapper)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("[") or "Exception:" in line or "Error:" in line:
            return line.split("Exception: ", 1)[-1][:500]
    return (lines[0] if lines else type(exc).__name__)[:500]


def _pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError:
        raise FinopsError("the Spark engine needs the spark extra: pip install 'finops[spark]' "
                          "(and a Java 17+ runtime)") from None
    return SparkSession


def spark_session(master: str | None = None):
    """A Spark session: `sc://host:port` is Spark Connect, anything else a master URL.

    Default: local[2] on this machine, bound to loopback, no web UI, UTC.
    """
    SparkSession = _pyspark()
    master = master or os.environ.get("FINOPS_SPARK_MASTER") or "local[2]"
    builder = SparkSession.builder.appName("finops")
    if master.startswith("sc://"):
        builder = builder.remote(master)
    else:
        builder = (builder.master(master)
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", os.environ.get("FINOPS_SPARK_PARTITIONS", "8")))
        if master.startswith("local"):
            builder = (builder.config("spark.driver.bindAddress", "127.0.0.1")
                       .config("spark.driver.host", "127.0.0.1"))
    try:
        spark = builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
    except Exception as exc:  # JVM missing, bad URL: one line for the user
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FinopsError(f"cannot start Spark ({master}): {first}") from None
    try:
        spark.sparkContext.setLogLevel("ERROR")
    except Exception:
        pass  # Spark Connect has no SparkContext
    # pyspark logs every failed statement with its whole plan; finops
    # reports the failure itself, in one line.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return spark


# --- statements of a SQL file -------------------------------------------------

def split_statements(text: str) -> list[str]:
    """The statements of a SQL script, split at semicolons outside quotes and comments."""
    out, buf, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            buf.append(ch)
        elif ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            buf.append(text[i:end])
            i = end
            continue
        elif ch == ";":
            stmt = "".join(buf).strip()
            if dialect.strip_comments(stmt).strip():
                out.append(stmt)
            buf = []
        else:
            buf.append(ch)
        i += 1
    stmt = "".join(buf).strip()
    if dialect.strip_comments(stmt).strip():
        out.append(stmt)
    return out


# Objects the Spark loader provides itself; calls.sql's DuckDB reading of
# the CSV (read_csv, reject tables, rowid, DELETE) is not translated.
PROVIDED = {"calls", "calls_rejected", "data_quality"}
_CREATES = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?"
                      r"(TABLE|VIEW|MACRO)\s+(\w+)", re.I)


def finance_files() -> list[Path]:
    """The files a session runs after calls.sql, in its order (session.py's
    load_list_prices and _run_finance_sql): list prices, each call at list
    price, and finance.sql."""
    from .session import PRICES_DIR
    return [PRICES_DIR / "list_prices.sql", PRICES_DIR / "calls_list_prices.sql", FINANCE_SQL]


@dataclass
class SharedDefinitions:
    """What calls.sql and the files after it define for every analyzer, split for Spark."""

    macros: dict
    statements: list[tuple[str, str]] = field(default_factory=list)  # (name, DuckDB SQL)
    finance: list[tuple[Path, str]] = field(default_factory=list)  # (file, DuckDB SQL), no macros
    _trees: dict = field(default_factory=dict, repr=False)

    def parse(self, sql: str):
        """sql parsed with these macros expanded: a copy of the tree parsed the
        first time (a build checks every query's translation, then translates
        it again with the session's column types; a copy costs a third of a parse)."""
        if sql not in self._trees:
            self._trees[sql] = dialect.parse(sql, self.macros)
        return self._trees[sql].copy()


def shared_definitions(calls_sql: Path = CALLS_SQL) -> SharedDefinitions:
    """calls.sql without its DuckDB CSV reading: macros and the portable tables and views.

    A statement belongs to the reading when it reads the file (read_csv),
    deletes, or reads a table that the reading made; the reading's results
    `calls`, `calls_rejected` and `data_quality` come from calls_on_spark().
    The statements of finance_files() all run on Spark (SparkRunner.prepare).
    """
    statements = split_statements(calls_sql.read_text(encoding="utf-8"))
    finance = [(path, sql) for path in finance_files()
               for sql in split_statements(path.read_text(encoding="utf-8"))]
    # Their macros (per_month, alert_severity, list_price_match, the table
    # macro report_actions, ...) are expanded like calls.sql's.
    macros = dialect.parse_macros(statements + [sql for _, sql in finance])
    finance = [(path, sql) for path, sql in finance
               if not ((m := _CREATES.match(dialect.strip_comments(sql))) and m.group(1).upper() == "MACRO")]
    # read_csv's reject tables are made by the reading without a CREATE.
    reading: set[str] = {"csv_reject_errors", "csv_reject_scans"}
    shared: list[tuple[str, str]] = []
    for text in statements:
        body = dialect.strip_comments(text)
        m = _CREATES.match(body)
        if m and m.group(1).upper() == "MACRO":
            continue
        name = m.group(2).lower() if m else None
        words = {w.lower() for w in re.findall(r"\w+", body)}
        is_reading = ("read_csv" in words or re.match(r"\s*DELETE\b", body, re.I) is not None
                      or bool(words & reading) or name is None)
        if name in PROVIDED:
            continue
        if is_reading:
            if name:
                reading.add(name)
            continue
        shared.append((name, text))
    return SharedDefinitions(macros, shared, finance)


# --- values -------------------------------------------------------------------

def _plain(value):
    """A Spark Row value as the Python value DuckDB would have returned."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "asDict"):
        return {k: _plain(v) for k, v in value.asDict().items()}
    return value


_SPARK_TYPES = {"StringType": "VARCHAR", "IntegerType": "INTEGER", "LongType": "BIGINT",
                "DoubleType": "DOUBLE", "FloatType": "FLOAT", "BooleanType": "BOOLEAN",
                "DateType": "DATE", "TimestampType": "TIMESTAMP", "TimestampNTZType": "TIMESTAMP",
                "ShortType": "SMALLINT", "ByteType": "TINYINT"}


def _duck_type(spark_type) -> str:
    name = type(spark_type).__name__
    if name == "DecimalType":
        return f"DECIMAL({spark_type.precision},{spark_type.scale})"
    if name == "ArrayType":
        return _duck_type(spark_type.elementType) + "[]"
    return _SPARK_TYPES.get(name, "VARCHAR")


def _sql_type(value) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):  # INT where it fits: Spark's LIMIT takes only INT
        return "INT" if -2**31 <= value < 2**31 else "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, Decimal):
        return "DECIMAL(38, 9)"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    return "STRING"


class SparkRunner:
    """Runs analyzers on a Spark session that holds `calls` (see calls_on_spark)."""

    def __init__(self, spark, shared: SharedDefinitions | None = None):
        self.spark = spark
        self.shared = shared or shared_definitions()
        self._translated: dict[str, str] = {}
        self._variables: dict[str, set[str]] = {}
        self._declared: set[str] = set()
        self._reference_made: set[str] = set()

    def make_reference_tables(self) -> None:
        """calls.sql's tables before its stages (subscription_tiers, model_prices,
        contract_columns): what the `read` stage needs before any call is read."""
        from .store import calls_sql_stages
        prelude = calls_sql_stages()["prelude"]
        for name, sql in self.shared.statements:
            if sql in prelude and name not in self._reference_made:
                self._run(sql, f"calls.sql: {name}")
                self._reference_made.add(name)

    def translate(self, sql: str) -> str:
        if sql not in self._translated:
            self._translated[sql], self._variables[sql] = dialect.translate_tree(
                self.shared.parse(sql), self.decimal_column)
        return self._translated[sql]

    def decimal_column(self, table: str, column: str):
        """(precision, scale) of a DECIMAL column of a table in the session, else None."""
        try:
            fields = {f.name.lower(): f.dataType for f in self.spark.table(table).schema.fields}
        except Exception:
            return None  # not made yet: only a check translates before the tables exist
        found = fields.get(column)
        if type(found).__name__ == "DecimalType":
            return (found.precision, found.scale)
        return None

    def prepare(self, subscriptions=None, budgets=None, *, ledger: bool = True) -> None:
        """Make calls.sql's shared tables (reference tables, period) and run the
        files after it on Spark: list prices, calls at list price, finance.sql
        (not with ledger=False: what the source block counts needs the prices
        only, and a build narrowed by filters makes the ledger once, for the
        narrowed calls, in apply_filters).

        Only the small files those read with read_csv (the checked-in list
        prices, the subscriptions and budgets files given to finops) are
        read on the driver, by DuckDB as in a DuckDB session, and handed to
        Spark as rows (createDataFrame), not as files: executors on a
        cluster need no path of this machine. Everything else, the checks
        of those files included, is translated and runs on Spark.
        """
        import duckdb

        from .session import PRICES_DIR, EMPTY_BUDGETS, EMPTY_SUBSCRIPTIONS, _input_path
        for name, sql in self.shared.statements:
            if name not in self._reference_made:
                self._run(sql, f"calls.sql: {name}")
        inputs = {"subscriptions": _input_path("subscriptions", subscriptions, EMPTY_SUBSCRIPTIONS),
                  "budgets": _input_path("budgets", budgets, EMPTY_BUDGETS)}
        driver = duckdb.connect()
        try:
            driver.execute("SET VARIABLE list_prices_dir = ?", [str(PRICES_DIR)])
            for kind, path in inputs.items():
                driver.execute(f"SET VARIABLE {kind}_path = ?", [str(path)])
            for path, sql in self.shared.finance:
                if not ledger and path == FINANCE_SQL:
                    continue
                self.run_statement(sql, path, driver=driver, inputs=inputs)
        finally:
            driver.close()

    def run_statement(self, sql: str, path: Path, driver=None, inputs=None):
        """One statement of a setup file, as a DuckDB session would run it."""
        body = dialect.strip_comments(sql)
        made = _CREATES.match(body)
        where = f"{path.name}: {made.group(2) if made else body.strip().split(None, 1)[0]}"
        if made is None and re.match(r"\s*SET\s+VARIABLE\b", body, re.I):
            return self._set_variable(body, where)
        if "read_csv" in {w.lower() for w in re.findall(r"\w+", body)}:
            if driver is None or made is None:
                raise FinopsError(f"{where}: read_csv runs only on the driver, into a table")
            return self._from_driver(driver, sql, made.group(2), where, inputs or {})
        if made is None:  # a check: a SELECT that fails (error()) on a bad row
            try:
                frame = self._run(sql, where)
                try:
                    return frame.collect()
                except Exception as exc:
                    raise FinopsError(f"{where}: Spark failed: {spark_error(exc)}", exit_code=1) from None
            except FinopsError as exc:
                message = re.sub(r"^\[USER_RAISED_EXCEPTION\] |\s*SQLSTATE: \w+$", "",
                                 str(exc).split("Spark failed: ", 1)[-1])
                source = next((p for k, p in (inputs or {}).items() if message.startswith(f"{k} file")),
                              None)
                if source is None:
                    raise
                raise FinopsError(f"{source}: {message}") from None
        return self._run(sql, where)

    def _from_driver(self, driver, sql: str, name: str, where: str, inputs: dict):
        """A table read_csv makes from a small driver-side file, handed to Spark as rows."""
        import duckdb

        from .session import duckdb_message
        try:
            driver.execute(sql)
            types = driver.execute(f"SELECT column_name, column_type FROM (DESCRIBE {name})").fetchall()
            rows = driver.execute(f"SELECT * FROM {name}").fetchall()
        except duckdb.Error as exc:
            source = next((p for k, p in inputs.items() if f"{k}_path" in sql), where)
            raise FinopsError(f"{source}: {duckdb_message(exc)}") from None
        schema = ", ".join(f"`{column}` {dialect.spark_type(kind)}" for column, kind in types)
        frame = self.spark.createDataFrame(rows, schema).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        return frame

    def _set_variable(self, body: str, where: str):
        """`SET VARIABLE name = expr`: a Spark session variable of expr's type, set to it."""
        m = re.match(r"\s*SET\s+VARIABLE\s+(\w+)\s*=\s*(.*?)\s*;?\s*$", body, re.I | re.S)
        if not m:
            raise FinopsError(f"{where}: cannot read the SET VARIABLE statement")
        name, select = m.group(1).lower(), f"SELECT {m.group(2)} AS value"
        frame = self._run(select, where)
        self.spark.sql(f"DECLARE OR REPLACE VARIABLE {name} {frame.schema[0].dataType.simpleString()}")
        self.spark.sql(f"SET VAR {name} = ({self.translate(select)})")
        self._declared.add(name)

    def _declare_read_variables(self, sql: str) -> None:
        """DuckDB's getvariable() of a name never set is NULL; a Spark session
        variable must be declared first: declare each one the statement reads."""
        self.translate(sql)  # which finds the names it reads
        for name in sorted(self._variables[sql] - self._declared):
            self.spark.sql(f"DECLARE OR REPLACE VARIABLE {name} STRING")
            self._declared.add(name)

    def _run(self, sql: str, where: str):
        spark_sql = self.translate(sql)
        try:
            self._declare_read_variables(sql)
            cached = re.match(r"CACHE TABLE (\w+) AS (.*)", spark_sql, re.S)
            if cached:
                # Materialized once and cut from its lineage: a view over a
                # CACHE TABLE whose plan Spark cannot match (correlated
                # subqueries, windows) was recomputed on every read, and each
                # later setup table nested the whole plan again.
                frame = self.spark.sql(cached.group(2)).localCheckpoint(eager=True)
                frame.createOrReplaceTempView(cached.group(1))
                return frame
            return self.spark.sql(spark_sql)
        except Exception as exc:
            raise FinopsError(f"{where}: Spark failed: {spark_error(exc)}", exit_code=1) from None

    def bind(self, params: dict[str, object]) -> None:
        """Parameters as Spark session variables, values bound (never pasted)."""
        for name, value in params.items():
            if not re.fullmatch(r"[A-Za-z_]\w*", name):
                raise FinopsError(f"bad parameter name {name!r}")
            self.spark.sql(f"DECLARE OR REPLACE VARIABLE {name} {_sql_type(value)}")
            self._declared.add(name.lower())
            if value is not None:  # a declared variable is NULL
                self.spark.sql(f"SET VAR {name} = :value", args={"value": value})

    def unbind(self, names) -> None:
        """As DuckDB's RESET VARIABLE: each name reads NULL again."""
        for name in names:
            self.spark.sql(f"DECLARE OR REPLACE VARIABLE {name} STRING")

    def _store_ledger(self) -> None:
        from .session import ledger_section
        for sql in split_statements(ledger_section()):
            self.run_statement(sql, FINANCE_SQL)

    def _refresh_ledger(self, params: dict) -> bool:
        """session.refresh_ledger_for_params on Spark: the stored ledger follows a
        parameter that changes a finance assumption; True when it was stored again."""
        if not self.spark.catalog.tableExists("finance_assumptions"):
            return False
        from .session import assumption_change_query
        names = {r[0] for r in self.spark.sql("SELECT name FROM finance_assumptions").collect()}
        query = assumption_change_query(params, names)
        if query is None or not self._run(query, "finance.sql: assumption_changed").collect()[0][0]:
            return False
        self._store_ledger()
        return True

    def run_analyzer(self, analyzer: Analyzer, overrides: dict | None = None,
                     only: str | None = None) -> AnalyzerResult:
        from .analyze import resolve_params
        params = resolve_params(analyzer, overrides)
        wanted = [analyzer.query(only)] if only else analyzer.visible_queries
        started = time.perf_counter()
        results: dict[str, QueryResult] = {}
        restore = False
        try:
            self.bind(params)
            restore = bool(params) and self._refresh_ledger(params)
            for query in analyzer.queries:
                if not query.hidden and query not in wanted:
                    continue
                where = f"{analyzer.path}:{query.line}: query {query.name}"
                frame = self._run(query.sql, where)
                if query.hidden:
                    continue
                try:
                    rows = frame.collect()
                except Exception as exc:
                    raise FinopsError(f"{where}: Spark failed: {spark_error(exc)}", exit_code=1) from None
                columns = list(frame.columns)
                types = [_duck_type(f.dataType) for f in frame.schema.fields]
                plain = [tuple(_plain(v) for v in row) for row in rows]
                results[query.name] = QueryResult(query.name, columns, types, plain,
                                                  dict(query.meta), query.title)
        finally:
            self.unbind(params)
            if restore:
                self._store_ledger()
        return AnalyzerResult(analyzer, params, results, time.perf_counter() - started)


# --- calls on Spark -----------------------------------------------------------

# The store's segment files (engine/store.py, kind -> the relation calls.sql's
# `views` stage reads).
STORE_RELATIONS = {"calls": "calls_loaded", "rule_rejects": "calls_rule_rejects",
                   "unreadable": "csv_unreadable", "duplicates": "calls_duplicate_rows",
                   "multiline": "csv_multiline", "header_fields": "csv_header_fields"}


def calls_on_spark(runner: "SparkRunner", store) -> None:
    """The calls contract on Spark: calls.sql's `views` stage over the store's Parquet segments.

    The segments hold what calls.sql's `read` stage made of each byte range
    (typed rows, rule rejects with their reasons, unreadable lines,
    repeated call_ids, the header); the store already applied the one rule
    spanning segments (a call_id kept in an earlier segment is a repeat).
    Spark reads the segment files where they are (any path Spark reads)
    and runs the `views` stage itself: `calls`, `calls_rejected` and
    `data_quality` are Spark's.
    """
    spark = runner.spark
    for kind, relation in STORE_RELATIONS.items():
        files = store.files(kind)
        if kind == "header_fields":
            files = files[:1]
        frame = spark.read.parquet(*files)
        frame.createOrReplaceTempView(relation)
    emitted = 1 + sum(s.data_lines for u in store.units for s in u.segments)
    runner.bind({"line_offset": 0, "csv_header": None, "csv_emitted_lines": emitted})
    _views_stage(runner)


def _views_stage(runner: "SparkRunner") -> None:
    from .store import calls_sql_stages
    for sql in split_statements(calls_sql_stages()["views"]):
        name = _CREATES.match(dialect.strip_comments(sql))
        runner._run(sql, f"{CALLS_SQL.name}: {name.group(2) if name else 'views'}")
    runner.spark.sql("CACHE TABLE calls")


# --- the `read` stage on Spark: a CSV file on any path Spark reads -------------

# A line that cannot be read becomes this marker and its reason, as in
# engine/linefix.py's readable copy; calls.sql's contract_records rejects it.
_MARKER = "chr(1) || 'finops-unreadable:'"

# Each physical line (split at LF; a CRLF's CR dropped) as calls.sql's
# csv_source reads it: (line, extra, tag), line NULL before a NUL byte at its
# start, extra the text after a NUL byte; the checks linefix.py makes of a
# line's bytes, in its order. (Spark keeps a line's bytes as they are, so
# is_valid_utf8 sees an invalid one.)
_CSV_LINES = rf"""
SELECT r AS tag,
       CASE WHEN s = '' THEN {_MARKER} || 'empty line'
            WHEN octet_length(s) > {linefix.MAX_LINE_BYTES} THEN {_MARKER} || 'line longer than 2 MB'
            WHEN NOT valid THEN {_MARKER} || 'not valid UTF-8 (byte 0x'
                 || lower(hex(substr(CAST(value AS BINARY), bad_at, 1))) || ' at column ' || bad_at || ')'
            WHEN s RLIKE '^(?:[^"\\r]*"[^"]*")*[^"\\r]*\\r'
                 THEN {_MARKER} || 'a carriage return (CR) outside quotes splits the line'
            WHEN nul = 0 THEN s
            ELSE nullif(substr(s, 1, nul - 1), '')
       END AS line,
       CASE WHEN nul > 0 THEN nullif(substr(s, nul + 1), '') END AS extra
FROM (
    SELECT r, value, valid, s,
           CASE WHEN valid THEN instr(s, char(0)) ELSE 0 END AS nul,
           CASE WHEN NOT valid THEN octet_length(substr(make_valid_utf8(value), 1,
                instr(make_valid_utf8(value), '\uFFFD') - 1)) + 1 END AS bad_at
    FROM (SELECT r, value, is_valid_utf8(value) AS valid,
                 CASE WHEN is_valid_utf8(value) THEN regexp_replace(value, '\\r\\z', '') ELSE value END AS s
          FROM csv_numbered_lines)
)
"""


def numbered_lines(spark, path: str):
    """The physical lines of the one file at path, each with its exact index (the header 0).

    Spark reads a file in splits, each line in exactly one, in order within
    it; monotonically_increasing_id numbers the lines of a partition in
    order. One pass counts the lines of each split (and keeps the first
    line, the header); the index of a line is the lines of the splits
    before it plus its place in its own. Returns (frame of (r, value),
    file size in bytes, line count, header text).
    """
    from pyspark.sql import functions as F
    try:
        raw = (spark.read.option("lineSep", "\n").text(path)
               .select("value", F.col("_metadata.file_path").alias("file"),
                       F.col("_metadata.file_block_start").alias("block"),
                       F.col("_metadata.file_size").alias("size"),
                       F.monotonically_increasing_id().alias("id")))
        blocks = (raw.groupBy("file", "block")
                  .agg(F.count(F.lit(1)).alias("n"), F.min("id").alias("first_id"),
                       F.max("size").alias("size"), F.min_by("value", "id").alias("first_line"))
                  .collect())
    except Exception as exc:
        raise FinopsError(f"{path}: Spark cannot read it: {spark_error(exc)}") from None
    files = {b["file"] for b in blocks}
    if len(files) > 1:
        raise FinopsError(f"{path} names {len(files)} files; --engine spark reads one CSV file "
                          "per --csv (or pass the store of a local file)")
    if not blocks:
        from .errors import NoDataError
        raise NoDataError(f"no data yet: {path} is empty; run `finops simulate` to create data")
    shifts, total = [], 0
    blocks = sorted(blocks, key=lambda b: b["block"])
    for b in blocks:
        shifts.append((b["block"], total - b["first_id"]))
        total += b["n"]
    shift = spark.createDataFrame(shifts, "block BIGINT, shift BIGINT")
    lines = raw.join(F.broadcast(shift), "block").select((F.col("id") + F.col("shift")).alias("r"), "value")
    return lines, int(blocks[0]["size"]), total, blocks[0]["first_line"]


def _bind_settings(runner: "SparkRunner") -> None:
    """calls.sql's settings (FINOPS_MIN_CALL_DATE, ...) as typed Spark session
    variables: checked and cast by session.py's own binding, on a DuckDB
    connection that reads no file."""
    import duckdb

    from .session import _SQL_SETTINGS, _apply_settings
    con = duckdb.connect()
    try:
        _apply_settings(con, None)
        values = {name: con.execute(f"SELECT getvariable('{name}')").fetchone()[0] for name in _SQL_SETTINGS}
    finally:
        con.close()
    for name, value in values.items():
        runner.spark.sql(f"DECLARE OR REPLACE VARIABLE {name} {_SQL_SETTINGS[name][1]}")
        runner._declared.add(name)
        if value is not None:
            runner.spark.sql(f"SET VAR {name} = :value", args={"value": value})


def _on_line_index(sql: str, target: str | None = None) -> str:
    """A statement of calls.sql's `read` stage over line indexes instead of DuckDB's
    rowid: rowid is the column `tag` (the line index), calls_loaded (every line
    read) is calls_read_lines, file_line(i) is i (every line is read, so no
    gaps), and a CREATE of calls_loaded makes target with `tag` kept."""
    from sqlglot import exp, parse_one
    tree = parse_one(sql, read="duckdb")

    def sub(node):
        if isinstance(node, exp.Column) and node.name.lower() == "rowid":
            return exp.column("tag", table=node.table or None)
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "file_line":
            return exp.Paren(this=node.expressions[0].copy())
        if isinstance(node, exp.Table) and node.name.lower() == "calls_loaded":
            node = node.copy()
            node.set("this", exp.to_identifier(target or "calls_read_lines"))
        return node
    tree = tree.transform(sub)
    if target and isinstance(tree, exp.Create):
        tree.expression.select("tag", copy=False)
    return tree.sql(dialect="duckdb")


def read_csv_on_spark(runner: "SparkRunner", path: str) -> int:
    """calls.sql's `read` stage run by Spark on a CSV file on any path Spark reads.

    Spark numbers the file's lines (numbered_lines); calls.sql's own rules
    then run translated: the header check, csv_header_fields and the
    optional columns' positions, contract_records (every rejection reason),
    calls_loaded and csv_multiline, over line indexes instead of DuckDB's
    rowid (_on_line_index). sql/calls_lines.sql keeps each record once and
    sets rejects and repeated call_ids aside, as the rest of the `read`
    stage does with rowid, DELETE and UPDATE. Makes the relations the
    `views` stage reads; returns the file's size in bytes.
    """
    from .paths import CALLS_LINES_SQL
    from .store import calls_sql_stages
    spark = runner.spark
    runner.make_reference_tables()
    lines, size, _, header = numbered_lines(spark, path)
    lines.createOrReplaceTempView("csv_numbered_lines")
    spark.sql(_CSV_LINES).createOrReplaceTempView("csv_lines")
    header = (header or "").lstrip("\ufeff")
    header = header[:-1] if header.endswith("\r") else header
    spark.createDataFrame([(header,)], "line STRING").createOrReplaceTempView("csv_header")
    runner.bind({"line_offset": 0, "csv_header": None})
    _bind_settings(runner)

    def source(sql: str) -> None:
        runner._run(f"CREATE OR REPLACE TEMP VIEW csv_source AS {sql}", f"{CALLS_SQL.name}: csv_source")

    statements = {}
    for sql in split_statements(calls_sql_stages()["read"]):
        body = dialect.strip_comments(sql).strip()
        made = _CREATES.match(body)
        key = made.group(2).lower() if made else " ".join(body.split()[:3]).lower()
        statements.setdefault(key, []).append(sql)
    # The header check and the optional columns' positions; the counts of
    # what was read come after calls_loaded.
    counts = ("set variable csv_emitted_lines", "set variable csv_line_bytes",
              "set variable csv_longest_line")
    header_sql = [sql for key in ("csv_header_fields", "select case when") for sql in statements.get(key, [])]
    header_sql += [sql for key, sqls in statements.items()
                   if key.startswith("set variable ") and key not in counts for sql in sqls]
    source("SELECT line, extra, tag FROM csv_lines")
    try:
        for sql in header_sql + statements["contract_records"]:
            runner.run_statement(sql, CALLS_SQL)
    except FinopsError as exc:
        if "[USER_RAISED_EXCEPTION]" not in str(exc):
            raise
        from .session import read_error
        raise read_error(path, re.sub(r"^.*?\[USER_RAISED_EXCEPTION\] |\s*SQLSTATE: \w+$", "",
                                      str(exc))) from None
    runner.run_statement(_on_line_index(statements["calls_loaded"][0], "calls_read_lines"), CALLS_SQL)
    for key in counts:
        for sql in statements.get(key, []):
            runner.run_statement(_on_line_index(sql), CALLS_SQL)
    runner.run_statement(_on_line_index(statements["csv_multiline"][0]), CALLS_SQL)
    source("SELECT record AS line, CAST(NULL AS VARCHAR) AS extra, first_r AS tag FROM csv_multiline")
    runner.run_statement(_on_line_index(statements["calls_loaded"][0], "calls_read_records"), CALLS_SQL)
    for sql in split_statements(CALLS_LINES_SQL.read_text(encoding="utf-8")):
        runner.run_statement(sql, CALLS_LINES_SQL)
    return size


def source_on_spark(runner: "SparkRunner", shown_path: str, size_bytes: int):
    """The `source` block (SourceInfo) of the calls on Spark, counted by Spark
    (as session.source_info counts DuckDB's), after prepare() made price_coverage."""
    from .session import SourceInfo, _REJECT_SAMPLES
    spark = runner.spark
    (rows, rejected, duplicates, first, last, data_lines, continuation, unpriced,
     errors) = spark.sql("SELECT rows, rows_rejected, duplicate_call_ids, first_call, last_call, "
                         "data_lines, continuation_lines, unpriced_calls, error_calls "
                         "FROM data_quality").collect()[0]
    columns = [r[0] for r in spark.sql("SELECT column_name FROM csv_header_fields WHERE known "
                                       "ORDER BY position").collect()]
    samples = spark.sql("SELECT line, kind, reason FROM calls_rejected "
                        f"ORDER BY line NULLS LAST, kind, reason LIMIT {int(_REJECT_SAMPLES)}").collect()
    unknown = [{"provider": p, "model": m, "calls": int(n)} for p, m, n in spark.sql(
        "SELECT provider, model, calls FROM price_coverage WHERE unknown_to_price_list "
        "ORDER BY calls DESC, provider, model").collect()]
    return SourceInfo(
        csv_path=shown_path, size_bytes=size_bytes, rows=int(rows), rows_rejected=int(rejected),
        duplicate_call_ids=int(duplicates), first_call=first.isoformat() if first else None,
        last_call=last.isoformat() if last else None,
        reject_samples=[{"line": line, "kind": kind, "reason": reason} for line, kind, reason in samples],
        data_lines=int(data_lines), continuation_lines=int(continuation),
        unpriced_calls=int(unpriced), error_calls=int(errors), columns=columns,
        unknown_price_models=unknown)


def check_translations(runner: "SparkRunner", analyzers) -> None:
    """Fail before any data is read when a statement has no Spark translation."""
    for analyzer in analyzers:
        for q in analyzer.queries:
            try:
                dialect.translate_tree(runner.shared.parse(q.sql))
            except FinopsError as exc:
                raise FinopsError(f"{analyzer.path}:{q.line}: query {q.name}: {exc}") from None


def is_local_path(path) -> bool:
    """A path of this machine's file system (not s3a://, hdfs://, ...)."""
    return re.match(r"^[A-Za-z][\w+.-]*://", str(path)) is None


def attach(runner: "SparkRunner", session, analyzers, folder: Path | None = None, *,
           subscriptions=None, budgets=None, narrowed: bool = False):
    """Give runner's Spark session the calls, calls.sql's shared tables and the
    finance and price tables; return the `source` block, counted by Spark.

    With a store beside the file (the default), Spark reads the store's
    Parquet segments and applies calls.sql's `views` stage itself
    (calls_on_spark). Without one (--no-cache), Spark reads the CSV itself
    (read_csv_on_spark). Either way the price tables and finance.sql are
    computed by Spark (SparkRunner.prepare); narrowed (apply_filters comes
    next): finance.sql waits for the narrowed calls.
    """
    store = getattr(session, "store", None)
    if store is None:
        return attach_csv(runner, session.source.csv_path, subscriptions=subscriptions, budgets=budgets,
                          ledger=not narrowed)
    calls_on_spark(runner, store)
    runner.prepare(subscriptions, budgets, ledger=not narrowed)
    source = source_on_spark(runner, session.source.csv_path, session.source.size_bytes)
    source.partial_tail_bytes = session.source.partial_tail_bytes
    source.notes = list(session.source.notes)
    return source


def apply_filters(runner: "SparkRunner", filters, *, subscriptions=None, budgets=None) -> None:
    """build --from/--to/--where on Spark, as filters.install and filters.apply do in DuckDB:
    sql/filters.sql's `calls` view, translated, narrows the whole file's calls
    (now `calls_unfiltered`) by the bound filter values, and the tables
    computed from `calls` (period, list prices per call, finance.sql) are
    made again for the narrowed calls."""
    from sqlglot import exp, parse_one

    from .paths import FILTERS_SQL
    from .store import calls_sql_stages
    spark = runner.spark
    # calls.sql's `calls` view under the name calls_unfiltered (Spark resolves
    # a view by name, so a renamed `calls` would read the filtered one).
    calls = next(sql for sql in split_statements(calls_sql_stages()["views"])
                 if (m := _CREATES.match(dialect.strip_comments(sql))) and m.group(2).lower() == "calls")
    tree = parse_one(calls, read="duckdb")
    tree.this.set("this", exp.to_identifier("calls_unfiltered"))
    runner.run_statement(tree.sql(dialect="duckdb"), CALLS_SQL)
    spark.sql("CACHE TABLE calls_unfiltered")
    runner.bind(filters.variables())
    view = [sql for sql in split_statements(FILTERS_SQL.read_text(encoding="utf-8"))
            if (m := _CREATES.match(dialect.strip_comments(sql))) and m.group(2).lower() == "calls"]
    runner.run_statement(view[0], FILTERS_SQL)
    spark.sql("CACHE TABLE calls")
    runner.prepare(subscriptions, budgets)


def attach_csv(runner: "SparkRunner", path: str, *, subscriptions=None, budgets=None,
               ledger: bool = True):
    """The calls of a CSV file that Spark reads and checks itself, and everything
    after them (as attach); the file is never read by DuckDB. Returns the `source` block."""
    from .errors import NoDataError
    size = read_csv_on_spark(runner, str(path))
    runner.bind({"csv_header": None})
    _views_stage(runner)
    runner.prepare(subscriptions, budgets, ledger=ledger)
    source = source_on_spark(runner, str(path), size)
    if source.rows == 0:
        detail = f" ({source.rows_rejected} rows rejected)" if source.rows_rejected else ""
        raise NoDataError(f"no data yet: {path} has no valid rows{detail}; "
                          "run `finops simulate` to create data")
    return source


def run_sql_on_spark(name: str, csv_path, *, sql_dirs=(), params=None, query=None,
                     memory_limit=None, subscriptions=None, budgets=None, cache: bool = True,
                     master: str | None = None, spark_read: bool = False):
    """`finops run-sql --engine spark`: the same analyzers and JSON as DuckDB, run by Spark.

    A local file is read into its store by DuckDB (only new bytes are
    parsed) and Spark reads the store; with spark_read, --no-cache, or a
    path that is not local (s3a://...), Spark reads and checks the CSV
    itself and DuckDB never opens it.
    """
    from .analyze import own_params, run_selection
    from .session import open_session
    analyzers = run_selection(name, sql_dirs, query, params)
    runner = SparkRunner(spark_session(master))
    check_translations(runner, analyzers)
    session = None
    try:
        if spark_read or not cache or not is_local_path(csv_path):
            source = attach_csv(runner, str(csv_path), subscriptions=subscriptions, budgets=budgets)
        else:
            session = open_session(csv_path, memory_limit=memory_limit, subscriptions=subscriptions,
                                   budgets=budgets, cache=cache)
            source = attach(runner, session, analyzers, subscriptions=subscriptions, budgets=budgets)
        results = [runner.run_analyzer(analyzer, own_params(analyzer, analyzers, params),
                                       only=query)
                   for analyzer in analyzers]
        return source, results
    finally:
        if session is not None:
            session.close()


def spark_problems(analyzers) -> list:
    """`finops check --engine spark`: each statement with no faithful translation, at file:line."""
    from .catalog import Problem
    fix = ("rewrite it in the portable subset (docs/spark.md), or keep the analyzer to "
           "--engine duckdb")
    from .paths import CALLS_LINES_SQL
    from .store import calls_sql_stages
    shared = shared_definitions()
    problems = []
    # What runs on Spark besides the analyzers: calls.sql's shared and read
    # statements (driver reads, DuckDB-only bookkeeping and macros aside),
    # sql/calls_lines.sql, and the files after calls.sql.
    engine_sql = [(CALLS_SQL, sql) for _, sql in shared.statements]
    engine_sql += [(CALLS_SQL, sql) for sql in split_statements(calls_sql_stages()["read"])
                   if not re.search(r"\b(read_csv|rowid|DELETE|UPDATE|DROP|MACRO)\b",
                                    dialect.strip_comments(sql), re.I)]
    engine_sql += [(CALLS_LINES_SQL, sql)
                   for sql in split_statements(CALLS_LINES_SQL.read_text(encoding="utf-8"))]
    engine_sql += [(path, sql) for path, sql in shared.finance
                   if "read_csv" not in dialect.strip_comments(sql)]
    for path, sql in engine_sql:
        try:
            dialect.translate(sql, shared.macros)
        except FinopsError as exc:
            text = path.read_text(encoding="utf-8")
            line = text[:text.find(sql)].count("\n") + 1 if sql in text else 1
            problems.append(Problem(path, line, f"no Spark translation: {exc}", fix))
    for analyzer in analyzers:
        for q in analyzer.queries:
            try:
                dialect.translate(q.sql, shared.macros)
            except FinopsError as exc:
                problems.append(Problem(analyzer.path, q.line,
                                        f"query {q.name}: no Spark translation: {exc}", fix))
    return problems
