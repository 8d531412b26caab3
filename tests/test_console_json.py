"""run-sql's JSON: the column-at-a-time conversion (results.Records) gives what
jsonable() gives value by value, and console.dumps prints each flat row on one
line, rows with a list or an object indented, strict JSON throughout."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import duckdb
import pytest

from finops.engine.console import dumps
from finops.engine.results import QueryResult, _json_decimal, jsonable


def _reference_decimal(value: Decimal):
    # jsonable()'s rule for a Decimal as first written (exact, and slow)
    if not value.is_finite():
        return None
    return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 \
        else float(value)


def test_decimal_rule_read_off_the_text_matches_the_exponent_rule():
    rng = random.Random(11)
    cases = [Decimal(s) for s in ("0", "0.000000", "1E+2", "12E+2", "1.2E+3", "1E-7", "12E-9",
                                  "0E-7", "0E+3", "-0", "-0.00", "-3.00", "7", "NaN",
                                  "Infinity", "-Infinity", "123456789012345678901234567890.123456")]
    cases += [Decimal(rng.randint(-10**15, 10**15)).scaleb(rng.randint(-14, 8))
              for _ in range(5000)]
    for value in cases:
        assert repr(_json_decimal(value)) == repr(_reference_decimal(value)), value


def _query(sql: str) -> QueryResult:
    con = duckdb.connect()
    cursor = con.execute(sql)
    return QueryResult("q", [d[0] for d in cursor.description],
                       [str(d[1]) for d in cursor.description], cursor.fetchall())


MIXED = """
SELECT i AS n, 'row ' || i AS label, CAST(i * 1.5 AS DECIMAL(18, 6)) AS money,
       CAST(i AS DECIMAL(18, 0)) AS whole, i / 7 AS ratio,
       CASE WHEN i % 3 = 0 THEN NULL ELSE TIMESTAMP '2025-11-01 10:00:00' + INTERVAL (i) MINUTE END AS at,
       DATE '2025-11-01' + CAST(i AS INTEGER) AS day, i % 2 = 0 AS even
FROM range(50) AS t(i) ORDER BY i
"""


def test_records_equal_jsonable_value_by_value_and_are_flat():
    result = _query(MIXED)
    records = result.records()
    expected = [{c: jsonable(v) for c, v in zip(result.columns, row)} for row in result.rows]
    assert [json.dumps(r) for r in records] == [json.dumps(r) for r in expected]
    assert records.flat
    assert isinstance(records[1]["whole"], int) and isinstance(records[1]["money"], float)


def test_rows_with_lists_or_structs_are_not_flat_and_print_indented():
    result = _query("SELECT i AS n, [i, i + 1] AS pair, {'a': CAST(i AS DECIMAL(9, 2))} AS s "
                    "FROM range(3) AS t(i) ORDER BY i")
    records = result.records()
    assert not records.flat
    assert records[1] == {"n": 1, "pair": [1, 2], "s": {"a": 1.0}}
    text = dumps({"rows": records})
    assert json.loads(text) == {"rows": records}
    assert '\n      "pair": [1, 2],\n' in text  # such a row is spread over lines


def test_dumps_prints_one_flat_row_per_line():
    result = _query(MIXED)
    doc = {"analyzer": "x", "queries": {"q": result.records(), "empty": _query(
        "SELECT 1 AS a WHERE false").records()}}
    text = dumps([doc])
    assert json.loads(text) == [doc]
    lines = text.split("\n")
    row_lines = [line for line in lines if line.startswith('        {"n": ')]
    assert len(row_lines) == 50
    assert '"empty": []' in text


def test_headline_counts_are_integers():
    result = _query("SELECT 'Calls' AS label, CAST(12 AS DECIMAL(18, 2)) AS value, 'count' AS unit "
                    "UNION ALL SELECT 'Cost', CAST(12 AS DECIMAL(18, 2)), 'usd' ORDER BY label")
    records = result.records()
    assert records[0]["value"] == 12 and isinstance(records[0]["value"], int)
    assert isinstance(records[1]["value"], float)


def test_dumps_refuses_nan():
    with pytest.raises(ValueError):
        dumps({"rows": [{"x": float("nan")}]})


def test_download_json_is_jsons_own_indented_text():
    from finops.engine.downloads import indented_json

    result = _query(MIXED)
    nested = _query("SELECT i AS n, [i, i + 1] AS pair, {'a': CAST(i AS DECIMAL(9, 2))} AS s "
                    "FROM range(3) AS t(i) ORDER BY i")
    doc = {"analyzer": "x", "version": 2, "params": {"top": 20, "ratio": 1.5, "on": True,
                                                      "off": None, "names": "é \"q\"\n"},
           "queries": {"rows": result.records(), "nested": nested.records(), "empty": [],
                       "none": {}}}
    for indent in (1, 2, 4):
        assert indented_json(doc, indent) == json.dumps(doc, ensure_ascii=False,
                                                        allow_nan=False, indent=indent)
    with pytest.raises(ValueError):
        indented_json({"x": [float("inf")]})
