"""The Spark engine gives the same answers as DuckDB (issue 15).

One Spark session (local[2], tests/conftest.py) serves the whole suite. The cross-engine test
runs every analyzer on both engines over the golden fixture and compares
every query's JSON (numbers to a relative 1e-9, strings exactly, rows in
order). The regression cases each run one small statement on both engines:
they are the constructs that plain sqlglot translation got silently wrong.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")

from finops.engine import catalog, dialect  # noqa: E402
from finops.engine import spark as spark_engine  # noqa: E402
from finops.engine.analyze import run_analyzer  # noqa: E402
from finops.engine.errors import FinopsError  # noqa: E402
from finops.engine.results import jsonable  # noqa: E402
from finops.engine.session import open_session  # noqa: E402

FIXTURE = Path(__file__).parent / "golden" / "fixture_calls.csv"

pytestmark = [pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime"),
              pytest.mark.slow]


def same(a, b) -> bool:
    """Equal JSON values: numbers to a relative 1e-9, everything else exactly."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        a, b = float(a), float(b)
        return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    if isinstance(a, str) and isinstance(b, str) and a != b:
        try:  # exact money travels as a string in the JSON
            return same(Decimal(a), Decimal(b))
        except ArithmeticError:
            return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture(scope="module")
def loaded(spark, tmp_path_factory):
    """The fixture read into its store by DuckDB; Spark applies the contract to the
    store's segments (calls_on_spark) and makes calls.sql's shared tables."""
    folder = tmp_path_factory.mktemp("spark-calls")
    csv_path = shutil.copy(FIXTURE, folder / FIXTURE.name)
    duck = open_session(csv_path, threads=1)
    assert duck.store is not None
    runner = spark_engine.SparkRunner(spark)
    source = spark_engine.attach(runner, duck, catalog.discover().values(), folder / "published")
    yield duck, runner, source
    duck.close()


def test_calls_contract_on_spark_gives_the_same_source_block(loaded):
    """Every rejection reason, the duplicate call_id kept once, the counts and the period."""
    duck, runner, source = loaded
    expected = duck.source.to_dict()
    assert expected["rows_rejected"] > 0 and expected["duplicate_call_ids"] > 0  # the fixture has both
    assert source.to_dict() == expected


@pytest.mark.parametrize("relation, key", [("calls", "call_id"),
                                           ("calls_rejected", "line NULLS LAST, kind, reason, content")])
def test_calls_contract_on_spark_gives_the_same_rows(loaded, relation, key):
    duck, runner, _ = loaded
    sql = f"SELECT * FROM {relation} ORDER BY {key}"
    expected = [[jsonable(v) for v in row] for row in duck.con.execute(sql).fetchall()]
    got = [[jsonable(spark_engine._plain(v)) for v in row] for row in runner.spark.sql(sql).collect()]
    assert len(got) == len(expected)
    assert same(got, expected)


@pytest.mark.parametrize("name", sorted(catalog.discover()))
def test_every_analyzer_gives_the_same_json_on_both_engines(loaded, name):
    duck, runner, _ = loaded
    analyzer = catalog.discover()[name]
    expected = run_analyzer(duck.con, analyzer).to_json()
    got = runner.run_analyzer(analyzer).to_json()
    assert got["params"] == expected["params"]
    for query, rows in expected["queries"].items():
        assert len(got["queries"][query]) == len(rows), f"{name}.{query}: row count"
        for i, (g, e) in enumerate(zip(got["queries"][query], rows)):
            assert list(g) == list(e), f"{name}.{query}: columns"
            bad = {k: (e[k], g[k]) for k in e if not same(g[k], e[k])}
            assert not bad, f"{name}.{query} row {i}: DuckDB vs Spark {bad}"


# --- the silent mismatches of plain translation, each a named case ---------------

CASES = {
    # Spark's dayname is 'Mon'; DuckDB's is 'Monday'.
    "day_names": "SELECT dayname(DATE '2026-11-30') AS d, dayname(DATE '2026-12-06') AS e",
    # sqlglot's isodow gave Sunday 2 (Spark's dayofweek counts from Sunday = 1).
    "iso_weekday": "SELECT isodow(DATE '2026-11-29') AS sun, isodow(DATE '2026-11-30') AS mon",
    # DECIMAL division keeps a scale of 6 on Spark; DuckDB divides in DOUBLE.
    "decimal_division": "SELECT CAST(14.56 AS DECIMAL(38, 6)) / CAST(1074734 AS BIGINT) AS unit",
    # format() specs passed through as literal text.
    "format_specs": "SELECT format('{:,.2f} | {:.1f}% | {:,} | {:.0f} | {} | {}', 1234.5, 2.25, "
                    "1234567, 2.5, CAST(1.5 AS DECIMAL(18, 6)), 'org_001') AS f",
    # quantile_cont(x, [...])[i]: a 1-based list index became a 0-based one.
    "percentile_list_index": "SELECT quantile_cont(x, [0.5, 0.9])[2] AS p90 FROM range(11) AS t(x)",
    # range(n) is end-exclusive; sequence() is inclusive.
    "range_end": "SELECT count(*) AS n, max(i) AS top FROM range(5) AS t(i)",
    # Two unnest()s in one SELECT zip in DuckDB; two explodes are a product.
    "zipped_unnest": "SELECT unnest([1, 2, 3]) AS a, unnest([10, 20, 30]) AS b ORDER BY a",
    # list(x ORDER BY k DESC, x) keeps its order; collect_list does not.
    "ordered_list": "SELECT list(x ORDER BY k DESC, x) AS l FROM (VALUES ('a', 1), ('b', 3), ('c', 2)) t(x, k)",
    # Slices are 1-based and inclusive.
    "list_slice": "SELECT [10, 20, 30, 40][2:3] AS s",
    # A DECIMAL in `{}` prints as 1.5, not 1.500000.
    "plain_decimal": "SELECT format('{}', CAST(2 AS DECIMAL(18, 6))) AS two",
    # epoch_ms of a timestamp is milliseconds; sqlglot made it timestamp_millis (an error).
    "epoch_ms": "SELECT epoch_ms(TIMESTAMP '2026-11-30 12:00:00.250') AS ms, epoch_ms(1700000000250) AS t",
    # Spark takes only a constant LIMIT.
    "limit_from_subquery": "WITH m AS (SELECT 3 AS m) SELECT i FROM range(10) AS t(i) "
                           "ORDER BY i DESC LIMIT (SELECT m FROM m)",
    # Spark's GROUP BY ALL leaves ORDER BY min(input column) unresolved.
    "group_by_all_order_by_aggregate": "SELECT i % 3 AS r, count(*) AS n FROM range(10) AS t(i) "
                                       "GROUP BY ALL ORDER BY min(i) DESC",
    # any_value skips NULLs in DuckDB; `IGNORE NULLS FILTER` did not parse on Spark.
    "any_value_filter": "SELECT any_value(x) FILTER (WHERE k = 2) AS v FROM "
                        "(VALUES (NULL, 2), ('a', 2), ('b', 1)) t(x, k)",
    # quantile_disc(x, p) is the standard percentile_disc (Spark's takes p only).
    # A list index past the end is NULL in DuckDB (Spark's l[i] fails), and a
    # computed index counts from 1 (Spark's l[i] from 0).
    "list_index": "SELECT [1, 2][3] AS a, l[i] AS b FROM (VALUES ([10, 20], 2)) t(l, i)",
    # Spark failed on a DISTINCT listagg beside an ordered one (ClassCastException).
    "distinct_string_agg": "SELECT string_agg(DISTINCT x, ', ') FILTER (WHERE k) AS a, "
                           "string_agg(x, ',' ORDER BY p) AS b FROM "
                           "(VALUES ('a', 2, true), ('a', 1, true), ('c', 3, false)) t(x, p, k)",
    # A NULL field of an arg_min row sorts last in DuckDB, first in a Spark struct.
    "arg_min_row_with_null": "SELECT arg_min(x, (a, b)) AS m, arg_max(x, (a, b)) AS n FROM "
                             "(VALUES ('n', 1, NULL), ('m', 1, 5), ('k', 0, 9)) t(x, a, b)",
    # regexp_full_match is the whole string; RLIKE finds, and `$` matches before a last LF.
    "regexp_full_match": "SELECT regexp_full_match('ab', 'a') AS a, regexp_full_match('a' || chr(10), 'a') AS b, "
                         "regexp_full_match('ab', 'a|ab') AS c",
    # strlen counts bytes.
    "strlen": "SELECT strlen('h\u00e9') AS n",
    # list(x ORDER BY k) FILTER (...): the FILTER belongs on the collecting.
    "ordered_list_filter": "SELECT list(x ORDER BY p DESC) FILTER (WHERE p > 1) AS l FROM "
                           "(VALUES ('a', 1), ('b', 2), ('c', 3)) t(x, p)",
    # timezone('UTC', TIMESTAMPTZ) is the TIMESTAMP of a UTC session; Spark reads an
    # offset only after seconds.
    "utc_time_with_offset": "SELECT CAST(timezone('UTC', try_cast(s AS TIMESTAMPTZ)) AS VARCHAR) AS t FROM "
                            "(VALUES ('2025-10-01T00:10+02'), ('2025-10-01 00:10:59-0500'), "
                            "('2025-10-01T00:10Z')) v(s) ORDER BY s",
    # query('...') of a literal text, and a MATERIALIZED CTE.
    "query_text": "WITH a AS MATERIALIZED (SELECT 41 AS x) SELECT q.y + a.x AS z FROM query('SELECT 1 AS y') AS q, a",
    "quantile_disc": "SELECT quantile_disc(i, 0.0) AS a, quantile_disc(i, 0.1) AS b, quantile_disc(i, 0.3) AS c, "
                     "quantile_disc(i, 0.5) AS d, quantile_disc(i, 0.7) AS e, quantile_disc(i, 0.95) AS f, "
                     "quantile_disc(i, 1.0) AS g FROM range(1, 8) AS t(i)",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_regression_case_matches_duckdb(spark, case):
    sql = CASES[case]
    con = duckdb.connect()
    expected = [[jsonable(v) for v in row] for row in con.execute(sql).fetchall()]
    got = [[jsonable(spark_engine._plain(v)) for v in row]
           for row in spark.sql(dialect.translate(sql)).collect()]
    assert same(got, expected), f"{case}: Spark {got} vs DuckDB {expected}"


def test_decimal_percentile_keeps_duckdbs_exact_type(spark):
    """DuckDB interpolates a DECIMAL column in its own scale (floored); Spark in DOUBLE."""
    values = "VALUES (CAST(0.000001 AS DECIMAL(38, 6)), 1), (CAST(0.000004 AS DECIMAL(38, 6)), 1), " \
             "(CAST(-0.000002 AS DECIMAL(38, 6)), 2), (CAST(-0.000001 AS DECIMAL(38, 6)), 2)"
    con = duckdb.connect()
    con.execute(f"CREATE TABLE amounts AS SELECT * FROM ({values}) t(cost, g)")
    spark.sql(f"SELECT * FROM {values} AS t(cost, g)").createOrReplaceTempView("amounts")
    sql = ("SELECT g, median(cost) AS m, quantile_cont(cost, 0.7) AS q, quantile_cont(cost, [0.5, 0.7])[2] AS l "
           "FROM amounts GROUP BY g ORDER BY g")
    runner = spark_engine.SparkRunner(spark)
    expected = [[jsonable(v) for v in row] for row in con.execute(sql).fetchall()]
    got = [[jsonable(spark_engine._plain(v)) for v in row] for row in spark.sql(runner.translate(sql)).collect()]
    assert got == expected


def test_table_macro_expands_to_a_subquery(spark):
    macros = dialect.parse_macros(["CREATE MACRO evens(n) AS TABLE SELECT i FROM range(n) AS t(i) WHERE i % 2 = 0"])
    sql = "SELECT sum(i) AS s, count(*) AS c FROM evens(7) WHERE i > 0"
    assert spark.sql(dialect.translate(sql, macros)).collect()[0] == (12, 3)


def test_parameters_are_bound_as_session_variables_not_pasted(spark):
    runner = spark_engine.SparkRunner(spark)
    hostile = "x'); DROP VIEW calls; --"
    runner.bind({"label": hostile, "n": 3})
    assert spark.sql(dialect.translate("SELECT getvariable('label') AS l, getvariable('n') + 1 AS m")
                     ).collect()[0] == (hostile, 4)


def test_no_spark_translation_is_reported_with_its_reason():
    with pytest.raises(FinopsError, match="literal template"):
        dialect.translate("SELECT format(template_column, 1) FROM t")
    with pytest.raises(FinopsError, match="format spec"):
        dialect.translate("SELECT format('{:>8}', x) FROM t")


def test_builtin_analyzers_translate_cleanly():
    assert spark_engine.spark_problems(catalog.discover().values()) == []


def test_check_engine_spark_names_an_untranslatable_statement_with_file_and_line(tmp_path):
    from click.testing import CliRunner

    from finops.engine.cli import main
    (tmp_path / "padded.sql").write_text(
        "-- name: padded\n-- title: Padded\n-- category: finops\n-- version: 1\n"
        "-- description: A right-aligned label.\n\n-- query: labels\n"
        "SELECT format('{:>5}', 'x') AS z ORDER BY z;\n")
    plain = CliRunner().invoke(main, ["check", "--sql-dir", str(tmp_path)])
    assert plain.exit_code == 0, plain.output
    spark = CliRunner().invoke(main, ["check", "--engine", "spark", "--sql-dir", str(tmp_path)])
    assert spark.exit_code == 1
    assert f"{tmp_path / 'padded.sql'}:8: query labels: no Spark translation" in spark.output
