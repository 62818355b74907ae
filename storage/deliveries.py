"""What the sandbox messenger delivered: the store its chat page reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import distinct, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.messaging import SandboxDeliveryRow


async def add(
    session: AsyncSession,
    *,
    target_kind: str,
    target_id: str,
    view: str,
    outbox_id: int | None,
    now: datetime,
) -> int:
    row = SandboxDeliveryRow(
        target_kind=target_kind, target_id=target_id, view=view, outbox_id=outbox_id, created_at=now
    )
    session.add(row)
    await session.flush()
    return row.id


async def after(
    session: AsyncSession, target_kind: str, target_id: str, after_id: int, limit: int = 200
) -> Sequence[SandboxDeliveryRow]:
    rows = await session.scalars(
        select(SandboxDeliveryRow)
        .where(
            SandboxDeliveryRow.target_kind == target_kind,
            SandboxDeliveryRow.target_id == target_id,
            SandboxDeliveryRow.id > after_id,
        )
        .order_by(SandboxDeliveryRow.id)
        .limit(limit)
    )
    return rows.all()


async def targets(session: AsyncSession, target_kind: str) -> Sequence[str]:
    rows = await session.scalars(
        select(distinct(SandboxDeliveryRow.target_id))
        .where(SandboxDeliveryRow.target_kind == target_kind)
        .order_by(SandboxDeliveryRow.target_id)
    )
    return rows.all()
