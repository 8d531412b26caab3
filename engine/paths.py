"""Where the installed package keeps its SQL, templates and viewer files."""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PACKAGE_ROOT / "sql"
CALLS_SQL = SQL_DIR / "calls.sql"
QUERIES_DIR = (SQL_DIR / "queries").resolve()  # named ad-hoc queries (finops sql --name)
TEMPLATES_DIR = PACKAGE_ROOT / "templates"
VIEWER_DIR = PACKAGE_ROOT / "viewer"
