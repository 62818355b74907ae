"""Points stay exact Decimals and datetimes come back aware UTC, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from scoring_core.entries import ScoreEntry
from storage.errors import InvalidRecord
from storage.scoring import audit_for, current_scores, get_round, set_scores
from tests.storage.conftest import FIRE, OPENED, ZHANG, at

UNITS = ["市委组织部", "市委政法委", "市委编办", "市发改委", "市教育局"]


async def test_points_round_trip_exactly(sessions: async_sessionmaker[Any], round_id: int) -> None:
    values = ["3.55", "0.01", "40", "0", "99999.99"]
    entries = [ScoreEntry(u, "12", FIRE, Decimal(v), "n") for u, v in zip(UNITS, values, strict=True)]
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, entries, ZHANG, "m1", at(2))

    async with sessions() as session:
        stored = await current_scores(session, round_id)
        audit = await audit_for(session, round_id)
    assert [str(e.value) for e in stored] == ["3.55", "0.01", "40.00", "0.00", "99999.99"]
    assert [e.value for e in stored] == [
        Decimal("3.55"),
        Decimal("0.01"),
        Decimal("40"),
        Decimal("0"),
        Decimal("99999.99"),
    ]
    assert all(isinstance(e.value, Decimal) for e in stored)
    assert [str(a.new_value) for a in audit[1:]] == ["3.55", "0.01", "40.00", "0.00", "99999.99"]


async def test_sqlite_keeps_points_as_integer_hundredths(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(
            session, round_id, [ScoreEntry("市委编办", "12", FIRE, Decimal("3.55"), "n")], ZHANG, None, at(2)
        )
        raw = (await session.execute(text("SELECT value FROM scores"))).scalar_one()
    if session.bind.dialect.name == "sqlite":
        assert raw == 355
    else:
        assert raw == Decimal("3.55")


async def test_datetimes_come_back_aware_in_utc(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await set_scores(
            session, round_id, [ScoreEntry("市委编办", "12", FIRE, Decimal("4"))], ZHANG, None, at(2, 9, 30)
        )
    async with sessions() as session:
        info = await get_round(session, round_id)
        audit = await audit_for(session, round_id)
    assert info.opened_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert info.opened_at.utcoffset() is not None
    assert info.opened_at == OPENED
    assert audit[-1].at == datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    assert audit[-1].at.tzinfo == UTC
    assert info.deadlines[0].at == datetime(2026, 12, 10, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (Decimal("3.555"), "第1条（市委编办 12）：分值最多两位小数：3.555"),
        (Decimal("-1"), "第1条（市委编办 12）：分值应在 0 到 99999.99 之间：-1"),
        (Decimal("100000"), "第1条（市委编办 12）：分值应在 0 到 99999.99 之间：100000"),
        (Decimal("NaN"), "第1条（市委编办 12）：分值不是数字：NaN"),
    ],
)
async def test_values_a_column_cannot_hold_are_refused(
    sessions: async_sessionmaker[Any], round_id: int, value: Decimal, said: str
) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(InvalidRecord) as caught:
            await set_scores(session, round_id, [ScoreEntry("市委编办", "12", FIRE, value, "n")], ZHANG, None, at(2))
    assert caught.value.problems == (said,)
    assert caught.value.user_message == f"以下内容有误，均未保存：\n  {said}"


async def test_a_naive_now_is_refused(sessions: async_sessionmaker[Any], round_id: int) -> None:
    naive = datetime(2026, 12, 2)  # noqa: DTZ001 - the mistake under test
    async with sessions() as session, session.begin():
        with pytest.raises(InvalidRecord, match="时间缺少时区"):
            await set_scores(session, round_id, [ScoreEntry("市委编办", "12", FIRE, Decimal(4))], ZHANG, None, naive)
