"""Who is calling: the authenticated user as handlers and the permission policy see it."""

from __future__ import annotations

from typing import Literal

import msgspec

# CVAT's system roles (groups); admin sees and may do everything.
Role = Literal["admin", "user", "worker"]


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    username: str
    role: Role = "user"
    is_active: bool = True

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
