"""Submitting a part (提交), the lock after its deadline, and an admin's unlock (解锁).

A submitted part stays editable until its deadline; after it, the part is
locked until an admin unlocks it.  One row per submission: the latest row
for (round, department, code) is the state, earlier ones are history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import Conflict, PartLocked
from storage.models.scoring import AuditAction, Submission
from storage.scoring.audit import write_audit
from storage.scoring.checks import check_actor, utc
from storage.scoring.records import Actor, PartStatus
from storage.scoring.rounds import deadline_for, lock_open_round


async def part_status(session: AsyncSession, round_id: int, department: str, code: str, now: datetime) -> PartStatus:
    now = utc(now)
    deadline = await deadline_for(session, round_id, department, code)
    latest = await _latest(session, round_id, department, code)
    submitted = latest is not None and latest.unlocked_at is None
    return PartStatus(
        department=department,
        code=code,
        deadline=deadline,
        submitted_at=latest.submitted_at if latest else None,
        submitted_by=latest.submitted_by if latest else None,
        unlocked_at=latest.unlocked_at if latest else None,
        unlocked_by=latest.unlocked_by if latest else None,
        locked=submitted and deadline is not None and now >= deadline,
    )


async def is_locked(session: AsyncSession, round_id: int, department: str, code: str, now: datetime) -> bool:
    return (await part_status(session, round_id, department, code, now)).locked


async def submit_part(
    session: AsyncSession,
    round_id: int,
    department: str,
    code: str,
    actor: Actor,
    now: datetime,
    source_message_id: str | None = None,
) -> PartStatus:
    """The department declares ``code`` done; a second submission before an unlock is refused."""
    now = utc(now)
    check_actor(actor)
    await lock_open_round(session, round_id)
    latest = await _latest(session, round_id, department, code)
    if latest is not None and latest.unlocked_at is None:
        raise Conflict(f"{department}第{code}项已经提交过了，无需重复提交")
    session.add(
        Submission(round_id=round_id, department=department, code=code, submitted_at=now, submitted_by=actor.id)
    )
    await write_audit(
        session,
        round_id,
        actor,
        AuditAction.PART_SUBMITTED,
        now,
        code=code,
        department=department,
        source_message_id=source_message_id,
    )
    return await part_status(session, round_id, department, code, now)


async def unlock_part(
    session: AsyncSession,
    round_id: int,
    department: str,
    code: str,
    actor: Actor,
    now: datetime,
    source_message_id: str | None = None,
) -> PartStatus:
    """An admin reopens a submitted part (the caller checks the admin role)."""
    now = utc(now)
    check_actor(actor)
    await lock_open_round(session, round_id)
    latest = await _latest(session, round_id, department, code)
    if latest is None or latest.unlocked_at is not None:
        raise Conflict(f"{department}第{code}项尚未提交，无需解锁")
    latest.unlocked_at = now
    latest.unlocked_by = actor.id
    await write_audit(
        session,
        round_id,
        actor,
        AuditAction.PART_UNLOCKED,
        now,
        code=code,
        department=department,
        source_message_id=source_message_id,
    )
    return await part_status(session, round_id, department, code, now)


async def ensure_editable(session: AsyncSession, round_id: int, department: str, code: str, now: datetime) -> None:
    if await is_locked(session, round_id, department, code, now):
        raise PartLocked(department, code)


async def _latest(session: AsyncSession, round_id: int, department: str, code: str) -> Submission | None:
    return (
        await session.scalars(
            select(Submission)
            .where(Submission.round_id == round_id, Submission.department == department, Submission.code == code)
            .order_by(Submission.id.desc())
            .limit(1)
            .execution_options(populate_existing=True)
        )
    ).first()
