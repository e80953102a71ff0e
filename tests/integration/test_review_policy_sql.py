"""`visible_issues_sql` selects exactly the issues `can_issue(user, "view", ...)` allows, on
random little worlds of projects, tasks, jobs and issues (real Postgres)."""

from __future__ import annotations

import random

from psycopg import sql

from backend.iam.policy import IssueFacts, JobFacts, can_issue, visible_issues_sql
from backend.iam.principal import User

PEOPLE = [1, 2, 3, 4]


def _someone(rng: random.Random) -> int | None:
    return rng.choice([None, *PEOPLE])


def _facts(i: int, issues: dict, jobs: dict, tasks: dict, projects: dict) -> IssueFacts:
    job, owner, assignee = issues[i]
    task, job_assignee = jobs[job]
    t_owner, t_assignee, project = tasks[task]
    p_owner, p_assignee = projects[project] if project else (None, None)
    return IssueFacts(
        job=JobFacts(assignee_id=job_assignee, task_owner_id=t_owner,
                     task_assignee_id=t_assignee, project_owner_id=p_owner,
                     project_assignee_id=p_assignee),
        owner_id=owner, assignee_id=assignee,
    )  # fmt: skip


async def test_issue_visibility_sql_matches_can_issue_view(pool) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "CREATE TEMP TABLE projects (id bigint, owner_id bigint, assignee_id bigint);"
            "CREATE TEMP TABLE tasks (id bigint, owner_id bigint, assignee_id bigint,"
            " project_id bigint);"
            "CREATE TEMP TABLE jobs (id bigint, task_id bigint, assignee_id bigint);"
            "CREATE TEMP TABLE issues (id bigint, job_id bigint, owner_id bigint,"
            " assignee_id bigint);"
        )
        for seed in range(25):
            rng = random.Random(seed)
            await conn.execute("TRUNCATE projects, tasks, jobs, issues")
            projects = {p: (_someone(rng), _someone(rng)) for p in range(1, 3)}
            tasks = {t: (_someone(rng), _someone(rng), rng.choice([None, *projects]))
                     for t in range(1, 5)}  # fmt: skip
            jobs = {j: (rng.choice(list(tasks)), _someone(rng)) for j in range(1, 7)}
            issues = {i: (rng.choice(list(jobs)), _someone(rng), _someone(rng))
                      for i in range(1, 15)}  # fmt: skip
            async with conn.cursor() as cur:
                for table, rows in (("projects", projects), ("tasks", tasks), ("jobs", jobs),
                                    ("issues", issues)):  # fmt: skip
                    width = 1 + len(next(iter(rows.values())))
                    await cur.executemany(
                        sql.SQL("INSERT INTO {} VALUES ({})").format(
                            sql.Identifier(table), sql.SQL(", ").join([sql.Placeholder()] * width)
                        ),
                        [(k, *v) for k, v in rows.items()],
                    )

            for uid in PEOPLE:
                for role in ("user", "worker", "admin"):
                    me = User(id=uid, username=f"u{uid}", role=role)  # type: ignore[arg-type]
                    cur = await conn.execute(
                        sql.SQL("SELECT x.id FROM issues x WHERE {}").format(
                            visible_issues_sql(me, "x")
                        )
                    )
                    got = {row[0] for row in await cur.fetchall()}
                    expected = {
                        i
                        for i in issues
                        if can_issue(me, "view", _facts(i, issues, jobs, tasks, projects))
                    }
                    assert got == expected, f"seed {seed}, {role} {uid}"
