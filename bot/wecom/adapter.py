"""The WeCom adapter: callback routes in, app messages and group robot posts out.

Constructed by the app factory with the settings, the shared HTTP session,
the token store and the event sink; the outbox calls ``send`` and paces by
``rate_key``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Final

from aiohttp import web

from bot.adapter import Adapter, EventSink, RateLimit, SendResult
from bot.clock import Clock, system_clock
from bot.deps import SessionSource
from bot.errors import PlatformError
from bot.events import Platform
from bot.messages import Card, File, Image, Markdown, Outbound, TargetKind, Text
from bot.settings import Settings
from bot.wecom import constants as c
from bot.wecom.client import WeComClient
from bot.wecom.config import WeComConfig
from bot.wecom.crypto import CallbackCrypto, parse_xml
from bot.wecom.errors import PLATFORM, CallbackRejected, MessageTooLarge, WeComCredentialsError
from bot.wecom.event import to_event
from bot.wecom.render import app_message, card_markdown, render_card, split_lines
from bot.wecom.robot import RobotSender
from scoring_core.errors import ScorebotError
from storage.tokens import TokenStore

log = logging.getLogger(__name__)

CALLBACK_PATH: Final = "/wecom/callback"


class WeComAdapter(Adapter):
    platform = Platform.WECOM

    def __init__(
        self,
        settings: Settings,
        session: SessionSource,
        tokens: TokenStore,
        sink: EventSink,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.config = WeComConfig.from_settings(settings)
        self._crypto = CallbackCrypto(self.config)
        self._sink = sink
        self._clock = clock
        self.client = WeComClient(self.config, session, tokens, clock=clock)
        self.robot = RobotSender(session, self.config.api_base)

    # --- inbound -------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [web.get(CALLBACK_PATH, self._verify_url), web.post(CALLBACK_PATH, self._receive)]

    @staticmethod
    def _query(request: web.Request, *names: str) -> list[str]:
        values = [request.query.get(name, "") for name in names]
        if not all(values):
            raise CallbackRejected("missing query parameters")
        return values

    async def _verify_url(self, request: web.Request) -> web.Response:
        try:
            sig, ts, nonce, echostr = self._query(request, "msg_signature", "timestamp", "nonce", "echostr")
            plain = self._crypto.open_echo(
                msg_signature=sig, timestamp=ts, nonce=nonce, echostr=echostr, now=self._clock()
            )
        except CallbackRejected as exc:
            log.warning("wecom URL verification refused: %s", exc.errmsg)
            return web.Response(status=exc.status, text="")
        return web.Response(text=plain, content_type="text/plain")

    async def _receive(self, request: web.Request) -> web.Response:
        try:
            sig, ts, nonce = self._query(request, "msg_signature", "timestamp", "nonce")
            body = await request.read()
            if len(body) > c.CALLBACK_MAX_BODY_BYTES:
                raise CallbackRejected("body too large", status=413)
            encrypted = parse_xml(body).findtext("Encrypt", "").strip()
            if not encrypted:
                raise CallbackRejected("no Encrypt element")
            plain = self._crypto.open(
                msg_signature=sig,
                timestamp=ts,
                nonce=nonce,
                encrypted=encrypted,
                now=self._clock(),
            )
            event = to_event(parse_xml(plain))
        except CallbackRejected as exc:
            log.warning("wecom callback refused: %s", exc.errmsg)
            return web.Response(status=exc.status, text="")
        if event is not None:
            try:
                fresh = await self._sink.accept(event)
            except ScorebotError as exc:
                # Not recorded: a non-200 makes WeCom try again later.
                log.error("wecom callback not recorded: %s", exc)
                return web.Response(status=503, text="")
            if not fresh:
                log.info("wecom callback repeated: %s", event.dedupe_key)
        # An empty 200 acknowledges without a passive reply; the work runs after.
        return web.Response(status=200, text="")

    # --- outbound ------------------------------------------------------------

    def rate_key(self, outbound: Outbound) -> tuple[str, RateLimit] | None:
        target = outbound.target
        if target.kind is TargetKind.GROUP:
            key = self.config.robot_keys.get(target.id)
            # Bucket per webhook (two group ids may share one), named by a digest.
            name = hashlib.sha256(key.get_secret_value().encode()).hexdigest()[:16] if key is not None else target.id
            return f"wecom:robot:{name}", c.ROBOT_RATE
        if outbound.reply_token and isinstance(outbound.message, Card) and self._updates_in_place(outbound.message):
            # Updating the clicked card is not a new message to the member
            # (UNCONFIRMED: platforms.md reads it so), so it is not paced.
            return None
        return f"wecom:user:{target.id}", c.MEMBER_RATE

    async def send(self, outbound: Outbound) -> SendResult:
        if outbound.target.platform is not Platform.WECOM:
            raise PlatformError(
                "消息目标不属于企业微信",
                platform=PLATFORM,
                errmsg=f"target platform {outbound.target.platform}",
            )
        if outbound.target.kind is TargetKind.GROUP:
            return await self._send_group(outbound)
        return await self._send_user(outbound)

    async def _send_group(self, outbound: Outbound) -> SendResult:
        group = outbound.target.id
        key = self.config.robot_keys.get(group)
        if key is None:
            raise WeComCredentialsError(
                f"群“{group}”没有配置群机器人（SCOREBOT_WECOM_ROBOT_KEYS）",
                platform=PLATFORM,
                errmsg=f"no robot key for group {group}",
            )
        message = outbound.message
        if isinstance(message, Text):
            parts = await self.robot.send_text(key, message.content)
        elif isinstance(message, Markdown):
            parts = await self.robot.send_markdown(key, message.content)
        elif isinstance(message, Card):
            # Groups get no clickable buttons from robots: the card reads as markdown.
            parts = await self.robot.send_markdown(key, card_markdown(message, with_commands=False))
        elif isinstance(message, Image):
            await self.robot.send_image(key, message.filename, message.data)
            parts = 1
        else:
            await self.robot.send_file(key, message.filename, message.data)
            parts = 1
        return SendResult(detail=f"robot {message.kind} x{parts}")

    async def _send_user(self, outbound: Outbound) -> SendResult:
        user = outbound.target.id
        message = outbound.message
        if isinstance(message, Card) and outbound.reply_token:
            return await self._update_card(user, message, outbound.reply_token)
        if isinstance(message, Text):
            return await self._send_parts(user, "text", message.content, c.TEXT_MAX_BYTES)
        if isinstance(message, Markdown):
            return await self._send_parts(user, "markdown", message.content, c.MARKDOWN_MAX_BYTES)
        if isinstance(message, Card):
            return await self._send_card(user, message)
        return await self._send_media(user, message)

    async def _send(self, user: str, msgtype: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.client.send_message(app_message(self.config.agent_id, user, msgtype, body))

    async def _send_parts(self, user: str, msgtype: str, content: str, limit: int) -> SendResult:
        # If a later part fails, the outbox resends all: WeCom's duplicate
        # check drops the parts that already arrived.
        ids = []
        parts = split_lines(content, limit)
        for part in parts:
            answer = await self._send(user, msgtype, {"content": part})
            ids.append(str(answer.get("msgid", "")))
        first = ids[0] if ids else None
        return SendResult(platform_message_id=first, detail=f"{msgtype} x{len(parts)}")

    async def _send_card(self, user: str, card: Card) -> SendResult:
        template = render_card(card, card_url=self.config.card_url)
        if template is None:
            return await self._send_parts(
                user, "markdown", card_markdown(card, with_commands=True), c.MARKDOWN_MAX_BYTES
            )
        answer = await self._send(user, "template_card", template.payload())
        return SendResult(
            platform_message_id=str(answer.get("msgid", "")) or None,
            detail=f"template_card {template.card_type} task_id={template.task_id}",
        )

    @staticmethod
    def _title_only(card: Card) -> bool:
        """A card that says all in its title: the clicked button, greyed out, can show it."""
        bare = not (card.description or card.fields or card.lines or card.buttons)
        return bare and len(card.title) <= c.CARD_REPLACE_NAME_MAX_CHARS

    def _updates_in_place(self, card: Card) -> bool:
        return self._title_only(card) or render_card(card, card_url=self.config.card_url) is not None

    async def _update_card(self, user: str, card: Card, response_code: str) -> SendResult:
        template = render_card(card, card_url=self.config.card_url)
        if template is None and not self._title_only(card):
            # It must go as markdown (too long for a card, or no link for a
            # text_notice): a new message, or the member would not see it.
            return await self._send_card(user, card)
        body: dict[str, Any] = {
            "userids": [user],
            "agentid": self.config.agent_id,
            "response_code": response_code,
        }
        if template is not None:
            body["template_card"] = template.payload()
        else:
            # No link for a text_notice: grey out the clicked button with the title.
            body["button"] = {"replace_name": card.title}
        try:
            await self.client.update_template_card(body)
        except PlatformError as exc:
            if exc.transient or isinstance(exc, WeComCredentialsError):
                raise
            # The response_code is single-use and lasts 72 h: past that, a new card.
            log.warning("wecom card update refused (errcode=%s), sending a new card", exc.errcode)
            return await self._send_card(user, card)
        return SendResult(detail="update_template_card")

    async def _send_media(self, user: str, message: Image | File) -> SendResult:
        is_image = isinstance(message, Image)
        limit = c.APP_IMAGE_MAX_BYTES if is_image else c.APP_FILE_MAX_BYTES
        kind_zh = "图片" if is_image else "文件"
        if len(message.data) > limit:
            limit_mb = limit // (1024 * 1024)
            raise MessageTooLarge(
                f"{kind_zh}“{message.filename}”超过企业微信 {limit_mb} MB 的上限，未发送",
                platform=PLATFORM,
                errmsg=f"{message.kind} {len(message.data)} bytes",
            )
        if len(message.data) < c.MEDIA_MIN_BYTES:
            raise MessageTooLarge(
                f"{kind_zh}“{message.filename}”内容为空，未发送",
                platform=PLATFORM,
                errmsg=f"{message.kind} {len(message.data)} bytes",
            )
        media_id = await self.client.upload_media(message.kind, message.filename, message.data)
        answer = await self._send(user, message.kind, {"media_id": media_id})
        return SendResult(platform_message_id=str(answer.get("msgid", "")) or None, detail=f"{message.kind} media")
