"""Secrets (app secret, webhook tokens and secrets, access tokens, session webhooks) never leak."""

from __future__ import annotations

import logging

import pytest

from bot.dingtalk import DingTalkAdapter
from bot.dingtalk.errors import redact
from bot.errors import PlatformError
from bot.events import Platform
from bot.messages import Outbound, Target, Text
from tests.dingtalk.conftest import SECRETS, FakeClock, ms, payload
from tests.emulators.dingtalk import CallbackSender, DingTalkEmulator


def _leaks(text: str, emulator: DingTalkEmulator) -> list[str]:
    return [s for s in (*SECRETS, *emulator.tokens, "7b1f0c2e9a4d4e6f8c3b5a7d9e1f2a3b") if s in text]


async def test_no_secret_in_logs_or_errors(
    adapter: DingTalkAdapter,
    emulator: DingTalkEmulator,
    dingtalk: CallbackSender,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    errors: list[PlatformError] = []
    to_zhang = Outbound(target=Target.user(Platform.DINGTALK, "ZhangWei"), message=Text(content="x"))
    to_leaders = Outbound(target=Target.group(Platform.DINGTALK, "leaders"), message=Text(content="x"))

    await adapter.send(to_zhang)
    emulator.expire_tokens()
    await adapter.send(to_zhang)  # refresh on InvalidAuthentication
    await adapter.send(to_leaders)
    for path, status, body in [
        ("/v1.0/robot/oToMessages/batchSend", 400, {"code": "robot.notExist", "message": "no"}),
        ("/v1.0/robot/oToMessages/batchSend", 429, {"code": "TooManyRequests", "message": "slow"}),
        ("/robot/send", 200, {"errcode": 310000, "errmsg": "sign not match"}),
        ("/robot/send", 200, {"errcode": 410100, "errmsg": "send too fast"}),
    ]:
        emulator.fail_next(path, status=status, **body)
        try:
            await adapter.send(to_leaders if "robot/send" in path else to_zhang)
        except PlatformError as exc:
            errors.append(exc)
    await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock))
    await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock), secret="forged")

    assert len(errors) == 4
    assert emulator.tokens  # there were access tokens to leak
    assert _leaks(caplog.text, emulator) == []
    for exc in errors:
        assert _leaks(f"{exc} {exc.errmsg} {exc.user_message} {exc!r}", emulator) == []


def test_redact_hides_tokens_signatures_and_sessions():
    text = (
        "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1&sign=x%2By "
        "https://oapi.dingtalk.com/robot/sendBySession?session=s3cr3t "
        '{"appSecret": "hush", "accessToken": "t0k3n-v4lue"}'
    )
    out = redact(text)
    for secret in ("abc", "x%2By", "s3cr3t", "hush", "t0k3n-v4lue"):
        assert secret not in out
    assert "timestamp=1" in out
