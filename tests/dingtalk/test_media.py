"""Images and files on DingTalk (emulated): uploaded on the old API, sent by media id, never lost on a webhook group."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.dingtalk import DingTalkAdapter
from bot.dingtalk import constants as c
from bot.dingtalk.errors import MediaRefused, MessageUnsupported
from bot.dingtalk.session import encode
from bot.errors import PlatformError, RateLimited
from bot.events import Platform
from bot.messages import File, Image, Markdown, Outbound, Target, Text
from bot.outbox import OutboxDispatcher
from bot.settings import Settings
from storage import outbox
from storage.engine import session_factory
from storage.models.messaging import OutboxRow, OutboxStatus
from storage.tokens import MemoryTokenStore
from tests.dingtalk.conftest import (
    WEBHOOK_SECRET,
    WEBHOOK_TOKEN,
    FakeClock,
    RecordingSink,
    dingtalk_settings,
    ms,
)
from tests.emulators.dingtalk import DingTalkEmulator, shown

ZHANG = Target.user(Platform.DINGTALK, "ZhangWei")
APP_GROUP = Target.group(Platform.DINGTALK, "cidScor3rsGr0up==")
LEADERS = Target.group(Platform.DINGTALK, "leaders")
LEADERS_CID = "cidL3aD3rsGr0upQw8Zx5Tn1Yg=="

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
XLSX = b"PK\x03\x04" + b"\x14\x00\x06\x00" + b"sheet1" * 200
CHART = Image(filename="排名图-20260302-0900.png", data=PNG)
WORKBOOK = File(filename="2026年第一季度考评排名-20260302-0900.xlsx", data=XLSX)


def leaders_settings(emulator: DingTalkEmulator, *, conversation_id: str | None) -> Settings:
    hook: dict[str, Any] = {"url": emulator.webhook_url(WEBHOOK_TOKEN), "secret": WEBHOOK_SECRET}
    if conversation_id is not None:
        hook["conversation_id"] = conversation_id
    return dingtalk_settings(emulator, dingtalk_robot_webhooks={"leaders": hook})


@pytest.fixture
def linked(
    emulator: DingTalkEmulator, http: aiohttp.ClientSession, clock: FakeClock, sink: RecordingSink
) -> DingTalkAdapter:
    """An adapter whose leaders' webhook group also names the app robot's conversation."""
    settings = leaders_settings(emulator, conversation_id=LEADERS_CID)
    return DingTalkAdapter(settings, http, MemoryTokenStore(), sink, clock=clock)


# --- one-to-one ----------------------------------------------------------------


async def test_an_image_to_a_member_is_uploaded_then_sent_by_its_media_id(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    result = await adapter.send(Outbound(target=ZHANG, message=CHART))

    [upload] = emulator.uploads
    assert (upload.media_type, upload.form_type) == ("image", "image")
    assert upload.filename == "排名图-20260302-0900.png"  # UTF-8, not percent-encoded
    assert upload.data == PNG
    [sent] = emulator.one_to_one
    assert sent.user_ids == ["ZhangWei"]
    assert sent.msg_key == "sampleImageMsg"
    assert sent.param == {"photoURL": upload.media_id}
    assert shown(sent) == "[图片]"
    assert emulator.token_calls == 1  # one app token for both hosts
    assert result.platform_message_id is not None
    assert result.detail == "robot image media"


async def test_a_file_to_a_member_carries_its_name_and_type(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    await adapter.send(Outbound(target=ZHANG, message=WORKBOOK))

    [upload] = emulator.uploads
    assert upload.media_type == "file"
    assert upload.data == XLSX
    [sent] = emulator.one_to_one
    assert sent.msg_key == "sampleFile"
    assert sent.param == {
        "mediaId": upload.media_id,
        "fileName": "2026年第一季度考评排名-20260302-0900.xlsx",
        "fileType": "xlsx",
    }
    assert emulator.media(sent.param["mediaId"]).data == XLSX


async def test_media_in_answer_to_a_message_skips_the_session_webhook(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, clock: FakeClock
):
    # A session webhook takes no uploaded media: the API reaches the same chat.
    token = encode(emulator.session_webhook("s-zhang-1"), ms(clock) + 60_000)

    await adapter.send(Outbound(target=ZHANG, message=CHART, reply_token=token))

    assert emulator.session_posts == []
    assert [m.msg_key for m in emulator.one_to_one] == ["sampleImageMsg"]


# --- groups ----------------------------------------------------------------------


@pytest.mark.parametrize(("message", "msg_key"), [(CHART, "sampleImageMsg"), (WORKBOOK, "sampleFile")])
async def test_media_to_an_app_robot_group_goes_to_its_conversation(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, message: Image | File, msg_key: str
):
    await adapter.send(Outbound(target=APP_GROUP, message=message))

    assert emulator.one_to_one == []
    [sent] = emulator.group_messages
    assert sent.conversation_id == "cidScor3rsGr0up=="
    assert sent.msg_key == msg_key
    [upload] = emulator.uploads
    assert upload.data == message.data


async def test_a_webhook_group_with_a_conversation_id_gets_media_through_the_app_robot(
    linked: DingTalkAdapter, emulator: DingTalkEmulator
):
    for message in (Markdown(content="## 本季度排名\n1. 城关镇"), CHART, WORKBOOK):
        await linked.send(Outbound(target=LEADERS, message=message))

    # Text still goes to the custom robot; the media to the same group by the app robot.
    assert [p.body["msgtype"] for p in emulator.webhook_posts] == ["markdown"]
    assert [(m.conversation_id, m.msg_key) for m in emulator.group_messages] == [
        (LEADERS_CID, "sampleImageMsg"),
        (LEADERS_CID, "sampleFile"),
    ]
    assert [u.data for u in emulator.uploads] == [PNG, XLSX]
    assert emulator.group_messages[1].param["fileName"] == WORKBOOK.filename


@pytest.mark.parametrize("message", [CHART, WORKBOOK])
async def test_a_webhook_group_without_a_conversation_id_refuses_media_saying_what_to_configure(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, message: Image | File
):
    with pytest.raises(MessageUnsupported) as caught:
        await adapter.send(Outbound(target=LEADERS, message=message))

    error = caught.value
    assert not error.transient
    assert message.filename in error.user_message
    assert "SCOREBOT_DINGTALK_ROBOT_WEBHOOKS" in error.user_message
    assert "conversation_id" in error.user_message
    assert "leaders" in error.user_message
    # Nothing uploaded, nothing posted, not even a token fetched.
    assert emulator.uploads == []
    assert emulator.webhook_posts == emulator.group_messages == emulator.one_to_one == []
    assert emulator.token_calls == 0


def test_media_for_a_linked_webhook_group_draws_from_the_app_robot_groups_bucket(linked: DingTalkAdapter):
    text = linked.rate_key(Outbound(target=LEADERS, message=Text(content="x")))
    image = linked.rate_key(Outbound(target=LEADERS, message=CHART))

    assert text is not None
    assert text[0].startswith("dingtalk:webhook:")
    assert image == (f"dingtalk:group:{LEADERS_CID}", c.GROUP_RATE)


# --- refused before any call ------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "limit"),
    [
        (Image(filename="排名.png", data=b"\x89PNG" + b"\x00" * c.IMAGE_MAX_BYTES), "20.0 MB"),
        (File(filename="全部材料.zip", data=b"PK" + b"\x00" * c.FILE_MAX_BYTES), "20.0 MB"),
    ],
    ids=["image", "file"],
)
async def test_oversize_media_is_refused_before_any_call(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, message: Image | File, limit: str
):
    with pytest.raises(MediaRefused) as caught:
        await adapter.send(Outbound(target=ZHANG, message=message))

    assert not caught.value.transient
    assert message.filename in caught.value.user_message
    assert f"超过钉钉 {limit} 的上限" in caught.value.user_message
    assert emulator.uploads == []
    assert emulator.one_to_one == []
    assert emulator.token_calls == 0


async def test_media_at_the_limit_goes_out(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    await adapter.send(Outbound(target=ZHANG, message=File(filename="汇总.pdf", data=b"%" * c.FILE_MAX_BYTES)))

    [upload] = emulator.uploads
    assert len(upload.data) == c.FILE_MAX_BYTES


async def test_without_the_check_dingtalk_itself_refuses_an_oversize_upload(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    # The check behind the tests above: the emulator does enforce the upload limit.
    with pytest.raises(MediaRefused) as caught:
        await adapter.client.upload_media("file", "全部材料.zip", b"\x00" * (c.FILE_MAX_BYTES + 1))

    assert caught.value.errcode == 40006
    assert emulator.uploads == []


@pytest.mark.parametrize(
    ("message", "words"),
    [
        (Image(filename="排名.svg", data=b"<svg/>"), "格式的图片"),
        (File(filename="排名.csv", data=b"a,b\n1,2\n"), "格式的文件"),
        (File(filename="排名", data=b"PK\x03\x04"), "格式的文件"),
        (Image(filename="排名.png", data=b""), "内容为空"),
    ],
)
async def test_media_dingtalk_would_not_take_is_refused_before_any_call(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator, message: Image | File, words: str
):
    with pytest.raises(MediaRefused) as caught:
        await adapter.send(Outbound(target=ZHANG, message=message))

    assert words in caught.value.user_message
    assert not caught.value.transient
    assert emulator.uploads == []


# --- the upload call's own answers ---------------------------------------------------


async def test_a_refused_token_on_the_upload_is_refreshed_and_the_image_goes_out_once(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    await adapter.send(Outbound(target=ZHANG, message=Text(content="排名已发布")))
    emulator.expire_tokens()  # the old API now answers errcode 40014

    await adapter.send(Outbound(target=ZHANG, message=CHART))

    assert emulator.token_calls == 2
    assert len(emulator.uploads) == 1
    assert [m.msg_key for m in emulator.one_to_one] == ["sampleText", "sampleImageMsg"]


async def test_an_upload_token_refused_twice_is_transient_and_nothing_is_sent(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    emulator.fail_next("/media/upload", times=2, errcode=42001, errmsg="access_token超时")

    with pytest.raises(PlatformError) as caught:
        await adapter.send(Outbound(target=ZHANG, message=CHART))

    assert caught.value.transient
    assert emulator.token_calls == 2
    assert emulator.one_to_one == []


@pytest.mark.parametrize(
    ("errcode", "error", "transient"),
    [
        (40006, MediaRefused, False),  # DingTalk says the size is wrong after all
        (90018, RateLimited, True),
        (-1, PlatformError, True),
        (60011, PlatformError, False),
    ],
)
async def test_upload_errcodes_map_to_typed_errors(
    adapter: DingTalkAdapter,
    emulator: DingTalkEmulator,
    errcode: int,
    error: type[PlatformError],
    transient: bool,
):
    emulator.fail_next("/media/upload", errcode=errcode, errmsg="refused")

    with pytest.raises(error) as caught:
        await adapter.send(Outbound(target=ZHANG, message=WORKBOOK))

    assert caught.value.transient is transient
    assert caught.value.errcode == errcode
    assert emulator.one_to_one == []


async def test_an_upload_answer_without_a_media_id_is_transient(adapter: DingTalkAdapter, emulator: DingTalkEmulator):
    emulator.fail_next("/media/upload", errcode=0, errmsg="ok")

    with pytest.raises(PlatformError) as caught:
        await adapter.send(Outbound(target=ZHANG, message=CHART))

    assert caught.value.transient
    assert emulator.one_to_one == []


# --- the ranking push through the outbox ------------------------------------------------


async def _push_and_drain(engine: AsyncEngine, adapter: DingTalkAdapter, clock: FakeClock) -> dict[str, str]:
    sessions = session_factory(engine)
    dispatcher = OutboxDispatcher(sessions, {Platform.DINGTALK: adapter}, clock=clock)
    async with sessions.begin() as s:
        for message in (Markdown(content="## 本季度排名\n1. 城关镇 95.5"), CHART, WORKBOOK):
            await outbox.enqueue(s, Outbound(target=LEADERS, message=message), clock())
    await dispatcher.run_once()
    async with sessions() as s:
        rows = (await s.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
    return {outbox.decode(row).message.kind: f"{row.status} {row.last_error or ''}".strip() for row in rows}


async def test_the_ranking_push_reaches_a_linked_webhook_group_whole(
    engine: AsyncEngine, linked: DingTalkAdapter, emulator: DingTalkEmulator, clock: FakeClock
):
    statuses = await _push_and_drain(engine, linked, clock)

    assert statuses == {"markdown": OutboxStatus.SENT, "image": OutboxStatus.SENT, "file": OutboxStatus.SENT}
    assert len(emulator.webhook_posts) == 1
    assert [m.msg_key for m in emulator.group_messages] == ["sampleImageMsg", "sampleFile"]


async def test_the_ranking_push_to_an_unlinked_webhook_group_fails_the_media_visibly(
    engine: AsyncEngine, adapter: DingTalkAdapter, emulator: DingTalkEmulator, clock: FakeClock
):
    statuses = await _push_and_drain(engine, adapter, clock)

    assert statuses["markdown"] == OutboxStatus.SENT
    for kind in ("image", "file"):
        assert statuses[kind].startswith(OutboxStatus.FAILED)
        assert "conversation_id" in statuses[kind]  # what an admin reads in the outbox
    assert emulator.uploads == []
    assert emulator.group_messages == []
