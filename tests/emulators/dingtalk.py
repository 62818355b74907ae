"""A DingTalk stand-in for tests: the robot API, robot webhooks, the Stream gateway, signed callbacks.

``DingTalkEmulator`` is a small aiohttp app on 127.0.0.1 that issues access
tokens (expiring them on demand), takes media uploads on the old API
(recording the bytes and handing out media ids), records every one-to-one
robot message, group message, custom robot post and session webhook post,
answers with queued errors, and checks what DingTalk checks: the access
token (header, or query on the old API), the robot code, at most 20
userIds a call, the msgKey and the fields its msgParam takes, the upload size limits, that an image or file message
names a media id it issued, a custom robot's signature and its
20-a-minute limit (by the signed timestamps, so a fake clock drives it).
It also plays the Stream gateway: ``connections/open`` hands out a
loopback websocket that pushes queued frames and records the SDK's acks;
``drop_connection`` ends a connection (after its frames are acked) the
way DingTalk does, so the next frames go out on the SDK's next one.
A call it does not know is recorded in ``unexpected`` (the fixture fails
the test on it).  ``CallbackSender`` posts signed robot callbacks to the
bot the way DingTalk does, retries included.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web

VALID, EXPIRED = "valid", "expired"
WEBHOOK_LIMIT_PER_MINUTE = 20
MEDIA_TYPES = ("image", "voice", "video", "file")
UPLOAD_MAX_BYTES = {"image": 20 * 1024 * 1024, "file": 20 * 1024 * 1024}  # per the upload docs
# aiohttp's own body cap (1 MB by default) set above them, so the limits above answer.
REQUEST_MAX_BYTES = 32 * 1024 * 1024


# What each robot message template (msgKey) takes in msgParam, every field a non-empty string
# (help.dingtalk.io robot-message-type).  sampleActionCard2..5 carry N vertical buttons;
# sampleActionCard6 two side by side, spelled buttonTitleN/buttonUrlN: UNCONFIRMED, the
# docs' copies differ (the bot does not send it).  A field missing or unknown is refused:
# DingTalk would drop an unknown one silently, and a button without its URL is dead.
MSG_PARAMS: dict[str, frozenset[str]] = {
    "sampleText": frozenset({"content"}),
    "sampleMarkdown": frozenset({"title", "text"}),
    "sampleActionCard": frozenset({"title", "text", "singleTitle", "singleURL"}),
    **{
        f"sampleActionCard{n}": frozenset(
            {
                "title",
                "text",
                *(f"actionTitle{i}" for i in range(1, n + 1)),
                *(f"actionURL{i}" for i in range(1, n + 1)),
            }
        )
        for n in range(2, 6)
    },
    "sampleActionCard6": frozenset({"title", "text", "buttonTitle1", "buttonUrl1", "buttonTitle2", "buttonUrl2"}),
    "sampleImageMsg": frozenset({"photoURL"}),
    "sampleFile": frozenset({"mediaId", "fileName", "fileType"}),
}


def msg_param_problem(msg_key: str, param: Any) -> str | None:
    """Why DingTalk would refuse this msgKey and msgParam; None when it takes them."""
    wanted = MSG_PARAMS.get(msg_key)
    if wanted is None:
        return f"msgKey {msg_key!r} 不存在"
    if not isinstance(param, dict):
        return "msgParam 应为 JSON 对象"
    missing = sorted(wanted - set(param))
    unknown = sorted(set(param) - wanted)
    empty = sorted(k for k in wanted & set(param) if not isinstance(param[k], str) or not param[k])
    problems = [
        *([f"缺少 {'、'.join(missing)}"] if missing else []),
        *([f"{msg_key} 不认识 {'、'.join(unknown)}"] if unknown else []),
        *([f"{'、'.join(empty)} 应为非空字符串"] if empty else []),
    ]
    return "msgParam 有误：" + "；".join(problems) if problems else None


def dingtalk_sign(timestamp_ms: str, secret: str) -> str:
    """DingTalk's signature, written out here independently of the bot's signer."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class _Drop:
    """In the frame queue: end this connection here (``close``: the server closes, going away;
    ``disconnect``: DingTalk's SYSTEM ``disconnect`` frame, after which the client closes)."""

    how: str


@dataclass
class Canned:
    status: int
    body: dict[str, Any]


@dataclass
class RobotMessage:
    """A batchSend or groupMessages/send call, msgParam decoded."""

    robot_code: str
    msg_key: str
    param: dict[str, Any]
    user_ids: list[str] = field(default_factory=list)
    conversation_id: str | None = None


@dataclass
class MediaUpload:
    """One media/upload call: the type it was given in the query and in the form, and the file."""

    media_type: str
    form_type: str | None
    filename: str
    data: bytes
    media_id: str


@dataclass
class WebhookPost:
    access_token: str
    timestamp_ms: int | None
    body: dict[str, Any]


@dataclass
class SessionPost:
    session: str
    body: dict[str, Any]


@dataclass
class DingTalkEmulator:
    app_key: str
    app_secret: str
    robot_code: str
    # custom robots: webhook access_token -> signing secret
    robots: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    token_calls: int = 0
    uploads: list[MediaUpload] = field(default_factory=list)
    one_to_one: list[RobotMessage] = field(default_factory=list)
    group_messages: list[RobotMessage] = field(default_factory=list)
    refused_messages: list[str] = field(default_factory=list)
    webhook_posts: list[WebhookPost] = field(default_factory=list)
    webhook_refusals: list[int] = field(default_factory=list)
    session_posts: list[SessionPost] = field(default_factory=list)
    expired_sessions: set[str] = field(default_factory=set)
    stream_frames: deque[dict[str, Any] | _Drop] = field(default_factory=deque)
    stream_acks: list[dict[str, Any]] = field(default_factory=list)
    stream_tickets: list[str] = field(default_factory=list)
    stream_opens: int = 0
    unexpected: list[str] = field(default_factory=list)
    url: str = ""
    _failures: dict[str, deque[Canned]] = field(default_factory=lambda: defaultdict(deque))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _acked: asyncio.Event = field(default_factory=asyncio.Event)
    stream_opened: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    # --- test controls ---------------------------------------------------------

    def fail_next(self, path: str, *, status: int = 200, times: int = 1, **body: Any) -> None:
        """Answer the next ``times`` calls of ``path`` with ``status`` and ``body``."""
        self._failures[path].extend([Canned(status, body)] * times)

    def media(self, media_id: str) -> MediaUpload:
        """The upload behind a media id a robot message carried."""
        [upload] = [u for u in self.uploads if u.media_id == media_id]
        return upload

    def expire_tokens(self) -> None:
        """Every issued token is now refused (InvalidAuthentication)."""
        for token in self.tokens:
            self.tokens[token] = EXPIRED

    def webhook_url(self, access_token: str) -> str:
        return f"{self.url}/robot/send?access_token={access_token}"

    def session_webhook(self, session: str) -> str:
        return f"{self.url}/robot/sendBySession?session={session}"

    def push_frame(self, frame: dict[str, Any]) -> None:
        """Queue a Stream frame; the next (or current) connection sends it."""
        self.stream_frames.append(frame)

    def drop_connection(self, how: str = "close") -> None:
        """End the connection once the frames queued so far are acked; later frames wait for the next."""
        assert how in ("close", "disconnect"), how
        self.stream_frames.append(_Drop(how))

    async def wait_for_ack(self, count: int = 1) -> list[dict[str, Any]]:
        """Wait until ``count`` acks arrived (bound it with ``asyncio.timeout`` in the test)."""
        while len(self.stream_acks) < count:
            self._acked.clear()
            await self._acked.wait()
        return self.stream_acks

    # --- server ------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=REQUEST_MAX_BYTES)
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/media/upload", self._media_upload)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/robot/send", self._robot_send)
        app.router.add_post("/robot/sendBySession", self._session_send)
        app.router.add_post("/v1.0/gateway/connections/open", self._stream_open)
        app.router.add_get("/gateway", self._stream_socket)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        # No access log: its request lines would carry tokens and signatures.
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

    def _queued(self, request: web.Request) -> web.Response | None:
        queue = self._failures.get(request.path)
        if not queue:
            return None
        canned = queue.popleft()
        return web.json_response(canned.body, status=canned.status)

    @staticmethod
    def _api_error(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message, "requestid": "EMULATED"}, status=status)

    def _token_refusal(self, request: web.Request) -> web.Response | None:
        state = self.tokens.get(request.headers.get("x-acs-dingtalk-access-token", ""))
        if state != VALID:
            return self._api_error(400, "InvalidAuthentication", "不合法的access_token")
        return None

    async def _access_token(self, request: web.Request) -> web.Response:
        self.token_calls += 1
        queued = self._queued(request)
        if queued is not None:
            return queued
        body = await request.json()
        if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return self._api_error(400, "invalidClientIdOrSecret", "无效的appKey或appSecret")
        token = f"DT-ACCESS-TOKEN-{next(self._ids)}-emulated"
        self.tokens[token] = VALID
        return web.json_response({"accessToken": token, "expireIn": 7200})

    async def _robot_message(self, request: web.Request) -> RobotMessage | web.Response:
        queued = self._queued(request)
        if queued is not None:
            return queued
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        body = await request.json()
        if body.get("robotCode") != self.robot_code:
            return self._api_error(400, "robot.notExist", "机器人不存在")
        if not isinstance(body.get("msgParam"), str):
            return self._api_error(400, "InvalidParameter", "msgParam 应为 JSON 字符串")
        try:
            param = json.loads(body["msgParam"])
        except ValueError:
            return self._api_error(400, "InvalidParameter", "msgParam 不是 JSON")
        msg_key = str(body.get("msgKey", ""))
        problem = msg_param_problem(msg_key, param)
        if problem is not None:
            # Codes UNCONFIRMED: DingTalk answers a bad template with a 400 and a message.
            self.refused_messages.append(f"{msg_key}: {problem}")
            return self._api_error(400, "InvalidParameter", problem)
        message = RobotMessage(
            robot_code=body["robotCode"],
            msg_key=msg_key,
            param=param,
            user_ids=list(body.get("userIds") or []),
            conversation_id=body.get("openConversationId"),
        )
        refused = self._media_refusal(message)
        return refused if refused is not None else message

    def _media_refusal(self, message: RobotMessage) -> web.Response | None:
        """An image or file message must name a media id this emulator issued."""
        issued = {u.media_id for u in self.uploads}
        param = message.param
        if message.msg_key == "sampleImageMsg":
            photo = str(param.get("photoURL", ""))
            if photo not in issued and not photo.startswith(("https://", "http://")):
                return self._api_error(400, "InvalidParameter", "photoURL 不是有效的图片地址或 mediaId")
        if message.msg_key == "sampleFile":
            if param.get("mediaId") not in issued:
                return self._api_error(400, "InvalidParameter", "mediaId 无效")
            if not param.get("fileName") or not param.get("fileType"):
                return self._api_error(400, "InvalidParameter", "缺少 fileName 或 fileType")
        return None

    async def _batch_send(self, request: web.Request) -> web.Response:
        message = await self._robot_message(request)
        if isinstance(message, web.Response):
            return message
        if not 1 <= len(message.user_ids) <= 20:
            return self._api_error(400, "InvalidParameter", "userIds 数量应为 1 到 20")
        self.one_to_one.append(message)
        return web.json_response(
            {"processQueryKey": f"pqk-{next(self._ids)}", "invalidStaffIdList": [], "flowControlledStaffIdList": []}
        )

    async def _group_send(self, request: web.Request) -> web.Response:
        message = await self._robot_message(request)
        if isinstance(message, web.Response):
            return message
        if not message.conversation_id:
            return self._api_error(400, "InvalidParameter", "缺少 openConversationId")
        self.group_messages.append(message)
        return web.json_response({"processQueryKey": f"pqk-{next(self._ids)}"})

    @staticmethod
    def _errcode(errcode: int, errmsg: str = "ok") -> web.Response:
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    async def _media_upload(self, request: web.Request) -> web.Response:
        """The old API's media/upload: access_token and type in the query, the file in the ``media`` field."""
        queued = self._queued(request)
        if queued is not None:
            return queued
        if self.tokens.get(request.query.get("access_token", "")) != VALID:
            return self._errcode(40014, "不合法的access_token")  # errcode UNCONFIRMED
        form_type: str | None = None
        filename: str | None = None
        data = b""
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            if part.name == "type":
                form_type = await part.text()
            elif part.name == "media":
                filename = part.filename
                data = bytes(await part.read())
        media_type = request.query.get("type") or form_type or ""
        if media_type not in MEDIA_TYPES:
            return self._errcode(40004, "不合法的媒体文件类型")
        if filename is None:
            return self._errcode(40003, "缺少 media 文件")  # errcode UNCONFIRMED
        if len(data) > UPLOAD_MAX_BYTES.get(media_type, len(data)):
            return self._errcode(40006, "不合法的文件大小")  # errcode UNCONFIRMED
        media_id = f"@lAD-emulated-{media_type}-{next(self._ids)}"
        self.uploads.append(MediaUpload(media_type, form_type, filename, data, media_id))
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "type": media_type, "media_id": media_id, "created_at": int(time.time())}
        )

    async def _robot_send(self, request: web.Request) -> web.Response:
        queued = self._queued(request)
        if queued is not None:
            return queued
        access_token = request.query.get("access_token", "")
        if access_token not in self.robots:
            return self._errcode(300001, "token is not exist")
        secret = self.robots[access_token]
        timestamp = request.query.get("timestamp", "")
        signed = bool(timestamp) and hmac.compare_digest(
            request.query.get("sign", ""), dingtalk_sign(timestamp, secret) if secret else ""
        )
        if secret and not signed:
            return self._errcode(310000, "sign not match")
        stamp = int(timestamp) if timestamp else None
        if stamp is not None:
            recent = [
                p
                for p in self.webhook_posts
                if p.access_token == access_token and p.timestamp_ms is not None and stamp - p.timestamp_ms < 60_000
            ]
            if len(recent) >= WEBHOOK_LIMIT_PER_MINUTE:
                self.webhook_refusals.append(stamp)
                return self._errcode(410100, "send too fast, exceed 20 times per minute")
        self.webhook_posts.append(WebhookPost(access_token, stamp, await request.json()))
        return self._errcode(0)

    async def _session_send(self, request: web.Request) -> web.Response:
        queued = self._queued(request)
        if queued is not None:
            return queued
        session = request.query.get("session", "")
        if not session or session in self.expired_sessions:
            return self._errcode(300001, "session webhook expired")  # errcode UNCONFIRMED
        self.session_posts.append(SessionPost(session, await request.json()))
        return self._errcode(0)

    async def _stream_open(self, request: web.Request) -> web.Response:
        self.stream_opens += 1
        self.stream_opened.set()
        queued = self._queued(request)
        if queued is not None:
            return queued
        body = await request.json()
        if body.get("clientId") != self.app_key or body.get("clientSecret") != self.app_secret:
            return self._api_error(401, "authFailed", "鉴权失败")
        ws_url = self.url.replace("http://", "ws://") + "/gateway"
        ticket = f"SEKRIT-stream-ticket-{next(self._ids)}"
        self.stream_tickets.append(ticket)
        return web.json_response({"endpoint": ws_url, "ticket": ticket})

    async def _stream_socket(self, request: web.Request) -> web.WebSocketResponse:
        if request.query.get("ticket") not in self.stream_tickets:
            raise web.HTTPUnauthorized()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        acked_before, sent = len(self.stream_acks), 0
        while self.stream_frames:
            frame = self.stream_frames.popleft()
            if isinstance(frame, _Drop):
                await self._read_acks(ws, until=acked_before + sent)
                if frame.how == "close":
                    await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)
                    return ws
                await ws.send_str(json.dumps(_disconnect_frame(next(self._ids))))
                break
            await ws.send_str(json.dumps(frame, ensure_ascii=False))
            sent += 1
        await self._read_acks(ws)
        return ws

    async def _read_acks(self, ws: web.WebSocketResponse, *, until: int | None = None) -> None:
        """Record the SDK's acks until ``until`` acks are in (or the socket closes)."""
        while until is None or len(self.stream_acks) < until:
            message = await ws.receive()
            if message.type is not aiohttp.WSMsgType.TEXT:
                return
            self.stream_acks.append(json.loads(message.data))
            self._acked.set()

    async def _unknown(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path}")
        return web.Response(status=404)


def _disconnect_frame(n: int) -> dict[str, Any]:
    """DingTalk's SYSTEM frame asking the client to reconnect (the gateway is going away)."""
    return {
        "specVersion": "1.0",
        "type": "SYSTEM",
        "headers": {"topic": "disconnect", "messageId": f"disconnect-{n}", "contentType": "application/json"},
        "data": json.dumps({"reason": "gateway restarting"}),
    }


@dataclass(frozen=True)
class CallbackResult:
    status: int
    body: str
    seconds: float


class CallbackSender:
    """Posts robot callbacks to the bot the way DingTalk does: signed headers, JSON body, retried."""

    def __init__(self, session: aiohttp.ClientSession, url: str, *, app_secret: str) -> None:
        self._session = session
        self._url = url
        self._secret = app_secret

    async def post_raw(self, headers: dict[str, str], data: bytes | str, method: str = "POST") -> CallbackResult:
        started = time.perf_counter()
        async with self._session.request(method, self._url, headers=headers, data=data) as resp:
            text = await resp.text()
        return CallbackResult(resp.status, text, time.perf_counter() - started)

    async def post(
        self,
        body: dict[str, Any] | str,
        *,
        timestamp_ms: int,
        times: int = 1,
        secret: str | None = None,
        tamper: bool = False,
        method: str = "POST",
    ) -> list[CallbackResult]:
        """Post one callback ``times`` times (DingTalk's retries repeat it).

        ``secret`` signs with another secret (a forger's); ``tamper`` moves
        the timestamp after signing (a replay dressed up as fresh).
        """
        timestamp = str(timestamp_ms)
        sign = dingtalk_sign(timestamp, secret or self._secret)
        if tamper:
            timestamp = str(timestamp_ms + 1)
        headers = {"timestamp": timestamp, "sign": sign, "Content-Type": "application/json; charset=utf-8"}
        data = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        return [await self.post_raw(headers, data, method) for _ in range(times)]


def robot_message(
    user_id: str,
    text: str,
    *,
    msg_id: str,
    created_ms: int,
    conversation_id: str | None = None,
    session_webhook: str | None = None,
    robot_code: str,
) -> dict[str, Any]:
    """A robot message body as DingTalk sends it (HTTP body or Stream data), for dialogue drivers.

    One-to-one unless ``conversation_id`` names a group.  ``robot_code`` is the robot
    it is for: the bot refuses one that is not its own.  A tap on one of the
    bot's link buttons arrives exactly like this, with the button's key as text.
    """
    body: dict[str, Any] = {
        "msgId": msg_id,
        "msgtype": "text",
        "text": {"content": text},
        "createAt": created_ms,
        "conversationType": "2" if conversation_id else "1",
        "conversationId": conversation_id or f"cid-one-to-one-{user_id}",
        "senderStaffId": user_id,
        "senderId": f"$:LWCP_v1:${user_id}",
        "senderNick": user_id,
        "robotCode": robot_code,
        "isInAtList": bool(conversation_id),
    }
    if session_webhook:
        body["sessionWebhook"] = session_webhook
        body["sessionWebhookExpiredTime"] = created_ms + 90 * 60 * 1000
    return body


# A markdown link: [shown text](url); the shown text holds no square brackets.
_MARKDOWN_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]*)\)")
SEND_MESSAGE_PREFIX = "dtmd://dingtalkclient/sendMessage?content="


def markdown_links(text: str) -> list[tuple[str, str]]:
    """(shown text, URL) of each markdown link in ``text``, in order."""
    return [(m[1], m[2]) for m in _MARKDOWN_LINK.finditer(text)]


def sent_by_link(url: str) -> str:
    """What a tap on a ``dtmd://dingtalkclient/sendMessage`` link sends into the chat."""
    assert url.startswith(SEND_MESSAGE_PREFIX), url
    [content] = parse_qs(urlsplit(url).query, keep_blank_values=True)["content"]
    return content


def unlinked(text: str) -> str:
    """Markdown as the person reads it: each link is its shown text."""
    return _MARKDOWN_LINK.sub(r"\1", text)


def shown(message: RobotMessage) -> str:
    """A robot message as the person reads it: text, or title, body (links as their text) and [buttons]."""
    param = message.param
    if message.msg_key == "sampleText":
        return str(param.get("content", ""))
    if message.msg_key == "sampleImageMsg":
        return "[图片]"
    if message.msg_key == "sampleFile":
        return f"[文件 {param.get('fileName', '')}]"
    lines = [unlinked(str(param.get("text", "")))]
    buttons = [str(v) for k, v in sorted(param.items()) if k.startswith("actionTitle") or k == "singleTitle"]
    if buttons:
        lines.append(" ".join(f"[{b}]" for b in buttons))
    return "\n".join(lines)
