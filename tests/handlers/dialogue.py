"""A dialogue over the sandbox messenger: people say or tap, the bot answers.

Everything real between the page and the database: the sandbox routes over
loopback HTTP, dedupe, per-user dispatch, the router, the repository, the
outbox and the sandbox deliveries.  Only time is fake (``FakeClock``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import CLOCK, EVENTS, OUTBOX, SESSIONS, create_app
from bot.settings import Settings
from handlers.router import make_router
from storage.models.messaging import OutboxRow, OutboxStatus

#: 2026-12-01 17:00 in Nanchang, a Tuesday.
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def show(view: dict[str, Any]) -> str:
    """A delivery as a person reads it on the page."""
    if view["kind"] in ("text", "markdown"):
        return str(view["text"])
    if view["kind"] == "card":
        lines = [f"【{view['title']}】"]
        if view["description"]:
            lines.append(view["description"])
        lines += [f"{k}：{v}" for k, v in view["fields"]]
        lines += view["lines"]
        if view["buttons"]:
            lines.append(" ".join(f"[{b['text']}]" for b in view["buttons"]))
        return "\n".join(lines)
    return f"（文件 {view['filename']}）"


#: Message ids unique across restarts within a test run (a reused id is a platform retry).
_IDS = count(1)


class Chat:
    """The people of a test talking to one running bot."""

    def __init__(self, client: TestClient[Any, Any], clock: Clock) -> None:
        self.client = client
        self.clock = clock
        self._seen: dict[str, int] = {}
        self.last_card: dict[str, int] = {}
        self.views: dict[str, list[dict[str, Any]]] = {}

    @property
    def app(self) -> web.Application:
        app = self.client.server.app
        assert app is not None
        return app

    async def say(self, user: str, text: str, *, msg_id: str | None = None) -> str:
        """``user`` types ``text``; the bot's answers to them, one after another."""
        await self._post({"kind": "text", "text": text}, user, msg_id)
        return await self.read(user)

    async def tap(self, user: str, key: str) -> str:
        """``user`` taps the button with ``key`` on the last card they got."""
        body: dict[str, Any] = {"kind": "card_action", "action_key": key}
        if user in self.last_card:
            body["card_delivery"] = self.last_card[user]
        await self._post(body, user, None)
        return await self.read(user)

    async def read(self, user: str) -> str:
        """What reached ``user`` since they last looked (answers and notices)."""
        response = await self.client.get(
            "/sandbox/api/messages", params={"kind": "user", "id": user, "after": self._seen.get(user, 0)}
        )
        assert response.status == 200
        messages = (await response.json())["messages"]
        for m in messages:
            self._seen[user] = max(self._seen.get(user, 0), m["id"])
            if m["view"]["kind"] == "card":
                self.last_card[user] = m["id"]
            self.views.setdefault(user, []).append(m["view"])
        return "\n---\n".join(show(m["view"]) for m in messages)

    async def _post(self, body: dict[str, Any], user: str, msg_id: str | None) -> None:
        body = {"client_msg_id": msg_id or f"m{next(_IDS)}", "user_id": user, **body}
        response = await self.client.post("/sandbox/api/events", json=body)
        assert response.status == 200, await response.text()
        await self.settle()

    async def settle(self) -> None:
        """Until every event is handled and no outbox row is due."""
        app = self.app
        await app[EVENTS].join()
        for _ in range(100):
            await app[OUTBOX].run_once()
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


def settings(db_url: str) -> Settings:
    # The reminder sweep runs on its own timer: off, so a dialogue's answers are only the answers.
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, sandbox=True, shutdown_grace_seconds=0, schedules_enabled=False
    )


@asynccontextmanager
async def bot(db_url: str, clock: Clock) -> AsyncIterator[Chat]:
    """The bot's app on loopback with the scoring router; stops (like a restart) on exit."""
    app = create_app(settings(db_url), clock=clock, handler=make_router())
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Chat(client, clock)
    finally:
        await client.close()
