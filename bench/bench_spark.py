"""DuckDB vs Spark local[2]: seconds per analyzer on the same calls, and Spark's throughput.

Each size: the seed-7 simulated CSV in bench/out/ (shared with the other
benchmarks) is read once into its store by DuckDB (sql/calls.sql's `read`
stage); Spark applies the contract's `views` stage to the store's Parquet
segments (engine/spark.py calls_on_spark) and computes the finance and
price tables itself; then every analyzer runs on each engine in this one
process, timed by wall clock. Spark's start-up is printed apart: it is a fixed cost
that a long-lived cluster pays once. Spark loses on one machine; the figure
shows its fixed cost per statement, and the scan rate (rows per second per
core) is the number the 1 TB estimate in BENCHMARKS.md is made from.
With --read, only the CSV's `read` stage is timed instead: DuckDB reading
the file directly (no store) against Spark reading and checking it itself
(engine/spark.py read_csv_on_spark, then the `views` stage), and the two
`source` blocks compared.
Usage: python bench/bench_spark.py [--read] [MB ...]   (default: 50 500)
"""

from __future__ import annotations

import os
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
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
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
            runner = spark_engine.SparkRunner(spark)
            spark_engine.attach(runner, duck, analyzers.values(), Path(tmp))
            publish = time.perf_counter() - t0
            # The scan the 1 TB estimate scales: the store's segments, read
            # and aggregated by Spark (not the cached `calls`).
            segments = duck.store.files("calls")
            frame = spark.read.parquet(*segments)
            parts = frame.rdd.getNumPartitions()
            frame.createOrReplaceTempView("bench_segments")
            scans = []
            for _ in range(3):  # the first pays the JIT and the file listing
                t0 = time.perf_counter()
                spark.sql("SELECT provider, model, call_date, count(*), sum(cost_usd), "
                          "sum(input_tokens + output_tokens) FROM bench_segments GROUP BY ALL").collect()
                scans.append(time.perf_counter() - t0)
            scan = min(scans)
            print(f"\n{mb:g} MB, {rows:,} calls: DuckDB read into the store {load:.2f} s; "
                  f"Spark contract + shared tables {publish:.2f} s; Spark group-by scan of "
                  f"{len(segments)} segment(s), {parts} partition(s): first {scans[0]:.2f} s, best {scan:.2f} s "
                  f"({rows / scan / 2:,.0f} rows/s per core, {rows / parts:,.0f} rows per partition)")
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
            print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        duck.close()
    spark.stop()
    return 0


def read_figures(sizes: list[float]) -> int:
    """DuckDB's read of the CSV (no store) against Spark's own read and check of it."""
    print(machine())
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    spark = spark_engine.spark_session("local[2]")
    for mb in sizes:
        csv_path = simulate(mb)
        t0 = time.perf_counter()
        duck = open_session(csv_path, cache=False)
        load = time.perf_counter() - t0
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        runner = spark_engine.SparkRunner(spark)
        spark_engine.read_csv_on_spark(runner, str(csv_path))
        spark_engine._views_stage(runner)
        rows, rejected, duplicates = spark.sql(
            "SELECT rows, rows_rejected, duplicate_call_ids FROM data_quality").collect()[0]
        read = time.perf_counter() - t0
        same = (rows, rejected, duplicates) == (duck.source.rows, duck.source.rows_rejected,
                                                duck.source.duplicate_call_ids)
        print(f"\n{mb:g} MB, {rows:,} calls ({rejected} rejected, {duplicates} repeated): "
              f"DuckDB read {load:.2f} s; Spark read and check {read:.2f} s "
              f"(driver CPU {time.process_time() - cpu0:.2f} s); counts equal: {same}")
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        duck.close()
    spark.stop()
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--read"]:
        sys.exit(read_figures([float(a) for a in args[1:]] or [50.0, 500.0]))
    sys.exit(main([float(a) for a in args] or [50.0, 500.0]))
