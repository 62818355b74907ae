"""Current scores: set in batches (whole or not at all), cleared, read; every change audited.

The caller owns the transaction: a handler writes scores and its outbox rows
in one commit.  A batch is checked whole before its first write; should the
database still fail mid-batch, the error leaves the transaction to be rolled
back by the caller (``async with session.begin()`` does), so nothing of the
batch is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scoring_core.entries import ScoreEntry
from storage.errors import NotFound
from storage.models.scoring import AuditAction, Score
from storage.scoring.audit import write_audit
from storage.scoring.checks import check_actor, check_scores, utc
from storage.scoring.records import Actor, ScoreChange
from storage.scoring.rounds import lock_open_round
from storage.scoring.submissions import ensure_editable

ScoreKey = tuple[str, str, str]  # unit, code, scorer


async def set_scores(
    session: AsyncSession,
    round_id: int,
    entries: Sequence[ScoreEntry],
    actor: Actor,
    source_message_id: str | None,
    now: datetime,
) -> list[ScoreChange]:
    """Store a batch of scores; returns what changed (an unchanged value and note is no change).

    Last write wins: a later writer of the same score replaces it, and the
    audit log keeps both, each with the value it replaced.
    """
    now = utc(now)
    check_actor(actor)
    check_scores(entries)
    await lock_open_round(session, round_id)
    for scorer, code in dict.fromkeys((e.scorer, e.code) for e in entries):
        await ensure_editable(session, round_id, scorer, code, now)
    rows = await _rows(session, round_id, entries)
    changes = []
    for entry in entries:
        row = rows.get((entry.unit, entry.code, entry.scorer))
        if row is not None and row.value == entry.value and row.note == entry.note:
            continue
        change = ScoreChange(
            unit=entry.unit,
            code=entry.code,
            scorer=entry.scorer,
            old=row.value if row else None,
            new=entry.value,
            note=entry.note,
            old_note=row.note if row else None,
        )
        await write_score(session, round_id, row, change, actor, now)
        await audit_score(session, round_id, change, actor, now, source_message_id)
        changes.append(change)
    return changes


async def clear_score(
    session: AsyncSession,
    round_id: int,
    unit: str,
    code: str,
    scorer: str,
    actor: Actor,
    source_message_id: str | None,
    now: datetime,
) -> ScoreChange:
    """Remove a score (the unit is unscored again); NotFound when there is none."""
    now = utc(now)
    check_actor(actor)
    await lock_open_round(session, round_id)
    await ensure_editable(session, round_id, scorer, code, now)
    row = await score_row(session, round_id, unit, code, scorer)
    if row is None:
        raise NotFound(f"{unit}第{code}项还没有{scorer}的评分")
    change = ScoreChange(unit, code, scorer, old=row.value, new=None, note="", old_note=row.note)
    await write_score(session, round_id, row, change, actor, now)
    await audit_score(session, round_id, change, actor, now, source_message_id)
    return change


async def current_scores(session: AsyncSession, round_id: int) -> list[ScoreEntry]:
    """Every current score of the round, in the order first recorded."""
    rows = await session.scalars(
        select(Score).where(Score.round_id == round_id).order_by(Score.id).execution_options(populate_existing=True)
    )
    return [_entry(row) for row in rows]


async def scores_for_part(session: AsyncSession, round_id: int, code: str, scorer: str) -> dict[str, ScoreEntry]:
    """One scorer's current scores of one part, by unit."""
    rows = await session.scalars(
        select(Score)
        .where(Score.round_id == round_id, Score.code == code, Score.scorer == scorer)
        .order_by(Score.id)
        .execution_options(populate_existing=True)
    )
    return {row.unit: _entry(row) for row in rows}


async def score_row(session: AsyncSession, round_id: int, unit: str, code: str, scorer: str) -> Score | None:
    return (
        await session.scalars(
            select(Score)
            .where(Score.round_id == round_id, Score.unit == unit, Score.code == code, Score.scorer == scorer)
            .execution_options(populate_existing=True)
        )
    ).first()


async def write_score(
    session: AsyncSession, round_id: int, row: Score | None, change: ScoreChange, actor: Actor, now: datetime
) -> None:
    """Make the stored row what ``change.new`` says: insert, update or delete it."""
    if change.new is None:
        if row is not None:
            await session.delete(row)
            await session.flush()  # before any insert of the same key: a flush inserts before it deletes
        return
    if row is None:
        session.add(
            Score(
                round_id=round_id,
                unit=change.unit,
                code=change.code,
                scorer=change.scorer,
                value=change.new,
                note=change.note,
                updated_at=now,
                updated_by=actor.id,
            )
        )
        return
    row.value = change.new
    row.note = change.note
    row.updated_at = now
    row.updated_by = actor.id


async def audit_score(
    session: AsyncSession,
    round_id: int,
    change: ScoreChange,
    actor: Actor,
    now: datetime,
    source_message_id: str | None,
    undoes_id: int | None = None,
) -> None:
    await write_audit(
        session,
        round_id,
        actor,
        AuditAction.SCORE_CLEARED if change.new is None else AuditAction.SCORE_SET,
        now,
        unit=change.unit,
        code=change.code,
        department=change.scorer,
        old_value=change.old,
        new_value=change.new,
        old_note=change.old_note,
        note=change.note,
        source_message_id=source_message_id,
        undoes_id=undoes_id,
    )


async def _rows(session: AsyncSession, round_id: int, entries: Sequence[ScoreEntry]) -> dict[ScoreKey, Score]:
    keys = {(e.unit, e.code, e.scorer) for e in entries}
    if not keys:
        return {}
    rows = await session.scalars(
        select(Score)
        .where(
            Score.round_id == round_id,
            Score.code.in_({k[1] for k in keys}),
            Score.scorer.in_({k[2] for k in keys}),
        )
        .execution_options(populate_existing=True)
    )
    return {key: row for row in rows if (key := (row.unit, row.code, row.scorer)) in keys}


def _entry(row: Score) -> ScoreEntry:
    return ScoreEntry(row.unit, row.code, row.scorer, row.value, row.note)
