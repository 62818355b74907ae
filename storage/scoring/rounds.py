"""Rounds: opening one tied to its scheme, its deadlines, and its status transitions.

Every write to a round first takes ``lock_round``: it serialises the round's
writers, so each one reads the values it replaces (old → new in the audit
log) after the previous writer committed, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scoring_core.scheme import Scheme
from storage.errors import BadTransition, Conflict, InvalidRecord, NotFound, RoundNotOpen
from storage.models.scoring import CODE, NAME, AuditAction, Round, RoundDeadline, RoundStatus
from storage.scoring.audit import write_audit
from storage.scoring.checks import check_actor, utc
from storage.scoring.records import Actor, Deadline, RoundInfo


def scheme_hash(scheme_text: str) -> str:
    """sha256 of the scheme file's text, ties a round to the scheme it was opened with."""
    return hashlib.sha256(scheme_text.encode("utf-8")).hexdigest()


async def open_round(
    session: AsyncSession,
    name: str,
    scheme: Scheme,
    scheme_text: str,
    deadlines: Sequence[Deadline],
    actor: Actor,
    now: datetime,
    source_message_id: str | None = None,
) -> RoundInfo:
    """Open a new round; refused while another round is open."""
    now = utc(now)
    check_actor(actor)
    _check_deadlines(name, scheme, deadlines)
    existing = (await session.scalars(select(Round).where(Round.status == RoundStatus.OPEN))).first()
    if existing is not None:
        raise Conflict(f"“{existing.name}”仍在进行中，请先关闭再开启新一轮考核")
    row = Round(
        name=name.strip(),
        scheme_name=scheme.name,
        scheme_year=scheme.year,
        scheme_hash=scheme_hash(scheme_text),
        status=RoundStatus.OPEN,
        opened_at=now,
        opened_by=actor.id,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:  # another admin opened one first (the one-open index)
        raise Conflict("另一轮考核刚刚开启，请查看当前考核") from exc
    session.add_all(
        RoundDeadline(round_id=row.id, department=d.department, code=d.code, deadline=utc(d.at)) for d in deadlines
    )
    await write_audit(
        session, row.id, actor, AuditAction.ROUND_OPENED, now, note=row.name, source_message_id=source_message_id
    )
    return await get_round(session, row.id)


def _check_deadlines(name: str, scheme: Scheme, deadlines: Sequence[Deadline]) -> None:
    problems = []
    if not name.strip() or len(name) > 100:
        problems.append("考核名称不能为空，最多100字")
    seen: set[tuple[str | None, str | None]] = set()
    for d in deadlines:
        where = f"截止时间（{d.department or '全部部门'} {d.code or '全部项目'}）"
        if d.at.tzinfo is None or d.at.utcoffset() is None:
            problems.append(f"{where}缺少时区")
        if d.code is not None and (d.code not in scheme.parts_by_code or len(d.code) > CODE):
            problems.append(f"{where}：考核方案中没有编号“{d.code[:CODE]}”")
        if d.department is not None and (not d.department.strip() or len(d.department) > NAME):
            problems.append(f"{where}：部门名称有误")
        if (d.department, d.code) in seen:
            problems.append(f"{where}重复")
        seen.add((d.department, d.code))
    if problems:
        raise InvalidRecord(problems)


async def get_round(session: AsyncSession, round_id: int) -> RoundInfo:
    row = await session.get(Round, round_id, populate_existing=True)
    if row is None:
        raise NotFound("没有找到这一轮考核")
    return await _info(session, row)


async def current_round(session: AsyncSession) -> RoundInfo:
    """The open round, else the latest one; NotFound before the first round."""
    row = (
        await session.scalars(
            select(Round)
            .order_by((Round.status == RoundStatus.OPEN).desc(), Round.id.desc())
            .limit(1)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise NotFound("还没有开启过考核")
    return await _info(session, row)


async def close_round(
    session: AsyncSession, round_id: int, actor: Actor, now: datetime, source_message_id: str | None = None
) -> RoundInfo:
    """open → closed: no more scoring; the standing is final once published."""
    now = utc(now)
    check_actor(actor)
    row = await lock_round(session, round_id)
    if row.status is not RoundStatus.OPEN:
        said = "已经关闭" if row.status is RoundStatus.CLOSED else "排名已发布，不能再关闭"
        raise BadTransition(f"“{row.name}”{said}", status=row.status.value, wanted=RoundStatus.CLOSED.value)
    row.status = RoundStatus.CLOSED
    row.closed_at = now
    await write_audit(session, row.id, actor, AuditAction.ROUND_CLOSED, now, source_message_id=source_message_id)
    return await get_round(session, round_id)


async def publish_round(
    session: AsyncSession, round_id: int, actor: Actor, now: datetime, source_message_id: str | None = None
) -> RoundInfo:
    """closed → published: the ranking is released to leaders."""
    now = utc(now)
    check_actor(actor)
    row = await lock_round(session, round_id)
    if row.status is not RoundStatus.CLOSED:
        said = "还在进行中，请先关闭考核再发布排名" if row.status is RoundStatus.OPEN else "排名已经发布过了"
        raise BadTransition(f"“{row.name}”{said}", status=row.status.value, wanted=RoundStatus.PUBLISHED.value)
    row.status = RoundStatus.PUBLISHED
    row.published_at = now
    await write_audit(session, row.id, actor, AuditAction.ROUND_PUBLISHED, now, source_message_id=source_message_id)
    return await get_round(session, round_id)


async def reopen_round(
    session: AsyncSession, round_id: int, actor: Actor, now: datetime, source_message_id: str | None = None
) -> RoundInfo:
    """closed | published → open, to correct it (解锁 after the ranking was out); refused while another is open.

    ``published_at`` keeps the last publication; closing and publishing
    again make a new one (the schedules push it with the rank changes since
    the previous).  Audited as ``round_opened`` with a note saying so.
    """
    now = utc(now)
    check_actor(actor)
    row = await lock_round(session, round_id)
    if row.status is RoundStatus.OPEN:
        return await get_round(session, round_id)
    other = (await session.scalars(select(Round).where(Round.status == RoundStatus.OPEN))).first()
    if other is not None:
        raise Conflict(f"“{other.name}”正在进行中，不能重新开放“{row.name}”")
    was = "排名已发布" if row.status is RoundStatus.PUBLISHED else "已关闭"
    row.status = RoundStatus.OPEN
    row.closed_at = None
    try:
        await session.flush()
    except IntegrityError as exc:  # another round opened meanwhile (the one-open index)
        raise Conflict("另一轮考核刚刚开启，不能重新开放") from exc
    await write_audit(
        session,
        row.id,
        actor,
        AuditAction.ROUND_OPENED,
        now,
        note=f"重新开放以便更正（原{was}）",
        source_message_id=source_message_id,
    )
    return await get_round(session, round_id)


async def lock_round(session: AsyncSession, round_id: int) -> Round:
    """Take the round's write lock (a row lock on PostgreSQL, the write lock on SQLite).

    A no-op UPDATE rather than SELECT … FOR UPDATE: SQLite ignores FOR
    UPDATE, but any UPDATE makes it take the database's write lock, so the
    reads that follow in this transaction see the last committed values.
    """
    locked = (
        await session.scalars(
            update(Round)
            .where(Round.id == round_id)
            .values(status=Round.status)
            .returning(Round.id)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if locked is None:
        raise NotFound("没有找到这一轮考核")
    row = await session.get(Round, round_id, populate_existing=True)
    if row is None:  # pragma: no cover - locked above, in this transaction
        raise NotFound("没有找到这一轮考核")
    return row


async def lock_open_round(session: AsyncSession, round_id: int) -> Round:
    row = await lock_round(session, round_id)
    if row.status is not RoundStatus.OPEN:
        raise RoundNotOpen(row.name, row.status.value)
    return row


async def round_deadlines(session: AsyncSession, round_id: int) -> tuple[Deadline, ...]:
    rows = await session.scalars(
        select(RoundDeadline).where(RoundDeadline.round_id == round_id).order_by(RoundDeadline.id)
    )
    return tuple(Deadline(r.deadline, r.department, r.code) for r in rows)


def pick_deadline(deadlines: Sequence[Deadline], department: str, code: str) -> datetime | None:
    """The most specific deadline: (department, code), (department, all), (all, code), (all, all)."""
    for wanted in ((department, code), (department, None), (None, code), (None, None)):
        for d in deadlines:
            if (d.department, d.code) == wanted:
                return d.at
    return None


async def deadline_for(session: AsyncSession, round_id: int, department: str, code: str) -> datetime | None:
    return pick_deadline(await round_deadlines(session, round_id), department, code)


async def _info(session: AsyncSession, row: Round) -> RoundInfo:
    return RoundInfo(
        id=row.id,
        name=row.name,
        scheme_name=row.scheme_name,
        scheme_year=row.scheme_year,
        scheme_hash=row.scheme_hash,
        status=RoundStatus(row.status),
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        closed_at=row.closed_at,
        published_at=row.published_at,
        deadlines=await round_deadlines(session, row.id),
    )
