"""Named ad-hoc queries: the questions people ask first, as .sql files in sql/queries/.

`finops sql --name customer_month --param customer_id=cust_0042` runs
sql/queries/customer_month.sql against the calls views. Each file has a
small comment header (the analyzers' format, one statement, no `-- query:`):

    -- name: customer_month          (must equal the file name)
    -- title: Cost of one customer in one month
    -- description: ...
    -- param: customer_id | The customer (no `=`: required)
    -- param: month = | Month as YYYY-MM (empty: the latest month)

Parameters are bound as DuckDB variables (`getvariable('customer_id')`),
never pasted into the SQL. A default that is a whole number makes the
parameter an integer; anything else is text.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .errors import FinopsError, duckdb_message
from .paths import QUERIES_DIR
from .results import QueryResult
from .session import SourceInfo, open_session

_HEADER = re.compile(r"^--\s*(name|title|description|param):\s?(.*)$")


@dataclass
class QueryParam:
    name: str
    default: str | None  # None: required
    help: str

    def coerce(self, text: str, query: str) -> object:
        if self.default is not None and re.fullmatch(r"-?\d+", self.default):
            if not re.fullmatch(r"-?\d+", text.strip()):
                raise FinopsError(f"query {query}: --param {self.name} must be a whole number, "
                                  f"not {text!r}")
            return int(text)
        return text


@dataclass
class NamedQuery:
    name: str
    title: str
    description: str
    path: Path
    sql: str
    params: dict[str, QueryParam] = field(default_factory=dict)


def _parse(path: Path) -> NamedQuery:
    header: dict[str, str] = {}
    params: dict[str, QueryParam] = {}
    body: list[str] = []
    last = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _HEADER.match(line)
        if m and not body:
            key, value = m.group(1), m.group(2).strip()
            if key == "param":
                spec, _, help_text = value.partition("|")
                pname, eq, default = spec.partition("=")
                pname = pname.strip()
                if not pname:
                    raise FinopsError(f"{path}: a param line needs NAME = DEFAULT | help")
                # `name | help`: required; `name = | help`: optional, default empty text.
                params[pname] = QueryParam(pname, default.strip() if eq else None,
                                           help_text.strip())
            else:
                header[key] = value
            last = key
            continue
        if line.startswith("--   ") and last == "description" and not body:
            header["description"] += " " + line[2:].strip()
            continue
        body.append(line)
    name = header.get("name", "")
    if name != path.stem:
        raise FinopsError(f"{path}:1: -- name: must be {path.stem!r} (the file name), not {name!r}")
    return NamedQuery(name=name, title=header.get("title", name),
                      description=header.get("description", ""), path=path,
                      sql="\n".join(body).strip().rstrip(";"), params=params)


def named_queries(folder: Path = QUERIES_DIR) -> dict[str, NamedQuery]:
    """Every named query, by name."""
    return {q.name: q for q in (_parse(p) for p in sorted(Path(folder).glob("*.sql")))}


def resolve(query: NamedQuery, overrides: dict[str, str]) -> dict[str, object]:
    unknown = set(overrides) - set(query.params)
    if unknown:
        raise FinopsError(f"query {query.name} has no parameter(s) {', '.join(sorted(unknown))} "
                          f"(its parameters: {', '.join(query.params) or 'none'})")
    values: dict[str, object] = {}
    for pname, param in query.params.items():
        if pname in overrides:
            values[pname] = param.coerce(overrides[pname], query.name)
        elif param.default is None:
            raise FinopsError(f"query {query.name} needs --param {pname}=... ({param.help})")
        else:
            values[pname] = param.coerce(param.default, query.name)
    return values


def run_named_query(name: str, csv_path: str | os.PathLike, params: dict[str, str] | None = None,
                    memory_limit: str | None = None, cache: bool = True
                    ) -> tuple[SourceInfo, QueryResult]:
    """Run sql/queries/NAME.sql with its parameters bound."""
    queries = named_queries()
    if name not in queries:
        raise FinopsError(f"no named query {name!r}; choose one of: {', '.join(queries)} "
                          "(finops sql --list)")
    query = queries[name]
    values = resolve(query, params or {})
    session = open_session(csv_path, memory_limit=memory_limit, cache=cache, cache_tables=False)
    try:
        con = session.con
        for pname, value in values.items():
            con.execute(f'SET VARIABLE "{pname}" = ?', [value])
        try:
            cursor = con.execute(query.sql)
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            raise FinopsError(f"{query.path}: query {name} failed: {duckdb_message(exc)}",
                              exit_code=1) from None
        columns = [d[0] for d in cursor.description]
        types = [str(d[1]) for d in cursor.description]
        return session.source, QueryResult(name, columns, types, rows, {}, query.title)
    finally:
        session.close()
