"""Where the analyzers' time goes: every query of every analyzer, timed one by one.

Opens one session on a calls file (through its store, the ledger's tables
read from it when they are current), runs each built-in analyzer's queries
in order in that session twice, and prints the second pass's slowest
queries and the total. A query whose time grows much faster than the
calls between two sizes is the one to look at (at 5 GB five such queries
take 32 of 50 s: BENCHMARKS.md, "The ledger's cache written last").

    python bench/bench_queries.py                 # the seed-7 50 MB file
    python bench/bench_queries.py bench/out/scale_5000mb.csv --top 15
"""

from __future__ import annotations

import argparse
import time

from common import machine, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="?", help="calls file (default: the seed-7 50 MB file)")
    parser.add_argument("--top", type=int, default=10, help="slowest queries to print")
    args = parser.parse_args()
    csv = args.csv or str(simulate(50))

    from finops.engine import analyze, session

    print(machine())
    t0 = time.perf_counter()
    sess = session.open_session(csv)
    print(f"{csv}: session open (store, calls.sql, the ledger) {time.perf_counter() - t0:.2f} s")
    con = sess.con
    timed: list[tuple[float, str]] = []
    try:
        for run in range(2):  # the first pass warms the file cache and DuckDB
            for analyzer in analyze.checked_selection("all"):
                params = analyze.resolve_params(analyzer, None)
                for name, value in params.items():
                    con.execute(f"SET VARIABLE {name} = ?", [value])
                for query in analyzer.queries:
                    start = time.perf_counter()
                    cursor = con.execute(query.sql)
                    if not query.hidden:
                        cursor.fetchall()
                    if run:
                        timed.append((time.perf_counter() - start, f"{analyzer.name} {query.name}"))
                for name in params:
                    con.execute(f"RESET VARIABLE {name}")
    finally:
        sess.close()
    timed.sort(reverse=True)
    for seconds, name in timed[:args.top]:
        print(f"  {seconds:7.3f} s  {name}")
    print(f"all {len(timed)} queries, one after another: {sum(s for s, _ in timed):.2f} s")


if __name__ == "__main__":
    main()
