"""Reports narrowed by filters: the page for one analyzer and filter set, static or on request.

`finops build --from/--to/--where` and the filter bar of `finops serve` both
come here: prepare() narrows a loaded session (engine/filters.py), report()
runs one analyzer and its previous-period headline, render_report() makes
the page. ExploreService keeps one loaded DuckDB session for the server,
reloads it when a new build lands, runs one filter request at a time and
refuses work beyond a short queue. It knows nothing of HTTP: the server
passes it a report id and the query's (key, value) pairs and gets a status,
a content type and a body back.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from . import catalog, filters as flt, render, statements
from .analyze import run_analyzer
from .catalog import Analyzer
from .downloads import analyzer_json, csv_text
from .errors import FinopsError
from .results import AnalyzerResult
from .session import QueryStop, Session, Stopped, open_session

STATEMENT_LINKS = [{"title": "Organization statements", "file": "organizations.html"},
                   {"title": "Customer statements", "file": "customers.html"}]


def prepare(con: duckdb.DuckDBPyConnection, filters: flt.Filters, *,
            link_query: str = "") -> dict:
    """Narrow con's `calls` to filters (installing the filtered view once) and
    describe the scope for the page: period, previous period, calls.
    link_query: a URL query the page's statement links carry (serve)."""
    if not flt.installed(con):
        flt.install(con)
        if not filters.empty:
            flt.apply(con, filters)
    else:
        flt.apply(con, filters)
    win = flt.window(con)
    calls = con.execute("SELECT count(*) FROM calls").fetchone()[0]
    orgs = [r[0] for r in con.execute("SELECT DISTINCT organization_id FROM calls").fetchall()]
    customers = [r[0] for r in con.execute("SELECT DISTINCT customer_id FROM calls").fetchall()]
    return {"filtered": not filters.empty, "description": filters.describe(),
            "query": filters.query_string(), "items": filters.items(),
            "start": win.start, "end": win.end, "days": win.days, "calls": int(calls),
            "has_previous": win.has_previous, "previous_start": win.previous_start,
            "previous_end": win.previous_end, "window": win, "filters": filters,
            "linker": render.IdLinker(orgs, customers, query=link_query),
            "link_query": link_query}


def nav_entries(analyzers: list[Analyzer]) -> list[dict]:
    """Every report by category, then the statement indexes: the related-reports bar."""
    return [{"id": a.name, "title": a.title, "category": a.category, "file": f"{a.name}.html"}
            for a in analyzers] + [dict(s, id=s["file"][:-5], category="statements")
                                   for s in STATEMENT_LINKS]


def report(con: duckdb.DuckDBPyConnection, analyzer: Analyzer, scope: dict,
           previous: dict | None = None) -> tuple[AnalyzerResult, list[dict]]:
    """Run analyzer on the narrowed calls; its headline's change against the
    previous period (previous: headlines already run for it, else run here)."""
    if previous is None:
        previous = flt.previous_headlines(con, [analyzer], scope["filters"], scope["window"])
    result = run_analyzer(con, analyzer)
    changes = flt.headline_changes(con, result.queries.get("headline"), previous.get(analyzer.name))
    return result, changes


def render_report(env, result: AnalyzerResult, changes: list[dict], *, source: dict,
                  scope: dict, nav: list[dict], generated_at: str, live: bool,
                  choices: dict | None, downloads: dict | None = None,
                  json_download: str | None = None) -> str:
    """The HTML of one report page. downloads: query -> file name of its CSV."""
    analyzer = result.analyzer
    view = render.report_view(result.queries, links=True, changes=changes,
                              linker=scope.get("linker"), query=scope.get("link_query", ""))
    for sec in view.sections:
        sec.download = (downloads or {}).get(sec.name)
    return env.get_template("report.html").render(
        analyzer={"name": analyzer.name, "title": analyzer.title, "category": analyzer.category,
                  "version": analyzer.version, "description": analyzer.description,
                  "file": _shown_path(analyzer.path)},
        view=view, source=source, scope=scope, nav=nav, live=live, choices=choices,
        filter_keys=flt.KEYS, category_title=catalog.CATEGORIES.get(analyzer.category,
                                                                   analyzer.category),
        generated_at=generated_at, seconds=round(result.seconds, 3),
        json_download=json_download)


def _shown_path(path: Path) -> str:
    """An analyzer file as served pages show it: its folder's name and its own
    (site.py's rule: nothing served names an absolute local path)."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def render_filtered_report(session: Session, analyzer: Analyzer, filters: flt.Filters, *,
                           nav: list[dict], generated_at: str, env=None,
                           choices: dict | None = None) -> str:
    """One report page for one filter set, from a loaded session (serve's filter bar)."""
    env = env or render.environment()
    scope = prepare(session.con, filters, link_query=filters.query_string())
    result, changes = report(session.con, analyzer, scope)
    query = scope["query"]
    downloads = {name: f"{analyzer.name}-{name}.csv?{query}" for name in result.queries}
    return render_report(env, result, changes, source=_public(session.source), scope=scope,
                         nav=nav, generated_at=generated_at, live=True,
                         choices=choices if choices is not None else flt.choices(session.con),
                         downloads=downloads, json_download=f"{analyzer.name}.json?{query}")


STATEMENT_FOLDERS = {kind.folder: kind for kind in statements.KINDS}

# --- on request (serve) --------------------------------------------------------

@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes


class Busy(Exception):
    """More filter requests are waiting than the queue allows."""


class ExploreService:
    """Filtered reports on request, from one cached DuckDB session.

    The session is loaded on first use and again whenever manifest.json's
    generated_at changes (a new build landed). Requests run one at a time
    (a DuckDB connection holds one set of filter variables); at most
    `max_waiting` more wait, the rest are refused with 503 at once.
    stop (serve's): interrupts the session's queries and its loading when
    serve stops; after close() nothing loads or queries again.
    """

    def __init__(self, csv_path, out_dir, *, sql_dirs=(), memory_limit: str | None = None,
                 max_waiting: int = 4, wait_seconds: float = 20.0,
                 subscriptions=None, budgets=None, stop: QueryStop | None = None):
        self.csv_path, self.out_dir = Path(csv_path), Path(out_dir)
        self.sql_dirs, self.memory_limit = tuple(sql_dirs), memory_limit
        # The build's subscriptions and budgets files: a filtered page bills and
        # budgets exactly as the unfiltered one does, never from what the calls imply.
        self.subscriptions, self.budgets = subscriptions, budgets
        self.max_waiting, self.wait_seconds = max_waiting, wait_seconds
        self._lock = threading.Lock()
        self._waiting = 0
        self._count_lock = threading.Lock()
        self._session: Session | None = None
        self._built: str | None = None
        self._analyzers: dict[str, Analyzer] = {}
        self._choices: dict | None = None
        self.stop = stop
        self._closed = False
        self._warmer: threading.Thread | None = None

    def _statement(self, session: Session, stamp: str, folder: str, page: str,
                   filters: flt.Filters) -> Reply:
        """One organization's or customer's statement for the filters."""
        kind = STATEMENT_FOLDERS[folder]
        scope = prepare(session.con, filters, link_query=filters.query_string())
        ident = statements.find(session.con, kind, page)
        found = statements.run(session.con, kind, only=ident) if ident is not None else []
        if not found:
            return Reply(404, "text/plain; charset=utf-8",
                         f"404 Not Found: no calls of this {kind.name} match "
                         f"{filters.describe()}\n".encode())
        env = render.environment()
        html = statements.page_html(env.get_template("statement.html"), found[0],
                                    source=_public(session.source), scope=scope,
                                    nav=nav_entries(list(self._analyzers.values())),
                                    generated_at=stamp, query=filters.query_string())
        return Reply(200, "text/html; charset=utf-8", html.encode("utf-8"))

    def start_warmer(self, stop_event: threading.Event, every: float = 1.0) -> threading.Thread:
        """Reload the session in the background as soon as a new build lands,
        so the first filter request after a rebuild does not pay for the load."""
        def run():
            while not stop_event.wait(every) and not self._closed:
                stamp = self._manifest_stamp()
                if stamp and stamp != self._built and self._lock.acquire(timeout=0.1):
                    try:
                        self._fresh_session()
                    except Exception:  # no data yet, a CSV mid-rewrite: the next request says so
                        pass
                    finally:
                        self._lock.release()

        thread = threading.Thread(target=run, name="finops-explore-warm", daemon=True)
        thread.start()
        self._warmer = thread
        return thread

    def close(self, timeout: float = 5.0) -> bool:
        """Stop loading and answering, close the session; whether that was done within timeout.

        The warmer or a request may be inside DuckDB: with a stop, its query
        is interrupted again while close() waits for it."""
        self._closed = True
        end = time.monotonic() + timeout
        while not self._lock.acquire(timeout=0.05):
            if time.monotonic() > end:
                return False
            if self.stop is not None:
                self.stop.interrupt()
        try:
            if self._session is not None:
                self._session.close()
                self._session = None
        finally:
            self._lock.release()
        if self._warmer is not None:
            self._warmer.join(max(0.0, end - time.monotonic()))
            return not self._warmer.is_alive()
        return True

    def _manifest_stamp(self) -> str | None:
        try:
            data = json.loads((self.out_dir / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data.get("generated_at") if isinstance(data, dict) else None

    def _fresh_session(self) -> tuple[Session, str]:
        if self._closed:
            raise Stopped("stopping")
        stamp = self._manifest_stamp() or ""
        if self._session is None or stamp != self._built:
            if self._session is not None:
                self._session.close()
                self._session = None
            self._analyzers = catalog.parse_all(list(self.sql_dirs))[0]
            # Read the file directly, not through the store: this session stays
            # open between requests, and a store reader holds a shared lock that
            # would keep the next build (a store writer) waiting.
            self._session = open_session(self.csv_path, memory_limit=self.memory_limit,
                                         cache=False, subscriptions=self.subscriptions,
                                         budgets=self.budgets, stop=self.stop)
            flt.install(self._session.con)
            self._choices = flt.choices(self._session.con)
            self._built = stamp
        return self._session, stamp

    def handles(self, name: str) -> bool:
        """Whether a request for this file name with a query is ours: a report,
        one of its CSV downloads or its JSON, or a statement page."""
        folder, _, page = name.rpartition("/")
        if folder:
            return folder in STATEMENT_FOLDERS and page.endswith(".html")
        return name.endswith((".html", ".csv", ".json")) and name not in (
            "index.html", "manifest.json", "organizations.html", "customers.html")

    def handle(self, name: str, pairs: list[tuple[str, str]]) -> Reply:
        """Answer GET /<name>?<pairs>: a filtered report page or download."""
        try:
            filters = flt.parse(pairs)
        except FinopsError as exc:
            return Reply(400, "text/plain; charset=utf-8", f"400 Bad Request: {exc}\n".encode())
        with self._count_lock:
            if self._waiting >= self.max_waiting + 1:
                return Reply(503, "text/plain; charset=utf-8",
                             b"503 Busy: too many filter requests at once; try again\n")
            self._waiting += 1
        try:
            if not self._lock.acquire(timeout=self.wait_seconds):
                return Reply(503, "text/plain; charset=utf-8",
                             b"503 Busy: the previous filter requests take too long; try again\n")
            try:
                return self._answer(name, filters)
            finally:
                self._lock.release()
        finally:
            with self._count_lock:
                self._waiting -= 1

    def _answer(self, name: str, filters: flt.Filters) -> Reply:
        stem, _, suffix = name.rpartition(".")
        try:
            session, stamp = self._fresh_session()
        except Stopped:
            return Reply(503, "text/plain; charset=utf-8", b"503 The server is stopping\n")
        except (FinopsError, duckdb.Error) as exc:
            return Reply(503, "text/plain; charset=utf-8", f"503 No data: {exc}\n".encode())
        if "/" in stem:
            return self._statement(session, stamp, *stem.split("/", 1), filters)
        if suffix == "csv":
            analyzer_name, _, query = stem.partition("-")
            analyzer = self._analyzers.get(analyzer_name)
            if analyzer is None or query not in {q.name for q in analyzer.visible_queries}:
                return Reply(404, "text/plain; charset=utf-8", b"404 Not Found\n")
        else:
            analyzer = self._analyzers.get(stem)
            if analyzer is None:
                return Reply(404, "text/plain; charset=utf-8", b"404 Not Found\n")
        try:
            if suffix == "html":
                html = render_filtered_report(
                    session, analyzer, filters, nav=nav_entries(list(self._analyzers.values())),
                    generated_at=stamp, choices=self._choices)
                return Reply(200, "text/html; charset=utf-8", html.encode("utf-8"))
            prepare(session.con, filters)
            if suffix == "csv":
                result = run_analyzer(session.con, analyzer, only=query)
                return Reply(200, "text/csv; charset=utf-8",
                             csv_text(result.queries[query], safe=True).encode("utf-8"))
            result = run_analyzer(session.con, analyzer)
            source = dict(_public(session.source), filters=dict(filters.items()))
            return Reply(200, "application/json", analyzer_json(result, source).encode("utf-8"))
        except FinopsError as exc:
            return Reply(500, "text/plain; charset=utf-8", f"500 Analyzer failed: {exc}\n".encode())
        except Exception as exc:  # noqa: BLE001 - a bug must not take the server thread down
            return Reply(500, "text/plain; charset=utf-8",
                         f"500 Internal error: {type(exc).__name__}: {exc}\n".encode())


def _public(source) -> dict:
    """The source as served pages show it: no absolute local paths (site.py's rule)."""
    from .site import _public_source  # site imports this module
    return _public_source(source)
