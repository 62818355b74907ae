"""Async client of the DingTalk robot API (aiohttp): access token, media upload, one-to-one and group sends.

The access token lives in the shared token store so every process uses the
same one.  It is refreshed ``TOKEN_REFRESH_MARGIN_SECONDS`` before expiry,
and at once when DingTalk refuses it, after which the call is tried once
more.  A lock keeps one process from refreshing in a stampede; the store's
compare-and-swap keeps processes from overwriting each other's fresh token.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp

from bot.clock import Clock, system_clock
from bot.deps import SessionSource, session_getter
from bot.dingtalk import constants as c
from bot.dingtalk.config import DingTalkConfig
from bot.dingtalk.errors import PLATFORM, check_delivery
from bot.dingtalk.http import field, post_form, post_json
from bot.errors import TokenError
from bot.tokens import TokenCache
from storage.tokens import StoredToken, TokenStore

log = logging.getLogger(__name__)


class DingTalkClient:
    def __init__(
        self,
        config: DingTalkConfig,
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

    def _oapi_url(self, path: str) -> str:
        return self._config.oapi_base + path

    async def access_token(self, *, refused: str | None = None) -> str:
        """A token valid for a while yet; ``refused`` is one DingTalk just turned down."""
        return await self._token.get(refused=refused)

    async def _fetch_token(self) -> StoredToken:
        log.info("dingtalk: fetching a new access token for app %s", self._config.app_key)
        answer = await post_json(
            self._session(),
            self._url(c.PATH_ACCESS_TOKEN),
            {"appKey": self._config.app_key, "appSecret": self._config.app_secret.get_secret_value()},
            action="oauth2/accessToken",
            credentials_call=True,
        )
        ttl = int(answer.get("expireIn") or c.TOKEN_DEFAULT_TTL_SECONDS)
        return StoredToken(
            value=field(answer, "accessToken", action="oauth2/accessToken"),
            expires_at=self._clock() + timedelta(seconds=ttl),
        )

    async def _with_token(self, call: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        token = await self.access_token()
        try:
            return await call(token)
        except TokenError:
            log.info("dingtalk: token refused, refreshing and trying once more")
            return await call(await self.access_token(refused=token))

    async def post_api(self, action: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body to an API that takes the access token in its header."""

        async def call(token: str) -> dict[str, Any]:
            return await post_json(
                self._session(),
                self._url(path),
                body,
                action=action,
                headers={c.ACCESS_TOKEN_HEADER: token},
            )

        return await self._with_token(call)

    async def upload_media(self, media_type: str, filename: str, data: bytes) -> str:
        """Upload an image or file through the old API; its ``media_id``.

        The old API takes the same app access token, in the query, and
        answers ``errcode``: a refused token is refreshed like the new API's.
        """

        async def call(token: str) -> dict[str, Any]:
            # One form per try: a FormData is consumed when sent.  Unquoted, so a
            # Chinese file name reaches DingTalk as UTF-8, not percent-encoded.
            # A stream, not raw bytes: aiohttp warns that a body over 1 MB in
            # bytes may hold up the event loop.
            form = aiohttp.FormData(quote_fields=False)
            form.add_field("type", media_type)
            form.add_field(c.MEDIA_FIELD, io.BytesIO(data), filename=filename, content_type="application/octet-stream")
            return await post_form(
                self._session(),
                self._oapi_url(c.PATH_MEDIA_UPLOAD),
                form,
                action="media/upload",
                params={"access_token": token, "type": media_type},
            )

        answer = await self._with_token(call)
        return field(answer, "media_id", action="media/upload")

    async def send_to_users(self, user_ids: list[str], msg_key: str, msg_param: dict[str, Any]) -> list[str]:
        """One robot message to members, ``BATCH_SEND_MAX_USERS`` a call; the processQueryKeys."""
        keys = []
        for start in range(0, len(user_ids), c.BATCH_SEND_MAX_USERS):
            chunk = user_ids[start : start + c.BATCH_SEND_MAX_USERS]
            body = {
                "robotCode": self._config.robot_code,
                "userIds": chunk,
                "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False),
            }
            answer = await self.post_api("robot/oToMessages/batchSend", c.PATH_BATCH_SEND, body)
            check_delivery(answer, chunk, action="robot/oToMessages/batchSend")
            keys.append(str(answer.get("processQueryKey", "")))
        return keys

    async def send_to_group(self, conversation_id: str, msg_key: str, msg_param: dict[str, Any]) -> str:
        """One robot message to a group conversation the robot is in; its processQueryKey."""
        body = {
            "robotCode": self._config.robot_code,
            "openConversationId": conversation_id,
            "msgKey": msg_key,
            "msgParam": json.dumps(msg_param, ensure_ascii=False),
        }
        answer = await self.post_api("robot/groupMessages/send", c.PATH_GROUP_SEND, body)
        return str(answer.get("processQueryKey", ""))
