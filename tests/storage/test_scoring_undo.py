"""撤销: each undo reverts the actor's own latest change, is audited, and walks further back when repeated."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from scoring_core.entries import AdjustmentEntry, ScoreEntry
from storage.errors import Conflict, NothingToUndo, PartLocked
from storage.models.scoring import AuditAction
from storage.scoring import (
    active_adjustments,
    add_adjustment,
    audit_for,
    clear_score,
    current_scores,
    remove_adjustment,
    set_scores,
    submit_part,
    undo_last,
)
from tests.storage.conftest import ADMIN, FIRE, LI, ZHANG, at

D = Decimal
B1 = AdjustmentEntry("市教育局", "B1", "市委平安办", D("2"), "经验获市委领导批示")


def fire(unit: str, value: str, note: str = "") -> ScoreEntry:
    return ScoreEntry(unit, "12", FIRE, D(value), note)


async def test_undo_walks_back_through_the_actors_own_changes(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "4")], ZHANG, "m1", at(2, 10))
        await set_scores(session, round_id, [fire("市教育局", "3", "缺台账")], ZHANG, "m2", at(2, 11))
        await set_scores(session, round_id, [fire("市教育局", "2.5", "缺台账和演练")], ZHANG, "m3", at(2, 12))
        await set_scores(session, round_id, [fire("市发改委", "4")], LI, "m-li", at(2, 13))

    async with sessions() as session, session.begin():
        first = await undo_last(session, round_id, ZHANG, at(2, 14), "m-undo-1")
    assert (first.undone.unit, first.undone.old_value, first.undone.new_value) == ("市教育局", D("3"), D("2.5"))
    revert = first.revert
    assert (revert.action, revert.actor.id, revert.unit, revert.old_value, revert.new_value) == (
        AuditAction.SCORE_SET,
        "sandbox:zhang",
        "市教育局",
        D("2.5"),
        D("3"),
    )
    assert (revert.old_note, revert.note, revert.undoes_id, revert.source_message_id) == (
        "缺台账和演练",
        "缺台账",
        first.undone.id,
        "m-undo-1",
    )

    async with sessions() as session, session.begin():
        second = await undo_last(session, round_id, ZHANG, at(2, 15))
        third = await undo_last(session, round_id, ZHANG, at(2, 16))
    assert (second.revert.action, second.revert.unit, second.revert.old_value, second.revert.new_value) == (
        AuditAction.SCORE_CLEARED,
        "市教育局",
        D("3"),
        None,
    )
    assert (third.revert.action, third.revert.unit, third.revert.old_value, third.revert.new_value) == (
        AuditAction.SCORE_CLEARED,
        "市委编办",
        D("4"),
        None,
    )
    async with sessions() as session:
        assert await current_scores(session, round_id) == [fire("市发改委", "4")]  # 李's change is not 张's to undo

    async with sessions() as session, session.begin():
        with pytest.raises(NothingToUndo) as caught:
            await undo_last(session, round_id, ZHANG, at(2, 17))
    assert caught.value.user_message == "没有可以撤销的操作"

    async with sessions() as session:
        audit = await audit_for(session, round_id)
    assert len(audit) == 1 + 4 + 3  # opened, four changes, three undos: nothing rewritten


async def test_undoing_a_clear_puts_the_score_and_note_back(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "3.55", "缺台账")], ZHANG, "m1", at(2))
        await clear_score(session, round_id, "市委编办", "12", FIRE, ZHANG, "m2", at(3))
        undone = await undo_last(session, round_id, ZHANG, at(4))
    assert (undone.revert.action, undone.revert.old_value, undone.revert.new_value, undone.revert.note) == (
        AuditAction.SCORE_SET,
        None,
        D("3.55"),
        "缺台账",
    )
    async with sessions() as session:
        assert await current_scores(session, round_id) == [fire("市委编办", "3.55", "缺台账")]


async def test_a_change_overwritten_by_someone_else_is_not_undone(
    sessions: async_sessionmaker[Any], round_id: int
) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "3", "张")], ZHANG, "m1", at(2, 10))
        await set_scores(session, round_id, [fire("市委编办", "3.5", "李")], LI, "m2", at(2, 11))
    async with sessions() as session, session.begin():
        with pytest.raises(Conflict) as caught:
            await undo_last(session, round_id, ZHANG, at(2, 12))
    assert caught.value.user_message == "市委编办第12项的分数之后已被改动（现为3.5），不能撤销；请直接修改"
    async with sessions() as session:
        assert await current_scores(session, round_id) == [fire("市委编办", "3.5", "李")]


async def test_undo_respects_the_lock(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, [fire("市委编办", "4")], ZHANG, "m1", at(2))
        await submit_part(session, round_id, FIRE, "12", ZHANG, at(3))
    async with sessions() as session, session.begin():
        with pytest.raises(PartLocked):
            await undo_last(session, round_id, ZHANG, at(11))


async def test_undo_adjustments_add_and_remove(sessions: async_sessionmaker[Any], round_id: int) -> None:
    b6 = AdjustmentEntry("市教育局", "B6", "市委平安办", D("1"), "创新")
    async with sessions() as session, session.begin():
        first = await add_adjustment(session, round_id, B1, ADMIN, "m1", at(3, 10))
        await add_adjustment(session, round_id, b6, ADMIN, "m2", at(3, 11))
        await remove_adjustment(session, round_id, first.id, ADMIN, "m3", at(3, 12))
    async with sessions() as session:
        assert await active_adjustments(session, round_id) == [b6]

    async with sessions() as session, session.begin():
        restored = await undo_last(session, round_id, ADMIN, at(3, 13))
        assert await active_adjustments(session, round_id) == [B1, b6]  # back in its recorded place
        unadded = await undo_last(session, round_id, ADMIN, at(3, 14))
        assert await active_adjustments(session, round_id) == [B1]
    assert (restored.revert.action, restored.revert.adjustment_id, restored.revert.new_value) == (
        AuditAction.ADJUSTMENT_ADDED,
        first.id,
        D("2"),
    )
    assert (unadded.revert.action, unadded.revert.old_value, unadded.revert.new_value) == (
        AuditAction.ADJUSTMENT_REMOVED,
        D("1"),
        None,
    )
