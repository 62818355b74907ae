"""The whole bot on WeCom, over loopback: encrypted callback → sink → handler → outbox → emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import ADAPTERS, CLOCK, EVENTS, OUTBOX, SESSIONS, create_app
from bot.events import Platform
from bot.messages import Markdown, Outbound, Target, Text
from bot.settings import Settings
from bot.wecom import CALLBACK_PATH
from storage import outbox
from storage.models.messaging import InboundEventRow, OutboxRow, OutboxStatus
from tests.emulators.wecom import CallbackSender, WeComEmulator
from tests.handlers.dialogue import Clock as DialogueClock
from tests.handlers.dialogue import WeComChat, directory_on_every_messenger
from tests.messaging.test_sandbox_e2e import _settle
from tests.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, ROBOT_KEY, SECRET, TOKEN, FakeClock, payload


@pytest.fixture
async def emulator() -> AsyncIterator[WeComEmulator]:
    emu = WeComEmulator(corp_id=CORP_ID, secret=SECRET)
    await emu.start()
    yield emu
    await emu.stop()
    assert emu.unexpected == []


@asynccontextmanager
async def wecom_bot(
    db_url: str, emulator: WeComEmulator, clock: FakeClock, **more: Any
) -> AsyncIterator[tuple[web.Application, CallbackSender]]:
    if "robot_keys" in more:
        more["wecom_robot_keys"] = more.pop("robot_keys")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        wecom_corp_id=CORP_ID,
        wecom_agent_id=AGENT_ID,
        wecom_secret=SECRET,
        wecom_token=TOKEN,
        wecom_aes_key=AES_KEY,
        wecom_api_base=emulator.url,
        shutdown_grace_seconds=0,
        schedules_enabled=False,
        **more,
    )
    app = create_app(settings, clock=clock)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        sender = CallbackSender(
            client.session,
            str(client.make_url(CALLBACK_PATH)),
            token=TOKEN,
            aes_key=AES_KEY,
            corp_id=CORP_ID,
            agent_id=AGENT_ID,
        )
        yield app, sender
    finally:
        await client.close()


async def test_a_text_retried_three_times_is_answered_once(db_url: str, emulator: WeComEmulator) -> None:
    clock = FakeClock()
    async with wecom_bot(db_url, emulator, clock) as (app, wecom):
        assert set(app[ADAPTERS]) == {Platform.WECOM}  # no sandbox once WeCom is configured
        results = await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp, times=3)
        assert [r.status for r in results] == [200, 200, 200]
        await _settle(app)
    (sent,) = emulator.messages
    assert sent["touser"] == "ZhangWei"
    assert "不在考评名录中" in str(sent)  # ZhangWei is not in the sample directory


async def test_a_reply_stored_before_a_crash_reaches_wecom_once_after_restart(
    db_url: str, emulator: WeComEmulator
) -> None:
    clock = FakeClock()
    async with wecom_bot(db_url, emulator, clock) as (app, wecom):
        await app[OUTBOX].stop()
        await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp)
        await app[EVENTS].join()
    assert emulator.messages == []
    async with wecom_bot(db_url, emulator, clock) as (app, wecom):
        await _settle(app)
        await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp)  # a late retry
        await _settle(app)
    assert len(emulator.messages) == 1


async def _count(app: web.Application, model: Any) -> int:
    async with app[SESSIONS]() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def _drain(app: web.Application, clock: FakeClock, *, until_sent: int) -> None:
    """Outbox passes, moving the fake clock to the next due row, until ``until_sent`` rows went out."""
    for _ in range(1000):
        await app[OUTBOX].run_once()
        async with app[SESSIONS]() as s:
            sent = await s.scalar(select(func.count()).where(OutboxRow.status == OutboxStatus.SENT))
            next_at = await outbox.next_due_at(s)
        if sent >= until_sent:
            return
        assert next_at is not None, "nothing left to send"
        clock.now = max(clock.now, next_at)
    raise AssertionError("the outbox did not drain")


async def test_forged_tampered_and_stale_callbacks_store_nothing(db_url: str, emulator: WeComEmulator) -> None:
    clock = FakeClock()
    async with wecom_bot(db_url, emulator, clock) as (app, wecom):
        text = payload("text_message.xml")
        [forged] = await wecom.post(text, timestamp=clock.timestamp, token="forger-token")
        [tampered] = await wecom.post(text, timestamp=clock.timestamp, tamper=True)
        [stale] = await wecom.post(text, timestamp=str(int(clock.now.timestamp()) - 3600))
        assert [r.status for r in (forged, tampered, stale)] == [403, 403, 403]
        await _settle(app)
        assert (await _count(app, InboundEventRow), await _count(app, OutboxRow)) == (0, 0)
    assert emulator.messages == []


async def test_a_moved_dev_clock_does_not_refuse_wecom_callbacks(db_url: str, emulator: WeComEmulator) -> None:
    # Regression: with SCOREBOT_CLOCK_OFFSET=P3D (or 调时) every callback was "stale":
    # freshness was checked against the bot's moved clock, not WeCom's real one.
    clock = FakeClock()
    async with wecom_bot(db_url, emulator, clock, clock_offset=timedelta(days=3)) as (app, wecom):
        assert app[CLOCK]() - clock() == timedelta(days=3)
        [result] = await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp)
        assert result.status == 200
        [verify] = [await wecom.verify_url("echo-123", timestamp=clock.timestamp)]
        assert (verify.status, verify.body) == (200, "echo-123")
        await _settle(app)
    assert len(emulator.messages) == 1


async def test_a_rate_limit_answer_delays_the_reply_but_never_loses_it(db_url: str, emulator: WeComEmulator) -> None:
    clock = FakeClock()
    # More 45009s than the outbox's attempts: "slow down" must not use them up.
    emulator.fail_next("/cgi-bin/message/send", 45009, times=12)
    async with wecom_bot(db_url, emulator, clock) as (app, wecom):
        await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp)
        await app[EVENTS].join()
        started = clock.now
        await _drain(app, clock, until_sent=1)
        async with app[SESSIONS]() as s:
            (row,) = (await s.scalars(select(OutboxRow))).all()
        assert (row.status, row.attempts, row.throttles) == ("sent", 13, 12)
        assert clock.now - started >= timedelta(seconds=600)  # it waited, backing off
    assert len(emulator.messages) == 1
    assert emulator.dropped == []


async def test_a_burst_to_one_member_is_paced_and_wecom_drops_none(db_url: str, emulator: WeComEmulator) -> None:
    # WeCom silently drops a member's messages over 30 a minute: 45 replies must be paced.
    clock = FakeClock()
    emulator.clock = lambda: clock.now.timestamp()
    async with wecom_bot(db_url, emulator, clock) as (app, _wecom):
        zhang = Target.user(Platform.WECOM, "ZhangWei")
        async with app[SESSIONS].begin() as s:
            for i in range(45):
                await outbox.enqueue(s, Outbound(target=zhang, message=Text(content=f"第{i}条")), clock())
        await _drain(app, clock, until_sent=45)
    assert [m["text"]["content"] for m in emulator.messages] == [f"第{i}条" for i in range(45)]
    assert emulator.dropped == []


async def test_a_long_ranking_to_a_robot_is_paced_post_by_post(db_url: str, emulator: WeComEmulator) -> None:
    # 12 rankings of 4 posts each: 48 robot posts, at most 20 a minute (WeCom answers 45009 past that).
    clock = FakeClock()
    emulator.clock = lambda: clock.now.timestamp()
    ranking = "\n".join(f"第{i}名 **某某单位** {400 - i} 分" for i in range(1, 400))
    async with wecom_bot(db_url, emulator, clock, robot_keys={"leaders": ROBOT_KEY}) as (app, _wecom):
        leaders = Target.group(Platform.WECOM, "leaders")
        posts = app[ADAPTERS][Platform.WECOM].posts(Outbound(target=leaders, message=Markdown(content=ranking)))
        assert posts == 4
        async with app[SESSIONS].begin() as s:
            for _ in range(12):
                await outbox.enqueue(s, Outbound(target=leaders, message=Markdown(content=ranking)), clock())
        await _drain(app, clock, until_sent=12)
        async with app[SESSIONS]() as s:
            throttled = (await s.scalars(select(OutboxRow.throttles))).all()
    assert len(emulator.robot_posts) == 48
    assert throttled == [0] * 12  # never answered 45009: the bucket paced every post


async def test_a_card_click_updates_the_card_in_place_through_the_whole_app(db_url: str, tmp_path: Path) -> None:
    chat = WeComChat(directory_on_every_messenger(tmp_path / "directory.yaml"))
    await chat.start()
    try:
        async with chat.running(db_url, DialogueClock()) as c:
            await c.say("admin", "开启考核 12月20日")
            await c.read("d27a")  # the round's opening notice
            card = await c.say("d27a", "评分 12")
            assert card.startswith("【第12项 消防安全（1/32）】")
            sent = len(chat.emulator.messages)
            shown = await c.tap("d27a", "满分")
            [update] = chat.emulator.card_updates
            # The click's own single-use response_code, and no new message: the card itself changed.
            assert update["response_code"].startswith("click-rc-")
            assert update["userids"] == ["d27a"]
            assert len(chat.emulator.messages) == sent
            assert shown.startswith("【第12项 消防安全（2/32）】")
            assert "已记：市委组织部 4" in shown
    finally:
        await chat.stop()


async def test_an_admin_sees_what_wecom_refused_and_sends_it_again(db_url: str, tmp_path: Path) -> None:
    # Regression: a message the outbox gave up on was only a log line; nobody could see or resend it.
    chat = WeComChat(directory_on_every_messenger(tmp_path / "directory.yaml"))
    chat.refusals_expected = True
    await chat.start()
    try:
        async with chat.running(db_url, DialogueClock()) as c:
            assert await c.say("admin", "发送失败") == "没有发送失败的消息。"
            chat.emulator.fail_next("/cgi-bin/message/send", 81013)  # d27a not in the app's visible range
            assert await c.say("d27a", "进度") == ""
            listed = await c.say("admin", "发送失败")
            assert listed.split("\n")[:3] == [
                "【发送失败的消息（1 条）】",
                "处理原因后（如核对名录中的账号）可重发：发“重发 编号”或“重发全部”",
                "#2 12月1日 17:00 → 邓同志a（市消防救援支队）：文字“还没有开启考核；开启后即可评分和”，"
                "接收人均无效或不在应用可见范围内（企业微信 81013）",
            ]
            assert await c.say("admin", "重发 1") == "没有可重发的消息：#1 不是发送失败的消息。发“发送失败”查看。"
            assert await c.say("admin", "重发 2") == "已重新排队发送 1 条消息；仍失败的会再次出现在“发送失败”中。"
            assert await c.read("d27a") == "还没有开启考核；开启后即可评分和查看排名。"
            assert await c.say("admin", "发送失败") == "没有发送失败的消息。"
            assert await c.say("d27a", "发送失败") == "只有市委平安办管理员可以查看发送失败的消息。"
    finally:
        await chat.stop()
