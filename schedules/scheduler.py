"""A thin wrapper over APScheduler 3's AsyncIOScheduler (Asia/Shanghai).

Fixed job ids and module-level job functions that take the runtime id, so
a restart plans the same jobs and nothing lives only in a closure.  The
memory job store is enough: what was sent is in the outbox, when planning
last ran is in the database, and the sweep's first run at start catches up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from schedules import jobs
from schedules.timing import TZ
from storage import schedules as state

log = logging.getLogger(__name__)

#: The one recurring job: plan and enqueue whatever is due.
SWEEP_JOB_ID = "scorebot:schedules:sweep"


@dataclass(frozen=True, slots=True)
class JobInfo:
    id: str
    next_run: datetime | None


class Scheduler:
    """Owns one AsyncIOScheduler; ``start`` inside the running loop, ``stop`` at shutdown."""

    def __init__(self, runtime: jobs.ScheduleRuntime, *, sweep_seconds: float = 60) -> None:
        self.runtime = runtime
        self.sweep_seconds = sweep_seconds
        self._aps: AsyncIOScheduler | None = None

    async def start(self) -> None:
        """Catch up at once (what fell due while the bot was down), then sweep on the timer.

        The first sweep runs before ``start`` returns, so the app is up only once
        it has caught up: nothing that follows (a message, a test) races it.
        """
        runtime_id = jobs.register(self.runtime)
        try:
            await jobs.run_sweep(self.runtime)
        except Exception:  # the timer tries again; a bad round must not stop the bot starting
            log.exception("the catch-up sweep at start failed")
        self._aps = AsyncIOScheduler(timezone=TZ)
        self._aps.add_job(
            jobs.sweep,
            "interval",
            seconds=self.sweep_seconds,
            id=SWEEP_JOB_ID,
            args=[runtime_id],
            coalesce=True,  # a sweep covers everything due; running missed ones again adds nothing
            max_instances=1,
            misfire_grace_time=int(self.sweep_seconds),
            replace_existing=True,
        )
        self._aps.start()

    def wake(self) -> None:
        """Sweep now rather than at the next tick (the dev clock was moved)."""
        if self._aps is not None:
            self._aps.modify_job(SWEEP_JOB_ID, next_run_time=datetime.now(TZ))

    async def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        jobs.unregister(self.runtime.holder)
        # Hand the lease over now rather than after it runs out.
        async with self.runtime.sessions() as session, session.begin():
            await state.release_lease(session, jobs.LEASE, self.runtime.holder, self.runtime.clock())

    def jobs(self) -> list[JobInfo]:
        if self._aps is None:
            return []
        return [JobInfo(job.id, job.next_run_time) for job in self._aps.get_jobs()]
