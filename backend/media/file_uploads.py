"""Single-file upload sessions (annotation and dataset imports, backup restores): what a
user sent to one scope between Upload-Start and Upload-Finish. Rows say which files were
created and how far each got; the bytes sit in data_dir/data/file_uploads/{session}/{id}."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import msgspec
from psycopg import AsyncConnection


class FileUpload(msgspec.Struct, frozen=True):
    id: str
    session: str
    filename: str
    length: int
    offset: int

    @property
    def complete(self) -> bool:
        return self.offset == self.length


def root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "data" / "file_uploads"


def session_dir(data_dir: str | Path, session: str) -> Path:
    return root(data_dir) / session


def file_path(data_dir: str | Path, upload: FileUpload) -> Path:
    return session_dir(data_dir, upload.session) / upload.id


async def start(conn: AsyncConnection[Any], scope: str, owner_id: int) -> tuple[str, str | None]:
    """A new session for the scope; returns it and the session it replaced (whose files
    the caller removes)."""
    session = str(uuid.uuid4())
    async with conn.transaction():
        cur = await conn.execute(
            "DELETE FROM file_upload_sessions WHERE scope = %s RETURNING session::text", [scope]
        )
        old = await cur.fetchone()
        await conn.execute(
            "INSERT INTO file_upload_sessions (scope, session, owner_id) VALUES (%s, %s, %s)",
            [scope, session, owner_id],
        )
    return session, None if old is None else str(old[0])


async def current(conn: AsyncConnection[Any], scope: str) -> str | None:
    cur = await conn.execute(
        "SELECT session::text FROM file_upload_sessions WHERE scope = %s", [scope]
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def end(conn: AsyncConnection[Any], session: str) -> None:
    await conn.execute("DELETE FROM file_upload_sessions WHERE session = %s", [session])


def remove_files(data_dir: str | Path, session: str) -> None:
    shutil.rmtree(session_dir(data_dir, session), ignore_errors=True)


async def create(
    conn: AsyncConnection[Any], session: str, filename: str, length: int
) -> FileUpload:
    file_id = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO file_uploads (id, session, filename, length) VALUES (%s, %s, %s, %s)",
        [file_id, session, filename, length],
    )
    return FileUpload(file_id, session, filename, length, 0)


_COLUMNS = 'id::text, session::text, filename, length, "offset"'


async def get(conn: AsyncConnection[Any], session: str, file_id: str) -> FileUpload | None:
    try:
        uuid.UUID(file_id)
    except ValueError:
        return None
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM file_uploads WHERE id = %s AND session = %s", [file_id, session]
    )
    row = await cur.fetchone()
    return None if row is None else FileUpload(*row)


async def finished_named(
    conn: AsyncConnection[Any], session: str, filename: str
) -> FileUpload | None:
    """The session's last complete upload of that name."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM file_uploads WHERE session = %s AND filename = %s"
        ' AND "offset" = length ORDER BY created_at DESC LIMIT 1',
        [session, filename],
    )
    row = await cur.fetchone()
    return None if row is None else FileUpload(*row)


async def advance(
    conn: AsyncConnection[Any], file_id: str, old_offset: int, new_offset: int
) -> bool:
    """Move the offset only from where the writer started (a concurrent PATCH with the
    same offset loses and gets a 409)."""
    cur = await conn.execute(
        'UPDATE file_uploads SET "offset" = %s WHERE id = %s AND "offset" = %s RETURNING id',
        [new_offset, file_id, old_offset],
    )
    return await cur.fetchone() is not None


async def mark_complete(conn: AsyncConnection[Any], file_id: str, size: int) -> None:
    """A file received whole (multipart): its length and offset are its size."""
    await conn.execute(
        'UPDATE file_uploads SET length = %s, "offset" = %s WHERE id = %s', [size, size, file_id]
    )


# An upload nobody finished within a day is abandoned (CVAT drops them too).
ABANDONED_AFTER_S = 24 * 3600


async def drop_abandoned(conn: AsyncConnection[Any]) -> list[str]:
    """Forget sessions started more than ABANDONED_AFTER_S ago (a session whose work is
    queued is ended by its worker long before); the caller removes their files."""
    cur = await conn.execute(
        "DELETE FROM file_upload_sessions WHERE started_at < now() - make_interval(secs => %s)"
        " RETURNING session::text",
        [ABANDONED_AFTER_S],
    )
    return [str(row[0]) for row in await cur.fetchall()]
