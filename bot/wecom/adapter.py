"""The WeCom adapter: callback routes in, app messages and group robot posts out.

Constructed by the app factory with the settings, the shared HTTP session,
the token store and the event sink; the outbox calls ``send`` and paces by
``rate_key``.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import PurePath
from typing import Any, Final

from aiohttp import web
from pydantic import SecretStr

from bot.adapter import Adapter, EventSink, RateLimit, SendResult
from bot.clock import Clock, system_clock
from bot.deps import SessionSource
from bot.errors import PlatformError
from bot.events import Platform
from bot.messages import Card, File, Image, Markdown, Message, Outbound, TargetKind, Text
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

    def posts(self, outbound: Outbound) -> int:
        chunks = self._chunks(outbound)
        return len(chunks[1]) if chunks is not None else 1

    def _chunks(self, outbound: Outbound) -> tuple[str, list[str]] | None:
        """(msgtype, posts) of a message that goes as text or markdown; None for one card or file."""
        message = outbound.message
        group = outbound.target.kind is TargetKind.GROUP
        text_max = c.ROBOT_TEXT_MAX_BYTES if group else c.TEXT_MAX_BYTES
        markdown_max = c.ROBOT_MARKDOWN_MAX_BYTES if group else c.MARKDOWN_MAX_BYTES
        if isinstance(message, Text):
            return "text", split_lines(message.content, text_max)
        if isinstance(message, Markdown):
            return "markdown", split_lines(message.content, markdown_max)
        if isinstance(message, Card):
            if group:
                # Groups get no clickable buttons from robots: the card reads as markdown.
                return "markdown", split_lines(card_markdown(message, with_commands=False), markdown_max)
            if outbound.reply_token and self._updates_in_place(message):
                return None
            if render_card(message, card_url=self.config.card_url) is None:
                # Too long for a card (or a text_notice without a link): markdown with the commands.
                return "markdown", split_lines(card_markdown(message, with_commands=True), markdown_max)
        return None

    async def send(self, outbound: Outbound, *, part: int = 0, resend: bool = False) -> SendResult:
        if outbound.target.platform is not Platform.WECOM:
            raise PlatformError(
                "消息目标不属于企业微信",
                platform=PLATFORM,
                errmsg=f"target platform {outbound.target.platform}",
            )
        chunks = self._chunks(outbound)
        if chunks is not None:
            msgtype, posts = chunks
            if outbound.target.kind is TargetKind.GROUP:
                return await self._post_group(outbound.target.id, msgtype, posts[part])
            return await self._post_user(outbound.target.id, msgtype, posts[part], resend=resend)
        if outbound.target.kind is TargetKind.GROUP:
            return await self._send_group_media(outbound.target.id, outbound.message)
        message = outbound.message
        user = outbound.target.id
        if isinstance(message, Card):
            if outbound.reply_token:
                return await self._update_card(user, message, outbound.reply_token, resend=resend)
            return await self._send_card(user, message, resend=resend)
        if isinstance(message, Image | File):
            return await self._send_media(user, message, resend=resend)
        raise AssertionError(f"unhandled message {message.kind}")  # _chunks took text and markdown

    def _robot_key(self, group: str) -> SecretStr:
        key = self.config.robot_keys.get(group)
        if key is None:
            raise WeComCredentialsError(
                f"群“{group}”没有配置群机器人（SCOREBOT_WECOM_ROBOT_KEYS）",
                platform=PLATFORM,
                errmsg=f"no robot key for group {group}",
            )
        return key

    async def _post_group(self, group: str, msgtype: str, content: str) -> SendResult:
        key = self._robot_key(group)
        if msgtype == "text":
            await self.robot.send_text(key, content)
        else:
            await self.robot.send_markdown(key, content)
        return SendResult(detail=f"robot {msgtype}")

    async def _send_group_media(self, group: str, message: Message) -> SendResult:
        key = self._robot_key(group)
        if isinstance(message, Image):
            await self.robot.send_image(key, message.filename, message.data)
        elif isinstance(message, File):
            await self.robot.send_file(key, message.filename, message.data)
        else:  # pragma: no cover - _chunks took every other kind
            raise AssertionError(f"unhandled group message {message.kind}")
        return SendResult(detail=f"robot {message.kind}")

    async def _send(self, user: str, msgtype: str, body: dict[str, Any], *, resend: bool) -> dict[str, Any]:
        message = app_message(self.config.agent_id, user, msgtype, body, duplicate_check=resend)
        return await self.client.send_message(message)

    async def _post_user(self, user: str, msgtype: str, content: str, *, resend: bool) -> SendResult:
        answer = await self._send(user, msgtype, {"content": content}, resend=resend)
        return SendResult(platform_message_id=str(answer.get("msgid", "")) or None, detail=msgtype)

    async def _send_card(self, user: str, card: Card, *, resend: bool) -> SendResult:
        template = render_card(card, card_url=self.config.card_url)
        if template is None:  # pragma: no cover - _chunks sends such a card as markdown
            raise AssertionError("a card that does not fit goes as markdown")
        answer = await self._send(user, "template_card", template.payload(), resend=resend)
        return SendResult(
            platform_message_id=str(answer.get("msgid", "")) or None,
            detail=f"template_card {template.card_type} task_id={template.task_id}",
        )

    @staticmethod
    def _title_only(card: Card) -> bool:
        """A card that says all in its title: the clicked button, greyed out, can show it."""
        bare = not (card.description or card.fields or card.lines or card.commands)
        return bare and len(card.title) <= c.CARD_REPLACE_NAME_MAX_CHARS

    def _updates_in_place(self, card: Card) -> bool:
        return self._title_only(card) or render_card(card, card_url=self.config.card_url) is not None

    async def _update_card(self, user: str, card: Card, response_code: str, *, resend: bool) -> SendResult:
        template = render_card(card, card_url=self.config.card_url)
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
            # The response_code is single-use and lasts 72 h: past that (or used
            # by the try that crashed), a new card.
            log.warning("wecom card update refused (errcode=%s), sending a new card", exc.errcode)
            if template is None:
                return await self._post_user(user, "markdown", card_markdown(card, with_commands=True), resend=resend)
            return await self._send_card(user, card, resend=resend)
        return SendResult(detail="update_template_card")

    async def _send_media(self, user: str, message: Image | File, *, resend: bool) -> SendResult:
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
        if is_image and PurePath(message.filename).suffix.lower() not in c.APP_IMAGE_SUFFIXES:
            raise MessageTooLarge(
                f"企业微信只能发送 PNG 或 JPG 图片，“{message.filename}”不是，未发送",
                platform=PLATFORM,
                errmsg=f"image type {PurePath(message.filename).suffix or 'none'}",
            )
        if len(message.data) < c.MEDIA_MIN_BYTES:
            raise MessageTooLarge(
                f"{kind_zh}“{message.filename}”内容为空，未发送",
                platform=PLATFORM,
                errmsg=f"{message.kind} {len(message.data)} bytes",
            )
        media_id = await self.client.upload_media(message.kind, message.filename, message.data)
        answer = await self._send(user, message.kind, {"media_id": media_id}, resend=resend)
        return SendResult(platform_message_id=str(answer.get("msgid", "")) or None, detail=f"{message.kind} media")
