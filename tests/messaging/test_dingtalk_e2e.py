"""The whole bot on DingTalk, over loopback: signed callback → sink → handler → outbox → emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import ADAPTERS, create_app
from bot.dingtalk import CALLBACK_PATH
from bot.events import Platform
from bot.messages import Button, Card, Markdown, Text
from bot.settings import Settings
from bot.wecom import CALLBACK_PATH as WECOM_CALLBACK_PATH
from handlers.base import Context
from tests.dingtalk.conftest import APP_KEY, APP_SECRET, ROBOT_CODE, START, FakeClock, ms, payload
from tests.emulators import wecom as wecom_emulator
from tests.emulators.dingtalk import CallbackSender, DingTalkEmulator, robot_message, shown
from tests.handlers.dialogue import directory_on_every_messenger
from tests.messaging.test_sandbox_e2e import _settle
from tests.wecom import conftest as wecom_kit


@pytest.fixture
async def emulator() -> AsyncIterator[DingTalkEmulator]:
    emu = DingTalkEmulator(app_key=APP_KEY, app_secret=APP_SECRET, robot_code=ROBOT_CODE)
    await emu.start()
    yield emu
    await emu.stop()
    assert emu.unexpected == []


def dingtalk_settings(db_url: str, emulator: DingTalkEmulator, **overrides: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        dingtalk_app_key=APP_KEY,
        dingtalk_app_secret=APP_SECRET,
        dingtalk_robot_code=ROBOT_CODE,
        dingtalk_api_base=emulator.url,
        dingtalk_oapi_base=emulator.url,  # session webhooks are taken on this host only
        shutdown_grace_seconds=0,
        # The reminder sweep runs on its own timer: off, so what is sent is only the answers.
        schedules_enabled=False,
        **overrides,
    )


@asynccontextmanager
async def dingtalk_bot(
    db_url: str, emulator: DingTalkEmulator, clock: FakeClock, directory: Path | None = None, **kw: object
) -> AsyncIterator[tuple[web.Application, CallbackSender]]:
    settings = dingtalk_settings(db_url, emulator, **({"directory_path": directory} if directory else {}))
    app = create_app(settings, clock=clock, **kw)  # type: ignore[arg-type]
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield app, CallbackSender(client.session, str(client.make_url(CALLBACK_PATH)), app_secret=APP_SECRET)
    finally:
        await client.close()


async def test_a_signed_message_retried_three_times_is_answered_once(db_url: str, emulator: DingTalkEmulator) -> None:
    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock) as (app, dingtalk):
        assert set(app[ADAPTERS]) == {Platform.DINGTALK}  # no sandbox once DingTalk is configured
        results = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock), times=3)
        assert [r.status for r in results] == [200, 200, 200]
        await _settle(app)
    [sent] = emulator.one_to_one
    assert sent.user_ids == ["ZhangWei"]
    assert sent.msg_key == "sampleText"
    assert "不在考评名录中" in sent.param["content"]  # ZhangWei is not in the sample directory: one polite line


async def test_a_leader_asking_in_the_group_is_answered_in_the_group(db_url: str, emulator: DingTalkEmulator) -> None:
    async def rank(ctx: Context) -> None:
        assert ctx.event.text == "排名"
        await ctx.reply(Markdown(content="**本周排名**\n1. 城关镇 95.5"))

    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock, handler=rank) as (app, dingtalk):
        [result] = await dingtalk.post(payload("group_at_text.json"), timestamp_ms=ms(clock))
        assert result.status == 200
        await _settle(app)
    assert emulator.one_to_one == []
    [sent] = emulator.group_messages
    assert sent.conversation_id == "cidL3aD3rsGr0upQw8Zx5Tn1Yg=="
    assert sent.msg_key == "sampleMarkdown"
    assert "城关镇 95.5" in sent.param["text"]


async def test_an_answer_in_place_goes_to_the_session_webhook(db_url: str, emulator: DingTalkEmulator) -> None:
    async def in_place(ctx: Context) -> None:
        await ctx.reply(Markdown(content="已记录：城关镇 3.5 分"), in_place=True)

    body = payload("one_to_one_text.json")
    body["sessionWebhook"] = emulator.session_webhook("s-zhang")
    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock, handler=in_place) as (app, dingtalk):
        await dingtalk.post(body, timestamp_ms=ms(clock))
        await _settle(app)
    assert emulator.one_to_one == []
    [post] = emulator.session_posts
    assert post.session == "s-zhang"
    assert post.body["markdown"]["text"] == "已记录：城关镇 3.5 分"


async def test_a_forged_callback_changes_nothing(db_url: str, emulator: DingTalkEmulator) -> None:
    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock) as (app, dingtalk):
        [result] = await dingtalk.post(payload("one_to_one_text.json"), timestamp_ms=ms(clock), secret="forged")
        assert result.status == 403
        await _settle(app)
    assert emulator.one_to_one == []


async def test_a_tap_on_a_link_button_is_the_typed_command(db_url: str, emulator: DingTalkEmulator) -> None:
    # How a dialogue script runs on DingTalk: tap(user, key) is say(user, key).
    async def walk(ctx: Context) -> None:
        if ctx.event.text == "评分":
            await ctx.reply(Card(title="第1项 · 城关镇", buttons=(Button(text="5 分", key="5"),)))
        else:
            await ctx.reply(Text(content=f"已记录：{ctx.event.text} 分"))

    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock, handler=walk) as (app, dingtalk):
        for i, text in enumerate(["评分", "5"]):
            body = robot_message("ZhangWei", text, msg_id=f"m{i}", created_ms=ms(clock), robot_code=ROBOT_CODE)
            await dingtalk.post(body, timestamp_ms=ms(clock))
            await _settle(app)
    card, answer = emulator.one_to_one
    assert card.param["singleURL"] == "dtmd://dingtalkclient/sendMessage?content=5"
    assert shown(card).endswith("[5 分]")
    assert shown(answer) == "已记录：5 分"


#: The group of group_at_text.json, where the app robot is @-mentioned.
LEADERS_GROUP = "cidL3aD3rsGr0upQw8Zx5Tn1Yg=="


def group_message(user: str, text: str, *, msg_id: str, clock: FakeClock) -> dict[str, Any]:
    """The recorded group @-message, said by ``user`` (a staff id of the directory)."""
    body = payload("group_at_text.json")
    body.update(
        senderStaffId=user, senderNick=user, msgId=msg_id, createAt=ms(clock), text={"content": f"@平安考评助手 {text}"}
    )
    return body


async def test_a_directory_leader_asking_in_the_group_gets_the_ranking_there_through_the_real_router(
    db_url: str, emulator: DingTalkEmulator, tmp_path: Path
) -> None:
    # Through the app's own handler: the directory names leader1 (a leader) and d27a
    # (a scorer of 市消防救援支队) on DingTalk by those staff ids.
    directory = directory_on_every_messenger(tmp_path / "directory.yaml")
    clock = FakeClock(START)
    async with dingtalk_bot(db_url, emulator, clock, directory=directory) as (app, dingtalk):
        opened = robot_message(
            "admin", "开启考核 3月31日", msg_id="m-open", created_ms=ms(clock), robot_code=ROBOT_CODE
        )
        await dingtalk.post(opened, timestamp_ms=ms(clock))
        await _settle(app)
        before = len(emulator.one_to_one)

        [asked] = await dingtalk.post(
            group_message("leader1", "排名", msg_id="m-rank", clock=clock), timestamp_ms=ms(clock)
        )
        await _settle(app)
        [ranking] = emulator.group_messages
        [refused] = await dingtalk.post(
            group_message("d27a", "排名", msg_id="m-no", clock=clock), timestamp_ms=ms(clock)
        )
        await _settle(app)

    assert (asked.status, refused.status) == (200, 200)
    assert len(emulator.one_to_one) == before  # nothing one-to-one: both answers are in the group
    assert ranking.conversation_id == LEADERS_GROUP
    assert ranking.msg_key == "sampleMarkdown"
    title = "2020年度市综治责任单位平安建设（综治工作）考核 排名"
    assert ranking.param["title"] == title
    # Nothing scored yet: every unit ties first, and reads so (not a list renumbered 1, 2, 3).
    units = ["市委组织部", "市委政法委", "市委编办", "市法院", "市检察院", "市公安局"]
    units += ["市国安局", "市司法局", "市财政局", "市人社局", "市政府办公厅", "市城管局"]
    assert ranking.param["text"] == "\n\n".join(
        [
            f"#### **{title}**",
            "> 暂定排名：尚缺 1826 条评分，按 0 分计",
            *(f"1．{unit} 0（缺57）" for unit in units),
            "第1/3页",
            "可 @我 并回复：下一页（排名 第2页）",
        ]
    )

    [_, no] = emulator.group_messages
    assert no.conversation_id == LEADERS_GROUP
    assert no.msg_key == "sampleText"
    assert no.param == {"content": "只有领导和市委平安办管理员可以查看排名。"}


@pytest.fixture
async def wecom() -> AsyncIterator[wecom_emulator.WeComEmulator]:
    emu = wecom_emulator.WeComEmulator(corp_id=wecom_kit.CORP_ID, secret=wecom_kit.SECRET)
    await emu.start()
    yield emu
    await emu.stop()
    assert emu.unexpected == []


async def test_wecom_and_dingtalk_run_in_one_process_each_member_answered_on_their_own(
    db_url: str, emulator: DingTalkEmulator, wecom: wecom_emulator.WeComEmulator, tmp_path: Path
) -> None:
    # A city on both: one app, both adapters mounted, members mapped per platform in the
    # directory (here every sample member on both, by the same id).
    directory = directory_on_every_messenger(tmp_path / "directory.yaml")
    settings = dingtalk_settings(
        db_url,
        emulator,
        directory_path=directory,
        wecom_corp_id=wecom_kit.CORP_ID,
        wecom_agent_id=wecom_kit.AGENT_ID,
        wecom_secret=wecom_kit.SECRET,
        wecom_token=wecom_kit.TOKEN,
        wecom_aes_key=wecom_kit.AES_KEY,
        wecom_api_base=wecom.url,
    )
    clock = FakeClock(START)
    app = create_app(settings, clock=clock)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        assert set(app[ADAPTERS]) == {Platform.WECOM, Platform.DINGTALK}
        on_wecom = wecom_emulator.CallbackSender(
            client.session,
            str(client.make_url(WECOM_CALLBACK_PATH)),
            token=wecom_kit.TOKEN,
            aes_key=wecom_kit.AES_KEY,
            corp_id=wecom_kit.CORP_ID,
            agent_id=wecom_kit.AGENT_ID,
        )
        on_dingtalk = CallbackSender(client.session, str(client.make_url(CALLBACK_PATH)), app_secret=APP_SECRET)
        said_on_wecom = wecom_emulator.text_callback(
            "d27a",
            "帮助",
            msg_id="7001",
            created=int(clock.now.timestamp()),
            corp_id=wecom_kit.CORP_ID,
            agent_id=wecom_kit.AGENT_ID,
        )
        [w] = await on_wecom.post(said_on_wecom, timestamp=str(int(clock.now.timestamp())))
        said_on_dingtalk = robot_message("d24a", "帮助", msg_id="m-help", created_ms=ms(clock), robot_code=ROBOT_CODE)
        [d] = await on_dingtalk.post(said_on_dingtalk, timestamp_ms=ms(clock))
        assert (w.status, d.status) == (200, 200)
        await _settle(app)
    finally:
        await client.close()

    [to_wecom] = wecom.messages
    [to_dingtalk] = emulator.one_to_one
    assert to_wecom["touser"] == "d27a"
    assert to_dingtalk.user_ids == ["d24a"]
    assert emulator.group_messages == []
    # The same conversation on either: one router, one help for a scorer.
    assert to_wecom["msgtype"] == "text"
    assert to_dingtalk.msg_key == "sampleText"
    assert to_wecom["text"]["content"] == to_dingtalk.param["content"]
    assert to_dingtalk.param["content"].startswith("【平安考评助手】\n任务：本部门的评分项\n评分 12：")
