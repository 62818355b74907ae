"""Every command of the scoring conversation, as people type it (or a button sends it)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest

from handlers.commands import (
    Adjust,
    AdjustVerb,
    AllFull,
    Batch,
    BatchLine,
    Chase,
    CloseRound,
    Command,
    DayTime,
    DeadlineLine,
    Detail,
    Export,
    FullMarks,
    Help,
    OpenRound,
    PauseReminders,
    Previous,
    Progress,
    Publish,
    Quit,
    Ranking,
    ReminderPlan,
    ResumeReminders,
    Review,
    Score,
    Skip,
    Snooze,
    Submit,
    Tasks,
    Undo,
    Unlock,
    Walk,
)
from handlers.parse import MAX_MESSAGE_CHARS, BadCommand, parse_command
from scoring_core.errors import DomainError, InputRejected

D = Decimal


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("任务", Tasks()),
        ("任务 第2页", Tasks(2)),
        ("评分 12", Walk("12")),
        ("评分12", Walk("12")),
        ("评分 第34-3.2项", Walk("34-3.2")),
        ("评分 １２", Walk("12")),
        ("核对 12", Review("12")),
        ("核对 4.1 第2页", Review("4.1", 2)),
        ("提交 12", Submit("12")),
        ("撤销", Undo()),
        ("进度", Progress()),
        ("帮助", Help()),
        ("？", Help()),
        ("HELP", Help()),
        ("排名", Ranking()),
        ("排名 2", Ranking(2)),
        ("明细 市教育局", Detail("市教育局")),
        ("明细 教育局 第2页", Detail("教育局", 2)),
        ("满分", FullMarks()),
        ("跳过", Skip()),
        ("上一个", Previous()),
        ("退出", Quit()),
        (" 退出 \n", Quit()),
        # a walk card's buttons name their unit (a tap on an older card is then refused)
        ("满分 @市委组织部", FullMarks(at="市委组织部")),
        ("3.5 @市委组织部", Score(D("3.5"), at="市委组织部")),
        ("3.5 演练未按期 @市委组织部", Score(D("3.5"), "演练未按期", at="市委组织部")),
        ("跳过 ＠市委编办", Skip(at="市委编办")),
        ("上一个 @市法院", Previous(at="市法院")),
        ("3.5 已发邮件@张三", Score(D("3.5"), "已发邮件@张三")),  # an @ inside a reason stays there
        ("4", Score(D(4))),
        ("3.5 演练未按期", Score(D("3.5"), "演练未按期")),
        ("３．５分", Score(D("3.5"))),
        ("3。5", Score(D("3.5"))),
        ("3.5分，演练未按期", Score(D("3.5"), "演练未按期")),
        ("0", Score(D(0))),
        (".5", Score(D("0.5"))),
        ("12 全部满分", AllFull("12")),
        ("全部满分 34-3.2", AllFull("34-3.2")),
        ("教育局 3.5 演练未按期", Batch((BatchLine(1, "教育局", D("3.5"), "演练未按期"),))),
        (
            "教育局 3.5 演练未按期\n市民政局 4",
            Batch((BatchLine(1, "教育局", D("3.5"), "演练未按期"), BatchLine(2, "市民政局", D(4)))),
        ),
        (
            "评分 12\r\n教育局 3.5 演练未按期\r\n\r\n市民政局　４分",
            Batch((BatchLine(2, "教育局", D("3.5"), "演练未按期"), BatchLine(4, "市民政局", D(4))), "12"),
        ),
        ("12\n教育局 3 x", Batch((BatchLine(2, "教育局", D(3), "x"),), "12")),
        ("12 全部满分\n教育局 3 演练未按期", Batch((BatchLine(2, "教育局", D(3), "演练未按期"),), "12", True)),
        ("教育局3.5分演练未按期", Batch((BatchLine(1, "教育局", D("3.5"), "演练未按期"),))),
        (
            "加分 市教育局 B1 2 经验获市委领导批示",
            Adjust(AdjustVerb.BONUS, "市教育局", "B1", D(2), "经验获市委领导批示"),
        ),
        ("扣分 市城管局 D8 重大安全事故", Adjust(AdjustVerb.DEDUCTION, "市城管局", "D8", None, "重大安全事故")),
        ("扣分 市城管局D8 重大安全事故", Adjust(AdjustVerb.DEDUCTION, "市城管局", "D8", None, "重大安全事故")),
        ("扣分 市城管局 d1 1.5分 督促不力", Adjust(AdjustVerb.DEDUCTION, "市城管局", "D1", D("1.5"), "督促不力")),
        (
            "扣分 市房管局 D9 3 王某-案1 班子成员违纪",
            Adjust(AdjustVerb.DEDUCTION, "市房管局", "D9", D(3), "班子成员违纪", "王某-案1"),
        ),
        ("否决 市医保局 V2 发生特大安全事故", Adjust(AdjustVerb.VETO, "市医保局", "V2", None, "发生特大安全事故")),
        ("否决 市医保局 V2 3人死亡", Adjust(AdjustVerb.VETO, "市医保局", "V2", None, "3人死亡")),
        ("开启考核 2020-12-20 18:00", OpenRound(DayTime(12, 20, 2020, time(18, 0)))),
        ("开启考核 截止12月20日", OpenRound(DayTime(12, 20))),
        (
            "开启考核 2020年12月20日 18点\n市消防救援支队 12月15日 17:30\n12 12-18",
            OpenRound(
                DayTime(12, 20, 2020, time(18)),
                (
                    DeadlineLine(2, "市消防救援支队", DayTime(12, 15, None, time(17, 30))),
                    DeadlineLine(3, "12", DayTime(12, 18)),
                ),
            ),
        ),
        ("解锁 市消防救援支队 12", Unlock("市消防救援支队", "12")),
        ("解锁 消防 第12项", Unlock("消防", "12")),
        ("关闭考核", CloseRound()),
        ("发布排名", Publish()),
        ("导出", Export()),
        ("催办", Chase()),
        ("稍后提醒", Snooze()),
        ("提醒计划", ReminderPlan()),
        ("提醒计划 第2页", ReminderPlan(2)),
        ("暂停提醒", PauseReminders()),
        ("恢复提醒", ResumeReminders()),
        ("开启考核 12月20日 提前3天", OpenRound(DayTime(12, 20), before_days=3)),
        ("开启考核 12月20日 18:00 提前 10 个工作日", OpenRound(DayTime(12, 20, None, time(18)), before_days=10)),
        (
            "开启考核 12月20日 提前3天\n12 12-18",
            OpenRound(DayTime(12, 20), (DeadlineLine(2, "12", DayTime(12, 18)),), 3),
        ),
    ],
)
def test_commands(text: str, command: Command) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "消息是空的。可以发：任务、评分 12、核对 12、提交 12、进度、帮助"),
        ("\x00\x07 \u200b", "消息是空的。可以发：任务、评分 12、核对 12、提交 12、进度、帮助"),
        ("你好", "没看懂“你好”。可以发：任务、评分 12、核对 12、提交 12、进度、帮助"),
        ("核对", "缺少评分编号：请写如“核对 12”“核对 4.1”“核对 34-3.2”"),
        ("核对 abc", "“abc”不是评分编号：请写如“核对 12”“核对 4.1”“核对 34-3.2”"),
        ("提交 十二", "“十二”不是评分编号：请写如“提交 12”“提交 4.1”“提交 34-3.2”"),
        ("核对 12 x", "页码“x”不对：请写如“第2页”"),
        ("排名 第0页", "页码“第0页”不对：请写如“第2页”"),
        ("-3", "分数不能是负数：请写 0 到满分之间的数，如 3 或 3.5"),
        ("教育局 -3 理由", "分数不能是负数：请写 0 到满分之间的数，如 3 或 3.5"),
        ("3.555", "分数最多两位小数，“3.555”超过了"),
        ("123456789", "“123456789”不是合理的分数：请写如 3 或 3.5"),
        ("3x", "“3x”不是分数：请先写分数，再空一格写理由，如“3.5 演练未按期”"),
        ("明细", "请写明单位，如“明细 市教育局”"),
        ("解锁 12", "请写明单位或部门和编号，如“解锁 市消防救援支队 12”"),
        ("加分 市教育局 D1 2 理由", "加分用 B 开头的编号，“D1”不是；如“加分 市教育局 B1 2 理由”"),
        ("扣分 市教育局 B1 2 理由", "扣分用 D 开头的编号，“B1”不是；如“扣分 市城管局 D1 1 理由”"),
        ("加分 市教育局", "加分须写明单位和编号（B 开头，如 B1），如“加分 市教育局 B1 2 理由”"),
        ("加分 B1 2 理由", "加分须写明单位，如“加分 市教育局 B1 2 理由”"),
        ("扣分 市房管局 D9 3", "D9须写明案件（人员-案件，如“王某-案1”），再写理由"),
        ("加分 a B1 1 x\n加分 b B1 1 y", "加分、扣分、否决请一条消息写一项"),
        ("开启考核", "请写截止日期，如“开启考核 2020-12-20 18:00”或“12月20日”"),
        ("开启考核 2月30日", "日期“2月30日”不存在"),
        ("开启考核 12月20日 25:00", "截止时间“25:00”不对：小时 0–23，分钟 0–59"),
        ("开启考核 12月20日 傍晚", "截止时间“傍晚”看不懂：请写如“18:00”或“18点”"),
        ("开启考核 12月20日 提前三天", "“提前三天”看不懂：请写如“提前3天”（截止前几个工作日开始每天提醒）"),
        ("x" * (MAX_MESSAGE_CHARS + 1), "消息太长（2001 字，最多 2000 字），请分几次发送"),
        ("教育局 1\n" * 101, "一条消息最多 100 行，这条有 101 行，请分几次发送"),
    ],
)
def test_bad_input_says_what_is_wrong_and_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_command(text)
    assert caught.value.user_message == message


def test_a_bad_batch_line_refuses_the_whole_message_naming_every_bad_line() -> None:
    with pytest.raises(InputRejected) as caught:
        parse_command("教育局 3.5 演练未按期\n帮助\n民政 很好")
    assert caught.value.user_message == (
        "有 2 行看不懂，这条消息的分数都未保存：\n"
        "  第2行：“帮助”缺少分数：请写“单位 分数 理由”，如“教育局 3.5 演练未按期”\n"
        "  第3行：“民政 很好”缺少分数：请写“单位 分数 理由”，如“教育局 3.5 演练未按期”"
    )


def test_bad_open_round_lines_are_all_named() -> None:
    with pytest.raises(InputRejected) as caught:
        parse_command("开启考核 12月20日\n市消防救援支队\n12 13月1日")
    assert caught.value.user_message == (
        "开启考核的截止时间有误，未开启：\n"
        "  第2行：请写“部门或编号 日期”，如“市消防救援支队 12月15日”\n"
        "  第3行：日期“13月1日”不存在"
    )


def test_case_codes_come_from_the_caller() -> None:
    assert parse_command("扣分 市房管局 D5 3 王某 理由", case_codes=frozenset({"D5"})) == Adjust(
        AdjustVerb.DEDUCTION, "市房管局", "D5", D(3), "理由", "王某"
    )


def test_bad_command_is_a_domain_error() -> None:
    assert issubclass(BadCommand, DomainError)
