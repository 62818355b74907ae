"""A WeCom stand-in for tests: the API, the group robot and the callback sender.

``WeComEmulator`` is a small aiohttp app on 127.0.0.1 that issues access
tokens (expiring or invalidating them on demand), records every app message,
card update, media upload and robot post, and answers with queued errcodes.
A call it does not know is recorded in ``unexpected`` (the fixture fails the
test on it).  It keeps WeCom's habits that lose messages, so tests see them:
an app message identical to one inside the duplicate-check interval is
dropped when the check is on; a member's messages over 30 a minute are
dropped without an error; a card's response_code works once; a robot
answers 45009 over 20 posts a minute.  Its clock (``clock``, seconds) is the
bot's in tests that move time.  ``CallbackSender`` posts encrypted, signed callbacks to the bot
exactly as WeCom does (wechatpy's ``WeChatCrypto`` encrypts), retries included.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import xml.etree.ElementTree as ET
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.wecom.crypto import signature

VALID, EXPIRED, INVALID = "valid", "expired", "invalid"
#: The emulator's answer to a template card whose task_id was used before (UNCONFIRMED code).
TASK_ID_REUSED = 40058
#: Its answer to an update_template_card whose response_code was used or never issued (UNCONFIRMED code).
RESPONSE_CODE_INVALID = 40035
#: A member takes at most this many app messages a minute; WeCom drops the rest silently.
MEMBER_PER_MINUTE = 30
#: A group robot takes at most this many posts a minute, then answers 45009.
ROBOT_PER_MINUTE = 20


@dataclass
class Upload:
    media_type: str
    filename: str
    data: bytes
    media_id: str = ""


@dataclass
class RobotPost:
    key: str
    body: dict[str, Any]


@dataclass
class Held:
    """A call the emulator holds unanswered (the bot is killed meanwhile), then lets go."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)  # the emulator has dealt with it
    #: on release: whether WeCom had taken the message (delivered) though nobody got the answer
    delivered: bool = False

    def release(self, *, delivered: bool) -> None:
        self.delivered = delivered
        self.released.set()


@dataclass
class WeComEmulator:
    corp_id: str
    secret: str
    tokens: dict[str, str] = field(default_factory=dict)
    gettoken_calls: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    card_updates: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    robot_posts: list[RobotPost] = field(default_factory=list)
    robot_uploads: list[Upload] = field(default_factory=list)
    # What members' phones show, in order: ("send", message body) or ("update", card update body).
    feed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    task_ids: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    # What WeCom would have swallowed without an error: (why, body).
    dropped: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    url: str = ""
    _response_codes: set[str] = field(default_factory=set)
    _delivered: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _recent: list[tuple[float, str]] = field(default_factory=list)
    _robot_recent: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _held: dict[str, Held] = field(default_factory=dict)
    #: set on every app message that reaches a member (or is dropped as a duplicate)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    _failures: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    # --- test controls ---------------------------------------------------------

    def fail_next(self, path: str, errcode: int, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``path`` with ``errcode``."""
        self._failures[path].extend([errcode] * times)

    def expire_tokens(self) -> None:
        """Every issued token now answers 42001 (expired)."""
        for token in self.tokens:
            self.tokens[token] = EXPIRED

    def invalidate_tokens(self) -> None:
        """Every issued token now answers 40014 (invalid)."""
        for token in self.tokens:
            self.tokens[token] = INVALID

    def media(self, media_id: str) -> Upload:
        """The upload behind a media id an app message carried."""
        [upload] = [u for u in self.uploads if u.media_id == media_id]
        return upload

    def click_code(self) -> str:
        """A fresh ResponseCode, as each click on a card brings one."""
        return self.issue(f"click-rc-{next(self._ids)}")

    def hold_next(self, path: str) -> Held:
        """Hold the next call of ``path`` until the test releases it."""
        held = self._held[path] = Held()
        return held

    def issue(self, response_code: str) -> str:
        """Take ``response_code`` as one a click brought (tests that name their own)."""
        self._response_codes.add(response_code)
        return response_code

    def _within(self, seen: deque[float], period: float, limit: int) -> bool:
        """Record one more call now; False when the window already held ``limit``."""
        now = self.clock()
        while seen and seen[0] <= now - period:
            seen.popleft()
        if len(seen) >= limit:
            return False
        seen.append(now)
        return True

    def _duplicate(self, body: dict[str, Any]) -> bool:
        """With the check on: the same message inside the interval (WeCom drops it)."""
        same = {k: v for k, v in body.items() if k not in ("enable_duplicate_check", "duplicate_check_interval")}
        fingerprint = repr(sorted(same.items()))
        now = self.clock()
        seen = any(
            fp == fingerprint and now - at < body.get("duplicate_check_interval", 1800) for at, fp in self._recent
        )
        self._recent.append((now, fingerprint))
        return bool(body.get("enable_duplicate_check")) and seen

    # --- server ------------------------------------------------------------------

    async def start(self) -> str:
        # WeCom takes files up to 20 MB; aiohttp's default request cap is 1 MB.
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._message_send)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update_card)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_post("/cgi-bin/webhook/send", self._robot_send)
        app.router.add_post("/cgi-bin/webhook/upload_media", self._robot_upload)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        # No access log: its request lines would carry access tokens and keys.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- handlers ------------------------------------------------------------------

    @staticmethod
    def _answer(errcode: int = 0, **extra: Any) -> web.Response:
        errmsg = "ok" if errcode == 0 else f"emulated error {errcode}"
        return web.json_response({"errcode": errcode, "errmsg": errmsg, **extra})

    def _queued(self, request: web.Request) -> int | None:
        self.calls.append(request.path)
        queue = self._failures.get(request.path)
        return queue.popleft() if queue else None

    def _token_error(self, request: web.Request) -> web.Response | None:
        state = self.tokens.get(request.query.get("access_token", ""))
        if state is None or state == INVALID:
            return self._answer(40014)
        if state == EXPIRED:
            return self._answer(42001)
        return None

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.gettoken_calls += 1
        queued = self._queued(request)
        if queued is not None:
            return self._answer(queued)
        if request.query.get("corpid") != self.corp_id:
            return self._answer(40013)
        if request.query.get("corpsecret") != self.secret:
            return self._answer(40001)
        token = f"ACCESS-TOKEN-{next(self._ids)}-emulated"
        self.tokens[token] = VALID
        return self._answer(access_token=token, expires_in=7200)

    async def _message_send(self, request: web.Request) -> web.Response:
        queued = self._queued(request)
        if queued is not None:
            return self._answer(queued)
        refused = self._token_error(request)
        if refused is not None:
            return refused
        body = await request.json()
        held = self._held.pop(request.path, None)
        if held is not None:
            held.arrived.set()
            await held.released.wait()
            if not held.delivered:
                held.done.set()
                return self._answer(-1)
        try:
            return self._deliver(body)
        finally:
            if held is not None:
                held.done.set()

    def _deliver(self, body: dict[str, Any]) -> web.Response:
        task_id = (body.get("template_card") or {}).get("task_id")
        if task_id is not None:
            # WeCom wants task_ids unique per app (the exact errcode is UNCONFIRMED).
            if task_id in self.task_ids:
                return self._answer(TASK_ID_REUSED)
            self.task_ids.add(task_id)
        extra: dict[str, Any] = {"invaliduser": "", "msgid": f"msgid-{next(self._ids)}"}
        if body.get("msgtype") == "template_card":
            extra["response_code"] = f"send-rc-{next(self._ids)}"
            self._response_codes.add(extra["response_code"])
        self.settled.set()
        if self._duplicate(body):
            self.dropped.append(("duplicate", body))
        elif not all(self._within(self._delivered[u], 60, MEMBER_PER_MINUTE) for u in body["touser"].split("|")):
            self.dropped.append(("over 30 a minute", body))
        else:
            self.messages.append(body)
            self.feed.append(("send", body))
        return self._answer(**extra)

    async def _update_card(self, request: web.Request) -> web.Response:
        queued = self._queued(request)
        if queued is not None:
            return self._answer(queued)
        refused = self._token_error(request)
        if refused is not None:
            return refused
        body = await request.json()
        code = body.get("response_code")
        if code not in self._response_codes:
            return self._answer(RESPONSE_CODE_INVALID)
        self._response_codes.discard(code)  # single-use
        self.card_updates.append(body)
        self.feed.append(("update", body))
        return self._answer(invaliduser=[])

    async def _read_upload(self, request: web.Request) -> Upload:
        form = await request.post()
        media = form["media"]
        assert isinstance(media, web.FileField), "upload without a 'media' file part"
        return Upload(request.query.get("type", ""), media.filename, media.file.read())

    async def _media_upload(self, request: web.Request) -> web.Response:
        queued = self._queued(request)
        if queued is not None:
            return self._answer(queued)
        refused = self._token_error(request)
        if refused is not None:
            return refused
        upload = await self._read_upload(request)
        upload.media_id = f"media-{next(self._ids)}"
        self.uploads.append(upload)
        return self._answer(type=upload.media_type, media_id=upload.media_id, created_at="0")

    async def _robot_send(self, request: web.Request) -> web.Response:
        queued = self._queued(request)
        if queued is not None:
            return self._answer(queued)
        key = request.query.get("key", "")
        if not key:
            return self._answer(93000)
        if not self._within(self._robot_recent[key], 60, ROBOT_PER_MINUTE):
            return self._answer(45009)
        self.robot_posts.append(RobotPost(key, await request.json()))
        return self._answer()

    async def _robot_upload(self, request: web.Request) -> web.Response:
        queued = self._queued(request)
        if queued is not None:
            return self._answer(queued)
        self.robot_uploads.append(await self._read_upload(request))
        return self._answer(type="file", media_id=f"robot-media-{next(self._ids)}")

    async def _unknown(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path}")
        return web.Response(status=404)


@dataclass(frozen=True)
class CallbackResult:
    status: int
    body: str
    seconds: float


class CallbackSender:
    """Posts callbacks to the bot the way WeCom does: encrypted, signed, retried."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        token: str,
        aes_key: str,
        corp_id: str,
        agent_id: int,
    ) -> None:
        self._session = session
        self._url = url
        self._token = token
        self._crypto = WeChatCrypto(token, aes_key, corp_id)
        self._corp_id = corp_id
        self._agent_id = agent_id
        self._nonces = itertools.count(1000)

    def encrypt(self, plaintext: str, *, timestamp: str, nonce: str) -> str:
        sealed = self._crypto.encrypt_message(plaintext, nonce, timestamp)
        return ET.fromstring(sealed).findtext("Encrypt", "")

    def envelope(self, encrypted: str) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{self._corp_id}]]></ToUserName>"
            f"<AgentID><![CDATA[{self._agent_id}]]></AgentID>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )

    def sign(self, timestamp: str, nonce: str, encrypted: str, token: str | None = None) -> str:
        return signature(token or self._token, timestamp, nonce, encrypted)

    async def _send(self, method: str, params: dict[str, str], body: str | None = None) -> CallbackResult:
        started = time.perf_counter()
        async with self._session.request(method, self._url, params=params, data=body) as resp:
            text = await resp.text()
        return CallbackResult(resp.status, text, time.perf_counter() - started)

    async def verify_url(self, echo: str, *, timestamp: str, token: str | None = None) -> CallbackResult:
        nonce = str(next(self._nonces))
        echostr = self.encrypt(echo, timestamp=timestamp, nonce=nonce)
        params = {
            "msg_signature": self.sign(timestamp, nonce, echostr, token),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        return await self._send("GET", params)

    async def post(
        self,
        plaintext: str,
        *,
        timestamp: str,
        times: int = 1,
        token: str | None = None,
        tamper: bool = False,
        method: str = "POST",
    ) -> list[CallbackResult]:
        """Post one callback ``times`` times (WeCom's retries repeat the same request).

        ``token`` signs with another token (a forger's); ``tamper`` changes the
        ciphertext after signing.
        """
        nonce = str(next(self._nonces))
        encrypted = self.encrypt(plaintext, timestamp=timestamp, nonce=nonce)
        msg_signature = self.sign(timestamp, nonce, encrypted, token)
        if tamper:
            swap = "B" if encrypted[10] != "B" else "C"
            encrypted = encrypted[:10] + swap + encrypted[11:]
        params = {"msg_signature": msg_signature, "timestamp": timestamp, "nonce": nonce}
        body = self.envelope(encrypted)
        return [await self._send(method, params, body) for _ in range(times)]

    async def post_raw(self, params: dict[str, str], body: str) -> CallbackResult:
        return await self._send("POST", params, body)


def text_callback(user_id: str, text: str, *, msg_id: str, created: int, corp_id: str, agent_id: int) -> str:
    """The plaintext XML of a member's text message, as WeCom encrypts it into a callback."""
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user_id}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>"
    )


def card_click_callback(
    user_id: str,
    key: str,
    *,
    task_id: str,
    response_code: str,
    created: int,
    corp_id: str,
    agent_id: int,
    chosen: tuple[str, str] | None = None,
) -> str:
    """The plaintext XML of a tap on a card (``template_card_event``).

    A button's tap by default; with ``chosen`` (question key, option id), a vote
    card's submit with that option ticked.
    """
    card_type = "vote_interaction" if chosen else "button_interaction"
    selected = (
        f"<SelectedItem><QuestionKey><![CDATA[{chosen[0]}]]></QuestionKey>"
        f"<OptionIds><OptionId><![CDATA[{chosen[1]}]]></OptionId></OptionIds></SelectedItem>"
        if chosen
        else ""
    )
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user_id}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[{card_type}]]></CardType>"
        f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>{agent_id}</AgentID>"
        f"<SelectedItems>{selected}</SelectedItems></xml>"
    )
