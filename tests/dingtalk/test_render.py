"""The DingTalk renderer's markdown, literally: what a person's client is given to draw."""

from __future__ import annotations

import pytest

from bot.dingtalk.render import Audience, Part, app_message, render, webhook_message
from bot.messages import Button, ButtonStyle, Card, Markdown, Text
from tests.emulators.dingtalk import msg_param_problem

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


WALK_CARD = Card(
    title="第12项 · 消防工作",
    lines=("市委组织部：未评",),
    buttons=(
        Button(text="满分 2", key="满分", style=ButtonStyle.PRIMARY),
        Button(text="1.5", key="1.5"),
        Button(text="跳过", key="跳过"),
        Button(text="下一页", key="排名 第2页"),
        Button(text="[旧] 说明", key="说明 [旧]"),
        Button(text="退出", key="退出"),
    ),
)
WALK_BODY_COMMANDS = (
    "可直接回复："
    "[满分 2（满分）](dtmd://dingtalkclient/sendMessage?content=%E6%BB%A1%E5%88%86)；"
    "[1.5（1.5）](dtmd://dingtalkclient/sendMessage?content=1.5)；"
    "[跳过（跳过）](dtmd://dingtalkclient/sendMessage?content=%E8%B7%B3%E8%BF%87)；"
    "[下一页（排名 第2页）](dtmd://dingtalkclient/sendMessage?content=%E6%8E%92%E5%90%8D%20%E7%AC%AC2%E9%A1%B5)；"
    "[［旧］ 说明（说明 ［旧］）](dtmd://dingtalkclient/sendMessage?content=%E8%AF%B4%E6%98%8E%20%5B%E6%97%A7%5D)；"
    "[退出（退出）](dtmd://dingtalkclient/sendMessage?content=%E9%80%80%E5%87%BA)"
)


def test_every_command_in_a_members_card_body_is_a_link_sending_it():
    # Where a client's action card buttons do not follow dtmd links, the body's do; the
    # shown text keeps the command, so it can still be typed where neither works.
    [part] = render(WALK_CARD, Audience.MEMBER)

    assert part.text == "#### **第12项 · 消防工作**\n\n市委组织部：未评\n\n" + WALK_BODY_COMMANDS
    msg_key, param = app_message(part)
    assert msg_key == "sampleActionCard5"
    # The buttons carry the same links, encoded alike.
    assert [param[f"actionURL{i}"] for i in range(1, 6)] == [
        "dtmd://dingtalkclient/sendMessage?content=%E6%BB%A1%E5%88%86",
        "dtmd://dingtalkclient/sendMessage?content=1.5",
        "dtmd://dingtalkclient/sendMessage?content=%E8%B7%B3%E8%BF%87",
        "dtmd://dingtalkclient/sendMessage?content=%E6%8E%92%E5%90%8D%20%E7%AC%AC2%E9%A1%B5",
        "dtmd://dingtalkclient/sendMessage?content=%E8%AF%B4%E6%98%8E%20%5B%E6%97%A7%5D",
    ]
    assert [param[f"actionURL{i}"] in part.text for i in range(1, 6)] == [True] * 5


def test_a_group_card_lists_plain_commands_to_say_with_an_at():
    # A tap in a group would send the text without @-ing the robot, which never hears it.
    [part] = render(WALK_CARD, Audience.GROUP)

    assert part.text.endswith(
        "\n\n可 @我 并回复：满分 2（满分）；1.5（1.5）；跳过（跳过）；下一页（排名 第2页）；[旧] 说明（说明 [旧]）；退出（退出）"
    )
    assert "dtmd://" not in part.text
    assert part.kind == "markdown"


def test_a_custom_robot_card_lists_no_commands():
    [part] = render(WALK_CARD, Audience.WEBHOOK)

    assert webhook_message(part) == {
        "msgtype": "markdown",
        "markdown": {"title": "第12项 · 消防工作", "text": "#### **第12项 · 消防工作**\n\n市委组织部：未评"},
    }


@pytest.mark.parametrize("buttons", range(7))
@pytest.mark.parametrize("audience", [Audience.MEMBER, Audience.GROUP])
def test_every_card_is_a_template_dingtalk_takes(buttons: int, audience: Audience):
    card = Card(
        title="第3项",
        lines=("市法院：未评",),
        buttons=tuple(Button(text=f"{i} 分", key=str(i)) for i in range(buttons)),
    )

    for part in render(card, audience):
        assert msg_param_problem(*app_message(part)) is None
