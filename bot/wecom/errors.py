"""WeCom's error codes mapped onto the project's platform errors, in one function.

``check_response`` is the only place that reads an ``errcode``: the API
client and the robot sender both pass every answer through it.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from bot.errors import PlatformError, RateLimited, SignatureError, TokenError
from bot.wecom import constants as c
from scoring_core.errors import ConfigError

log = logging.getLogger(__name__)

PLATFORM: Final = "wecom"

# errcodes (path/90313)
OK: Final = 0
SYSTEM_BUSY: Final = -1
INVALID_SECRET: Final = 40001
INVALID_CORP_ID: Final = 40013
INVALID_TOKEN: Final = 40014
TOKEN_EXPIRED: Final = 42001
API_FREQUENCY: Final = 45009
API_CONCURRENCY: Final = 45033
NO_VALID_RECIPIENT: Final = 81013
IP_NOT_TRUSTED: Final = 60020
ROBOT_INVALID_KEY: Final = 93000  # UNCONFIRMED: "invalid webhook url"

TOKEN_CODES: Final = frozenset({INVALID_TOKEN, TOKEN_EXPIRED})
CREDENTIAL_CODES: Final = frozenset({INVALID_SECRET, INVALID_CORP_ID, ROBOT_INVALID_KEY})

# Query parameters that carry secrets: scrubbed from anything we log or raise.
_SECRET_QUERY = re.compile(r"(access_token|corpsecret|key)=[^&\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """Hide secret query values (access_token, corpsecret, robot key) in a URL or message."""
    return _SECRET_QUERY.sub(r"\1=***", text)


class WeComCredentialsError(PlatformError, ConfigError):
    """WeCom refused the corp id, secret or robot key: fix the settings, do not retry."""


class MessageTooLarge(PlatformError):
    """Content over a WeCom size limit that cannot be split (an image, a file)."""


class CallbackRejected(SignatureError):
    """A callback failed its checks: 403 for signature or timestamp, 400 for a bad body."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__("回调校验失败", platform=PLATFORM, errmsg=reason)
        self.status = status


def check_response(payload: Any, *, action: str) -> dict[str, Any]:
    """Return a successful answer; raise the typed error an errcode stands for.

    ``action`` names the call for the log (never a URL: those carry secrets).
    """
    if not isinstance(payload, dict):
        raise PlatformError(
            "企业微信返回了无法识别的应答",
            platform=PLATFORM,
            errmsg=f"{action}: not a JSON object",
            transient=True,
            retry_after=c.RETRY_AFTER_NETWORK,
        )
    raw_code = payload.get("errcode", OK)
    errmsg = redact(str(payload.get("errmsg", "")))
    try:
        errcode = int(raw_code)
    except (TypeError, ValueError):
        errcode = SYSTEM_BUSY
    if errcode == OK:
        return payload

    if errcode in TOKEN_CODES:
        log.info("wecom %s: access token refused (errcode=%s)", action, errcode)
        raise TokenError(
            "企业微信凭证已失效，正在刷新",
            platform=PLATFORM,
            errcode=errcode,
            errmsg=errmsg,
            transient=True,
            retry_after=0.0,
        )
    if errcode in (API_FREQUENCY, API_CONCURRENCY):
        retry_after = c.RETRY_AFTER_RATE_LIMIT if errcode == API_FREQUENCY else c.RETRY_AFTER_CONCURRENCY
        log.warning("wecom %s: rate limited errcode=%s errmsg=%s", action, errcode, errmsg)
        raise RateLimited(
            "企业微信接口调用过于频繁，稍后重试",
            platform=PLATFORM,
            errcode=errcode,
            errmsg=errmsg,
            transient=True,
            retry_after=retry_after,
        )
    if errcode == SYSTEM_BUSY:
        log.warning("wecom %s: system busy errmsg=%s", action, errmsg)
        raise PlatformError(
            "企业微信系统繁忙，稍后重试",
            platform=PLATFORM,
            errcode=errcode,
            errmsg=errmsg,
            transient=True,
            retry_after=c.RETRY_AFTER_BUSY,
        )
    if errcode in CREDENTIAL_CODES:
        log.error("wecom %s: credentials refused errcode=%s errmsg=%s", action, errcode, errmsg)
        raise WeComCredentialsError(
            "企业微信拒绝了应用凭证（CorpID、Secret 或机器人 Key），请检查配置",
            platform=PLATFORM,
            errcode=errcode,
            errmsg=errmsg,
        )
    hint = {
        NO_VALID_RECIPIENT: "接收人均无效或不在应用可见范围内",
        IP_NOT_TRUSTED: "服务器 IP 不在应用的企业可信 IP 列表中",
    }.get(errcode, "企业微信拒绝了请求")
    log.error("wecom %s failed errcode=%s errmsg=%s (%s)", action, errcode, errmsg, hint)
    raise PlatformError(hint, platform=PLATFORM, errcode=errcode, errmsg=errmsg)


def network_error(action: str, exc: BaseException) -> PlatformError:
    """A transport failure as a transient error, its text scrubbed of secrets."""
    detail = redact(f"{type(exc).__name__}: {exc}")
    log.warning("wecom %s: network error %s", action, detail)
    return PlatformError(
        "连接企业微信失败，稍后重试",
        platform=PLATFORM,
        errmsg=f"{action}: {detail}",
        transient=True,
        retry_after=c.RETRY_AFTER_NETWORK,
    )
