"""Opening a round tied to its scheme, deadlines, and the status transitions open → closed → published."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from scoring_core.entries import ScoreEntry
from scoring_core.scheme import Scheme
from storage.errors import BadTransition, Conflict, InvalidRecord, NotFound, RoundNotOpen
from storage.models.scoring import AuditAction, RoundStatus
from storage.scoring import (
    Deadline,
    audit_for,
    close_round,
    current_round,
    deadline_for,
    get_round,
    open_round,
    pick_deadline,
    publish_round,
    scheme_hash,
    set_scores,
)
from tests.storage.conftest import ADMIN, DEADLINE, FIRE, OPENED, ZHANG, at


async def test_open_round_ties_it_to_the_scheme(
    sessions: async_sessionmaker[Any], round_id: int, scheme: Scheme, scheme_text: str
) -> None:
    async with sessions() as session:
        info = await get_round(session, round_id)
    assert info.name == "2026年度考核"
    assert info.scheme_name == "2020年度市综治责任单位平安建设（综治工作）考核"
    assert info.scheme_year == 2020
    assert info.scheme_hash == scheme_hash(scheme_text)
    assert len(info.scheme_hash) == 64
    assert info.status is RoundStatus.OPEN
    assert info.opened_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert info.opened_by == "sandbox:wang"
    assert (info.closed_at, info.published_at) == (None, None)
    assert info.deadlines == (Deadline(datetime(2026, 12, 10, 10, 0, tzinfo=UTC)),)


def test_scheme_hash_changes_with_the_text() -> None:
    assert scheme_hash("a") == "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    assert scheme_hash("a ") != scheme_hash("a")


async def test_a_second_open_round_is_refused(
    sessions: async_sessionmaker[Any], round_id: int, scheme: Scheme, scheme_text: str
) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(Conflict) as caught:
            await open_round(session, "再开一轮", scheme, scheme_text, [], ADMIN, at(2))
    assert caught.value.user_message == "“2026年度考核”仍在进行中，请先关闭再开启新一轮考核"


async def test_current_round_is_the_open_one_else_the_latest(
    sessions: async_sessionmaker[Any], scheme: Scheme, scheme_text: str
) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound) as caught:
            await current_round(session)
    assert caught.value.user_message == "还没有开启过考核"

    async with sessions() as session, session.begin():
        first = await open_round(session, "第一轮", scheme, scheme_text, [], ADMIN, at(1))
        await close_round(session, first.id, ADMIN, at(2))
        second = await open_round(session, "第二轮", scheme, scheme_text, [], ADMIN, at(3))
    async with sessions() as session:
        assert (await current_round(session)).id == second.id
    async with sessions() as session, session.begin():
        await close_round(session, second.id, ADMIN, at(4))
    async with sessions() as session, session.begin():
        assert (await current_round(session)).name == "第二轮"
        await publish_round(session, second.id, ADMIN, at(5))
        third = await open_round(session, "第三轮", scheme, scheme_text, [], ADMIN, at(6))
    async with sessions() as session:
        assert (await current_round(session)).id == third.id


async def test_close_then_publish(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        closed = await close_round(session, round_id, ADMIN, at(11, 9), source_message_id="m-close")
    assert closed.status is RoundStatus.CLOSED
    assert closed.closed_at == datetime(2026, 12, 11, 1, 0, tzinfo=UTC)
    async with sessions() as session, session.begin():
        published = await publish_round(session, round_id, ADMIN, at(12, 9))
    assert published.status is RoundStatus.PUBLISHED
    assert published.published_at == datetime(2026, 12, 12, 1, 0, tzinfo=UTC)

    async with sessions() as session:
        audit = await audit_for(session, round_id)
    assert [(a.action, a.actor.id, a.actor.name, a.actor.department, a.note, a.source_message_id) for a in audit] == [
        (AuditAction.ROUND_OPENED, "sandbox:wang", "王平安", "市委平安办", "2026年度考核", None),
        (AuditAction.ROUND_CLOSED, "sandbox:wang", "王平安", "市委平安办", "", "m-close"),
        (AuditAction.ROUND_PUBLISHED, "sandbox:wang", "王平安", "市委平安办", "", None),
    ]


async def test_wrong_transitions_say_why(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(BadTransition) as caught:
            await publish_round(session, round_id, ADMIN, at(11))
    assert caught.value.user_message == "“2026年度考核”还在进行中，请先关闭考核再发布排名"
    assert (caught.value.status, caught.value.wanted) == ("open", "published")

    async with sessions() as session, session.begin():
        await close_round(session, round_id, ADMIN, at(11))
    async with sessions() as session, session.begin():
        with pytest.raises(BadTransition) as caught:
            await close_round(session, round_id, ADMIN, at(11))
    assert caught.value.user_message == "“2026年度考核”已经关闭"

    async with sessions() as session, session.begin():
        await publish_round(session, round_id, ADMIN, at(12))
    async with sessions() as session, session.begin():
        with pytest.raises(BadTransition) as caught:
            await close_round(session, round_id, ADMIN, at(12))
    assert caught.value.user_message == "“2026年度考核”排名已发布，不能再关闭"
    async with sessions() as session, session.begin():
        with pytest.raises(BadTransition) as caught:
            await publish_round(session, round_id, ADMIN, at(12))
    assert caught.value.user_message == "“2026年度考核”排名已经发布过了"


async def test_a_closed_round_takes_no_scores(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        await close_round(session, round_id, ADMIN, at(11))
    async with sessions() as session, session.begin():
        with pytest.raises(RoundNotOpen) as caught:
            await set_scores(session, round_id, [ScoreEntry("市委编办", "12", FIRE, Decimal(4))], ZHANG, None, at(11))
    assert caught.value.user_message == "“2026年度考核”已关闭，不能再修改"


async def test_unknown_round_is_not_found(sessions: async_sessionmaker[Any], round_id: int) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(NotFound) as caught:
            await close_round(session, round_id + 99, ADMIN, at(11))
    assert caught.value.user_message == "没有找到这一轮考核"


async def test_deadlines_most_specific_first(
    sessions: async_sessionmaker[Any], scheme: Scheme, scheme_text: str
) -> None:
    deadlines = [
        Deadline(DEADLINE),
        Deadline(at(8, 18), code="12"),
        Deadline(at(9, 18), department=FIRE),
        Deadline(at(5, 18), department=FIRE, code="12"),
    ]
    async with sessions() as session, session.begin():
        info = await open_round(session, "2026年度考核", scheme, scheme_text, deadlines, ADMIN, OPENED)
        assert await deadline_for(session, info.id, FIRE, "12") == at(5, 18)
        assert await deadline_for(session, info.id, FIRE, "13") == at(9, 18)
        assert await deadline_for(session, info.id, "市公安局", "12") == at(8, 18)
        assert await deadline_for(session, info.id, "市公安局", "13") == DEADLINE
    assert pick_deadline([], FIRE, "12") is None


async def test_bad_deadlines_are_refused_all_at_once(
    sessions: async_sessionmaker[Any], scheme: Scheme, scheme_text: str
) -> None:
    deadlines = [
        Deadline(DEADLINE, code="99"),
        Deadline(datetime(2026, 12, 10), department=FIRE),  # noqa: DTZ001 - the mistake under test
        Deadline(DEADLINE, department=FIRE),
    ]
    async with sessions() as session, session.begin():
        with pytest.raises(InvalidRecord) as caught:
            await open_round(session, "2026年度考核", scheme, scheme_text, deadlines, ADMIN, OPENED)
    assert caught.value.problems == (
        "截止时间（全部部门 99）：考核方案中没有编号“99”",
        "截止时间（市消防救援支队 全部项目）缺少时区",
        "截止时间（市消防救援支队 全部项目）重复",
    )
