"""End to end over real HTTP on loopback: sandbox page → sink → handler → outbox → sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.adapter import SendResult
from bot.app import CLOCK, EVENTS, OUTBOX, SESSIONS, AdapterFactory, create_app
from bot.deps import AdapterDeps
from bot.messages import Button, Card, Outbound
from bot.sandbox.adapter import SandboxAdapter
from bot.settings import Settings
from handlers.base import Context, Handler
from handlers.common import NOT_IN_DIRECTORY
from storage.models.messaging import InboundEventRow, OutboxRow, OutboxStatus, SandboxDeliveryRow
from tests.messaging.fakes import FakeClock

WAIT = "5"  # long-poll bound: the answer comes as soon as the delivery does


def _settings(db_url: str, **kw: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, sandbox=True, shutdown_grace_seconds=0, **kw
    )


@asynccontextmanager
async def running(
    db_url: str,
    *,
    clock: FakeClock | None = None,
    handler: Handler | None = None,
    extra_adapters: Sequence[AdapterFactory] = (),
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_app(_settings(db_url), clock=clock, handler=handler, extra_adapters=extra_adapters)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def _say(client: TestClient[Any, Any], user: str, text: str, msg_id: str, **kw: Any) -> Any:
    body = {"client_msg_id": msg_id, "user_id": user, "kind": "text", "text": text, **kw}
    response = await client.post("/sandbox/api/events", json=body)
    assert response.status == 200, await response.text()
    return (await response.json())["accepted"]


async def _inbox(client: TestClient[Any, Any], user: str, after: int = 0, kind: str = "user") -> list[dict[str, Any]]:
    response = await client.get(
        "/sandbox/api/messages", params={"kind": kind, "id": user, "after": after, "wait": WAIT}
    )
    assert response.status == 200
    messages: list[dict[str, Any]] = (await response.json())["messages"]
    return messages


async def _settle(app: web.Application) -> None:
    """Wait until every event is handled and no outbox row is due any more."""
    await app[EVENTS].join()
    for _ in range(100):
        await app[OUTBOX].run_once()  # waits for a pass already running
        async with app[SESSIONS]() as s:
            due = await s.scalar(
                select(func.count()).where(
                    OutboxRow.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                    OutboxRow.next_attempt_at <= app[CLOCK](),
                )
            )
        if not due:
            return
    raise AssertionError("outbox did not drain")


async def _count(app: web.Application, model: Any) -> int:
    async with app[SESSIONS]() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_help_goes_in_through_the_page_and_comes_back(db_url: str) -> None:
    async with running(db_url) as client:
        assert await _say(client, "d27a", "帮助", "c1") is True  # a scorer of the sample directory
        (message,) = await _inbox(client, "d27a")
        view = message["view"]
        assert view["kind"] == "text"
        assert view["text"].startswith("【平安考评助手】\n任务：本部门的评分项")
        assert await _inbox(client, "li", after=0) == []


async def test_the_same_message_posted_three_times_takes_effect_once(db_url: str) -> None:
    async with running(db_url) as client:
        accepted = [await _say(client, "zhang", "你好", "same-id") for _ in range(3)]
        assert accepted == [True, False, False]
        app = client.server.app
        assert app is not None
        await _settle(app)
        messages = await _inbox(client, "zhang")
        # zhang is not in the directory: one polite line, once.
        assert [m["view"]["text"] for m in messages] == [NOT_IN_DIRECTORY]
        assert await _count(app, InboundEventRow) == 1
        assert await _count(app, OutboxRow) == 1
        assert await _count(app, SandboxDeliveryRow) == 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not json", "请求内容有误"),
        (b'{"user_id": "zhang", "kind": "text", "text": "hi"}', "client_msg_id"),
        (b'{"client_msg_id": "x", "user_id": "zhang", "kind": "text", "text": " "}', "不能为空"),
        (b'{"client_msg_id": "x", "user_id": "a b", "kind": "text", "text": "hi"}', "user_id"),
        (b'{"client_msg_id": "x", "user_id": "z", "kind": "card_action"}', "action_key"),
        (b'{"client_msg_id": "x", "user_id": "z", "kind": "text", "text": "hi", "x": 1}', "x"),
    ],
)
async def test_a_bad_body_is_refused_with_a_clear_400_and_nothing_stored(db_url: str, body: bytes, says: str) -> None:
    async with running(db_url) as client:
        response = await client.post("/sandbox/api/events", data=body, headers={"Content-Type": "application/json"})
        assert response.status == 400
        assert says in (await response.json())["error"]
        wrong_method = await client.get("/sandbox/api/events")
        assert wrong_method.status == 405
        app = client.server.app
        assert app is not None
        assert await _count(app, InboundEventRow) == 0


async def test_a_card_button_click_comes_back_as_an_action_and_updates_the_card(
    db_url: str,
) -> None:
    async def handler(ctx: Context) -> None:
        if ctx.event.kind == "card_action":
            await ctx.reply(
                Card(title="第12项 · 市教育局", lines=(f"已记录：{ctx.event.action_key}",)),
                in_place=True,
            )
        else:
            buttons = (Button(text="满分", key="5"), Button(text="4", key="4"))
            await ctx.reply(Card(title="第12项 · 市教育局", buttons=buttons, card_id="t1"))

    async with running(db_url, handler=handler) as client:
        await _say(client, "zhang", "任务", "c1")
        (card,) = await _inbox(client, "zhang")
        assert [b["key"] for b in card["view"]["buttons"]] == ["5", "4"]
        click = {
            "client_msg_id": "c2",
            "user_id": "zhang",
            "kind": "card_action",
            "action_key": card["view"]["buttons"][0]["key"],
            "card_id": card["view"]["card_id"],
            "card_delivery": card["id"],
        }
        response = await client.post("/sandbox/api/events", json=click)
        assert response.status == 200
        (update,) = await _inbox(client, "zhang", after=card["id"])
        assert update["view"]["replaces"] == card["id"]
        assert update["view"]["lines"] == ["已记录：5"]


async def test_a_leader_asks_in_the_group_and_the_answer_lands_in_the_group_view(
    db_url: str,
) -> None:
    async with running(db_url) as client:
        await _say(client, "leader1", "帮助", "g1", chat_id="leaders")
        (message,) = await _inbox(client, "leaders", kind="group")
        assert message["view"]["kind"] == "text"
        assert await (await client.get("/sandbox/api/groups")).json() == ["leaders"]


async def test_the_page_and_its_assets_are_served_by_the_bot(db_url: str) -> None:
    async with running(db_url) as client:
        page = await client.get("/sandbox")
        assert page.status == 200
        html = await page.text()
        assert "/sandbox/static/sandbox.js" in html
        assert "http" not in html.replace("http-equiv", "")  # no external assets
        for asset in ("sandbox.js", "sandbox.css"):
            assert (await client.get(f"/sandbox/static/{asset}")).status == 200
        assert (await client.get("/sandbox/static/secret.py")).status == 404
        members = await (await client.get("/sandbox/api/members")).json()
        assert members[0] == {
            "user_id": "admin",
            "name": "王科长",
            "department": members[0]["department"],
            "role": "管理员",
        }
        assert {"领导", "评分人"} <= {m["role"] for m in members}
        assert (await client.get("/sandbox/api/messages", params={"kind": "x"})).status == 400


async def test_an_event_stored_but_not_handled_before_a_crash_is_handled_after_restart(
    db_url: str,
) -> None:
    started = asyncio.Event()

    async def hangs(ctx: Context) -> None:
        started.set()
        await asyncio.Event().wait()

    async with running(db_url, handler=hangs) as client:
        await _say(client, "zhang", "你好", "c1")
        await asyncio.wait_for(started.wait(), float(WAIT))
    # Shut down mid-handling; a new app on the same database picks it up.
    async with running(db_url) as client:
        messages = await _inbox(client, "zhang")
        assert [m["view"]["text"] for m in messages] == [NOT_IN_DIRECTORY]  # zhang is not in the directory
        assert await _say(client, "zhang", "你好", "c1") is False


async def test_a_reply_stored_but_not_sent_before_a_crash_is_sent_once_after_restart(
    db_url: str,
) -> None:
    async with running(db_url) as client:
        app = client.server.app
        assert app is not None
        await app[OUTBOX].stop()  # the sender never gets to it
        await _say(client, "zhang", "你好", "c1")
        await app[EVENTS].join()
        assert await _count(app, SandboxDeliveryRow) == 0
    async with running(db_url) as client:
        assert len(await _inbox(client, "zhang")) == 1
        app = client.server.app
        assert app is not None
        await _settle(app)
        assert await _count(app, SandboxDeliveryRow) == 1


class _StuckSandbox(SandboxAdapter):
    """Takes the send and never answers: the process dies mid-send."""

    entered: asyncio.Event

    async def send(self, outbound: Outbound, *, part: int = 0, resend: bool = False) -> SendResult:
        self.entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_send_cut_off_by_a_crash_is_sent_once_after_restart_and_lease(
    db_url: str,
) -> None:
    entered = asyncio.Event()

    def stuck(deps: AdapterDeps) -> SandboxAdapter:
        adapter = _StuckSandbox(sink=deps.sink, sessions=deps.sessions, clock=deps.clock)
        adapter.entered = entered
        return adapter

    clock = FakeClock()
    async with running(db_url, clock=clock, extra_adapters=[stuck]) as client:
        await _say(client, "zhang", "你好", "c1")
        await asyncio.wait_for(entered.wait(), float(WAIT))
    async with running(db_url, clock=clock) as client:
        app = client.server.app
        assert app is not None
        assert await app[OUTBOX].run_once() == 0  # still leased to the dead sender
        clock.advance(_settings(db_url).outbox_lease_seconds)
        app[OUTBOX].wake()
        assert len(await _inbox(client, "zhang")) == 1
        await _settle(app)
        assert await _count(app, SandboxDeliveryRow) == 1
