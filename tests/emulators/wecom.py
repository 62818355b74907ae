"""A WeCom stand-in for tests: the API, the group robot and the callback sender.

``WeComEmulator`` is a small aiohttp app on 127.0.0.1 that issues access
tokens (expiring or invalidating them on demand), records every app message,
card update, media upload and robot post, and answers with queued errcodes.
A call it does not know is recorded in ``unexpected`` (the fixture fails the
test on it).  ``CallbackSender`` posts encrypted, signed callbacks to the bot
exactly as WeCom does (wechatpy's ``WeChatCrypto`` encrypts), retries included.
"""

from __future__ import annotations

import itertools
import time
import xml.etree.ElementTree as ET
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.wecom.crypto import signature

VALID, EXPIRED, INVALID = "valid", "expired", "invalid"
#: The emulator's answer to a template card whose task_id was used before (UNCONFIRMED code).
TASK_ID_REUSED = 40058


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
    url: str = ""
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
        return f"click-rc-{next(self._ids)}"

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
        task_id = (body.get("template_card") or {}).get("task_id")
        if task_id is not None:
            # WeCom wants task_ids unique per app (the exact errcode is UNCONFIRMED).
            if task_id in self.task_ids:
                return self._answer(TASK_ID_REUSED)
            self.task_ids.add(task_id)
        self.messages.append(body)
        self.feed.append(("send", body))
        extra: dict[str, Any] = {"invaliduser": "", "msgid": f"msgid-{next(self._ids)}"}
        if body.get("msgtype") == "template_card":
            extra["response_code"] = f"send-rc-{next(self._ids)}"
        return self._answer(**extra)

    async def _update_card(self, request: web.Request) -> web.Response:
        queued = self._queued(request)
        if queued is not None:
            return self._answer(queued)
        refused = self._token_error(request)
        if refused is not None:
            return refused
        body = await request.json()
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
    user_id: str, key: str, *, task_id: str, response_code: str, created: int, corp_id: str, agent_id: int
) -> str:
    """The plaintext XML of a tap on a button_interaction card's button (``template_card_event``)."""
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user_id}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>{agent_id}</AgentID>"
        "<SelectedItems></SelectedItems></xml>"
    )
