"""Find analyzer files and read their machine-readable headers.

An analyzer is one `.sql` file: a header of `-- key: value` comments, then
named queries, each starting with `-- query: NAME` followed by optional
`-- key: value` display hints and one SQL statement. See sql/README.md.
A malformed file is a FinopsError that names the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .errors import FinopsError
from .paths import ENGINE_SQL, SQL_DIR, STATEMENTS_DIR

CATEGORIES = {"finops": "FinOps", "ubr": "Usage-based revenue"}
REQUIRED_KEYS = ("name", "title", "category", "version", "description")
_KEY_LINE = re.compile(r"^--\s*([A-Za-z_][\w-]*)\s*:\s?(.*)$")
_PARAM = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(.*?)\s*(?:\|\s*(.*))?$")
_NAME = re.compile(r"^[A-Za-z_][\w-]*$")
# Display hints a query may carry (sql/README.md); any other `-- Word: text`
# comment after `-- query:` is an ordinary SQL comment.
HINT_KEYS = {"title", "description", "chart", "x", "y", "band", "label", "limit", "format"}


@dataclass
class Param:
    name: str
    default: object
    description: str = ""

    def coerce(self, text: str, where: str) -> object:
        """A --param value, typed like the default (int, float, date or text)."""
        try:
            if isinstance(self.default, bool):
                return text.lower() in {"1", "true", "yes", "on"}
            if isinstance(self.default, int):
                return int(text)
            if isinstance(self.default, float):
                return float(text)
            if isinstance(self.default, date):
                return date.fromisoformat(text)
        except ValueError:
            kind = type(self.default).__name__
            raise FinopsError(f"{where}: --param {self.name}={text!r} is not a valid {kind} "
                              f"(default {self.default})") from None
        return text


@dataclass
class Query:
    name: str
    sql: str
    line: int  # line of the file where the SQL starts
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def hidden(self) -> bool:
        """Setup statements (`-- query: _name`) run but are not reported."""
        return self.name.startswith("_")

    @property
    def title(self) -> str:
        return self.meta.get("title") or self.name.replace("_", " ").capitalize()


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


def parse_analyzer(path: Path) -> Analyzer:
    """Read one analyzer file; raise FinopsError naming path:line on any flaw."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FinopsError(f"{path}: cannot read analyzer file: {exc}") from None
    lines = text.splitlines()
    header: dict[str, str] = {}
    params: dict[str, Param] = {}
    i = 0
    last_key = None
    # Header: comment lines until the first `-- query:`.
    while i < len(lines) and not re.match(r"^--\s*query\s*:", lines[i]):
        line = lines[i]
        stripped = line.strip()
        match = _KEY_LINE.match(stripped)
        if match and match.group(1) == "param":
            pmatch = _PARAM.match(match.group(2).strip())
            if not pmatch:
                raise FinopsError(f"{path}:{i + 1}: malformed parameter {match.group(2)!r}; "
                                  "write `-- param: name = default | description`")
            pname, pdefault, pdesc = pmatch.groups()
            params[pname] = Param(pname, _parse_default(pdefault), (pdesc or "").strip())
            last_key = None
        elif match and not line.startswith("--  "):
            last_key = match.group(1).lower()
            header[last_key] = match.group(2).strip()
        elif stripped.startswith("--") and last_key and line.startswith("--  "):
            header[last_key] += " " + stripped[2:].strip()  # indented continuation
        elif stripped and not stripped.startswith("--"):
            raise FinopsError(f"{path}:{i + 1}: SQL before the first `-- query: NAME` line")
        else:
            last_key = None
        i += 1

    for key in REQUIRED_KEYS:
        if not header.get(key):
            raise FinopsError(f"{path}:1: analyzer header lacks `-- {key}: ...`")
    if header["name"] != path.stem:
        raise FinopsError(f"{path}:1: analyzer name {header['name']!r} must equal the file name "
                          f"{path.stem!r}")
    try:
        version = int(header["version"])
    except ValueError:
        raise FinopsError(f"{path}:1: version must be a whole number, found "
                          f"{header['version']!r}") from None

    queries: list[Query] = []
    while i < len(lines):
        qmatch = re.match(r"^--\s*query\s*:\s*(\S*)\s*$", lines[i])
        if not qmatch or not _NAME.match(qmatch.group(1)):
            raise FinopsError(f"{path}:{i + 1}: expected `-- query: NAME` (a plain name)")
        qname, qline = qmatch.group(1), i + 1
        if any(q.name == qname for q in queries):
            raise FinopsError(f"{path}:{qline}: query {qname!r} is defined twice")
        i += 1
        meta: dict[str, str] = {}
        while (i < len(lines) and (m := _KEY_LINE.match(lines[i].strip()))
               and m.group(1).lower() in HINT_KEYS):
            meta[m.group(1).lower()] = m.group(2).strip()
            i += 1
        start = i
        while i < len(lines) and not re.match(r"^--\s*query\s*:", lines[i]):
            i += 1
        sql = "\n".join(lines[start:i]).strip()
        sql = sql.rstrip().rstrip(";").rstrip()
        if not re.sub(r"--[^\n]*", "", sql).strip():
            raise FinopsError(f"{path}:{qline}: query {qname!r} has no SQL")
        # The statement's first line in the file, for error messages.
        offset = next((n for n, ln in enumerate(lines[start:i]) if ln.strip()), 0)
        queries.append(Query(qname, sql, start + offset + 1, meta))
    if not any(not q.hidden for q in queries):
        raise FinopsError(f"{path}:{len(lines)}: analyzer has no queries; "
                          "add one after a `-- query: NAME` line")

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
    (calls.sql, filters.sql, the statements/ folder)."""
    return [p for folder in check_sql_dirs(sql_dirs)
            for p in sorted(folder.rglob("*.sql"))
            if p.resolve() not in ENGINE_SQL and STATEMENTS_DIR not in p.resolve().parents]


_BUILTIN_ORDER = ["understanding", "performance", "realtime", "optimization", "alignment",
                  "profitability", "pricing", "features"]


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
