"""Pure rendering: line splitting, card limits, rate shapes."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from bot.events import Platform
from bot.messages import Button, Card, Option, Outbound, Target, Text
from bot.wecom import WeComAdapter, cards
from bot.wecom import constants as c
from bot.wecom.render import MORE_COMMANDS_PREFIX, card_markdown, render_card, split_lines, task_id_for


def test_split_keeps_short_text_whole():
    assert split_lines("一\n二", 2048) == ["一\n二"]


def test_split_breaks_only_between_lines():
    lines = ["甲" * 10, "乙" * 10, "丙" * 10]  # 30 bytes each
    assert split_lines("\n".join(lines), 64) == ["甲" * 10 + "\n" + "乙" * 10, "丙" * 10]


def test_a_single_line_over_the_limit_is_cut_at_character_boundaries():
    parts = split_lines("评" * 100, 64)  # 300 bytes, no line break to use

    assert all(len(p.encode()) <= 64 for p in parts)
    assert "".join(parts) == "评" * 100


def test_display_text_is_shortened_not_refused():
    title = cards.MainTitle(title="某某县某某镇社会治安综合治理中心规范化建设专项考评结果通知")

    assert len(title.title) == c.CARD_TITLE_MAX_CHARS
    assert title.title.endswith("…")


def test_more_than_six_rows_is_refused_by_the_model():
    rows = [cards.HorizontalContent(keyname=f"k{i}", value="v") for i in range(7)]

    with pytest.raises(ValidationError):
        cards.TextNoticeCard(
            main_title=cards.MainTitle(title="t"),
            horizontal_content_list=rows,
            card_action=cards.CardAction(url="https://example.invalid/"),
        )


def test_more_than_six_buttons_is_refused_by_the_model():
    buttons = [cards.Button(text=str(i), key=f"k{i}") for i in range(7)]

    with pytest.raises(ValidationError):
        cards.ButtonInteractionCard(main_title=cards.MainTitle(title="t"), task_id="t1", button_list=buttons)


@pytest.mark.parametrize("task_id", ["has space", "中文", "a" * 129, "semi;colon", ""])
def test_bad_task_ids_are_refused(task_id: str):
    with pytest.raises(ValidationError):
        cards.ButtonInteractionCard(
            main_title=cards.MainTitle(title="t"),
            task_id=task_id,
            button_list=[cards.Button(text="ok", key="ok")],
        )


def test_a_key_over_1024_bytes_is_refused():
    with pytest.raises(ValidationError):
        cards.Button(text="x", key="键" * 342)  # 1026 bytes


def test_task_ids_are_fresh_per_send_and_valid():
    # Regression: the walk sent card id "walk:12" many times under one task_id.
    first, second = task_id_for("walk-2026_U01@x"), task_id_for("walk-2026_U01@x")
    assert first != second
    assert (first[:16], len(first)) == ("walk-2026_U01@x-", 16 + 32)
    for task_id in (task_id_for("走查 城关镇"), task_id_for("walk:12"), task_id_for("x" * 200), task_id_for(None)):
        assert set(task_id) <= c.CARD_TASK_ID_ALPHABET
        assert len(task_id.encode("utf-8")) <= c.CARD_TASK_ID_MAX_BYTES
    assert task_id_for("walk:12")[:33] == task_id_for("walk:12")[:33]  # the digest part is stable


def test_vote_and_multiple_cards_enforce_their_counts():
    options = [cards.CheckboxOption(id=f"o{i}", text=str(i)) for i in range(21)]
    with pytest.raises(ValidationError):
        cards.Checkbox(question_key="q", option_list=options)
    select = cards.SelectionItem(question_key="q", option_list=[cards.SelectOption(id="a", text="A")])
    with pytest.raises(ValidationError):
        cards.MultipleInteractionCard(
            main_title=cards.MainTitle(title="t"),
            task_id="t",
            select_list=[select] * 4,
            submit_button=cards.SubmitButton(text="提交", key="submit"),
        )


def test_more_than_six_buttons_keep_five_and_list_the_rest_as_commands():
    buttons = tuple(Button(text=f"{i}分", key=f"score:U1:{i}") for i in range(8))
    card = Card(title="打分", lines=("请选择",), buttons=buttons)

    rendered = render_card(card, card_url=None)

    assert isinstance(rendered, cards.ButtonInteractionCard)
    assert [b.key for b in rendered.button_list] == [f"score:U1:{i}" for i in range(5)]
    assert rendered.sub_title_text is not None
    assert MORE_COMMANDS_PREFIX in rendered.sub_title_text
    for i in (5, 6, 7):
        assert f"score:U1:{i}" in rendered.sub_title_text


def test_a_review_page_is_not_cut_short_on_wecom():
    # Regression: a card's body over sub_title_text's ~112 characters was cut
    # with "…", so a scorer's review page lost its last units and its page line.
    lines = (*(f"{i}. 市委组织部 4" for i in range(1, 13)), "第1/3页")
    card = Card(title="核对 第12项", lines=lines, buttons=(Button(text="下一页", key="核对 12 第2页"),))

    assert render_card(card, card_url=None) is None  # markdown, every line

    markdown = card_markdown(card, with_commands=True)
    assert all(line in markdown for line in lines)
    assert markdown.endswith("下一页（核对 12 第2页）")


def test_a_title_too_long_for_a_template_card_goes_whole_as_markdown():
    # Regression: the round-opened notice's title was cut to 26 characters with "…".
    title = "2020年度市综治责任单位平安建设（综治工作）考核：评分开始"
    card = Card(title=title, lines=("请于12月20日前完成评分。",), buttons=(Button(text="开始评分", key="任务"),))
    assert render_card(card, card_url=None) is None
    assert card_markdown(card, with_commands=True).splitlines()[0] == f"**{title}**"


def test_a_long_description_moves_into_the_body_instead_of_being_cut():
    wording = "考核" + "落实情况" * 10  # 42 characters: main_title.desc shows about 30
    card = Card(title="第5项", description=wording, buttons=(Button(text="满分", key="满分"),))

    rendered = render_card(card, card_url=None)

    assert rendered is not None
    assert rendered.main_title.desc is None
    assert rendered.sub_title_text == wording


def test_a_row_whose_value_would_be_cut_becomes_a_body_line():
    note = "3（" + "演练未按期" * 6 + "）"
    card = Card(
        title="第12项", fields=(("单位", "市委组织部"), ("当前", note)), buttons=(Button(text="满分", key="满分"),)
    )

    rendered = render_card(card, card_url=None)

    assert rendered is not None
    assert [r.value for r in rendered.horizontal_content_list] == ["市委组织部"]
    assert rendered.sub_title_text == f"当前：{note}"


def test_fields_beyond_six_rows_become_body_lines():
    card = Card(
        title="汇总",
        fields=tuple((f"项{i}", str(i)) for i in range(8)),
        buttons=(Button(text="确认", key="ok"),),
    )

    rendered = render_card(card, card_url=None)

    assert rendered is not None
    assert len(rendered.horizontal_content_list) == 6
    assert rendered.sub_title_text == "项6：6\n项7：7"


# --- rate shapes ------------------------------------------------------------------


def _max_in_window(rate, window: float) -> float:
    # RateLimit: no `period` window holds more than `per_period` sends.
    return rate.per_period * math.ceil(window / rate.period)


def test_member_bucket_honours_both_wecom_limits():
    assert _max_in_window(c.MEMBER_RATE, 60) <= c.MEMBER_LIMIT_PER_MINUTE
    assert _max_in_window(c.MEMBER_RATE, 3600) <= c.MEMBER_LIMIT_PER_HOUR


def test_robot_bucket_honours_the_robot_limit():
    assert _max_in_window(c.ROBOT_RATE, 60) <= c.ROBOT_LIMIT_PER_MINUTE


def test_rate_keys_per_member_and_per_webhook(adapter: WeComAdapter):
    user = Outbound(target=Target.user(Platform.WECOM, "ZhangWei"), message=Text(content="x"))
    group = Outbound(target=Target.group(Platform.WECOM, "leaders"), message=Text(content="x"))
    update = Outbound(target=Target.user(Platform.WECOM, "ZhangWei"), message=Card(title="t"), reply_token="rc")

    assert adapter.rate_key(user) == ("wecom:user:ZhangWei", c.MEMBER_RATE)
    name, shape = adapter.rate_key(group) or ("", None)
    assert name.startswith("wecom:robot:")
    assert shape == c.ROBOT_RATE
    assert "SEKRIT" not in name  # named by a digest, not the key itself
    assert adapter.rate_key(update) is None


def _candidates(n: int) -> Card:
    return Card(
        title="“市委”是哪个单位？",
        options=tuple(Option(id=f"市委单位{i}", text=f"市委单位{i}") for i in range(n)),
        buttons=(Button(text="取消", key="取消"),),
    )


def test_a_short_pick_one_list_is_buttons_one_tap_each():
    card = render_card(_candidates(5), card_url=None)

    assert isinstance(card, cards.ButtonInteractionCard)
    assert [(b.text, b.key) for b in card.button_list] == [
        *((f"市委单位{i}", f"市委单位{i}") for i in range(5)),
        ("取消", "取消"),
    ]


def test_a_longer_pick_one_list_is_a_vote_card_with_the_rest_listed():
    card = render_card(_candidates(22), card_url=None)

    assert isinstance(card, cards.VoteInteractionCard)
    payload = card.payload()
    assert payload["card_type"] == "vote_interaction"
    assert payload["checkbox"]["mode"] == 0  # pick one
    assert payload["checkbox"]["question_key"] == c.CHOICE_QUESTION_KEY
    assert [o["id"] for o in payload["checkbox"]["option_list"]] == [f"市委单位{i}" for i in range(20)]
    assert payload["submit_button"] == {"text": "确定", "key": c.CHOICE_SUBMIT_KEY}
    assert (
        payload["sub_title_text"]
        == MORE_COMMANDS_PREFIX + "市委单位20（市委单位20）；市委单位21（市委单位21）；取消（取消）"
    )
