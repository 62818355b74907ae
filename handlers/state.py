"""Conversation state behind a small interface: where each person is, kept between messages.

Keyed by ``UserKey`` (platform, user id); stored in the database in the
handler's own transaction (so a reply and the state it leaves commit
together, and a restart resumes mid-walk); read and written only by that
user's handler, which the dispatcher runs one at a time per user.  A state
left idle for ``IDLE_EXPIRY`` is gone on the next read, quietly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import UserKey
from storage.models.conversation import ConversationRow

IDLE_EXPIRY = timedelta(minutes=30)


class Step(StrEnum):
    """The named places a conversation can be in."""

    #: scoring a part unit by unit, on cards
    WALKING = "walking"
    #: a below-max score was given without a reason: asking for it, nothing stored yet
    REASON = "reason"
    #: a part was chosen (全部满分, a batch): later lines without a header mean it
    CHOSEN = "chosen"
    #: a batch named a unit ambiguously: asking which one, nothing stored yet
    RESOLVING = "resolving"


@dataclass(frozen=True, slots=True)
class Conversation:
    step: Step
    #: the part being scored
    code: str
    #: index into the part's units (the scorer's list, in directory order)
    position: int = 0
    #: REASON: the unit and value waiting for a reason
    pending_unit: str | None = None
    pending_value: Decimal | None = None
    #: RESOLVING: the batch waiting (line, unit as typed, value, reason), its 全部满分,
    #: and the names chosen so far (line → unit)
    pending_lines: tuple[tuple[int, str, Decimal, str], ...] = ()
    pending_rest_full: bool = False
    resolved: tuple[tuple[int, str], ...] = ()

    def at(self, position: int) -> Conversation:
        return replace(self, step=Step.WALKING, position=position, pending_unit=None, pending_value=None)

    def to_json(self) -> str:
        data: dict[str, Any] = {"code": self.code, "position": self.position}
        if self.pending_unit is not None:
            data["pending_unit"] = self.pending_unit
        if self.pending_value is not None:
            data["pending_value"] = str(self.pending_value)
        if self.pending_lines:
            data["pending_lines"] = [[n, unit, str(value), reason] for n, unit, value, reason in self.pending_lines]
            data["pending_rest_full"] = self.pending_rest_full
            data["resolved"] = [list(r) for r in self.resolved]
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, step: str, text: str) -> Conversation:
        data = json.loads(text)
        value = data.get("pending_value")
        return cls(
            step=Step(step),
            code=str(data["code"]),
            position=int(data.get("position", 0)),
            pending_unit=data.get("pending_unit"),
            pending_value=Decimal(value) if value is not None else None,
            pending_lines=tuple(
                (int(n), str(unit), Decimal(v), str(reason)) for n, unit, v, reason in data.get("pending_lines", ())
            ),
            pending_rest_full=bool(data.get("pending_rest_full", False)),
            resolved=tuple((int(n), str(unit)) for n, unit in data.get("resolved", ())),
        )


class ConversationStore(Protocol):
    async def load(self, key: UserKey, now: datetime) -> Conversation | None:
        """The person's state, or None (none, or idle longer than IDLE_EXPIRY)."""

    async def save(self, key: UserKey, state: Conversation, now: datetime) -> None: ...

    async def clear(self, key: UserKey) -> None: ...


class MemoryConversations:
    """In memory, for tests of the handlers' logic without a database."""

    def __init__(self) -> None:
        self._states: dict[UserKey, tuple[Conversation, datetime]] = {}

    async def load(self, key: UserKey, now: datetime) -> Conversation | None:
        found = self._states.get(key)
        if found is None:
            return None
        state, at = found
        if now - at > IDLE_EXPIRY:
            del self._states[key]
            return None
        return state

    async def save(self, key: UserKey, state: Conversation, now: datetime) -> None:
        self._states[key] = (state, now)

    async def clear(self, key: UserKey) -> None:
        self._states.pop(key, None)


class SqlConversations:
    """In the ``conversations`` table, on the handler's session (its transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def load(self, key: UserKey, now: datetime) -> Conversation | None:
        row = await self._row(key)
        if row is None:
            return None
        if now - row.updated_at > IDLE_EXPIRY:
            await self._session.delete(row)
            return None
        return Conversation.from_json(row.step, row.data)

    async def save(self, key: UserKey, state: Conversation, now: datetime) -> None:
        row = await self._row(key)
        if row is None:
            row = ConversationRow(platform=key.platform.value, user_id=key.user_id)
            self._session.add(row)
        row.step = state.step.value
        row.data = state.to_json()
        row.updated_at = now
        await self._session.flush()

    async def clear(self, key: UserKey) -> None:
        await self._session.execute(
            delete(ConversationRow).where(
                ConversationRow.platform == key.platform.value, ConversationRow.user_id == key.user_id
            )
        )

    async def _row(self, key: UserKey) -> ConversationRow | None:
        return (
            await self._session.scalars(
                select(ConversationRow)
                .where(ConversationRow.platform == key.platform.value, ConversationRow.user_id == key.user_id)
                .execution_options(populate_existing=True)
            )
        ).first()
