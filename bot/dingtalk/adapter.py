"""The DingTalk adapter: robot callbacks in (HTTP or Stream), robot messages and webhooks out.

Constructed by the app factory with the settings, the shared HTTP session,
the token store and the event sink; the outbox calls ``send`` and paces by
``rate_key``.

Targets: ``Target.user`` is a member's staff id (one-to-one robot message);
``Target.group`` is either a leaders' group named in
``SCOREBOT_DINGTALK_ROBOT_WEBHOOKS`` (custom robot) or a conversation id the
app robot is in (the ``chat_id`` of a group @-message).

Images and files are uploaded for a media id and sent by the app robot,
never on a session webhook (it takes no media).  A custom robot cannot post
them either: for a webhook group they go to the group's ``conversation_id``
through the app robot, and without one they are refused, saying what to
configure, before anything is uploaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Final

from aiohttp import web

from bot.adapter import Adapter, EventSink, RateLimit, SendResult
from bot.clock import Clock, system_clock
from bot.deps import SessionSource
from bot.dingtalk import constants as c
from bot.dingtalk import media, session
from bot.dingtalk.client import DingTalkClient
from bot.dingtalk.config import DingTalkConfig, ReceiveMode
from bot.dingtalk.errors import PLATFORM, CallbackRejected, MessageUnsupported
from bot.dingtalk.event import Expected, robot_event
from bot.dingtalk.render import Audience, Part, app_message, render
from bot.dingtalk.signing import verify_callback
from bot.dingtalk.stream import StreamReceiver
from bot.dingtalk.webhook import WebhookSender
from bot.errors import PlatformError
from bot.events import Platform
from bot.messages import Card, File, Image, Markdown, Outbound, Target, TargetKind, Text
from bot.settings import Settings
from scoring_core.errors import ScorebotError
from storage.tokens import TokenStore

log = logging.getLogger(__name__)

CALLBACK_PATH: Final = "/dingtalk/callback"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class DingTalkAdapter(Adapter):
    platform = Platform.DINGTALK

    def __init__(
        self,
        settings: Settings,
        session: SessionSource,
        tokens: TokenStore,
        sink: EventSink,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.config = DingTalkConfig.from_settings(settings)
        self.expected = Expected.of(self.config.robot_code, self.config.oapi_base)
        self._sink = sink
        self._clock = clock
        self.client = DingTalkClient(self.config, session, tokens, clock=clock)
        self.webhooks = WebhookSender(session, clock=clock)
        self.stream: StreamReceiver | None = None
        if self.config.mode is ReceiveMode.STREAM:
            self.stream = StreamReceiver(self.config, sink.accept, self.expected, clock=clock)

    # --- inbound -------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        if self.config.mode is ReceiveMode.STREAM:
            return []
        return [web.post(CALLBACK_PATH, self._receive)]

    async def start(self) -> None:
        if self.stream is not None:
            await self.stream.start()

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.close()

    @staticmethod
    def _refuse(exc: CallbackRejected) -> web.Response:
        log.warning("dingtalk callback refused: %s", exc.errmsg)
        if exc.status == 400:
            return web.json_response({"error": exc.errmsg}, status=400)
        return web.Response(status=exc.status, text="")

    async def _receive(self, request: web.Request) -> web.Response:
        try:
            timestamp = request.headers.get("timestamp", "")
            signature = request.headers.get("sign", "")
            if not timestamp or not signature:
                raise CallbackRejected("请求缺少 timestamp 或 sign 头", status=403)
            # Checked before the body is read: an unsigned sender learns nothing more.
            verify_callback(timestamp, signature, secret=self.config.app_secret.get_secret_value(), now=self._clock())
            if (request.content_length or 0) > c.CALLBACK_MAX_BODY_BYTES:
                raise CallbackRejected("请求内容过大", status=413)
            # read() reads to the end of the body, however many segments it came in
            # (aiohttp's own cap, 1 MB, bounds a body without Content-Length).
            raw = await request.read()
            if len(raw) > c.CALLBACK_MAX_BODY_BYTES:
                raise CallbackRejected("请求内容过大", status=413)
            try:
                data = json.loads(raw)
            except ValueError:
                raise CallbackRejected("请求内容有误：不是 JSON") from None
            event = robot_event(data, self.expected)
        except CallbackRejected as exc:
            return self._refuse(exc)
        if event is not None:
            try:
                fresh = await self._sink.accept(event)
            except ScorebotError as exc:
                # Not recorded: a non-200 lets DingTalk try again (UNCONFIRMED that it does).
                log.error("dingtalk callback not recorded: %s", exc)
                return web.Response(status=503, text="")
            if not fresh:
                log.info("dingtalk callback repeated: %s", event.dedupe_key)
        # An empty 200 acknowledges without an inline reply; the work runs after.
        return web.Response(status=200, text="")

    # --- outbound ------------------------------------------------------------

    def rate_key(self, outbound: Outbound) -> tuple[str, RateLimit] | None:
        target = outbound.target
        if target.kind is TargetKind.GROUP:
            hook = self.config.webhooks.get(target.id)
            if hook is not None and hook.conversation_id and isinstance(outbound.message, Image | File):
                # Media for a webhook group goes through the app robot: its group's bucket.
                return f"dingtalk:group:{hook.conversation_id}", c.GROUP_RATE
            if hook is not None:
                # Bucket per webhook (two group ids may share one), named by a digest.
                return f"dingtalk:webhook:{_digest(hook.url.get_secret_value())}", c.WEBHOOK_RATE
            return f"dingtalk:group:{target.id}", c.GROUP_RATE
        return f"dingtalk:user:{target.id}", c.MEMBER_RATE

    def _parts(self, target: Target, message: Text | Markdown | Card) -> list[Part]:
        """The posts of a text, markdown or card: a long one is split between lines."""
        if target.kind is TargetKind.GROUP and target.id in self.config.webhooks:
            return render(message, Audience.WEBHOOK)
        return render(message, Audience.GROUP if target.kind is TargetKind.GROUP else Audience.MEMBER)

    def posts(self, outbound: Outbound) -> int:
        message = outbound.message
        return 1 if isinstance(message, Image | File) else len(self._parts(outbound.target, message))

    async def send(self, outbound: Outbound, *, part: int = 0, resend: bool = False) -> SendResult:
        target = outbound.target
        if target.platform is not Platform.DINGTALK:
            raise PlatformError("消息目标不属于钉钉", platform=PLATFORM, errmsg=f"target platform {target.platform}")
        message = outbound.message
        if isinstance(message, Image | File):
            return await self._send_media(target, message)
        parts = self._parts(target, message)
        post = parts[part]
        hook = self.config.webhooks.get(target.id) if target.kind is TargetKind.GROUP else None
        if hook is not None:
            await self.webhooks.send_robot(hook, [post])
            return SendResult(detail=f"webhook {message.kind} {part + 1}/{len(parts)}")
        if outbound.reply_token:
            answered = await self._answer_in_place(outbound.reply_token, post)
            if answered is not None:
                return answered
        if target.kind is TargetKind.GROUP:
            key = await self.client.send_to_group(target.id, *app_message(post))
        else:
            [key] = await self.client.send_to_users([target.id], *app_message(post))
        return SendResult(platform_message_id=key or None, detail=f"robot {message.kind} {part + 1}/{len(parts)}")

    async def _answer_in_place(self, token: str, post: Part) -> SendResult | None:
        """Answer on the session webhook while it lasts; None means use the API instead."""
        hook = session.decode(token)
        if hook is None or not hook.usable(self._clock()) or not self.expected.allows_session_webhook(hook.url):
            return None
        try:
            await self.webhooks.send_session(hook.url, [post])
        except PlatformError as exc:
            if exc.transient:
                raise
            # Expired or refused early: the API reaches the same chat.
            log.info("dingtalk session webhook refused (errcode=%s), sending through the API", exc.errcode)
            return None
        return SendResult(detail="session webhook")

    def _media_conversation(self, group: str, message: Image | File) -> str:
        """Where the app robot posts media for a group: the group itself or its webhook's conversation."""
        hook = self.config.webhooks.get(group)
        if hook is None:
            return group
        if hook.conversation_id:
            return hook.conversation_id
        kind_zh = "图片" if isinstance(message, Image) else "文件"
        raise MessageUnsupported(
            f"钉钉群“{group}”只配置了自定义机器人，自定义机器人不能发送{kind_zh}，“{message.filename}”未发送。"
            f"请把应用机器人加入该群，并在 SCOREBOT_DINGTALK_ROBOT_WEBHOOKS 中为“{group}”"
            "填写 conversation_id（该群的 openConversationId）",
            platform=PLATFORM,
            errmsg=f"{message.kind} for webhook group {group} without conversation_id",
        )

    async def _send_media(self, target: Target, message: Image | File) -> SendResult:
        """Check, upload, then send the media id by the app robot (one-to-one or to a group)."""
        conversation = self._media_conversation(target.id, message) if target.kind is TargetKind.GROUP else None
        spec = media.check(message)
        media_id = await self.client.upload_media(spec.media_type, message.filename, message.data)
        msg_key, param = media.app_media_message(message, spec, media_id)
        if conversation is not None:
            key = await self.client.send_to_group(conversation, msg_key, param)
        else:
            [key] = await self.client.send_to_users([target.id], msg_key, param)
        return SendResult(platform_message_id=key or None, detail=f"robot {message.kind} media")
