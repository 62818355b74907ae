"""The append-only audit log: writing a row for every change, reading it for admins."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.scoring import AuditAction, AuditRow
from storage.scoring.records import Actor, AuditEntry


async def write_audit(
    session: AsyncSession,
    round_id: int,
    actor: Actor,
    action: AuditAction,
    now: datetime,
    *,
    unit: str | None = None,
    code: str | None = None,
    department: str | None = None,
    old_value: Decimal | None = None,
    new_value: Decimal | None = None,
    old_note: str | None = None,
    note: str = "",
    source_message_id: str | None = None,
    adjustment_id: int | None = None,
    undoes_id: int | None = None,
) -> AuditEntry:
    row = AuditRow(
        round_id=round_id,
        at=now,
        actor=actor.id,
        actor_name=actor.name,
        actor_department=actor.department,
        action=action,
        unit=unit,
        code=code,
        department=department,
        old_value=old_value,
        new_value=new_value,
        old_note=old_note,
        note=note,
        source_message_id=source_message_id,
        adjustment_id=adjustment_id,
        undoes_id=undoes_id,
    )
    session.add(row)
    await session.flush()
    return to_entry(row)


async def audit_for(
    session: AsyncSession, round_id: int, unit: str | None = None, code: str | None = None
) -> list[AuditEntry]:
    """The round's audit rows, oldest first, optionally for one unit and/or part."""
    query = select(AuditRow).where(AuditRow.round_id == round_id)
    if unit is not None:
        query = query.where(AuditRow.unit == unit)
    if code is not None:
        query = query.where(AuditRow.code == code)
    rows = await session.scalars(query.order_by(AuditRow.id))
    return [to_entry(row) for row in rows]


def to_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        round_id=row.round_id,
        at=row.at,
        actor=Actor(row.actor, row.actor_name, row.actor_department),
        action=AuditAction(row.action),
        unit=row.unit,
        code=row.code,
        department=row.department,
        old_value=row.old_value,
        new_value=row.new_value,
        old_note=row.old_note,
        note=row.note,
        source_message_id=row.source_message_id,
        adjustment_id=row.adjustment_id,
        undoes_id=row.undoes_id,
    )
