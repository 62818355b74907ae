"""Async client of the WeCom app API (aiohttp): token, send, card update, media.

The access token lives in the shared token store so every process uses the
same one.  It is refreshed ``TOKEN_REFRESH_MARGIN_SECONDS`` before expiry,
and at once when WeCom refuses it (40014/42001), after which the call is
tried once more.  A lock per app key keeps one process from refreshing in
a stampede; the store's compare-and-swap keeps processes from overwriting
each other's fresh token.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp

from bot.clock import Clock, system_clock
from bot.deps import SessionSource, session_getter
from bot.errors import TokenError
from bot.tokens import TokenCache
from bot.wecom import constants as c
from bot.wecom.config import WeComConfig
from bot.wecom.errors import PLATFORM
from bot.wecom.http import field, request
from storage.tokens import StoredToken, TokenStore

log = logging.getLogger(__name__)


class WeComClient:
    def __init__(
        self,
        config: WeComConfig,
        session: SessionSource,
        tokens: TokenStore,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self._config = config
        self._session = session_getter(session)
        self._clock = clock
        self._token = TokenCache(
            tokens,
            PLATFORM,
            config.token_key,
            self._fetch_token,
            clock=clock,
            margin=timedelta(seconds=c.TOKEN_REFRESH_MARGIN_SECONDS),
        )

    def _url(self, path: str) -> str:
        return self._config.api_base + path

    async def access_token(self, *, refused: str | None = None) -> str:
        """A token valid for a while yet; ``refused`` is one WeCom just turned down."""
        return await self._token.get(refused=refused)

    async def _fetch_token(self) -> StoredToken:
        log.info("wecom: fetching a new access token for app %s", self._config.token_key)
        answer = await request(
            self._session(),
            "GET",
            self._url(c.PATH_GETTOKEN),
            action="gettoken",
            params={
                "corpid": self._config.corp_id,
                "corpsecret": self._config.secret.get_secret_value(),
            },
        )
        ttl = int(answer.get("expires_in") or c.TOKEN_DEFAULT_TTL_SECONDS)
        return StoredToken(
            value=field(answer, "access_token", action="gettoken"),
            expires_at=self._clock() + timedelta(seconds=ttl),
        )

    async def _with_token(self, call: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        token = await self.access_token()
        try:
            return await call(token)
        except TokenError:
            log.info("wecom: token refused, refreshing and trying once more")
            return await call(await self.access_token(refused=token))

    async def post_json(self, action: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body to an ``access_token`` API."""

        async def call(token: str) -> dict[str, Any]:
            return await request(
                self._session(),
                "POST",
                self._url(path),
                action=action,
                params={"access_token": token},
                json_body=body,
            )

        return await self._with_token(call)

    async def send_message(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.post_json("message/send", c.PATH_MESSAGE_SEND, body)

    async def update_template_card(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.post_json("message/update_template_card", c.PATH_UPDATE_TEMPLATE_CARD, body)

    async def upload_media(self, media_type: str, filename: str, data: bytes) -> str:
        """Upload a temporary media file (valid 3 days); its ``media_id``."""

        async def call(token: str) -> dict[str, Any]:
            # One per try: a FormData is consumed when sent.  Unquoted, so a Chinese
            # file name reaches WeCom as UTF-8, not percent-encoded.
            form = aiohttp.FormData(quote_fields=False)
            form.add_field("media", io.BytesIO(data), filename=filename, content_type="application/octet-stream")
            return await request(
                self._session(),
                "POST",
                self._url(c.PATH_MEDIA_UPLOAD),
                action="media/upload",
                params={"access_token": token, "type": media_type},
                data=form,
            )

        answer = await self._with_token(call)
        return field(answer, "media_id", action="media/upload")
