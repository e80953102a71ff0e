"""Settings: one msgspec Struct read from ``VELLUM_*`` environment variables.

Every field maps to ``VELLUM_<FIELD NAME IN UPPER CASE>``. Values are decoded with msgspec's
string conversion, so a bad value fails at start-up with a message naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

import msgspec

PREFIX = "VELLUM_"


class SettingsError(ValueError):
    """A VELLUM_* variable has a value that cannot be used."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # Where the embedded default keeps Postgres and Redis data, media and caches.
    data_dir: str = ".vellum"
    host: str = "127.0.0.1"
    port: int = 8080
    # Empty = embedded Postgres / Redis under data_dir, started and stopped by `vellum serve`.
    database_url: str = ""
    redis_url: str = ""
    kurrentdb_url: str = ""
    admin_user: str = "admin"
    admin_password: str = ""
    admin_email: str = "admin@localhost"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    db_pool_min: int = 2
    db_pool_max: int = 10
    # Event store tuning: snapshot a stream every N events; largest group-commit batch.
    snapshot_every: int = 500
    group_commit_max: int = 256
    # Projector: events per batch and how long to wait for a doorbell before polling.
    projector_batch: int = 1000
    projector_poll_s: float = 1.0
    # Read-your-writes: how long a read waits for the projector before answering 503.
    read_your_writes_timeout_s: float = 5.0
    # Run the projector and arq worker inside `vellum serve` (embedded default) or not.
    inprocess_projector: bool = True
    inprocess_worker: bool = True
    # Deliver webhooks from the projector process (`vellum serve` / `vellum projector`).
    webhook_delivery: bool = True
    # A webhook event not delivered this long after it happened is given up (recorded as a
    # failed delivery, which can be redelivered); later events then go on in order.
    webhook_max_age_s: int = 24 * 3600
    # The address clients reach this server at, for absolute URLs built outside a request
    # (webhook payloads); empty: http://HOST:PORT.
    public_url: str = ""
    ray_address: str = ""
    # Task data uploads: the most one task's files may add up to (archives may unpack to
    # four times this).
    max_upload_mb: int = 4096
    # IAM: self-registration through POST /api/auth/register.
    allow_registration: bool = True
    # Browser sessions expire after this many seconds without a request (sliding).
    session_age_s: int = 14 * 24 * 3600
    # Failed logins (POST /api/auth/login and HTTP Basic) per username and client address
    # within the window before further attempts are refused with 429.
    login_max_failures: int = 10
    login_failure_window_s: int = 300
    # Extra origins (scheme://host[:port], comma-separated) allowed to send unsafe requests
    # with a session cookie besides the server's own, e.g. a UI dev server.
    csrf_trusted_origins: str = ""
    max_access_tokens_per_user: int = 100
    # Events queued for one websocket before it is declared slow and told to resync.
    ws_event_queue_limit: int = 1000
    # Media (#6). The server share that `server_files` and /api/server/share read from
    # (empty: no share); remote URLs: hosts or CIDRs allowed although private/loopback.
    share_root: str = ""
    url_allowlist: str = ""
    remote_max_mb: int = 2048
    remote_timeout_s: float = 60.0
    # On-the-fly chunks (`use_cache`) live in one disk cache, evicted least recently used.
    media_cache_mb: int = 2048
    # Encrypts cloud storage credentials at rest (any string; empty: a key generated once
    # and kept in DATA_DIR/secret.key).
    secret_key: str = ""
    # The built browser UI served at / (empty: web/dist of this checkout, when built).
    web_root: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise SettingsError(f"{PREFIX}PORT must be between 1 and 65535, got {self.port}")
        for name in ("snapshot_every", "group_commit_max", "projector_batch", "db_pool_max"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{PREFIX}{name.upper()} must be at least 1")
        for name in ("remote_max_mb", "media_cache_mb", "max_upload_mb", "ws_event_queue_limit"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{PREFIX}{name.upper()} must be at least 1")
        if self.remote_timeout_s <= 0:
            raise SettingsError(f"{PREFIX}REMOTE_TIMEOUT_S must be positive")
        for name in ("session_age_s", "login_max_failures", "login_failure_window_s",
                     "webhook_max_age_s"):  # fmt: skip
            if getattr(self, name) < 1:
                raise SettingsError(f"{PREFIX}{name.upper()} must be at least 1")
        if self.db_pool_min < 0 or self.db_pool_min > self.db_pool_max:
            raise SettingsError(
                f"{PREFIX}DB_POOL_MIN must be between 0 and {PREFIX}DB_POOL_MAX "
                f"({self.db_pool_max})"
            )
        from backend.net.safe_fetch import AllowList  # imports no settings: no cycle

        try:
            AllowList.parse(self.url_allowlist)
        except ValueError as exc:
            raise SettingsError(f"{PREFIX}URL_ALLOWLIST is invalid: {exc}") from None
        for name in ("database_url", "redis_url", "public_url"):
            url = getattr(self, name)
            if url and "://" not in url:
                raise SettingsError(f"{PREFIX}{name.upper()} must be a URL, got {url!r}")

    @property
    def embedded(self) -> bool:
        return not self.database_url or not self.redis_url

    @property
    def base_url(self) -> str:
        """Where clients reach this server (VELLUM_PUBLIC_URL, else http://HOST:PORT)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


_FIELDS = {f.name for f in msgspec.structs.fields(Settings)}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment (unknown VELLUM_* names are ignored here and
    reported by `unknown_variables`, so a newer deployment file does not stop an older build)."""
    env = os.environ if environ is None else environ
    raw = {
        key[len(PREFIX) :].lower(): value
        for key, value in env.items()
        if key.startswith(PREFIX) and key[len(PREFIX) :].lower() in _FIELDS
    }
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        # msgspec names the field as `$.port`; report the variable the user actually set.
        message = str(exc)
        for name in raw:
            if f"$.{name}" in message:
                raise SettingsError(
                    f"{PREFIX}{name.upper()}={raw[name]!r} is invalid: {message.split(' - ')[0]}"
                ) from None
        raise SettingsError(message) from None


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """VELLUM_* variables that are not settings: most likely typos, worth a warning."""
    env = os.environ if environ is None else environ
    return sorted(
        k for k in env if k.startswith(PREFIX) and k[len(PREFIX) :].lower() not in _FIELDS
    )
