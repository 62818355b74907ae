"""DingTalk request signing, both directions, in one place.

Inbound robot callbacks and outbound custom-robot webhooks use the same
scheme: base64(HMAC-SHA256(key = secret, message = timestamp_ms + "\\n" + secret)).
Webhooks put it URL-encoded in the query; callbacks send it in the ``sign``
header.  Government DingTalk deployments that sign differently need only
another version of this module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.dingtalk import constants as c
from bot.dingtalk.errors import CallbackRejected


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def sign(timestamp_ms: str, secret: str) -> str:
    """The base64 signature of ``timestamp_ms`` under ``secret``."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_callback(timestamp_ms: str, signature: str, *, secret: str, now: datetime) -> None:
    """Refuse (403) a callback whose signature is wrong or whose timestamp is out of the window."""
    try:
        sent_at = int(timestamp_ms)
    except ValueError:
        raise CallbackRejected("timestamp is not a number", status=403) from None
    if abs(epoch_ms(now) - sent_at) > c.CALLBACK_MAX_SKEW_SECONDS * 1000:
        raise CallbackRejected("timestamp outside the allowed window", status=403)
    expected = sign(timestamp_ms, secret)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        raise CallbackRejected("signature mismatch", status=403)


def signed_webhook_url(url: str, secret: str | None, *, now: datetime) -> str:
    """A custom robot's webhook URL with ``timestamp`` and ``sign`` added (when it has a secret).

    Any previous timestamp/sign in the URL is replaced, never appended twice.
    """
    if not secret:
        return url
    timestamp = str(epoch_ms(now))
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("timestamp", "sign")]
    query += [("timestamp", timestamp), ("sign", sign(timestamp, secret))]
    return urlunsplit(parts._replace(query=urlencode(query)))
