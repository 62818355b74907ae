"""Secrets (corp secret, callback token, AES key, robot key, access tokens) never leak."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from bot.errors import PlatformError
from bot.events import Platform
from bot.messages import Outbound, Target, Text
from bot.settings import Settings
from bot.wecom import WeComAdapter
from bot.wecom.errors import redact
from storage.tokens import MemoryTokenStore
from tests.emulators.wecom import CallbackSender, WeComEmulator
from tests.wecom.conftest import SECRETS, FakeClock, RecordingSink, payload


def _leaks(text: str, emulator: WeComEmulator) -> list[str]:
    return [s for s in (*SECRETS, *emulator.tokens) if s in text]


async def test_no_secret_in_logs_or_errors(
    adapter: WeComAdapter,
    emulator: WeComEmulator,
    wecom: CallbackSender,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    errors: list[PlatformError] = []
    to_zhang = Outbound(target=Target.user(Platform.WECOM, "ZhangWei"), message=Text(content="x"))
    to_leaders = Outbound(target=Target.group(Platform.WECOM, "leaders"), message=Text(content="x"))

    await adapter.send(to_zhang)
    emulator.expire_tokens()
    await adapter.send(to_zhang)  # refresh on 42001
    for path, code in [
        ("/cgi-bin/message/send", 81013),
        ("/cgi-bin/message/send", 45009),
        ("/cgi-bin/message/send", 60020),
        ("/cgi-bin/webhook/send", 93000),
    ]:
        emulator.fail_next(path, code)
        try:
            await adapter.send(to_leaders if "webhook" in path else to_zhang)
        except PlatformError as exc:
            errors.append(exc)
    await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp)
    await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp, token="forged")

    assert len(errors) == 4
    assert emulator.tokens  # there were access tokens to leak
    assert _leaks(caplog.text, emulator) == []
    for exc in errors:
        assert _leaks(f"{exc} {exc.errmsg} {exc.user_message} {exc!r}", emulator) == []


async def test_network_errors_do_not_carry_secrets(
    settings: Settings,
    http: aiohttp.ClientSession,
    sink: RecordingSink,
    clock: FakeClock,
    emulator: WeComEmulator,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    dead = settings.model_copy(update={"wecom_api_base": "http://127.0.0.1:9"})  # discard port
    adapter = WeComAdapter(dead, http, MemoryTokenStore(), sink, clock=clock)

    with pytest.raises(PlatformError) as caught:
        await adapter.send(Outbound(target=Target.user(Platform.WECOM, "ZhangWei"), message=Text(content="x")))

    assert caught.value.transient
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert _leaks(f"{caught.value} {caught.value.errmsg}" + caplog.text, emulator) == []


def test_redact_hides_secret_query_values():
    url = "http://h/cgi-bin/gettoken?corpid=ww1&corpsecret=S3CR3T&access_token=TOK&key=K"

    assert redact(url) == "http://h/cgi-bin/gettoken?corpid=ww1&corpsecret=***&access_token=***&key=***"


def test_settings_do_not_print_secrets(settings: Settings):
    assert [s for s in SECRETS if s in repr(settings) or s in str(settings)] == []
