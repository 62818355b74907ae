"""The whole bot on DingTalk, over loopback: signed callback → sink → handler → outbox → emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import ADAPTERS, create_app
from bot.dingtalk import CALLBACK_PATH
from bot.events import Platform
from bot.messages import Button, Card, Markdown, Text
from bot.settings import Settings
from handlers.base import Context
from tests.dingtalk.conftest import APP_KEY, APP_SECRET, ROBOT_CODE, START, FakeClock, ms, payload
from tests.emulators.dingtalk import CallbackSender, DingTalkEmulator, robot_message, shown
from tests.messaging.test_sandbox_e2e import _settle


@pytest.fixture
async def emulator() -> AsyncIterator[DingTalkEmulator]:
    emu = DingTalkEmulator(app_key=APP_KEY, app_secret=APP_SECRET, robot_code=ROBOT_CODE)
    await emu.start()
    yield emu
    await emu.stop()
    assert emu.unexpected == []


@asynccontextmanager
async def dingtalk_bot(
    db_url: str, emulator: DingTalkEmulator, clock: FakeClock, **kw: object
) -> AsyncIterator[tuple[web.Application, CallbackSender]]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        dingtalk_app_key=APP_KEY,
        dingtalk_app_secret=APP_SECRET,
        dingtalk_robot_code=ROBOT_CODE,
        dingtalk_api_base=emulator.url,
        dingtalk_oapi_base=emulator.url,  # session webhooks are taken on this host only
        shutdown_grace_seconds=0,
    )
    app = create_app(settings, clock=clock, **kw)  # type: ignore[arg-type]
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield app, CallbackSender(client.session, str(client.make_url(CALLBACK_PATH)), app_secret=APP_SECRET)
    finally:
        await client.close()


async def test_a_signed_message_retried_three_times_is_answered_once(db_url: str, emulator: DingTalkEmulator) -> None:
    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock) as (app, dingtalk):
        assert set(app[ADAPTERS]) == {Platform.DINGTALK}  # no sandbox once DingTalk is configured
        results = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock), times=3)
        assert [r.status for r in results] == [200, 200, 200]
        await _settle(app)
    [sent] = emulator.one_to_one
    assert sent.user_ids == ["ZhangWei"]
    assert sent.msg_key == "sampleText"
    assert "不在考评名录中" in sent.param["content"]  # ZhangWei is not in the sample directory: one polite line


async def test_a_leader_asking_in_the_group_is_answered_in_the_group(db_url: str, emulator: DingTalkEmulator) -> None:
    async def rank(ctx: Context) -> None:
        assert ctx.event.text == "排名"
        await ctx.reply(Markdown(content="**本周排名**\n1. 城关镇 95.5"))

    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock, handler=rank) as (app, dingtalk):
        [result] = await dingtalk.post(payload("group_at_text.json"), timestamp_ms=ms(clock))
        assert result.status == 200
        await _settle(app)
    assert emulator.one_to_one == []
    [sent] = emulator.group_messages
    assert sent.conversation_id == "cidL3aD3rsGr0upQw8Zx5Tn1Yg=="
    assert sent.msg_key == "sampleMarkdown"
    assert "城关镇 95.5" in sent.param["text"]


async def test_an_answer_in_place_goes_to_the_session_webhook(db_url: str, emulator: DingTalkEmulator) -> None:
    async def in_place(ctx: Context) -> None:
        await ctx.reply(Markdown(content="已记录：城关镇 3.5 分"), in_place=True)

    body = payload("one_to_one_text.json")
    body["sessionWebhook"] = emulator.session_webhook("s-zhang")
    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock, handler=in_place) as (app, dingtalk):
        await dingtalk.post(body, timestamp_ms=ms(clock))
        await _settle(app)
    assert emulator.one_to_one == []
    [post] = emulator.session_posts
    assert post.session == "s-zhang"
    assert post.body["markdown"]["text"] == "已记录：城关镇 3.5 分"


async def test_a_forged_callback_changes_nothing(db_url: str, emulator: DingTalkEmulator) -> None:
    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock) as (app, dingtalk):
        [result] = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock), secret="forged")
        assert result.status == 403
        await _settle(app)
    assert emulator.one_to_one == []


async def test_a_tap_on_a_link_button_is_the_typed_command(db_url: str, emulator: DingTalkEmulator) -> None:
    # How a dialogue script runs on DingTalk: tap(user, key) is say(user, key).
    async def walk(ctx: Context) -> None:
        if ctx.event.text == "评分":
            await ctx.reply(Card(title="第1项 · 城关镇", buttons=(Button(text="5 分", key="5"),)))
        else:
            await ctx.reply(Text(content=f"已记录：{ctx.event.text} 分"))

    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock, handler=walk) as (app, dingtalk):
        for i, text in enumerate(["评分", "5"]):
            body = robot_message("ZhangWei", text, msg_id=f"m{i}", created_ms=ms(clock), robot_code=ROBOT_CODE)
            await dingtalk.post(body, timestamp_ms=ms(clock))
            await _settle(app)
    card, answer = emulator.one_to_one
    assert card.param["singleURL"] == "dtmd://dingtalkclient/sendMessage?content=5"
    assert shown(card).endswith("[5 分]")
    assert shown(answer) == "已记录：5 分"
