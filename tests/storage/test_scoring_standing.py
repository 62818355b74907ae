"""load_standing hands the stored entries to the core: storage does no arithmetic of its own."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from scoring_core.directory import Directory
from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.scheme import Scheme
from scoring_core.standing import compute_standing
from storage.errors import Conflict
from storage.scoring import add_adjustment, load_standing, remove_adjustment, set_scores
from tests.storage.conftest import ADMIN, FIRE, ZHANG, at

D = Decimal
OFFICE = "市委平安办"

SCORES = [
    ScoreEntry("市教育局", "12", FIRE, D("3.5"), "演练未按期"),
    ScoreEntry("市教育局", "16", "市行政审批局", D("4")),
    ScoreEntry("市教育局", "16", "市人社局", D("3"), "材料不全"),
    ScoreEntry("市教育局", "16", "市民政局", D("3.55"), "材料不全"),
    ScoreEntry("市医保局", "12", FIRE, D("4")),
    ScoreEntry("市委编办", "12", FIRE, D("4")),
]
ADJUSTMENTS = [
    AdjustmentEntry("市教育局", "B1", OFFICE, D("2"), "经验获市委领导批示"),
    AdjustmentEntry("市教育局", "B2", OFFICE, D("7.5"), "全国表彰"),
    AdjustmentEntry("市教育局", "D9", "市法院", D("3"), "违纪", "王某-案1"),
    AdjustmentEntry("市教育局", "D9", "市纪委市监委", D("2"), "违纪", "王某-案1"),
    AdjustmentEntry("市医保局", "V2", OFFICE, None, "发生重大案件"),
]
REMOVED = AdjustmentEntry("市教育局", "D1", OFFICE, D("1"), "录错了")


async def test_load_standing_is_the_cores_standing_of_the_stored_entries(
    sessions: async_sessionmaker[Any], round_id: int, scheme: Scheme, directory: Directory
) -> None:
    async with sessions() as session, session.begin():
        await set_scores(session, round_id, SCORES, ZHANG, "m1", at(2))
        wrong = await add_adjustment(session, round_id, REMOVED, ADMIN, "m2", at(3, 9))
        for n, entry in enumerate(ADJUSTMENTS):
            await add_adjustment(session, round_id, entry, ADMIN, f"a{n}", at(3, 10, n))
        await remove_adjustment(session, round_id, wrong.id, ADMIN, "m3", at(3, 11))

    async with sessions() as session:
        standing = await load_standing(session, round_id, scheme, directory)
    assert standing == compute_standing(scheme, directory, SCORES, ADJUSTMENTS)

    education = standing.result("市教育局")
    # 12: 3.5; 16: mean(4, 3, 3.55) = 3.516… → 3.52; bonus 2 + 7.5 capped at 8;
    # D9: one case, only the larger 3 counts; D1 was removed.
    assert (education.parts_total, education.bonus, education.deduction, education.total) == (
        D("7.02"),
        D("8"),
        D("3"),
        D("12.02"),
    )
    insurance = standing.result("市医保局")
    assert (insurance.vetoed, insurance.total, insurance.rank) == (True, D("4"), 32)
    assert standing.results[0].unit == "市教育局"
    assert [r.rank for r in standing.results[:3]] == [1, 2, 3]


async def test_a_round_of_another_scheme_is_refused(
    sessions: async_sessionmaker[Any], round_id: int, scheme: Scheme, directory: Directory
) -> None:
    other = replace(scheme, year=2021)
    async with sessions() as session:
        with pytest.raises(Conflict) as caught:
            await load_standing(session, round_id, other, directory)
    assert caught.value.user_message == (
        "“2026年度考核”按《2020年度市综治责任单位平安建设（综治工作）考核》（2020）评分，"
        "与当前加载的考核方案《2020年度市综治责任单位平安建设（综治工作）考核》（2021）不符"
    )
