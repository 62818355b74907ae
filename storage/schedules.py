"""Schedule state in the database: the planner lease, snoozes, pauses, round policies, pushed ranks.

Every function takes the caller's ``AsyncSession`` and leaves the commit to
it, like the outbox: a sweep's enqueues and its ``last_run`` move together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Platform
from bot.messages import Target
from storage.dialect import insert_for
from storage.models.schedules import RankingPushRow, RoundPauseRow, RoundPolicyRow, SchedulerLeaseRow, SnoozeRow

# --- the planner lease -------------------------------------------------------------


async def acquire_lease(session: AsyncSession, name: str, holder: str, now: datetime, until: datetime) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False while another holds it.

    The UPDATE's WHERE decides: on PostgreSQL a concurrent taker blocks on
    the row and re-checks after the first commits, so exactly one wins.
    """
    result = await session.execute(
        update(SchedulerLeaseRow)
        .where(
            SchedulerLeaseRow.name == name,
            (SchedulerLeaseRow.holder == holder) | (SchedulerLeaseRow.lease_until <= now),
        )
        .values(holder=holder, lease_until=until)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    inserted = await session.execute(
        insert_for(session, SchedulerLeaseRow)
        .values(name=name, holder=holder, lease_until=until, last_run_at=None)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(SchedulerLeaseRow.name)
    )
    return inserted.scalar_one_or_none() is not None


async def release_lease(session: AsyncSession, name: str, holder: str, now: datetime) -> None:
    """Let another process take over at once (on a clean shutdown)."""
    await session.execute(
        update(SchedulerLeaseRow)
        .where(SchedulerLeaseRow.name == name, SchedulerLeaseRow.holder == holder)
        .values(lease_until=now)
    )


async def lease_holder(session: AsyncSession, name: str) -> tuple[str, datetime] | None:
    row = await session.get(SchedulerLeaseRow, name)
    return (row.holder, row.lease_until) if row is not None else None


async def last_run(session: AsyncSession, name: str) -> datetime | None:
    value: datetime | None = await session.scalar(
        select(SchedulerLeaseRow.last_run_at).where(SchedulerLeaseRow.name == name)
    )
    return value


async def set_last_run(session: AsyncSession, name: str, at: datetime) -> None:
    await session.execute(update(SchedulerLeaseRow).where(SchedulerLeaseRow.name == name).values(last_run_at=at))


# --- snoozes -------------------------------------------------------------------------


async def set_snooze(session: AsyncSession, target: Target, until: datetime, now: datetime) -> None:
    """Snooze ``target``'s reminders until ``until`` (a later 稍后提醒 replaces it)."""
    stmt = insert_for(session, SnoozeRow).values(
        platform=target.platform.value, user_id=target.id, until=until, set_at=now
    )
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["platform", "user_id"], set_={"until": until, "set_at": now})
    )


async def snoozes_since(session: AsyncSession, since: datetime) -> dict[Target, datetime]:
    """Snoozes still running or ended after ``since`` (older ones matter to nobody)."""
    rows = await session.scalars(select(SnoozeRow).where(SnoozeRow.until > since))
    return {Target.user(Platform(r.platform), r.user_id): r.until for r in rows}


async def clear_snoozes_before(session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(SnoozeRow).where(SnoozeRow.until < before))


# --- paused rounds -------------------------------------------------------------------


async def pause_round(session: AsyncSession, round_id: int, by: str, now: datetime) -> bool:
    """Pause a round's reminders; False if they were paused already."""
    result = await session.execute(
        insert_for(session, RoundPauseRow)
        .values(round_id=round_id, paused_at=now, paused_by=by)
        .on_conflict_do_nothing(index_elements=["round_id"])
        .returning(RoundPauseRow.round_id)
    )
    return result.scalar_one_or_none() is not None


async def resume_round(session: AsyncSession, round_id: int) -> bool:
    """Resume a round's reminders; False if they were not paused."""
    result = await session.execute(delete(RoundPauseRow).where(RoundPauseRow.round_id == round_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def paused_rounds(session: AsyncSession) -> set[int]:
    return set(await session.scalars(select(RoundPauseRow.round_id)))


# --- a round's own reminder policy ---------------------------------------------------


async def set_round_policy(
    session: AsyncSession, round_id: int, values: Mapping[str, Any], by: str, now: datetime
) -> None:
    """Store a round's reminder settings over the defaults (replacing what it had)."""
    policy = json.dumps(dict(values), ensure_ascii=False, sort_keys=True)
    stmt = insert_for(session, RoundPolicyRow).values(round_id=round_id, policy=policy, set_at=now, set_by=by)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["round_id"], set_={"policy": policy, "set_at": now, "set_by": by})
    )


async def round_policies(session: AsyncSession) -> dict[int, dict[str, Any]]:
    """Every round's own reminder settings (rounds without any are absent)."""
    rows = await session.scalars(select(RoundPolicyRow))
    return {r.round_id: json.loads(r.policy) for r in rows}


# --- pushed rankings ------------------------------------------------------------------


async def record_push(session: AsyncSession, round_id: int, event: str, at: datetime, ranks: Mapping[str, int]) -> None:
    await session.execute(
        insert_for(session, RankingPushRow)
        .values(round_id=round_id, event=event, pushed_at=at, ranks=json.dumps(dict(ranks), ensure_ascii=False))
        .on_conflict_do_nothing(index_elements=["round_id", "event"])
    )


async def pushed_events(session: AsyncSession, round_id: int) -> set[str]:
    return set(await session.scalars(select(RankingPushRow.event).where(RankingPushRow.round_id == round_id)))


#: Ranks recorded for a leaders' digest (its provisional top) rather than a ranking push.
DIGEST_PREFIX = "digest-"


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a ranking push compares with: the previous publication, else the last digest's ranks."""

    event: str
    at: datetime
    ranks: dict[str, int]
    publications: int  # ranking pushes made before this one

    @property
    def digest(self) -> bool:
        return self.event.startswith(DIGEST_PREFIX)


async def push_baseline(session: AsyncSession, round_id: int) -> Baseline | None:
    """The ranks the next ranking push shows changes against, or None (nothing shown before).

    The latest publication pushed (a correction is compared with what the
    leaders were told last), else the latest digest that showed the
    provisional ranking.
    """
    rows = list(
        await session.scalars(
            select(RankingPushRow).where(RankingPushRow.round_id == round_id).order_by(RankingPushRow.id)
        )
    )
    pushes = [r for r in rows if not r.event.startswith(DIGEST_PREFIX)]
    row = pushes[-1] if pushes else (rows[-1] if rows else None)
    if row is None:
        return None
    return Baseline(row.event, row.pushed_at, json.loads(row.ranks), len(pushes))
