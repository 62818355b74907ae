"""DingTalk's answers mapped onto the project's platform errors, in one function.

DingTalk answers in two shapes: the new API (``api.dingtalk.com/v1.0``)
says failure with an HTTP status and ``{"code", "message", "requestid"}``;
robot webhooks (custom robots, session webhooks) and the old API
(``oapi.dingtalk.com``, media upload) answer HTTP 200 with
``{"errcode", "errmsg"}``, each with its own codes.  ``check_response`` is
the only place that reads any of them: every call in this package passes
its answer through it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Final

from bot.dingtalk import constants as c
from bot.errors import PlatformError, RateLimited, SignatureError, TokenError
from scoring_core.errors import ConfigError

log = logging.getLogger(__name__)

PLATFORM: Final = "dingtalk"

# New API codes (compared lower-case).  UNCONFIRMED beyond InvalidAuthentication:
# the codes observed for QPS limits start with these prefixes.
TOKEN_CODES: Final = frozenset({"invalidauthentication", "invalidaccesstoken", "accesstokenexpired"})
RATE_CODE_PREFIXES: Final = ("forbidden.accessdenied.qpslimit", "throttling", "toomanyrequests")
BUSY_CODES: Final = frozenset({"systemerror", "serviceunavailable", "internalerror"})

# Webhook errcodes (custom robots, session webhooks).
OK: Final = 0
SYSTEM_BUSY: Final = -1
WEBHOOK_TOO_FAST: Final = frozenset({130101, 410100})  # "send too fast"; UNCONFIRMED which one
WEBHOOK_SECURITY: Final = 310000  # sign not match / invalid timestamp / keywords / IP
WEBHOOK_TOKEN_MISSING: Final = 300001  # the webhook's access_token does not exist. UNCONFIRMED
WEBHOOK_CREDENTIAL_CODES: Final = frozenset({WEBHOOK_SECURITY, WEBHOOK_TOKEN_MISSING})

# Old API (oapi) errcodes.  UNCONFIRMED for DingTalk in detail: the global
# error code table as copied by third parties; 40014/42001 are the token codes
# the old SDKs refresh on.
OLD_API_TOKEN_CODES: Final = frozenset({40014, 42001})
OLD_API_RATE_CODES: Final = frozenset({90002, 90006, 90018})
OLD_API_MEDIA_CODES: Final = frozenset({40004, 40005, 40006})  # media type, file type, file size

# Query parameters and fields that carry secrets: scrubbed from anything we log or raise.
# Fields as JSON ("ticket": "…") or as a Python dict's repr ('ticket': '…'), which is how
# the Stream SDK logs its connection and whole frames.
_SECRET_QUERY = re.compile(r"(access_token|sign|session|appSecret|ticket)=[^&,\s'\"]+", re.IGNORECASE)
_SECRET_JSON = re.compile(
    r"""(["'](?:appSecret|accessToken|clientSecret|ticket|sessionWebhook)["']\s*:\s*["'])[^"']*""", re.IGNORECASE
)


def redact(text: str) -> str:
    """Hide secret values (tokens, signatures, session keys) in a URL or message."""
    return _SECRET_JSON.sub(r"\1***", _SECRET_QUERY.sub(r"\1=***", text))


class DingTalkCredentialsError(PlatformError, ConfigError):
    """DingTalk refused the app key/secret or a robot webhook's token/secret: fix the settings."""


class MessageUnsupported(PlatformError):
    """A message its target cannot carry: an image or file for a group reached only by a custom robot."""


class MediaRefused(PlatformError):
    """An image or file too big or of a type DingTalk does not take: refused before any call."""


class CallbackRejected(SignatureError):
    """An inbound callback failed its checks: 403 for signature or timestamp, 400 for a bad body."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__("回调校验失败", platform=PLATFORM, errmsg=reason)
        self.status = status


def _not_understood(action: str, detail: str) -> PlatformError:
    return PlatformError(
        "钉钉返回了无法识别的应答",
        platform=PLATFORM,
        errmsg=f"{action}: {detail}",
        transient=True,
        retry_after=c.RETRY_AFTER_NETWORK,
    )


def check_response(
    status: int, payload: Any, *, action: str, credentials_call: bool = False, old_api: bool = False
) -> dict[str, Any]:
    """Return a successful answer; raise the typed error it stands for.

    ``action`` names the call for the log (never a URL: webhook URLs carry
    tokens).  ``credentials_call`` marks the token call itself, where a
    refusal means the app key or secret is wrong.  ``old_api`` marks an
    ``oapi`` call, whose errcodes differ from the robot webhooks'.
    """
    if not isinstance(payload, dict):
        raise _not_understood(action, f"HTTP {status}, not a JSON object")
    if "errcode" in payload:
        return _check_errcode(payload, _OLD_API if old_api else _WEBHOOK, action=action)
    if status < 300 and "code" not in payload:
        return payload

    code = str(payload.get("code") or f"HTTP{status}")
    errmsg = redact(str(payload.get("message", "")))
    lowered = code.lower()
    if status == 429 or lowered.startswith(RATE_CODE_PREFIXES):
        log.warning("dingtalk %s: rate limited code=%s message=%s", action, code, errmsg)
        raise RateLimited(
            "钉钉接口调用过于频繁，稍后重试",
            platform=PLATFORM,
            errcode=code,
            errmsg=errmsg,
            transient=True,
            retry_after=c.RETRY_AFTER_RATE_LIMIT,
        )
    if status >= 500 or lowered in BUSY_CODES:
        log.warning("dingtalk %s: server error HTTP %s code=%s message=%s", action, status, code, errmsg)
        raise PlatformError(
            "钉钉系统繁忙，稍后重试",
            platform=PLATFORM,
            errcode=code,
            errmsg=errmsg,
            transient=True,
            retry_after=c.RETRY_AFTER_BUSY,
        )
    if credentials_call:
        log.error("dingtalk %s: credentials refused code=%s message=%s", action, code, errmsg)
        raise DingTalkCredentialsError(
            "钉钉拒绝了应用凭证（AppKey 或 AppSecret），请检查配置",
            platform=PLATFORM,
            errcode=code,
            errmsg=errmsg,
        )
    if lowered in TOKEN_CODES:
        log.info("dingtalk %s: access token refused (code=%s)", action, code)
        raise TokenError(
            "钉钉凭证已失效，正在刷新",
            platform=PLATFORM,
            errcode=code,
            errmsg=errmsg,
            transient=True,
            retry_after=0.0,
        )
    log.error("dingtalk %s failed HTTP %s code=%s message=%s", action, status, code, errmsg)
    raise PlatformError("钉钉拒绝了请求", platform=PLATFORM, errcode=code, errmsg=errmsg)


@dataclass(frozen=True, slots=True)
class _Errcodes:
    """What one ``{"errcode", "errmsg"}`` family's codes mean (webhooks and the old API differ)."""

    token: frozenset[int] = frozenset()
    rate: frozenset[int] = frozenset()
    rate_message: str = "钉钉接口调用过于频繁，稍后重试"
    rate_retry_after: float = c.RETRY_AFTER_RATE_LIMIT
    credentials: frozenset[int] = frozenset()
    media: frozenset[int] = frozenset()


_WEBHOOK: Final = _Errcodes(
    rate=WEBHOOK_TOO_FAST,
    rate_message="钉钉群机器人发送过于频繁，已被限流，稍后重试",
    rate_retry_after=c.RETRY_AFTER_WEBHOOK_THROTTLED,
    credentials=WEBHOOK_CREDENTIAL_CODES,
)
_OLD_API: Final = _Errcodes(token=OLD_API_TOKEN_CODES, rate=OLD_API_RATE_CODES, media=OLD_API_MEDIA_CODES)


def _check_errcode(payload: dict[str, Any], codes: _Errcodes, *, action: str) -> dict[str, Any]:
    errmsg = redact(str(payload.get("errmsg", "")))
    try:
        errcode = int(payload.get("errcode", OK))
    except (TypeError, ValueError):
        errcode = SYSTEM_BUSY
    if errcode == OK:
        return payload
    if errcode in codes.token:
        log.info("dingtalk %s: access token refused (errcode=%s)", action, errcode)
        raise TokenError(
            "钉钉凭证已失效，正在刷新",
            platform=PLATFORM,
            errcode=errcode,
            errmsg=errmsg,
            transient=True,
            retry_after=0.0,
        )
    if errcode in codes.rate:
        log.warning("dingtalk %s: rate limited errcode=%s errmsg=%s", action, errcode, errmsg)
        raise RateLimited(
            codes.rate_message,
            platform=PLATFORM,
            errcode=errcode,
            errmsg=errmsg,
            transient=True,
            retry_after=codes.rate_retry_after,
        )
    if errcode == SYSTEM_BUSY:
        log.warning("dingtalk %s: system busy errmsg=%s", action, errmsg)
        raise PlatformError(
            "钉钉系统繁忙，稍后重试",
            platform=PLATFORM,
            errcode=errcode,
            errmsg=errmsg,
            transient=True,
            retry_after=c.RETRY_AFTER_BUSY,
        )
    if errcode in codes.credentials:
        log.error("dingtalk %s: robot refused the signature or token errcode=%s errmsg=%s", action, errcode, errmsg)
        raise DingTalkCredentialsError(
            "钉钉群机器人拒绝了签名或 access_token，请检查 Webhook 地址、加签密钥和服务器时间",
            platform=PLATFORM,
            errcode=errcode,
            errmsg=errmsg,
        )
    if errcode in codes.media:
        log.error("dingtalk %s: media refused errcode=%s errmsg=%s", action, errcode, errmsg)
        raise MediaRefused(
            "钉钉拒绝了上传的图片或文件（类型或大小不符）", platform=PLATFORM, errcode=errcode, errmsg=errmsg
        )
    log.error("dingtalk %s failed errcode=%s errmsg=%s", action, errcode, errmsg)
    raise PlatformError("钉钉拒绝了请求", platform=PLATFORM, errcode=errcode, errmsg=errmsg)


def check_delivery(answer: dict[str, Any], user_ids: list[str], *, action: str) -> None:
    """A batchSend answer lists members it refused (invalid) or held back (flow control)."""
    invalid = [str(u) for u in answer.get("invalidStaffIdList") or []]
    throttled = [str(u) for u in answer.get("flowControlledStaffIdList") or []]
    if throttled:
        log.warning("dingtalk %s: flow control for %d member(s)", action, len(throttled))
        raise RateLimited(
            "钉钉对该成员的消息限流，稍后重试",
            platform=PLATFORM,
            errcode="flowControlled",
            errmsg=f"{action}: flow controlled {','.join(throttled)}",
            transient=True,
            retry_after=c.RETRY_AFTER_RATE_LIMIT,
        )
    if invalid and set(invalid) >= set(user_ids):
        log.error("dingtalk %s: every recipient invalid: %s", action, ",".join(invalid))
        raise PlatformError(
            "接收人无效或不在机器人可见范围内",
            platform=PLATFORM,
            errcode="invalidStaffId",
            errmsg=f"{action}: invalid {','.join(invalid)}",
        )
    if invalid:
        log.warning("dingtalk %s: some recipients invalid: %s", action, ",".join(invalid))


def network_error(action: str, exc: BaseException) -> PlatformError:
    """A transport failure as a transient error, its text scrubbed of secrets."""
    detail = redact(f"{type(exc).__name__}: {exc}")
    log.warning("dingtalk %s: network error %s", action, detail)
    return PlatformError(
        "连接钉钉失败，稍后重试",
        platform=PLATFORM,
        errmsg=f"{action}: {detail}",
        transient=True,
        retry_after=c.RETRY_AFTER_NETWORK,
    )
