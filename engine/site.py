"""`finops build`: run every analyzer once on the CSV and write the site.

One DuckDB session reads the CSV once; each analyzer becomes `<id>.html`
(with a spreadsheet-safe `<id>-<query>.csv` per table and `<id>.json`), run
on the filtered `calls` view (filters.py; build --from/--to/--where), then
one statement page per organization and customer (`org/`, `customer/`,
`organizations.html`, `customers.html`; statements.py), then the viewer's
`index.html`, then `manifest.json`. build_site never raises for data
problems: they become the result's status, the manifest's `error` and
`source_state`, and the last good reports stay listed and in place.

One build's output, whole: a build holds the output folder's lock
(sitelock.py) from reading the previous manifest to its last write, so two
builds never interleave. It renders every file into a hidden staging folder
inside --out, then publishes by os.replace in link order: statement pages,
downloads, then reports, then index.html, then manifest.json last (the live
viewer polls the manifest, so when it sees a new one the index it fetches is
already new), and deletes files no report lists any more (and statement
pages of ids that are gone) only after that. Every file is replaced
atomically (readers see the old or the new file, never half), and the whole
set is published in a few milliseconds. Nothing written names an absolute
local path: the CSV is shown by its file name, errors have their folders
stripped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import catalog, render
from .session import QueryStop, open_session
from .catalog import Analyzer
from .check import check_analyzers
from .paths import CALLS_SQL
from .files import write_atomic
from .sitelock import build_lock
from .errors import FinopsError, MissingCSVError, NoDataError, folder_error
from . import analyze, downloads, explore, statements as stmts
from . import filters as flt
from . import uptodate
from .filters import Filters
from .results import AnalyzerResult, jsonable
from .session import SourceInfo

MANIFEST = "manifest.json"
INDEX = "index.html"
ASSETS = "assets"
# Names an analyzer may not take: its report (<name>.html) or downloads
# would shadow, or be confused with, the site's own files.
RESERVED_NAMES = {"index", "manifest", "assets", "favicon", "404",
                  "org", "customer", "organizations", "customers"}  # statement pages

# What a build could not read, as manifest.json's `source_state`.
SOURCE_STATES = ("ok", "missing", "unreadable", "empty", "truncated", "invalid")


@dataclass
class ReportOutcome:
    """One analyzer's part of a build."""

    id: str
    title: str
    category: str
    file: str | None
    ok: bool
    error: str | None
    seconds: float
    version: int | None = None
    description: str = ""
    headlines: list[dict] = field(default_factory=list)
    main_query: str | None = None
    main_rows: int | None = None
    downloads: list[str] = field(default_factory=list)


@dataclass
class BuildResult:
    out_dir: Path
    status: str  # "ok" | "partial" | "no_data" | "error"
    error: str | None
    reports: list[ReportOutcome]
    manifest: dict
    seconds: float
    source: SourceInfo | None
    unchanged: bool = False  # nothing new to build: the folder was left as it was


# --- files -------------------------------------------------------------------



def copy_assets(out_dir: Path) -> list[str]:
    """Copy Chart.js, CSS and scripts into out_dir/assets/ when they changed."""
    target = out_dir / ASSETS
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name, source in render.asset_sources().items():
        data = source.read_bytes()
        dest = target / name
        try:
            if dest.read_bytes() == data:
                continue
        except OSError:
            pass
        write_atomic(dest, data)
        copied.append(name)
    return copied


def read_manifest(out_dir: Path) -> dict | None:
    try:
        data = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- analyzers ---------------------------------------------------------------

def _discover(sql_dirs) -> tuple[list[Analyzer], list[ReportOutcome]]:
    """Analyzers that pass `finops check`, and a failed outcome for each file that does
    not or whose name would collide with a site file.

    A file with problems fails alone (its last good report stays); calls.sql
    with problems fails the build.
    """
    checked = check_analyzers(list(sql_dirs))
    failed = []
    for path, problems in checked.broken().items():
        if path == CALLS_SQL:
            raise FinopsError("; ".join(str(p) for p in problems), exit_code=1)
        category = path.parent.name if path.parent.name in catalog.CATEGORIES else "finops"
        more = f" (and {len(problems) - 1} more: run `finops check`)" if len(problems) > 1 else ""
        failed.append(ReportOutcome(path.stem, path.stem, category, None, False,
                                    public_text(f"{problems[0]}{more}"), 0.0))
    analyzers = []
    for analyzer in checked.analyzers.values():
        if analyzer.name.lower() in RESERVED_NAMES:
            failed.append(ReportOutcome(
                analyzer.name, analyzer.title, analyzer.category, None, False,
                f"{_shown_path(analyzer.path)}: the analyzer name {analyzer.name!r} is taken by the "
                f"site's own files ({', '.join(sorted(RESERVED_NAMES))}); rename the analyzer",
                0.0, version=analyzer.version, description=analyzer.description))
        else:
            analyzers.append(analyzer)
    return analyzers, failed


def _collisions(outcomes: list[ReportOutcome]) -> dict[str, str]:
    """Report ids whose files another report also writes (e.g. analyzer `a-b` and
    analyzer `a` with query `b`), each with the error to show."""
    owner: dict[str, str] = {}
    clashes: dict[str, str] = {}
    for r in outcomes:
        for name in [r.file, *r.downloads] if r.ok else []:
            if name in owner and owner[name] != r.id:
                clashes[r.id] = (f"its file {name} is also written by analyzer {owner[name]!r}; "
                                 "rename one of them")
            owner.setdefault(name, r.id)
    return clashes


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _analyzer_info(analyzer: Analyzer) -> dict:
    return {"name": analyzer.name, "title": analyzer.title, "category": analyzer.category,
            "version": analyzer.version, "description": analyzer.description,
            "file": _shown_path(analyzer.path)}


def _shown_path(path: Path) -> str:
    """An analyzer file as served pages show it: its folder's name and its own."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


# An absolute path inside a message (after a space, quote, bracket or at the start).
_ABSOLUTE_PATH = re.compile(r"""(?<![\w.~/])/(?:[^\s/:;,'"()\[\]]+/)+([^\s/:;,'"()\[\]]*)""")


def public_text(text):
    """A message fit for served files: absolute paths cut to their last name."""
    if not isinstance(text, str):
        return text
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "/", text)


def _public_source(source: SourceInfo) -> dict:
    data = source.to_dict()
    data["csv_path"] = Path(source.csv_path).name
    data["reject_samples"] = [{**r, "reason": public_text(r.get("reason"))}
                              for r in data.get("reject_samples", [])]
    return data


def _render_report(env, out: Path, result: AnalyzerResult, changes: list[dict],
                   source: SourceInfo, scope: dict, nav: list[dict], generated_at: str,
                   live: bool, choices: dict | None) -> ReportOutcome:
    """Render one report and its downloads into `out` (the staging folder)."""
    analyzer = result.analyzer
    public = _public_source(source)
    csvs, json_file = write_downloads(out, result, public)
    html = explore.render_report(env, result, changes, source=public, scope=scope,
                                 nav=nav, generated_at=generated_at, live=live, choices=choices,
                                 downloads=csvs, json_download=json_file)
    file = f"{analyzer.name}.html"
    write_atomic(out / file, html)
    headlines = render.headline_rows(result.queries.get("headline"))
    sections = [q for q in result.queries.values() if q.name not in render.STANDARD_QUERIES]
    main = sections[0] if sections else None
    return ReportOutcome(
        analyzer.name, analyzer.title, analyzer.category, file, True, None, result.seconds,
        version=analyzer.version, description=analyzer.description,
        headlines=headlines[:3], main_query=main.name if main else None,
        main_rows=len(main.rows) if main else None, downloads=[*csvs.values(), json_file])


def write_downloads(out: Path, result: AnalyzerResult,
                    source: dict) -> tuple[dict[str, str], str]:
    """Every table's rows as a spreadsheet-safe CSV and the whole analyzer as
    JSON: ({query: csv file}, json file)."""
    analyzer = result.analyzer
    csvs = {}
    for name, query in result.queries.items():
        if name in render.STANDARD_QUERIES:
            continue
        csvs[name] = downloads.csv_name(analyzer.name, name)
        write_atomic(out / csvs[name], downloads.csv_text(query, safe=True))
    json_file = downloads.json_name(analyzer.name)
    write_atomic(out / json_file, downloads.analyzer_json(result, source))
    return csvs, json_file


def _previous_downloads(previous: dict | None, report_id: str) -> list[str]:
    for entry in (previous or {}).get("reports", []):
        if isinstance(entry, dict) and entry.get("id") == report_id:
            return sorted(n for n in _files_of(entry) if n.endswith((".csv", ".json")))
    return []


def _failed(analyzer: Analyzer, out: Path, error: str, seconds: float) -> ReportOutcome:
    # The last good report of this analyzer, if any, stays readable.
    file = f"{analyzer.name}.html"
    return ReportOutcome(analyzer.name, analyzer.title, analyzer.category,
                         file if (out / file).exists() else None, False, error, seconds,
                         version=analyzer.version, description=analyzer.description)


def _report_entry(r: ReportOutcome) -> dict:
    return {"id": r.id, "title": r.title, "category": r.category, "description": r.description,
            "version": r.version, "file": r.file, "headlines": r.headlines, "ok": r.ok,
            "error": r.error, "downloads": list(r.downloads)}


def _files_of(entry: dict) -> set[str]:
    """The report and download files a manifest entry lists (plain names only)."""
    names = [entry.get("file"), *(entry.get("downloads") or [])]
    return {n for n in names if isinstance(n, str) and n == Path(n).name
            and not n.startswith(".") and n.endswith((".html", ".csv", ".json"))
            and n not in (INDEX, MANIFEST)}


def _remove_stale(out: Path, previous: dict | None, outcomes: list[ReportOutcome]) -> None:
    """Delete files an earlier build wrote that no report lists any more: the
    report of an analyzer that was removed, a download a table no longer needs.
    An analyzer that failed this time, however it failed, keeps its last good files."""
    if not previous:
        return
    entries = [e for e in previous.get("reports", []) if isinstance(e, dict)]
    before = set().union(*(_files_of(e) for e in entries))
    failed = {r.id for r in outcomes if not r.ok}
    keep = {name for r in outcomes if r.ok for name in [r.file, *r.downloads] if name}
    keep |= set().union(*(_files_of(e) for e in entries if e.get("id") in failed))
    for name in before - keep:
        (out / name).unlink(missing_ok=True)


# --- the build ---------------------------------------------------------------

def build_site(csv_path, out_dir="reports", *, sql_dirs=(), target_mb: float | None = None,
               memory_limit: str | None = None, poll_seconds: int = 15,
               live: bool = False, filters: Filters | None = None,
               statements: bool = True, on_wait=None, hold: tuple[str, str] | None = None,
               lock_timeout: float | None = None, subscriptions=None,
               budgets=None, cache: bool = True, log=None, engine: str = "duckdb",
               spark_master: str | None = None, stop: QueryStop | None = None) -> BuildResult:
    """Run every analyzer on the CSV and write reports, statement pages,
    index.html and manifest.json. filters narrows every page (build --where).

    engine="spark": the analyzers of the report pages run on Spark
    (spark_master, see engine/spark.py), narrowed by filters there too; the
    ledger, the statement pages and the scope (period, previous period's
    headlines) stay on DuckDB. The pages are the same.

    on_wait(message) is called once if another build holds the folder (this
    one waits for it). hold=(source_state, message): do not read the CSV;
    keep the last good reports listed and say why (serve's guard against a
    truncated CSV). cache=False reads the CSV directly, not through the store;
    log(message) receives the store's notes and progress. stop (serve's): once
    stopped, its queries are interrupted and the build raises Stopped at its
    next step, publishing nothing.
    """
    filters = filters or Filters()
    started = time.perf_counter()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise folder_error("cannot write reports to", out, exc) from None
    options = {} if lock_timeout is None else {"timeout": lock_timeout}
    with build_lock(out, on_wait=on_wait, **options):
        _remove_leftovers(out)
        try:
            copy_assets(out)
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
        except OSError as exc:
            raise folder_error("cannot write reports to", out, exc) from None
        try:
            return _build_locked(csv_path, out, staging, started, sql_dirs=sql_dirs,
                                 target_mb=target_mb, memory_limit=memory_limit,
                                 poll_seconds=poll_seconds, live=live, hold=hold,
                                 subscriptions=subscriptions, budgets=budgets,
                                 cache=cache, log=log, filters=filters, statements=statements,
                                 engine=engine, spark_master=spark_master, stop=stop)
        except Exception:
            if stop is not None:
                stop.check()  # a query interrupted by the stop: Stopped, not a failed build
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _remove_leftovers(out: Path) -> None:
    """Staging folders and temp files of a build that was killed: with the lock
    held, no other build is writing them."""
    for path in out.glob(".staging-*"):
        shutil.rmtree(path, ignore_errors=True)
    for folder in (out, out / ASSETS):
        for path in folder.glob(".*.tmp"):
            path.unlink(missing_ok=True)


def _read_failure(exc: BaseException, csv_path, has_reports: bool) -> tuple[str, str, str]:
    """(status, source_state, message) for a CSV that gave no rows."""
    name = Path(csv_path).name
    if isinstance(exc, MissingCSVError):
        return ("error" if has_reports else "no_data"), "missing", str(exc)
    if isinstance(exc, NoDataError):
        return ("error" if has_reports else "no_data"), "empty", str(exc)
    if isinstance(exc, OSError):
        return "error", "unreadable", (f"cannot read {name} ({exc.strerror or exc}); check that "
                                       "the file exists and that finops may read it")
    return "error", "invalid", str(exc)


def _build_locked(csv_path, out: Path, staging: Path, started: float, *, sql_dirs, target_mb,
                  memory_limit, poll_seconds, live, hold, filters: Filters,
                  statements: bool, subscriptions=None, budgets=None, cache: bool = True,
                  log=None, engine: str = "duckdb", spark_master: str | None = None,
                  stop: QueryStop | None = None) -> BuildResult:
    # An interrupted query fails like a broken one: check the stop before
    # taking any failure for the build's result.
    check_stop = stop.check if stop is not None else (lambda: None)
    # Everything the pages follow from but the calls, hashed before it is read
    # (uptodate.py); a build from the store keyed on it may find nothing to do.
    files = key = None
    if hold is None and cache and engine == "duckdb":
        try:
            files = uptodate.files_digest(sql_dirs, (subscriptions, budgets))
        except OSError:
            pass  # a missing input: open_session below says so
    env = render.environment()
    previous = read_manifest(out)
    generated_at = _now_iso()
    has_reports = bool(previous and previous.get("reports"))

    status, error, source, state = "ok", None, None, "ok"
    actions: dict | None = None
    statement_info: dict | None = None
    unchanged_pages: set[str] = set()  # statement pages already up to date in out
    filtered_rows: int | None = None
    outcomes: list[ReportOutcome] = []
    session = None
    runner = spark_dir = None
    if hold is not None:
        state, error = hold
        status = "error"
    else:
        if engine == "spark":  # no Spark, or a statement it cannot take: a one-line error
            from . import spark as spark_engine
            runner = spark_engine.SparkRunner(spark_engine.spark_session(spark_master))
            spark_engine.check_translations(runner, _discover(sql_dirs)[0])
        try:
            analyzers, outcomes = _discover(sql_dirs)
            session = open_session(csv_path, memory_limit=memory_limit, cache=cache, log=log,
                                   subscriptions=subscriptions, budgets=budgets, stop=stop,
                                   defer_finance=files is not None)
            if files is not None:  # current reports: no ledger to compute, nothing to write
                key = uptodate.build_key(files, session, {
                    "filters": dict(filters.items()), "statements": statements,
                    "target_mb": target_mb, "poll_seconds": poll_seconds, "live": live})
                if uptodate.is_current(out, previous, key):
                    session.close()
                    return _unchanged(out, previous, session.source, started)
                session.finish_loading()
        except (FinopsError, OSError) as exc:
            if session is not None:
                session.close()
                session = None
            status, state, error = _read_failure(exc, csv_path, has_reports)
            outcomes = []
        except BaseException:  # a stop (or Ctrl-C) in the ledger: let go of the store
            if session is not None:
                session.close()
            raise
    if session is not None:
        source = session.source
        try:
            scope = explore.prepare(session.con, filters)
            filtered_rows = scope["calls"] if not filters.empty else None
            nav = explore.nav_entries(analyzers)
            choices = flt.choices(session.con) if live else None
            before = flt.previous_headlines(session.con, analyzers, filters, scope["window"])
            if runner is not None:
                from . import spark as spark_engine
                spark_dir = Path(tempfile.mkdtemp(prefix="finops-spark-"))
                source = spark_engine.attach(runner, session, analyzers, spark_dir,
                                             subscriptions=subscriptions, budgets=budgets,
                                             narrowed=not filters.empty)
                if not filters.empty:
                    spark_engine.apply_filters(runner, filters, subscriptions=subscriptions,
                                               budgets=budgets)
            try:
                actions = ledger(session.con)
            except Exception as exc:  # the reports still build without the ledger
                actions = {"error": f"the ledger of actions failed: {exc}", "total": [], "items": [],
                           "period_label": None}
            def run_one(con, item):
                if isinstance(item, stmts.Kind):  # the statements' SQL is DuckDB's, on any engine
                    return stmts.run(con, item)
                if runner is not None:
                    return runner.run_analyzer(item)
                return analyze.run_analyzer(con, item)

            # On DuckDB the analyzers, then the statements' SQL, run on two
            # connections at once; each report is rendered here as it ends.
            items = [*analyzers, *(stmts.KINDS if statements else ())]
            ran_statements: dict[str, list] = {}
            statement_error: Exception | None = None
            for item, result, error, seconds in analyze.run_each(
                    session, items, run_one, connections=1 if runner is not None else None):
                check_stop()  # leaving the loop interrupts and waits for the other connections
                if isinstance(item, stmts.Kind):
                    if error is None:
                        ran_statements[item.name] = result
                    statement_error = statement_error or error
                    continue
                analyzer = item
                try:
                    if error is not None:
                        raise error
                    # The scope and the previous period are DuckDB's, on any engine.
                    changes = flt.headline_changes(session.con, result.queries.get("headline"),
                                                   before.get(analyzer.name))
                    outcomes.append(_render_report(env, staging, result, changes, source, scope,
                                                   nav, generated_at, live, choices))
                except Exception as exc:  # one broken analyzer must not stop the others
                    message = str(exc) if isinstance(exc, FinopsError) \
                        else f"{_shown_path(analyzer.path)}: {type(exc).__name__}: {exc}"
                    outcomes.append(_failed(analyzer, out, public_text(message), seconds))
            check_stop()
            if statements:
                try:
                    if statement_error is not None:
                        raise statement_error
                    statement_info = stmts.write_pages(env, staging, ran_statements,
                                                       source=_public_source(source), scope=scope,
                                                       nav=nav, generated_at=generated_at,
                                                       published=out)
                    unchanged_pages = set(statement_info.pop("unchanged"))
                    statement_info["generated_at"] = generated_at
                except FinopsError as exc:
                    statement_info = {"error": public_text(str(exc))}
                    for folder in stmts.FOLDERS:  # half-written: publish none, keep the last good
                        shutil.rmtree(staging / folder, ignore_errors=True)
                    for name in stmts.INDEX_FILES:
                        (staging / name).unlink(missing_ok=True)
        finally:
            session.close()
            if spark_dir is not None:
                shutil.rmtree(spark_dir, ignore_errors=True)
        check_stop()
        for rid, clash in _collisions(outcomes).items():
            r = next(r for r in outcomes if r.id == rid)
            r.ok, r.error, r.file, r.downloads = False, clash, None, []
        for r in outcomes:
            if (not r.ok and r.file is None and r.id.lower() not in RESERVED_NAMES
                    and (out / f"{r.id}.html").exists()):
                r.file = f"{r.id}.html"  # a file that fails the check keeps its last good report
            if not r.ok:  # its last good downloads stay listed, like its last good report
                r.downloads = [n for n in _previous_downloads(previous, r.id) if (out / n).exists()]
                if r.file and not (out / r.file).exists():
                    r.file = None
        order = {a.name: n for n, a in enumerate(analyzers)}
        outcomes.sort(key=lambda r: (catalog.category_rank(r.category),
                                     order.get(r.id, len(order))))
        failed = [r for r in outcomes if not r.ok]
        if failed:
            status = "partial"
            error = f"{len(failed)} of {len(outcomes)} analyzers failed: " + "; ".join(
                f"{r.id}: {r.error}" for r in failed)

    if status == "error" and previous:
        # Keep the last good reports listed; their files were not touched.
        report_entries = [r for r in previous.get("reports", []) if isinstance(r, dict)]
    else:
        report_entries = [_report_entry(r) for r in outcomes]
    warning = None
    if status == "error" and report_entries:
        when = (previous or {}).get("last_good_at") or (previous or {}).get("generated_at")
        try:
            when = datetime.fromisoformat(when.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
        except (AttributeError, ValueError):
            pass
        warning = ("The reports below, and the dataset figures, are from the last good build"
                   + (f" ({when})" if when else "") + ".")

    seconds = time.perf_counter() - started
    manifest = _manifest(csv_path, source, status, public_text(error), report_entries,
                         generated_at, target_mb, poll_seconds, live, seconds)
    if status == "error" and report_entries and previous:
        # The page describes the reports it shows: the last good build's data.
        for name in ("rows", "rows_rejected", "duplicate_call_ids", "reject_samples", "time_range",
                     "csv_size_mb", "progress_pct"):
            if name in previous:
                manifest[name] = previous[name]
    if key is not None and (status != "ok" or (actions or {}).get("error")):
        key = None  # something to try again: never taken as current
    if key is not None:
        try:
            if uptodate.files_digest(sql_dirs, (subscriptions, budgets)) != files:
                key = None  # a file changed while this build read it: the next one runs
        except OSError:
            key = None  # one went away meanwhile: the same
    manifest["build_key"] = key
    manifest["filters"] = dict(filters.items())
    manifest["filtered_rows"] = filtered_rows
    manifest["statements"] = statement_info
    manifest["source_state"] = state
    manifest["warning"] = warning
    manifest["last_good_at"] = (generated_at if status in ("ok", "partial")
                                else (previous or {}).get("last_good_at"))
    if actions is None and status == "error" and previous:
        actions = previous.get("actions")  # the last good ledger, like the last good reports
    manifest["actions"] = jsonable(actions) if actions is not None else None
    index = env.get_template("index.html").render(
        manifest=manifest, has_viewer_js=(out / ASSETS / "viewer.js").exists())
    write_atomic(staging / INDEX, index)
    write_atomic(staging / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False,
                                                allow_nan=False) + "\n")
    _publish(staging, out, outcomes, unchanged_pages)
    if status in ("ok", "partial"):
        _remove_stale(out, previous, outcomes)  # after the new manifest no longer links them
    return BuildResult(out, status, error, outcomes, manifest, time.perf_counter() - started,
                       source)


def _unchanged(out: Path, previous: dict, source: SourceInfo, started: float) -> BuildResult:
    """The result of a build that found the last one current (uptodate.py)."""
    reports = [ReportOutcome(e["id"], e["title"], e["category"], e.get("file"), True, None, 0.0,
                             version=e.get("version"), description=e.get("description") or "",
                             headlines=e.get("headlines") or [],
                             downloads=list(e.get("downloads") or []))
               for e in previous["reports"]]
    return BuildResult(out, "ok", None, reports, previous, time.perf_counter() - started, source,
                       unchanged=True)


def ledger(con) -> dict:
    """The ledger of actions (sql/finance.sql) for the index: every action and
    the reconciled total, as computed in SQL; amounts per 30-day month."""
    def rows(sql: str) -> list[dict]:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    total = rows("SELECT position, line, kind, monthly_usd, actions FROM actions_total ORDER BY position")
    # shown in cents, as actions_total adds them
    items = rows("SELECT action_id, domain, lever, kind, title, detail, assumptions, confidence, "
                 "quality_risk, cents(monthly_usd) AS monthly_usd, "
                 "cents(counted_monthly_usd) AS counted_monthly_usd, counted, reconciliation, severity "
                 "FROM actions ORDER BY step, actions.monthly_usd DESC, action_id")
    for row in total:
        row["display"] = render.fmt_money(row["monthly_usd"])
    for row in items:
        row["display"] = render.fmt_money(row["monthly_usd"])
        row["counted_display"] = render.fmt_money(row["counted_monthly_usd"])
    period_days, covered_days, label = con.execute(
        "SELECT period_days, covered_days, period_label FROM finance_period").fetchone()
    return {"month_days": 30, "period_days": period_days,
            "covered_days": None if covered_days is None else round(covered_days, 2),
            "period_label": label, "total": total, "items": items, "error": None}


def _publish(staging: Path, out: Path, outcomes: list[ReportOutcome],
             unchanged_pages: set[str] = frozenset()) -> None:
    """Move the staged files into place, each by one atomic rename, in link order:
    statement pages and their indexes before the reports that link them,
    downloads before the reports, reports before the index, the manifest last.
    Statement pages of ids that are gone are deleted after the manifest;
    unchanged_pages ("org/x.html") are current already and stay."""
    written: dict[str, set[str]] = {}
    for folder in stmts.FOLDERS:
        if (staging / folder).is_dir():
            (out / folder).mkdir(exist_ok=True)
            written[folder] = {name.split("/", 1)[1] for name in unchanged_pages
                               if name.split("/", 1)[0] == folder}
            for page in (staging / folder).glob("*.html"):
                os.replace(page, out / folder / page.name)
                written[folder].add(page.name)
    for name in stmts.INDEX_FILES:
        if (staging / name).exists():
            os.replace(staging / name, out / name)
    for r in outcomes:
        if r.ok:
            for name in [*r.downloads, r.file]:
                if name and (staging / name).exists():
                    os.replace(staging / name, out / name)
    os.replace(staging / INDEX, out / INDEX)
    os.replace(staging / MANIFEST, out / MANIFEST)
    for folder, names in written.items():  # only when this build wrote the folder's pages
        for stale in (out / folder).glob("*.html"):
            if stale.name not in names:
                stale.unlink(missing_ok=True)


def _manifest(csv_path, source: SourceInfo | None, status, error, reports, generated_at,
              target_mb, poll_seconds, live, seconds) -> dict:
    size_bytes = source.size_bytes if source else _file_size(csv_path)
    if size_bytes is None and status == "no_data":
        size_bytes = 0  # the CSV is not there yet: 0% of the target
    size_mb = round(size_bytes / 1_000_000, 2) if size_bytes is not None else None
    progress = None
    if target_mb and size_bytes is not None:
        progress = round(min(100.0, size_bytes / 1_000_000 / float(target_mb) * 100), 1)
    return jsonable({
        "generated_at": generated_at,
        "build_seconds": round(seconds, 3),
        "status": status,
        "error": error,
        "csv_path": Path(csv_path).name,  # never the absolute path: served to the network
        "csv_size_mb": size_mb,
        "target_size_mb": float(target_mb) if target_mb else None,
        "progress_pct": progress,
        "rows": source.rows if source else (0 if status == "no_data" else None),
        "rows_rejected": source.rows_rejected if source else None,
        "duplicate_call_ids": source.duplicate_call_ids if source else None,
        "reject_samples": source.reject_samples if source else [],
        # bytes after the last line end: a line not read yet (a writer may still be appending)
        "partial_tail_bytes": source.partial_tail_bytes if source else None,
        "unpriced_calls": source.unpriced_calls if source else None,
        "unknown_price_models": source.unknown_price_models if source else [],
        "time_range": {"first_call": source.first_call if source else None,
                       "last_call": source.last_call if source else None},
        "categories": dict(catalog.CATEGORIES),
        "reports": reports,
        "poll_seconds": int(poll_seconds) if float(poll_seconds).is_integer() else float(poll_seconds),
        "live": bool(live),
    })


def _file_size(csv_path) -> int | None:
    try:
        return Path(csv_path).stat().st_size
    except OSError:
        return None
