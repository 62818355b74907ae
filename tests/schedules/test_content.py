"""Texts of scheduled sends, literally: what a scorer and a leader read."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from bot.messages import Button, ButtonStyle
from schedules.content import (
    GROUP_MARKDOWN_LIMIT,
    DepartmentProgress,
    PartCount,
    RankRow,
    RoundInfo,
    card_id,
    digest_markdown,
    fmt_deadline,
    fmt_percent,
    rank_change,
    ranking_markdown,
    reminder_card,
    round_opened_card,
    split_markdown,
)
from schedules.timing import Stage, at_local, deadline_at


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return at_local(date(2020, month, day), time(hour, minute))


DEADLINE = deadline_at(date(2020, 10, 16))  # a Friday, end of day
ROUND = RoundInfo("7", "2020年度平安建设考评", DEADLINE)
LEFT = (PartCount("4.2", "新媒体建设", 12), PartCount("34-3", "", 2))
PROGRESS = DepartmentProgress("市委政法委", DEADLINE, total=34, done=20, left=LEFT)
CONTINUE = Button(text="继续评分", key="任务", style=ButtonStyle.PRIMARY)
SNOOZE = Button(text="稍后提醒", key="稍后提醒")


# --- formatting -------------------------------------------------------------------


def test_deadline_end_of_day_reads_24_00() -> None:
    assert fmt_deadline(DEADLINE) == "10月16日（周五）24:00"
    assert fmt_deadline(t(10, 10, 17)) == "10月10日（周六）17:00"


def test_percent_rounds_down_so_almost_done_is_not_100() -> None:
    assert fmt_percent(999, 1000) == "99%"
    assert fmt_percent(0, 0) == "100%"


def test_card_id_is_platform_safe() -> None:
    key = card_id("7", "open", "市委政法委")
    assert key.startswith("sb-")
    assert len(key) <= 128
    assert key.replace("-", "").replace("_", "").isalnum()
    assert key.isascii()


# --- round opened -----------------------------------------------------------------


def test_round_opened_card() -> None:
    parts = (PartCount("4.2", "新媒体建设", 32), PartCount("34-3", "", 2))
    card = round_opened_card(ROUND, "市委政法委", parts, units=32, deadline=DEADLINE)
    assert card.title == "2020年度平安建设考评：评分开始"
    assert card.description == "请市委政法委于10月16日（周五）24:00前完成评分。"
    assert card.fields == (
        ("评分项目", "2 项"),
        ("被考核单位", "32 个"),
        ("评分任务", "34 条"),
        ("截止时间", "10月16日（周五）24:00"),
    )
    assert card.lines == ("第4.2项 新媒体建设：32 个单位", "第34-3项：2 个单位")
    assert card.buttons == (Button(text="开始评分", key="任务", style=ButtonStyle.PRIMARY),)


# --- reminders --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "at", "title"),
    [
        (Stage.BEFORE, t(10, 12, 9, 30), "评分提醒：距截止还有 4 天"),
        (Stage.LAST_DAY, t(10, 15, 15), "评分明天截止"),
        (Stage.DEADLINE_DAY, t(10, 16, 14), "评分今天24:00截止"),
        (Stage.OVERDUE, t(10, 19, 9, 30), "评分已逾期 3 天"),
    ],
)
def test_reminder_title_follows_the_stage(stage: Stage, at: datetime, title: str) -> None:
    assert reminder_card(ROUND, PROGRESS, stage, at).title == title


def test_last_day_reminder_names_the_day_when_a_weekend_is_between() -> None:
    monday = deadline_at(date(2020, 10, 19))
    progress = DepartmentProgress("市委政法委", monday, 34, 20, LEFT)
    assert reminder_card(ROUND, progress, Stage.LAST_DAY, t(10, 16, 15)).title == "评分10月19日（周一）截止"


def test_reminder_lists_exactly_what_is_left() -> None:
    card = reminder_card(ROUND, PROGRESS, Stage.DEADLINE_DAY, t(10, 16, 9, 30))
    assert card.description == ("市委政法委：截至10月16日 09:30尚有 14 条评分未完成，请在10月16日（周五）24:00前完成。")
    assert card.fields == (("考评", "2020年度平安建设考评"), ("已完成", "20/34（58%）"))
    assert card.lines == ("第4.2项 新媒体建设：还差 12 个单位", "第34-3项：还差 2 个单位")
    assert card.buttons == (CONTINUE, SNOOZE)


def test_overdue_reminder_to_the_head() -> None:
    card = reminder_card(ROUND, PROGRESS, Stage.OVERDUE, t(10, 19, 9, 30), to_head=True)
    assert card.description == (
        "市委政法委负责人：截止时间10月16日（周五）24:00已过，截至10月19日 09:30尚有 14 条评分未完成，请尽快补评。"
    )
    assert card.lines[-1] == "本部门评分已逾期，此提醒同时发给部门负责人。"


def test_two_reminders_on_one_day_differ_even_with_nothing_scored() -> None:
    # DingTalk delivers identical content to a person once a day only.
    morning = reminder_card(ROUND, PROGRESS, Stage.DEADLINE_DAY, t(10, 16, 9, 30))
    afternoon = reminder_card(ROUND, PROGRESS, Stage.DEADLINE_DAY, t(10, 16, 14))
    assert morning.description != afternoon.description
    assert morning.card_id != afternoon.card_id


def test_joint_parts_say_the_task_total_too() -> None:
    progress = DepartmentProgress("市委政法委", DEADLINE, 10, 4, (PartCount("9", "联合评分", 3),))
    card = reminder_card(ROUND, progress, Stage.BEFORE, t(10, 12, 9, 30))
    assert card.lines == ("第9项 联合评分：还差 3 个单位", "合计 6 条")


# --- digest -----------------------------------------------------------------------

TOP = (
    RankRow(1, "东湖区", Decimal("95.5")),
    RankRow(2, "西湖区", Decimal("93")),
    RankRow(2, "市法院", Decimal("93")),
    RankRow(4, "市检察院", Decimal("90.25")),
    RankRow(5, "市财政局", Decimal("89")),
    RankRow(6, "市编办", Decimal("88")),
)


def test_digest_below_80_percent_names_late_and_open_departments_without_a_ranking() -> None:
    progress = [
        DepartmentProgress("市委政法委", DEADLINE, 34, 20),
        DepartmentProgress("市公安局", DEADLINE, 40, 40),
        DepartmentProgress("市司法局", deadline_at(date(2020, 10, 12)), 10, 2),
        DepartmentProgress("市委组织部", DEADLINE, 16, 15),
    ]
    (page,) = digest_markdown(ROUND, progress, t(10, 13, 17, 30), TOP)
    assert page.content == "\n".join(
        [
            "### 2020年度平安建设考评：评分进度",
            "10月13日 17:30 · 截止10月16日（周五）24:00",
            "总体完成 **77%**（77/100 条），已完成部门 1/4 个",
            "",
            "**已逾期未完成（1 个部门）**",
            "- 市司法局 20%（还差 8 条）",
            "",
            "**进行中（2 个部门）**",
            "- 市委政法委 58%（还差 14 条）",
            "- 市委组织部 93%（还差 1 条）",
        ]
    )


def test_digest_from_80_percent_shows_the_provisional_top_5() -> None:
    progress = [DepartmentProgress("市委政法委", DEADLINE, 34, 30), DepartmentProgress("市公安局", DEADLINE, 40, 40)]
    (page,) = digest_markdown(ROUND, progress, t(10, 13, 17, 30), TOP)
    assert page.content.endswith(
        "\n".join(
            [
                "**暂定前五名**（评分未齐，仅供参考）",
                "1. 东湖区 95.5",
                "2. 西湖区 93",
                "2. 市法院 93",
                "4. 市检察院 90.25",
                "5. 市财政局 89",
            ]
        )
    )


def test_digest_of_a_complete_round_says_top_5_plainly() -> None:
    progress = [DepartmentProgress("市公安局", DEADLINE, 40, 40)]
    (page,) = digest_markdown(ROUND, progress, t(10, 13, 17, 30), TOP)
    assert "\n**前五名**\n" in page.content
    assert "进行中" not in page.content


def test_digest_of_500_departments_is_split_within_the_robot_limit() -> None:
    progress = [DepartmentProgress(f"测试部门{i:03d}", DEADLINE, 20, i % 20 or 20) for i in range(500)]
    pages = digest_markdown(ROUND, progress, t(10, 13, 17, 30))
    assert len(pages) > 1
    for i, page in enumerate(pages, start=1):
        assert len(page.content.encode("utf-8")) <= GROUP_MARKDOWN_LIMIT
        assert page.content.startswith("### 2020年度平安建设考评：评分进度\n")
        assert page.content.endswith(f"（{i}/{len(pages)}）")
    listed = [line for p in pages for line in p.content.split("\n") if line.startswith("- 测试部门")]
    assert len(listed) == 475  # every unfinished department, each on one whole line


# --- ranking push -----------------------------------------------------------------


def test_rank_change_arrows() -> None:
    previous = {"东湖区": 3, "西湖区": 1, "市法院": 2}
    assert rank_change("东湖区", 1, previous) == " ↑2"
    assert rank_change("西湖区", 2, previous) == " ↓1"
    assert rank_change("市法院", 2, previous) == " 持平"
    assert rank_change("市编办", 4, previous) == " 新增"
    assert rank_change("东湖区", 1, None) == ""


def test_ranking_push_top_10_bottom_5_vetoed_and_changes() -> None:
    rows = [RankRow(i, f"单位{i:02d}", Decimal(100 - i)) for i in range(1, 18)]
    rows.append(RankRow(18, "市国安局", Decimal("80.5"), vetoed=True, veto_reasons=("否决1 发生重大案件",)))
    previous = {f"单位{i:02d}": i for i in range(1, 18)} | {"单位01": 2, "单位02": 1, "单位17": 15}
    (page,) = ranking_markdown(
        ROUND, rows, t(10, 20, 10), final=True, previous=previous, since="10月19日 17:30进度日报"
    )
    assert page.content == "\n".join(
        [
            "### 2020年度平安建设考评：最终排名",
            "10月20日 10:00发布 · 共 18 个单位 · 首次发布 · 名次对比10月19日 17:30进度日报",
            "",
            "**前10名**",
            "1. 单位01 99分 ↑1",
            "2. 单位02 98分 ↓1",
            *(f"{i}. 单位{i:02d} {100 - i}分 持平" for i in range(3, 11)),
            "",
            "**后5名**",
            *(f"{i}. 单位{i:02d} {100 - i}分 持平" for i in range(13, 17)),
            "17. 单位17 83分 ↓2",
            "",
            "**一票否决（1 个单位）**",
            "- 市国安局（第18名）：否决1 发生重大案件",
        ]
    )


def test_a_round_published_incomplete_says_so_with_the_count_of_scores_missing() -> None:
    # Regression: the group read 暂定排名 "仅供参考" while the leaders' message said 排名已发布.
    rows = [RankRow(1, "东湖区", Decimal("95.5")), RankRow(2, "西湖区", Decimal("93"))]
    (page,) = ranking_markdown(ROUND, rows, t(10, 14, 10), final=False, missing=3)
    assert page.content == "\n".join(
        [
            "### 2020年度平安建设考评：排名已发布",
            "10月14日 10:00发布 · 共 2 个单位 · 首次发布",
            "",
            "**前2名**",
            "1. 东湖区 95.5分",
            "2. 西湖区 93分",
            "",
            "> 发布时尚缺 3 条评分，按 0 分计。",
        ]
    )


def test_a_corrected_publication_is_numbered_and_compared_with_the_previous_one() -> None:
    rows = [RankRow(1, "西湖区", Decimal("95.5")), RankRow(2, "东湖区", Decimal("93"))]
    previous = {"东湖区": 1, "西湖区": 2}
    (page,) = ranking_markdown(
        ROUND, rows, t(10, 21, 9), final=True, previous=previous, since="10月20日 10:00发布的排名", edition=2
    )
    assert page.content.splitlines()[:6] == [
        "### 2020年度平安建设考评：最终排名",
        "10月21日 09:00发布 · 共 2 个单位 · 第2次发布（更正） · 名次对比10月20日 10:00发布的排名",
        "",
        "**前2名**",
        "1. 西湖区 95.5分 ↑1",
        "2. 东湖区 93分 ↓1",
    ]


def test_many_vetoes_split_between_lines() -> None:
    reason = "否决1 " + "发生重大案件造成严重社会影响" * 4
    rows = [RankRow(i, f"单位{i:03d}", Decimal(50), vetoed=True, veto_reasons=(reason,)) for i in range(1, 201)]
    pages = ranking_markdown(ROUND, rows, t(10, 20, 10), final=True)
    assert len(pages) > 1
    whole = [line for p in pages for line in p.content.split("\n") if line.startswith("- 单位")]
    assert whole == [f"- 单位{i:03d}（第{i}名）：{reason}" for i in range(1, 201)]
    assert all(len(p.content.encode("utf-8")) <= GROUP_MARKDOWN_LIMIT for p in pages)


# --- splitting --------------------------------------------------------------------


def test_short_text_is_one_page_unchanged() -> None:
    assert split_markdown("### 标题\n一行", 4096) == ("### 标题\n一行",)


def test_split_pages_break_between_lines_and_repeat_the_heading() -> None:
    text = "\n".join(["### 标题", *(f"第{i}行" + "字" * 20 for i in range(40))])
    pages = split_markdown(text, 300)
    assert all(len(p.encode("utf-8")) <= 300 for p in pages)
    body = [line for p in pages for line in p.split("\n")[1:-1]]
    assert body == text.split("\n")[1:]
    assert all(p.startswith("### 标题\n") for p in pages)


def test_an_overlong_line_is_shortened_not_cut_in_two() -> None:
    (page,) = split_markdown("### 标题\n" + "长" * 200, 200)
    heading, line = page.split("\n")
    assert heading == "### 标题"
    assert line.endswith("长…")
    assert len(page.encode("utf-8")) <= 200
