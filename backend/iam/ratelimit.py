"""Failed-login limiting in Redis: a counter per (username, client address) that expires a
window after the first failure. Once it reaches the limit, attempts are refused (429)
without checking the password, until the window ends; a success clears it."""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis


class LoginLimiter:
    def __init__(self, redis: aioredis.Redis, max_failures: int, window_s: int) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.window_s = window_s

    @staticmethod
    def _key(username: str, client: str) -> str:
        who = hashlib.sha256(f"{username.lower()}\0{client}".encode()).hexdigest()[:32]
        return f"vellum:login-failures:{who}"

    async def retry_after(self, username: str, client: str) -> int | None:
        """Seconds until attempts are allowed again, or None when they are allowed now."""
        key = self._key(username, client)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = await pipe.execute()
        if count is None or int(count) < self.max_failures:
            return None
        return max(int(ttl), 1)

    async def failed(self, username: str, client: str) -> None:
        key = self._key(username, client)
        async with self.redis.pipeline(transaction=True) as pipe:
            # Create with the window's expiry if absent (Redis 6 has no EXPIRE ... NX), count.
            pipe.set(key, 0, ex=self.window_s, nx=True)
            pipe.incr(key)
            await pipe.execute()

    async def succeeded(self, username: str, client: str) -> None:
        await self.redis.delete(self._key(username, client))
