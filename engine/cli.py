"""The `finops` command: thin click wrappers over engine and simulator functions.

Each command parses its options and calls one function. User errors arrive as
FinopsError and leave as one line on stderr with a non-zero exit code.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

import click

from . import __version__, logs
from .errors import FinopsError

CSV_OPTION_HELP = ("Calls file (env FINOPS_CSV): a CSV, a Parquet file, a folder of them "
                   "or a quoted glob such as 'data/daily/*.csv'.")
log = logging.getLogger("finops.cli")
DEFAULT_CSV = "data/simulated_calls.csv"


def user_errors(fn):
    """Turn FinopsError (and Ctrl-C) into a one-line message, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            _interrupted()
        except FinopsError as exc:
            if _is_interrupt(exc):
                _interrupted()
            for line in str(exc).splitlines() or [""]:
                click.echo(f"error: {line}", err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:
            if _is_interrupt(exc):
                _interrupted()
            raise

    return wrapper


def _is_interrupt(exc: BaseException | None) -> bool:
    """Whether exc is, or was raised while handling, a Ctrl-C that DuckDB took.

    A Ctrl-C that lands inside a query ends the query, and DuckDB raises its
    own error for it (an InterruptException, or for a script a RuntimeError
    "Query interrupted"), which finops may have wrapped in a FinopsError."""
    import duckdb

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (KeyboardInterrupt, duckdb.InterruptException)) or (
                isinstance(exc, RuntimeError) and str(exc) == "Query interrupted"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _interrupted():
    click.echo("interrupted", err=True)
    sys.exit(130)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="finops")
def main() -> None:
    """finops: SQL-first analytics for AI API spend.

    \b
    Quick start:
      finops simulate --target-mb 50     # write data/simulated_calls.csv
      finops run-sql understanding       # run one analyzer
      finops build                       # write HTML reports to reports/
      finops serve --simulate            # the live demo on 127.0.0.1:8000
    """


# --- simulate -------------------------------------------------------------
# (owned by the simulator work; see simulator/)

@main.command("simulate")
@click.option("--out", "out", default=DEFAULT_CSV, show_default=True, type=click.Path(dir_okay=False),
              help="CSV file to write.")
@click.option("--rows", type=int, help="Rows to write (or, with --continuous, rows the file should hold).")
@click.option("--target-mb", type=float,
              help="MB to write; the default when no --rows/--days is given: 50 "
                   "(with --continuous: the file's target size).")
@click.option("--days", type=int, help="Days to simulate (default 45; with a size target: as many as it takes).")
@click.option("--customers", type=int, help="Population size (default 200).")
@click.option("--start", help="First day, YYYY-MM-DD (default 2025-10-01).")
@click.option("--seed", type=int, help="Random seed; same seed and options, same bytes (default 42).")
@click.option("--scenarios", help="Comma list of scenarios (default: all), e.g. base,burst,model_migration.")
@click.option("--param", "params", multiple=True, metavar="SCENARIO.NAME=VALUE",
              help="Override a scenario parameter (ranges as LO:HI), e.g. burst.multiplier=5:10.")
@click.option("--append", is_flag=True, help="Continue an existing file: same business, later times.")
@click.option("--force", is_flag=True,
              help="Overwrite --out even if it is not a file finops simulate wrote.")
@click.option("--continuous", is_flag=True, help="Grow the file day by day in small batches until the target.")
@click.option("--rate", type=float, default=None,
              help="With --continuous: rows per second (default 2000; 0 = as fast as possible).")
@click.option("--columns", "columns", type=click.Choice(["1.0", "1.1"]), default="1.0",
              show_default=True,
              help="Contract version: 1.1 adds cache, reasoning, status, error_type and "
                   "cost_source columns (a new file only).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@user_errors
def simulate_command(out, rows, target_mb, days, customers, start, seed, scenarios, params,
                     append, force, continuous, rate, columns, quiet):
    """Write simulated AI API calls in the data contract's CSV format.

    \b
    Examples:
      finops simulate                               # 50 MB to data/simulated_calls.csv
      finops simulate --seed 7 --rows 10000 --out /tmp/calls.csv
      finops simulate --scenarios base,burst --days 30 --customers 100
      finops simulate --continuous --rate 5000      # the live demo's growing file
      finops simulate --append --days 7             # a week more of the same business
      finops simulate --out calls.csv --force       # replace a file simulate did not write
      finops simulate --columns 1.1 --rows 5000     # with prompt caching and failed calls

    An existing --out is replaced only if finops simulate wrote it (it has the
    contract's header and the simulator's CSV.plan.json beside it).
    """
    from finops import simulator

    if rate is not None and not continuous:
        raise FinopsError("--rate only applies with --continuous; add --continuous or drop --rate")
    if continuous and append:
        raise FinopsError("--continuous always continues an existing file; drop --append")
    if columns == "1.1" and (append or continuous):
        raise FinopsError("--columns 1.1 writes a new file; drop --append/--continuous")
    if force and (append or continuous):
        raise FinopsError("--force only applies to a new file; --append and --continuous never "
                          "overwrite, so drop --force")
    options = dict(rows=rows, target_mb=target_mb, days=days, customers=customers, start=start,
                   seed=seed, scenarios=scenarios, params=simulator.parse_params(params) or None,
                   progress=not quiet)
    if continuous:
        result = simulator.run_continuous(out, rate=simulator.DEFAULT_RATE if rate is None else rate,
                                          **options)
    else:
        result = simulator.simulate(out, append=append, force=force, **options)
        if columns == "1.1":
            from finops.simulator import columns11
            columns11.extend_file(Path(out))
    if not quiet:
        verb = "appended" if result.appended else "wrote"
        click.echo(f"{verb} {result.rows:,} rows ({result.bytes / 1e6:.1f} MB) to {out} in "
                   f"{result.seconds:.1f} s: {result.first_timestamp} .. {result.last_timestamp}",
                   err=True)



# --- analyzers and SQL ----------------------------------------------------

def csv_option(fn):
    return click.option("--csv", "csv_path", envvar="FINOPS_CSV", default=DEFAULT_CSV,
                        show_default=True, metavar="PATH", help=CSV_OPTION_HELP)(fn)


def no_cache_option(fn):
    return click.option("--no-cache", is_flag=True,
                        help="Read the CSV directly, not through the store beside it "
                             "(<file>.finops-store/, which parses only new bytes).")(fn)


def _echo_notes(source) -> None:
    """What the store did (a file re-read from scratch, and why), and a last line
    not read yet: a warning each."""
    for note in getattr(source, "notes", None) or []:
        log.warning("%s", note)
    tail = getattr(source, "partial_tail_bytes", 0) or 0
    if tail:
        log.warning("the last line of %s has no line end yet (%s bytes): not read until a "
                    "line end follows (a writer may still be appending it)",
                    source.csv_path, f"{tail:,}")


def sql_dir_option(fn):
    return click.option("--sql-dir", "sql_dirs", multiple=True,
                        type=click.Path(file_okay=False),
                        help="Extra folder of analyzer .sql files (repeatable).")(fn)


def subscriptions_option(fn):
    fn = click.option("--budgets", "budgets", envvar="FINOPS_BUDGETS", default=None,
                      type=click.Path(dir_okay=False),
                      help="CSV of monthly budgets (month YYYY-MM, scope organization|product|"
                           "feature|customer, scope_id, budget_usd): budget against actual, "
                           "month to date and forecast to month end.")(fn)
    return click.option("--subscriptions", "subscriptions", envvar="FINOPS_SUBSCRIPTIONS", default=None,
                        type=click.Path(dir_okay=False),
                        help="CSV of subscriptions (customer_id, organization_id, subscription_tier, "
                             "start_date, end_date, monthly_price, discount_pct) that bills the customers "
                             "it lists instead of the tiers in the calls.")(fn)


def memory_option(fn):
    return click.option("--memory-limit", envvar="FINOPS_MEMORY_LIMIT", default=None,
                        help="DuckDB memory cap, e.g. 1GB (env FINOPS_MEMORY_LIMIT; default 2GB).")(fn)


def engine_option(fn):
    return click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb",
                        show_default=True,
                        help="Where the analyzers run. spark needs `pip install 'finops[spark]'` "
                             "and Java 17+.")(fn)


def spark_master_option(fn):
    return click.option("--spark-master", metavar="URL", envvar="FINOPS_SPARK_MASTER",
                        help="With --engine spark: a master URL (local[4], spark://host:7077, yarn) "
                             "or a Spark Connect URL (sc://host:15002). Default local[2]. Env "
                             "FINOPS_SPARK_MASTER.")(fn)


def _parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise FinopsError(f"--param {pair!r} must be KEY=VALUE, e.g. --param min_calls=50")
        params[key.strip()] = value.strip()
    return params


def _print_results(fmt: str, source, results, query: str | None, quiet: bool = False,
                   verbose: bool = False, safe_csv: bool = False) -> None:
    """Results on stdout; the summary of what was read is logged to stderr (JSON stays pure)."""
    from .console import dumps, source_summary, text_table


    for result in results:
        log.debug("%s v%s: %d queries in %.3fs (%s)", result.analyzer.name,
                  result.analyzer.version, len(result.queries), result.seconds,
                  result.analyzer.path)
    for sample in source.reject_samples:
        where = f"line {sample['line']}: " if sample.get("line") else ""
        log.debug("rejected: %s%s: %s", where, sample["kind"], sample["reason"])
    if fmt == "table" or verbose:
        log.info("%s", source_summary(source))
    if fmt == "json":
        docs = [r.to_json(source.to_dict()) for r in results]
        click.echo(dumps(docs[0] if len(docs) == 1 else docs))
        return
    for result in results:
        for name, qr in result.queries.items():
            if fmt == "csv":
                if not query:
                    click.echo(f"# {result.analyzer.name}.{name}")
                click.echo(_csv(qr, safe_csv), nl=not query)
            else:
                click.echo(click.style(f"== {result.analyzer.name}.{name}: {qr.title} ==",
                                       bold=True))
                click.echo(text_table(qr, max_rows=50, formats=qr.formats))
                click.echo()


def _csv(result, safe: bool) -> str:
    """Exact CSV for machines, or (--safe-csv) with formula cells neutralized for a spreadsheet."""
    from .console import csv_text
    from .downloads import csv_text as safe_csv_text

    return safe_csv_text(result, safe=True) if safe else csv_text(result)


SAFE_CSV_HELP = ("With --format csv: neutralize text cells a spreadsheet would run as a formula "
                 "(starting with = + - @, tab or CR) with a leading ' and quote every field. "
                 "Without it the CSV is exact, for machines.")


@main.command("run-sql")
@click.argument("name")
@csv_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True,
              help="Output format; csv is exact for machines (see --safe-csv for spreadsheets).")
@click.option("--safe-csv", is_flag=True, help=SAFE_CSV_HELP)
@click.option("--query", default=None, help="Print only this query of the analyzer.")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="Override an analyzer parameter (repeatable).")
@click.option("--show-sql", is_flag=True, help="Print the SQL that runs, then the results.")
@click.option("--quiet", "-q", is_flag=True, help="No summary of the source on stderr.")
@click.option("--verbose", "-v", is_flag=True,
              help="On stderr: each analyzer's time and file, the source, the first rejected rows.")
@sql_dir_option
@memory_option
@subscriptions_option
@no_cache_option
@engine_option
@spark_master_option
@click.option("--spark-read", is_flag=True,
              help="With --engine spark: Spark parses and checks the CSV itself, not DuckDB "
                   "into the store (always so with --no-cache or a path such as s3a://...).")
@user_errors
def run_sql_command(name, csv_path, fmt, safe_csv, query, params, show_sql, quiet, verbose,
                    sql_dirs, memory_limit, subscriptions, budgets, no_cache, engine, spark_master,
                    spark_read):
    """Run analyzer NAME (or `all`) on the CSV and print its queries.

    \b
    Examples:
      finops run-sql understanding
      finops run-sql all --format json > results.json
      finops run-sql performance --query latency_by_model --param min_calls=50
      finops run-sql profitability --query customers --format csv > customers.csv
      finops run-sql profitability --subscriptions subscriptions.csv
      finops run-sql all --csv 'data/daily/*.parquet' --format json
      finops run-sql all --no-cache --format json    # bypass the store
      finops run-sql profitability --query customers --format csv --safe-csv > for_excel.csv
      finops run-sql all --engine spark --spark-master 'local[4]' --format json
      finops run-sql all --engine spark --csv s3a://bucket/calls.csv --format json

    Every analyzer passes `finops check` first: problems in the one you run
    stop it (exit 1); a broken file you did not select is skipped with a warning.
    """
    from . import analyze

    logs.configure(quiet=quiet, verbose=verbose)
    if safe_csv and fmt != "csv":
        raise FinopsError("--safe-csv only applies with --format csv")
    parsed = _parse_params(params)
    if show_sql:
        for analyzer in analyze.checked_selection(name, sql_dirs):
            for q in analyzer.queries:
                if query and q.name != query and not q.hidden:
                    continue
                click.echo(f"-- {analyzer.path}:{q.line}  {analyzer.name}.{q.name}", err=True)
                click.echo(q.sql + ";\n", err=True)
    if spark_read and engine != "spark":
        raise FinopsError("--spark-read needs --engine spark")
    if engine == "spark":
        from .spark import run_sql_on_spark
        source, results = run_sql_on_spark(name, csv_path, sql_dirs=sql_dirs, params=parsed,
                                           query=query, memory_limit=memory_limit,
                                           subscriptions=subscriptions, budgets=budgets,
                                           cache=not no_cache, master=spark_master,
                                           spark_read=spark_read)
    else:
        source, results = analyze.run_sql(name, csv_path, sql_dirs=sql_dirs, params=parsed,
                                          query=query, memory_limit=memory_limit,
                                          subscriptions=subscriptions, budgets=budgets,
                                          cache=not no_cache)
    _echo_notes(source)
    _print_results(fmt, source, results, query, quiet=quiet, verbose=verbose, safe_csv=safe_csv)


@main.command("check")
@sql_dir_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: one `file:line: message — fix` per problem.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the problems.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="spark: also report each statement with no faithful Spark translation.")
@user_errors
def check_command(sql_dirs, fmt, quiet, engine):
    """Check every analyzer file without reading any data.

    Parses each header strictly, runs sql/calls.sql over a header-only CSV,
    each analyzer's setup queries, and DESCRIBE of each reported query; then
    compares the columns with the hints, the standard query shapes and the
    declared parameters. Exit code 1 when there are problems. build, serve
    and run-sql run the same check first.

    \b
    Examples:
      finops check
      finops check --sql-dir my_analyzers/ --format json
      finops check --engine spark
    """
    from . import check
    from .console import dumps

    logs.configure(quiet=quiet)
    result = check.check_analyzers(sql_dirs, use_cache=False)
    if engine == "spark":
        from .spark import spark_problems
        result.problems.extend(spark_problems(result.analyzers.values()))
    if fmt == "json":
        click.echo(dumps({"ok": result.ok, "files": [str(p) for p in result.files],
                          "problems": [p.to_dict() for p in result.problems]}))
    else:
        for problem in result.problems:
            click.echo(str(problem))
        files = len(result.broken())
        log.info("checked %d analyzer files in %.2fs: %s", len(result.files), result.seconds,
                 "ok" if result.ok else f"{len(result.problems)} problem"
                 f"{'s' if len(result.problems) != 1 else ''} in {files} file"
                 f"{'s' if files != 1 else ''}")
    sys.exit(0 if result.ok else 1)


@main.command("sql")
@click.argument("statement", required=False)
@csv_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True,
              help="Output format; csv is exact for machines (see --safe-csv for spreadsheets).")
@click.option("--safe-csv", is_flag=True, help=SAFE_CSV_HELP)
@click.option("--name", "-n", "query_name", default=None,
              help="Run a named query from sql/queries/ instead of STATEMENT (see --list).")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter of the named query (repeatable); bound, never pasted.")
@click.option("--list", "list_names", is_flag=True, help="List the named queries and their parameters.")
@memory_option
@no_cache_option
@user_errors
def sql_command(statement, csv_path, fmt, safe_csv, query_name, params, list_names, memory_limit,
                no_cache):
    """Run an ad-hoc SQL STATEMENT, or a named query, against the calls views.

    The views of `finops shell` are there: calls, calls_rejected,
    data_quality, period, customer_economics, model_prices, subscription_tiers.
    Named queries (sql/queries/*.sql) answer the first questions: cost of one
    customer this month, cost of one trace, top sessions, unpriced models,
    unattributed spend.

    \b
    Examples:
      finops sql "SELECT provider, sum(cost_usd) AS cost FROM calls GROUP BY ALL ORDER BY cost DESC"
      finops sql "SELECT * FROM calls_rejected" --format csv
      finops sql --list
      finops sql --name customer_month --param customer_id=cust_0042
      finops sql --name trace_cost --param trace_id=4bf92f3577b34da6a3ce929d0e0e4736
    """
    from . import analyze
    from .console import dumps, text_table

    if list_names:
        from .query_patterns import named_queries

        for q in named_queries().values():
            click.echo(f"{q.name:<16} {q.title}")
            for p in q.params.values():
                default = "required" if p.default is None else f"default {p.default!r}"
                click.echo(f"{'':<16}   --param {p.name}=...  {p.help} ({default})")
        return
    if query_name:
        if statement:
            raise FinopsError("give a STATEMENT or --name, not both")
        from .query_patterns import run_named_query

        source, result = run_named_query(query_name, csv_path, _parse_params(params),
                                         memory_limit=memory_limit, cache=not no_cache)
    else:
        if params:
            raise FinopsError("--param goes with --name (a named query); "
                              "an ad-hoc STATEMENT takes none")
        source, result = analyze.adhoc_query(statement or "", csv_path, memory_limit=memory_limit,
                                             cache=not no_cache)
    _echo_notes(source)
    if fmt == "json":
        click.echo(dumps({"source": source.to_dict(), "rows": result.records()}))
    elif fmt == "csv":
        click.echo(_csv(result, safe_csv), nl=False)
    else:
        click.echo(text_table(result, max_rows=200))


@main.command("prices")
@click.argument("model", required=False)
@click.option("--provider", help="Provider key (openai, anthropic, bedrock, azure, ...).")
@click.option("--date", "on_date", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Price on this day (default: today, UTC).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="Output format.")
@user_errors
def prices_command(model, provider, on_date, fmt):
    """What MODEL costs at list price on a date, and where the number comes from.

    Prices are USD per million tokens from the genai-prices library (the
    version is in the `source` column, the provider's pricing page in
    `pricing_url`), shipped with finops: no network. Without MODEL, every
    priced model. A model name is matched as the library matches it
    (`claude-sonnet-4-20250514` is claude-sonnet-4-0).

    \b
    Examples:
      finops prices gpt-4o
      finops prices claude-3-5-sonnet --date 2024-11-01
      finops prices --provider anthropic --format csv
    """
    from . import prices
    from .console import csv_text, dumps, text_table

    result = prices.lookup(model, provider, on_date.date() if on_date else None)
    if model and not result.rows:
        raise FinopsError(f"no list price for {model!r}"
                          + (f" at provider {provider!r}" if provider else "")
                          + " in genai-prices on that date; `finops prices` lists every priced model",
                          exit_code=1)
    if fmt == "json":
        click.echo(dumps(result.records()))
    elif fmt == "csv":
        click.echo(csv_text(result), nl=False)
    else:
        click.echo(text_table(result, max_rows=500))


@main.command("analyzers")
@sql_dir_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@user_errors
def analyzers_command(sql_dirs, fmt):
    """List the analyzers: name, title, category, version and queries.

    A file that does not parse is named on stderr and the exit code is 1;
    the others are still listed.

    \b
    Example:
      finops analyzers --sql-dir my_analyzers/
    """
    from . import catalog

    logs.configure()
    found, broken = catalog.parse_all(catalog.check_sql_dirs(sql_dirs))
    for path, exc in broken:
        log.warning("skipped %s: %s", path.stem, exc)
    _list_analyzers(found, fmt)
    if broken:
        sys.exit(1)


def _list_analyzers(found, fmt: str) -> None:
    from .console import dumps

    if fmt == "json":
        click.echo(dumps([{"name": a.name, "title": a.title, "category": a.category,
                           "version": a.version, "description": a.description,
                           "file": str(a.path),
                           "params": {p.name: str(p.default) for p in a.params.values()},
                           "queries": [q.name for q in a.visible_queries]}
                          for a in found.values()]))
        return
    for a in found.values():
        click.echo(f"{a.name:<14} v{a.version:<3} {a.category:<7} {a.title}")
        click.echo(f"{'':<14} queries: {', '.join(q.name for q in a.visible_queries)}")
        if a.params:
            click.echo(f"{'':<14} params: " + ", ".join(
                f"{p.name}={p.default}" + (f" ({p.range_text()[2:]})" if p.range_text() else "")
                for p in a.params.values()))


@main.command("shell")
@csv_option
@no_cache_option
@user_errors
def shell_command(csv_path, no_cache):
    """Open the DuckDB shell with the calls views, reference tables and macros loaded.

    \b
    Example:
      finops shell
      D SELECT customer_id, revenue - cost AS margin FROM customer_economics ORDER BY margin LIMIT 5;
    """
    import subprocess

    from . import shell

    with shell.shell_session(csv_path, cache=not no_cache) as (argv, env):
        code = subprocess.call(argv, env=env)
    sys.exit(code)


# --- import ---------------------------------------------------------------
# (issue 10: logs people already have; the work is in engine/importers.py)

@main.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(["otel", "litellm", "langfuse"]))
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@csv_option
@click.option("--customers", type=click.Path(dir_okay=False),
              help="CSV of customer_id with organization_id, subscription_tier (and any "
                   "attribution column) for records that name only the customer.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Default for a column the source lacks (repeatable), e.g. "
                   "--set environment=production.")
@memory_option
@click.option("--quiet", "-q", is_flag=True, help="Warnings and errors only (the summary line stays).")
@user_errors
def import_command(fmt, files, csv_path, customers, settings, memory_limit, quiet):
    """Append the model calls in FILES (of FORMAT) to the calls CSV.

    FORMAT is otel (OTLP JSON lines from the Collector's file exporter),
    litellm (LiteLLM spend logs, CSV or JSON) or langfuse (Langfuse
    observations, JSON). All or nothing; importing a file twice adds nothing
    (call_ids already in the CSV are skipped). Ends with one summary line.
    Field mappings: docs/importers.md.

    \b
    Examples:
      finops import otel traces.jsonl --csv data/calls.csv
      finops import litellm spend_logs.csv --customers customers.csv --set product_id=chatbot
      finops import langfuse observations.json --set organization_id=org_1 --set subscription_tier=pro
    """
    from .importers import import_calls, parse_settings

    logs.configure(quiet=quiet)  # progress on stderr; the summary line is the output
    summary = import_calls(fmt, files, csv_path, customers=customers,
                           settings=parse_settings(settings), memory_limit=memory_limit,
                           progress=lambda line: log.info("%s", line))
    click.echo(summary.line())
    if summary.imported == 0 and summary.already_present == 0 and summary.rejected:
        sys.exit(1)


# --- serve ----------------------------------------------------------------

@main.command("serve")
@csv_option
@click.option("--out", "out_dir", default="reports", show_default=True,
              type=click.Path(file_okay=False), help="Folder the reports are written to and served from.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any other than loopback needs --allow-host.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="A host name (or address) clients use to reach the server; repeatable. "
                   "Required with a non-loopback --host.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--simulate", is_flag=True,
              help="Also grow the CSV with the simulator in continuous mode (the live demo).")
@click.option("--target-mb", default=None, type=float,
              help="CSV size the progress bar aims at; --simulate stops there, and CSV growth "
                   "past it no longer rebuilds. Default: 50 with --simulate, none otherwise "
                   "(your own file always rebuilds as it grows).")
@click.option("--poll-seconds", default=15.0, show_default=True, type=float,
              help="How often the open viewer checks for new reports.")
@click.option("--rate", default=None, type=float,
              help="With --simulate: rows per second (default: the simulator's, ~1 min to 50 MB).")
@click.option("--seed", default=None, type=int, help="With --simulate: random seed.")
@sql_dir_option
@memory_option
@subscriptions_option
@click.option("--verbose", "-v", is_flag=True, help="Log every HTTP request.")
@user_errors
def serve_command(csv_path, out_dir, host, allow_hosts, port, simulate, target_mb, poll_seconds,
                  rate, seed, sql_dirs, memory_limit, subscriptions, budgets, verbose):
    """Build the reports, serve them, and rebuild whenever the CSV, SQL or templates change.

    Open the printed URL: the page refreshes its cards by itself. Ctrl-C stops
    the server, the watcher and the simulator.

    \b
    Examples:
      finops serve --simulate              # the live demo: data grows, reports follow
      finops serve --csv my_calls.csv --port 8080
      finops serve --host 0.0.0.0 --allow-host reports.lan   # share on the LAN
    """
    from .live import serve

    # Progress lines on stdout, warnings and failed builds on stderr: by level.
    logs.configure(verbose=verbose, info_to_stderr=False, timestamps=True)
    summary = serve(csv_path, out_dir, host=host, port=port, simulate=simulate,
                    target_mb=target_mb, poll_seconds=poll_seconds, sql_dirs=sql_dirs,
                    memory_limit=memory_limit, rate=rate, seed=seed, verbose=verbose,
                    allow_hosts=allow_hosts, subscriptions=subscriptions, budgets=budgets)
    if summary.unfinished:
        # A thread that did not stop may be inside DuckDB, whose C++ code aborts
        # the process when the interpreter finalizes under it: leave without that.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


# --- build ----------------------------------------------------------------

@main.command("build")
@csv_option
@click.option("--out", "out_dir", default="reports", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the HTML reports and manifest.json.")
@sql_dir_option
@click.option("--target-mb", default=None, type=float,
              help="CSV size the viewer's progress bar aims at (none: no bar).")
@click.option("--from", "date_from", metavar="DATE", default=None,
              help="Only calls on or after this day, YYYY-MM-DD.")
@click.option("--to", "date_to", metavar="DATE", default=None,
              help="Only calls on or before this day, YYYY-MM-DD.")
@click.option("--where", "where", multiple=True, metavar="KEY=VALUE",
              help="Only calls whose KEY is VALUE (repeatable; keys: organization, customer, "
                   "provider, model, environment).")
@click.option("--no-statements", is_flag=True,
              help="Skip the statement pages (one per organization and customer).")
@memory_option
@subscriptions_option
@click.option("--quiet", "-q", is_flag=True, help="Print only warnings and errors.")
@no_cache_option
@engine_option
@spark_master_option
@user_errors
def build_command(csv_path, out_dir, sql_dirs, target_mb, date_from, date_to, where,
                  no_statements, memory_limit, subscriptions, budgets, quiet, no_cache,
                  engine, spark_master):
    """Run every analyzer once on the CSV and write one HTML report each, a
    statement page per organization and customer, manifest.json and the
    viewer's index.html to --out.

    The reports open offline (file://) and from `finops serve` alike. Exit
    code 1 when an analyzer failed or there is no data. Builds into one --out
    take turns: a second one waits until the first has written everything.
    A build that finds nothing new since the last one into --out (the same
    calls, SQL, templates, input files and options, every page still there)
    says "up to date" and leaves the folder as it is.

    \b
    Examples:
      finops build                          # data/simulated_calls.csv -> reports/
      finops build --csv calls.csv --out site --sql-dir my_analyzers/
      finops build --subscriptions subscriptions.csv   # bill from your billing system
      finops build --budgets budgets.csv               # budget vs actual by month
      finops build --from 2025-10-01 --to 2025-10-31 --where organization=org_003 --out oct_org3
      finops build --engine spark --spark-master sc://spark.example:15002

    Every page is narrowed the same way by --from/--to/--where; headline
    figures are compared with the previous period of the same length.
    """
    from .filters import parse_where
    from .site import build_site
    from .store import resolve_inputs

    logs.configure(quiet=quiet, info_to_stderr=False)
    if engine == "spark":
        from .spark import is_local_path
        if not is_local_path(csv_path):
            # The ledger, the statement pages and the explorer's scope read
            # the calls in DuckDB on this machine.
            raise FinopsError(f"build reads a file on this machine, not {csv_path}; for a path "
                              "only Spark reads, use `finops run-sql all --engine spark --csv ...`")
    resolve_inputs(csv_path)  # a missing file is a usage error (exit 2), as in run-sql
    filters = parse_where(where, date_from, date_to)
    # A second build into the same --out waits for the first (one build's
    # output at a time), and says so once.
    result = build_site(csv_path, out_dir, sql_dirs=sql_dirs, target_mb=target_mb,
                        memory_limit=memory_limit, filters=filters,
                        statements=not no_statements,
                        on_wait=lambda line: click.echo(line, err=True),
                        subscriptions=subscriptions, budgets=budgets, cache=not no_cache,
                        engine=engine, spark_master=spark_master)
    _echo_notes(result.source)
    if result.unchanged:
        if not quiet:
            pages = " and the statement pages" if result.manifest.get("statements") else ""
            click.echo(f"up to date: nothing new since the build of "
                       f"{result.manifest.get('generated_at', '?')}; {len(result.reports)} reports"
                       f"{pages} left as they are ({result.seconds:.2f}s) -> "
                       f"{result.out_dir / 'index.html'}")
        return
    if not quiet:
        for r in result.reports:
            rows = f"{r.main_query} {r.main_rows:,} rows" if r.main_query else ""
            where = str(result.out_dir / r.file) if r.file else "-"
            state = "ok " if r.ok else "FAILED"
            click.echo(f"{state} {r.id:<14} v{r.version if r.version is not None else '?':<3} "
                       f"{rows:<34} {r.seconds:6.2f}s  {where}")
    source = result.source
    if source is not None and source.rows_rejected:
        reasons = "; ".join([(f"line {s['line']}: " if s.get("line") else "") + s["reason"]
                             for s in source.reject_samples
                             if s["kind"] != "duplicate call_id"][:3])
        log.warning("rejected %s malformed rows (first: %s)", f"{source.rows_rejected:,}",
                    reasons)
    if source is not None and source.duplicate_call_ids:
        log.warning("%s duplicate call_ids counted once",
                    f"{source.duplicate_call_ids:,}")
    if source is not None and source.unpriced_calls:
        log.info("%s unpriced calls: cost unknown, left out of cost totals",
                    f"{source.unpriced_calls:,}")
    if source is not None and source.unknown_price_models:
        names = ", ".join(f"{m['provider']}/{m['model']}" for m in source.unknown_price_models[:5])
        more = len(source.unknown_price_models) - 5
        log.info("%d models have no list price in genai-prices: %s%s",
                    len(source.unknown_price_models), names,
                    f" and {more} more" if more > 0 else "")
    if not filters.empty:
        rows = result.manifest.get("filtered_rows")
        if not quiet:
            click.echo(f"filtered: {filters.describe()}"
                       + (f" ({rows:,} calls)" if rows is not None else ""))
        if rows == 0:
            log.warning("no calls match the filters; the reports are empty")
    info = result.manifest.get("statements") or {}
    if info.get("pages") and not quiet:
        click.echo(f"statements: {info['pages'].get('org', 0):,} organizations, "
                   f"{info['pages'].get('customer', 0):,} customers in {info['seconds']:.2f}s")
    elif info.get("error"):
        log.warning("statements failed: %s", info["error"])
    for r in result.reports:
        if not r.ok and quiet:
            click.echo(f"FAILED {r.id}: {r.error}", err=True)
    if result.status == "ok":
        if not quiet:
            click.echo(f"built {len(result.reports)} reports from {result.source.rows:,} rows in "
                       f"{result.seconds:.2f}s -> {result.out_dir / 'index.html'}")
        return
    if result.status == "partial":
        failed = [r for r in result.reports if not r.ok]
        message = (f"{len(failed)} of {len(result.reports)} analyzers failed "
                   f"({', '.join(r.id for r in failed)}): {failed[0].error}")
    else:
        message = result.error or result.status
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
