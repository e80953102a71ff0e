"""CVAT's paginated lists over a read-model table: `{count, next, previous, results}` with
`page`, `page_size`, `filter`, `search`, `sort`, the per-resource simple filters
(`?task_id=6&status=completed`) and the organization parameters.

A list endpoint declares its `Resource` once and hands the raw query to `fetch_page`:

    TASKS = Resource(
        name="tasks",
        source="tasks t LEFT JOIN users o ON o.id = t.owner_id",
        select="t.data",
        fields={
            "id": Field("t.id", "int"),
            "name": Field("t.name"),
            "owner": Field("o.username"),
            "project_id": Field("t.project_id", "int"),
            "updated_date": Field("t.updated_at", "datetime"),
        },
        search=("name", "owner"),
        simple_filters=("name", "owner", "project_id"),
    )

    @router.get("/api/tasks", query=TASKS.query, response=Paginated[TaskRead])
    async def list_tasks(req: ApiRequest) -> Paginated[TaskRead]:
        async with req.container.pool.connection() as conn:
            page = await fetch_page(conn, TASKS, req.request.query_params, str(req.request.url),
                                    headers=req.request.headers, where=visible_to(req.principal))
        return page.paginated([TaskRead(**row["data"]) for row in page.rows])
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar, cast

import msgspec
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composable

from backend.api.errors import ApiError

if TYPE_CHECKING:
    from backend.api.routing import ApiRequest
from backend.api.filters import (
    Clause,
    Field,
    FilterError,
    all_of,
    coerce,
    filter_clause,
    search_clause,
    sort_clause,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Clause",
    "Field",
    "ListQuery",
    "Page",
    "Paginated",
    "Resource",
    "fetch_page",
    "fetch_row",
    "list_page",
]

DEFAULT_PAGE_SIZE = 10  # CVAT's REST_FRAMEWORK PAGE_SIZE
MAX_PAGE_SIZE = 1000  # larger page sizes are clamped (DRF's max_page_size)
# Parameters with a meaning of their own; a simple filter may not take these names.
RESERVED = frozenset({"page", "page_size", "filter", "search", "sort", "org", "org_id"})

T = TypeVar("T")

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
PageNumber = Annotated[int, msgspec.Meta(ge=1, description="A page number (1-based).")]
PageSize = Annotated[
    PositiveInt | Literal["all"],
    msgspec.Meta(
        description=f"Results per page (default {DEFAULT_PAGE_SIZE}, at most "
        f"{MAX_PAGE_SIZE}), or 'all'."
    ),
]


class ListQuery(msgspec.Struct, kw_only=True):
    """The query parameters every list takes (documentation and first validation)."""

    page: PageNumber | None = None
    page_size: PageSize | None = None
    filter: Annotated[str, msgspec.Meta(description="A JSON-logic filter.")] | None = None
    search: Annotated[str, msgspec.Meta(description="Search terms.")] | None = None
    sort: Annotated[str, msgspec.Meta(description="Sort fields, e.g. 'name,-id'.")] | None = None
    org: Annotated[str, msgspec.Meta(description="Organization slug; empty: personal.")] | None = (
        None
    )
    org_id: Annotated[int, msgspec.Meta(description="Organization id.")] | None = None


class Paginated(msgspec.Struct, Generic[T]):
    """A page of a list as CVAT answers it (`next` and `previous` always present)."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]


@dataclass(frozen=True)
class Page:
    count: int  # rows matching the filters, over all pages
    next: str | None
    previous: str | None
    rows: list[dict[str, Any]]

    def paginated(self, results: list[T]) -> Paginated[T]:
        return Paginated(self.count, self.next, self.previous, results)


_PYTHON_TYPES: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "datetime": str,  # read by filters.coerce, which also takes dates without a time
}


@dataclass(frozen=True)
class Resource:
    """A listable read model.

    name: the resource's plural name ("tasks"), for messages and generated type names.
    source: the FROM clause (trusted SQL: a table, or joins), e.g. "tasks t".
    fields: public name -> Field; what `filter` may use (CVAT's filter_fields, with its
        lookup_fields already applied: "owner" -> Field("o.username")).
    select: the SELECT list (trusted SQL); each row comes back as a dict of its columns.
    search: the names searched by `search` (CVAT's search_fields).
    sort: the names `sort` may use; None = every field (CVAT: ordering_fields = filter_fields).
    default_sort: the order without `sort` (CVAT: ordering = "-id").
    simple_filters: names usable as their own query parameter, `?task_id=6`, matched by
        equality (CVAT's simple_filters).
    key: a unique field, appended to every order so that pages never overlap.
    """

    name: str
    source: str
    fields: Mapping[str, Field]
    select: str = "*"
    search: Sequence[str] = ()
    sort: Sequence[str] | None = None
    default_sort: str = "-id"
    simple_filters: Sequence[str] = ()
    key: str = "id"
    extra_query: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [*self.search, *(self.sort or ()), *self.simple_filters, self.key]
        unknown = [n for n in names if n not in self.fields]
        if unknown:
            raise ValueError(f"{self.name}: {unknown} are not among the fields")
        clash = RESERVED.intersection(self.simple_filters)
        if clash:
            raise ValueError(f"{self.name}: {sorted(clash)} are reserved parameter names")

    @property
    def sortable(self) -> Sequence[str]:
        return list(self.fields) if self.sort is None else self.sort

    @cached_property
    def query(self) -> type[ListQuery]:
        """A ListQuery with this resource's simple filters, for the endpoint declaration
        (`query=TASKS.query`) and so for the OpenAPI schema."""
        fields = ", ".join(self.fields)
        extra: list[tuple[str, Any, Any]] = [
            (name, _PYTHON_TYPES[self.fields[name].type] | None, None)
            for name in self.simple_filters
        ]
        extra += [
            ("filter", _described(f"A JSON-logic filter over: {fields}."), None),
            ("search", _described(f"Search terms, looked up in: {', '.join(self.search)}."), None),
            (
                "sort",
                _described(f"Sort fields ('-' for descending): {', '.join(self.sortable)}."),
                None,
            ),
        ]
        extra += [(name, kind, None) for name, kind in self.extra_query.items()]
        title = "".join(part.capitalize() for part in self.name.replace("-", "_").split("_"))
        made = msgspec.defstruct(f"{title}ListQuery", extra, bases=(ListQuery,), kw_only=True)
        return cast(type[ListQuery], made)


def _described(description: str) -> Any:
    return Annotated[str, msgspec.Meta(description=description)] | None


async def fetch_page(
    conn: AsyncConnection[Any],
    resource: Resource,
    query_params: Mapping[str, str],
    url: str,
    *,
    where: Clause | tuple[Composable, Sequence[Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Page:
    """One page of `resource` as the query asks for it. `where` restricts the rows first
    (what the user may see); `url` is the absolute request URL, for `next`/`previous`.
    Bad input raises ApiError 400 {param: [message]}; a page past the end, 404."""
    page, size = _page_params(query_params)
    try:
        condition = _conditions(resource, query_params, headers or {})
        sort = query_params.get("sort", "").strip()
        order = sort_clause(
            sort or resource.default_sort,
            resource.fields,
            resource.sortable if sort else list(resource.fields),
            tiebreak=resource.key,
        )
    except FilterError as exc:
        raise ApiError(400, {exc.param: [exc.message]}) from None
    if where is not None:
        visible = where if isinstance(where, Clause) else Clause(where[0], tuple(where[1]))
        condition = visible & condition
    source = SQL(resource.source)
    count_query = SQL("SELECT count(*) FROM {} WHERE {}").format(source, condition.sql)
    async with conn.cursor() as cur:
        await cur.execute(count_query, condition.params)
        found = await cur.fetchone()
    count = int(found[0]) if found else 0
    limit = count if size is None else size
    pages = 1 if limit == 0 else max(1, -(-count // limit))
    if page > pages:
        raise ApiError(404, "Invalid page.")
    rows: list[dict[str, Any]] = []
    if count:
        rows_query = SQL("SELECT {} FROM {} WHERE {} {} LIMIT %s OFFSET %s").format(
            SQL(resource.select), source, condition.sql, order
        )
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(rows_query, (*condition.params, limit, (page - 1) * limit))
            rows = await cur.fetchall()
    next_url = _with_page(url, page + 1) if page < pages else None
    previous_url = _with_page(url, page - 1) if page > 1 else None
    return Page(count, next_url, previous_url, rows)


def _conditions(
    resource: Resource, query_params: Mapping[str, str], headers: Mapping[str, str]
) -> Clause:
    clauses: list[Clause] = []
    if _organization(query_params, headers):
        # Organizations do not exist yet: nothing belongs to one.
        clauses.append(Clause(SQL("FALSE")))
    for name in resource.simple_filters:
        value = query_params.get(name)
        if value is not None:
            column = resource.fields[name]
            bound = coerce(value, column.type, name, param=name)
            clauses.append(Clause(SQL("{} = %s").format(column.expr), (bound,)))
    text = query_params.get("filter")
    if text:
        clauses.append(filter_clause(text, resource.fields))
    text = query_params.get("search")
    if text and resource.search:
        clauses.append(search_clause(text, resource.fields, resource.search))
    return all_of(clauses)


def _organization(query_params: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """The organization asked for: `org_id`, else `org`, else the X-Organization header;
    empty means the personal workspace (cvat-sdk sends `org=` for it)."""
    if "org_id" in query_params:
        return query_params["org_id"].strip()
    if "org" in query_params:
        return query_params["org"].strip()
    return (headers.get("x-organization") or headers.get("X-Organization") or "").strip()


def _page_params(query_params: Mapping[str, str]) -> tuple[int, int | None]:
    """(page, page size or None for "all")."""
    page = _positive(query_params.get("page"), "page", 1)
    raw_size = query_params.get("page_size")
    if raw_size is not None and raw_size.strip().lower() == "all":
        return page, None
    size = _positive(raw_size, "page_size", DEFAULT_PAGE_SIZE)
    return page, min(size, MAX_PAGE_SIZE)


def _positive(raw: str | None, name: str, default: int) -> int:
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or int(text[:19]) < 1:
        message = "A positive integer is expected."
        if name == "page_size":
            message = "A positive integer or 'all' is expected."
        raise ApiError(400, {name: [message]})
    return int(text) if len(text) < 19 else 2**62  # a page far past any end


def _with_page(url: str, page: int) -> str:
    """`url` with its page parameter set (removed for page 1), as DRF builds the links."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if k != "page"]
    if page > 1:
        query.append(("page", str(page)))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


async def list_page(
    req: ApiRequest,
    resource: Resource,
    where: Composable,
    params: Sequence[Any] = (),
    *,
    query_params: Mapping[str, str] | None = None,
) -> Page:
    """`fetch_page` for an endpoint: the request's query, URL and headers, and the rows the
    user may see (`where`, e.g. a policy's visibility condition)."""
    async with req.container.pool.connection() as conn:
        return await fetch_page(
            conn, resource,
            req.request.query_params if query_params is None else query_params,
            str(req.request.url), headers=req.request.headers, where=Clause(where, tuple(params)),
        )  # fmt: skip


async def fetch_row(
    conn: AsyncConnection[Any], resource: Resource, key: Any
) -> dict[str, Any] | None:
    """One row of `resource` by its key, selected like the list's rows (for details)."""
    query = SQL("SELECT {} FROM {} WHERE {} = %s").format(
        SQL(resource.select), SQL(resource.source), resource.fields[resource.key].expr
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, (key,))
        row: dict[str, Any] | None = await cur.fetchone()
        return row
