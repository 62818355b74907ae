"""One WeCom HTTP round trip: transport failures and errcodes become typed errors.

Shared by the app API client and the group robot sender.  Nothing here logs
or raises a URL: WeCom puts the access token and the robot key in the query.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.errors import PlatformError
from bot.wecom import constants as c
from bot.wecom.errors import PLATFORM, check_response, network_error

_TIMEOUT = aiohttp.ClientTimeout(total=c.API_TIMEOUT_SECONDS)


async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    action: str,
    params: Mapping[str, str],
    json_body: Any = None,
    data: aiohttp.FormData | None = None,
) -> dict[str, Any]:
    """Call WeCom and return the answer's JSON object when ``errcode`` is 0."""
    try:
        async with session.request(method, url, params=params, json=json_body, data=data, timeout=_TIMEOUT) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise network_error(action, exc) from None
    if status >= 500 or status == 429:
        raise PlatformError(
            "企业微信暂时不可用，稍后重试",
            platform=PLATFORM,
            errmsg=f"{action}: HTTP {status}",
            transient=True,
            retry_after=c.RETRY_AFTER_NETWORK,
        )
    try:
        payload = json.loads(raw)
    except ValueError:
        # A 4xx page instead of JSON means a wrong API base or path: retrying won't help.
        raise PlatformError(
            "企业微信返回了无法识别的应答",
            platform=PLATFORM,
            errmsg=f"{action}: HTTP {status}, not JSON",
            transient=status < 400,
            retry_after=c.RETRY_AFTER_NETWORK if status < 400 else None,
        ) from None
    return check_response(payload, action=action)


def field(answer: dict[str, Any], name: str, *, action: str) -> str:
    """A field a successful answer must carry (access_token, media_id)."""
    value = answer.get(name)
    if not value:
        raise PlatformError(
            "企业微信返回了无法识别的应答",
            platform=PLATFORM,
            errmsg=f"{action}: answer without {name}",
            transient=True,
            retry_after=c.RETRY_AFTER_NETWORK,
        )
    return str(value)
