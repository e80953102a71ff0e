"""Upload sessions: everything a client sends for a task between Upload-Start and
Upload-Finish (multipart batches and TUS files). Rows in Postgres say what was received
and in which order; the bytes sit under the session's directory with generated names."""

from __future__ import annotations

import base64
import binascii
import uuid
from pathlib import PurePosixPath
from typing import Any

import msgspec
from psycopg import AsyncConnection

from backend.media.images import FileKind, MediaError


class UploadedFile(msgspec.Struct, frozen=True):
    name: str
    disk_name: str
    kind: FileKind
    size: int


class TusUpload(msgspec.Struct, frozen=True):
    id: str
    session: str
    task_id: int
    filename: str
    length: int
    offset: int


def client_basename(raw: str) -> str:
    """Multipart and TUS file names are client paths (`C:\\data\\a.png`, `/home/x/a.png`):
    keep the last component; refuse names that are no file name at all."""
    name = PurePosixPath(raw.replace("\\", "/")).name.strip()
    if not name or name in (".", "..") or "\x00" in name:
        raise MediaError(f"{raw!r}: not a valid file name")
    return name


def parse_tus_metadata(header: str) -> dict[str, str]:
    """`key base64value, key2 base64value2` -> dict (a key may come without a value)."""
    result: dict[str, str] = {}
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if not key:
            continue
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise MediaError(f"Upload-Metadata: {key} is not base64 text") from None
    return result


async def start(conn: AsyncConnection[Any], task_id: int, owner_id: int) -> str:
    """A new session for the task, replacing any earlier one (its files are forgotten)."""
    session = str(uuid.uuid4())
    async with conn.transaction():
        await conn.execute("DELETE FROM upload_sessions WHERE task_id = %s", [task_id])
        await conn.execute(
            "INSERT INTO upload_sessions (task_id, session, owner_id) VALUES (%s, %s, %s)",
            [task_id, session, owner_id],
        )
    return session


async def current(conn: AsyncConnection[Any], task_id: int) -> str | None:
    cur = await conn.execute(
        "SELECT session::text FROM upload_sessions WHERE task_id = %s", [task_id]
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def end(conn: AsyncConnection[Any], task_id: int, session: str) -> None:
    await conn.execute(
        "DELETE FROM upload_sessions WHERE task_id = %s AND session = %s", [task_id, session]
    )


async def files(conn: AsyncConnection[Any], session: str) -> list[UploadedFile]:
    cur = await conn.execute(
        "SELECT name, disk_name, kind, size FROM upload_files WHERE session = %s ORDER BY seq",
        [session],
    )
    return [UploadedFile(*row) for row in await cur.fetchall()]


async def received_bytes(conn: AsyncConnection[Any], session: str) -> int:
    cur = await conn.execute(
        "SELECT (SELECT coalesce(sum(size), 0) FROM upload_files WHERE session = %s)"
        " + (SELECT coalesce(sum(length), 0) FROM tus_uploads WHERE session = %s)",
        [session, session],
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def add_files(
    conn: AsyncConnection[Any], session: str, added: list[UploadedFile]
) -> list[str]:
    """Record received files; a name sent again replaces the earlier file (keeping its
    place in the order). Returns the disk names that are no longer referenced."""
    replaced: list[str] = []
    async with conn.transaction():
        for item in added:
            cur = await conn.execute(
                "SELECT disk_name FROM upload_files WHERE session = %s AND name = %s FOR UPDATE",
                [session, item.name],
            )
            old = await cur.fetchone()
            if old is not None:
                replaced.append(str(old[0]))
                await conn.execute(
                    "UPDATE upload_files SET disk_name = %s, kind = %s, size = %s"
                    " WHERE session = %s AND name = %s",
                    [item.disk_name, item.kind, item.size, session, item.name],
                )
            else:
                await conn.execute(
                    "INSERT INTO upload_files (session, name, disk_name, kind, size)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    [session, item.name, item.disk_name, item.kind, item.size],
                )
    return replaced


async def create_tus(
    conn: AsyncConnection[Any], session: str, task_id: int, filename: str, length: int
) -> TusUpload:
    file_id = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO tus_uploads (id, session, task_id, filename, length)"
        " VALUES (%s, %s, %s, %s, %s)",
        [file_id, session, task_id, filename, length],
    )
    return TusUpload(file_id, session, task_id, filename, length, 0)


async def get_tus(conn: AsyncConnection[Any], task_id: int, file_id: str) -> TusUpload | None:
    try:
        uuid.UUID(file_id)
    except ValueError:
        return None
    cur = await conn.execute(
        'SELECT id::text, session::text, task_id, filename, length, "offset"'
        " FROM tus_uploads WHERE id = %s AND task_id = %s",
        [file_id, task_id],
    )
    row = await cur.fetchone()
    return None if row is None else TusUpload(*row)


async def advance_tus(
    conn: AsyncConnection[Any], file_id: str, old_offset: int, new_offset: int
) -> bool:
    """Move the offset forward only from where the writer started (a concurrent PATCH
    with the same offset loses, and gets a 409)."""
    cur = await conn.execute(
        'UPDATE tus_uploads SET "offset" = %s WHERE id = %s AND "offset" = %s RETURNING id',
        [new_offset, file_id, old_offset],
    )
    return await cur.fetchone() is not None


async def drop_tus(conn: AsyncConnection[Any], file_id: str) -> None:
    await conn.execute("DELETE FROM tus_uploads WHERE id = %s", [file_id])
