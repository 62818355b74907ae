"""One messenger app's access token: cached here, shared through the database.

Both WeCom and DingTalk hand out tokens valid about two hours.  Each process
keeps the token it last used; under a lock it looks in the shared store
before asking the platform, and stores a fresh one with a compare-and-swap so
two processes refreshing at once end up on the same token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.clock import Clock
from storage.tokens import StoredToken, TokenStore


class TokenCache:
    def __init__(
        self,
        store: TokenStore,
        platform: str,
        key: str,
        fetch: Callable[[], Awaitable[StoredToken]],
        *,
        clock: Clock,
        margin: timedelta,
    ) -> None:
        self._store = store
        self._platform = platform
        self._key = key
        self._fetch = fetch
        self._clock = clock
        self._margin = margin
        self._cached: StoredToken | None = None
        self._lock = asyncio.Lock()

    def _usable(self, token: StoredToken | None, refused: str | None) -> bool:
        if token is None or token.value == refused:
            return False
        return token.expires_at - self._margin > self._clock()

    async def get(self, *, refused: str | None = None) -> str:
        """A token valid for a while yet; ``refused`` is one the platform just turned down."""
        if self._usable(self._cached, refused):
            assert self._cached is not None
            return self._cached.value
        async with self._lock:
            # Whoever held the lock before us may have refreshed already.
            if self._usable(self._cached, refused):
                assert self._cached is not None
                return self._cached.value
            stored = await self._store.get(self._platform, self._key)
            if self._usable(stored, refused):
                assert stored is not None
                self._cached = stored
                return stored.value
            fresh = await self._fetch()
            expected = stored.value if stored is not None else None
            if not await self._store.replace(self._platform, self._key, fresh, expected=expected):
                # Another process stored a token meanwhile: use theirs if it is good.
                winner = await self._store.get(self._platform, self._key)
                if self._usable(winner, refused):
                    assert winner is not None
                    fresh = winner
            self._cached = fresh
            return fresh.value
