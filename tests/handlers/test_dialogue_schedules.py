"""Admins run the schedules from the chat: 提醒计划, 暂停提醒, 恢复提醒 and 催办, the same
functions as ``scorebot schedule`` and ``scorebot remind-now``; a deadline typed without
a year; 开启考核's own run-up and the calendar warning.

The clock starts at Tue 2026-12-01 17:00 (``T0``).  The sweep's timer is off in
dialogues, so what arrives is only what the commands send.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.app import SESSIONS
from schedules.timing import deadline_at
from storage.scoring import current_round
from tests.handlers.dialogue import SAMPLE_DIRECTORY, T0, Bot, Clock, SandboxChat

ADMIN = "admin"
TITLE = "2020年度市综治责任单位平安建设（综治工作）考核"
SLOWEST = [
    "市委平安办 缺 224 条",
    "市公安局 缺 128 条",
    "市综治中心 缺 98 条",
    "市民政局 缺 96 条",
    "市委政法委 缺 64 条",
    "市委组织部 缺 64 条",
    "市检察院 缺 64 条",
    "市法院 缺 64 条",
    "依法治理工作组 缺 32 条",
    "信息化建设工作组 缺 32 条",
    "党建引领工作组 缺 32 条",
    "反邪教专项组 缺 32 条",
    "……共 49 个部门",
]


async def test_reminder_commands_are_for_admins_only(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await chat.say(ADMIN, "开启考核 12月8日")
        await chat.read("d27a")  # the round-opened card
        assert await chat.say("d27a", "提醒计划") == "只有市委平安办管理员可以查看提醒计划。"
        assert await chat.say("d27a", "暂停提醒") == "只有市委平安办管理员可以暂停提醒。"
        assert await chat.say("d27a", "恢复提醒") == "只有市委平安办管理员可以恢复提醒。"
        assert await chat.say("leader1", "暂停提醒") == "领导账号只能查看排名、明细和进度，不能暂停提醒。"
        assert await chat.say("leader1", "催办") == "领导账号只能查看排名、明细和进度，不能催办。"
        help_lines = (await chat.say(ADMIN, "帮助")).splitlines()
        assert "催办 / 提醒计划 / 暂停提醒 / 恢复提醒" in help_lines


async def test_plan_pause_resume_and_chase_from_the_chat(db_url: str) -> None:
    chat, clock = SandboxChat(SAMPLE_DIRECTORY), Clock()
    async with chat.running(db_url, clock):
        await chat.say(ADMIN, "开启考核 12月8日")
        # Every working day from 5 working days before Tue 12-08 at 09:30, the last one
        # (Mon 12-07) at 15:00 too, the deadline day at 09:30 and 14:00; 17:30 the digest.
        plan = [
            f"【提醒计划：未来 7 天】\n{TITLE}",
            "12月1日 17:30 进度日报 → 1 个领导群",
            "12月2日 09:30–09:34 评分提醒 49 个部门 97 人",
            "12月2日 17:30 进度日报 → 1 个领导群",
            "12月3日 09:30–09:34 评分提醒 49 个部门 97 人",
            "12月3日 17:30 进度日报 → 1 个领导群",
            "12月4日 09:30–09:34 评分提醒 49 个部门 97 人",
            "12月4日 17:30 进度日报 → 1 个领导群",
            "12月7日 09:30–09:34 评分提醒 49 个部门 97 人",
            "12月7日 15:00–15:04 评分提醒 49 个部门 97 人",
            "12月7日 17:30 进度日报 → 1 个领导群",
            "12月8日 09:30–09:34 评分提醒 49 个部门 97 人",
            "12月8日 14:00–14:04 评分提醒 49 个部门 97 人",
        ]
        assert await chat.say(ADMIN, "提醒计划") == "\n".join(plan)

        assert await chat.say(ADMIN, "暂停提醒") == (
            f"“{TITLE}”的提醒已暂停（催办也暂停；评分开始通知和进度日报照发）。\n发“恢复提醒”恢复。"
        )
        assert await chat.say(ADMIN, "提醒计划") == "\n".join(
            [plan[0], "提醒已暂停（日报照发），发“恢复提醒”恢复。", *(line for line in plan[1:] if "日报" in line)]
        )
        assert await chat.say(ADMIN, "催办") == (
            f"“{TITLE}”的提醒已暂停，催办未发出；需要时先恢复提醒（发“恢复提醒”或 scorebot schedule resume 1）"
        )
        assert await chat.say(ADMIN, "恢复提醒") == f"已恢复“{TITLE}”的提醒；暂停期间错过的提醒不补发。"
        assert await chat.say(ADMIN, "恢复提醒") == f"“{TITLE}”的提醒并未暂停。"

        # 催办: the schedules' reminder card, what is left and the two buttons.
        await chat.read("d24a")  # the round-opened cards
        await chat.read("d24head")
        assert await chat.say(ADMIN, "催办") == "\n".join(["已催办 49 个部门，共 97 人。", *SLOWEST])
        assert await chat.read("d24a") == (
            "【评分提醒：距截止还有 7 天】\n"
            "市应急管理局：截至12月1日 17:00尚有 32 条评分未完成，请在12月8日（周二）24:00前完成。\n"
            f"考评：{TITLE}\n"
            "已完成：0/32（0%）\n"
            "第11项 安全生产：还差 32 个单位\n"
            "[继续评分] [稍后提醒]"
        )
        assert await chat.read("d24head") == ""  # not overdue: the head is not chased

        clock.advance(minutes=20)
        assert await chat.say(ADMIN, "催办") == (
            "这次没有发出新的催办。\n跳过 97 人：一小时内刚收到过提醒或选了稍后提醒，49 个部门因此未催办。"
        )
        assert await chat.tap("d24a", "稍后提醒") == "好的，12月1日 19:20 前不再提醒您。"
        clock.advance(minutes=70)
        assert await chat.say(ADMIN, "催办") == "\n".join(
            ["已催办 49 个部门，共 96 人。", "跳过 1 人：一小时内刚收到过提醒或选了稍后提醒。", *SLOWEST]
        )
        assert await chat.read("d24a") == ""  # snoozed
        assert (
            (await chat.read("d24b"))
            .split("\n---\n")[-1]
            .startswith("【评分提醒：距截止还有 7 天】\n市应急管理局：截至12月1日 18:30")
        )


async def test_chase_in_quiet_hours_is_refused_saying_when(db_url: str, bot: Bot) -> None:
    # Regression: 催办 at 22:00 went out to every scorer at once.
    clock = Clock()
    async with bot(db_url, clock) as chat:
        await chat.say(ADMIN, "开启考核 12月8日")
        await chat.read("d24a")
        clock.now = T0 + timedelta(hours=5)  # 22:00
        assert (
            await chat.say(ADMIN, "催办") == "现在是免打扰时段（21:00–08:00），催办未发出；请在12月2日 08:00以后再发。"
        )
        assert await chat.read("d24a") == ""


async def test_a_deadline_without_a_year_already_past_means_next_year(db_url: str, bot: Bot) -> None:
    # Regression: 开启考核 1月8日 typed in December was refused as already past.
    async with bot(db_url, Clock()) as chat:
        assert await chat.say(ADMIN, "开启考核 12月1日 09:00") == "截止时间 12月1日 09:00 已过，请写以后的日期"
        assert await chat.say(ADMIN, "开启考核 2026-01-08") == "截止时间 1月8日 23:59 已过，请写以后的日期"
        assert await chat.say(ADMIN, "开启考核 1月8日") == (
            f"已开启“{TITLE}”，截止 1月8日 23:59。\n已通知 145 位评分人员。\n"
            "注意：未载入2027年的节假日安排，暂按周一至周五为工作日安排提醒；"
            "公布后请写入 SCOREBOT_HOLIDAYS_PATH 指定的文件（见 docs/holidays.md）。"
        )
        async with chat.app[SESSIONS]() as session:
            info = await current_round(session)
        assert [d.at for d in info.deadlines] == [deadline_at(date(2027, 1, 8)).replace(second=0, microsecond=0)]


async def test_a_round_with_its_own_run_up(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        assert await chat.say(ADMIN, "开启考核 12月18日 提前3天") == (
            f"已开启“{TITLE}”，截止 12月18日 23:59。\n已通知 145 位评分人员。\n"
            "本轮提醒：截止前 3 个工作日起每个工作日 09:30；截止前最后一个工作日 15:00；"
            "截止当天 09:30、14:00；逾期后每个工作日 09:30（同时提醒部门负责人）。"
        )
        assert await chat.say(ADMIN, "开启考核 12月18日 提前30天") == (
            "before_days（提前几个工作日开始提醒）应为 0 到 20 的整数"
        )


async def test_a_published_round_is_reopened_by_unlock_and_published_again(db_url: str, bot: Bot) -> None:
    # Regression: a round could be published once; 解锁 after it was refused ("已结束").
    clock = Clock()
    async with bot(db_url, clock) as chat:
        await chat.say(ADMIN, "开启考核 12月8日")
        assert (await chat.say(ADMIN, "关闭考核")).startswith(f"已关闭“{TITLE}”，尚缺 ")
        assert await chat.say(ADMIN, "发布排名") == f"已发布“{TITLE}”排名，已通知 2 位领导。"
        told = await chat.read("leader1")
        assert told.startswith(f"“{TITLE}”排名已发布（发布时尚缺 1826 条评分，按 0 分计）：\n1. ")
        assert (await chat.say("leader1", "排名")).splitlines()[1] == "排名已发布：发布时尚缺 1826 条评分，按 0 分计。"

        clock.advance(hours=1)
        assert await chat.say(ADMIN, "解锁 市消防救援支队 12") == (
            f"“{TITLE}”已重新开放以便更正；改完请再“关闭考核”“发布排名”，领导群会收到更正后的排名及名次变化。\n"
            "市消防救援支队第12项未提交过，现在即可修改。"
        )
        await chat.read("d27a")  # the round-opened card of the first opening
        assert (await chat.say("d27a", "12 全部满分")).startswith("第12项已保存 32 处，已评 32/32")
        assert (await chat.say(ADMIN, "关闭考核")).startswith(f"已关闭“{TITLE}”，尚缺 1794 条")
        assert await chat.say(ADMIN, "发布排名") == f"已发布“{TITLE}”排名，已通知 2 位领导。"
        assert (await chat.read("leader1")).startswith(f"“{TITLE}”排名已发布（发布时尚缺 1794 条评分，按 0 分计）：")
