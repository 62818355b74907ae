"""The HTTP callback route end to end over real HTTP: DingTalk (emulated) → bot → sink."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from bot.dingtalk import CALLBACK_PATH, DingTalkAdapter, session
from bot.dingtalk import constants as c
from bot.dingtalk.event import Expected, robot_event
from bot.events import EventKind, Platform
from bot.settings import DINGTALK_OAPI_BASE
from storage.errors import StorageError
from tests.dingtalk.conftest import APP_SECRET, ROBOT_CODE, FakeClock, RecordingSink, ms, payload
from tests.emulators.dingtalk import CallbackSender, DingTalkEmulator, dingtalk_sign

# Answer fast: the work runs after the sink has recorded the event.
FAST = 1.0
# Bounds a wait on the loopback socket; the test never sleeps.
WAIT = 10.0


async def test_a_signed_one_to_one_message_reaches_the_sink(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink, emulator: DingTalkEmulator
):
    body = payload("one_to_one_text.json")
    body["sessionWebhook"] = emulator.session_webhook("7b1f0c2e9a4d4e6f8c3b5a7d9e1f2a3b")  # our oapi host here

    [result] = await dingtalk.post(body, timestamp_ms=ms(clock))

    assert (result.status, result.body) == (200, "")
    [event] = sink.events
    assert event.platform is Platform.DINGTALK
    assert event.kind is EventKind.TEXT
    assert event.user_id == "ZhangWei"
    assert event.text == "评分 城关镇 3.5"
    assert event.message_id == "msgB6kTq3ZxYc0wR9jLmN2pV4g=="
    assert event.dedupe_key == "dingtalk:msgB6kTq3ZxYc0wR9jLmN2pV4g=="
    assert event.received_at == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert event.chat_id is None
    assert event.reply_token is not None
    hook = session.decode(event.reply_token)
    assert hook is not None
    assert hook.url == emulator.session_webhook("7b1f0c2e9a4d4e6f8c3b5a7d9e1f2a3b")
    assert hook.expires_at == datetime(2026, 3, 2, 2, 30, tzinfo=UTC)


async def test_a_group_at_message_becomes_a_group_event(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    [result] = await dingtalk.post(payload("group_at_text.json"), timestamp_ms=ms(clock))

    assert result.status == 200
    [event] = sink.events
    assert event.user_id == "LiMing"
    assert event.text == "排名"
    assert event.chat_id == "cidL3aD3rsGr0upQw8Zx5Tn1Yg=="
    assert event.in_group


async def test_the_at_mention_is_stripped_when_the_client_leaves_it_in(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    body = payload("group_at_text.json")
    body["text"] = {"content": "@平安考评助手\u2005排名 "}

    await dingtalk.post(body, timestamp_ms=ms(clock))

    assert [e.text for e in sink.events] == ["排名"]


async def test_a_duplicate_delivery_reaches_the_sink_with_the_same_dedupe_key(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    results = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock), times=3)

    assert [r.status for r in results] == [200, 200, 200]
    assert all(r.seconds < FAST for r in results)
    # The sink sees every delivery with one dedupe key; taking effect once is its job.
    assert len(sink.events) == 3
    assert len({e.dedupe_key for e in sink.events}) == 1


async def test_a_body_for_another_robot_is_refused(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    # The signature covers the timestamp only: a captured (timestamp, sign) pair signs any
    # body for an hour.  A body naming another robot is refused, and nothing is stored.
    body = payload("one_to_one_text.json")
    body["robotCode"] = "dingANOTHERrobot99"

    [result] = await dingtalk.post(body, timestamp_ms=ms(clock))

    assert (result.status, result.body) == (403, "")
    assert sink.events == []


async def test_a_body_without_a_robot_code_is_refused(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    body = payload("one_to_one_text.json")
    del body["robotCode"]

    [result] = await dingtalk.post(body, timestamp_ms=ms(clock))

    assert result.status == 403
    assert sink.events == []


async def test_a_session_webhook_on_another_host_is_not_kept_as_reply_token(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink, emulator: DingTalkEmulator
):
    body = payload("one_to_one_text.json")
    body["sessionWebhook"] = "https://collector.example.net/robot/sendBySession?session=7b1f0c2e"

    [result] = await dingtalk.post(body, timestamp_ms=ms(clock))

    # The message itself is ours and is taken; its answer goes through the API.
    assert result.status == 200
    [event] = sink.events
    assert event.text == "评分 城关镇 3.5"
    assert event.reply_token is None


def test_a_recorded_message_keeps_its_session_webhook_under_the_default_oapi_host():
    expected = Expected.of(ROBOT_CODE, DINGTALK_OAPI_BASE)

    event = robot_event(payload("one_to_one_text.json"), expected)

    assert event is not None
    assert event.reply_token is not None
    hook = session.decode(event.reply_token)
    assert hook is not None
    assert hook.url == "https://oapi.dingtalk.com/robot/sendBySession?session=7b1f0c2e9a4d4e6f8c3b5a7d9e1f2a3b"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://oapi.dingtalk.com/robot/sendBySession?session=x", True),
        ("https://OAPI.dingtalk.com:443/robot/sendBySession?session=x", True),
        ("http://oapi.dingtalk.com/robot/sendBySession?session=x", False),
        ("https://oapi.dingtalk.com:8443/robot/sendBySession?session=x", False),
        ("https://oapi.dingtalk.com.example.net/robot/sendBySession?session=x", False),
        ("https://user@evil.example/robot/sendBySession?session=x", False),
        ("https://oapi.dingtalk.com@evil.example/robot/sendBySession?session=x", False),
        ("dtmd://oapi.dingtalk.com/robot", False),
        ("https://[::1/robot", False),
    ],
)
def test_only_the_oapi_host_may_take_an_answer(url: str, allowed: bool):
    assert Expected.of(ROBOT_CODE, DINGTALK_OAPI_BASE).allows_session_webhook(url) is allowed


async def test_a_forged_signature_is_refused(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock), secret="a-forgers-secret")

    assert result.status == 403
    assert sink.events == []


async def test_a_tampered_timestamp_is_refused(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock), tamper=True)

    assert result.status == 403
    assert sink.events == []


async def test_a_tampered_signature_is_refused(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    timestamp = str(ms(clock))
    good = dingtalk_sign(timestamp, APP_SECRET)
    bad = ("A" if good[0] != "A" else "B") + good[1:]

    result = await dingtalk.post_raw({"timestamp": timestamp, "sign": bad}, json.dumps(payload("one_to_one_text.json")))

    assert result.status == 403
    assert sink.events == []


async def test_a_stale_timestamp_is_refused(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    signed_at = ms(clock)
    clock.advance(c.CALLBACK_MAX_SKEW_SECONDS + 60)  # a replay after the window

    [result] = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=signed_at)

    assert result.status == 403
    assert sink.events == []


async def test_a_timestamp_from_the_future_is_refused(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    future = ms(clock) + (c.CALLBACK_MAX_SKEW_SECONDS + 60) * 1000

    [result] = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=future)

    assert result.status == 403
    assert sink.events == []


async def test_a_timestamp_inside_the_window_is_accepted(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    signed_at = ms(clock)
    clock.advance(c.CALLBACK_MAX_SKEW_SECONDS - 60)

    [result] = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=signed_at)

    assert result.status == 200
    assert len(sink.events) == 1


@pytest.mark.parametrize("headers", [{}, {"timestamp": "1772413230000"}, {"sign": "abc="}])
async def test_missing_signature_headers_are_refused(
    dingtalk: CallbackSender, sink: RecordingSink, headers: dict[str, str]
):
    result = await dingtalk.post_raw(headers, json.dumps(payload("one_to_one_text.json")))

    assert result.status == 403
    assert sink.events == []


async def test_the_wrong_method_is_refused(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock), method="PUT")

    assert result.status == 405
    assert sink.events == []


async def test_a_well_signed_body_that_is_not_json_is_a_clear_400(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    [result] = await dingtalk.post("this is not json {", timestamp_ms=ms(clock))

    assert result.status == 400
    assert "不是 JSON" in json.loads(result.body)["error"]
    assert sink.events == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"msgId": None}, "msgId"),
        ({"conversationType": "3"}, "conversationType"),
        ({"createAt": "yesterday"}, "createAt"),
        ({"conversationId": ""}, "conversationId"),
    ],
)
async def test_a_well_signed_body_that_is_not_a_robot_message_is_a_clear_400(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink, change: dict[str, object], says: str
):
    body = {k: v for k, v in payload("one_to_one_text.json").items() if k not in change or change[k] is not None}
    body.update({k: v for k, v in change.items() if v is not None})

    [result] = await dingtalk.post(body, timestamp_ms=ms(clock))

    assert result.status == 400
    error = json.loads(result.body)["error"]
    assert error.startswith("请求内容有误")
    assert says in error
    assert sink.events == []


async def test_an_oversized_body_is_refused(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    body = payload("one_to_one_text.json")
    body["text"] = {"content": "评" * c.CALLBACK_MAX_BODY_BYTES}

    [result] = await dingtalk.post(body, timestamp_ms=ms(clock))

    assert result.status == 413
    assert sink.events == []


async def test_rich_text_reads_as_its_text(dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink):
    await dingtalk.post(payload("rich_text_message.json"), timestamp_ms=ms(clock))

    [event] = sink.events
    assert event.kind is EventKind.TEXT
    assert event.text == "进度 本周"


async def test_pictures_and_outsiders_are_acknowledged_and_ignored(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    outsider = payload("one_to_one_text.json")
    del outsider["senderStaffId"]  # not a member of the corp: cannot be answered by id

    results = [
        *await dingtalk.post(payload("picture_message.json"), timestamp_ms=ms(clock)),
        *await dingtalk.post(outsider, timestamp_ms=ms(clock)),
    ]

    assert [(r.status, r.body) for r in results] == [(200, ""), (200, "")]
    assert sink.events == []


async def test_a_sink_failure_is_a_503_so_dingtalk_may_retry(
    dingtalk: CallbackSender, clock: FakeClock, sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
):
    async def broken(_event: object) -> bool:
        raise StorageError("数据库不可用")

    monkeypatch.setattr(sink, "accept", broken)

    [result] = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock))

    assert result.status == 503


async def test_a_body_arriving_in_two_tcp_segments_is_read_whole(
    adapter: DingTalkAdapter, clock: FakeClock, sink: RecordingSink
):
    # Regression: the route read the body with one content.read(limit + 1), which
    # answers with what has arrived so far: a signed body whose second TCP segment
    # came a moment later was refused with 400 and the message lost.
    reading = asyncio.Event()

    @web.middleware
    async def started(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        reading.set()  # the route runs from here on without yielding until it waits for the body
        return await handler(request)

    app = web.Application(middlewares=[started])
    app.add_routes(adapter.routes())
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    body = json.dumps(payload("one_to_one_text.json"), ensure_ascii=False).encode()
    cut = body.index("城关镇".encode()) + 1  # inside a character: only the whole body decodes
    timestamp = str(ms(clock))
    head = (
        f"POST {CALLBACK_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"timestamp: {timestamp}\r\nsign: {dingtalk_sign(timestamp, APP_SECRET)}\r\n"
        f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(WAIT):
            writer.write(head + body[:cut])
            await writer.drain()
            await reading.wait()  # the route has the headers and the first segment
            writer.write(body[cut:])
            await writer.drain()
            status_line = await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
        await runner.cleanup()

    assert status_line == b"HTTP/1.1 200 OK\r\n"
    [event] = sink.events
    assert event.text == "评分 城关镇 3.5"


async def test_an_oversized_body_without_a_length_is_refused_once_past_the_cap(
    clock: FakeClock, sink: RecordingSink, http: aiohttp.ClientSession, bot_url: str
):
    timestamp = str(ms(clock))

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):  # chunked: no Content-Length to refuse up front
            yield b" " * (c.CALLBACK_MAX_BODY_BYTES // 2)
        yield b"{}"

    async with http.post(
        bot_url, headers={"timestamp": timestamp, "sign": dingtalk_sign(timestamp, APP_SECRET)}, data=chunks()
    ) as resp:
        assert resp.status == 413
    assert sink.events == []
