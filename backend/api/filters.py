"""CVAT's list query language compiled to SQL: the JSON-logic `filter`, `search` and `sort`.

Pure: it only composes psycopg.sql objects. Field expressions come from the resource
declaration (trusted code); every user value travels as a bound parameter, never as text
inside the SQL. Each compiler returns a `Clause` (a Composable with `%s` placeholders and
the parameters for them, in order) or raises `FilterError` naming the query parameter.

The filter language is what CVAT's JsonLogicFilter accepts (cvat/apps/engine/filters.py):

    {"and": [rule, ...]}   {"or": [rule, ...]}   {"!": rule}   {"!!": rule}
    {"var": "field"}                              field is not null
    {"==" | "!=" | "<" | "<=" | ">" | ">=": [{"var": "field"}, value]}
    {"<=": [low, {"var": "field"}, high]}         between, bounds included
    {"in": [{"var": "field"}, [value, ...]]}      field is one of the values
    {"in": ["text", {"var": "field"}]}            field contains the text (case-sensitive)

`== null` / `!= null` test for null. Every atomic rule is two-valued (null never matches a
comparison), so `!` is plain negation: `{"!": {"==": [{"var": "assignee"}, "bob"]}}` also
matches rows without an assignee, as Django's `~Q(...)` does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from psycopg.sql import SQL, Composable, Composed

FieldType = Literal["int", "float", "str", "bool", "datetime"]

_INT64 = (-(2**63), 2**63 - 1)
_MAX_DEPTH = 32  # rules nest at most this deep (a filter comes from a query string)
_COMPARISONS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MIRRORED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class Field:
    """A filterable/sortable column: `sql` is a trusted SQL expression ("t.name",
    "owner.username", "(t.data->>'status')"), `type` how values given for it are read."""

    sql: str
    type: FieldType = "str"

    @property
    def expr(self) -> Composable:
        return SQL(self.sql)


class FilterError(ValueError):
    """Bad list input; the API answers 400 {param: [message]}."""

    def __init__(self, message: str, param: str = "filter") -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Clause:
    """A SQL fragment with `%s` placeholders and the values bound to them, in order."""

    sql: Composable
    params: tuple[Any, ...] = field(default=())

    def __and__(self, other: Clause) -> Clause:
        return Clause(SQL("({}) AND ({})").format(self.sql, other.sql), self.params + other.params)

    def __or__(self, other: Clause) -> Clause:
        return Clause(SQL("({}) OR ({})").format(self.sql, other.sql), self.params + other.params)

    def __invert__(self) -> Clause:
        return Clause(SQL("NOT ({})").format(self.sql), self.params)


TRUE = Clause(SQL("TRUE"))
FALSE = Clause(SQL("FALSE"))


def all_of(clauses: Iterable[Clause]) -> Clause:
    result: Clause | None = None
    for clause in clauses:
        result = clause if result is None else result & clause
    return TRUE if result is None else result


def any_of(clauses: Iterable[Clause]) -> Clause:
    result: Clause | None = None
    for clause in clauses:
        result = clause if result is None else result | clause
    return FALSE if result is None else result


# ---------------------------------------------------------------------------------- values


def coerce(value: Any, field_type: FieldType, name: str, param: str = "filter") -> Any:
    """A JSON (or query-string) value as the Python value compared with the column, the
    way Django would read it for the model field; anything else is a FilterError."""
    bad = FilterError(f"{value!r} is not a valid {field_type} value for '{name}'.", param)
    if field_type == "str":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad
        text = value if isinstance(value, str) else str(value)
        check_text(text, f"The value for '{name}'", param)
        return text
    if field_type == "int":
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,19}\s*", value):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        if not _INT64[0] <= value <= _INT64[1]:
            raise FilterError(f"{value} is out of range for '{name}'.", param)
        return value
    if field_type == "float":
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise bad from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise bad
        return number
    if field_type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise bad
    if field_type == "datetime":
        if not isinstance(value, str):
            raise bad
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise bad from None
        # A time without a zone is UTC (CVAT runs with USE_TZ and UTC).
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    raise AssertionError(field_type)  # pragma: no cover


def check_text(text: str, what: str, param: str) -> None:
    """Postgres text holds neither NUL characters nor lone surrogates."""
    if "\x00" in text:
        raise FilterError(f"{what} contains a NUL character.", param)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FilterError(f"{what} is not valid Unicode.", param) from None


# ---------------------------------------------------------------------------------- filter


def parse_filter(text: str) -> Any:
    """The JSON of a `filter` parameter (CVAT: 'Json syntax should be used')."""
    try:
        rules = msgspec.json.decode(text.encode("utf-8", "surrogatepass"))
    except (msgspec.DecodeError, UnicodeEncodeError):
        raise FilterError("Json syntax should be used.") from None
    if not isinstance(rules, dict) or not rules:
        raise FilterError("The filter must be a non-empty JSON object.")
    return rules


def compile_filter(rules: Any, fields: Mapping[str, Field]) -> Clause:
    """The WHERE fragment of a parsed JSON-logic filter over `fields`."""
    return _Compiler(fields).rule(rules, 0)


def filter_clause(text: str, fields: Mapping[str, Field]) -> Clause:
    """parse_filter + compile_filter: the `filter` query parameter as SQL."""
    return compile_filter(parse_filter(text), fields)


@dataclass
class _Compiler:
    fields: Mapping[str, Field]

    def rule(self, rule: Any, depth: int) -> Clause:
        if depth > _MAX_DEPTH:
            raise FilterError(f"The filter is nested deeper than {_MAX_DEPTH} levels.")
        if not isinstance(rule, dict) or len(rule) != 1:
            raise FilterError(f"A rule must be an object with one operator, got {_show(rule)}.")
        op, args = next(iter(rule.items()))
        if op in ("and", "or"):
            if not isinstance(args, list) or not args:
                raise FilterError(f"'{op}' takes a non-empty list of rules.")
            parts = [self.rule(arg, depth + 1) for arg in args]
            return all_of(parts) if op == "and" else any_of(parts)
        if op in ("!", "!!"):
            # json-logic writes unary arguments bare or as a one-element list.
            if isinstance(args, list):
                if len(args) != 1:
                    raise FilterError(f"'{op}' takes one rule.")
                args = args[0]
            inner = self.rule(args, depth + 1)
            return ~inner if op == "!" else inner
        if op == "var":
            column = self.field(args)
            return Clause(SQL("{} IS NOT NULL").format(column.expr))
        if op in _COMPARISONS:
            return self.comparison(op, args)
        if op == "in":
            return self.membership(args)
        raise FilterError(f"The '{op}' operation is not supported.")

    def field(self, var: Any) -> Field:
        if isinstance(var, list) and len(var) == 1:  # {"var": ["name"]}
            var = var[0]
        if not isinstance(var, str):
            raise FilterError(f"'var' takes a field name, got {_show(var)}.")
        try:
            return self.fields[var]
        except KeyError:
            known = ", ".join(sorted(self.fields))
            raise FilterError(f"'{var}' term is not supported (filter fields: {known}).") from None

    def var_of(self, arg: Any) -> tuple[str, Field] | None:
        if isinstance(arg, dict) and len(arg) == 1 and "var" in arg:
            name = arg["var"]
            column = self.field(name)
            return (name[0] if isinstance(name, list) else name), column
        return None

    def comparison(self, op: str, args: Any) -> Clause:
        if not isinstance(args, list) or len(args) not in (2, 3):
            raise FilterError(f"'{op}' takes two arguments, got {_show(args)}.")
        if len(args) == 3:
            if op not in ("<", "<="):
                raise FilterError(f"'{op}' takes two arguments, got {_show(args)}.")
            # Between: {"<=": [low, {"var": f}, high]}.
            low, middle, high = args
            found = self.var_of(middle)
            if found is None:
                raise FilterError(f"'{op}' with three arguments needs a var in the middle.")
            return self.compare(found, _MIRRORED[op], low) & self.compare(found, op, high)
        left, right = self.var_of(args[0]), self.var_of(args[1])
        if left is not None and right is None:
            return self.compare(left, op, args[1])
        if right is not None and left is None:
            return self.compare(right, _MIRRORED[op], args[0])
        raise FilterError(f"'{op}' compares one var with one value, got {_show(args)}.")

    def compare(self, target: tuple[str, Field], op: str, value: Any) -> Clause:
        name, column = target
        if value is None:
            if op not in ("==", "!="):
                raise FilterError(f"'{op}' cannot compare '{name}' with null.")
            test = "IS NULL" if op == "==" else "IS NOT NULL"
            return Clause(SQL("{} " + test).format(column.expr))
        if isinstance(value, dict | list):
            raise FilterError(f"'{op}' compares '{name}' with a value, got {_show(value)}.")
        bound = coerce(value, column.type, name)
        expr = column.expr
        if column.type == "str" and op not in ("==", "!="):
            expr = SQL('({} COLLATE "C")').format(expr)  # code-point order, any locale
        if op == "!=":  # null differs from every value (Django's ~Q on a nullable column)
            return Clause(SQL("{} IS DISTINCT FROM %s").format(expr), (bound,))
        template = SQL("COALESCE({} " + _COMPARISONS[op] + " %s, FALSE)")
        return Clause(template.format(expr), (bound,))

    def membership(self, args: Any) -> Clause:
        if not isinstance(args, list) or len(args) != 2:
            raise FilterError(f"'in' takes two arguments, got {_show(args)}.")
        first = self.var_of(args[0])
        if first is not None:  # {"in": [{"var": f}, [values]]}
            name, column = first
            values = args[1]
            if not isinstance(values, list):
                raise FilterError(f"'in' needs a list of values for '{name}'.")
            if any(v is None or isinstance(v, dict | list) for v in values):
                raise FilterError(f"'in' takes a list of plain values for '{name}'.")
            if not values:
                return FALSE
            bound = [coerce(v, column.type, name) for v in values]
            template = SQL("COALESCE({} = ANY(%s), FALSE)")
            return Clause(template.format(column.expr), (bound,))
        second = self.var_of(args[1])
        if second is None:
            raise FilterError(f"'in' needs a var, got {_show(args)}.")
        name, column = second  # {"in": ["text", {"var": f}]}: substring
        if column.type != "str":
            raise FilterError(f"'in' with a text tests a text field; '{name}' is not one.")
        needle = args[0]
        if not isinstance(needle, str):
            raise FilterError(f"'in' looks for a text in '{name}', got {_show(needle)}.")
        text = coerce(needle, "str", name)
        template = SQL("COALESCE(strpos({}, %s) > 0, FALSE)")
        return Clause(template.format(column.expr), (text,))


def _show(value: Any) -> str:
    text = msgspec.json.encode(value).decode() if _encodable(value) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _encodable(value: Any) -> bool:
    try:
        msgspec.json.encode(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


# ---------------------------------------------------------------------------------- search


def search_terms(text: str) -> list[str]:
    """DRF's SearchFilter terms: split on whitespace and commas, quotes stripped."""
    return [t.strip("\"'") for t in re.split(r"[\s,]+", text) if t.strip("\"'")]


def search_clause(text: str, fields: Mapping[str, Field], names: Sequence[str]) -> Clause:
    """Every term must occur (case-insensitively) in at least one of the search fields."""
    check_text(text, "The search", "search")
    columns = [fields[name].expr for name in names]
    clauses = []
    for term in search_terms(text):
        needle = term.lower()
        clauses.append(
            any_of(
                Clause(SQL("COALESCE(strpos(lower({}::text), %s) > 0, FALSE)").format(c), (needle,))
                for c in columns
            )
        )
    return all_of(clauses)


# ---------------------------------------------------------------------------------- sort


def sort_clause(
    text: str, fields: Mapping[str, Field], allowed: Sequence[str], tiebreak: str | None = None
) -> Composable:
    """ORDER BY items for "name,-id" over the `allowed` names; the `tiebreak` field is added
    last (if not already there) so that pages are stable."""
    items: list[Composable] = []
    used: set[str] = set()
    for raw in text.split(","):
        term = raw.strip()
        if not term:
            continue
        descending = term.startswith("-")
        name = term[1:].strip() if descending else term
        if name not in allowed or name not in fields:
            known = ", ".join(allowed)
            raise FilterError(f"'{name}' cannot be sorted by (sort fields: {known}).", "sort")
        if name in used:
            continue
        used.add(name)
        order = SQL(" DESC") if descending else SQL(" ASC")
        items.append(Composed([fields[name].expr, order]))
    if tiebreak is not None and tiebreak not in used:
        items.append(Composed([fields[tiebreak].expr, SQL(" ASC")]))
    if not items:
        return SQL("")
    return SQL("ORDER BY ") + SQL(", ").join(items)
