"""The Spark engine gives the same answers as DuckDB (issue 15).

One Spark session (local[2]) serves the whole module. The cross-engine test
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
def spark():
    session = spark_engine.spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def loaded(spark, tmp_path_factory):
    """The fixture loaded in DuckDB and published to Spark, with calls.sql's shared tables."""
    duck = open_session(FIXTURE, threads=1)
    runner = spark_engine.SparkRunner(spark)
    spark_engine.publish_calls(spark, duck.con, tmp_path_factory.mktemp("spark-calls"),
                               spark_engine.tables_read(catalog.discover().values(), runner.shared))
    runner.prepare()
    yield duck, runner
    duck.close()


# Issue 15 is open: issue 11's rewrite of the analyzers (sql/finance.sql's
# macros per_month and normal_cdf, its table macro report_actions, a LIMIT
# taken from a scalar subquery, epoch_ms on timestamps) reaches past the
# translation rules of engine/dialect.py. Before that rewrite all 8
# analyzers but one query family matched; the regression cases below pass.
@pytest.mark.xfail(reason="issue 15: the finance rewrite (issue 11) uses constructs the Spark "
                          "translation does not cover yet (see docs/spark.md)", strict=False)
@pytest.mark.parametrize("name", sorted(catalog.discover()))
def test_every_analyzer_gives_the_same_json_on_both_engines(loaded, name):
    duck, runner = loaded
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
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_regression_case_matches_duckdb(spark, case):
    sql = CASES[case]
    con = duckdb.connect()
    expected = [[jsonable(v) for v in row] for row in con.execute(sql).fetchall()]
    got = [[jsonable(spark_engine._plain(v)) for v in row]
           for row in spark.sql(dialect.translate(sql)).collect()]
    assert same(got, expected), f"{case}: Spark {got} vs DuckDB {expected}"


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
