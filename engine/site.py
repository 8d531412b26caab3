"""`finops build`: run every analyzer once on the CSV and write the site.

One DuckDB session reads the CSV once; each analyzer becomes `<id>.html`,
then `manifest.json`, then the viewer's `index.html`. Every file is written
atomically (a dot-named temp file in the same folder, then os.replace), so
the live server and a browser never see half a file. build_site never
raises for data problems: they become the result's status and the
manifest's `error`, and the previous reports stay in place.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import catalog, render
from .session import open_session
from .catalog import Analyzer
from .check import check_analyzers
from .paths import CALLS_SQL
from .files import write_atomic
from .errors import FinopsError, MissingCSVError, NoDataError
from . import downloads, explore, statements as stmts
from . import filters as flt
from .filters import Filters
from .results import AnalyzerResult, jsonable
from .session import SourceInfo

MANIFEST = "manifest.json"
INDEX = "index.html"
ASSETS = "assets"


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
    """Analyzers that pass `finops check`, and a failed outcome for each file that does not.

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
                                    f"{problems[0]}{more}", 0.0))
    return list(checked.analyzers.values()), failed


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _render_report(env, out: Path, result: AnalyzerResult, changes: list[dict],
                   source: SourceInfo, scope: dict, nav: list[dict], generated_at: str,
                   live: bool, choices: dict | None) -> ReportOutcome:
    analyzer = result.analyzer
    csvs, json_file = write_downloads(out, result, source)
    html = explore.render_report(env, result, changes, source=source.to_dict(), scope=scope,
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
                    source: SourceInfo) -> tuple[dict[str, str], str]:
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
    write_atomic(out / json_file, downloads.analyzer_json(result, source.to_dict()))
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
               statements: bool = True) -> BuildResult:
    """Run every analyzer on the CSV and write reports, statement pages,
    manifest.json and index.html. filters narrows every page (build --where)."""
    filters = filters or Filters()
    started = time.perf_counter()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        copy_assets(out)
    except OSError as exc:
        raise FinopsError(f"cannot write reports to {out} ({exc.strerror or exc}); "
                          "pass --out with a writable folder") from None
    env = render.environment()
    previous = read_manifest(out)
    generated_at = _now_iso()

    status, error, source = "ok", None, None
    statement_info: dict | None = None
    filtered_rows: int | None = None
    outcomes: list[ReportOutcome] = []
    try:
        analyzers, outcomes = _discover(sql_dirs)
        session = open_session(csv_path, memory_limit=memory_limit)
    except MissingCSVError as exc:
        # Before any report exists a missing CSV just means no data yet; once
        # there are reports, it is an error that keeps the last good ones.
        has_reports = bool(previous and previous.get("reports"))
        status, error, outcomes = ("error" if has_reports else "no_data"), str(exc), []
    except NoDataError as exc:
        status, error, outcomes = "no_data", str(exc), []
    except FinopsError as exc:
        status, error, outcomes = "error", str(exc), []
    else:
        source = session.source
        try:
            scope = explore.prepare(session.con, filters)
            filtered_rows = scope["calls"] if not filters.empty else None
            nav = explore.nav_entries(analyzers)
            choices = flt.choices(session.con) if live else None
            before = flt.previous_headlines(session.con, analyzers, filters, scope["window"])
            for analyzer in analyzers:
                t0 = time.perf_counter()
                try:
                    result, changes = explore.report(session.con, analyzer, scope, before)
                    outcomes.append(_render_report(env, out, result, changes, source, scope, nav,
                                                   generated_at, live, choices))
                except Exception as exc:  # one broken analyzer must not stop the others
                    message = str(exc) if isinstance(exc, FinopsError) \
                        else f"{analyzer.path}: {type(exc).__name__}: {exc}"
                    outcomes.append(_failed(analyzer, out, message, time.perf_counter() - t0))
            if statements:
                try:
                    statement_info = stmts.write_pages(env, out, session.con,
                                                       source=source.to_dict(), scope=scope,
                                                       nav=nav, generated_at=generated_at)
                    statement_info["generated_at"] = generated_at
                except FinopsError as exc:
                    statement_info = {"error": str(exc)}
        finally:
            session.close()
        for r in outcomes:
            if not r.ok and r.file is None and (out / f"{r.id}.html").exists():
                r.file = f"{r.id}.html"  # a file that fails the check keeps its last good report
            if not r.ok:  # its last good downloads stay listed, like its last good report
                r.downloads = [n for n in _previous_downloads(previous, r.id) if (out / n).exists()]
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

    seconds = time.perf_counter() - started
    manifest = _manifest(csv_path, source, status, error, report_entries, generated_at,
                         target_mb, poll_seconds, live, seconds)
    manifest["filters"] = dict(filters.items())
    manifest["filtered_rows"] = filtered_rows
    manifest["statements"] = statement_info
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False,
                                            allow_nan=False) + "\n")
    index = env.get_template("index.html").render(
        manifest=manifest, has_viewer_js=(out / ASSETS / "viewer.js").exists())
    write_atomic(out / INDEX, index)
    if status in ("ok", "partial"):
        _remove_stale(out, previous, outcomes)  # after the new manifest no longer links them
    return BuildResult(out, status, error, outcomes, manifest, time.perf_counter() - started,
                       source)


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
        "csv_path": str(csv_path),
        "csv_size_mb": size_mb,
        "target_size_mb": float(target_mb) if target_mb else None,
        "progress_pct": progress,
        "rows": source.rows if source else (0 if status == "no_data" else None),
        "rows_rejected": source.rows_rejected if source else None,
        "duplicate_call_ids": source.duplicate_call_ids if source else None,
        "reject_samples": source.reject_samples if source else [],
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
