"""撤销: revert the actor's latest score change or adjustment, found in the audit log.

Each undo is a new audited change pointing at the row it reverts
(``undoes_id``); repeated undos walk further back through the actor's own
changes.  A change someone else has since overwritten is not undone: that
would silently throw their work away.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from scoring_core.points import fmt
from storage.errors import Conflict, NothingToUndo
from storage.models.scoring import AuditAction, AuditRow
from storage.scoring.adjustments import adjustment_row, audit_adjustment
from storage.scoring.audit import to_entry
from storage.scoring.checks import check_actor, utc
from storage.scoring.records import Actor, AuditEntry, ScoreChange, Undone
from storage.scoring.rounds import lock_open_round
from storage.scoring.scores import audit_score, score_row, write_score
from storage.scoring.submissions import ensure_editable

UNDOABLE = (
    AuditAction.SCORE_SET,
    AuditAction.SCORE_CLEARED,
    AuditAction.ADJUSTMENT_ADDED,
    AuditAction.ADJUSTMENT_REMOVED,
)


async def undo_last(
    session: AsyncSession,
    round_id: int,
    actor: Actor,
    now: datetime,
    source_message_id: str | None = None,
) -> Undone:
    now = utc(now)
    check_actor(actor)
    await lock_open_round(session, round_id)
    target = await _last_undoable(session, round_id, actor)
    if target is None:
        raise NothingToUndo("没有可以撤销的操作")
    if target.action in (AuditAction.SCORE_SET, AuditAction.SCORE_CLEARED):
        await _undo_score(session, target, actor, now, source_message_id)
    else:
        await _undo_adjustment(session, target, actor, now, source_message_id)
    revert = (await session.scalars(select(AuditRow).where(AuditRow.undoes_id == target.id))).first()
    if revert is None:  # pragma: no cover - written just above
        raise NothingToUndo("没有可以撤销的操作")
    return Undone(undone=target, revert=to_entry(revert))


async def _last_undoable(session: AsyncSession, round_id: int, actor: Actor) -> AuditEntry | None:
    later = aliased(AuditRow)
    undone = select(later.id).where(later.undoes_id == AuditRow.id).exists()
    row = (
        await session.scalars(
            select(AuditRow)
            .where(
                AuditRow.round_id == round_id,
                AuditRow.actor == actor.id,
                AuditRow.action.in_(UNDOABLE),
                AuditRow.undoes_id.is_(None),
                ~undone,
            )
            .order_by(AuditRow.id.desc())
            .limit(1)
        )
    ).first()
    return to_entry(row) if row is not None else None


async def _undo_score(
    session: AsyncSession, target: AuditEntry, actor: Actor, now: datetime, source_message_id: str | None
) -> None:
    unit, code, scorer = target.unit or "", target.code or "", target.department or ""
    await ensure_editable(session, target.round_id, scorer, code, now)
    row = await score_row(session, target.round_id, unit, code, scorer)
    current = (row.value, row.note) if row is not None else None
    left = (target.new_value, target.note) if target.new_value is not None else None
    if current != left:
        shown = fmt(row.value) if row is not None else "空"
        raise Conflict(f"{unit}第{code}项的分数之后已被改动（现为{shown}），不能撤销；请直接修改")
    change = ScoreChange(
        unit=unit,
        code=code,
        scorer=scorer,
        old=target.new_value,
        new=target.old_value,
        note=(target.old_note or "") if target.old_value is not None else "",
        old_note=target.note if target.new_value is not None else None,
    )
    await write_score(session, target.round_id, row, change, actor, now)
    await audit_score(session, target.round_id, change, actor, now, source_message_id, undoes_id=target.id)


async def _undo_adjustment(
    session: AsyncSession, target: AuditEntry, actor: Actor, now: datetime, source_message_id: str | None
) -> None:
    if target.adjustment_id is None:  # pragma: no cover - adjustment rows always carry it
        raise NothingToUndo("没有可以撤销的操作")
    row = await adjustment_row(session, target.round_id, target.adjustment_id)
    if target.action is AuditAction.ADJUSTMENT_ADDED:
        if row.removed_at is not None:
            raise Conflict(f"{row.unit}的{row.code}（{row.reason[:20]}）已被删除，无需撤销")
        row.removed_at, row.removed_by = now, actor.id
        action = AuditAction.ADJUSTMENT_REMOVED
    else:
        if row.removed_at is None:  # pragma: no cover - only an undo restores, and that is not undone again
            raise Conflict(f"{row.unit}的{row.code}已恢复，无需撤销")
        # Restored in place, so it keeps its place in recording order (caps depend on it).
        row.removed_at, row.removed_by = None, None
        action = AuditAction.ADJUSTMENT_ADDED
    await audit_adjustment(session, row, action, actor, now, source_message_id, undoes_id=target.id)
