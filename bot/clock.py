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


class DevClock:
    """A clock an admin moves while the bot runs: dev only (``SCOREBOT_DEV_CLOCK``).

    Time keeps flowing from where it was put: it is ``base`` plus an offset
    that ``move_to``, ``advance`` and ``reset`` change.  Listeners (the
    scheduler's wake) are told after every move.
    """

    def __init__(self, offset: timedelta = timedelta(0), base: Clock = system_clock) -> None:
        self._base = base
        self._start = offset
        self._offset = offset
        self._listeners: list[Callable[[], None]] = []

    def __call__(self) -> datetime:
        return self._base() + self._offset

    @property
    def offset(self) -> timedelta:
        """How far the clock is from the base (the system clock)."""
        return self._offset

    def move_to(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"naive datetime {at!r}: pass a timezone-aware one")
        self._offset = at - self._base()
        return self._moved()

    def advance(self, delta: timedelta) -> datetime:
        self._offset += delta
        return self._moved()

    def reset(self) -> datetime:
        """Back to where it started (the system clock plus ``SCOREBOT_CLOCK_OFFSET``)."""
        self._offset = self._start
        return self._moved()

    def on_move(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _moved(self) -> datetime:
        for listener in self._listeners:
            listener()
        return self()
