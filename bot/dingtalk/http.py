"""One DingTalk HTTP round trip: transport failures and error answers become typed errors.

Shared by the API client and the webhook sender.  Nothing here logs or
raises a URL: webhook URLs carry access tokens, signatures and session keys.
JSON bodies go with ``post_json``; multipart uploads (old API) with ``post_form``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from bot.dingtalk import constants as c
from bot.dingtalk.errors import PLATFORM, check_response, network_error
from bot.errors import PlatformError

_TIMEOUT = aiohttp.ClientTimeout(total=c.API_TIMEOUT_SECONDS)
_UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=c.UPLOAD_TIMEOUT_SECONDS)


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    action: str,
    headers: Mapping[str, str] | None = None,
    credentials_call: bool = False,
) -> dict[str, Any]:
    """POST ``body`` as JSON and return the answer when DingTalk says it succeeded.

    ``url`` is taken as already encoded: a webhook's ``sign`` is
    percent-encoded base64 and must reach DingTalk as it is.
    """
    try:
        async with session.post(URL(url, encoded=True), json=body, headers=headers, timeout=_TIMEOUT) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise network_error(action, exc) from None
    return _answer(status, raw, action=action, credentials_call=credentials_call)


async def post_form(
    session: aiohttp.ClientSession,
    url: str,
    form: aiohttp.FormData,
    *,
    action: str,
    params: Mapping[str, str],
) -> dict[str, Any]:
    """POST a multipart ``form`` to an old-API (oapi) call; its answer when DingTalk says it succeeded."""
    try:
        async with session.post(url, params=params, data=form, timeout=_UPLOAD_TIMEOUT) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise network_error(action, exc) from None
    return _answer(status, raw, action=action, old_api=True)


def _answer(
    status: int, raw: bytes, *, action: str, credentials_call: bool = False, old_api: bool = False
) -> dict[str, Any]:
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:
        # A 5xx page is worth retrying; a 4xx page means a wrong base or path.
        raise PlatformError(
            "钉钉返回了无法识别的应答",
            platform=PLATFORM,
            errmsg=f"{action}: HTTP {status}, not JSON",
            transient=status >= 500 or status == 429,
            retry_after=c.RETRY_AFTER_NETWORK if status >= 500 or status == 429 else None,
        ) from None
    return check_response(status, payload, action=action, credentials_call=credentials_call, old_api=old_api)


def field(answer: dict[str, Any], name: str, *, action: str) -> str:
    """A field a successful answer must carry (accessToken, media_id)."""
    value = answer.get(name)
    if not value:
        raise PlatformError(
            "钉钉返回了无法识别的应答",
            platform=PLATFORM,
            errmsg=f"{action}: answer without {name}",
            transient=True,
            retry_after=c.RETRY_AFTER_NETWORK,
        )
    return str(value)
