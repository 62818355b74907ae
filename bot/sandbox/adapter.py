"""The sandbox adapter: the chat page's routes, and "sending" as stored deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from functools import partial
from importlib import resources
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.adapter import Adapter, EventSink, SendResult
from bot.clock import Clock
from bot.deps import AdapterDeps
from bot.events import Platform
from bot.messages import Outbound, TargetKind
from bot.sandbox.events import PostedEvent
from bot.sandbox.members import Member, MemberLister
from bot.sandbox.render import render
from scoring_core.errors import ScorebotError
from storage import deliveries

_STATIC = {
    "sandbox.js": "application/javascript",
    "sandbox.css": "text/css",
}
MAX_WAIT = 30.0  # seconds a long-poll may hang
DEFAULT_GROUP = "leaders"


def _load_assets() -> dict[str, bytes]:
    """The page and its files, read once when the adapter is built: never in a request."""
    folder = resources.files("bot.sandbox").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in ("index.html", *_STATIC)}


class SandboxAdapter(Adapter):
    platform = Platform.SANDBOX

    def __init__(
        self,
        *,
        sink: EventSink,
        sessions: Callable[[], async_sessionmaker[Any]],
        clock: Clock,
        members: MemberLister = list,
    ) -> None:
        self._sink = sink
        self._sessions = sessions
        self._clock = clock
        self._members = members
        self._delivered = asyncio.Event()
        self._assets = _load_assets()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/sandbox", self._page),
            web.get("/sandbox/static/{name}", self._asset),
            web.get("/sandbox/api/members", self._list_members),
            web.get("/sandbox/api/groups", self._list_groups),
            web.post("/sandbox/api/events", self._post_event),
            web.get("/sandbox/api/messages", self._messages),
        ]

    async def send(self, outbound: Outbound, *, part: int = 0, resend: bool = False) -> SendResult:
        view = json.dumps(render(outbound), ensure_ascii=False)
        async with self._sessions().begin() as session:
            delivery_id = await deliveries.add(
                session,
                target_kind=outbound.target.kind.value,
                target_id=outbound.target.id,
                view=view,
                outbox_id=None,
                now=self._clock(),
            )
        # Wake every long-poll; each re-reads its own target.
        self._delivered.set()
        self._delivered = asyncio.Event()
        return SendResult(platform_message_id=str(delivery_id))

    # -- routes ---------------------------------------------------------------

    async def _page(self, _request: web.Request) -> web.Response:
        return web.Response(body=self._assets["index.html"], content_type="text/html", charset="utf-8")

    async def _asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _STATIC:
            raise web.HTTPNotFound()
        return web.Response(body=self._assets[name], content_type=_STATIC[name], charset="utf-8")

    async def _list_members(self, _request: web.Request) -> web.Response:
        return _json([_member_json(m) for m in self._members()])

    async def _list_groups(self, _request: web.Request) -> web.Response:
        async with self._sessions()() as session:
            known = await deliveries.targets(session, TargetKind.GROUP.value)
        return _json(sorted({DEFAULT_GROUP, *known}))

    async def _post_event(self, request: web.Request) -> web.Response:
        try:
            posted = PostedEvent.model_validate_json(await request.read())
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            return _json({"error": f"请求内容有误：{problems}"}, status=400)
        try:
            accepted = await self._sink.accept(posted.to_event(self._clock()))
        except ScorebotError as exc:  # not recorded (the database is busy): the page may post again
            return _json({"error": f"暂未收到，请重发（{exc.user_message}）"}, status=503)
        return _json({"accepted": accepted})

    async def _messages(self, request: web.Request) -> web.Response:
        """Deliveries to one user or group after ``after``; waits up to ``wait`` s for one."""
        try:
            kind = TargetKind(request.query.get("kind", TargetKind.USER.value))
            target_id = request.query["id"]
            after = int(request.query.get("after", "0"))
            wait = min(max(float(request.query.get("wait", "0")), 0.0), MAX_WAIT)
        except (KeyError, ValueError):
            return _json(
                {"error": "参数有误：需要 kind=user|group、id，可选 after（整数）和 wait（秒）"},
                status=400,
            )
        rows = await self._read(kind, target_id, after)
        if not rows and wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._delivered.wait(), wait)
            rows = await self._read(kind, target_id, after)
        return _json({"messages": rows})

    async def _read(self, kind: TargetKind, target_id: str, after: int) -> list[dict[str, Any]]:
        async with self._sessions()() as session:
            rows = await deliveries.after(session, kind.value, target_id, after)
        return [{"id": r.id, "at": r.created_at.isoformat(), "view": json.loads(r.view)} for r in rows]


def _json(data: Any, *, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=partial(json.dumps, ensure_ascii=False))


def _member_json(member: Member) -> dict[str, str]:
    return {
        "user_id": member.user_id,
        "name": member.name,
        "department": member.department,
        "role": member.role,
    }


def create_adapter(deps: AdapterDeps, members: MemberLister = list) -> SandboxAdapter:
    return SandboxAdapter(sink=deps.sink, sessions=deps.sessions, clock=deps.clock, members=members)
