"""The session webhook as a reply token: where to answer in place, and until when.

A robot message carries ``sessionWebhook`` (a URL that posts into the same
conversation without an access token) and ``sessionWebhookExpiredTime``
(ms).  Both travel as the event's opaque ``reply_token`` so the adapter can
skip an expired webhook without a call and send through the API instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

_SEPARATOR = "|"


@dataclass(frozen=True, slots=True)
class SessionWebhook:
    url: str
    expires_at: datetime | None

    def usable(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at

    def __repr__(self) -> str:  # the URL carries a session key
        return f"SessionWebhook(url=***, expires_at={self.expires_at})"


def encode(url: str, expires_ms: int | None) -> str:
    return f"{expires_ms or 0}{_SEPARATOR}{url}"


def decode(token: str) -> SessionWebhook | None:
    """The webhook in a reply token; None for a token that is not ours (or is damaged)."""
    expires, sep, url = token.partition(_SEPARATOR)
    if not sep or not url.startswith(("https://", "http://")) or not expires.isdigit():
        return None
    ms = int(expires)
    return SessionWebhook(url=url, expires_at=datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None)
