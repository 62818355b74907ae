"""WeCom test kit: a fixed clock, the emulator, a loopback-only HTTP client, the bot's routes."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.events import InboundEvent
from bot.settings import Settings
from bot.wecom import CALLBACK_PATH, WeComAdapter
from storage.tokens import MemoryTokenStore
from tests.emulators.wecom import CallbackSender, WeComEmulator

PAYLOADS = Path(__file__).parent / "payloads"

CORP_ID = "ww6a1f3c2b9d8e7f01"
AGENT_ID = 1000002
SECRET = "SEKRIT-corp-secret-5f2c9a"
TOKEN = "SEKRIT-callback-token-77"
AES_KEY = base64.b64encode(b"scorebot-wecom-aes-key-32-bytes!").decode()[:-1]
ROBOT_KEY = "SEKRIT-robot-key-leaders-0d1e"
SECRETS = (SECRET, TOKEN, AES_KEY, ROBOT_KEY)

# The recorded payloads were sent around 2026-03-02 09:00 Beijing time.
START = datetime(2026, 3, 2, 1, 0, 30, tzinfo=UTC)


def payload(name: str) -> str:
    return (PAYLOADS / name).read_text(encoding="utf-8")


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    @property
    def timestamp(self) -> str:
        return str(int(self.now.timestamp()))


@dataclass
class RecordingSink:
    """A fake EventSink: records every event; says whether its dedupe key is new."""

    events: list[InboundEvent] = field(default_factory=list)

    async def accept(self, event: InboundEvent) -> bool:
        fresh = all(e.dedupe_key != event.dedupe_key for e in self.events)
        self.events.append(event)
        return fresh


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
    return FakeClock()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(trace_configs=[_loopback_only()]) as session:
        yield session


@pytest.fixture
async def emulator() -> AsyncIterator[WeComEmulator]:
    emu = WeComEmulator(corp_id=CORP_ID, secret=SECRET)
    await emu.start()
    yield emu
    await emu.stop()
    assert emu.unexpected == [], f"unexpected calls to the WeCom emulator: {emu.unexpected}"


@pytest.fixture
def settings(emulator: WeComEmulator) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        wecom_corp_id=CORP_ID,
        wecom_agent_id=AGENT_ID,
        wecom_secret=SECRET,
        wecom_token=TOKEN,
        wecom_aes_key=AES_KEY,
        wecom_api_base=emulator.url,
        wecom_robot_keys={"leaders": ROBOT_KEY},
    )


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def adapter(settings: Settings, http: aiohttp.ClientSession, sink: RecordingSink, clock: FakeClock) -> WeComAdapter:
    return WeComAdapter(settings, http, MemoryTokenStore(), sink, clock=clock)


@pytest.fixture
async def bot_url(adapter: WeComAdapter) -> AsyncIterator[str]:
    """The adapter's routes on a real server on loopback."""
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
def wecom(http: aiohttp.ClientSession, bot_url: str) -> CallbackSender:
    """WeCom's side of the callback: encrypts, signs and posts to the bot."""
    return CallbackSender(http, bot_url, token=TOKEN, aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID)
