"""Sending through the WeCom API (emulated): tokens, errors, texts, cards, media."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.errors import PlatformError, RateLimited
from bot.events import Platform
from bot.messages import Button, ButtonStyle, Card, File, Image, Markdown, Outbound, Target, Text
from bot.settings import Settings
from bot.wecom import WeComAdapter
from bot.wecom import constants as c
from bot.wecom.client import WeComClient
from bot.wecom.config import WeComConfig
from bot.wecom.errors import MessageTooLarge, WeComCredentialsError
from storage.tokens import MemoryTokenStore, SqlTokenStore
from tests.emulators.wecom import WeComEmulator
from tests.messaging.fakes import send_all
from tests.wecom.conftest import FakeClock

ZHANG = Target.user(Platform.WECOM, "ZhangWei")


def to_zhang(message: Text | Markdown | Card | Image | File, **kw: str) -> Outbound:
    return Outbound(target=ZHANG, message=message, **kw)


async def test_text_goes_out_and_only_a_resend_asks_for_the_duplicate_check(
    adapter: WeComAdapter, emulator: WeComEmulator
):
    # Regression: the check was on for every send, so WeCom would swallow a second,
    # equal answer inside 30 minutes (两次“帮助”只收到一次).
    result = await adapter.send(to_zhang(Text(content="您好，今天还有 3 个单位待评分。")))
    await adapter.send(to_zhang(Text(content="您好，今天还有 3 个单位待评分。")))
    await adapter.send(to_zhang(Text(content="您好，今天还有 3 个单位待评分。")), resend=True)

    first, second = emulator.messages
    assert (
        first
        == second
        == {
            "touser": "ZhangWei",
            "msgtype": "text",
            "agentid": 1000002,
            "text": {"content": "您好，今天还有 3 个单位待评分。"},
        }
    )
    # A resend (it may have arrived before a crash) asks WeCom to drop it if it did.
    [(why, resent)] = emulator.dropped
    assert (why, resent["enable_duplicate_check"], resent["duplicate_check_interval"]) == (
        "duplicate",
        1,
        c.DUPLICATE_CHECK_INTERVAL_SECONDS,
    )
    assert result.platform_message_id is not None
    assert emulator.gettoken_calls == 1


async def test_the_token_is_reused_until_near_expiry(adapter: WeComAdapter, emulator: WeComEmulator, clock: FakeClock):
    await adapter.send(to_zhang(Text(content="一")))
    clock.advance(7200 - c.TOKEN_REFRESH_MARGIN_SECONDS - 60)
    await adapter.send(to_zhang(Text(content="二")))
    assert emulator.gettoken_calls == 1

    clock.advance(120)  # inside the refresh margin now
    await adapter.send(to_zhang(Text(content="三")))
    assert emulator.gettoken_calls == 2
    assert len(emulator.messages) == 3


async def test_an_expired_token_is_refreshed_and_the_message_goes_out_once(
    adapter: WeComAdapter, emulator: WeComEmulator
):
    await adapter.send(to_zhang(Text(content="第一条")))
    emulator.expire_tokens()  # WeCom now answers 42001

    await adapter.send(to_zhang(Text(content="第二条")))

    assert emulator.gettoken_calls == 2
    assert [m["text"]["content"] for m in emulator.messages] == ["第一条", "第二条"]


async def test_an_invalid_token_is_refreshed_too(adapter: WeComAdapter, emulator: WeComEmulator):
    await adapter.send(to_zhang(Text(content="第一条")))
    emulator.invalidate_tokens()  # 40014

    await adapter.send(to_zhang(Text(content="第二条")))

    assert emulator.gettoken_calls == 2
    assert len(emulator.messages) == 2


async def test_a_token_refused_twice_is_a_transient_error(adapter: WeComAdapter, emulator: WeComEmulator):
    emulator.fail_next("/cgi-bin/message/send", 42001, times=2)

    with pytest.raises(PlatformError) as caught:
        await adapter.send(to_zhang(Text(content="试试")))

    assert caught.value.transient
    assert emulator.messages == []


async def test_concurrent_sends_fetch_one_token(adapter: WeComAdapter, emulator: WeComEmulator):
    await asyncio.gather(*(adapter.send(to_zhang(Text(content=f"第{i}条"))) for i in range(10)))

    assert emulator.gettoken_calls == 1
    assert len(emulator.messages) == 10


@pytest.mark.parametrize(
    ("errcode", "retry_after"),
    [(45009, c.RETRY_AFTER_RATE_LIMIT), (45033, c.RETRY_AFTER_CONCURRENCY)],
)
async def test_a_rate_limit_answer_is_a_transient_error_with_retry_after(
    adapter: WeComAdapter, emulator: WeComEmulator, errcode: int, retry_after: float
):
    emulator.fail_next("/cgi-bin/message/send", errcode)
    message = to_zhang(Text(content="提醒"))

    with pytest.raises(RateLimited) as caught:
        await adapter.send(message)
    assert caught.value.transient
    assert caught.value.retry_after == retry_after
    assert caught.value.errcode == errcode

    await adapter.send(message)  # what the outbox does after retry_after
    assert len(emulator.messages) == 1


async def test_system_busy_is_transient(adapter: WeComAdapter, emulator: WeComEmulator):
    emulator.fail_next("/cgi-bin/message/send", -1)

    with pytest.raises(PlatformError) as caught:
        await adapter.send(to_zhang(Text(content="提醒")))

    assert caught.value.transient
    assert caught.value.retry_after == c.RETRY_AFTER_BUSY


async def test_a_bad_secret_is_a_config_error_not_retried(
    settings: Settings,
    http: aiohttp.ClientSession,
    sink,
    clock: FakeClock,
    emulator: WeComEmulator,
):
    wrong = settings.model_copy(update={"wecom_secret": settings.wecom_secret.__class__("wrong")})
    adapter = WeComAdapter(wrong, http, MemoryTokenStore(), sink, clock=clock)

    with pytest.raises(WeComCredentialsError) as caught:
        await adapter.send(to_zhang(Text(content="提醒")))

    assert not caught.value.transient
    assert caught.value.errcode == 40001
    assert "配置" in caught.value.user_message


async def test_other_errors_carry_errcode_and_errmsg(
    adapter: WeComAdapter, emulator: WeComEmulator, caplog: pytest.LogCaptureFixture
):
    emulator.fail_next("/cgi-bin/message/send", 81013)

    with pytest.raises(PlatformError) as caught:
        await adapter.send(to_zhang(Text(content="提醒")))

    assert not caught.value.transient
    assert caught.value.errcode == 81013
    assert "81013" in caught.value.errmsg
    assert "可见范围" in caught.value.user_message
    assert "errcode=81013" in caplog.text


async def test_a_token_cached_in_the_database_is_reused_by_a_second_client(
    engine: AsyncEngine,
    settings: Settings,
    http: aiohttp.ClientSession,
    emulator: WeComEmulator,
    clock: FakeClock,
):
    config = WeComConfig.from_settings(settings)
    first = WeComClient(config, http, SqlTokenStore(engine), clock=clock)
    second = WeComClient(config, http, SqlTokenStore(engine), clock=clock)  # "another process"

    assert await first.access_token() == await second.access_token()
    assert emulator.gettoken_calls == 1


async def test_a_token_refreshed_by_one_process_is_picked_up_by_another(
    engine: AsyncEngine,
    settings: Settings,
    http: aiohttp.ClientSession,
    emulator: WeComEmulator,
    clock: FakeClock,
):
    config = WeComConfig.from_settings(settings)
    first = WeComClient(config, http, SqlTokenStore(engine), clock=clock)
    second = WeComClient(config, http, SqlTokenStore(engine), clock=clock)
    old = await first.access_token()
    assert await second.access_token() == old

    fresh = await first.access_token(refused=old)  # WeCom refused it to the first
    assert await second.access_token(refused=old) == fresh  # no second fetch
    assert emulator.gettoken_calls == 2


# --- long text -----------------------------------------------------------------


async def test_long_text_is_split_at_line_boundaries(adapter: WeComAdapter, emulator: WeComEmulator):
    lines = [f"{i:02d}. 某某镇综治中心 规范化建设 得分 {i}.5 分，扣分原因：台账不全" for i in range(60)]
    text = "\n".join(lines)
    assert len(text.encode()) > c.TEXT_MAX_BYTES

    outbound = to_zhang(Text(content=text))
    results = await send_all(adapter, outbound)

    parts = [m["text"]["content"] for m in emulator.messages]
    assert (len(parts), adapter.posts(outbound), len(results)) == (3, 3, 3)
    assert all(len(p.encode()) <= c.TEXT_MAX_BYTES for p in parts)
    assert "\n".join(parts) == text  # nothing lost, no line cut
    assert all(line in lines for p in parts for line in p.split("\n"))


async def test_long_markdown_is_split_too(adapter: WeComAdapter, emulator: WeComEmulator):
    text = "\n".join(f'- **单位{i}**：<font color="info">{i}.0</font>' for i in range(100))

    await send_all(adapter, to_zhang(Markdown(content=text)))

    parts = [m["markdown"]["content"] for m in emulator.messages]
    assert len(parts) == 3
    assert all(len(p.encode()) <= c.MARKDOWN_MAX_BYTES for p in parts)
    assert "\n".join(parts) == text


# --- cards ---------------------------------------------------------------------

SCORE_CARD = Card(
    title="城关镇 · 平安建设考评",
    description="请为该单位打分",
    fields=(("考核项", "矛盾纠纷排查化解"), ("满分", "5 分")),
    lines=("依据：台账、走访记录。",),
    buttons=(
        Button(text="5", key="score:U017:5", style=ButtonStyle.PRIMARY),
        Button(text="3.5", key="score:U017:3.5"),
        Button(text="跳过", key="skip:U017", style=ButtonStyle.DANGER),
    ),
    card_id="walk-2026-ZhangWei-U017",
)


async def test_a_card_with_buttons_is_a_button_interaction(adapter: WeComAdapter, emulator: WeComEmulator):
    await adapter.send(to_zhang(SCORE_CARD))

    [sent] = emulator.messages
    card = sent["template_card"]
    assert sent["msgtype"] == "template_card"
    assert card["card_type"] == "button_interaction"
    assert card["task_id"].startswith("walk-2026-ZhangWei-U017-")  # a fresh suffix per send
    assert card["main_title"] == {"title": "城关镇 · 平安建设考评", "desc": "请为该单位打分"}
    assert card["horizontal_content_list"][0] == {"keyname": "考核项", "value": "矛盾纠纷排查化解"}
    assert [(b["text"], b["key"], b["style"]) for b in card["button_list"]] == [
        ("5", "score:U017:5", 1),
        ("3.5", "score:U017:3.5", 2),
        ("跳过", "skip:U017", 3),
    ]


async def test_a_card_update_with_reply_token_hits_update_template_card(adapter: WeComAdapter, emulator: WeComEmulator):
    recorded = SCORE_CARD.model_copy(
        update={
            "title": "城关镇 · 已记录 3.5 分",
            "buttons": (Button(text="改分", key="edit:U017"),),
        }
    )

    await adapter.send(to_zhang(recorded, reply_token=emulator.issue("rc_7mFqJ3oLxkTq2yV9c1Q8aGdW0eZbNsUh")))

    assert emulator.messages == []
    [update] = emulator.card_updates
    assert update["response_code"] == "rc_7mFqJ3oLxkTq2yV9c1Q8aGdW0eZbNsUh"
    assert update["userids"] == ["ZhangWei"]
    assert update["agentid"] == 1000002
    assert update["template_card"]["main_title"]["title"] == "城关镇 · 已记录 3.5 分"
    assert update["template_card"]["task_id"].startswith("walk-2026-ZhangWei-U017-")


async def test_a_buttonless_update_without_card_url_greys_out_the_button(
    adapter: WeComAdapter, emulator: WeComEmulator
):
    await adapter.send(to_zhang(Card(title="已记录：3.5 分"), reply_token=emulator.issue("rc_1")))

    [update] = emulator.card_updates
    assert update["button"] == {"replace_name": "已记录：3.5 分"}
    assert "template_card" not in update


async def test_a_tap_answered_with_a_card_too_long_for_wecom_gets_a_new_markdown_message(
    adapter: WeComAdapter, emulator: WeComEmulator
):
    # Regression: the clicked button was greyed out with the title, and the
    # page itself (too long for a template card) never reached the member.
    lines = (*(f"{i}. 市委组织部 4" for i in range(13, 25)), "第2/3页")
    page = Card(title="核对 第12项", lines=lines, buttons=(Button(text="下一页", key="核对 12 第3页"),))

    await adapter.send(to_zhang(page, reply_token="rc_1"))

    assert emulator.card_updates == []
    [sent] = emulator.messages
    assert sent["msgtype"] == "markdown"
    assert "24. 市委组织部 4\n第2/3页" in sent["markdown"]["content"]
    assert adapter.rate_key(to_zhang(page, reply_token="rc_1")) is not None  # a new message: paced


async def test_a_refused_card_update_falls_back_to_a_new_card(adapter: WeComAdapter, emulator: WeComEmulator):
    emulator.fail_next("/cgi-bin/message/update_template_card", 40098)  # e.g. code used up

    await adapter.send(to_zhang(SCORE_CARD, reply_token="rc_old"))

    assert emulator.card_updates == []
    [sent] = emulator.messages
    assert sent["template_card"]["card_type"] == "button_interaction"


async def test_a_transient_card_update_failure_is_raised_for_the_outbox(adapter: WeComAdapter, emulator: WeComEmulator):
    emulator.fail_next("/cgi-bin/message/update_template_card", 45009)

    with pytest.raises(RateLimited):
        await adapter.send(to_zhang(SCORE_CARD, reply_token="rc_1"))
    assert emulator.messages == []


async def test_a_buttonless_card_is_markdown_without_a_card_url(adapter: WeComAdapter, emulator: WeComEmulator):
    await adapter.send(to_zhang(Card(title="本轮考评已开始", lines=("截止 3 月 9 日",))))

    [sent] = emulator.messages
    assert sent["msgtype"] == "markdown"
    assert sent["markdown"]["content"] == "**本轮考评已开始**\n截止 3 月 9 日"


async def test_a_buttonless_card_is_a_text_notice_with_a_card_url(
    settings: Settings,
    http: aiohttp.ClientSession,
    sink,
    clock: FakeClock,
    emulator: WeComEmulator,
):
    with_url = settings.model_copy(update={"wecom_card_url": "https://pa.example.gov.cn/round"})
    adapter = WeComAdapter(with_url, http, MemoryTokenStore(), sink, clock=clock)

    await adapter.send(to_zhang(Card(title="本轮考评已开始", lines=("截止 3 月 9 日",))))

    card = emulator.messages[0]["template_card"]
    assert card["card_type"] == "text_notice"
    assert card["card_action"] == {"type": 1, "url": "https://pa.example.gov.cn/round"}
    assert card["sub_title_text"] == "截止 3 月 9 日"


# --- media ---------------------------------------------------------------------


async def test_an_image_is_uploaded_then_sent(adapter: WeComAdapter, emulator: WeComEmulator):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100

    await adapter.send(to_zhang(Image(filename="排名.png", data=png)))

    [upload] = emulator.uploads
    assert (upload.media_type, upload.filename, upload.data) == ("image", "排名.png", png)
    [sent] = emulator.messages
    assert sent["msgtype"] == "image"
    assert sent["image"]["media_id"].startswith("media-")


async def test_a_file_is_uploaded_then_sent(adapter: WeComAdapter, emulator: WeComEmulator):
    await adapter.send(to_zhang(File(filename="评分表.xlsx", data=b"PK\x03\x04" + b"x" * 50)))

    assert emulator.uploads[0].media_type == "file"
    assert emulator.messages[0]["msgtype"] == "file"


async def test_an_oversize_app_file_is_refused_before_upload(adapter: WeComAdapter, emulator: WeComEmulator):
    big = b"x" * (c.APP_FILE_MAX_BYTES + 1)

    with pytest.raises(MessageTooLarge) as caught:
        await adapter.send(to_zhang(File(filename="全部材料.zip", data=big)))

    assert "超过企业微信 20 MB 的上限" in caught.value.user_message
    assert emulator.uploads == []


async def test_an_app_image_that_is_not_png_or_jpg_is_refused_before_upload(
    adapter: WeComAdapter, emulator: WeComEmulator
):
    with pytest.raises(MessageTooLarge) as caught:
        await adapter.send(to_zhang(Image(filename="排名.gif", data=b"GIF89a" + b"\0" * 10)))

    assert caught.value.user_message == "企业微信只能发送 PNG 或 JPG 图片，“排名.gif”不是，未发送"
    assert emulator.uploads == []


async def test_create_adapter_takes_the_app_factorys_getters(
    engine: AsyncEngine,
    settings: Settings,
    http: aiohttp.ClientSession,
    emulator: WeComEmulator,
    clock: FakeClock,
    sink,
):
    from bot.deps import AdapterDeps
    from bot.wecom import create_adapter
    from storage.engine import session_factory

    sessions = session_factory(engine)
    adapter = create_adapter(AdapterDeps(settings, sink, clock, lambda: http, lambda: sessions, wall_clock=clock))

    await adapter.send(to_zhang(Text(content="经由应用工厂")))

    assert len(emulator.messages) == 1
    stored = await SqlTokenStore(engine).get("wecom", f"{settings.wecom_corp_id}/1000002")
    assert stored is not None
    assert stored.value in emulator.tokens


async def test_the_same_card_sent_twice_gets_two_task_ids(adapter: WeComAdapter, emulator: WeComEmulator):
    # Regression: the walk card id went out as one task_id; WeCom wants them unique per app.
    await adapter.send(to_zhang(SCORE_CARD))
    await adapter.send(to_zhang(SCORE_CARD))

    first, second = (m["template_card"]["task_id"] for m in emulator.messages)
    assert first != second
    assert len(emulator.task_ids) == 2
