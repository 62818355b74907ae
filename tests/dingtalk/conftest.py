"""DingTalk test kit: a fixed clock, the emulator, a loopback-only HTTP client, the bot's route."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.dingtalk import CALLBACK_PATH, DingTalkAdapter
from bot.settings import Settings
from storage.tokens import MemoryTokenStore
from tests.emulators.dingtalk import CallbackSender, DingTalkEmulator
from tests.wecom.conftest import FakeClock, RecordingSink

PAYLOADS = Path(__file__).parent / "payloads"

APP_KEY = "dingk3y5c0reb0tapp"
APP_SECRET = "SEKRIT-dingtalk-app-secret-9f3e1c"
ROBOT_CODE = "dingrobotscorebot01"
WEBHOOK_TOKEN = "SEKRIT-webhook-token-leaders-4a2b"
WEBHOOK_SECRET = "SECSEKRIT-webhook-sign-7c1d"
SECRETS = (APP_SECRET, WEBHOOK_TOKEN, WEBHOOK_SECRET)

# The recorded payloads were sent at 2026-03-02 09:00 Beijing time.
START = datetime(2026, 3, 2, 1, 0, 30, tzinfo=UTC)

__all__ = ["FakeClock", "RecordingSink"]


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return data


def ms(clock: FakeClock) -> int:
    return int(clock.now.timestamp() * 1000)


def _loopback_only() -> aiohttp.TraceConfig:
    async def check(
        _session: aiohttp.ClientSession,
        _ctx: object,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if params.url.host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to leave loopback: {params.url.host}")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(check)
    return trace


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(trace_configs=[_loopback_only()]) as session:
        yield session


@pytest.fixture
async def emulator() -> AsyncIterator[DingTalkEmulator]:
    emu = DingTalkEmulator(
        app_key=APP_KEY, app_secret=APP_SECRET, robot_code=ROBOT_CODE, robots={WEBHOOK_TOKEN: WEBHOOK_SECRET}
    )
    await emu.start()
    yield emu
    await emu.stop()
    assert emu.unexpected == [], f"unexpected calls to the DingTalk emulator: {emu.unexpected}"


def dingtalk_settings(emulator: DingTalkEmulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "dingtalk_app_key": APP_KEY,
        "dingtalk_app_secret": APP_SECRET,
        "dingtalk_robot_code": ROBOT_CODE,
        "dingtalk_api_base": emulator.url,
        "dingtalk_oapi_base": emulator.url,
        "dingtalk_robot_webhooks": {
            "leaders": {"url": emulator.webhook_url(WEBHOOK_TOKEN), "secret": WEBHOOK_SECRET},
        },
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(emulator: DingTalkEmulator) -> Settings:
    return dingtalk_settings(emulator)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def adapter(settings: Settings, http: aiohttp.ClientSession, sink: RecordingSink, clock: FakeClock) -> DingTalkAdapter:
    return DingTalkAdapter(settings, http, MemoryTokenStore(), sink, clock=clock)


@pytest.fixture
async def bot_url(adapter: DingTalkAdapter) -> AsyncIterator[str]:
    """The adapter's route on a real server on loopback."""
    app = web.Application()
    app.add_routes(adapter.routes())
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    await runner.cleanup()


@pytest.fixture
def dingtalk(http: aiohttp.ClientSession, bot_url: str) -> CallbackSender:
    """DingTalk's side of the callback: signs and posts to the bot."""
    return CallbackSender(http, bot_url, app_secret=APP_SECRET)
