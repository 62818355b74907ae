"""Scores: batches stored whole or not at all, every change audited old → new, last write wins."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from scoring_core.entries import ScoreEntry
from storage.errors import InvalidRecord, NotFound
from storage.models.scoring import AuditAction
from storage.scoring import ScoreChange, audit_for, clear_score, current_scores, scores_for_part, set_scores
from tests.storage.conftest import FIRE, LI, ZHANG, at

D = Decimal


def fire(unit: str, value: str, note: str = "") -> ScoreEntry:
    return ScoreEntry(unit, "12", FIRE, D(value), note)


async def test_set_scores_returns_and_audits_each_change(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        changes = await set_scores(
            session, round_id, [fire("市委编办", "4"), fire("市教育局", "3.5", "演练未按期")], ZHANG, "msg-1", at(2)
        )
    assert changes == [
        ScoreChange("市委编办", "12", FIRE, old=None, new=D("4"), note="", old_note=None),
        ScoreChange("市教育局", "12", FIRE, old=None, new=D("3.5"), note="演练未按期", old_note=None),
    ]
    async with sessions() as session, session.begin():
        changes = await set_scores(
            session, round_id, [fire("市教育局", "3", "演练未按期，台账缺")], ZHANG, "msg-2", at(3)
        )
    assert changes == [ScoreChange("市教育局", "12", FIRE, D("3.5"), D("3"), "演练未按期，台账缺", "演练未按期")]

    async with sessions() as session:
        audit = await audit_for(session, round_id, code="12")
    assert [
        (
            a.action,
            a.actor.id,
            a.unit,
            a.code,
            a.department,
            a.old_value,
            a.new_value,
            a.old_note,
            a.note,
            a.source_message_id,
        )
        for a in audit
    ] == [
        (AuditAction.SCORE_SET, "sandbox:zhang", "市委编办", "12", FIRE, None, D("4"), None, "", "msg-1"),
        (AuditAction.SCORE_SET, "sandbox:zhang", "市教育局", "12", FIRE, None, D("3.5"), None, "演练未按期", "msg-1"),
        (
            AuditAction.SCORE_SET,
            "sandbox:zhang",
            "市教育局",
            "12",
            FIRE,
            D("3.5"),
            D("3"),
            "演练未按期",
            "演练未按期，台账缺",
            "msg-2",
        ),
    ]
    assert [a.at for a in audit] == [at(2), at(2), at(3)]
    async with sessions() as session:
        by_unit = await audit_for(session, round_id, unit="市教育局")
    assert [(a.old_value, a.new_value) for a in by_unit] == [(None, D("3.5")), (D("3.5"), D("3"))]


async def test_the_same_value_again_is_no_change(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "3.5", "缺台账")], ZHANG, "m1", at(2))
    async with sessions() as session, session.begin():
        again = await set_scores(session, round_id, [fire("市委编办", "3.50", "缺台账")], LI, "m2", at(3))
    assert again == []
    async with sessions() as session:
        audit = await audit_for(session, round_id, code="12")
        scores = await current_scores(session, round_id)
    assert len(audit) == 1
    assert scores == [ScoreEntry("市委编办", "12", FIRE, D("3.5"), "缺台账")]


async def test_a_new_note_alone_is_a_change(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "3.5", "缺台账")], ZHANG, "m1", at(2))
        changes = await set_scores(session, round_id, [fire("市委编办", "3.5", "缺演练台账")], ZHANG, "m2", at(2, 11))
    assert changes == [ScoreChange("市委编办", "12", FIRE, D("3.5"), D("3.5"), "缺演练台账", "缺台账")]


async def test_one_bad_row_stores_nothing_of_the_batch(sessions: async_sessionmaker[Any], round_id: int) -> None:
    batch = [fire("市委编办", "4"), fire("市教育局", "3.555", "x"), fire("", "4"), fire("市委编办", "3", "重复")]
    async with sessions() as session, session.begin():
        with pytest.raises(InvalidRecord) as caught:
            await set_scores(session, round_id, batch, ZHANG, "m1", at(2))
    assert caught.value.problems == (
        "第2条（市教育局 12）：分值最多两位小数：3.555",
        "第3条（ 12）：单位为空",
        "第4条（市委编办 12）：同一单位、编号、评分部门重复",
    )
    async with sessions() as session:
        assert await current_scores(session, round_id) == []
        assert [a.action for a in await audit_for(session, round_id)] == [AuditAction.ROUND_OPENED]


class InjectedFault(Exception):
    """The database failing mid-batch (a lost connection, a disk full)."""


@pytest.fixture
def second_score_insert_fails(engine: AsyncEngine) -> Iterator[None]:
    inserts = 0

    def fail_second(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal inserts
        if statement.startswith("INSERT INTO scores"):
            inserts += 1
            if inserts == 2:
                raise InjectedFault

    event.listen(engine.sync_engine, "before_cursor_execute", fail_second)
    yield
    event.remove(engine.sync_engine, "before_cursor_execute", fail_second)


@pytest.mark.usefixtures("second_score_insert_fails")
async def test_a_database_failure_mid_batch_keeps_nothing(sessions: async_sessionmaker[Any], round_id: int) -> None:
    with pytest.raises(InjectedFault):
        async with sessions() as session, session.begin():
            await set_scores(session, round_id, [fire("市委编办", "4"), fire("市教育局", "4")], ZHANG, "m1", at(2))
    async with sessions() as session:
        assert await current_scores(session, round_id) == []
        assert [a.action for a in await audit_for(session, round_id)] == [AuditAction.ROUND_OPENED]


async def test_scores_roll_back_with_the_callers_transaction(sessions: async_sessionmaker[Any], round_id: int) -> None:
    class OutboxFailed(Exception):
        pass

    async def score_then_fail_to_queue_the_reply() -> None:
        async with sessions() as session, session.begin():
            await set_scores(session, round_id, [fire("市委编办", "4")], ZHANG, "m1", at(2))
            raise OutboxFailed

    with pytest.raises(OutboxFailed):
        await score_then_fail_to_queue_the_reply()
    async with sessions() as session:
        assert await current_scores(session, round_id) == []


async def test_last_write_wins_and_both_are_audited(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "3", "张：缺台账")], ZHANG, "m-zhang", at(2, 10))
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "3.5", "李：缺台账")], LI, "m-li", at(2, 10, 1))
    async with sessions() as session:
        part = await scores_for_part(session, round_id, "12", FIRE)
        audit = await audit_for(session, round_id, unit="市委编办")
    assert part == {"市委编办": ScoreEntry("市委编办", "12", FIRE, D("3.5"), "李：缺台账")}
    assert [(a.actor.name, a.old_value, a.new_value, a.note) for a in audit] == [
        ("张消防", None, D("3"), "张：缺台账"),
        ("李消防", D("3"), D("3.5"), "李：缺台账"),
    ]


async def test_clear_score(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(
            session, round_id, [fire("市委编办", "3", "缺台账"), fire("市教育局", "4")], ZHANG, "m1", at(2)
        )
        change = await clear_score(session, round_id, "市委编办", "12", FIRE, ZHANG, "m2", at(3))
    assert change == ScoreChange("市委编办", "12", FIRE, old=D("3"), new=None, note="", old_note="缺台账")
    async with sessions() as session:
        assert await scores_for_part(session, round_id, "12", FIRE) == {"市教育局": fire("市教育局", "4")}
        last = (await audit_for(session, round_id))[-1]
    assert (last.action, last.old_value, last.new_value, last.old_note, last.note) == (
        AuditAction.SCORE_CLEARED,
        D("3"),
        None,
        "缺台账",
        "",
    )
    async with sessions() as session, session.begin():
        with pytest.raises(NotFound) as caught:
            await clear_score(session, round_id, "市委编办", "12", FIRE, ZHANG, "m3", at(3))
    assert caught.value.user_message == "市委编办第12项还没有市消防救援支队的评分"


async def test_scores_for_part_is_one_scorers_part(sessions: async_sessionmaker[Any], round_id: int) -> None:
    joint = [
        ScoreEntry("市委编办", "16", "市行政审批局", D("4")),
        ScoreEntry("市委编办", "16", "市人社局", D("3"), "x"),
        fire("市委编办", "4"),
    ]
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, joint, ZHANG, None, at(2))
        assert await scores_for_part(session, round_id, "16", "市人社局") == {"市委编办": joint[1]}
        assert await current_scores(session, round_id) == joint
