"""CVAT's list language (filter, search, sort, simple filters, pages) compiled to SQL, checked
against a pure-Python reading of the same JSON-logic over the same rows in real Postgres."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.sql import SQL

from backend.api.errors import ApiError
from backend.api.filters import (
    Field,
    FilterError,
    coerce,
    compile_filter,
    filter_clause,
    parse_filter,
    search_clause,
    sort_clause,
)
from backend.api.lists import Resource, fetch_page

FIELDS = {
    "id": Field("i.id", "int"),
    "name": Field("i.name"),
    "score": Field("i.score", "float"),
    "n": Field("i.n", "int"),
    "done": Field("i.done", "bool"),
    "at": Field("i.at", "datetime"),
}
NAMES = ["a", "b", "ab", "B", "Ab c", "é", "", "car", "a car", "Z"]
BASE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
TIMES = [BASE + dt.timedelta(hours=h) for h in range(0, 48, 6)]


def make_rows(count: int = 40, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)

    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.2 else value

    return [
        {
            "id": i,
            "name": maybe(rng.choice(NAMES)),
            "score": maybe(rng.choice([-1.5, 0.0, 0.5, 2.0, 3.25])),
            "n": maybe(rng.randint(-3, 3)),
            "done": maybe(rng.random() < 0.5),
            "at": maybe(rng.choice(TIMES)),
        }
        for i in range(1, count + 1)
    ]


ROWS = make_rows()
CREATE = (
    "CREATE TABLE items (id bigint PRIMARY KEY, name text, score double precision,"
    " n integer, done boolean, at timestamptz)"
)


def load(conn: psycopg.Connection[Any], rows: list[dict[str, Any]]) -> None:
    conn.execute(CREATE)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO items VALUES (%(id)s, %(name)s, %(score)s, %(n)s, %(done)s, %(at)s)",
            rows,
        )


@pytest.fixture
def items_db(fresh_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        load(conn, ROWS)
        yield conn


def sql_ids(conn: psycopg.Connection[Any], rules: Any) -> list[int]:
    clause = compile_filter(rules, FIELDS)
    query = SQL("SELECT i.id FROM items i WHERE {} ORDER BY i.id").format(clause.sql)
    return [row[0] for row in conn.execute(query, clause.params).fetchall()]


# ------------------------------------------------------------- the reference: pure Python


def evaluate(rule: Any, row: dict[str, Any]) -> bool:
    """JSON-logic over one row, with CVAT's reading: nulls match no comparison, `!=` and
    `!` match them, `var` alone means 'is not null', `in` with a text is a substring test."""
    op, args = next(iter(rule.items()))
    if op == "and":
        return all(evaluate(a, row) for a in args)
    if op == "or":
        return any(evaluate(a, row) for a in args)
    if op in ("!", "!!"):
        inner = args[0] if isinstance(args, list) else args
        return not evaluate(inner, row) if op == "!" else evaluate(inner, row)
    if op == "var":
        return row[args] is not None
    if op == "in":
        if isinstance(args[0], dict):
            name = args[0]["var"]
            values = [coerce(v, FIELDS[name].type, name) for v in args[1]]
            return row[name] is not None and row[name] in values
        name = args[1]["var"]
        return row[name] is not None and args[0] in row[name]
    if len(args) == 3:
        name = args[1]["var"]
        low, high = (coerce(v, FIELDS[name].type, name) for v in (args[0], args[2]))
        x = row[name]
        return x is not None and (low < x < high if op == "<" else low <= x <= high)
    if isinstance(args[0], dict):
        name, value = args[0]["var"], args[1]
    else:
        name, value = args[1]["var"], args[0]
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
    x = row[name]
    if value is None:
        return (x is None) == (op == "==")
    v = coerce(value, FIELDS[name].type, name)
    if op == "==":
        return x is not None and x == v
    if op == "!=":
        return x is None or x != v
    if x is None:
        return False
    return {"<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[op]


def python_ids(rules: Any) -> list[int]:
    return [row["id"] for row in ROWS if evaluate(rules, row)]


# ------------------------------------------------------------- strategies


def values_for(name: str) -> st.SearchStrategy[Any]:
    kind = FIELDS[name].type
    if kind == "int":
        return st.one_of(st.integers(-4, 42), st.integers(-4, 4).map(str))
    if kind == "float":
        return st.sampled_from([-1.5, 0, 0.5, 1, 2.0, 3.25, "0.5", 99])
    if kind == "bool":
        return st.sampled_from([True, False, "true", "False", 0, 1])
    if kind == "datetime":
        return st.sampled_from(TIMES).map(
            lambda t: (t + dt.timedelta(minutes=st_offset(t))).isoformat()
        )
    return st.one_of(st.sampled_from(NAMES), st.text(alphabet="abcAB é", max_size=3))


def st_offset(t: dt.datetime) -> int:
    return [0, 0, 1, -1][t.hour % 4]


field_names = st.sampled_from(sorted(FIELDS))


@st.composite
def comparison(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(field_names)
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    value = draw(st.none() if op in ("==", "!=") and draw(st.booleans()) else values_for(name))
    var = {"var": name}
    args = [value, var] if draw(st.integers(0, 4)) == 0 else [var, value]
    return {op: args}


@st.composite
def between(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(field_names)
    op = draw(st.sampled_from(["<=", "<"]))
    return {op: [draw(values_for(name)), {"var": name}, draw(values_for(name))]}


@st.composite
def membership(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"in": [draw(st.text(alphabet="abcAB é", max_size=2)), {"var": "name"}]}
    name = draw(field_names)
    return {"in": [{"var": name}, draw(st.lists(values_for(name), max_size=4))]}


leaf = st.one_of(comparison(), between(), membership(), field_names.map(lambda n: {"var": n}))
filters = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda c: {"and": c}),
        st.lists(children, min_size=1, max_size=3).map(lambda c: {"or": c}),
        children.map(lambda c: {"!": c}),
        children.map(lambda c: {"!!": [c]}),
    ),
    max_leaves=8,
)

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
        st.sampled_from(["var", "and", "in", "==", "<=", "!", "name", "id", "at"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.one_of(
                st.sampled_from(["var", "and", "or", "!", "!!", "in", "==", "<", "<="]),
                st.text(max_size=3),
            ),
            children,
            max_size=2,
        ),
    ),
    max_leaves=10,
)


# ------------------------------------------------------------- properties


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rules=filters)
def test_sql_filter_selects_the_rows_the_json_logic_selects(
    items_db: psycopg.Connection[Any], rules: Any
) -> None:
    try:
        expected = python_ids(rules)
    except FilterError:
        # Values the field cannot hold (e.g. "ab" for an int): the compiler must refuse too.
        with pytest.raises(FilterError):
            compile_filter(rules, FIELDS)
        return
    assert sql_ids(items_db, rules) == expected, json.dumps(rules, default=str)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rules=json_values)
def test_malformed_filters_are_filter_errors_never_sql_errors(
    items_db: psycopg.Connection[Any], rules: Any
) -> None:
    try:
        clause = compile_filter(rules, FIELDS)
    except FilterError:
        return
    query = SQL("SELECT count(*) FROM items i WHERE {}").format(clause.sql)
    items_db.execute(query, clause.params).fetchone()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=30))
def test_any_filter_text_parses_or_is_a_filter_error(text: str) -> None:
    try:
        rules = parse_filter(text)
    except FilterError as exc:
        assert exc.param == "filter"
        return
    assert isinstance(rules, dict) and rules


# ------------------------------------------------------------- examples


def test_cvat_examples_compile(items_db: psycopg.Connection[Any]) -> None:
    done_a = {"and": [{"==": [{"var": "done"}, True]}, {"in": ["a", {"var": "name"}]}]}
    assert sql_ids(items_db, done_a) == python_ids(done_a)
    ids = {"and": [{"in": [{"var": "id"}, [1, 2, 3]]}]}
    assert sql_ids(items_db, ids) == [1, 2, 3]
    assert sql_ids(items_db, {"<=": [5, {"var": "id"}, 7]}) == [5, 6, 7]
    assert sql_ids(items_db, {"==": [{"var": "id"}, "4"]}) == [4]


def test_user_values_are_bound_parameters_not_sql() -> None:
    evil = "x'; DROP TABLE items; --"
    clause = filter_clause(json.dumps({"==": [{"var": "name"}, evil]}), FIELDS)
    assert clause.params == (evil,)
    assert "DROP" not in clause.sql.as_string(None)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "Json syntax"),
        ("[]", "non-empty JSON object"),
        ("{}", "non-empty JSON object"),
        ('{"==": [{"var": "secret"}, 1]}', "'secret' term is not supported"),
        ('{"like": [{"var": "name"}, "a"]}', "'like' operation is not supported"),
        ('{"==": [{"var": "n"}, "three"]}', "not a valid int"),
        ('{"==": [{"var": "n"}, 99999999999999999999]}', "out of range"),
        ('{"in": ["a", {"var": "n"}]}', "not one"),
        ('{"and": []}', "non-empty list"),
        ('{"<": [{"var": "n"}, null]}', "null"),
        ('{"==": [{"var": "name"}, "a\\u0000b"]}', "NUL"),
        ('{"==": [{"var": "at"}, "yesterday"]}', "not a valid datetime"),
        ('{"==": [1, 2]}', "one var with one value"),
    ],
)
def test_bad_filters_say_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(FilterError) as caught:
        filter_clause(text, FIELDS)
    assert needle in caught.value.message
    assert caught.value.param == "filter"


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    rule: Any = {"var": "id"}
    for _ in range(5000):
        rule = {"!": rule}
    with pytest.raises(FilterError, match="deeper"):
        compile_filter(rule, FIELDS)


def test_search_needs_every_term_in_some_field(items_db: psycopg.Connection[Any]) -> None:
    clause = search_clause("A, car", FIELDS, ["name"])
    query = SQL("SELECT i.id FROM items i WHERE {} ORDER BY i.id").format(clause.sql)
    got = [r[0] for r in items_db.execute(query, clause.params).fetchall()]
    want = [r["id"] for r in ROWS if r["name"] and "a" in r["name"].lower() and "car" in r["name"]]
    assert got == want and got


def test_sort_refuses_unknown_fields_and_adds_the_key() -> None:
    order = sort_clause("name,-n", FIELDS, ["name", "n"], tiebreak="id")
    assert order.as_string(None) == "ORDER BY i.name ASC, i.n DESC, i.id ASC"
    with pytest.raises(FilterError) as caught:
        sort_clause("score", FIELDS, ["name"], tiebreak="id")
    assert caught.value.param == "sort"


# ------------------------------------------------------------- fetch_page

ITEMS = Resource(
    name="items",
    source="items i",
    select="i.id, i.name",
    fields=FIELDS,
    search=("name",),
    sort=("id", "name", "n"),
    simple_filters=("name", "n", "done"),
)
URL = "http://testserver/api/items?page_size=7&search=&org="


async def page_of(pool: Any, query: dict[str, str], **kwargs: Any) -> Any:
    async with pool.connection() as conn:
        if not kwargs.pop("loaded", False):
            await conn.execute(CREATE)
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO items VALUES"
                    " (%(id)s, %(name)s, %(score)s, %(n)s, %(done)s, %(at)s)",
                    ROWS,
                )
        return await fetch_page(conn, ITEMS, query, URL, **kwargs)


async def test_pages_count_and_link_like_drf(pool: Any) -> None:
    page = await page_of(pool, {"page_size": "7", "page": "2"})
    assert page.count == len(ROWS)
    assert [r["id"] for r in page.rows] == list(range(len(ROWS) - 7, len(ROWS) - 14, -1))
    assert page.next == "http://testserver/api/items?page_size=7&search=&org=&page=3"
    assert page.previous == "http://testserver/api/items?page_size=7&search=&org="
    last = await fetch_page_loaded(pool, {"page_size": "7", "page": "6"})
    assert last.next is None and len(last.rows) == len(ROWS) - 35
    with pytest.raises(ApiError) as caught:
        await fetch_page_loaded(pool, {"page_size": "7", "page": "7"})
    assert caught.value.status == 404
    first = await fetch_page_loaded(pool, {})
    assert len(first.rows) == 10 and first.previous is None and first.next
    everything = await fetch_page_loaded(pool, {"page_size": "all"})
    assert len(everything.rows) == len(ROWS) and everything.next is None


async def fetch_page_loaded(pool: Any, query: dict[str, str], **kwargs: Any) -> Any:
    return await page_of(pool, query, loaded=True, **kwargs)


async def test_empty_list_has_one_empty_page(pool: Any) -> None:
    page = await page_of(pool, {"filter": '{"==": [{"var": "id"}, -1]}'})
    assert (page.count, page.next, page.previous, page.rows) == (0, None, None, [])


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"page_size": "-1"}, "page_size"),
        ({"filter": "{"}, "filter"),
        ({"sort": "score"}, "sort"),
        ({"n": "three"}, "n"),
        ({"name": "a\x00"}, "name"),
    ],
)
async def test_bad_list_parameters_are_400_naming_the_parameter(
    pool: Any, query: dict[str, str], param: str
) -> None:
    with pytest.raises(ApiError) as caught:
        await page_of(pool, query)
    assert caught.value.status == 400
    assert isinstance(caught.value.detail, dict) and list(caught.value.detail) == [param]


async def test_simple_filters_search_sort_and_visibility(pool: Any) -> None:
    page = await page_of(pool, {"n": "2", "done": "True", "page_size": "all"})
    want = [r["id"] for r in ROWS if r["n"] == 2 and r["done"] is True]
    assert page.count == len(want) and sorted(r["id"] for r in page.rows) == want
    page = await fetch_page_loaded(pool, {"done": "false", "sort": "-n", "page_size": "all"})
    rows = [r for r in ROWS if r["done"] is False]
    # DESC puts nulls first (Postgres, as CVAT on Postgres), then ids ascending break ties.
    rows.sort(key=lambda r: (r["n"] is not None, -(r["n"] or 0), r["id"]))
    assert [r["id"] for r in page.rows] == [r["id"] for r in rows]
    visible = (SQL("i.id <= %s"), [5])
    mine = await fetch_page_loaded(pool, {"search": "A"}, where=visible)
    expected = [r["id"] for r in ROWS if r["id"] <= 5 and r["name"] and "a" in r["name"].lower()]
    assert sorted(r["id"] for r in mine.rows) == expected


async def test_organizations_other_than_personal_are_empty(pool: Any) -> None:
    assert (await page_of(pool, {"org": ""})).count == len(ROWS)
    assert (await fetch_page_loaded(pool, {"org": "acme"})).count == 0
    assert (await fetch_page_loaded(pool, {"org_id": "3"})).count == 0
    header = {"X-Organization": "acme"}
    assert (await fetch_page_loaded(pool, {}, headers=header)).count == 0
    assert (await fetch_page_loaded(pool, {"org": ""}, headers=header)).count == len(ROWS)


def test_resource_rejects_unknown_and_reserved_names() -> None:
    with pytest.raises(ValueError, match="not among"):
        Resource(name="x", source="x", fields=FIELDS, search=("nope",))
    with pytest.raises(ValueError, match="reserved"):
        Resource(
            name="x", source="x", fields={**FIELDS, "page": Field("x")}, simple_filters=("page",)
        )
