"""Where platform access tokens are kept, so several processes share one.

Writes are a compare-and-swap on the stored value: a process that refreshed
a token replaces the row only if it still holds the token it saw, so two
processes refreshing at once converge on one token instead of overwriting
each other back and forth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from storage.engine import session_factory
from storage.models.tokens import AccessToken


@dataclass(frozen=True, slots=True)
class StoredToken:
    value: str
    expires_at: datetime

    def __repr__(self) -> str:  # the value is a credential
        return f"StoredToken(value=***, expires_at={self.expires_at.isoformat()})"


class TokenStore(Protocol):
    async def get(self, platform: str, app_key: str) -> StoredToken | None:
        """The stored token, expired or not; None when there is none."""
        ...

    async def replace(self, platform: str, app_key: str, new: StoredToken, *, expected: str | None) -> bool:
        """Store ``new`` if the current value is ``expected`` (None: no row yet).

        Returns False when another writer got there first; read again then.
        """
        ...


class MemoryTokenStore:
    """One process only: for tests and the sandbox."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], StoredToken] = {}

    async def get(self, platform: str, app_key: str) -> StoredToken | None:
        return self._rows.get((platform, app_key))

    async def replace(self, platform: str, app_key: str, new: StoredToken, *, expected: str | None) -> bool:
        current = self._rows.get((platform, app_key))
        if (current.value if current else None) != expected:
            return False
        self._rows[(platform, app_key)] = new
        return True


SessionsSource = AsyncEngine | async_sessionmaker[Any] | Callable[[], async_sessionmaker[Any]]


class SqlTokenStore:
    """Tokens in the ``access_tokens`` table, shared by every process on the database.

    Built from an engine, a session factory, or a getter of one (the app
    factory builds adapters before the database is open).
    """

    def __init__(self, sessions: SessionsSource) -> None:
        if isinstance(sessions, async_sessionmaker):
            factory = sessions
            self._factory: Callable[[], async_sessionmaker[Any]] = lambda: factory
        elif isinstance(sessions, AsyncEngine):
            made = session_factory(sessions)
            self._factory = lambda: made
        else:
            self._factory = sessions

    def _sessions(self) -> Any:
        return self._factory()()

    async def get(self, platform: str, app_key: str) -> StoredToken | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(AccessToken).where(AccessToken.platform == platform, AccessToken.app_key == app_key)
            )
            return StoredToken(row.value, row.expires_at) if row is not None else None

    async def replace(self, platform: str, app_key: str, new: StoredToken, *, expected: str | None) -> bool:
        now = datetime.now(UTC)
        async with self._sessions() as session:
            if expected is None:
                session.add(
                    AccessToken(
                        platform=platform,
                        app_key=app_key,
                        value=new.value,
                        expires_at=new.expires_at,
                        updated_at=now,
                    )
                )
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    return False
                return True
            result = await session.execute(
                update(AccessToken)
                .where(
                    AccessToken.platform == platform,
                    AccessToken.app_key == app_key,
                    AccessToken.value == expected,
                )
                .values(value=new.value, expires_at=new.expires_at, updated_at=now)
            )
            await session.commit()
            return bool(getattr(result, "rowcount", 0) == 1)
