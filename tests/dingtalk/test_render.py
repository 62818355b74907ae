"""The DingTalk renderer's markdown, literally: what a person's client is given to draw."""

from __future__ import annotations

from bot.dingtalk.render import Audience, Part, render
from bot.messages import Card, Markdown, Text

RANKING = Card(
    title="2026年度考核 排名",
    description="暂定排名：尚缺 3 条评分，按 0 分计",
    lines=("1. 市委组织部 4", "1. 市委政法委 4", "3. 市法院 3.5（缺1）"),
)


def test_tied_ranks_stay_as_written_instead_of_a_renumbered_list():
    # Regression: each "1. 市委组织部 4" line went out as its own paragraph, which markdown
    # reads as an ordered list; the list numbers itself, so tied ranks 1, 1, 3 read 1, 2, 3.
    [part] = render(RANKING, Audience.GROUP)

    assert part == Part(
        "markdown",
        "#### **2026年度考核 排名**\n\n"
        "> 暂定排名：尚缺 3 条评分，按 0 分计\n\n"
        "1．市委组织部 4\n\n"
        "1．市委政法委 4\n\n"
        "3．市法院 3.5（缺1）",
        "2026年度考核 排名",
    )


def test_markdown_messages_keep_their_numbers_too():
    [part] = render(Markdown(content="**本周排名**\n1. 城关镇 95.5\n2. 东湖区 93\n2. 西湖区 93"), Audience.WEBHOOK)

    assert part.text == "**本周排名**\n\n1．城关镇 95.5\n\n2．东湖区 93\n\n2．西湖区 93"


def test_only_a_leading_number_and_stop_is_rewritten():
    content = "3.5 分已记录\n第1. 项\n12 全部满分\n  4. 缩进\n2020. 年"

    [part] = render(Markdown(content=content), Audience.MEMBER)

    assert part.text == "3.5 分已记录\n\n第1. 项\n\n12 全部满分\n\n  4．缩进\n\n2020．年"


def test_plain_text_is_sent_as_written():
    [part] = render(Text(content="1. 市委组织部 4\n1. 市委政法委 4"), Audience.MEMBER)

    assert part.text == "1. 市委组织部 4\n1. 市委政法委 4"
