"""Two members of one department write the same score at the same moment."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scoring_core.entries import ScoreEntry
from storage.scoring import Actor, audit_for, current_scores, set_scores
from tests.storage.conftest import FIRE, LI, ZHANG, at


def entry(value: str, note: str) -> ScoreEntry:
    return ScoreEntry("市委编办", "12", FIRE, Decimal(value), note)


async def test_both_succeed_last_commit_wins_both_audited(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async def li_writes(session: AsyncSession, actor: Actor) -> None:
        async with session.begin():
            await set_scores(session, round_id, [entry("3.5", "李")], actor, "m-li", at(2, 10, 1))

    async with sessions() as zhang, sessions() as li:
        await zhang.begin()
        await set_scores(zhang, round_id, [entry("3", "张")], ZHANG, "m-zhang", at(2, 10))
        second = asyncio.create_task(li_writes(li, LI))
        # Not a sleep for timing: proof that 李's write really overlaps 张's open
        # transaction (it waits for the round's lock) rather than running after it.
        done, _ = await asyncio.wait({second}, timeout=0.3)
        assert not done
        await zhang.commit()
        await second

    async with sessions() as session:
        assert await current_scores(session, round_id) == [entry("3.5", "李")]
        audit = await audit_for(session, round_id, unit="市委编办")
    assert [(a.actor.id, a.old_value, a.new_value, a.old_note, a.note) for a in audit] == [
        ("sandbox:zhang", None, Decimal("3"), None, "张"),
        ("sandbox:li", Decimal("3"), Decimal("3.5"), "张", "李"),
    ]


async def test_many_writers_at_once_each_see_the_value_they_replace(
    sessions: async_sessionmaker[Any], round_id: int
) -> None:
    async def write(n: int) -> None:
        actor = Actor(f"sandbox:m{n}", f"成员{n}", FIRE)
        async with sessions() as session, session.begin():
            await set_scores(session, round_id, [entry(str(n), f"第{n}次")], actor, f"m{n}", at(2, 10, n))

    await asyncio.gather(*(write(n) for n in range(1, 5)))

    async with sessions() as session:
        audit = await audit_for(session, round_id, unit="市委编办")
        final = await current_scores(session, round_id)
    # Whatever order the commits took, each row's old value is the previous row's new value.
    assert audit[0].old_value is None
    assert [a.old_value for a in audit[1:]] == [a.new_value for a in audit[:-1]]
    assert sorted(a.new_value for a in audit if a.new_value is not None) == [Decimal(n) for n in range(1, 5)]
    assert final == [ScoreEntry("市委编办", "12", FIRE, audit[-1].new_value or Decimal(0), audit[-1].note)]
