"""Find analyzer files and read their machine-readable headers, strictly.

An analyzer is one `.sql` file: a header of `-- key: value` comments, then
named queries, each starting with `-- query: NAME` followed by optional
`-- key: value` display hints and one SQL statement. The keys and values
allowed are the table in analyzer_format.py; anything else is a Problem
with `file:line`, a message and the fix. This module reads files only; the
checks that need DuckDB (columns, getvariable names) are in check.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import analyzer_format as fmt
from .analyzer_format import CATEGORIES, HINT_KEY_NAMES
from .errors import FinopsError
from .paths import CALLS_SQL, ENGINE_SQL, QUERIES_DIR, SHARED_SQL, SQL_DIR, STATEMENTS_DIR

REQUIRED_KEYS = fmt.REQUIRED_HEADER_KEYS
HINT_KEYS = set(HINT_KEY_NAMES)
_KEY_LINE = re.compile(r"^--\s*([A-Za-z_][\w-]*)\s*:\s?(.*)$")
_QUERY_LINE = re.compile(r"^--\s*query\s*:")
_PARAM = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(.*?)"
                    r"(?:\s+min\s+(\S+))?(?:\s+max\s+(\S+))?\s*(?:\|\s*(.*))?$")
_NAME = re.compile(r"^[A-Za-z_][\w-]*$")


@dataclass(frozen=True)
class Problem:
    """One mistake in an analyzer file: where, what, and how to fix it."""

    path: Path
    line: int
    message: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" + (f" — {self.fix}" if self.fix else "")

    def to_dict(self) -> dict:
        return {"file": str(self.path), "line": self.line, "message": self.message,
                "fix": self.fix}


class AnalyzerFileError(FinopsError):
    """An analyzer file with problems; str() is the first, .problems has them all."""

    def __init__(self, problems: list[Problem], exit_code: int | None = None) -> None:
        self.problems = list(problems)
        more = len(self.problems) - 1
        message = str(self.problems[0]) + (f" (and {more} more: run `finops check`)"
                                          if more > 0 else "")
        super().__init__(message, exit_code=exit_code)


@dataclass
class Param:
    name: str
    default: object
    description: str = ""
    line: int = 0
    minimum: object = None
    maximum: object = None

    @property
    def kind(self) -> str:
        if isinstance(self.default, bool):
            return "true/false"
        if isinstance(self.default, int):
            return "whole number"
        if isinstance(self.default, float):
            return "number"
        if isinstance(self.default, date):
            return "date (YYYY-MM-DD)"
        return "text"

    def _typed(self, text: str) -> object:
        if isinstance(self.default, bool):
            if text.lower() not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                raise ValueError(text)
            return text.lower() in {"1", "true", "yes", "on"}
        if isinstance(self.default, int):
            return int(text)
        if isinstance(self.default, float):
            return float(text)
        if isinstance(self.default, date):
            return date.fromisoformat(text)
        return text

    def bounds_error(self, value: object) -> str | None:
        """Why value is outside the declared min/max, or None."""
        if self.minimum is not None and value < self.minimum:
            return f"is below its minimum {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            return f"is above its maximum {self.maximum}"
        return None

    def coerce(self, text: str, where: str) -> object:
        """A --param value, typed like the default and within its declared bounds."""
        try:
            value = self._typed(text)
        except ValueError:
            raise FinopsError(f"{where}: --param {self.name}={text!r} is not a valid "
                              f"{type(self.default).__name__} (default {self.default})") from None
        why = self.bounds_error(value)
        if why:
            raise FinopsError(f"{where}: --param {self.name}={text} {why} "
                              f"(default {self.default}{self.range_text()})")
        return value

    def range_text(self) -> str:
        parts = [f"min {self.minimum}" if self.minimum is not None else "",
                 f"max {self.maximum}" if self.maximum is not None else ""]
        return "".join(f", {p}" for p in parts if p)


@dataclass
class Query:
    name: str
    sql: str
    line: int  # line of the file where the SQL starts
    meta: dict[str, str] = field(default_factory=dict)
    query_line: int = 0  # line of `-- query: NAME`
    hint_lines: dict[str, int] = field(default_factory=dict)

    @property
    def hidden(self) -> bool:
        """Setup statements (`-- query: _name`) run but are not reported."""
        return self.name.startswith("_")

    @property
    def title(self) -> str:
        return self.meta.get("title") or self.name.replace("_", " ").capitalize()

    @property
    def formats(self) -> dict[str, str]:
        """The `-- format:` hint as {column: kind} (empty when absent or malformed)."""
        try:
            return fmt.parse_formats(self.meta["format"]) if self.meta.get("format") else {}
        except ValueError:
            return {}


@dataclass
class Analyzer:
    name: str
    title: str
    category: str
    version: int
    description: str
    path: Path
    params: dict[str, Param]
    queries: list[Query]
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def visible_queries(self) -> list[Query]:
        return [q for q in self.queries if not q.hidden]

    def query(self, name: str) -> Query:
        for q in self.visible_queries:
            if q.name == name:
                return q
        names = ", ".join(q.name for q in self.visible_queries)
        raise FinopsError(f"analyzer {self.name} has no query {name!r}; its queries: {names}")


def _parse_default(text: str) -> object:
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*|-?\d*\.\d+", text):
        return float(text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    return text.strip("'\"")


def _known(names) -> str:
    return ", ".join(names)


def _parse_param(path: Path, lineno: int, text: str, problems: list[Problem]) -> Param | None:
    m = _PARAM.match(text.strip())
    if not m:
        problems.append(Problem(path, lineno, f"malformed parameter {text!r}",
                                "write `-- param: name = default [min X] [max Y] | description`"))
        return None
    name, default_text, low, high, desc = m.groups()
    param = Param(name, _parse_default(default_text), (desc or "").strip(), lineno)
    for attr, bound in (("minimum", low), ("maximum", high)):
        if bound is None:
            continue
        if isinstance(param.default, (bool, str)):
            problems.append(Problem(path, lineno, f"parameter {name} is {param.kind}: "
                                    f"`{attr[:3]}` only applies to numbers and dates",
                                    f"drop `{attr[:3]} {bound}`"))
            continue
        try:
            setattr(param, attr, param._typed(bound))
        except ValueError:
            problems.append(Problem(path, lineno, f"parameter {name}: {attr[:3]} {bound!r} is "
                                    f"not a {param.kind}", f"write `{attr[:3]}` with a value "
                                    f"like the default {default_text.strip()}"))
    why = param.bounds_error(param.default) if not problems else None
    if why:
        problems.append(Problem(path, lineno, f"parameter {name}: the default {param.default} "
                                f"{why}", "change the default or the bound"))
    return param


def _header_problems(path: Path, header: dict[str, str], lines: dict[str, int],
                     problems: list[Problem]) -> int | None:
    """Check the header's required keys and values; return the version when valid."""
    for key in REQUIRED_KEYS:
        if not header.get(key):
            problems.append(Problem(path, 1, f"analyzer header lacks `-- {key}: ...`",
                                    f"add `-- {key}: ...` before the first `-- query:`"))
    if header.get("name") and header["name"] != path.stem:
        problems.append(Problem(path, lines["name"], f"analyzer name {header['name']!r} must equal "
                                f"the file name {path.stem!r}",
                                f"write `-- name: {path.stem}` or rename the file"))
    if header.get("category") and header["category"] not in CATEGORIES:
        problems.append(Problem(path, lines["category"], f"unknown category "
                                f"{header['category']!r}", f"use one of: {_known(CATEGORIES)}"))
    version = None
    if header.get("version"):
        try:
            version = int(header["version"])
            if version < 1:
                raise ValueError
        except ValueError:
            problems.append(Problem(path, lines["version"], "version must be a whole number, "
                                    f"1 or more, found {header['version']!r}",
                                    "write e.g. `-- version: 1`"))
            version = None
    return version


def _hint_problems(path: Path, lineno: int, key: str, value: str) -> list[Problem]:
    """Values a hint may not take, whatever the query returns."""
    if key == "chart" and value.lower() not in fmt.CHART_TYPES:
        return [Problem(path, lineno, f"unknown chart type {value!r}",
                        f"use one of: {_known(fmt.CHART_TYPES)}")]
    if key == "limit":
        if not re.fullmatch(r"\d+", value) or int(value) < 1:
            return [Problem(path, lineno, f"limit must be a whole number, 1 or more, "
                            f"found {value!r}", "write e.g. `-- limit: 25`")]
    if key == "format":
        try:
            fmt.parse_formats(value)
        except ValueError as exc:
            return [Problem(path, lineno, str(exc), "write `-- format: column=kind, ...` "
                            f"with kind one of: {_known(fmt.FORMATS)}")]
    if key == "band" and len(fmt.split_columns(value)) != 2:
        return [Problem(path, lineno, f"band needs two columns, found {value!r}",
                        "write `-- band: low_column, high_column`")]
    if key in ("x", "label") and len(fmt.split_columns(value)) != 1:
        return [Problem(path, lineno, f"{key} names one column, found {value!r}",
                        f"write `-- {key}: column`")]
    if key in ("x", "y", "band", "label", "title") and not value.strip():
        return [Problem(path, lineno, f"empty `{key}` hint", f"give a value or drop the line")]
    return []


def parse_analyzer(path: Path, collect: list[Problem] | None = None) -> Analyzer:
    """Read one analyzer file; raise AnalyzerFileError listing every flaw with path:line.

    With a `collect` list, problems that leave the file readable (an unknown
    hint, a bad value) are appended to it and the analyzer is returned, so
    the checker can go on to check its SQL too.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FinopsError(f"{path}: cannot read analyzer file: {exc}") from None
    lines = text.splitlines()
    problems: list[Problem] = []
    header: dict[str, str] = {}
    header_lines: dict[str, int] = {}
    params: dict[str, Param] = {}
    i = 0
    last_key = None
    # Header: comment lines until the first `-- query:`.
    while i < len(lines) and not _QUERY_LINE.match(lines[i]):
        line = lines[i]
        stripped = line.strip()
        match = _KEY_LINE.match(stripped)
        continuation = line.startswith("--  ")
        if match and match.group(1) == "param" and not continuation:
            param = _parse_param(path, i + 1, match.group(2), problems)
            if param is not None:
                if param.name in params:
                    problems.append(Problem(path, i + 1, f"parameter {param.name} is declared "
                                            f"twice (first on line {params[param.name].line})",
                                            "keep one declaration"))
                params[param.name] = param
            last_key = None
        elif match and not continuation:
            key = match.group(1).lower()
            if key not in fmt.HEADER_KEY_NAMES:
                problems.append(Problem(path, i + 1, f"unknown header key `{match.group(1)}:`",
                                        f"use one of: {_known(fmt.HEADER_KEY_NAMES)}; for a "
                                        "comment, do not start it with `word:`"))
                last_key = None
            elif key in header:
                problems.append(Problem(path, i + 1, f"header key `{key}:` is given twice "
                                        f"(first on line {header_lines[key]})",
                                        "keep one; continue a long value on lines indented "
                                        "by two spaces"))
                last_key = None
            else:
                last_key = key
                header[key] = match.group(2).strip()
                header_lines[key] = i + 1
        elif stripped.startswith("--") and last_key and continuation:
            header[last_key] += " " + stripped[2:].strip()  # indented continuation
        elif stripped and not stripped.startswith("--"):
            problems.append(Problem(path, i + 1, "SQL before the first `-- query: NAME` line",
                                    "start each statement with a `-- query: NAME` line"))
            break
        else:
            last_key = None
        i += 1
    if problems and i < len(lines) and not _QUERY_LINE.match(lines[i]):
        raise AnalyzerFileError(problems)

    version = _header_problems(path, header, header_lines, problems)

    queries: list[Query] = []
    while i < len(lines):
        qmatch = re.match(r"^--\s*query\s*:\s*(\S*)\s*$", lines[i])
        if not qmatch or not _NAME.match(qmatch.group(1)):
            problems.append(Problem(path, i + 1, "expected `-- query: NAME` (a plain name)",
                                    "name the query with letters, digits and _"))
            break
        qname, qline = qmatch.group(1), i + 1
        if any(q.name == qname for q in queries):
            problems.append(Problem(path, qline, f"query {qname!r} is defined twice",
                                    "give each query its own name"))
        i += 1
        meta: dict[str, str] = {}
        hint_lines: dict[str, int] = {}
        # The hint block: every `-- key: value` line right under `-- query:`.
        while i < len(lines) and (m := _KEY_LINE.match(lines[i].strip())) \
                and not lines[i].startswith("--  ") and not _QUERY_LINE.match(lines[i]):
            key, value = m.group(1).lower(), m.group(2).strip()
            if key not in HINT_KEYS:
                problems.append(Problem(path, i + 1, f"unknown hint `{m.group(1)}:` in query "
                                        f"{qname}", f"use one of: {_known(HINT_KEY_NAMES)}; for "
                                        "a comment, start it with a sentence, not `word:`"))
            elif key in meta:
                problems.append(Problem(path, i + 1, f"hint `{key}:` is given twice in query "
                                        f"{qname}", "keep one"))
            else:
                meta[key] = value
                hint_lines[key] = i + 1
                problems.extend(_hint_problems(path, i + 1, key, value))
            i += 1
        start = i
        while i < len(lines) and not _QUERY_LINE.match(lines[i]):
            m = _KEY_LINE.match(lines[i].strip())
            if m and m.group(1).lower() in HINT_KEYS - {"title", "description"} \
                    and not lines[i].startswith("--  ") and all(
                        ln.strip().startswith("--") or not ln.strip() for ln in lines[start:i]):
                problems.append(Problem(path, i + 1, f"hint `{m.group(1)}:` after a comment is "
                                        f"read as a comment in query {qname}",
                                        "move it up, right under `-- query:`"))
            i += 1
        sql = "\n".join(lines[start:i]).strip()
        sql = sql.rstrip().rstrip(";").rstrip()
        if not re.sub(r"--[^\n]*", "", sql).strip():
            problems.append(Problem(path, qline, f"query {qname!r} has no SQL",
                                    "add one statement after its hints"))
            continue
        # The statement's first line in the file, for error messages.
        offset = next((n for n, ln in enumerate(lines[start:i]) if ln.strip()), 0)
        queries.append(Query(qname, sql, start + offset + 1, meta, qline, hint_lines))
    if not problems and not any(not q.hidden for q in queries):
        problems.append(Problem(path, len(lines), "analyzer has no queries",
                                "add one after a `-- query: NAME` line"))
    readable = version is not None and all(header.get(k) for k in REQUIRED_KEYS) and queries
    if problems and (collect is None or not readable):
        raise AnalyzerFileError(problems)
    if collect is not None:
        collect.extend(problems)

    return Analyzer(
        name=header["name"], title=header["title"], category=header["category"],
        version=version, description=header["description"], path=path,
        params=params, queries=queries,
        meta={k: v for k, v in header.items() if k not in REQUIRED_KEYS},
    )


def check_sql_dirs(sql_dirs) -> list[Path]:
    """The --sql-dir folders as paths; a clear error for one that is not a folder."""
    folders = [Path(folder) for folder in sql_dirs]
    for folder in folders:
        if not folder.is_dir():
            raise FinopsError(f"--sql-dir {folder} is not a folder")
    return folders


def analyzer_files(sql_dirs: list[Path]) -> list[Path]:
    """Analyzer files: every .sql under the folders but the engine's own SQL
    (calls.sql, finance.sql, filters.sql, the statements/ folder) and the
    folders of other SQL: the list-price loaders (sql/prices/) and the named
    ad-hoc queries (sql/queries/, run by `finops sql --name`)."""
    skipped = {CALLS_SQL.parent / "prices", QUERIES_DIR}
    own = set(SHARED_SQL) | set(ENGINE_SQL)
    return [p for folder in check_sql_dirs(sql_dirs)
            for p in sorted(folder.rglob("*.sql"))
            if p.resolve() not in own and STATEMENTS_DIR not in p.resolve().parents
            and p.resolve().parent not in skipped]


_BUILTIN_ORDER = ["understanding", "performance", "realtime", "optimization", "alignment",
                  "agents", "profitability", "pricing", "features"]


def category_rank(category: str) -> int:
    """Position of a category in CATEGORIES; unknown categories go last."""
    return list(CATEGORIES).index(category) if category in CATEGORIES else 99


def parse_all(extra_dirs: list[Path] | tuple = ()) -> tuple[dict[str, Analyzer],
                                                             list[tuple[Path, FinopsError]]]:
    """Every analyzer that parses, in discover's order, and the error of each file that does not.

    The build uses this to keep the good analyzers building while one file is
    being edited; discover() raises the first error instead.
    """
    found: dict[str, Analyzer] = {}
    broken: list[tuple[Path, FinopsError]] = []
    for path in analyzer_files([SQL_DIR, *extra_dirs]):
        try:
            analyzer = parse_analyzer(path)
            if analyzer.name in found:
                raise FinopsError(f"{path}:1: analyzer {analyzer.name!r} is also defined in "
                                  f"{found[analyzer.name].path}; rename one of them")
        except FinopsError as exc:
            broken.append((path, exc))
            continue
        found[analyzer.name] = analyzer
    ordered = dict(sorted(found.items(), key=lambda kv: (
        category_rank(kv[1].category),
        _BUILTIN_ORDER.index(kv[0]) if kv[0] in _BUILTIN_ORDER else 99,
        kv[0])))
    return ordered, broken


def discover(extra_dirs: list[Path] | tuple = ()) -> dict[str, Analyzer]:
    """Every analyzer, built-in first, in a stable order (category, then file)."""
    found, broken = parse_all(extra_dirs)
    if broken:
        raise broken[0][1]
    return found


def select(analyzers: dict[str, Analyzer], name: str) -> list[Analyzer]:
    """`all` or one analyzer by name, with a helpful error for a typo."""
    if name == "all":
        return list(analyzers.values())
    if name not in analyzers:
        raise FinopsError(f"unknown analyzer {name!r}; choose one of: all, "
                          + ", ".join(analyzers) + " (see `finops analyzers`)")
    return [analyzers[name]]
