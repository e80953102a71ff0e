"""The policy's SQL visibility conditions select exactly the rows `can(user, "view", ...)`
allows, on random little worlds of projects, tasks and jobs (real Postgres)."""

from __future__ import annotations

import random

from psycopg import sql

from backend.iam.policy import (
    JobFacts,
    ProjectFacts,
    TaskFacts,
    can,
    visible_jobs_sql,
    visible_projects_sql,
    visible_tasks_sql,
)
from backend.iam.principal import User

PEOPLE = [1, 2, 3, 4]


def _someone(rng: random.Random) -> int | None:
    return rng.choice([None, *PEOPLE])


async def test_visibility_sql_matches_can_view(pool) -> None:
    async with pool.connection() as conn:
        # Temporary tables shadow the read models, with just the columns the policy uses.
        await conn.execute(
            "CREATE TEMP TABLE projects (id bigint, owner_id bigint, assignee_id bigint);"
            "CREATE TEMP TABLE tasks (id bigint, owner_id bigint, assignee_id bigint,"
            " project_id bigint);"
            "CREATE TEMP TABLE jobs (id bigint, task_id bigint, assignee_id bigint);"
        )
        for seed in range(25):
            rng = random.Random(seed)
            await conn.execute("TRUNCATE projects, tasks, jobs")
            projects = {p: (_someone(rng), _someone(rng)) for p in range(1, 4)}
            tasks = {
                t: (_someone(rng), _someone(rng), rng.choice([None, *projects]))
                for t in range(1, 7)
            }
            jobs = {j: (rng.choice(list(tasks)), _someone(rng)) for j in range(1, 11)}
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO projects VALUES (%s, %s, %s)",
                    [(p, *v) for p, v in projects.items()],
                )
                await cur.executemany(
                    "INSERT INTO tasks VALUES (%s, %s, %s, %s)", [(t, *v) for t, v in tasks.items()]
                )
                await cur.executemany(
                    "INSERT INTO jobs VALUES (%s, %s, %s)", [(j, *v) for j, v in jobs.items()]
                )
            for uid in PEOPLE:
                for role in ("user", "worker", "admin"):
                    me = User(id=uid, username=f"u{uid}", role=role)  # type: ignore[arg-type]
                    await _compare(conn, me, projects, tasks, jobs, seed)


async def _ids(conn, table: str, condition: sql.Composable) -> set[int]:
    query = sql.SQL("SELECT x.id FROM {} x WHERE {}").format(sql.Identifier(table), condition)
    cur = await conn.execute(query)
    return {row[0] for row in await cur.fetchall()}


async def _compare(conn, me: User, projects, tasks, jobs, seed: int) -> None:
    def task_facts(t: int) -> TaskFacts:
        owner, assignee, project = tasks[t]
        p_owner, p_assignee = projects[project] if project else (None, None)
        return TaskFacts(
            owner_id=owner, assignee_id=assignee, project_owner_id=p_owner,
            project_assignee_id=p_assignee,
            job_assignee_ids=frozenset(a for (jt, a) in jobs.values() if jt == t and a),
        )  # fmt: skip

    def project_facts(p: int) -> ProjectFacts:
        inside = [t for t, v in tasks.items() if v[2] == p]
        return ProjectFacts(
            owner_id=projects[p][0], assignee_id=projects[p][1],
            task_owner_ids=frozenset(tasks[t][0] for t in inside if tasks[t][0]),
            task_assignee_ids=frozenset(tasks[t][1] for t in inside if tasks[t][1]),
            job_assignee_ids=frozenset(
                a for (jt, a) in jobs.values() if jt in inside and a
            ),
        )  # fmt: skip

    def job_facts(j: int) -> JobFacts:
        task, assignee = jobs[j]
        facts = task_facts(task)
        return JobFacts(
            assignee_id=assignee, task_owner_id=facts.owner_id,
            task_assignee_id=facts.assignee_id, project_owner_id=facts.project_owner_id,
            project_assignee_id=facts.project_assignee_id,
        )  # fmt: skip

    where = f"seed {seed}, {me.role} {me.id}"
    expected = {p for p in projects if can(me, "view", project_facts(p))}
    assert await _ids(conn, "projects", visible_projects_sql(me, "x")) == expected, where
    expected = {t for t in tasks if can(me, "view", task_facts(t))}
    assert await _ids(conn, "tasks", visible_tasks_sql(me, "x")) == expected, where
    expected = {j for j in jobs if can(me, "view", job_facts(j))}
    assert await _ids(conn, "jobs", visible_jobs_sql(me, "x")) == expected, where
