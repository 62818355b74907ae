"""Leaders' groups through custom robot webhooks: signing, message types, pacing through the outbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapter import RateLimit
from bot.dingtalk import DingTalkAdapter
from bot.dingtalk import constants as c
from bot.dingtalk.errors import DingTalkCredentialsError
from bot.dingtalk.signing import sign, signed_webhook_url
from bot.errors import RateLimited
from bot.events import Platform
from bot.messages import Button, Card, Markdown, Outbound, Target, Text
from bot.outbox import OutboxDispatcher
from storage import outbox
from storage.engine import session_factory
from storage.models.messaging import OutboxRow, OutboxStatus
from storage.tokens import MemoryTokenStore
from tests.dingtalk.conftest import WEBHOOK_SECRET, WEBHOOK_TOKEN, FakeClock, RecordingSink, dingtalk_settings
from tests.emulators.dingtalk import DingTalkEmulator, dingtalk_sign

LEADERS = Target.group(Platform.DINGTALK, "leaders")


def test_the_signature_matches_dingtalks_recipe():
    # base64(HMAC-SHA256(secret, "<timestamp ms>\n<secret>")), checked against a fixed vector.
    assert sign("1772413230000", WEBHOOK_SECRET) == "B838nVlZoSCtKm8IqMS0TNacq4pIGUC71wdmEMUOJP8="
    assert sign("1772413230000", WEBHOOK_SECRET) == dingtalk_sign("1772413230000", WEBHOOK_SECRET)


def test_the_signed_url_carries_timestamp_and_url_encoded_sign(clock: FakeClock):
    url = signed_webhook_url("https://oapi.dingtalk.com/robot/send?access_token=abc", WEBHOOK_SECRET, now=clock.now)

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "oapi.dingtalk.com", "/robot/send")
    assert "%2B" in parts.query or "%2F" in parts.query or "%3D" in parts.query  # base64 is URL-encoded
    query = parse_qs(parts.query)
    assert query["access_token"] == ["abc"]
    assert query["timestamp"] == ["1772413230000"]
    assert query["sign"] == [sign("1772413230000", WEBHOOK_SECRET)]


def test_signing_again_replaces_the_old_signature(clock: FakeClock):
    once = signed_webhook_url("https://x/robot/send?access_token=abc", WEBHOOK_SECRET, now=clock.now)
    clock.advance(3600)
    twice = signed_webhook_url(once, WEBHOOK_SECRET, now=clock.now)

    query = parse_qs(urlsplit(twice).query)
    assert len(query["timestamp"]) == len(query["sign"]) == 1
    assert query["timestamp"] == ["1772416830000"]


def test_a_webhook_without_a_secret_is_used_as_it_is(clock: FakeClock):
    assert signed_webhook_url("https://x/robot/send?access_token=abc", None, now=clock.now) == (
        "https://x/robot/send?access_token=abc"
    )


async def test_text_markdown_and_cards_go_to_the_leaders_webhook_signed(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    card = Card(title="本周排名", fields=(("第一", "城关镇"),), buttons=(Button(text="详情", key="排名 详情"),))

    for message in (Text(content="本周评分已截止"), Markdown(content="**本周排名**\n1. 城关镇"), card):
        await adapter.send(Outbound(target=LEADERS, message=message))

    assert emulator.token_calls == 0  # custom robots need no app token
    assert emulator.one_to_one == emulator.group_messages == []
    bodies = [p.body for p in emulator.webhook_posts]
    assert [p.access_token for p in emulator.webhook_posts] == [WEBHOOK_TOKEN] * 3
    assert bodies[0] == {"msgtype": "text", "text": {"content": "本周评分已截止"}}
    assert bodies[1] == {"msgtype": "markdown", "markdown": {"title": "本周排名", "text": "**本周排名**\n\n1．城关镇"}}
    # A custom robot only posts: no buttons, no commands it could never hear.
    assert bodies[2]["msgtype"] == "markdown"
    assert "第一：城关镇" in bodies[2]["markdown"]["text"]
    assert "排名 详情" not in bodies[2]["markdown"]["text"]


async def test_a_throttled_webhook_is_rate_limited_for_ten_minutes(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    emulator.fail_next("/robot/send", errcode=410100, errmsg="send too fast, exceed 20 times per minute")

    with pytest.raises(RateLimited) as caught:
        await adapter.send(Outbound(target=LEADERS, message=Text(content="排名")))

    assert caught.value.retry_after == c.RETRY_AFTER_WEBHOOK_THROTTLED


async def test_a_wrong_webhook_secret_is_a_configuration_error(
    emulator: DingTalkEmulator, http: aiohttp.ClientSession, clock: FakeClock, sink: RecordingSink
):
    settings = dingtalk_settings(
        emulator,
        dingtalk_robot_webhooks={"leaders": {"url": emulator.webhook_url(WEBHOOK_TOKEN), "secret": "SECwrong"}},
    )
    adapter = DingTalkAdapter(settings, http, MemoryTokenStore(), sink, clock=clock)

    with pytest.raises(DingTalkCredentialsError) as caught:
        await adapter.send(Outbound(target=LEADERS, message=Text(content="排名")))

    assert not caught.value.transient
    assert caught.value.errcode == 310000


def test_rate_keys_are_per_webhook_per_group_conversation_and_per_member(
    emulator: DingTalkEmulator, http: aiohttp.ClientSession, clock: FakeClock, sink: RecordingSink
):
    hook = {"url": emulator.webhook_url(WEBHOOK_TOKEN), "secret": WEBHOOK_SECRET}
    settings = dingtalk_settings(emulator, dingtalk_robot_webhooks={"leaders": hook, "leaders-copy": hook})
    adapter = DingTalkAdapter(settings, http, MemoryTokenStore(), sink, clock=clock)

    def key(target: Target, **kw: Any) -> tuple[str, RateLimit] | None:
        return adapter.rate_key(Outbound(target=target, message=Text(content="x"), **kw))

    leaders = key(LEADERS)
    copy = key(Target.group(Platform.DINGTALK, "leaders-copy"))
    assert leaders is not None
    assert leaders == copy  # one webhook, one bucket, whatever the group is called
    assert leaders[1] == c.WEBHOOK_RATE
    assert (leaders[1].per_period, leaders[1].period) == (20, 60.0)
    assert WEBHOOK_TOKEN not in leaders[0]  # the key is logged: a digest, not the token
    assert key(Target.group(Platform.DINGTALK, "cidAbc==")) == ("dingtalk:group:cidAbc==", c.GROUP_RATE)
    assert key(Target.user(Platform.DINGTALK, "ZhangWei")) == ("dingtalk:user:ZhangWei", c.MEMBER_RATE)


async def test_a_push_of_25_messages_respects_the_webhook_limit_without_loss(
    engine: AsyncEngine, adapter: DingTalkAdapter, emulator: DingTalkEmulator, clock: FakeClock
):
    sessions = session_factory(engine)
    dispatcher = OutboxDispatcher(sessions, {Platform.DINGTALK: adapter}, clock=clock)
    async with sessions.begin() as s:
        for i in range(25):
            await outbox.enqueue(s, Outbound(target=LEADERS, message=Text(content=f"第{i}名")), clock())

    start = clock()
    passes = 0
    while len(emulator.webhook_posts) < 25:
        passes += 1
        assert passes < 10, "the outbox did not drain"
        await dispatcher.run_once()
        async with sessions() as s:
            next_at = await outbox.next_due_at(s)
        if next_at is not None and next_at > clock():
            clock.now = next_at  # what the dispatcher's sleep would do, without sleeping

    # The emulator enforces DingTalk's 20 a minute by the signed timestamps: never tripped.
    assert emulator.webhook_refusals == []
    assert [p.body["text"]["content"] for p in emulator.webhook_posts] == [f"第{i}名" for i in range(25)]
    stamps = [p.timestamp_ms for p in emulator.webhook_posts]
    assert all(s is not None for s in stamps)
    first_20 = {s for s in stamps[:20]}
    assert first_20 == {int(start.timestamp() * 1000)}  # a burst of 20 goes at once
    assert min(s for s in stamps[20:] if s is not None) - int(start.timestamp() * 1000) >= 60_000
    async with sessions() as s:
        assert await s.scalar(select(func.count()).where(OutboxRow.status == OutboxStatus.SENT)) == 25


async def test_without_pacing_the_21st_message_in_a_minute_is_throttled(
    adapter: DingTalkAdapter, emulator: DingTalkEmulator
):
    # The check behind the test above: the emulator does enforce DingTalk's limit.
    for i in range(20):
        await adapter.send(Outbound(target=LEADERS, message=Text(content=f"第{i}名")))

    with pytest.raises(RateLimited):
        await adapter.send(Outbound(target=LEADERS, message=Text(content="第20名")))
    assert len(emulator.webhook_refusals) == 1
