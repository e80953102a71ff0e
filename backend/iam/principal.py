"""Who is calling: the authenticated user as handlers and the permission policy see it."""

from __future__ import annotations

from typing import Literal

import msgspec

# CVAT's system roles (groups); admin sees and may do everything.
Role = Literal["admin", "user", "worker"]
ROLES: tuple[Role, ...] = ("admin", "user", "worker")

# How the request proved who it is (None for users built outside a request, e.g. in tests).
AuthMethod = Literal["session", "token", "access_token", "basic"]


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    username: str
    role: Role = "user"
    is_active: bool = True
    auth_method: AuthMethod | None = None
    # The personal access token of this request (auth_method == "access_token").
    access_token_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
