"""Spark reads and checks a CSV itself, with calls.sql's rules (issue 15).

`run-sql --engine spark` with a path only Spark reads (here a file:// URL,
as s3a:// would be) never opens the file in DuckDB: Spark numbers the
lines and runs the contract translated. The fixture has what the contract
must set aside or keep: CRLF lines, a quoted field with a comma, a quoted
field over two lines, rule rejects, a repeated call_id, an empty line,
invalid UTF-8, a lone CR, a NUL byte, and an optional column, under a
header of quoted names. Spark reads it
in many small splits, so line numbers must be exact across split
boundaries. Uses the suite's one Spark session (tests/conftest.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from finops.engine.cli import main
from finops.engine.results import jsonable
from finops.engine.session import open_session

from test_spark_engine import FIXTURE, same

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")
pytestmark = [pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime"),
              pytest.mark.slow]


def messy_csv(out: Path) -> Path:
    """The golden fixture's first rows with a `status` column, and every kind of bad line."""
    lines = FIXTURE.read_bytes().split(b"\n")
    header, rows = lines[0], [line for line in lines[1:41] if line]
    fields = [row.split(b",") for row in rows]
    body = [b",".join(b'"' + name + b'"' for name in (header + b",status").split(b","))]  # quoted names
    body += [row + b",ok" + (b"\r" if i % 3 == 0 else b"") for i, row in enumerate(rows[:30])]  # CRLF
    body.append(b",".join(fields[30][:18] + [b'"Mozilla/5.0 (X11, Linux), like Gecko"', b"ok"]))
    body.append(rows[31].replace(b"2025-10-", b"2025/10/", 1) + b",ok")      # not a timestamp
    body.append(rows[32] + b",ok,extra")                                     # a field too many
    body.append(rows[3] + b",ok")                                            # a repeated call_id
    body.append(b"")                                                         # an empty line
    body.append(rows[33].replace(b"cust_", b"cust_\xff", 1) + b",ok")       # invalid UTF-8
    body.append(rows[34].replace(b",production,", b",produc\rtion,", 1) + b",ok")  # a lone CR
    body.append(b",".join(fields[35][:18] + [b'"multi']))                   # a quoted field ...
    body.append(b'line agent",ok')                                           # ... over two lines
    body.append(rows[36].replace(b",starter,", b",gold,").replace(b",pro,", b",gold,")
                .replace(b",enterprise,", b",gold,") + b",ok")               # unknown tier
    body.append(rows[37] + b",error")
    body.append(rows[38].replace(b",", b",\x00", 1) + b",ok")                # a NUL byte
    body.append(rows[39] + b",maybe")                                        # not a status
    out.write_bytes(b"\n".join(body) + b"\n")
    return out


def test_spark_reads_the_csv_with_the_same_rules_as_duckdb(spark, tmp_path):
    csv_path = messy_csv(tmp_path / "messy.csv")
    runner = CliRunner()
    args = ["run-sql", "performance", "--format", "json", "-q"]
    duck = runner.invoke(main, [*args, "--csv", str(csv_path), "--no-cache"])
    assert duck.exit_code == 0, duck.output
    before = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "2048")  # many splits
    try:
        on_spark = runner.invoke(main, [*args, "--csv", csv_path.as_uri(), "--engine", "spark"])
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", before)
    assert on_spark.exit_code == 0, on_spark.output
    expected, got = json.loads(duck.output), json.loads(on_spark.output)
    assert got["source"].pop("csv_path") == csv_path.as_uri()
    expected["source"].pop("csv_path")
    assert got["source"] == expected["source"]
    assert expected["source"]["rows_rejected"] == 8 and expected["source"]["duplicate_call_ids"] == 1
    assert expected["source"]["continuation_lines"] == 1
    assert got["params"] == expected["params"]
    assert same(got["queries"], expected["queries"])

    # The rows themselves: each call once, every reject with its reason and line.
    con = open_session(csv_path, cache=False).con
    for relation, key in [("calls", "call_id"), ("calls_rejected", "line, kind, reason, content")]:
        sql = f"SELECT * FROM {relation} ORDER BY {key}"
        want = [[jsonable(v) for v in row] for row in con.execute(sql).fetchall()]
        have = [[jsonable(v) for v in row] for row in spark.sql(sql).collect()]
        assert len(have) == len(want) and same(have, want), relation
    lines = {r[0]: r[2] for r in con.execute("SELECT line, kind, reason FROM calls_rejected").fetchall()}
    con.close()
    assert lines[36] == "empty line" and lines[35].startswith("call_id seen earlier in the file (line 5)")


def test_spark_read_refuses_a_bad_header_in_one_line(spark, tmp_path):
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("when,call_id\n2025-10-01T00:00:00,c1\n")
    duck = CliRunner().invoke(main, ["run-sql", "performance", "--csv", str(csv_path), "-q"])
    result = CliRunner().invoke(main, ["run-sql", "performance", "--csv", csv_path.as_uri(),
                                       "--engine", "spark", "-q"])
    assert result.exit_code == duck.exit_code != 0
    assert "CSV header is not the finops contract" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_build_on_spark_refuses_a_path_only_spark_reads(tmp_path):
    result = CliRunner().invoke(main, ["build", "--csv", "s3a://bucket/calls.csv", "--out",
                                       str(tmp_path / "o"), "--engine", "spark"])
    assert result.exit_code == 2
    assert "finops run-sql all --engine spark" in result.output


def test_spark_read_needs_the_spark_engine(tmp_path):
    result = CliRunner().invoke(main, ["run-sql", "performance", "--spark-read"])
    assert result.exit_code != 0 and "--spark-read needs --engine spark" in result.output


def test_a_bad_subscriptions_line_stops_spark_with_its_file_and_line(spark, tmp_path):
    """The subscriptions file reaches Spark as rows; finance.sql's check of it runs on Spark."""
    import duckdb

    from finops.engine import spark as spark_engine
    from finops.engine.errors import FinopsError
    bad = tmp_path / "subscriptions.csv"
    bad.write_text("customer_id,organization_id,subscription_tier,start_date,end_date,monthly_price,"
                   "discount_pct\ncust_0001,org_001,pro,2025-10-01,,,\ncust_0002,org_001,gold,2025-10-01,,,\n")
    runner = spark_engine.SparkRunner(spark)
    runner.make_reference_tables()
    driver = duckdb.connect()
    driver.execute("SET VARIABLE subscriptions_path = ?", [str(bad)])
    reading = [(path, sql) for path, sql in runner.shared.finance
               if "subscriptions_raw" in sql and "TABLE subscriptions AS" not in sql]
    assert len(reading) == 2  # the read (on the driver, handed over as rows) and the check
    with pytest.raises(FinopsError) as failure:
        for path, sql in reading:
            runner.run_statement(sql, path, driver=driver, inputs={"subscriptions": bad})
    assert str(failure.value) == f"{bad}: subscriptions file line 3: unknown subscription_tier: gold"
    assert spark.table("subscriptions_raw").count() == 2
    driver.close()
