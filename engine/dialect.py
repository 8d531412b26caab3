"""DuckDB SQL to Spark SQL: the translation rules that let one analyzer file run on both engines.

Analyzers are written in DuckDB SQL, the one authoring dialect. For Spark,
each statement is parsed with sqlglot (DuckDB dialect), rewritten at the
syntax-tree level by the rules below, then generated as Spark SQL. Plain
sqlglot transpilation gets some constructs silently wrong (ISO weekday
numbers, 1-based list indexes, DECIMAL division, format specs); every rule
here exists because a statement returned a different answer without it,
and each has a named regression case in tests/test_spark_engine.py.

The rules, in the order they are applied:

1. Macros (`CREATE MACRO name(args) AS expr` in calls.sql) are expanded in
   place, recursively, with their arguments substituted.
2. `getvariable('name')` becomes a reference to the Spark session variable
   `session.name`, declared and set with a bound value by the engine (never
   pasted text).
3. `CREATE [OR REPLACE] TEMP TABLE t AS q` becomes `CACHE TABLE t AS q`,
   materialized once, as DuckDB does, instead of a view recomputed on every
   read.
4. `quantile_cont(x, p)` and `median(x)` become Spark's exact
   `percentile(x, p)`; a list of fractions gives an array, and a DuckDB
   list index (1-based) becomes a Spark array index (0-based).
5. `range(n) AS t(i)`, `range(a, b)` and `generate_series(a, b)` in FROM
   become `explode(sequence(...))` subqueries with the same column name
   (DuckDB's range excludes the end, generate_series includes it).
6. `format('{...}', args)` becomes a `concat` of Spark formatting calls:
   `{:,.Nf}` is `format_number`, `{:.Nf}` the same without grouping,
   `{:,}` groups a whole number, `{}` a plain string form.
7. `dayname(t)` is the full English day name and `isodow(t)` the ISO day
   number (Monday 1 .. Sunday 7).
8. Division is DOUBLE division, as in DuckDB (Spark keeps a DECIMAL scale).
9. `list(x ORDER BY y)` keeps its order (sorted array of structs).
10. Table macros (`CREATE MACRO m(a) AS TABLE SELECT ...`) used in FROM
    become their SELECT as a subquery, and so does `query('SELECT ...')`
    of a literal text.
11. `epoch_ms`, a LIMIT computed by a subquery, `quantile_disc`, DECIMAL
    percentiles (DuckDB's exact, floored interpolation), `GROUP BY ALL`,
    aggregates in ORDER BY, `any_value(..) FILTER`, and scalar subqueries
    of a grouped SELECT (into its GROUP BY), `error()`,
    `regexp_full_match()`, `arg_min(x, (a, b))`, list indexes,
    `string_agg(DISTINCT ..)`, `strlen`, `timezone('UTC', t)` and
    MATERIALIZED CTEs: each the way Spark takes it, see the rule's
    docstring.

What has no faithful translation is reported by `untranslatable()` with the
construct's name, which `finops check --engine spark` prints with file:line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

try:  # sqlglot is part of the optional `finops[spark]` extra
    import sqlglot
    from sqlglot import exp
except ImportError:  # pragma: no cover - exercised only without the extra
    sqlglot = None
    exp = None

from .errors import FinopsError


def require_sqlglot() -> None:
    if sqlglot is None:
        raise FinopsError("the Spark engine needs the spark extra: pip install 'finops[spark]'")


@dataclass
class Macro:
    name: str
    params: list[str]
    body: "exp.Expression"
    table: bool = False  # `AS TABLE SELECT ...`: used in FROM, expands to a subquery


# --- macros -------------------------------------------------------------------

_MACRO = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?MACRO\s+(\w+)\s*"
                    r"\(([^)]*)\)\s+AS\s+(TABLE\s+)?(.*)", re.I | re.S)


def parse_macros(statements: list[str]) -> dict[str, Macro]:
    """The scalar macros defined by `CREATE MACRO` statements, by lower-case name."""
    require_sqlglot()
    macros: dict[str, Macro] = {}
    for text in statements:
        m = _MACRO.match(strip_comments(text).strip().rstrip(";"))
        if not m:
            continue
        params = [p.strip() for p in m.group(2).split(",") if p.strip()]
        body = sqlglot.parse_one(m.group(4), read="duckdb")
        macros[m.group(1).lower()] = Macro(m.group(1).lower(), params, body, table=bool(m.group(3)))
    return macros


def strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


def _call_name(node) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return None


def _macro_body(macro: Macro, args: list):
    """The macro's body with its parameters replaced by the call's arguments."""
    if len(args) != len(macro.params):
        raise FinopsError(f"macro {macro.name} takes {len(macro.params)} arguments, got {len(args)}")
    mapping = {p.lower(): a for p, a in zip(macro.params, args)}

    def sub(n):
        if isinstance(n, exp.Column) and not n.table and n.name.lower() in mapping:
            arg = mapping[n.name.lower()]
            # A literal stays a literal (getvariable(key) needs one).
            return arg.copy() if isinstance(arg, exp.Literal) else exp.Paren(this=arg.copy())
        return n
    return macro.body.transform(sub)  # on a copy of the body


def _expand_macros(tree, macros: dict[str, Macro]):
    """tree (the caller's own, changed in place) with its macro calls expanded."""
    expanded = 0

    def expand(node):
        nonlocal expanded
        # A table macro in FROM: `report_actions('x') [AS a]` is `(SELECT ...) AS a`.
        if isinstance(node, exp.Table) and _call_name(node.this) in macros:
            macro = macros[_call_name(node.this)]
            if not macro.table:
                raise FinopsError(f"macro {macro.name} is not a table macro")
            alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(macro.name))
            expanded += 1
            return exp.Subquery(this=_macro_body(macro, node.this.expressions), alias=alias.copy())
        name = _call_name(node)
        if name in macros and not macros[name].table:
            expanded += 1
            return exp.Paren(this=_macro_body(macros[name], node.expressions))
        return node
    # Expand until no macro call is left (macros may call macros): a pass
    # does not look inside the bodies it puts in.
    for _ in range(10):
        expanded = 0
        tree = tree.transform(expand, copy=False)
        if not expanded:
            break
    return tree


# --- one rule per construct ---------------------------------------------------

def _getvariable(node):
    if _call_name(node) == "getvariable":
        arg = node.expressions[0] if node.expressions else None
        if not isinstance(arg, exp.Literal) or not arg.is_string:
            raise FinopsError("getvariable() needs a literal name to run on Spark")
        return exp.column(arg.this, table="session")
    return node


def _percentiles(node):
    if isinstance(node, exp.PercentileCont):
        return _decimal_percentile(node, _percentile_call(node))
    if isinstance(node, exp.Median):
        call = exp.Anonymous(this="percentile", expressions=[node.this.copy(), exp.Literal.number(0.5)])
        return _decimal_percentile(node, call)
    if isinstance(node, exp.PercentileDisc) and not isinstance(node.parent, exp.WithinGroup):
        # quantile_disc(x, p): the SQL standard's percentile_disc, which keeps x's type.
        return exp.WithinGroup(this=exp.Anonymous(this="percentile_disc", expressions=[node.expression.copy()]),
                               expression=exp.Order(expressions=[exp.Ordered(this=node.this.copy())]))
    return node


def _decimal_percentile(node, call):
    """DuckDB interpolates a DECIMAL column's percentile in its own type: the
    lower value plus the gap times the fraction, cut down (floor) to the
    column's scale. Spark's percentile is a DOUBLE. When the argument is a
    column whose type the runner knows (see translate's column_types), the
    DOUBLE is floored back to that DECIMAL (scale up to 6: exact there)."""
    decimal = node.meta.get("decimal_type")
    if not decimal:
        return call
    precision, scale = decimal

    def floored(value):
        units = exp.Anonymous(this="floor", expressions=[exp.Anonymous(this="round", expressions=[
            exp.Mul(this=value, expression=exp.Literal.number(f"1e{scale}")), exp.Literal.number(6)])])
        whole = exp.Cast(this=units, to=exp.DataType.build("DECIMAL(38, 0)"))
        unit = exp.Cast(this=exp.Literal.string(f"1e-{scale}"), to=exp.DataType.build(f"DECIMAL({scale + 1}, {scale})"))
        return exp.Cast(this=exp.Paren(this=exp.Mul(this=whole, expression=unit)),
                        to=exp.DataType.build(f"DECIMAL({precision}, {scale})"))
    if isinstance(node.args.get("expression"), exp.Array):
        lam = exp.Lambda(this=floored(exp.column("q")), expressions=[exp.to_identifier("q")])
        return exp.Anonymous(this="transform", expressions=[call, lam])
    return floored(call)


def _mark_decimal_percentiles(tree, column_types):
    """Note the DECIMAL type of each percentile's argument when it is a column
    of a table the runner knows (column_types(table, column) -> (p, s) or None)."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    for node in tree.find_all(exp.PercentileCont, exp.Median):
        arg = node.this
        select = node.find_ancestor(exp.Select)
        if not isinstance(arg, exp.Column) or select is None:
            continue
        sources = [select.args["from_"].this] if select.args.get("from_") else []
        sources += [j.this for j in select.args.get("joins") or []]
        for table in sources:
            if not isinstance(table, exp.Table) or table.name.lower() in ctes:
                continue
            if arg.table and arg.table.lower() != table.alias_or_name.lower():
                continue
            found = column_types(table.name.lower(), arg.name.lower())
            if found:
                node.meta["decimal_type"] = found
                break


def _percentile_call(node):
    fraction = node.expression.copy()
    if isinstance(fraction, exp.Array):
        fraction = exp.Anonymous(this="array", expressions=fraction.expressions)
    return exp.Anonymous(this="percentile", expressions=[node.this.copy(), fraction])


def _series(node):
    """range()/generate_series() in FROM: a subquery over explode(sequence(...))."""
    if not (isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries)):
        return node
    series = node.this
    alias = node.args.get("alias")
    table_name = alias.name if alias else "series"
    columns = alias.columns if alias else []
    column = columns[0].name if columns else ("range" if series.args.get("is_end_exclusive") else "generate_series")
    end = series.args["end"].copy()
    if series.args.get("is_end_exclusive"):
        end = exp.Sub(this=exp.Paren(this=end), expression=exp.Literal.number(1))
    start = series.args.get("start") or exp.Literal.number(0)
    seq_args = [start.copy(), end]
    if series.args.get("step") is not None:
        seq_args.append(series.args["step"].copy())
    # sequence(a, b) with b < a counts down in Spark; DuckDB gives no rows,
    # and explode(NULL) gives none either.
    guarded = exp.Case(ifs=[exp.If(this=exp.GTE(this=end.copy(), expression=start.copy()),
                                   true=exp.Anonymous(this="sequence", expressions=seq_args))])
    explode = exp.Anonymous(this="explode", expressions=[guarded])
    return exp.Lateral(this=explode, alias=exp.TableAlias(this=exp.to_identifier(table_name),
                                                          columns=[exp.to_identifier(column)]))


_SPEC = re.compile(r"\{(?::([^}]*))?\}")
_FMT = re.compile(r"^(?P<sign>\+)?(?P<comma>,)?(?:\.(?P<prec>\d+)f)?$")


def _format_arg(spec: str, value):
    """One `{spec}` of DuckDB's format() as a Spark string expression."""
    m = _FMT.match(spec or "")
    if not m:
        raise FinopsError(f"format spec {{:{spec}}} has no Spark translation")
    as_double = exp.Cast(this=value.copy(), to=exp.DataType.build("DOUBLE"))
    if m.group("prec") is not None:
        text = exp.Anonymous(this="format_number", expressions=[as_double, exp.Literal.number(int(m.group("prec")))])
        if not m.group("comma"):
            text = exp.Anonymous(this="replace", expressions=[text, exp.Literal.string(","), exp.Literal.string("")])
    elif m.group("comma"):
        whole = exp.Cast(this=value.copy(), to=exp.DataType.build("BIGINT"))
        text = exp.Anonymous(this="format_number", expressions=[whole, exp.Literal.number(0)])
    else:
        text = _plain_string(value)
    if m.group("sign"):
        text = exp.Concat(expressions=[exp.If(this=exp.GTE(this=value.copy(), expression=exp.Literal.number(0)),
                                              true=exp.Literal.string("+"), false=exp.Literal.string("")), text])
    return text


def _plain_string(value):
    """DuckDB's `{}`: a DECIMAL prints as its DOUBLE (1.5, not 1.500000)."""
    if isinstance(value, exp.Literal) and value.is_string:
        return value.copy()
    as_text = exp.Cast(this=value.copy(), to=exp.DataType.build("STRING"))
    # Both branches must type-check for any type; typeof() is constant for
    # a column, so Spark folds the CASE away.
    via_double = exp.Anonymous(this="regexp_replace", expressions=[
        as_text.copy(), exp.Literal.string(r"(\.\d*?[0-9])0+$"), exp.Literal.string("$1")])
    is_decimal = exp.Like(this=exp.Anonymous(this="typeof", expressions=[value.copy()]),
                          expression=exp.Literal.string("decimal%"))
    return exp.Case(ifs=[exp.If(this=is_decimal, true=via_double)], default=as_text)


def _literal_text(node) -> str | None:
    """The text of a string literal, or of literals joined with ||."""
    if isinstance(node, exp.Literal) and node.is_string:
        return node.this
    if isinstance(node, (exp.DPipe, exp.Concat)):
        parts = [node.this, node.expression] if isinstance(node, exp.DPipe) else node.expressions
        texts = [_literal_text(p) for p in parts]
        return None if any(t is None for t in texts) else "".join(texts)
    if isinstance(node, exp.Paren):
        return _literal_text(node.this)
    return None


def _format(node):
    if not isinstance(node, exp.Format):
        return node
    text = _literal_text(node.this)
    if text is None:
        raise FinopsError("format() needs a literal template to run on Spark")
    args = list(node.expressions)
    parts, pos, i = [], 0, 0
    for m in _SPEC.finditer(text):
        if m.start() > pos:
            parts.append(exp.Literal.string(text[pos:m.start()]))
        if i >= len(args):
            raise FinopsError(f"format() template {text!r} has more fields than arguments")
        parts.append(_format_arg(m.group(1) or "", args[i]))
        i += 1
        pos = m.end()
    if pos < len(text):
        parts.append(exp.Literal.string(text[pos:]))
    if not parts:
        return exp.Literal.string("")
    return exp.Concat(expressions=parts) if len(parts) > 1 else parts[0]


def _days(node):
    if isinstance(node, exp.Dayname):
        return exp.Anonymous(this="date_format", expressions=[node.this.copy(), exp.Literal.string("EEEE")])
    if isinstance(node, exp.DayOfWeekIso):
        # Spark dayofweek: Sunday 1 .. Saturday 7; ISO: Monday 1 .. Sunday 7.
        dow = exp.Anonymous(this="dayofweek", expressions=[node.this.copy()])
        return exp.Paren(this=exp.Add(
            this=exp.Mod(this=exp.Paren(this=exp.Add(this=dow, expression=exp.Literal.number(5))),
                         expression=exp.Literal.number(7)),
            expression=exp.Literal.number(1)))
    return node


def _division(node):
    already = isinstance(node.this, exp.Cast) and node.this.to.this == exp.DataType.Type.DOUBLE
    if isinstance(node, exp.Div) and not already:
        return exp.Div(this=exp.Cast(this=node.this.copy(), to=exp.DataType.build("DOUBLE")),
                       expression=node.expression.copy())
    return node


def _ordered_list(node):
    """list(x ORDER BY k1 [DESC], ...) [FILTER (...)]: collect structs (the
    FILTER on the collecting), sort with a comparator, keep x."""
    where = None
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        where, node = node.expression, node.this
    elif isinstance(node, exp.ArrayAgg) and isinstance(node.parent, exp.Filter):
        return node  # rewritten with its FILTER, one level up
    if not (isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order)):
        return node if where is None else node.parent
    value = node.this.this
    keys = node.this.expressions
    fields = [exp.alias_(k.this.copy(), f"k{i}") for i, k in enumerate(keys)]
    fields.append(exp.alias_(value.copy(), "v"))
    pairs = exp.Anonymous(this="collect_list", expressions=[exp.Anonymous(this="struct", expressions=fields)])
    if where is not None:
        pairs = exp.Filter(this=pairs, expression=where.copy())
    ifs = []
    for i, key in enumerate(keys):
        left, right = exp.column(f"k{i}", table="l"), exp.column(f"k{i}", table="r")
        before, after = (exp.GT, exp.LT) if key.args.get("desc") else (exp.LT, exp.GT)
        ifs.append(exp.If(this=before(this=left.copy(), expression=right.copy()), true=exp.Literal.number(-1)))
        ifs.append(exp.If(this=after(this=left, expression=right), true=exp.Literal.number(1)))
    comparator = exp.Lambda(this=exp.Case(ifs=ifs, default=exp.Literal.number(0)),
                            expressions=[exp.to_identifier("l"), exp.to_identifier("r")])
    ordered = exp.Anonymous(this="array_sort", expressions=[pairs, comparator])
    return exp.Anonymous(this="transform", expressions=[
        ordered, exp.Lambda(this=exp.column("v", table="s"), expressions=[exp.to_identifier("s")])])


def _list_slice(node):
    """DuckDB list slices are 1-based and inclusive: `l[a:b]` is slice(l, a, b - a + 1)."""
    if not (isinstance(node, exp.Bracket) and len(node.expressions) == 1
            and isinstance(node.expressions[0], exp.Slice)):
        return node
    index = node.expressions[0]
    start = index.this or exp.Literal.number(1)
    if index.expression is None:
        length = exp.Anonymous(this="size", expressions=[node.this.copy()])
    else:
        length = exp.Add(this=exp.Sub(this=index.expression.copy(), expression=start.copy()),
                         expression=exp.Literal.number(1))
    return exp.Anonymous(this="slice", expressions=[node.this.copy(), start.copy(), length])


def _percentile_index(tree):
    """`quantile_cont(x, [..])[i]`: sqlglot types the call as a number and
    leaves the 1-based index as it is; other list indexes it already
    normalizes. Spark arrays are 0-based. (Run before the bottom-up rules.)"""
    for node in list(tree.find_all(exp.Bracket)):
        if (isinstance(node.this, exp.PercentileCont) and len(node.expressions) == 1
                and isinstance(node.expressions[0], exp.Literal) and not node.expressions[0].is_string):
            node.set("expressions", [exp.Literal.number(int(node.expressions[0].this) - 1)])
    return tree


def _epoch_ms(node):
    """DuckDB's epoch_ms(t) of a timestamp is milliseconds since 1970 (Spark unix_millis);
    epoch_ms(n) of a number is a timestamp (Spark timestamp_millis). Which one
    is decided by the argument as written: a number literal, or arithmetic of
    literals, is a number; anything else is taken as a timestamp."""
    if not (isinstance(node, exp.UnixToTime) and isinstance(node.args.get("scale"), exp.Literal)
            and str(node.args["scale"].this) == "3"):
        return node
    value = node.this
    if all(isinstance(n, (exp.Literal, exp.Neg, exp.Paren, exp.Binary)) for n in value.walk()) \
            and value.find(exp.Literal):
        return exp.Anonymous(this="timestamp_millis", expressions=[value.copy()])
    as_timestamp = exp.Cast(this=value.copy(), to=exp.DataType.build("TIMESTAMP"))
    return exp.Anonymous(this="unix_millis", expressions=[as_timestamp])


def _computed_limit(node):
    """`... ORDER BY k LIMIT (SELECT ...)`: Spark takes only a constant LIMIT, so
    number the ordered rows and keep those up to the subquery's value."""
    if not isinstance(node, exp.Select):
        return node
    limit = node.args.get("limit")
    if limit is None or not limit.expression.find(exp.Subquery):
        return node  # a literal or a session variable is constant: Spark takes it
    order = node.args.get("order")
    names = [p.alias_or_name for p in node.expressions]
    if (order is None or node.args.get("distinct") or node.args.get("offset")
            or any(not n or n == "*" for n in names)):
        raise FinopsError("LIMIT of a computed value needs ORDER BY and named columns to run on Spark")
    inner = node.copy()
    inner.set("limit", None)
    inner.set("order", None)
    number = exp.Window(this=exp.RowNumber(), order=order.copy())
    inner = inner.select(exp.alias_(number, "_limit_row"), copy=False)
    count = limit.expression.copy()
    outer = (exp.select(*[exp.column(n) for n in names])
             .from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_limited"))))
             .where(exp.LTE(this=exp.column("_limit_row"), expression=count))
             .order_by(exp.column("_limit_row")))
    return outer


def _any_value(node):
    """DuckDB's any_value skips NULLs; sqlglot writes `any_value(x) IGNORE NULLS`,
    which Spark does not parse before FILTER: use any_value(x, true)."""
    if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
        return exp.Anonymous(this="any_value", expressions=[node.this.this.copy(), exp.true()])
    return node


def _group_by_all(node):
    """GROUP BY ALL as the explicit list of projections without an aggregate:
    Spark's GROUP BY ALL leaves an ORDER BY over input columns (`ORDER BY
    min(calls)`) unresolved."""
    if not (isinstance(node, exp.Select) and isinstance(node.args.get("group"), exp.Group)
            and node.args["group"].args.get("all")):
        return node
    keys = []
    for proj in node.expressions:
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        if not _is_aggregate(inner):
            keys.append(inner.copy())
    node.set("group", exp.Group(expressions=keys) if keys else None)
    return node


def _ordered_by_aggregate(node):
    """`GROUP BY ... ORDER BY min(x)` over a column x that is not projected:
    Spark resolves ORDER BY against the output and fails; project the order
    keys under hidden names and order an outer SELECT by them."""
    if not isinstance(node, exp.Select) or node.args.get("order") is None:
        return node
    order = node.args["order"]
    if not any(o.find(exp.AggFunc) and not o.find(exp.Window) for o in order.expressions):
        return node
    names = [p.alias_or_name for p in node.expressions]
    if node.args.get("distinct") or any(not n or n == "*" for n in names):
        return node  # left to Spark (it may resolve it)
    inner = node.copy()
    inner.set("order", None)
    inner.set("limit", None)
    inner.set("offset", None)
    keys = []
    for i, o in enumerate(order.expressions):
        key = o.this
        if isinstance(key, exp.Column) and not key.table and key.name in names:
            keys.append(o.copy())
            continue
        inner = inner.select(exp.alias_(key.copy(), f"_order{i}"), copy=False)
        ordered = o.copy()
        ordered.set("this", exp.column(f"_order{i}"))
        keys.append(ordered)
    outer = (exp.select(*[exp.column(n) for n in names])
             .from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_ordered")))))
    outer.set("order", exp.Order(expressions=keys))
    for part in ("limit", "offset"):
        if node.args.get(part) is not None:
            outer.set(part, node.args[part].copy())
    return outer


def _own_nodes(node, kind):
    """node and the nodes under it of type kind, not looking inside subqueries."""
    if isinstance(node, kind):
        yield node
    if isinstance(node, (exp.Subquery, exp.Select)):
        return
    yield from _own_children(node, kind)


def _own_children(node, kind):
    for child in node.iter_expressions():
        if isinstance(child, (exp.Subquery, exp.Select)):
            if isinstance(child, kind):
                yield child
            continue
        if isinstance(child, kind):
            yield child
        yield from _own_children(child, kind)


def _is_aggregate(expression) -> bool:
    """An aggregate at this SELECT's level (not one inside a scalar subquery)."""
    return any(True for _ in _own_nodes(expression, (exp.AggFunc, exp.Window)))


def _subqueries_into_group_by(node):
    """A scalar subquery in a grouped SELECT's projections joins its GROUP BY:
    Spark requires a correlated one there (it is one value per group, so
    the groups stay the same)."""
    if not (isinstance(node, exp.Select) and isinstance(node.args.get("group"), exp.Group)
            and not node.args["group"].args.get("all")):
        return node
    group = node.args["group"]
    keys = [k.sql() for k in group.expressions]
    for proj in node.expressions:
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        for sub in list(_own_nodes(inner, exp.Subquery)):
            if isinstance(sub.parent, (exp.In, exp.Exists)) or sub.find_ancestor(exp.AggFunc):
                continue
            if sub.sql() not in keys:
                group.append("expressions", sub.copy())
                keys.append(sub.sql())
    return node


def _query_function(tree):
    """`query('SELECT ...')` in FROM (DuckDB runs the text as a query): the text,
    parsed as DuckDB SQL, as a subquery. Only a literal text has a faithful
    translation (list_price_match('...') passes one). Runs before the
    bottom-up rules, so they rewrite the inner query too."""
    def sub(node):
        if isinstance(node, exp.Table) and _call_name(node.this) == "query":
            args = node.this.expressions
            if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
                raise FinopsError("query() needs a literal SQL text to run on Spark")
            inner = parse(args[0].this)
            alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier("query"))
            return exp.Subquery(this=inner, alias=alias.copy())
        return node
    return tree.transform(sub)


def _list_index(node):
    """`l[i]`: DuckDB gives NULL past a list's end (the contract reads f[19] of a
    line with fewer fields) and counts a computed index from 1; Spark's `l[i]`
    is 0-based and fails past the end. try_element_at is 1-based and NULL
    past the end (and a map lookup for a map). sqlglot already made a
    literal index 0-based; a string literal is a map key and stays."""
    if not (isinstance(node, exp.Bracket) and len(node.expressions) == 1):
        return node
    index = node.expressions[0]
    if isinstance(index, exp.Slice) or (isinstance(index, exp.Literal) and index.is_string):
        return node
    if isinstance(index, exp.Literal):
        index = exp.Literal.number(int(index.this) + 1)
    return exp.Anonymous(this="try_element_at", expressions=[node.this.copy(), index.copy()])


def _distinct_string_agg(node):
    """string_agg(DISTINCT x, sep) [FILTER (...)] without an order: Spark fails
    (a ClassCastException) when such a listagg shares a SELECT with an ordered
    one. The distinct values, sorted, joined; NULL over no rows, as in DuckDB."""
    if isinstance(node, exp.GroupConcat) and isinstance(node.parent, exp.Filter):
        return node  # rewritten with its FILTER, one level up
    agg = node.this if isinstance(node, exp.Filter) else node
    if not (isinstance(agg, exp.GroupConcat) and isinstance(agg.this, exp.Distinct)
            and len(agg.this.expressions) == 1):
        return node
    values = exp.Anonymous(this="collect_set", expressions=[agg.this.expressions[0].copy()])
    if isinstance(node, exp.Filter):
        values = exp.Filter(this=values, expression=node.expression.copy())
    ordered = exp.Anonymous(this="array_sort", expressions=[values])
    separator = agg.args.get("separator") or exp.Literal.string(",")
    return exp.Case(ifs=[exp.If(this=exp.GT(this=exp.Anonymous(this="size", expressions=[ordered.copy()]),
                                            expression=exp.Literal.number(0)),
                                true=exp.Anonymous(this="array_join", expressions=[ordered, separator.copy()]))])


def _utc_wall_time(node):
    """timezone('UTC', t) of a TIMESTAMPTZ is its UTC wall time. A Spark TIMESTAMP
    is an instant shown in the session's time zone, which finops sets to UTC
    (spark.py, spark_session): the same value, so t itself."""
    if (_call_name(node) == "timezone" and len(node.expressions) == 2
            and isinstance(node.expressions[0], exp.Literal)
            and str(node.expressions[0].this).upper() == "UTC"):
        value = node.expressions[1].copy()
        if isinstance(value, (exp.Cast, exp.TryCast)) and value.to.this == exp.DataType.Type.TIMESTAMPTZ:
            # Spark reads a time with an offset only with its seconds
            # ('..T00:10+02' is NULL there, 00:10:00 in DuckDB): add them.
            value.set("this", exp.Anonymous(this="regexp_replace", expressions=[
                value.this.copy(), exp.Literal.string(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2})(?=[Z+-])"),
                exp.Literal.string("$1:00")]))
        return value
    return node


def _materialized(node):
    """`WITH x AS MATERIALIZED (...)` is a DuckDB planning hint: Spark takes the CTE without it."""
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
    return node


def _strlen(node):
    """DuckDB's strlen(s) counts bytes: Spark's octet_length."""
    if _call_name(node) == "strlen":
        return exp.Anonymous(this="octet_length", expressions=[a.copy() for a in node.expressions])
    return node


def _error(node):
    """DuckDB's error(message) fails the query with that message: Spark's raise_error."""
    if _call_name(node) == "error":
        return exp.Anonymous(this="raise_error", expressions=[a.copy() for a in node.expressions])
    return node


def _full_match(node):
    """regexp_full_match(s, p): the whole string matches. Spark's RLIKE finds p
    anywhere, and `$` also matches before a final line break: anchor with ^ and \\z."""
    if not isinstance(node, exp.RegexpFullMatch):
        return node
    pattern = node.expression
    text = _literal_text(pattern)
    if text is not None:
        anchored = exp.Literal.string(f"^(?:{text})\\z")
    else:
        anchored = exp.Concat(expressions=[exp.Literal.string("^(?:"), pattern.copy(),
                                           exp.Literal.string(")\\z")])
    return exp.RegexpLike(this=node.this.copy(), expression=anchored)


def _row_key(node):
    """arg_min(x, (a, b)) orders by the row (a, b), where DuckDB puts a NULL
    field after every value; a Spark struct puts it first. Each field becomes
    (field IS NULL, field), so a NULL sorts last on both engines."""
    if not (isinstance(node, exp.Tuple) and isinstance(node.parent, (exp.ArgMin, exp.ArgMax))
            and node.arg_key == "expression"):
        return node
    fields = []
    for field in node.expressions:
        fields += [exp.Is(this=field.copy(), expression=exp.Null()), field.copy()]
    return exp.Anonymous(this="struct", expressions=fields)


def _hugeint(node):
    """DuckDB HUGEINT (128-bit) is Spark DECIMAL(38, 0)."""
    if isinstance(node, exp.DataType) and node.this in (exp.DataType.Type.INT128,):
        return exp.DataType.build("DECIMAL(38, 0)")
    return node


def spark_type(duckdb_type: str) -> str:
    """A DuckDB column type (as DESCRIBE names it) as a Spark SQL type."""
    require_sqlglot()
    return _hugeint(exp.DataType.build(duckdb_type, dialect="duckdb")).sql(dialect="spark")


def _values_with_subqueries(node):
    """VALUES rows holding scalar subqueries (Spark refuses them) as UNION ALL of SELECTs."""
    if not (isinstance(node, exp.Values) and node.find(exp.Subquery)):
        return node
    alias = node.args.get("alias")
    names = [c.name for c in alias.columns] if alias else []
    selects = []
    for row in node.expressions:
        values = row.expressions if isinstance(row, exp.Tuple) else [row]
        selects.append(exp.select(*[exp.alias_(v.copy(), names[i]) if i < len(names) else v.copy()
                                    for i, v in enumerate(values)]))
    union = selects[0]
    for sel in selects[1:]:
        union = exp.union(union, sel, distinct=False)
    return exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier(alias.name)) if alias else None)


def _nested_generators(node):
    """unnest()/explode() inside an expression of a SELECT list: Spark wants it in FROM."""
    if not isinstance(node, exp.Select):
        return node
    found = [g for proj in node.expressions for g in proj.find_all(exp.Explode)
             if g.parent is not proj and not isinstance(g.parent, exp.Alias)]
    for i, gen in enumerate(found):
        name = f"_gen{i}"
        inner = gen.this.copy()
        if isinstance(inner, exp.GenerateSeries):
            args = [inner.args["start"].copy(), inner.args["end"].copy()]
            if inner.args.get("step") is not None:
                args.append(inner.args["step"].copy())
            inner = exp.Anonymous(this="sequence", expressions=args)
        gen.replace(exp.column("v", table=name))
        node = _join_generator(node, exp.Anonymous(this="explode", expressions=[inner]), name, ["v"])
    return node


def _zipped_generators(node):
    """Several unnest()s in one SELECT list run in parallel in DuckDB (zipped)."""
    if not isinstance(node, exp.Select):
        return node
    gens = [(i, p) for i, p in enumerate(node.expressions)
            if isinstance(p, exp.Alias) and isinstance(p.this, exp.Explode)]
    if len(gens) < 2:
        return node
    names = [p.alias for _, p in gens]
    arrays = [p.this.this for _, p in gens]
    zipped = exp.Anonymous(this="inline", expressions=[exp.Anonymous(this="arrays_zip", expressions=arrays)])
    for i, p in gens:
        node.expressions[i] = exp.alias_(exp.column(p.alias, table="_zip"), p.alias)
    node.set("expressions", list(node.expressions))
    return _join_generator(node, zipped, "_zip", names)


def _join_generator(select, generator, name: str, columns: list[str]):
    """FROM generator AS name(columns), or a LATERAL join when there is a FROM already."""
    alias = exp.TableAlias(this=exp.to_identifier(name), columns=[exp.to_identifier(c) for c in columns])
    if select.args.get("from_") is None:
        select.set("from_", exp.From(this=exp.Table(this=generator, alias=alias)))
        return select
    return select.join(exp.Lateral(this=generator, alias=alias))


RULES = (_strlen, _utc_wall_time, _distinct_string_agg, _materialized, _error, _full_match, _row_key, _hugeint, _any_value, _group_by_all, _subqueries_into_group_by, _ordered_by_aggregate, _computed_limit, _epoch_ms, _zipped_generators, _list_slice, _values_with_subqueries, _nested_generators, _getvariable, _percentiles, _series, _format, _days, _division, _ordered_list, _list_index)


def _bottom_up(node, rule):
    """Apply rule to every node, children first, so a rule sees rewritten children.

    (sqlglot's transform() is top-down and does not visit the subtrees a
    rule builds from copies of its children.)
    """
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _bottom_up(value, rule))
        elif isinstance(value, list):
            node.set(key, [_bottom_up(v, rule) if isinstance(v, exp.Expression) else v for v in value])
    return rule(node)


def parse(sql: str, macros: dict[str, Macro] | None = None):
    """One DuckDB statement as a sqlglot tree, its macros expanded."""
    require_sqlglot()
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise FinopsError(f"cannot parse for Spark: {str(exc).splitlines()[0]}") from None
    tree = _expand_macros(tree, macros) if macros else tree
    return _query_function(tree)


def _variables_read(tree) -> set[str]:
    """The names a parsed statement reads with getvariable('name')."""
    return {node.expressions[0].this.lower() for node in tree.find_all(exp.Anonymous)
            if _call_name(node) == "getvariable" and node.expressions
            and isinstance(node.expressions[0], exp.Literal) and node.expressions[0].is_string}


def translate(sql: str, macros: dict[str, Macro] | None = None, column_types=None) -> str:
    """One DuckDB statement as Spark SQL (raises FinopsError when it cannot).

    column_types(table, column) -> (precision, scale) of a DECIMAL column, or
    None: lets percentiles of DECIMAL columns keep DuckDB's exact type."""
    return translate_tree(parse(sql, macros), column_types)[0]


def translate_tree(tree, column_types=None) -> tuple[str, set[str]]:
    """A statement parsed by parse() (a tree this may change) as translate()
    gives it, and the names it reads with getvariable('name'), its macros
    expanded: one parse for both (expanding the macros is most of its cost)."""
    variables = _variables_read(tree)
    if column_types is not None:
        _mark_decimal_percentiles(tree, column_types)
    cache_as = None
    if isinstance(tree, exp.Create) and tree.args.get("kind") == "TABLE":
        props = tree.args.get("properties")
        if props and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions):
            cache_as = tree.this.name
            tree = tree.expression
    tree = _percentile_index(tree)
    for rule in RULES:
        tree = _bottom_up(tree, rule)
    try:
        text = tree.sql(dialect="spark")
    except sqlglot.errors.UnsupportedError as exc:
        raise FinopsError(f"no Spark translation: {exc}") from None
    if cache_as:
        return f"CACHE TABLE {cache_as} AS {text}", variables
    return text, variables
