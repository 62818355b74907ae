"""The outbox: messages written with the state change that caused them, sent later.

Every function takes the caller's ``AsyncSession``: a handler enqueues in the
same transaction as its own writes, so a rollback drops its replies too.

Row life: ``pending`` → ``sending`` (claimed: attempts + 1, leased until
``next_attempt_at``) → ``sent`` | back to ``pending`` (retry) | ``failed``.
A ``sending`` row whose lease ran out (the sender crashed mid-send) is due
again: that is the one at-least-once window, narrowed by the platforms'
own duplicate checks where they have one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, event, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from bot.events import Platform
from bot.messages import Outbound, Target, TargetKind
from storage.dialect import insert_for
from storage.models.messaging import OutboxRow, OutboxStatus

# Sessions made by the app carry a wake callback under this ``info`` key: the
# first enqueue in a transaction arms it, the commit fires it, and the
# outbox dispatcher picks the rows up without waiting for its next poll.
WAKE_INFO_KEY = "outbox_wake"
_ARMED_INFO_KEY = "outbox_wake_armed"

_OPEN = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)


def _arm_wake(session: AsyncSession) -> None:
    wake: Callable[[], None] | None = session.info.get(WAKE_INFO_KEY)
    if wake is None or session.info.get(_ARMED_INFO_KEY):
        return
    session.info[_ARMED_INFO_KEY] = True

    def _after_commit(sync_session: Session) -> None:
        sync_session.info.pop(_ARMED_INFO_KEY, None)
        wake()

    event.listen(session.sync_session, "after_commit", _after_commit, once=True)


async def enqueue(
    session: AsyncSession, outbound: Outbound, now: datetime, *, hold_until: datetime | None = None
) -> int | None:
    """Add a message; returns its row id, or None when its dedupe key was enqueued before.

    ``hold_until`` keeps it back until then (quiet hours) without holding up
    later messages to the same target.
    """
    held = hold_until if hold_until is not None and hold_until > now else None
    values: dict[str, Any] = {
        "target_platform": outbound.target.platform.value,
        "target_kind": outbound.target.kind.value,
        "target_id": outbound.target.id,
        "message": outbound.model_dump_json(),
        "reply_token": outbound.reply_token,
        "dedupe_key": outbound.dedupe_key,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": held or now,
        "held_until": held,
        "created_at": now,
    }
    stmt = insert_for(session, OutboxRow).values(**values)
    if outbound.dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.execute(stmt.returning(OutboxRow.id))
    row_id = result.scalar_one_or_none()
    if row_id is not None:
        _arm_wake(session)
    return row_id


def decode(row: OutboxRow) -> Outbound:
    return Outbound.model_validate_json(row.message)


def target_of(row: OutboxRow) -> Target:
    return Target(platform=Platform(row.target_platform), kind=TargetKind(row.target_kind), id=row.target_id)


def _earlier_open(now: datetime | None) -> Any:
    """An earlier open row to the same target (not yet due, when ``now`` is given).

    A row held back (quiet hours) is not in the way while it is held.
    """
    earlier = aliased(OutboxRow)
    conditions = [
        earlier.target_platform == OutboxRow.target_platform,
        earlier.target_kind == OutboxRow.target_kind,
        earlier.target_id == OutboxRow.target_id,
        earlier.id < OutboxRow.id,
        earlier.status.in_(_OPEN),
    ]
    if now is not None:
        conditions.append(earlier.next_attempt_at > now)
        conditions.append(or_(earlier.held_until.is_(None), earlier.held_until <= now))
    else:
        conditions.append(earlier.held_until.is_(None))
    return exists().where(and_(*conditions))


async def due(session: AsyncSession, now: datetime, limit: int) -> Sequence[OutboxRow]:
    """Open rows that may be sent now, oldest first.

    A row waits while an earlier open row to the same target is not due yet
    (backing off, or being sent): one person's messages arrive in order.
    """
    rows = await session.scalars(
        select(OutboxRow)
        .where(OutboxRow.status.in_(_OPEN), OutboxRow.next_attempt_at <= now, ~_earlier_open(now))
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    return rows.all()


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the first target's queue may move on (for the dispatcher's sleep)."""
    at: datetime | None = await session.scalar(
        select(OutboxRow.next_attempt_at)
        .where(OutboxRow.status.in_(_OPEN), ~_earlier_open(None))
        .order_by(OutboxRow.next_attempt_at)
        .limit(1)
    )
    return at


async def claim(session: AsyncSession, row_id: int, now: datetime, lease_until: datetime) -> bool:
    """Move a due row to ``sending``; False when another sender got there first.

    The WHERE re-checks due-ness, so of two concurrent claimers only the
    first one's UPDATE matches (PostgreSQL re-evaluates it after the other
    commits; SQLite serialises writers).
    """
    result = await session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.id == row_id,
            OutboxRow.status.in_(_OPEN),
            OutboxRow.next_attempt_at <= now,
        )
        .values(
            status=OutboxStatus.SENDING.value,
            attempts=OutboxRow.attempts + 1,
            next_attempt_at=lease_until,
        )
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def postpone(session: AsyncSession, row_id: int, until: datetime, *, claimed: bool = False) -> None:
    """Push a row back without counting an attempt (rate limit pacing: its next post has no token yet).

    ``claimed``: the row was claimed for sending (some posts went out), so it
    goes back to ``pending`` and the claim's attempt is given back.
    """
    stmt = update(OutboxRow).where(OutboxRow.id == row_id)
    if claimed:
        await session.execute(
            stmt.values(status=OutboxStatus.PENDING.value, next_attempt_at=until, attempts=OutboxRow.attempts - 1)
        )
    else:
        await session.execute(stmt.where(OutboxRow.status == OutboxStatus.PENDING.value).values(next_attempt_at=until))


async def mark_part_sent(session: AsyncSession, row_id: int, parts_sent: int) -> None:
    """One more post of a multi-part message went out: a retry starts after it."""
    await session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(parts_sent=parts_sent))


async def mark_sent(
    session: AsyncSession, row_id: int, now: datetime, platform_message_id: str | None, *, parts_sent: int = 1
) -> None:
    await session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id)
        .values(
            status=OutboxStatus.SENT.value,
            sent_at=now,
            platform_message_id=platform_message_id,
            last_error=None,
            parts_sent=parts_sent,
        )
    )


async def mark_retry(session: AsyncSession, row_id: int, at: datetime, error: str, *, counts: bool = True) -> None:
    """Try again at ``at``; ``counts=False`` marks the attempt throttled (the platform only said "slower")."""
    values: dict[str, Any] = {"status": OutboxStatus.PENDING.value, "next_attempt_at": at, "last_error": error}
    if not counts:
        values["throttles"] = OutboxRow.throttles + 1
    await session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(**values))


async def mark_failed(session: AsyncSession, row_id: int, error: str) -> None:
    await session.execute(
        update(OutboxRow).where(OutboxRow.id == row_id).values(status=OutboxStatus.FAILED.value, last_error=error)
    )


async def failed(session: AsyncSession, limit: int = 50) -> Sequence[OutboxRow]:
    """The messages given up on, newest first: what an admin should look at."""
    rows = await session.scalars(
        select(OutboxRow)
        .where(OutboxRow.status == OutboxStatus.FAILED.value)
        .order_by(OutboxRow.id.desc())
        .limit(limit)
    )
    return rows.all()


async def count_failed(session: AsyncSession) -> int:
    found = await session.scalar(
        select(func.count()).select_from(OutboxRow).where(OutboxRow.status == OutboxStatus.FAILED.value)
    )
    return int(found or 0)


async def retry_failed(session: AsyncSession, now: datetime, row_ids: Sequence[int] | None = None) -> int:
    """Send failed rows again (all, or those named): fresh attempts, from the post that failed."""
    stmt = update(OutboxRow).where(OutboxRow.status == OutboxStatus.FAILED.value)
    if row_ids is not None:
        stmt = stmt.where(OutboxRow.id.in_(row_ids))
    result = await session.execute(
        stmt.values(status=OutboxStatus.PENDING.value, attempts=0, throttles=0, next_attempt_at=now)
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    if count:
        _arm_wake(session)
    return count


async def sent_since(session: AsyncSession, since: datetime) -> Sequence[OutboxRow]:
    """Rows with posts out since ``since``: the rate limiter's memory after a restart."""
    rows = await session.scalars(select(OutboxRow).where(OutboxRow.sent_at >= since).order_by(OutboxRow.sent_at))
    return rows.all()


async def get(session: AsyncSession, row_id: int) -> OutboxRow | None:
    return await session.get(OutboxRow, row_id)
