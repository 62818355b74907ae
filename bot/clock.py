"""The clock everything asks for "now": injected, so tests and dev can move time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""Returns an aware UTC datetime."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def offset_clock(offset: timedelta, base: Clock = system_clock) -> Clock:
    """The system clock shifted by ``offset`` (``SCOREBOT_CLOCK_OFFSET``, to try a deadline)."""
    if not offset:
        return base

    def _now() -> datetime:
        return base() + offset

    return _now
