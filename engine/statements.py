"""Statement pages: one per organization (showback/chargeback) and one per customer.

The figures come from sql/statements/*.sql, analyzer-like files with a
parameter (organization_id, customer_id). The build runs each file once for
every organization or customer at a time (its queries group by the key),
then splits the rows by key here and renders one small page each, plus an
index page per kind. This module names pages and shapes rows; it computes
no business figure.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import catalog, render
from .analyze import run_analyzer
from .files import write_atomic
from .paths import STATEMENTS_DIR, TEMPLATES_DIR
from .results import QueryResult


@dataclass(frozen=True)
class Kind:
    """A kind of statement: its SQL file, key column, folder and names."""

    name: str          # sql/statements/<name>.sql
    key: str           # the column every query groups by
    folder: str        # pages are <folder>/<slug>.html
    index: str         # the list of all pages of this kind
    title: str
    plural: str


ORGANIZATION = Kind("organization", "organization_id", "org", "organizations.html",
                    "Organization statement", "Organizations")
CUSTOMER = Kind("customer", "customer_id", "customer", "customers.html",
                "Customer statement", "Customers")
KINDS = (ORGANIZATION, CUSTOMER)
FOLDERS = tuple(k.folder for k in KINDS)  # org/, customer/: one page per id
INDEX_FILES = tuple(k.index for k in KINDS)  # organizations.html, customers.html
BY_COLUMN = {k.key: k for k in KINDS}

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")


def slug(value: str) -> str:
    """A file name for an id: the id itself when plain, else a readable part
    plus a hash (ids are data: `../x`, `<b>`, very long, different case)."""
    text = str(value)
    if _PLAIN.fullmatch(text):
        return text
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:40] or "id"
    return f"{readable}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:10]}"


def page_path(column: str, value) -> str | None:
    """Where the statement of an id named in column lives, relative to the site root."""
    kind = BY_COLUMN.get(column)
    if kind is None or value is None or value == "":
        return None
    return f"{kind.folder}/{slug(value)}.html"


@dataclass
class Statement:
    """One organization's or customer's rows of every statement query."""

    kind: Kind
    id: str
    file: str
    queries: dict[str, QueryResult] = field(default_factory=dict)

    def summary(self) -> dict:
        result = self.queries.get("summary")
        if result is None or not result.rows:
            return {}
        return dict(zip(result.columns, result.rows[0]))


def analyzer_of(kind: Kind) -> catalog.Analyzer:
    return catalog.parse_analyzer(STATEMENTS_DIR / f"{kind.name}.sql")


def run(con: duckdb.DuckDBPyConnection, kind: Kind, only: str | None = None) -> list[Statement]:
    """Every statement of a kind from one run of its SQL (all keys at once),
    or the one of id `only` (the SQL's parameter, bound)."""
    result = run_analyzer(con, analyzer_of(kind), {kind.key: only} if only is not None else None)
    by_id: dict[str, Statement] = {}
    for name, query in result.queries.items():
        if kind.key not in query.columns:
            continue
        at = query.columns.index(kind.key)
        keep = [i for i, c in enumerate(query.columns) if i != at]
        groups: dict[str, list[tuple]] = {}
        for row in query.rows:
            groups.setdefault(str(row[at]), []).append(tuple(row[i] for i in keep))
        for key, rows in groups.items():
            st = by_id.get(key)
            if st is None:
                st = by_id[key] = Statement(kind, key, f"{kind.folder}/{slug(key)}.html")
            st.queries[name] = QueryResult(name, [query.columns[i] for i in keep],
                                           [query.types[i] for i in keep], rows,
                                           dict(query.meta), query.title)
    return sorted(by_id.values(), key=lambda s: s.id)


# The pages' templates and the Python that shapes and formats them: a change
# to any of these changes every page, so it is part of every page's digest.
_PAGE_CODE = (Path(__file__).with_name("render.py"), Path(__file__),
              TEMPLATES_DIR / "statement.html", TEMPLATES_DIR / "base.html",
              TEMPLATES_DIR / "components.html")
_DIGEST_META = re.compile(rb'<meta name="finops-inputs" content="([0-9a-f]{40})">')


def _json(value) -> str:
    # default=str keeps Decimals and dates exact; sort_keys keeps it stable.
    return json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)


def context_digest(*, source: dict, scope: dict, nav: list[dict]) -> str:
    """What every page of a build shares: its code, templates and the scope shown."""
    h = hashlib.sha1()
    for path in _PAGE_CODE:
        h.update(path.read_bytes())
    h.update(_json([source.get("csv_path"),
                    [scope.get(k) for k in ("start", "end", "days", "filtered", "description",
                                            "link_query")], nav]).encode("utf-8"))
    return h.hexdigest()


def page_digest(context: str, st: Statement) -> str:
    """The inputs of one page: the build's context and this id's rows of every query."""
    content = [st.kind.name, st.id, st.file,
               [[name, q.columns, q.types, q.rows, q.meta, q.title]
                for name, q in st.queries.items()]]
    return hashlib.sha1((context + _json(content)).encode("utf-8")).hexdigest()


def _published_digest(path: Path) -> str | None:
    """The inputs digest a published page was rendered from (in its <head>)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2048)
    except OSError:
        return None
    found = _DIGEST_META.search(head)
    return found.group(1).decode("ascii") if found else None


def write_pages(env, out: Path, ran: dict[str, list[Statement]], *, source: dict,
                scope: dict, nav: list[dict], generated_at: str,
                published: Path | None = None) -> dict:
    """Write every statement page of both kinds and each kind's index into
    `out` (the build's staging folder; site._publish moves them into place and
    removes the pages of ids no longer there). Returns counts and seconds for
    the manifest, and under "unchanged" the pages left as they are.

    published: the site folder. A page there whose recorded inputs digest
    (rows, scope, templates, code) equals this build's is neither rendered nor
    written: at thousands of customers a serve rebuild would otherwise spend
    most of its time rewriting identical pages. The digest lives in the page
    itself, so a page and its digest are replaced together, atomically.
    ran: each kind's statements by its name (run(), beside the analyzers
    in site.build).
    """
    started = time.perf_counter()
    counts = {}
    unchanged: list[str] = []
    template = env.get_template("statement.html")
    context = context_digest(source=source, scope=scope, nav=nav)
    for kind in KINDS:
        statements = ran[kind.name]
        folder = out / kind.folder
        folder.mkdir(parents=True, exist_ok=True)
        for st in statements:
            digest = page_digest(context, st)
            if published is not None and _published_digest(published / st.file) == digest:
                unchanged.append(st.file)
                continue
            html = page_html(template, st, source=source, scope=scope, nav=nav,
                             generated_at=generated_at, digest=digest)
            write_atomic(out / st.file, html)
        rows = [{"id": st.id, "file": st.file, **st.summary()} for st in statements]
        write_atomic(out / kind.index, env.get_template("statement_index.html").render(
            kind=kind, rows=rows, source=source, scope=scope, nav=nav, root="",
            generated_at=generated_at, columns=index_columns(kind)))
        counts[kind.folder] = len(statements)
    return {"pages": counts, "rewritten": sum(counts.values()) - len(unchanged),
            "unchanged": unchanged, "seconds": round(time.perf_counter() - started, 3)}


def page_html(template, st: Statement, *, source: dict, scope: dict, nav: list[dict],
              generated_at: str, query: str = "", digest: str | None = None) -> str:
    """One statement page. query: the filters' URL query, kept on its links (serve);
    digest: its inputs digest, recorded in the page (write_pages)."""
    kind = st.kind
    sections = [render.section(q, links=True, root="../", query=query)
                for name, q in st.queries.items() if name != "summary"]
    if kind is CUSTOMER:
        for sec in sections:  # thousands of pages: tables only, no chart script
            sec.chart = None
    # Thousands of customer pages: the breadcrumb (index, all customers)
    # and the organization link instead of the full report bar.
    return template.render(kind=kind, st=st, summary=summary_cards(st, query),
                           sections=sections, source=source, scope=scope,
                           nav=nav if kind is ORGANIZATION else [], root="../",
                           generated_at=generated_at, inputs_digest=digest)


def find(con: duckdb.DuckDBPyConnection, kind: Kind, name: str) -> str | None:
    """The id whose page is `name` (a slug), among the ids in the loaded calls."""
    for (value,) in con.execute(f"SELECT DISTINCT {kind.key} FROM calls_unfiltered").fetchall():
        if slug(value) == name:
            return value
    return None


def index_columns(kind: Kind) -> list[tuple[str, str, str]]:
    """(column, heading, kind) shown in a kind's index table."""
    names = (["calls", "customers", "showback_cost", "allocated_shared_cost",
              "chargeback_cost"] if kind is ORGANIZATION else
             ["organization_id", "subscription_tier", "calls", "ai_cost", "subscription_revenue",
              "margin", "margin_pct", "allocation_risk", "budget_risk"])
    return [(n, render.column_label(n), render.column_kind(n)) for n in names]


def summary_cards(st: Statement, query: str = "") -> list[dict]:
    """The summary row as labelled figures, formatted by column name."""
    out = []
    for name, value in st.summary().items():
        kind = render.column_kind(name)
        link = page_path(name, value)
        out.append({"name": name, "label": render.column_label(name),
                    "display": render.fmt_value(value, kind), "raw": render.raw_value(value),
                    "link": link + ("?" + query if query else "") if link else None})
    return out
