"""Stream mode through the dingtalk-stream SDK's own interfaces: handlers, frames, acks, the connection loop."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from dingtalk_stream import AckMessage, CallbackMessage, ChatbotMessage

from bot.dingtalk import DingTalkAdapter
from bot.dingtalk import constants as c
from bot.dingtalk.event import Expected
from bot.dingtalk.stream import SDK_LOGGER, WEBSOCKETS_LOGGER, CardCallbackHandler, RobotMessageHandler
from bot.events import EventKind, InboundEvent, Platform
from bot.settings import DINGTALK_OAPI_BASE
from storage.errors import StorageError
from storage.tokens import MemoryTokenStore
from tests.dingtalk.conftest import (
    APP_KEY,
    ROBOT_CODE,
    FakeClock,
    RecordingSink,
    dingtalk_settings,
    ms,
    payload,
)
from tests.emulators.dingtalk import CallbackSender, DingTalkEmulator

# Bounds a wait for the SDK's thread; the test never sleeps.
WAIT = 10.0
# What the recorded frames say of themselves: our robot, DingTalk's own old-API host.
EXPECTED = Expected.of(ROBOT_CODE, DINGTALK_OAPI_BASE)


def frame(name: str) -> CallbackMessage:
    return CallbackMessage.from_dict(payload(name))


async def test_a_robot_frame_becomes_the_same_event_as_the_http_callback(
    sink: RecordingSink, dingtalk: CallbackSender, clock: FakeClock, adapter: DingTalkAdapter
):
    handler = RobotMessageHandler(sink.accept, adapter.expected)

    code, message = await handler.process(frame("stream_robot_frame.json"))
    await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock))

    assert (code, message) == (AckMessage.STATUS_OK, "OK")
    from_stream, from_http = sink.events
    assert from_stream == from_http
    assert from_stream.user_id == "ZhangWei"
    assert from_stream.text == "评分 城关镇 3.5"
    assert from_stream.dedupe_key == "dingtalk:msgB6kTq3ZxYc0wR9jLmN2pV4g=="


async def test_the_sdks_chatbot_message_reads_the_same(sink: RecordingSink):
    # What the SDK's own ChatbotMessage makes of a payload, we read alike.
    sdk_view = ChatbotMessage.from_dict(payload("group_at_text.json"))
    message = CallbackMessage()
    message.headers.topic = ChatbotMessage.TOPIC
    message.data = sdk_view.to_dict()

    await RobotMessageHandler(sink.accept, EXPECTED).process(message)

    [event] = sink.events
    assert event.chat_id == sdk_view.conversation_id
    assert event.user_id == sdk_view.sender_staff_id
    assert event.text == sdk_view.text.content.strip()
    assert event.message_id == sdk_view.message_id


async def test_the_ack_carries_the_frames_message_id(sink: RecordingSink):
    incoming = frame("stream_robot_frame.json")

    ack = await RobotMessageHandler(sink.accept, EXPECTED).raw_process(incoming)

    assert ack.code == AckMessage.STATUS_OK
    assert ack.headers.message_id == incoming.headers.message_id


async def test_a_redelivered_frame_has_the_same_dedupe_key(sink: RecordingSink):
    handler = RobotMessageHandler(sink.accept, EXPECTED)

    for _ in range(2):
        await handler.process(frame("stream_robot_frame.json"))

    assert len({e.dedupe_key for e in sink.events}) == 1


async def test_a_bad_frame_is_refused_and_nothing_passed_on(sink: RecordingSink):
    bad = frame("stream_robot_frame.json")
    bad.data = {**bad.data, "msgId": ""}

    code, message = await RobotMessageHandler(sink.accept, EXPECTED).process(bad)

    assert code == AckMessage.STATUS_BAD_REQUEST
    assert "msgId" in message
    assert sink.events == []


async def test_a_frame_for_another_robot_is_refused(sink: RecordingSink):
    foreign = frame("stream_robot_frame.json")
    foreign.data = {**foreign.data, "robotCode": "dingANOTHERrobot99"}

    code, message = await RobotMessageHandler(sink.accept, EXPECTED).process(foreign)

    assert code == AckMessage.STATUS_BAD_REQUEST
    assert "SCOREBOT_DINGTALK_ROBOT_CODE" in message
    assert sink.events == []


async def test_a_sink_failure_is_not_acknowledged_as_ok():
    async def broken(_event: InboundEvent) -> bool:
        raise StorageError("数据库不可用")

    code, _ = await RobotMessageHandler(broken, EXPECTED).process(frame("stream_robot_frame.json"))

    assert code == AckMessage.STATUS_SYSTEM_EXCEPTION


async def test_a_card_callback_becomes_a_card_action(sink: RecordingSink, clock: FakeClock):
    incoming = frame("stream_card_frame.json")

    code, _ = await CardCallbackHandler(sink.accept, clock).process(incoming)

    assert code == AckMessage.STATUS_OK
    [event] = sink.events
    assert event.platform is Platform.DINGTALK
    assert event.kind is EventKind.CARD_ACTION
    assert event.user_id == "ZhangWei"
    assert event.action_key == "score:U017:3.5"
    assert event.selected == ("按时完成",)
    assert event.card_id == "walk-2026-ZhangWei-U017"
    assert event.message_id == incoming.headers.message_id
    assert event.received_at == clock.now


async def test_a_card_callback_without_a_key_is_refused(sink: RecordingSink, clock: FakeClock):
    incoming = frame("stream_card_frame.json")
    incoming.data = {**incoming.data, "content": json.dumps({"cardPrivateData": {"params": {}}})}

    code, _ = await CardCallbackHandler(sink.accept, clock).process(incoming)

    assert code == AckMessage.STATUS_BAD_REQUEST
    assert sink.events == []


class _LoopRecordingSink(RecordingSink):
    """Records the loop each event was accepted on, and signals arrival."""

    def __init__(self) -> None:
        super().__init__()
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.arrived = asyncio.Event()

    async def accept(self, event: InboundEvent) -> bool:
        self.loops.append(asyncio.get_running_loop())
        fresh = await super().accept(event)
        self.arrived.set()
        return fresh


@pytest.fixture
def stream_adapter(
    emulator: DingTalkEmulator, http: aiohttp.ClientSession, clock: FakeClock
) -> tuple[DingTalkAdapter, _LoopRecordingSink]:
    sink = _LoopRecordingSink()
    settings = dingtalk_settings(emulator, dingtalk_mode="stream")
    return DingTalkAdapter(settings, http, MemoryTokenStore(), sink, clock=clock), sink


async def test_stream_mode_mounts_no_callback_route(stream_adapter: tuple[DingTalkAdapter, Any]):
    adapter, _ = stream_adapter
    assert adapter.routes() == []


async def test_the_sdk_loop_connects_delivers_to_the_sink_on_the_bots_loop_and_acks(
    stream_adapter: tuple[DingTalkAdapter, _LoopRecordingSink], emulator: DingTalkEmulator
):
    adapter, sink = stream_adapter
    emulator.push_frame(payload("stream_robot_frame.json"))

    await adapter.start()
    try:
        async with asyncio.timeout(WAIT):
            await sink.arrived.wait()
            [ack] = await emulator.wait_for_ack()
    finally:
        await adapter.close()

    [event] = sink.events
    assert event.text == "评分 城关镇 3.5"
    assert sink.loops == [asyncio.get_running_loop()]  # the sink ran on the bot's loop, not the SDK's
    assert ack["code"] == AckMessage.STATUS_OK
    assert ack["headers"]["messageId"] == "5f2a1c9e_0b3d_4a7f_8e6c_robotframe01"
    assert emulator.stream_opens == 1


async def test_close_stops_the_sdk_loop_even_while_it_waits_to_reconnect(
    stream_adapter: tuple[DingTalkAdapter, _LoopRecordingSink], emulator: DingTalkEmulator
):
    adapter, _ = stream_adapter
    emulator.fail_next(c.PATH_STREAM_OPEN, status=500, code="ServiceUnavailable")

    await adapter.start()
    async with asyncio.timeout(WAIT):
        await emulator.stream_opened.wait()  # the SDK tried, failed and now waits to retry
        await adapter.close()

    assert adapter.stream is not None
    assert not adapter.stream.running


def _second_frame() -> dict[str, Any]:
    """Another robot message frame: its own frame id and message id."""
    frame = payload("stream_robot_frame.json")
    frame["headers"]["messageId"] = "5f2a1c9e_0b3d_4a7f_8e6c_robotframe02"
    data = json.loads(frame["data"])
    data["msgId"] = "msgSecondFrameAfterReconnect=="
    frame["data"] = json.dumps(data, ensure_ascii=False)
    return frame


@pytest.mark.parametrize(("how", "acks"), [("close", 2), ("disconnect", 3)])
async def test_the_sdk_reconnects_after_the_connection_is_dropped(
    stream_adapter: tuple[DingTalkAdapter, _LoopRecordingSink], emulator: DingTalkEmulator, how: str, acks: int
):
    # close: the gateway closes the socket (going away); disconnect: DingTalk's SYSTEM
    # "disconnect" frame, which the SDK acks before closing.  Either way the SDK opens
    # a new connection at once, and the frame queued behind the drop arrives on it.
    adapter, sink = stream_adapter
    emulator.push_frame(payload("stream_robot_frame.json"))
    emulator.drop_connection(how)
    emulator.push_frame(_second_frame())

    await adapter.start()
    try:
        async with asyncio.timeout(WAIT):
            await emulator.wait_for_ack(acks)
    finally:
        await adapter.close()

    assert emulator.stream_opens == 2
    assert [e.message_id for e in sink.events] == ["msgB6kTq3ZxYc0wR9jLmN2pV4g==", "msgSecondFrameAfterReconnect=="]
    acked = {a["headers"]["messageId"]: a["code"] for a in emulator.stream_acks}
    assert acked["5f2a1c9e_0b3d_4a7f_8e6c_robotframe01"] == AckMessage.STATUS_OK
    assert acked["5f2a1c9e_0b3d_4a7f_8e6c_robotframe02"] == AckMessage.STATUS_OK


async def test_closing_a_connected_stream_logs_no_error(
    stream_adapter: tuple[DingTalkAdapter, _LoopRecordingSink],
    emulator: DingTalkEmulator,
    caplog: pytest.LogCaptureFixture,
):
    # Regression: every clean shutdown logged "ERROR [start] network exception, error=":
    # the SDK reports the cancellation of its loop (our close) as a network failure.
    caplog.set_level(logging.INFO)
    adapter, _ = stream_adapter
    emulator.push_frame(payload("stream_robot_frame.json"))

    await adapter.start()
    try:
        async with asyncio.timeout(WAIT):
            await emulator.wait_for_ack()
    finally:
        await adapter.close()

    stream_logs = [r for r in caplog.records if r.name in (SDK_LOGGER, "bot.dingtalk.stream")]
    assert [r.getMessage() for r in stream_logs if r.levelno >= logging.WARNING] == []
    # ... and the SDK's "endpoint is {..., 'ticket': ...}" line kept its ticket to itself.
    [endpoint] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("endpoint is")]
    assert "'ticket': '***'" in endpoint
    assert all(ticket not in caplog.text for ticket in emulator.stream_tickets)


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_refused_credentials_are_said_once_naming_the_settings_and_tried_less_often(
    emulator: DingTalkEmulator, http: aiohttp.ClientSession, clock: FakeClock, caplog: pytest.LogCaptureFixture
):
    # Regression: with a wrong app secret the SDK tried every 10 s for ever and logged
    # only "open connection failed".  Now: one error naming the settings, then back-off.
    caplog.set_level(logging.INFO)
    settings = dingtalk_settings(emulator, dingtalk_mode="stream", dingtalk_app_secret="SEKRIT-a-wrong-secret")
    adapter = DingTalkAdapter(settings, http, MemoryTokenStore(), RecordingSink(), clock=clock)
    assert adapter.stream is not None
    client = adapter.stream.client
    tried_at = []

    for second in range(0, 601, 10):  # the SDK's own cadence: a call every 10 s after a None
        opens = emulator.stream_opens
        # open_connection blocks (requests), as on the SDK's thread: not on this loop.
        assert await asyncio.to_thread(client.open_connection) is None
        if emulator.stream_opens > opens:
            tried_at.append(second)
        clock.advance(10)

    assert tried_at == [0, 10, 30, 70, 150, 310]  # waits of 10, 20, 40, 80, 160 s, then 320
    [error] = _refusals(caplog)
    assert "HTTP 401 code=authFailed message=鉴权失败" in error
    assert "SCOREBOT_DINGTALK_APP_KEY" in error
    assert "SCOREBOT_DINGTALK_APP_SECRET" in error
    assert APP_KEY in error  # the key is no secret, and says which app
    assert "SEKRIT" not in caplog.text

    # The console now matches what we send: the next try after the back-off connects.
    emulator.app_secret = "SEKRIT-a-wrong-secret"
    clock.advance(320)
    answer = await asyncio.to_thread(client.open_connection)
    assert answer is not None
    assert answer["ticket"] == emulator.stream_tickets[-1]
    assert client.refusals == 0


async def test_an_error_body_in_a_200_is_a_refusal_too(
    stream_adapter: tuple[DingTalkAdapter, _LoopRecordingSink],
    emulator: DingTalkEmulator,
    caplog: pytest.LogCaptureFixture,
):
    adapter, _ = stream_adapter
    assert adapter.stream is not None
    emulator.fail_next(c.PATH_STREAM_OPEN, status=200, code="invalidClientId", message="clientId 不存在")

    assert await asyncio.to_thread(adapter.stream.client.open_connection) is None
    assert await asyncio.to_thread(adapter.stream.client.open_connection) is None  # inside the back-off: no call

    assert emulator.stream_opens == 1
    [error] = _refusals(caplog)
    assert "HTTP 200 code=invalidClientId message=clientId 不存在" in error
    assert "SCOREBOT_DINGTALK_APP_SECRET" in error


async def test_the_sdks_own_loop_says_a_refusal_once_and_stops_quietly(
    emulator: DingTalkEmulator, http: aiohttp.ClientSession, clock: FakeClock, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    settings = dingtalk_settings(emulator, dingtalk_mode="stream", dingtalk_app_secret="SEKRIT-a-wrong-secret")
    adapter = DingTalkAdapter(settings, http, MemoryTokenStore(), RecordingSink(), clock=clock)

    await adapter.start()
    async with asyncio.timeout(WAIT):
        await emulator.stream_opened.wait()
        await adapter.close()

    # Ours, naming the settings; not the SDK's "open connection failed", nor its cancellation.
    [error] = _refusals(caplog)
    assert error.startswith("钉钉拒绝了 Stream 连接（HTTP 401")
    assert [r.getMessage() for r in caplog.records if r.name == SDK_LOGGER and r.levelno >= logging.WARNING] == []


def test_the_sdk_client_logs_through_the_filtered_logger(stream_adapter: tuple[DingTalkAdapter, Any]):
    adapter, _ = stream_adapter
    assert adapter.stream is not None
    assert adapter.stream.client.logger is logging.getLogger(SDK_LOGGER)


async def test_the_sdks_log_lines_hide_the_ticket_session_webhooks_and_tokens(
    stream_adapter: tuple[DingTalkAdapter, Any], caplog: pytest.LogCaptureFixture
):
    # Regression: the SDK's start() logged "endpoint is {..., 'ticket': ...}" at INFO through
    # our logger, and frames of unknown topics whole (session webhook included).
    caplog.set_level(logging.DEBUG)
    adapter, _ = stream_adapter
    assert adapter.stream is not None
    sdk = adapter.stream.client.logger
    unknown = payload("stream_robot_frame.json")
    unknown["headers"]["topic"] = "/v1.0/im/bot/unknown"
    connection = {"endpoint": "wss://wss-open-connection.dingtalk.com:443/connect", "ticket": "SEKRIT-ticket-5f2a"}

    # As DingTalkStreamClient logs them (0.24.3: start, route_message, upload_to_dingtalk).
    sdk.info("endpoint is %s", connection)
    sdk.warning("unknown callback message topic, topic=%s, message=%s", unknown["headers"]["topic"], unknown)
    sdk.error(
        "upload to dingtalk failed, error=401 Client Error: Unauthorized for url: "
        "https://oapi.dingtalk.com/media/upload?access_token=SEKRIT-access-token-77, response.text="
    )
    try:
        raise ValueError("wss://gw.dingtalk.com/connect?ticket=SEKRIT-ticket-5f2a refused")
    except ValueError as e:
        sdk.exception("unknown exception", e)  # an argument and no placeholder, as the SDK does
    # Its websocket library's handshake at DEBUG.
    logging.getLogger(WEBSOCKETS_LOGGER).debug("> GET %s HTTP/1.1", "/connect?ticket=SEKRIT-ticket-5f2a")

    endpoint, frame, upload, unknown_exception, handshake = (r.getMessage() for r in caplog.records)
    assert endpoint == "endpoint is {'endpoint': 'wss://wss-open-connection.dingtalk.com:443/connect', 'ticket': '***'}"
    assert frame.startswith("unknown callback message topic, topic=/v1.0/im/bot/unknown, message={'specVersion'")
    assert '"sessionWebhook": "***"' in frame
    assert upload.endswith("for url: https://oapi.dingtalk.com/media/upload?access_token=***, response.text=")
    assert unknown_exception == "unknown exception: wss://gw.dingtalk.com/connect?ticket=*** refused"
    assert handshake == "> GET /connect?ticket=*** HTTP/1.1"
    assert "SEKRIT" not in caplog.text  # tracebacks included
    assert "7b1f0c2e9a4d4e6f8c3b5a7d9e1f2a3b" not in caplog.text  # the frame's session key


def test_the_sdks_loop_can_catch_a_dropped_connection_before_its_first_connection():
    # Regression (seen on `serve` in Stream mode with a wrong secret, stopped before any
    # connection): the SDK catches websockets.exceptions.ConnectionClosedError by that
    # attribute, which websockets sets only once its submodule is imported, so the except
    # clause raised "module 'websockets' has no attribute 'exceptions'", ending the loop
    # with a traceback.  A fresh interpreter: this one imported the submodule long ago.
    probe = "import websockets, bot.dingtalk.stream; print(websockets.exceptions.ConnectionClosedError.__name__)"
    root = Path(__file__).resolve().parents[2]

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=root, timeout=60, check=False
    )

    assert (done.returncode, done.stdout, done.stderr) == (0, "ConnectionClosedError\n", "")
