"""List prices with provenance: generated from the `genai-prices` library, read by SQL.

`finops` does not import genai-prices at run time (its import alone costs
more than a tenth of a 50 MB run): its price data is flattened here into two
CSV files shipped beside the SQL (sql/prices/list_prices.csv: one row per
provider, model and date range, with input, output, cache read, cache
write and reasoning prices in USD per million tokens, the pricing page and the library
version; sql/prices/list_price_models.csv: the library's model-name match
rules). tests/test_prices.py checks that the files equal what the pinned
library gives, so a library upgrade is one `make prices` and a reviewed
diff. sql/prices/list_prices.sql loads them; the comparisons are SQL.

Regenerate: `python -m finops.engine.prices` (needs `pip install finops[prices]`).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

from .errors import FinopsError
from .files import write_atomic
from .paths import SQL_DIR

PRICES_DIR = SQL_DIR / "prices"
LIST_PRICES_CSV = PRICES_DIR / "list_prices.csv"
LIST_PRICE_MODELS_CSV = PRICES_DIR / "list_price_models.csv"
LIST_PRICES_SQL = PRICES_DIR / "list_prices.sql"

# The window a dated price history is cut into (calls.sql's plausible window).
_FIRST, _LAST = date(2000, 1, 1), date(2100, 12, 31)
_PRICE_FIELDS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok",
                 "output_reasoning_mtok")

PRICE_COLUMNS = ["provider_id", "model_id", "model_name", "valid_from", "valid_to",
                 "input_per_mtok", "output_per_mtok", "cache_read_per_mtok",
                 "cache_write_per_mtok", "reasoning_per_mtok", "tiered", "pricing_url", "source"]
MODEL_COLUMNS = ["provider_id", "model_order", "model_id", "rule", "value"]


def _base(price):
    """A flat price, or the base tier of a tiered one (flagged by the caller)."""
    if price is None:
        return None, False
    base = getattr(price, "base", None)
    if base is not None:
        return base, True
    return price, False


def _periods(model):
    """(valid_from, valid_to, ModelPrice) over the window: the library's rule,
    the last active conditional price wins; time-of-day prices are skipped."""
    from genai_prices import types

    if isinstance(model.prices, types.ModelPrice):
        return [(_FIRST, _LAST, model.prices)]
    starts = sorted({cp.constraint.start_date for cp in model.prices
                     if isinstance(cp.constraint, types.StartDateConstraint)} | {_FIRST})
    periods = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - timedelta(days=1) if i + 1 < len(starts) else _LAST
        chosen = model.prices[0].prices
        for cp in reversed(model.prices):
            c = cp.constraint
            if c is None or (isinstance(c, types.StartDateConstraint) and c.start_date <= start):
                chosen = cp.prices
                break
        periods.append((start, end, chosen))
    return periods


def _rules(clause):
    """Flatten a match clause into (rule, value) alternatives (an AND is skipped)."""
    from genai_prices import types

    if isinstance(clause, types.ClauseOr):
        return [r for c in clause.or_ for r in _rules(c)]
    for cls, rule, attr in ((types.ClauseEquals, "equals", "equals"),
                            (types.ClauseStartsWith, "starts_with", "starts_with"),
                            (types.ClauseEndsWith, "ends_with", "ends_with"),
                            (types.ClauseContains, "contains", "contains"),
                            (types.ClauseRegex, "regex", "regex")):
        if isinstance(clause, cls):
            return [(rule, getattr(clause, attr))]
    return []


def library_tables() -> tuple[list[list], list[list], str]:
    """The price rows and match rules the installed genai-prices holds, and its version."""
    try:
        import genai_prices
        from genai_prices import data
    except ImportError:
        raise FinopsError("genai-prices is not installed; pip install 'finops[prices]'") from None
    version = f"genai-prices {genai_prices.__version__}"
    prices, models = [], []
    for provider in data.providers:
        url = (provider.pricing_urls or [""])[0]
        for order, model in enumerate(provider.models):
            for rule, value in _rules(model.match):
                models.append([provider.id, order, model.id, rule, value])
            for start, end, price in _periods(model):
                values, tiered = [], False
                for name in _PRICE_FIELDS:
                    v, t = _base(getattr(price, name, None))
                    values.append("" if v is None else format(v, "f"))
                    tiered |= t
                prices.append([provider.id, model.id, model.name or model.id,
                               start.isoformat(), end.isoformat(), *values,
                               "true" if tiered else "false", url, version])
    return prices, models, version


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def generate(out_dir: Path = PRICES_DIR) -> str:
    """Write list_prices.csv and list_price_models.csv from the library; its version."""
    prices, models, version = library_tables()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / LIST_PRICES_CSV.name, _csv(PRICE_COLUMNS, prices))
    write_atomic(out_dir / LIST_PRICE_MODELS_CSV.name, _csv(MODEL_COLUMNS, models))
    return version


def load_list_prices(con) -> None:
    """Define list_prices, list_price_models and the matching macros in con."""
    con.execute("SET VARIABLE list_prices_dir = ?", [str(PRICES_DIR)])
    con.execute(LIST_PRICES_SQL.read_text(encoding="utf-8"))


if __name__ == "__main__":
    print(f"wrote {LIST_PRICES_CSV} and {LIST_PRICE_MODELS_CSV} from {generate()}")


def lookup(model: str | None = None, provider: str | None = None,
           on_date: date | None = None):
    """What MODEL costs on a date at list price, and where the number comes from.

    A QueryResult with one row per matching priced model (all models when
    model is None). No calls CSV is needed.
    """
    from .results import QueryResult
    from .session import connect

    on_date = on_date or date.today()
    con = connect()
    try:
        load_list_prices(con)
        con.execute("SET VARIABLE prices_on = ?", [on_date])
        columns = ("lp.provider_id AS provider, lp.model_id AS model, lp.model_name, "
                   "lp.valid_from, lp.valid_to, lp.input_per_mtok, lp.output_per_mtok, "
                   "lp.cache_read_per_mtok, lp.cache_write_per_mtok, lp.reasoning_per_mtok, lp.tiered, "
                   "lp.pricing_url, lp.source")
        if model is None:
            sql = (f"SELECT {columns} FROM list_prices AS lp "
                   "WHERE getvariable('prices_on') BETWEEN lp.valid_from AND lp.valid_to "
                   "AND (? IS NULL OR lp.provider_id = ?) ORDER BY provider, model")
            cursor = con.execute(sql, [provider, provider])
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE prices_asked AS "
                        "SELECT DISTINCT provider, CAST(? AS VARCHAR) AS model "
                        "FROM list_price_providers WHERE ? IS NULL OR provider = ?",
                        [model, provider, provider])
            sql = (f"SELECT {columns} "
                   "FROM list_price_match('SELECT provider, model FROM prices_asked') AS m "
                   "JOIN list_prices AS lp ON lp.provider_id = m.provider_id "
                   " AND lp.model_id = m.model_id "
                   " AND getvariable('prices_on') BETWEEN lp.valid_from AND lp.valid_to "
                   "WHERE lp.input_per_mtok IS NOT NULL OR lp.output_per_mtok IS NOT NULL "
                   "QUALIFY row_number() OVER (PARTITION BY lp.provider_id, lp.model_id "
                   "ORDER BY m.provider) = 1 "
                   "ORDER BY provider, model")
            cursor = con.execute(sql)
        rows = cursor.fetchall()
        names = [d[0] for d in cursor.description]
        types = [str(d[1]) for d in cursor.description]
        return QueryResult("prices", names, types, rows)
    finally:
        con.close()
