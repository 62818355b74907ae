"""Inbound events: record once (dedupe), then mark handled or failed.

Recording is an INSERT … ON CONFLICT DO NOTHING on the unique dedupe key, so
two deliveries of one callback racing each other still record it once, on
SQLite and PostgreSQL alike.  Rows left ``received`` by a crash are handled
again at start-up (at-least-once handling; the handler's effects are
exactly-once because they commit with the ``handled`` mark).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import EventKind, InboundEvent, Platform
from storage.dialect import insert_for
from storage.models.messaging import EventStatus, InboundEventRow


def encode_event(event: InboundEvent) -> str:
    data: dict[str, Any] = {
        "platform": event.platform.value,
        "user_id": event.user_id,
        "kind": event.kind.value,
        "message_id": event.message_id,
        "received_at": event.received_at.isoformat(),
        "text": event.text,
        "action_key": event.action_key,
        "selected": list(event.selected),
        "chat_id": event.chat_id,
        "card_id": event.card_id,
        "reply_token": event.reply_token,
        "file_name": event.file_name,
        "file_data": (base64.b64encode(event.file_data).decode("ascii") if event.file_data is not None else None),
    }
    return json.dumps(data, ensure_ascii=False)


def decode_event(payload: str) -> InboundEvent:
    data = json.loads(payload)
    file_data = data.get("file_data")
    return InboundEvent(
        platform=Platform(data["platform"]),
        user_id=data["user_id"],
        kind=EventKind(data["kind"]),
        message_id=data["message_id"],
        received_at=datetime.fromisoformat(data["received_at"]),
        text=data.get("text", ""),
        action_key=data.get("action_key", ""),
        selected=tuple(data.get("selected", ())),
        chat_id=data.get("chat_id"),
        card_id=data.get("card_id"),
        reply_token=data.get("reply_token"),
        file_name=data.get("file_name"),
        file_data=base64.b64decode(file_data) if file_data is not None else None,
    )


async def record(session: AsyncSession, event: InboundEvent, now: datetime) -> bool:
    """Store the event unless its dedupe key is known; True when it is new."""
    stmt = (
        insert_for(session, InboundEventRow)
        .values(
            dedupe_key=event.dedupe_key,
            platform=event.platform.value,
            user_id=event.user_id,
            payload=encode_event(event),
            status=EventStatus.RECEIVED.value,
            attempts=0,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    result = await session.execute(stmt)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def start_attempt(session: AsyncSession, dedupe_key: str) -> int:
    """Count one handling attempt; returns the count (bounds replays of a poison event)."""
    await session.execute(
        update(InboundEventRow)
        .where(InboundEventRow.dedupe_key == dedupe_key)
        .values(attempts=InboundEventRow.attempts + 1)
    )
    attempts = await session.scalar(select(InboundEventRow.attempts).where(InboundEventRow.dedupe_key == dedupe_key))
    return int(attempts or 0)


async def mark(
    session: AsyncSession,
    dedupe_key: str,
    status: EventStatus,
    now: datetime,
    error: str | None = None,
) -> None:
    await session.execute(
        update(InboundEventRow)
        .where(InboundEventRow.dedupe_key == dedupe_key)
        .values(status=status.value, handled_at=now, last_error=error)
    )


async def unhandled(session: AsyncSession) -> Sequence[InboundEvent]:
    """Events recorded but neither handled nor failed, oldest first."""
    rows = await session.scalars(
        select(InboundEventRow.payload)
        .where(InboundEventRow.status == EventStatus.RECEIVED.value)
        .order_by(InboundEventRow.id)
    )
    return [decode_event(payload) for payload in rows]


async def get(session: AsyncSession, dedupe_key: str) -> InboundEventRow | None:
    row: InboundEventRow | None = await session.scalar(
        select(InboundEventRow).where(InboundEventRow.dedupe_key == dedupe_key)
    )
    return row
