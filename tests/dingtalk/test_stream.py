"""Stream mode through the dingtalk-stream SDK's own interfaces: handlers, frames, acks, the connection loop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from dingtalk_stream import AckMessage, CallbackMessage, ChatbotMessage

from bot.dingtalk import DingTalkAdapter
from bot.dingtalk import constants as c
from bot.dingtalk.event import Expected
from bot.dingtalk.stream import CardCallbackHandler, RobotMessageHandler
from bot.events import EventKind, InboundEvent, Platform
from bot.settings import DINGTALK_OAPI_BASE
from storage.errors import StorageError
from storage.tokens import MemoryTokenStore
from tests.dingtalk.conftest import ROBOT_CODE, FakeClock, RecordingSink, dingtalk_settings, ms, payload
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
