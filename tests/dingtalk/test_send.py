"""Sending through the DingTalk robot API (emulated): tokens, errors, texts, cards, groups, answers in place."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.dingtalk import DingTalkAdapter
from bot.dingtalk import constants as c
from bot.dingtalk.errors import DingTalkCredentialsError
from bot.dingtalk.render import COMMANDS_PREFIX, GROUP_COMMANDS_PREFIX
from bot.dingtalk.session import encode
from bot.errors import PlatformError, RateLimited
from bot.events import Platform
from bot.messages import Button, Card, File, Image, Markdown, Outbound, Target, Text
from storage.tokens import MemoryTokenStore, SqlTokenStore
from tests.dingtalk.conftest import FakeClock, RecordingSink, dingtalk_settings, ms
from tests.emulators.dingtalk import DingTalkEmulator
from tests.messaging.fakes import send_all

ZHANG = Target.user(Platform.DINGTALK, "ZhangWei")
LEADERS_CHAT = Target.group(Platform.DINGTALK, "cidL3aD3rsGr0upQw8Zx5Tn1Yg==")
BATCH = c.PATH_BATCH_SEND

SCORE_CARD = Card(
    title="第12项 · 城关镇",
    description="社会治安综合治理（满分 5 分）",
    fields=(("已评", "11/58"),),
    lines=("请选择得分，或直接回复分数。",),
    buttons=(
        Button(text="5 分", key="5"),
        Button(text="4 分", key="4"),
        Button(text="3.5 分", key="3.5"),
    ),
)


def to_zhang(message: Text | Markdown | Card | Image | File, **kw: str) -> Outbound:
    return Outbound(target=ZHANG, message=message, **kw)


async def test_text_goes_out_as_a_one_to_one_robot_message(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    result = await adapter.send(to_zhang(Text(content="您好，今天还有 3 个单位待评分。")))

    [sent] = emulator.one_to_one
    assert sent.robot_code == "dingrobotscorebot01"
    assert sent.user_ids == ["ZhangWei"]
    assert sent.msg_key == "sampleText"
    assert sent.param == {"content": "您好，今天还有 3 个单位待评分。"}
    assert result.platform_message_id is not None
    assert emulator.token_calls == 1


async def test_the_token_is_reused_until_near_expiry(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, clock: FakeClock
):
    await adapter.send(to_zhang(Text(content="一")))
    clock.advance(7200 - c.TOKEN_REFRESH_MARGIN_SECONDS - 60)
    await adapter.send(to_zhang(Text(content="二")))
    assert emulator.token_calls == 1

    clock.advance(120)  # inside the refresh margin now
    await adapter.send(to_zhang(Text(content="三")))
    assert emulator.token_calls == 2
    assert len(emulator.one_to_one) == 3


async def test_a_refused_token_is_refreshed_and_the_message_goes_out_once(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    await adapter.send(to_zhang(Text(content="第一条")))
    emulator.expire_tokens()  # DingTalk now answers InvalidAuthentication

    await adapter.send(to_zhang(Text(content="第二条")))

    assert emulator.token_calls == 2
    assert [m.param["content"] for m in emulator.one_to_one] == ["第一条", "第二条"]


async def test_a_token_refused_twice_is_a_transient_error(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    emulator.fail_next(BATCH, status=400, times=2, code="InvalidAuthentication", message="不合法的access_token")

    with pytest.raises(PlatformError) as caught:
        await adapter.send(to_zhang(Text(content="试试")))

    assert caught.value.transient
    assert emulator.one_to_one == []
    assert emulator.token_calls == 2


async def test_concurrent_sends_fetch_one_token(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    await asyncio.gather(*(adapter.send(to_zhang(Text(content=f"第{i}条"))) for i in range(10)))

    assert emulator.token_calls == 1
    assert len(emulator.one_to_one) == 10


async def test_processes_share_the_token_through_the_database(
    engine: AsyncEngine,
    emulator: DingTalkEmulator,
    http: aiohttp.ClientSession,
    clock: FakeClock,
    sink: RecordingSink,
):
    settings = dingtalk_settings(emulator)
    first = DingTalkAdapter(settings, http, SqlTokenStore(engine), sink, clock=clock)
    second = DingTalkAdapter(settings, http, SqlTokenStore(engine), sink, clock=clock)

    await first.send(to_zhang(Text(content="一")))
    await second.send(to_zhang(Text(content="二")))

    assert emulator.token_calls == 1
    assert len(emulator.one_to_one) == 2


async def test_a_wrong_app_secret_is_a_configuration_error_not_retried(
    emulator: DingTalkEmulator, http: aiohttp.ClientSession, clock: FakeClock, sink: RecordingSink
):
    adapter = DingTalkAdapter(
        dingtalk_settings(emulator, dingtalk_app_secret="wrong"), http, MemoryTokenStore(), sink, clock=clock
    )

    with pytest.raises(DingTalkCredentialsError) as caught:
        await adapter.send(to_zhang(Text(content="x")))

    assert not caught.value.transient
    assert "AppSecret" in caught.value.user_message


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "Forbidden.AccessDenied.QpsLimitForApi"), (429, "TooManyRequests")],
)
async def test_a_rate_limit_answer_is_rate_limited_with_retry_after(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, status: int, code: str
):
    emulator.fail_next(BATCH, status=status, code=code, message="调用太频繁")
    message = to_zhang(Text(content="提醒"))

    with pytest.raises(RateLimited) as caught:
        await adapter.send(message)
    assert caught.value.transient
    assert caught.value.retry_after == c.RETRY_AFTER_RATE_LIMIT
    assert caught.value.errcode == code

    await adapter.send(message)  # what the outbox does after retry_after
    assert len(emulator.one_to_one) == 1


async def test_a_flow_controlled_member_is_rate_limited(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    emulator.fail_next(BATCH, processQueryKey="pqk", invalidStaffIdList=[], flowControlledStaffIdList=["ZhangWei"])

    with pytest.raises(RateLimited):
        await adapter.send(to_zhang(Text(content="提醒")))


async def test_an_invalid_member_is_a_permanent_error(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    emulator.fail_next(BATCH, processQueryKey="pqk", invalidStaffIdList=["ZhangWei"], flowControlledStaffIdList=[])

    with pytest.raises(PlatformError) as caught:
        await adapter.send(to_zhang(Text(content="提醒")))

    assert not caught.value.transient
    assert "接收人无效" in caught.value.user_message


async def test_a_server_error_is_transient(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    emulator.fail_next(BATCH, status=503, code="ServiceUnavailable", message="busy")

    with pytest.raises(PlatformError) as caught:
        await adapter.send(to_zhang(Text(content="提醒")))

    assert caught.value.transient
    assert caught.value.retry_after == c.RETRY_AFTER_BUSY


async def test_another_refusal_is_permanent_and_keeps_the_platform_words(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    emulator.fail_next(BATCH, status=400, code="robot.notExist", message="机器人不存在")

    with pytest.raises(PlatformError) as caught:
        await adapter.send(to_zhang(Text(content="提醒")))

    assert not caught.value.transient
    assert (caught.value.errcode, caught.value.errmsg) == ("robot.notExist", "机器人不存在")


async def test_long_text_is_split_between_lines(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    lines = [f"{i:02d}. 单位{i} 得分 {i % 5}.5 分，" + "评" * 40 for i in range(60)]

    await send_all(adapter, to_zhang(Text(content="\n".join(lines))))

    parts = [m.param["content"] for m in emulator.one_to_one]
    assert len(parts) == 3
    assert all(len(p.encode()) <= c.TEXT_MAX_BYTES for p in parts)
    assert "\n".join(parts).split("\n") == lines  # nothing lost, no line cut


async def test_a_card_goes_out_as_an_action_card_with_command_links_and_the_commands_in_the_body(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    await adapter.send(to_zhang(SCORE_CARD))

    [sent] = emulator.one_to_one
    assert sent.msg_key == "sampleActionCard3"
    param = sent.param
    assert param["title"] == "第12项 · 城关镇"
    assert [param[f"actionTitle{i}"] for i in (1, 2, 3)] == ["5 分", "4 分", "3.5 分"]
    urls = [param[f"actionURL{i}"] for i in (1, 2, 3)]
    assert all(u.startswith("dtmd://dingtalkclient/sendMessage?content=") for u in urls)
    assert [unquote(u.split("content=", 1)[1]) for u in urls] == ["5", "4", "3.5"]
    text = param["text"]
    assert "社会治安综合治理" in text
    assert "已评：11/58" in text
    # Every command is tappable in the body too, by the same link as its button.
    assert text.endswith(
        COMMANDS_PREFIX + "[5 分（5）](dtmd://dingtalkclient/sendMessage?content=5)；"
        "[4 分（4）](dtmd://dingtalkclient/sendMessage?content=4)；"
        "[3.5 分（3.5）](dtmd://dingtalkclient/sendMessage?content=3.5)"
    )
    assert all(f"]({u})" in text for u in urls)


async def test_a_one_button_card_uses_the_single_button_action_card(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    card = Card(title="评分完成", lines=("58 个单位已全部评完。",), buttons=(Button(text="提交", key="提交"),))

    await adapter.send(to_zhang(card))

    [sent] = emulator.one_to_one
    assert sent.msg_key == "sampleActionCard"
    assert sent.param["singleTitle"] == "提交"
    assert sent.param["singleURL"].endswith("content=%E6%8F%90%E4%BA%A4")


async def test_buttons_beyond_the_card_limit_stay_reachable_as_commands(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    buttons = tuple(Button(text=f"{p} 分", key=str(p)) for p in (5, 4.5, 4, 3.5, 3, 2, 1, 0))

    await adapter.send(to_zhang(Card(title="第3项", buttons=buttons)))

    [sent] = emulator.one_to_one
    assert sent.msg_key == f"sampleActionCard{c.APP_CARD_MAX_BUTTONS}"
    assert f"actionTitle{c.APP_CARD_MAX_BUTTONS + 1}" not in sent.param
    for b in buttons:
        assert f"{b.text}（{b.key}）" in sent.param["text"]


async def test_a_card_without_buttons_is_markdown(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    await adapter.send(to_zhang(Card(title="本周进度", lines=("已评 40/58",))))

    [sent] = emulator.one_to_one
    assert sent.msg_key == "sampleMarkdown"
    assert sent.param["title"] == "本周进度"
    assert "已评 40/58" in sent.param["text"]


async def test_markdown_gets_a_title_from_its_first_line(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    await adapter.send(to_zhang(Markdown(content="## **本周排名**\n1. 城关镇\n2. 东湖区")))

    [sent] = emulator.one_to_one
    assert sent.msg_key == "sampleMarkdown"
    assert sent.param["title"] == "本周排名"
    assert sent.param["text"] == "## **本周排名**\n\n1．城关镇\n\n2．东湖区"


async def test_a_reply_to_a_group_conversation_goes_to_the_group(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    card = Card(title="本周排名", lines=("1. 城关镇 95.5",), buttons=(Button(text="详情", key="排名 详情"),))

    await adapter.send(Outbound(target=LEADERS_CHAT, message=card))

    assert emulator.one_to_one == []
    [sent] = emulator.group_messages
    assert sent.conversation_id == "cidL3aD3rsGr0upQw8Zx5Tn1Yg=="
    # In a group a link tap would not @ the robot: markdown, and the list says to @ it.
    assert sent.msg_key == "sampleMarkdown"
    assert GROUP_COMMANDS_PREFIX + "详情（排名 详情）" in sent.param["text"]


async def test_an_answer_in_place_goes_to_the_session_webhook(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, clock: FakeClock
):
    token = encode(emulator.session_webhook("s-zhang-1"), ms(clock) + 60_000)

    result = await adapter.send(to_zhang(SCORE_CARD, reply_token=token))

    assert emulator.one_to_one == []
    assert emulator.token_calls == 0  # a session webhook needs no access token
    [post] = emulator.session_posts
    assert post.session == "s-zhang-1"
    assert post.body["msgtype"] == "actionCard"
    card = post.body["actionCard"]
    assert [b["title"] for b in card["btns"]] == ["5 分", "4 分", "3.5 分"]
    assert card["btns"][0]["actionURL"] == "dtmd://dingtalkclient/sendMessage?content=5"
    assert "session webhook" in result.detail


async def test_an_expired_session_webhook_is_skipped_for_the_api(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, clock: FakeClock
):
    token = encode(emulator.session_webhook("s-old"), ms(clock) - 1)

    await adapter.send(to_zhang(Text(content="已记录"), reply_token=token))

    assert emulator.session_posts == []
    assert [m.param["content"] for m in emulator.one_to_one] == ["已记录"]


async def test_a_refused_session_webhook_falls_back_to_the_api(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, clock: FakeClock
):
    emulator.expired_sessions.add("s-gone")
    token = encode(emulator.session_webhook("s-gone"), ms(clock) + 60_000)

    await adapter.send(to_zhang(Text(content="已记录"), reply_token=token))

    assert emulator.session_posts == []
    assert len(emulator.one_to_one) == 1


async def test_a_session_webhook_on_another_host_is_never_posted_to(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, clock: FakeClock
):
    # The same emulator under another host name: reachable, but not SCOREBOT_DINGTALK_OAPI_BASE.
    elsewhere = emulator.session_webhook("s-forged").replace("127.0.0.1", "localhost")
    token = encode(elsewhere, ms(clock) + 60_000)

    await adapter.send(to_zhang(Text(content="已记录"), reply_token=token))

    assert emulator.session_posts == []
    assert [m.param["content"] for m in emulator.one_to_one] == ["已记录"]


async def test_a_damaged_reply_token_is_ignored(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    await adapter.send(to_zhang(Text(content="已记录"), reply_token="rc_from_another_platform"))

    assert len(emulator.one_to_one) == 1


@pytest.mark.parametrize(
    ("msg_key", "param", "says"),
    [
        ("sampleTxt", {"content": "已记录"}, "msgKey 'sampleTxt' 不存在"),
        ("sampleText", ["已记录"], "msgParam 应为 JSON 对象"),
        ("sampleMarkdown", {"text": "已记录"}, "msgParam 有误：缺少 title"),
        (
            "sampleActionCard",
            {
                "title": "评分",
                "text": "x",
                "singleTitle": "提交",
                "singleUrl": "dtmd://dingtalkclient/sendMessage?content=x",
            },
            "msgParam 有误：缺少 singleURL；sampleActionCard 不认识 singleUrl",
        ),
        (
            "sampleActionCard3",
            {
                "title": "评分",
                "text": "x",
                "actionTitle1": "5",
                "actionURL1": "u",
                "actionTitle2": "4",
                "actionURL2": "u",
            },
            "msgParam 有误：缺少 actionTitle3、actionURL3",
        ),
        ("sampleImageMsg", {"photoURL": ""}, "msgParam 有误：photoURL 应为非空字符串"),
        ("sampleFile", {"mediaId": "@lAD", "fileName": "排名.xlsx", "fileType": 1}, "fileType 应为非空字符串"),
    ],
)
async def test_the_emulator_refuses_a_template_dingtalk_would_refuse(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, msg_key: str, param: object, says: str
):
    # So a renderer sending a wrong msgKey or msgParam fails the tests instead of passing them.
    with pytest.raises(PlatformError) as caught:
        await adapter.client.send_to_users(["ZhangWei"], msg_key, param)  # type: ignore[arg-type]

    assert caught.value.errcode == "InvalidParameter"
    assert says in caught.value.errmsg
    assert emulator.one_to_one == []
    assert emulator.refused_messages == [f"{msg_key}: {caught.value.errmsg}"]


async def test_a_message_for_another_platform_is_refused(adapter: DingTalkAdapter):
    with pytest.raises(PlatformError):
        await adapter.send(Outbound(target=Target.user(Platform.WECOM, "ZhangWei"), message=Text(content="x")))
