"""The token bucket paces a burst at the limit and drops nothing (no sleeping)."""

from __future__ import annotations

from bot.adapter import RateLimit
from bot.ratelimit import RateLimiter

LIMIT = RateLimit(per_period=20, period=60.0)


def _drain(limiter: RateLimiter, count: int) -> list[float]:
    """Send ``count`` messages as fast as the limiter allows; the send times."""
    now, times = 0.0, []
    while len(times) < count:
        wait = limiter.try_acquire("robot:leaders", LIMIT, now)
        if wait == 0:
            times.append(now)
        else:
            assert wait > 0
            now += wait
    return times


def test_a_burst_of_500_drains_at_the_limit_with_none_dropped() -> None:
    times = _drain(RateLimiter(), 500)
    assert len(times) == 500
    # Never more than the limit in any window of one period...
    for i in range(len(times) - LIMIT.per_period):
        assert times[i + LIMIT.per_period] - times[i] >= LIMIT.period
    # ...and no slower than it: 25 full buckets, one period apart.
    assert times[-1] == (500 // LIMIT.per_period - 1) * LIMIT.period
    assert times[: LIMIT.per_period] == [0.0] * LIMIT.per_period


def test_keys_are_independent_and_idle_buckets_are_dropped() -> None:
    limiter = RateLimiter()
    for user in range(50):
        assert limiter.try_acquire(f"user:{user}", LIMIT, 0.0) == 0.0
    assert len(limiter) == 50
    limiter.sweep(LIMIT.period)
    assert len(limiter) == 0


def test_release_gives_the_token_back() -> None:
    limiter = RateLimiter()
    one = RateLimit(per_period=1, period=10.0)
    assert limiter.try_acquire("k", one, 0.0) == 0.0
    assert limiter.try_acquire("k", one, 1.0) == 9.0
    limiter.release("k")
    assert limiter.try_acquire("k", one, 1.0) == 0.0
