"""A build with nothing new to do: the reports in --out are already current.

A build's pages follow from what it reads and nothing else (no analyzer
reads the clock): the stored calls, the SQL, the templates and viewer
files, the subscriptions and budgets files, the engine's code and the
build's options. `build_key` hashes all of it; the build writes the key into
manifest.json. When the next build into the same folder finds the same key,
a whole last build (status "ok") and every file it listed still there, it
leaves the folder as it is instead of running the analyzers again: `finops
build` with nothing new takes the time of opening the store, at any size.

The files are hashed before the build reads them and again once it has
rendered every page; when the two differ (a file edited while the build
ran) the build writes no key, so the next one runs. The calls are keyed as
they were loaded. A build that read
the CSV directly (--no-cache) or ran on Spark has no key and always runs.

It must not: decide anything about the data, or skip a build whose inputs
it cannot name.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import xxhash

from . import finance_cache
from . import statements as stmts
from .paths import SQL_DIR, TEMPLATES_DIR, VIEWER_DIR


def files_digest(sql_dirs, inputs) -> str:
    """The SQL (the package's and each --sql-dir's), templates, viewer files and
    the input files (subscriptions, budgets) as one hash, by name and content."""
    h = xxhash.xxh3_128()
    # the package's folders whole; of a --sql-dir, what finops reads from it
    roots = [(SQL_DIR, "*"), (TEMPLATES_DIR, "*"), (VIEWER_DIR, "*"),
             *((Path(d), "*.sql") for d in sql_dirs)]
    for root, pattern in roots:
        for path in sorted(p for p in Path(root).rglob(pattern) if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            h.update(str(path.relative_to(root)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
        h.update(b"\1")
    for path in inputs:
        h.update(b"-" if path is None else Path(path).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def build_key(files: str, session, options: dict) -> str | None:
    """The key of a build: files (files_digest, taken before the build read
    them), the session's stored calls and what was read of them, and the
    options that shape the pages. None without a store (nothing to key on)."""
    store = session.store
    if store is None or store.scratch:
        return None
    h = xxhash.xxh3_128()
    # the stored calls, the calls.sql settings, the engine's code, DuckDB and finops
    h.update(finance_cache.cache_key(store, {}, "").encode())
    h.update(f"jinja2 {jinja2.__version__}".encode())  # renders every page
    h.update(json.dumps({"files": files, "source": session.source.to_dict(), "options": options},
                        sort_keys=True, default=str).encode())
    return h.hexdigest()


def is_current(out: Path, previous: dict | None, key: str | None) -> bool:
    """Whether the last build in out had this key, was whole, and left every file it listed."""
    if key is None or not previous or previous.get("build_key") != key \
            or previous.get("status") != "ok" or (previous.get("actions") or {}).get("error"):
        return False
    names = {"index.html"}
    for entry in previous.get("reports") or []:
        names.update(n for n in [entry.get("file"), *(entry.get("downloads") or [])] if n)
    statements = previous.get("statements")
    if statements is not None:
        if not statements.get("pages"):
            return False  # the statements failed, or none were written
        names.update(stmts.INDEX_FILES)
        for folder, count in statements["pages"].items():
            if len(list((out / folder).glob("*.html"))) != count:
                return False
    return all((out / name).is_file() for name in names)
