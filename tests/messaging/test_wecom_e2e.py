"""The whole bot on WeCom, over loopback: encrypted callback → sink → handler → outbox → emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import ADAPTERS, EVENTS, OUTBOX, create_app
from bot.events import Platform
from bot.settings import Settings
from bot.wecom import CALLBACK_PATH
from tests.emulators.wecom import CallbackSender, WeComEmulator
from tests.messaging.test_sandbox_e2e import _settle
from tests.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, FakeClock, payload


@pytest.fixture
async def emulator() -> AsyncIterator[WeComEmulator]:
    emu = WeComEmulator(corp_id=CORP_ID, secret=SECRET)
    await emu.start()
    yield emu
    await emu.stop()
    assert emu.unexpected == []


@asynccontextmanager
async def wecom_bot(
    db_url: str, emulator: WeComEmulator, clock: FakeClock
) -> AsyncIterator[tuple[web.Application, CallbackSender]]:
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
