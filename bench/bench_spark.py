"""DuckDB vs Spark local[2]: seconds per analyzer on the same calls, and Spark's throughput.

Each size: the seed-7 simulated CSV in bench/out/ (shared with the other
benchmarks) is loaded once by DuckDB (sql/calls.sql) and published to Spark
as Parquet; then every analyzer runs on each engine in this one process,
timed by wall clock. Spark's start-up is printed apart: it is a fixed cost
that a long-lived cluster pays once. Spark loses on one machine; the figure
shows its fixed cost per statement, and the scan rate (rows per second per
core) is the number the 1 TB estimate in BENCHMARKS.md is made from.
Usage: python bench/bench_spark.py [MB ...]   (default: 50 500)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import machine, simulate

from finops.engine import catalog
from finops.engine import spark as spark_engine
from finops.engine.analyze import run_analyzer
from finops.engine.session import open_session


def main(sizes: list[float]) -> int:
    print(machine())
    t0 = time.perf_counter()
    spark = spark_engine.spark_session("local[2]")
    print(f"Spark local[2] start-up: {time.perf_counter() - t0:.1f} s")
    analyzers = catalog.discover()
    for mb in sizes:
        csv_path = simulate(mb)
        t0 = time.perf_counter()
        duck = open_session(csv_path)
        load = time.perf_counter() - t0
        rows = duck.source.rows
        with tempfile.TemporaryDirectory(prefix="finops-bench-spark-") as tmp:
            t0 = time.perf_counter()
            spark_engine.publish_calls(spark, duck.con, Path(tmp))
            runner = spark_engine.SparkRunner(spark)
            runner.prepare()
            publish = time.perf_counter() - t0
            t0 = time.perf_counter()
            spark.sql("SELECT provider, model, count(*), sum(cost_usd) FROM calls "
                      "GROUP BY ALL").collect()
            scan = time.perf_counter() - t0
            print(f"\n{mb:g} MB, {rows:,} calls: DuckDB load {load:.2f} s; publish to Spark "
                  f"{publish:.2f} s; Spark group-by scan {scan:.2f} s "
                  f"({rows / scan / 2:,.0f} rows/s per core)")
            print(f"{'analyzer':<16}{'DuckDB s':>10}{'Spark s':>10}{'ratio':>8}")
            total_d = total_s = 0.0
            for name, analyzer in analyzers.items():
                t0 = time.perf_counter()
                run_analyzer(duck.con, analyzer)
                d = time.perf_counter() - t0
                t0 = time.perf_counter()
                runner.run_analyzer(analyzer)
                s = time.perf_counter() - t0
                total_d += d
                total_s += s
                print(f"{name:<16}{d:>10.2f}{s:>10.2f}{s / d:>8.1f}")
            print(f"{'all':<16}{total_d:>10.2f}{total_s:>10.2f}{total_s / total_d:>8.1f}")
        duck.close()
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main([float(a) for a in sys.argv[1:]] or [50.0, 500.0]))
