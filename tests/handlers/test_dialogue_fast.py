"""Dialogues: fast paths, batches, two members at once, review, submit, lock and unlock, undo."""

from __future__ import annotations

from tests.handlers.dialogue import Bot, Chat, Clock

ADMIN = "admin"
FIRE, FIRE_B, FIRE_HEAD = "d27a", "d27b", "d27head"


async def _open(chat: Chat, when: str = "12月20日") -> None:
    assert (await chat.say(ADMIN, f"开启考核 {when}")).startswith("已开启")
    for user in (FIRE, FIRE_B, FIRE_HEAD):
        await chat.read(user)


async def test_all_full_then_exceptions_in_one_message(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        assert await chat.say(FIRE, "12 全部满分") == (
            "第12项已保存 32 处，已评 32/32：\n"
            "32 个未评单位给满分 4\n"
            "例外请发“单位 分数 理由”，可多行，如“教育局 3.5 演练未按期”"
        )
        assert await chat.say(FIRE, "教育局 3.5 演练未按期\n市民政局 ３分 台账不全") == (
            "第12项已保存 2 处，已评 32/32：\n市教育局 3.5（演练未按期）\n市民政局 3（台账不全）\n核对请发“核对 12”"
        )
        review = await chat.say(FIRE, "核对 12")
        assert review.splitlines()[:3] == [
            "【核对 第12项 消防安全（满分4）】",
            "已评 32/32，未提交，截止 12月20日 23:59",
            "1. 市委组织部 4",
        ]
        assert "[下一页] [提交 12]" in review
        page2 = await chat.tap(FIRE, "核对 12 第2页")
        assert "19. 市教育局 3.5（演练未按期）" in page2
        assert "第2/3页" in page2


async def test_a_batch_is_all_or_nothing_and_asks_back_unclear_names(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        assert await chat.say(FIRE, "评分 12\n公安 3 理由\n税务局 4\n教育局 5\n民政 3\n市民政局 4") == (
            "有 5 行需要改正，这条消息的分数都未保存：\n"
            "  第2行：“公安”可能是：市公安局、市公安局交管局，请写全称\n"
            "  第3行：“税务局”不是被考核单位\n"
            "  第4行：市教育局：第12项分值应在 0 到 4 之间，不能是 5\n"
            "  第5行：市民政局：第12项未给满分（3/4），须写明扣分理由\n"
            "  第6行：市民政局与第5行重复"
        )
        assert "已评 0/32" in await chat.say(FIRE, "核对 12")
        assert (await chat.say(FIRE, "交管 3.5 未按期")).startswith("第12项已保存 1 处")


async def test_the_walk_warns_when_every_score_is_equal(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        await chat.say(FIRE, "12 全部满分")
        assert "⚠ 所有单位都是 4 分：评分结果未拉开差距可能被扣分（减分第3项）" in await chat.say(FIRE, "核对 12")


async def test_two_members_score_one_part_last_write_wins_and_each_sees_the_current_value(
    db_url: str, bot: Bot
) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        a = await chat.say(FIRE, "评分 12")
        b = await chat.say(FIRE_B, "评分 12")
        assert "单位：市委组织部" in a
        assert "单位：市委组织部" in b
        await chat.say(FIRE, "满分")
        # B is still on 市委组织部 from before; the value A wrote shows when B moves back to it.
        await chat.say(FIRE_B, "3.5 台账不全")
        assert "当前：3.5（台账不全）" in await chat.say(FIRE, "上一个")
        review = await chat.say(FIRE_HEAD, "核对 12")
        assert "1. 市委组织部 3.5（台账不全）" in review


async def test_submit_tells_the_department_then_locks_at_the_deadline_until_unlocked(db_url: str, bot: Bot) -> None:
    clock = Clock()
    async with bot(db_url, clock) as chat:
        await _open(chat, "12月2日 18:00")
        assert await chat.say(FIRE, "提交 12") == (
            "第12项还有未评的单位：市委组织部、市委政法委、市委编办、市法院、市检察院等 32 个；评完再提交（发“评分 12”）"
        )
        await chat.say(FIRE, "12 全部满分")
        assert await chat.say(FIRE, "提交 12") == "已提交第12项（32 个单位）。截止 12月2日 18:00 前仍可修改，之后锁定。"
        assert await chat.read(FIRE_B) == "【提醒】邓同志a已提交第12项（32 个单位）。"
        assert await chat.say(FIRE, "提交 12") == "市消防救援支队第12项已经提交过了，无需重复提交"
        await chat.say(FIRE, "教育局 3 演练未按期")
        assert await chat.read(FIRE_B) == "【提醒】邓同志a修改了已提交的第12项：\n市教育局 4 → 3（演练未按期）"
        assert await chat.read(FIRE_HEAD) == (
            "【提醒】邓同志a已提交第12项（32 个单位）。\n---\n【提醒】邓同志a修改了已提交的第12项：\n市教育局 4 → 3（演练未按期）"
        )
        clock.advance(days=2)  # past the deadline
        assert await chat.say(FIRE, "教育局 4") == (
            "市消防救援支队第12项已提交且已过截止时间，已锁定；如需修改请联系市委平安办解锁"
        )
        assert await chat.say(ADMIN, "解锁 消防 12") == "已解锁市消防救援支队第12项，可以修改；改完请重新提交。"
        assert await chat.read(FIRE) == "【通知】市委平安办已解锁第12项，可以修改；改完请重新发“提交 12”。"
        assert (await chat.say(FIRE, "教育局 4")).startswith("第12项已保存 1 处")


async def test_undo_reverts_this_users_last_change(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        assert await chat.say(FIRE, "撤销") == "没有可以撤销的操作"
        await chat.say(FIRE, "教育局 4")
        await chat.say(FIRE, "教育局 3 演练未按期")
        assert await chat.say(FIRE, "撤销") == "已撤销：市教育局 第12项 3 → 4"
        assert await chat.say(FIRE, "撤销") == "已撤销：市教育局 第12项 4 → 未评"
        assert "已评 0/32" in await chat.say(FIRE, "核对 12")


async def test_progress_tasks_and_help_for_a_scorer(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        await chat.say(FIRE, "教育局 4")
        assert await chat.say(FIRE, "进度") == "【市消防救援支队评分进度】\n共 1/32\n第12项 1/32"
        help_screen = await chat.say(FIRE, "帮助")
        assert help_screen.startswith("【平安考评助手】\n任务：本部门的评分项")
        assert len(help_screen.splitlines()) <= 15
        # 市委平安办 scores seven parts: the task list pages.
        tasks = await chat.say("pab1", "任务")
        assert tasks.endswith("第1/2页\n[评分 1] [评分 2] [评分 3] [评分 4.1] [评分 5] [下一页]")
        assert "第36项" in await chat.tap("pab1", "任务 第2页")


async def test_snooze_holds_this_persons_reminders(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        assert await chat.say(FIRE, "稍后提醒") == "好的，12月1日 19:00 前不再提醒您。"


async def test_unclear_names_are_asked_one_by_one_and_the_message_stored_once_clear(db_url: str, bot: Bot) -> None:
    # Regression: an unclear name made the scorer type the whole message again.
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        asked = await chat.say(FIRE, "教育局 3.5 演练未按期\n公安 3 台账不全\n市委 4")
        assert asked == (
            "【“公安”是哪个单位？】\n"
            "第2行：公安 3 台账不全\n"
            "选定后这条消息的分数一起保存（还有 1 处要确认）；发“取消”放弃（尚未保存）\n"
            "[市公安局] [市公安局交管局] [取消]"
        )
        assert "已评 0/32" in await chat.say(FIRE, "核对 12")  # nothing stored while asking
        # 核对 dropped the waiting message; send it again and answer.
        await chat.say(FIRE, "教育局 3.5 演练未按期\n公安 3 台账不全\n市委 4")
        asked = await chat.tap(FIRE, "市公安局交管局")
        assert asked == (
            "【“市委”是哪个单位？】\n"
            "第3行：市委 4\n"
            "选定后这条消息的分数一起保存；发“取消”放弃（尚未保存）\n"
            "[市委组织部] [市委政法委] [市委编办] [市委信访局] [市委宣传部] [市委网信办] [取消]"
        )
        assert (
            await chat.say(FIRE, "市委")
            == "请从这几个单位中选一个：市委组织部、市委政法委、市委编办、市委信访局、市委宣传部、市委网信办；发“取消”放弃"
        )
        assert await chat.tap(FIRE, "市委编办") == (
            "第12项已保存 3 处，已评 3/32：\n"
            "市教育局 3.5（演练未按期）\n"
            "市公安局交管局 3（台账不全）\n"
            "市委编办 4\n"
            "核对请发“核对 12”"
        )


async def test_a_message_waiting_for_a_name_can_be_cancelled(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        await chat.say(FIRE, "公安 3 台账不全")
        assert await chat.tap(FIRE, "取消") == "已取消，上一条消息的分数都未保存。"
        assert "已评 0/32" in await chat.say(FIRE, "核对 12")


async def test_a_colleagues_notice_written_at_night_waits_for_the_morning(db_url: str, bot: Bot) -> None:
    # Regression: notices to other people (colleagues, leaders) went out at 22:30;
    # quiet hours (21:00–08:00) held only the scheduled sends.
    clock = Clock()
    async with bot(db_url, clock) as chat:
        await _open(chat)
        await chat.say(FIRE, "12 全部满分")
        clock.advance(hours=5, minutes=30)  # 22:30 in Nanchang
        assert (
            await chat.say(FIRE, "提交 12") == "已提交第12项（32 个单位）。截止 12月20日 23:59 前仍可修改，之后锁定。"
        )
        assert await chat.read(FIRE_B) == ""  # held: the writer's own answer was not
        assert (
            await chat.say(FIRE, "进度") == "【市消防救援支队评分进度】\n共 32/32\n第12项 32/32（已提交）"
        )  # not held up behind it
        clock.advance(hours=9, minutes=31)  # 08:01 the next morning
        await chat.settle()
        assert await chat.read(FIRE_B) == "【提醒】邓同志a已提交第12项（32 个单位）。"
