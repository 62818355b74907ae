"""A whole round by chat: open, every department scores by fast paths, adjustments
(a D9 case recorded by two departments), then the leaders' ranking and breakdown,
and the exported workbook ranked again by ``scorebot rank``: all the same numbers
as the scoring core computes for the same entries.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

import pytest

from bot.app import SESSIONS
from bot.cli import main as scorebot
from scoring_core.assignments import assignments
from scoring_core.directory import Directory, Role
from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.points import fmt
from scoring_core.scheme import Scheme
from scoring_core.standing import compute_standing
from storage.files import scheme_source
from storage.scoring import current_round, scheme_hash
from tests.handlers.dialogue import Bot, Chat, Clock

ADMIN, LEADER = "admin", "leader1"


@pytest.fixture(autouse=True)
def _platform_rounds_on_sqlite(request: pytest.FixtureRequest) -> None:
    # A whole round is ~20 s a run. Three messengers x two databases would add
    # a minute and a half on two cores for no new coverage: the storage runs on
    # PostgreSQL under the sandbox round, the adapters' wire under each SQLite one.
    params = request.node.callspec.params
    if request.function is test_a_whole_round and params["bot"] != "sandbox" and params["db_url"] != "sqlite":
        pytest.skip("the whole round runs on WeCom and DingTalk on SQLite only (time)")


HALF = Decimal("0.5")


def _scorer_of(directory: Directory, department: str) -> str:
    members = directory.department(department).members
    for role in (Role.SCORER, Role.HEAD, Role.ADMIN):
        for m in members:
            if m.role is role and "sandbox" in m.ids:
                return m.ids["sandbox"]
    raise AssertionError(department)


async def _everyone_scores(chat: Chat, scheme: Scheme, directory: Directory) -> list[ScoreEntry]:
    """Each department: every part full marks, its first unit half a point less, in one message each."""
    expected = []
    for dept in directory.departments:
        for a in assignments(scheme, directory, dept.name):
            first = a.units[0]
            said = await chat.say(
                _scorer_of(directory, dept.name), f"{a.part.code} 全部满分\n{first} {fmt(a.part.max - HALF)} 台账不全"
            )
            answer = said.split("\n---\n")[-1]  # after the round-opened notice, the first time
            assert answer.startswith(f"第{a.part.code}项已保存 {len(a.units)} 处"), said
            expected.append(ScoreEntry(first, a.part.code, dept.name, a.part.max - HALF, "台账不全"))
            expected += [ScoreEntry(u, a.part.code, dept.name, a.part.max) for u in a.units[1:]]
    return expected


async def _ranking(chat: Chat) -> list[tuple[int, str, Decimal, bool]]:
    rows, page = [], 1
    while True:
        shown = await chat.say(LEADER, f"排名 第{page}页")
        for m in re.finditer(r"^(\d+)\. (\S+) ([\d.]+)(（否决）)?", shown, re.M):
            rows.append((int(m[1]), m[2], Decimal(m[3]), bool(m[4])))
        if "[下一页]" not in shown:
            return rows
        page += 1


async def test_a_whole_round(db_url: str, bot: Bot, scheme: Scheme, directory: Directory, tmp_path: Path) -> None:
    async with bot(db_url, Clock()) as chat:
        await chat.say(ADMIN, "开启考核 12月20日")
        scores = await _everyone_scores(chat, scheme, directory)
        assert (await chat.say(ADMIN, "加分 市教育局 B1 2 经验获市委领导批示")).startswith(
            "已记录：市教育局 B1 加 2 分，计入 2 分"
        )
        assert await chat.say(ADMIN, "加分 市教育局 B3 7 经验在全省推广") == (
            "已记录：市教育局 B3 加 7 分，计入 6 分\n"
            "说明：B1、B2、B3、B4、B5合计最多8分\n"
            "市教育局目前加分合计 8，扣分合计 0（已按封顶计）\n"
            "发“撤销”可撤回这一条"
        )
        assert await chat.say("d114a", "扣分 市房管局 D9 3 王某-案1 班子成员违纪") == (
            "已记录：市房管局 D9（王某-案1） 扣 3 分，计入 3 分\n"
            "市房管局目前加分合计 0，扣分合计 3（已按封顶计）\n"
            "发“撤销”可撤回这一条"
        )
        assert await chat.say(ADMIN, "扣分 市房管局 D9 2 王某-案1 同一案件法院通报 @市法院") == (
            "已记录：市房管局 D9（王某-案1） 扣 2 分，计入 0 分（市法院）\n"
            "说明：同一人同一案件只计较大的一次扣分\n"
            "市房管局目前加分合计 0，扣分合计 3（已按封顶计）\n"
            "发“撤销”可撤回这一条"
        )
        assert await chat.say("d63a", "扣分 市房管局 D9 2 王某-案1 x @市法院") == (
            "只有市委平安办管理员可以代其他部门录入（@部门）"
        )
        assert (await chat.say("d24a", "扣分 市城管局 D8 重大安全事故")).startswith(
            "已记录：市城管局 D8 扣 2 分，计入 2 分"
        )
        assert await chat.say(ADMIN, "否决 市医保局 V2 发生特大安全事故") == (
            "已记录：市医保局 V2 否决（发生特大安全事故、群体性事件、食品安全事故、刑事案件）\n理由：发生特大安全事故"
        )
        adjustments = [
            AdjustmentEntry("市教育局", "B1", "市委平安办", Decimal(2), "经验获市委领导批示"),
            AdjustmentEntry("市教育局", "B3", "市委平安办", Decimal(7), "经验在全省推广"),
            AdjustmentEntry("市房管局", "D9", "市纪委市监委", Decimal(3), "班子成员违纪", "王某-案1"),
            AdjustmentEntry("市房管局", "D9", "市法院", Decimal(2), "同一案件法院通报", "王某-案1"),
            AdjustmentEntry("市城管局", "D8", "市应急管理局", Decimal(2), "重大安全事故"),
            AdjustmentEntry("市医保局", "V2", "市委平安办", None, "发生特大安全事故"),
        ]
        core = compute_standing(scheme, directory, scores, adjustments)
        assert core.complete

        # The leader's ranking: every unit, the core's rank and total.
        assert await _ranking(chat) == [(r.rank, r.unit, r.total, r.vetoed) for r in core.results]
        first_page = await chat.say(LEADER, "排名")
        assert first_page.splitlines()[1] == "评分已齐全（尚未发布）"

        # 明细: the breakdown explains the total.
        house = core.result("市房管局")
        detail = await chat.say(LEADER, "明细 房管局")
        assert detail.splitlines()[1] == (
            f"第{house.rank}名 总分 {fmt(house.total)} = 项目 {fmt(house.parts_total)} + 加分 0 - 扣分 3"
        )
        assert "1 8/8：市委平安办 8" in detail
        last_page = await chat.say(LEADER, "明细 房管局 第5页")
        assert "D9 王某-案1 -3 计-3（市纪委市监委：班子成员违纪）" in last_page
        assert "D9 王某-案1 -2 计-0（市法院：同一案件法院通报，同一人同一案件只计较大的一次扣分）" in last_page

        # Progress for leaders: every department complete.
        progress = await chat.say(LEADER, "进度")
        assert progress.splitlines()[1] == f"共 {len(scores)}/{len(scores)} 条评分（进度慢的在前）"

        # 导出 → the workbook; `scorebot rank` on it gives the same numbers.
        await chat.say(ADMIN, "导出")
        (exported,) = [v for v in chat.views[ADMIN] if v["kind"] == "file"]
        assert exported["filename"] == "排名-1.xlsx"
        sheet = tmp_path / "exported.xlsx"
        sheet.write_bytes(base64.b64decode(exported["url"].split(",", 1)[1]))
        out = io.StringIO()
        with redirect_stdout(out):
            # the CLI is synchronous: run it off the event loop, as a person would in a shell
            assert await asyncio.to_thread(scorebot, ["rank", "--scores", str(sheet), "--format", "json"]) == 0
        ranked = json.loads(out.getvalue())
        assert [(u["rank"], u["unit"], u["total"]) for u in ranked["units"]] == [
            (r.rank, r.unit, fmt(r.total)) for r in core.results
        ]

        # Close and publish: the leaders are told.
        assert (await chat.say(ADMIN, "关闭考核")).startswith("已关闭“")
        assert (
            await chat.say("d27a", "12 全部满分")
            == "“2020年度市综治责任单位平安建设（综治工作）考核”已结束，目前没有进行中的考核。"
        )
        assert (
            await chat.say(ADMIN, "发布排名")
            == "已发布“2020年度市综治责任单位平安建设（综治工作）考核”排名，已通知 2 位领导。"
        )
        told = await chat.read("leader2")
        assert told.startswith("“2020年度市综治责任单位平安建设（综治工作）考核”排名已发布：\n1. ")
        await chat.read(LEADER)  # the same notice
        assert (await chat.say(LEADER, "排名")).splitlines()[1] == "正式排名（已发布）"


async def test_a_round_opened_in_chat_is_tied_to_the_scheme_file(db_url: str, bot: Bot) -> None:
    # Regression: the chat hashed the parsed scheme's repr, the CLI the file's text.
    async with bot(db_url, Clock()) as chat:
        await chat.say(ADMIN, "开启考核 12月20日")
        async with chat.app[SESSIONS]() as session:
            info = await current_round(session)
    assert info.scheme_hash == scheme_hash(scheme_source()[0])
