"""Send pacing: one bucket of tokens per rate key (a recipient, a webhook...).

A bucket holds ``per_period`` tokens; a send spends one, and the token comes
back one ``period`` after it was spent.  So bursts go out at once up to the
limit, and no window of length ``period`` ever holds more than
``per_period`` sends.  (A classic refill-at-a-steady-rate bucket allows
twice the limit in a window straddling a burst; WeCom silently drops what
goes over, so the stricter shape is the one that keeps messages.)

Pure bookkeeping: the caller passes the time, and is told how long to wait
instead of being put to sleep, so it is tested without sleeping.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from bot.adapter import RateLimit

# Buckets of idle keys are dropped on a sweep every this many acquisitions,
# so a round that messages thousands of members does not grow memory forever.
_SWEEP_EVERY = 1000


@dataclass
class TokenBucket:
    limit: RateLimit
    spent: deque[float] = field(default_factory=deque)

    def _return_tokens(self, now: float) -> None:
        while self.spent and self.spent[0] + self.limit.period <= now:
            self.spent.popleft()

    def try_take(self, now: float) -> float:
        """Spend a token and return 0.0, or return the seconds until one is back."""
        self._return_tokens(now)
        if len(self.spent) < self.limit.per_period:
            self.spent.append(now)
            return 0.0
        return self.spent[0] + self.limit.period - now

    def give_back(self) -> None:
        """Undo the last take (the send did not happen after all)."""
        if self.spent:
            self.spent.pop()

    def idle(self, now: float) -> bool:
        self._return_tokens(now)
        return not self.spent


class RateLimiter:
    """Buckets by key; a bucket's limit is the one its adapter names for the key."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}
        self._since_sweep = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def try_acquire(self, key: str, limit: RateLimit, now: float) -> float:
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self.sweep(now)
        return self._bucket(key, limit).try_take(now)

    def record(self, key: str, limit: RateLimit, at: float) -> None:
        """A token spent at ``at`` (in the past, from the outbox after a restart)."""
        bucket = self._bucket(key, limit)
        bucket.spent.append(at)
        if len(bucket.spent) > 1 and bucket.spent[-2] > at:  # keep the oldest first
            bucket.spent = deque(sorted(bucket.spent))

    def _bucket(self, key: str, limit: RateLimit) -> TokenBucket:
        """The key's bucket; a new one when there is none, or its adapter names another limit."""
        bucket = self._buckets.get(key)
        if bucket is None or bucket.limit != limit:
            bucket = self._buckets[key] = TokenBucket(limit)
        return bucket

    def release(self, key: str) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.give_back()

    def sweep(self, now: float) -> None:
        self._since_sweep = 0
        for key in [k for k, b in self._buckets.items() if b.idle(now)]:
            del self._buckets[key]
