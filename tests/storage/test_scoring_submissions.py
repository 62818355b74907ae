"""提交 and 解锁: a submitted part stays editable until its deadline, then locks until an admin unlocks it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from scoring_core.entries import ScoreEntry
from storage.errors import Conflict, PartLocked
from storage.models.scoring import AuditAction
from storage.scoring import (
    PartStatus,
    audit_for,
    clear_score,
    is_locked,
    part_status,
    set_scores,
    submit_part,
    unlock_part,
)
from tests.storage.conftest import ADMIN, DEADLINE, FIRE, LI, ZHANG, at

BEFORE = at(9, 12)
AFTER = at(11, 9)


def fire(unit: str, value: str, note: str = "") -> ScoreEntry:
    return ScoreEntry(unit, "12", FIRE, Decimal(value), note)


async def test_a_submitted_part_stays_editable_until_the_deadline(
    sessions: async_sessionmaker[Any], round_id: int
) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "4")], ZHANG, "m1", at(2))
        status = await submit_part(session, round_id, FIRE, "12", ZHANG, at(3), "m2")
    assert status == PartStatus(FIRE, "12", DEADLINE, at(3), "sandbox:zhang", None, None, locked=False)
    assert status.submitted

    async with sessions() as session, session.begin():
        changes = await set_scores(session, round_id, [fire("市委编办", "3.5", "复核")], LI, "m3", BEFORE)
    assert len(changes) == 1
    async with sessions() as session:
        assert not await is_locked(session, round_id, FIRE, "12", BEFORE)
        assert await is_locked(session, round_id, FIRE, "12", DEADLINE)
        assert await is_locked(session, round_id, FIRE, "12", AFTER)
        assert not await is_locked(session, round_id, FIRE, "13", AFTER)  # not submitted: late scores still come in
        assert not await is_locked(session, round_id, "市公安局", "12", AFTER)


async def test_after_the_deadline_it_is_locked_until_unlocked(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "4")], ZHANG, "m1", at(2))
        await submit_part(session, round_id, FIRE, "12", ZHANG, at(3))

    async with sessions() as session, session.begin():
        with pytest.raises(PartLocked) as caught:
            await set_scores(session, round_id, [fire("市委编办", "3", "复核")], ZHANG, "m2", AFTER)
    assert caught.value.user_message == "市消防救援支队第12项已提交且已过截止时间，已锁定；如需修改请联系市委平安办解锁"
    async with sessions() as session, session.begin():
        with pytest.raises(PartLocked):
            await clear_score(session, round_id, "市委编办", "12", FIRE, ZHANG, "m3", AFTER)

    async with sessions() as session, session.begin():
        status = await unlock_part(session, round_id, FIRE, "12", ADMIN, at(11, 10), "m4")
    assert status == PartStatus(FIRE, "12", DEADLINE, at(3), "sandbox:zhang", at(11, 10), "sandbox:wang", locked=False)
    assert not status.submitted

    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "3", "复核")], ZHANG, "m5", at(11, 11))
        again = await submit_part(session, round_id, FIRE, "12", ZHANG, at(11, 12))
    assert again.locked  # submitted again after the deadline: locked at once
    assert (again.submitted_at, again.unlocked_at) == (at(11, 12), None)

    async with sessions() as session:
        audit = await audit_for(session, round_id, code="12")
    assert [(a.action, a.actor.id, a.department) for a in audit if a.unit is None] == [
        (AuditAction.PART_SUBMITTED, "sandbox:zhang", FIRE),
        (AuditAction.PART_UNLOCKED, "sandbox:wang", FIRE),
        (AuditAction.PART_SUBMITTED, "sandbox:zhang", FIRE),
    ]


async def test_submitting_twice_and_unlocking_an_open_part_are_refused(
    sessions: async_sessionmaker[Any], round_id: int
) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(Conflict) as caught:
            await unlock_part(session, round_id, FIRE, "12", ADMIN, at(3))
    assert caught.value.user_message == "市消防救援支队第12项尚未提交，无需解锁"

    async with sessions() as session, session.begin():
        await submit_part(session, round_id, FIRE, "12", ZHANG, at(3))
    async with sessions() as session, session.begin():
        with pytest.raises(Conflict) as caught:
            await submit_part(session, round_id, FIRE, "12", LI, at(4))
    assert caught.value.user_message == "市消防救援支队第12项已经提交过了，无需重复提交"


async def test_a_part_never_submitted(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session:
        status = await part_status(session, round_id, FIRE, "12", AFTER)
    assert status == PartStatus(FIRE, "12", DEADLINE, None, None, None, None, locked=False)
    assert not status.submitted
