"""Bonus, deduction and veto entries: added, removed softly (rows are never deleted), read in recording order.

Recording order matters: the core applies caps in it, so the breakdown can
say which entry hit a cap.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scoring_core.entries import AdjustmentEntry
from storage.errors import Conflict, NotFound
from storage.models.scoring import Adjustment, AuditAction
from storage.scoring.audit import write_audit
from storage.scoring.checks import check_actor, check_adjustment, utc
from storage.scoring.records import Actor, AdjustmentRecord
from storage.scoring.rounds import lock_open_round


async def add_adjustment(
    session: AsyncSession,
    round_id: int,
    entry: AdjustmentEntry,
    actor: Actor,
    source_message_id: str | None,
    now: datetime,
) -> AdjustmentRecord:
    now = utc(now)
    check_actor(actor)
    check_adjustment(entry)
    await lock_open_round(session, round_id)
    row = Adjustment(
        round_id=round_id,
        unit=entry.unit,
        code=entry.code,
        recorder=entry.recorder,
        value=entry.value,
        reason=entry.reason,
        case=entry.case,
        created_at=now,
        created_by=actor.id,
    )
    session.add(row)
    await session.flush()
    await audit_adjustment(session, row, AuditAction.ADJUSTMENT_ADDED, actor, now, source_message_id)
    return to_record(row)


async def remove_adjustment(
    session: AsyncSession,
    round_id: int,
    adjustment_id: int,
    actor: Actor,
    source_message_id: str | None,
    now: datetime,
) -> AdjustmentRecord:
    """Mark an entry removed; it stays in the table and the audit log."""
    now = utc(now)
    check_actor(actor)
    await lock_open_round(session, round_id)
    row = await adjustment_row(session, round_id, adjustment_id)
    if row.removed_at is not None:
        raise Conflict(f"{row.unit}的{row.code}（{row.reason[:20]}）已经删除过了")
    row.removed_at = now
    row.removed_by = actor.id
    await audit_adjustment(session, row, AuditAction.ADJUSTMENT_REMOVED, actor, now, source_message_id)
    return to_record(row)


async def active_adjustments(session: AsyncSession, round_id: int) -> list[AdjustmentEntry]:
    """The round's entries not removed, in recording order (the order caps are applied in)."""
    return [r.entry for r in await adjustment_records(session, round_id)]


async def adjustment_records(
    session: AsyncSession, round_id: int, unit: str | None = None, include_removed: bool = False
) -> list[AdjustmentRecord]:
    """Entries with their ids (to remove one), in recording order."""
    query = select(Adjustment).where(Adjustment.round_id == round_id)
    if unit is not None:
        query = query.where(Adjustment.unit == unit)
    if not include_removed:
        query = query.where(Adjustment.removed_at.is_(None))
    rows = await session.scalars(query.order_by(Adjustment.id).execution_options(populate_existing=True))
    return [to_record(row) for row in rows]


async def adjustment_row(session: AsyncSession, round_id: int, adjustment_id: int) -> Adjustment:
    row = await session.get(Adjustment, adjustment_id, populate_existing=True)
    if row is None or row.round_id != round_id:
        raise NotFound("没有找到这条加减分记录")
    return row


async def audit_adjustment(
    session: AsyncSession,
    row: Adjustment,
    action: AuditAction,
    actor: Actor,
    now: datetime,
    source_message_id: str | None,
    undoes_id: int | None = None,
) -> None:
    added = action is AuditAction.ADJUSTMENT_ADDED
    await write_audit(
        session,
        row.round_id,
        actor,
        action,
        now,
        unit=row.unit,
        code=row.code,
        department=row.recorder,
        old_value=None if added else row.value,
        new_value=row.value if added else None,
        note=row.reason,
        source_message_id=source_message_id,
        adjustment_id=row.id,
        undoes_id=undoes_id,
    )


def to_record(row: Adjustment) -> AdjustmentRecord:
    return AdjustmentRecord(
        id=row.id,
        entry=AdjustmentEntry(row.unit, row.code, row.recorder, row.value, row.reason, row.case),
        created_at=row.created_at,
        created_by=row.created_by,
        removed_at=row.removed_at,
        removed_by=row.removed_by,
    )
