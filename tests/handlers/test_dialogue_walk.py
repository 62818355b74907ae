"""Dialogues: a scorer of 市消防救援支队 scores part 12 on cards, by buttons and by typing."""

from __future__ import annotations

from tests.handlers.dialogue import Bot, Chat, Clock

ADMIN = "admin"
FIRE = "d27a"  # 邓同志a, 市消防救援支队 scorer
FIRE_B = "d27b"
LEADER = "leader1"


async def _open(chat: Chat) -> None:
    said = await chat.say(ADMIN, "开启考核 12月20日")
    assert (
        said == "已开启“2020年度市综治责任单位平安建设（综治工作）考核”，截止 12月20日 23:59。\n已通知 145 位评分人员。"
    )
    assert await chat.read(FIRE) == (
        "【2020年度市综治责任单位平安建设（综治工作）考核：评分开始】\n"
        "请市消防救援支队于12月20日（周日）24:00前完成评分。\n"
        "评分项目：1 项\n"
        "被考核单位：32 个\n"
        "评分任务：32 条\n"
        "截止时间：12月20日（周日）24:00\n"
        "第12项 消防安全：32 个单位\n"
        "[开始评分]"
    )
    await chat.read(FIRE_B)


async def test_unknown_user_gets_one_polite_line(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        assert await chat.say("stranger", "任务") == (
            "您好，您还不在考评名录中，暂时无法使用考评助手；请联系市委平安办开通。"
        )


async def test_walk_part_12_with_buttons(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        assert "【消防救援支队" not in (tasks := await chat.say(FIRE, "任务"))
        assert tasks == (
            "【市消防救援支队的评分任务】\n"
            "2020年度市综治责任单位平安建设（综治工作）考核\n"
            "第12项 消防安全（满分4）：已评 0/32，截止 12月20日 23:59\n"
            "[评分 12]"
        )
        card = await chat.tap(FIRE, "评分 12")
        assert card == (
            "【第12项 消防安全（1/32）】\n"
            "考核消防安全工作落实情况。\n"
            "单位：市委组织部\n"
            "满分：4\n"
            "当前：未评\n"
            "已评：0/32\n"
            "低于满分请写理由，如“3.5 演练未按期”\n"
            "[满分 4] [3.5] [3] [跳过] [上一个] [退出]"
        )
        card = await chat.tap(FIRE, "满分")
        assert "已记：市委组织部 4" in card
        assert "单位：市委政法委" in card
        assert "（2/32）" in card
        asked = await chat.tap(FIRE, "3.5")
        assert asked == (
            "市委政法委 第12项 3.5 分（满分4），请写扣分理由：\n（直接发理由即可；发“退出”放弃，尚未保存）"
        )
        card = await chat.say(FIRE, "演练未按期")
        assert "已记：市委政法委 3.5（演练未按期）" in card
        assert "单位：市委编办" in card
        card = await chat.say(FIRE, "３．５分 台账不全")
        assert "已记：市委编办 3.5（台账不全）" in card
        card = await chat.tap(FIRE, "上一个")
        assert "单位：市委编办" in card
        assert "当前：3.5（台账不全）" in card
        card = await chat.say(FIRE, "4")
        assert "已记：市委编办 4" in card
        assert "单位：市法院" in card
        card = await chat.tap(FIRE, "跳过")
        assert "已跳过：市法院" in card
        assert "单位：市检察院" in card
        bye = await chat.tap(FIRE, "退出")
        assert bye == "已退出第12项评分，已评 3/32。\n继续请发“评分 12”，核对请发“核对 12”。"
        again = await chat.say(FIRE, "评分 12")
        assert "单位：市法院" in again  # the first unscored one


async def test_refusals_change_nothing(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        assert await chat.say(FIRE, "任务") == "还没有开启考核；开启后即可评分和查看排名。"
        await _open(chat)
        assert await chat.say(FIRE, "满分") == "现在没有在逐个评分：发“任务”选一项，或发“评分 12”开始"
        assert await chat.say(FIRE, "评分 13") == "第13项不由市消防救援支队评分；您部门的评分项：12"
        assert await chat.say(FIRE, "评分 99") == "没有评分编号“99”：请用考核方案中的编号，如 12、4.1、34-3.2"
        await chat.say(FIRE, "评分 12")
        assert await chat.say(FIRE, "5") == "第12项分值应在 0 到 4 之间，不能是 5"
        assert await chat.say(FIRE, "3.555") == "分数最多两位小数，“3.555”超过了"
        assert await chat.say(FIRE, "开启考核 12月21日") == "只有市委平安办管理员可以开启考核。"
        assert await chat.say(FIRE, "排名") == "只有领导和市委平安办管理员可以查看排名。"
        assert await chat.say(LEADER, "评分 12") == "领导账号只能查看排名、明细和进度，不能评分。"
        assert await chat.say(FIRE, "加分 市教育局 B1 2 经验") == (
            "市消防救援支队不能录入市教育局的B1（经验得到领导批示肯定），应由市委平安办录入"
        )
        assert await chat.say(FIRE, "你好") == "没看懂“你好”。可以发：任务、评分 12、核对 12、提交 12、进度、帮助"
        card = await chat.say(FIRE, "核对 12")
        assert "已评 0/32，未提交" in card


async def test_restart_mid_walk_and_quiet_expiry(db_url: str, bot: Bot) -> None:
    clock = Clock()
    async with bot(db_url, clock) as chat:
        await _open(chat)
        await chat.say(FIRE, "评分 12")
        await chat.say(FIRE, "满分")
        await chat.say(FIRE, "3")  # asks for a reason: nothing stored yet
    async with bot(db_url, clock) as chat:  # the process restarted
        card = await chat.say(FIRE, "演练未按期")
        assert "已记：市委政法委 3（演练未按期）" in card
        assert "单位：市委编办" in card
        clock.advance(minutes=31)
        assert await chat.say(FIRE, "满分") == "现在没有在逐个评分：发“任务”选一项，或发“评分 12”开始"


async def test_a_platform_retry_takes_effect_once(db_url: str, bot: Bot) -> None:
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        await chat.say(FIRE, "评分 12")
        first = await chat.say(FIRE, "满分", msg_id="retry-1")
        assert "已记：市委组织部 4" in first
        assert await chat.say(FIRE, "满分", msg_id="retry-1") == ""
        assert "已评 1/32" in await chat.say(FIRE, "核对 12")


async def test_full_marks_tapped_twice_in_one_second_scores_two_units(db_url: str, bot: Bot) -> None:
    # Regression (WeCom): a tap was deduplicated by user + CreateTime + key, so the
    # same button tapped on the next card within a second (the clock here stands
    # still) looked like WeCom retrying the first tap and was dropped.
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        await chat.say(FIRE, "评分 12")
        assert "已记：市委组织部 4" in await chat.tap(FIRE, "满分")
        assert "已记：市委政法委 4" in await chat.tap(FIRE, "满分")


async def test_a_tap_on_an_older_card_is_refused_not_given_to_the_current_unit(db_url: str, bot: Bot) -> None:
    # Regression: DingTalk posts a new card for every unit and the old ones keep working
    # buttons; a tap on 市委组织部's card recorded its value for whatever unit the walk had reached.
    async with bot(db_url, Clock()) as chat:
        await _open(chat)
        await chat.say(FIRE, "评分 12")
        old_three = chat.button(FIRE, "3")
        assert old_three == "3 @市委组织部"
        assert "单位：市委政法委" in await chat.tap(FIRE, "满分")
        # On DingTalk a tap sends the button's command as the member's message: the same words typed.
        card = await chat.say(FIRE, old_three)
        assert "点的是“市委组织部”的旧卡片，未记录；现在评到市委政法委，请在这张卡片上操作" in card
        assert "单位：市委政法委" in card
        assert "当前：未评" in card
        review = await chat.say(FIRE, "核对 12")
        assert "1. 市委组织部 4\n2. 市委政法委 未评" in review
        # The walk goes on where it was.
        assert "已记：市委政法委 4" in await chat.say(FIRE, "满分")
