"""Adjustments come back in recording order; removal is soft and audited."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from scoring_core.entries import AdjustmentEntry
from storage.errors import Conflict, InvalidRecord, NotFound
from storage.models.scoring import Adjustment, AuditAction
from storage.scoring import active_adjustments, add_adjustment, adjustment_records, audit_for, remove_adjustment
from tests.storage.conftest import ADMIN, at

OFFICE = "市委平安办"
B1 = AdjustmentEntry("市教育局", "B1", OFFICE, Decimal("2"), "经验获市委领导批示")
B2 = AdjustmentEntry("市教育局", "B2", OFFICE, Decimal("7.5"), "全国表彰")
D9 = AdjustmentEntry("市房管局", "D9", "市法院", Decimal("3"), "违纪", "王某-案1")
V2 = AdjustmentEntry("市医保局", "V2", OFFICE, None, "发生重大案件")


async def test_recording_order_and_soft_removal(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        ids = [
            (await add_adjustment(session, round_id, e, ADMIN, f"m{n}", at(3, 10, n))).id
            for n, e in enumerate([B2, D9, B1, V2])
        ]
    async with sessions() as session:
        assert await active_adjustments(session, round_id) == [B2, D9, B1, V2]

    async with sessions() as session, session.begin():
        removed = await remove_adjustment(session, round_id, ids[1], ADMIN, "m-rm", at(4))
    assert (removed.entry, removed.removed_at, removed.removed_by, removed.active) == (D9, at(4), "sandbox:wang", False)

    async with sessions() as session:
        assert await active_adjustments(session, round_id) == [B2, B1, V2]
        everything = await adjustment_records(session, round_id, include_removed=True)
        education = await adjustment_records(session, round_id, unit="市教育局")
        rows = await session.scalar(select(func.count()).select_from(Adjustment))
        audit = await audit_for(session, round_id)
    assert [r.entry for r in everything] == [B2, D9, B1, V2]
    assert [r.active for r in everything] == [True, False, True, True]
    assert [r.entry for r in education] == [B2, B1]
    assert rows == 4  # never deleted
    assert [
        (a.action, a.unit, a.code, a.department, a.old_value, a.new_value, a.note, a.adjustment_id) for a in audit[1:]
    ] == [
        (AuditAction.ADJUSTMENT_ADDED, "市教育局", "B2", OFFICE, None, Decimal("7.5"), "全国表彰", ids[0]),
        (AuditAction.ADJUSTMENT_ADDED, "市房管局", "D9", "市法院", None, Decimal("3"), "违纪", ids[1]),
        (AuditAction.ADJUSTMENT_ADDED, "市教育局", "B1", OFFICE, None, Decimal("2"), "经验获市委领导批示", ids[2]),
        (AuditAction.ADJUSTMENT_ADDED, "市医保局", "V2", OFFICE, None, None, "发生重大案件", ids[3]),
        (AuditAction.ADJUSTMENT_REMOVED, "市房管局", "D9", "市法院", Decimal("3"), None, "违纪", ids[1]),
    ]


async def test_the_case_key_is_kept(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        record = await add_adjustment(session, round_id, D9, ADMIN, None, at(3))
    async with sessions() as session:
        (stored,) = await adjustment_records(session, round_id)
    assert stored.id == record.id
    assert stored.entry.case == "王某-案1"
    assert stored.created_at == at(3)
    assert stored.created_by == "sandbox:wang"


async def test_removing_twice_or_a_missing_entry_is_refused(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        record = await add_adjustment(session, round_id, B1, ADMIN, None, at(3))
        await remove_adjustment(session, round_id, record.id, ADMIN, None, at(4))
    async with sessions() as session, session.begin():
        with pytest.raises(Conflict) as conflict:
            await remove_adjustment(session, round_id, record.id, ADMIN, None, at(5))
        with pytest.raises(NotFound) as missing:
            await remove_adjustment(session, round_id, record.id + 50, ADMIN, None, at(5))
    assert conflict.value.user_message == "市教育局的B1（经验获市委领导批示）已经删除过了"
    assert missing.value.user_message == "没有找到这条加减分记录"


async def test_an_adjustment_without_a_reason_is_refused(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(InvalidRecord) as caught:
            await add_adjustment(
                session, round_id, AdjustmentEntry("市教育局", "B1", OFFICE, Decimal(1), " "), ADMIN, None, at(3)
            )
    assert caught.value.problems == ("市教育局 B1：须写明理由",)
