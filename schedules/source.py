"""What the schedules read about rounds, behind one small interface.

The storage layer implements ``RoundSource`` (rounds, deadlines, progress,
standing); the sweep only sees these frozen snapshots, and tests hand in a
fake.  ``progress_from_standing`` turns a core ``Standing`` into the
per-department progress the texts and the planner need.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from schedules.content import DepartmentProgress, PartCount, RankRow
from schedules.plan import RoundState
from scoring_core.results import Standing


@dataclass(frozen=True, slots=True)
class RankingEvent:
    """A ranking to push once: ``event`` names it (``final-2020-10-20T09:00``, ``published-2020-10-20T10:00``).

    ``final``: the round is complete; else it was published with ``missing``
    scores, counted as 0.
    """

    event: str
    at: datetime
    final: bool
    missing: int = 0


@dataclass(frozen=True, slots=True)
class RoundSnapshot:
    """One round as a sweep sees it."""

    round_id: int
    state: RoundState
    is_open: bool
    rows: tuple[RankRow, ...] = ()
    push: RankingEvent | None = None


class RoundSource(Protocol):
    async def snapshots(self, session: AsyncSession, now: datetime) -> Sequence[RoundSnapshot]:
        """Open rounds, and closed or published ones whose ranking may still need a push."""
        ...

    async def workbook(self, session: AsyncSession, round_id: int) -> bytes:
        """The round's ranking workbook (xlsx bytes)."""
        ...


class NoRounds:
    """A source with no rounds: schedules run, send nothing (before storage is wired)."""

    async def snapshots(self, session: AsyncSession, now: datetime) -> Sequence[RoundSnapshot]:
        return ()

    async def workbook(self, session: AsyncSession, round_id: int) -> bytes:
        return b""


#: A department's deadline given the part codes it still has to score.
DeadlineFn = Callable[[str, Sequence[str]], datetime]


def progress_from_standing(standing: Standing, deadline_of: DeadlineFn) -> tuple[DepartmentProgress, ...]:
    """Per scorer department: tasks done of total and the parts left, in scheme order.

    A task is one (unit, part) a department scores; ``deadline_of`` gets the
    department and its unfinished part codes (all its codes once finished),
    so per-part deadlines can make the earliest one count.
    """
    total: dict[str, int] = defaultdict(int)
    done: dict[str, int] = defaultdict(int)
    left: dict[str, dict[str, list[object]]] = defaultdict(dict)
    codes: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, str] = {}
    for result in standing.results:
        for part in result.parts:
            titles[part.code] = part.title
            for score in part.scores:
                dept = score.scorer
                total[dept] += 1
                if part.code not in codes[dept]:
                    codes[dept].append(part.code)
                if score.value is None:
                    left[dept].setdefault(part.code, []).append(result.unit)
                else:
                    done[dept] += 1
    progress = []
    for dept in total:
        open_codes = [c for c in codes[dept] if c in left[dept]]
        parts = tuple(PartCount(c, titles[c], len(left[dept][c])) for c in open_codes)
        deadline = deadline_of(dept, open_codes or codes[dept])
        progress.append(DepartmentProgress(dept, deadline, total[dept], done[dept], parts))
    return tuple(progress)


def rank_rows(standing: Standing) -> tuple[RankRow, ...]:
    return tuple(RankRow(r.rank, r.unit, r.total, r.vetoed, r.veto_reasons) for r in standing.results)
