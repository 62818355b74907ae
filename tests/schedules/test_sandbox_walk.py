"""Issue 5's "done when", on the sandbox: a round from 开启考核 to the ranking push.

The real app (scoring router, sandbox adapter, outbox, scheduler) on
loopback with a fake clock.  The clock is moved and the scheduler's sweep
run at each moved time (what its timer does every minute), never a sleep;
what the sandbox page shows is read back from its deliveries API.

The round opens on Wed 2026-09-30 at 10:00, the last working day before
National Day (10-01..10-07 off), with the deadline ``10月10日``: three working
days ahead, Thu 10-08, Fri 10-09 and Sat 10-10, a 调休 working day.  With the
default policy, 市应急管理局 (d24a, d24b; head d24head) is reminded at
(slot + its fixed spread of under 5 minutes):

- Thu 10-08 09:32:19  the run-up reminder ("距截止还有 2 天")
- Fri 10-09 09:34:50  the run-up reminder ("距截止还有 1 天"), and 15:03:31, the
  last working day before the deadline ("明天截止")
- Sat 10-10 09:32:14 and 14:01:40  the deadline day (a Saturday, but 调休)
- Mon 10-12 09:30:34  overdue, to the members and the head (Sunday 10-11 is skipped)

市消防救援支队 (d27a) gets the 10-08 reminder at 09:34:52, then finishes
with ``12 全部满分`` and hears nothing more.  The leaders' group gets the
17:30 digest on 09-30, 10-08, 10-09 and 10-10, nothing in the holiday or on
Sunday, and one ranking push when the round is published on 10-12.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time
from typing import Any

from bot.app import SCHEDULER
from bot.settings import Settings
from schedules import jobs
from schedules.timing import at_local
from tests.handlers.dialogue import Chat, Clock, SettingsSandboxChat

TITLE = "2020年度市综治责任单位平安建设（综治工作）考核"
ADMIN = "admin"
SAFETY, SAFETY_B, SAFETY_HEAD = "d24a", "d24b", "d24head"  # 市应急管理局: never finishes
FIRE, FIRE_HEAD = "d27a", "d27head"  # 市消防救援支队: finishes on 10-08


def t(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return at_local(date(2026, month, day), time(hour, minute, second))


def settings(db_url: str, **kw: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        sandbox=True,
        shutdown_grace_seconds=0,
        schedule_sweep_seconds=3600,  # the test runs the sweep itself; the timer never fires
        **kw,
    )


class Walk:
    """One sandbox page's view of a running bot, kept across restarts."""

    def __init__(self, db_url: str, clock: Clock) -> None:
        self.db_url = db_url
        self.clock = clock
        self.chat: Chat | None = None
        # One page for the whole walk: what it showed survives the bot's restarts.
        self._page = SettingsSandboxChat(lambda url: settings(url, leader_groups=["sandbox:leaders"]))
        self._seen_group = 0

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Chat]:
        """The bot up (it catches up at start); stopped on exit, like a restart."""
        async with self._page.running(self.db_url, self.clock) as chat:
            self.chat = chat
            try:
                await chat.settle()
                yield chat
            finally:
                self.chat = None

    async def at(self, when: datetime) -> None:
        """The clock reaches ``when`` and the scheduler's minute job runs."""
        assert self.chat is not None
        self.clock.now = when
        await jobs.run_sweep(self.chat.app[SCHEDULER].runtime)
        await self.chat.settle()

    async def read(self, user: str) -> list[str]:
        """New deliveries to ``user``, each as the page shows it."""
        assert self.chat is not None
        said = await self.chat.read(user)
        return said.split("\n---\n") if said else []

    async def group(self) -> list[dict[str, Any]]:
        """New deliveries in the leaders' group (the page's 群聊 tab)."""
        assert self.chat is not None
        response = await self.chat.client.get(
            "/sandbox/api/messages", params={"kind": "group", "id": "leaders", "after": self._seen_group}
        )
        messages: list[dict[str, Any]] = (await response.json())["messages"]
        self._seen_group = max([self._seen_group, *(m["id"] for m in messages)])
        return messages

    async def members_see(self, *expected: str) -> None:
        """Both members of 市应急管理局 got exactly ``expected`` since they last looked."""
        for user in (SAFETY, SAFETY_B):
            assert await self.read(user) == list(expected), user

    async def nothing_new(self, *users: str) -> None:
        for user in users:
            assert await self.read(user) == [], user
        assert await self.group() == []


def at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["at"])


OPENING_CARD = (
    f"【{TITLE}：评分开始】\n"
    "请市应急管理局于10月10日（周六）24:00前完成评分。\n"
    "评分项目：1 项\n"
    "被考核单位：32 个\n"
    "评分任务：32 条\n"
    "截止时间：10月10日（周六）24:00\n"
    "第11项 安全生产：32 个单位\n"
    "[开始评分]"
)


def reminder(title: str, description: str, done: str = "0/32（0%）", left: int = 32, *extra: str) -> str:
    return "\n".join(
        [
            f"【{title}】",
            description,
            f"考评：{TITLE}",
            f"已完成：{done}",
            f"第11项 安全生产：还差 {left} 个单位",
            *extra,
            "[继续评分] [稍后提醒]",
        ]
    )


def digest_head(day: str, done: int, finished: int) -> list[str]:
    percent = done * 100 // 1826
    return [
        f"### {TITLE}：评分进度",
        f"{day} 17:30 · 截止10月10日（周六）24:00",
        f"总体完成 **{percent}%**（{done}/1826 条），已完成部门 {finished}/49 个",
    ]


async def test_a_round_on_the_sandbox_from_opening_to_the_ranking_push(db_url: str) -> None:
    clock = Clock(t(9, 30, 10))
    walk = Walk(db_url, clock)
    async with walk.running() as chat:
        # Wed 09-30 10:00: the admin opens the round, three working days to go.
        assert await chat.say(ADMIN, "开启考核 10月10日") == (
            f"已开启“{TITLE}”，截止 10月10日 23:59。\n已通知 145 位评分人员。"
        )
        for user in (SAFETY, SAFETY_B, SAFETY_HEAD):
            assert await walk.read(user) == [OPENING_CARD]
        for user in (FIRE, FIRE_HEAD):
            (notice,) = await walk.read(user)
            assert notice.startswith(f"【{TITLE}：评分开始】\n请市消防救援支队于")
        await walk.at(t(9, 30, 10, 1))  # the sweep plans the same notices: nobody gets a second
        await walk.at(t(9, 30, 12))
        await walk.nothing_new(SAFETY, SAFETY_HEAD, FIRE)

        # 17:30: the leaders' digest, once.
        await walk.at(t(9, 30, 17, 29, 59))
        assert await walk.group() == []
        await walk.at(t(9, 30, 17, 30))
        (digest,) = await walk.group()
        assert digest["view"]["kind"] == "markdown"
        assert digest["view"]["text"].splitlines()[:3] == digest_head("9月30日", 0, 0)
        assert "- 市应急管理局 0%（还差 32 条）" in digest["view"]["text"]
        assert at(digest) == t(9, 30, 17, 30)
        await walk.at(t(9, 30, 17, 45))
        await walk.at(t(9, 30, 22))  # quiet hours
        await walk.nothing_new(SAFETY, FIRE)

        # National Day, 10-01..10-07: not a word.
        for day in range(1, 8):
            await walk.at(t(10, day, 9, 35))
            await walk.at(t(10, day, 15, 5))
            await walk.at(t(10, day, 17, 35))
        await walk.nothing_new(SAFETY, SAFETY_HEAD, FIRE)

        # Thu 10-08: the run-up reminder at 09:32:19, to the members only.
        await walk.at(t(10, 8, 9, 32, 18))
        assert await walk.read(SAFETY) == []
        await walk.at(t(10, 8, 9, 32, 19))
        expected = reminder(
            "评分提醒：距截止还有 2 天",
            "市应急管理局：截至10月8日 09:30尚有 32 条评分未完成，请在10月10日（周六）24:00前完成。",
        )
        await walk.members_see(expected)
        assert await walk.read(SAFETY_HEAD) == []
        assert await walk.read(FIRE) == []  # its own slot is 09:34:52
        await walk.at(t(10, 8, 9, 35))
        (fire_reminder,) = await walk.read(FIRE)
        assert fire_reminder.startswith("【评分提醒：距截止还有 2 天】\n市消防救援支队：截至10月8日 09:30尚有 32 条")
        await walk.nothing_new(SAFETY)

        # 市消防救援支队 finishes by the fast path.
        clock.now = t(10, 8, 10)
        assert (await chat.say(FIRE, "12 全部满分")).startswith("第12项已保存 32 处，已评 32/32")
        await walk.at(t(10, 8, 17, 30))
        (digest,) = await walk.group()
        assert digest["view"]["text"].splitlines()[:3] == digest_head("10月8日", 32, 1)

        # Fri 10-09, the last working day before the deadline: 09:34:50 and 15:03:31.
        await walk.at(t(10, 9, 9, 34, 49))
        await walk.nothing_new(SAFETY, FIRE)
        await walk.at(t(10, 9, 9, 34, 50))
        await walk.members_see(
            reminder(
                "评分提醒：距截止还有 1 天",
                "市应急管理局：截至10月9日 09:30尚有 32 条评分未完成，请在10月10日（周六）24:00前完成。",
            )
        )
        await walk.at(t(10, 9, 15, 3, 30))
        await walk.nothing_new(SAFETY, FIRE)
        await walk.at(t(10, 9, 15, 3, 31))
        last_day = reminder(
            "评分明天截止",
            "市应急管理局：截至10月9日 15:00尚有 32 条评分未完成，请在10月10日（周六）24:00前完成。",
        )
        await walk.members_see(last_day)
        await walk.nothing_new(SAFETY_HEAD, FIRE)

    # A restart mid-round (a new app on the same database, at 15:10): the catch-up
    # sweep at start and the sweeps after it send nothing a second time.
    clock.now = t(10, 9, 15, 10)
    async with walk.running() as chat:
        await walk.nothing_new(SAFETY, SAFETY_B, SAFETY_HEAD, FIRE, FIRE_HEAD)
        await walk.at(t(10, 9, 15, 11))
        await walk.nothing_new(SAFETY, SAFETY_B, SAFETY_HEAD, FIRE, FIRE_HEAD)
        await walk.at(t(10, 9, 17, 30))
        (digest,) = await walk.group()
        assert digest["view"]["text"].splitlines()[:3] == digest_head("10月9日", 32, 1)

    clock.now = t(10, 9, 17, 40)
    async with walk.running() as chat:
        await walk.nothing_new(SAFETY, FIRE)  # a second restart, right after the digest: not again

        # Sat 10-10, a 调休 working day and the deadline: 09:32:14 and 14:01:40.
        await walk.at(t(10, 10, 9, 32, 14))
        await walk.members_see(
            reminder(
                "评分今天24:00截止",
                "市应急管理局：截至10月10日 09:30尚有 32 条评分未完成，请在10月10日（周六）24:00前完成。",
            )
        )
        await walk.at(t(10, 10, 14, 1, 40))
        await walk.members_see(
            reminder(
                "评分今天24:00截止",
                "市应急管理局：截至10月10日 14:00尚有 32 条评分未完成，请在10月10日（周六）24:00前完成。",
            )
        )
        await walk.at(t(10, 10, 17, 30))
        (digest,) = await walk.group()
        assert digest["view"]["text"].splitlines()[:3] == digest_head("10月10日", 32, 1)
        await walk.nothing_new(SAFETY_HEAD, FIRE)

        # Sun 10-11: a day off, nothing.
        await walk.at(t(10, 11, 9, 35))
        await walk.at(t(10, 11, 17, 35))
        await walk.nothing_new(SAFETY, SAFETY_HEAD, FIRE)

        # Mon 10-12 09:30:34: overdue, to the members and, once, to the head.
        await walk.at(t(10, 12, 9, 30, 34))
        overdue = (
            "市应急管理局：截止时间10月10日（周六）24:00已过，截至10月12日 09:30尚有 32 条评分未完成，请尽快补评。"
        )
        await walk.members_see(reminder("评分已逾期 2 天", overdue))
        assert await walk.read(SAFETY_HEAD) == [
            reminder(
                "评分已逾期 2 天",
                overdue.replace("市应急管理局：", "市应急管理局负责人：", 1),
                "0/32（0%）",
                32,
                "本部门评分已逾期，此提醒同时发给部门负责人。",
            )
        ]
        await walk.at(t(10, 12, 9, 40))
        await walk.nothing_new(SAFETY, SAFETY_HEAD, FIRE, FIRE_HEAD)

        # The admin closes and publishes; the leaders' group gets the ranking once.
        clock.now = t(10, 12, 10)
        assert (await chat.say(ADMIN, "关闭考核")).startswith(f"已关闭“{TITLE}”，尚缺 ")
        clock.now = t(10, 12, 10, 5)
        assert await chat.say(ADMIN, "发布排名") == f"已发布“{TITLE}”排名，已通知 2 位领导。"
        await walk.at(t(10, 12, 10, 6))
        pushed = await walk.group()
        assert [m["view"]["kind"] for m in pushed] == ["markdown", "image", "file"]
        markdown, chart, workbook = (m["view"] for m in pushed)
        assert markdown["text"].splitlines()[:2] == [
            f"### {TITLE}：排名已发布",
            "10月12日 10:05发布 · 共 32 个单位 · 首次发布",
        ]
        assert markdown["text"].endswith("> 发布时尚缺 1794 条评分，按 0 分计。")
        (told,) = await walk.read("leader1")
        assert told.startswith(f"“{TITLE}”排名已发布（发布时尚缺 1794 条评分，按 0 分计）：\n1. ")
        assert chart["filename"] == "排名图-20261012-1005.png"
        assert base64.b64decode(chart["url"].split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
        assert workbook["filename"] == f"{TITLE}排名-20261012-1005.xlsx"
        assert base64.b64decode(workbook["url"].split(",", 1)[1]).startswith(b"PK")
        assert {at(m) for m in pushed} == {t(10, 12, 10, 6)}

        # After it: no reminder, no digest, no second push.
        for when in (t(10, 12, 10, 7), t(10, 12, 17, 30), t(10, 13, 9, 35), t(10, 13, 17, 30)):
            await walk.at(when)
        await walk.nothing_new(SAFETY, SAFETY_B, SAFETY_HEAD, FIRE, FIRE_HEAD)


async def test_a_round_opened_in_chat_gives_each_member_one_notice(db_url: str) -> None:
    # Regression: 开启考核 sent its own text notice and the sweep then sent the
    # round-opened card under another key: every scorer was told twice.
    walk = Walk(db_url, Clock(t(9, 30, 10)))
    async with walk.running() as chat:
        await chat.say(ADMIN, "开启考核 10月10日")
        await walk.at(t(9, 30, 10, 1))
        for user in (SAFETY, SAFETY_B, SAFETY_HEAD):
            assert await walk.read(user) == [OPENING_CARD], user


async def test_a_round_opened_in_quiet_hours_tells_its_scorers_in_the_morning(db_url: str) -> None:
    # Regression: 开启考核 at 22:00 delivered 145 评分开始 cards there and then.
    walk = Walk(db_url, Clock(t(9, 29, 22)))
    async with walk.running() as chat:
        assert await chat.say(ADMIN, "开启考核 10月10日") == (
            f"已开启“{TITLE}”，截止 10月10日 23:59。\n"
            "现在是免打扰时段（21:00–08:00），145 位评分人员的评分开始通知将于9月30日 08:00发出。"
        )
        await walk.at(t(9, 29, 23, 30))
        await walk.at(t(9, 30, 7, 59))
        await walk.nothing_new(SAFETY, SAFETY_B, SAFETY_HEAD)
        await walk.at(t(9, 30, 8, 0))
        for user in (SAFETY, SAFETY_B, SAFETY_HEAD):
            assert await walk.read(user) == [OPENING_CARD], user
        await walk.at(t(9, 30, 8, 1))
        await walk.nothing_new(SAFETY, SAFETY_B, SAFETY_HEAD)
