"""Which labels apply where: a task's own labels, or its project's when it has one."""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg.rows import dict_row

from backend.domain.labels import AttributeSpec, LabelSet, LabelSpec

# Rows of the `labels` read model that apply to a task (its own, or its project's).
TASK_LABELS_WHERE = (
    "(l.task_id = %(task)s OR l.project_id = (SELECT project_id FROM tasks WHERE id = %(task)s))"
)


async def label_rows_for_task(conn: Any, task_id: int) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT l.* FROM labels l WHERE {TASK_LABELS_WHERE} ORDER BY l.position",
            {"task": task_id},
        )
        rows: list[dict[str, Any]] = await cur.fetchall()
        return rows


def label_set(rows: list[dict[str, Any]]) -> LabelSet:
    """The domain's LabelSet from label rows (sublabels nested under their skeleton)."""
    subs: dict[int, list[LabelSpec]] = {}
    for row in rows:
        if row["parent_id"] is not None:
            subs.setdefault(row["parent_id"], []).append(_spec(row, []))
    return LabelSet([_spec(r, subs.get(r["id"], [])) for r in rows if r["parent_id"] is None])


def _spec(row: dict[str, Any], sublabels: list[LabelSpec]) -> LabelSpec:
    return LabelSpec(
        id=row["id"], name=row["name"], type=row["type"], color=row["color"],
        attributes=msgspec.convert(row["attributes"], list[AttributeSpec]),
        sublabels=sublabels, parent_id=row["parent_id"], svg=row["svg"],
    )  # fmt: skip


async def labels_for_task(conn: Any, task_id: int) -> LabelSet:
    return label_set(await label_rows_for_task(conn, task_id))


async def labels_for_job(conn: Any, job_id: int) -> LabelSet:
    cur = await conn.execute("SELECT task_id FROM jobs WHERE id = %s", [job_id])
    row = await cur.fetchone()
    return LabelSet([]) if row is None else await labels_for_task(conn, row[0])
