"""Where the installed package keeps its SQL, templates and viewer files."""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PACKAGE_ROOT / "sql"
CALLS_SQL = SQL_DIR / "calls.sql"
QUERIES_DIR = (SQL_DIR / "queries").resolve()  # named ad-hoc queries (finops sql --name)
# Shared finance definitions (revenue by day, alert policy, ledger of actions),
# read right after calls.sql; with no --subscriptions file, the empty one.
FINANCE_SQL = SQL_DIR / "finance.sql"
EMPTY_SUBSCRIPTIONS = SQL_DIR / "empty_subscriptions.csv"
EMPTY_BUDGETS = SQL_DIR / "empty_budgets.csv"
SHARED_SQL = (CALLS_SQL, FINANCE_SQL)
TEMPLATES_DIR = PACKAGE_ROOT / "templates"
VIEWER_DIR = PACKAGE_ROOT / "viewer"
FILTERS_SQL = SQL_DIR / "filters.sql"
# Statement pages (one per organization, one per customer): analyzer-like
# files with a parameter, run by engine/statements.py, not analyzers.
STATEMENTS_DIR = SQL_DIR / "statements"
# calls.sql's `read` stage bookkeeping over numbered lines (the Spark read).
CALLS_LINES_SQL = SQL_DIR / "calls_lines.sql"
# The engine's own SQL under sql/: never discovered as analyzers.
ENGINE_SQL = (CALLS_SQL, FILTERS_SQL, CALLS_LINES_SQL)
