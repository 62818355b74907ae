"""The rounds the schedules read, from the scoring storage (rounds, deadlines, standing)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from schedules.content import PartCount, RoundInfo
from schedules.plan import RoundState
from schedules.source import RankingEvent, RoundSnapshot, progress_from_standing, rank_rows
from schedules.timing import slot_key
from scoring_core.directory import Directory
from scoring_core.results import Standing
from scoring_core.scheme import Scheme
from storage.models.scoring import Round, RoundStatus
from storage.scoring import active_adjustments, current_scores, get_round, load_standing
from storage.scoring.records import RoundInfo as StoredRound
from storage.scoring.rounds import pick_deadline, round_deadlines
from storage.sheets import ranking_workbook

#: Closed or published rounds are looked at this long for a ranking push still owed.
PUSH_WINDOW = timedelta(days=7)
DIGEST_TOP = 5


@dataclass(frozen=True, slots=True)
class StorageRounds:
    """A ``RoundSource`` over ``storage.scoring``, for the loaded scheme and directory."""

    scheme: Scheme
    directory: Directory

    async def snapshots(self, session: AsyncSession, now: datetime) -> Sequence[RoundSnapshot]:
        recent = now - PUSH_WINDOW
        ids = await session.scalars(
            select(Round.id).where(
                or_(
                    Round.status == RoundStatus.OPEN,
                    (Round.status == RoundStatus.CLOSED) & (Round.closed_at >= recent),
                    (Round.status == RoundStatus.PUBLISHED) & (Round.published_at >= recent),
                )
            )
        )
        return [await self.snapshot(session, round_id) for round_id in ids]

    async def snapshot(self, session: AsyncSession, round_id: int) -> RoundSnapshot:
        """One round as the sweep sees it (the admin's 开启考核 sends its notices from it)."""
        stored = await get_round(session, round_id)
        deadlines = await round_deadlines(session, round_id)
        standing = await load_standing(session, round_id, self.scheme, self.directory)
        fallback = min((d.at for d in deadlines), default=stored.opened_at + timedelta(days=30))
        info = RoundInfo(str(round_id), stored.name, fallback)

        def deadline_of(department: str, codes: Sequence[str]) -> datetime:
            found = [pick_deadline(deadlines, department, c) for c in codes]
            return min((d for d in found if d is not None), default=fallback)

        rows = rank_rows(standing)
        work, units = work_of(standing)
        state = RoundState(
            info=info,
            opened_at=stored.opened_at,
            progress=progress_from_standing(standing, deadline_of),
            top=rows[:DIGEST_TOP],
            work=work,
            units=units,
        )
        return RoundSnapshot(round_id, state, stored.status is RoundStatus.OPEN, rows, _push(stored, standing))

    async def workbook(self, session: AsyncSession, round_id: int) -> bytes:
        stored = await get_round(session, round_id)
        standing = await load_standing(session, round_id, self.scheme, self.directory)
        scores = await current_scores(session, round_id)
        adjustments = await active_adjustments(session, round_id)
        # openpyxl is CPU-bound: off the loop.
        return await asyncio.to_thread(ranking_workbook, standing, scores, adjustments, f"{stored.name}排名")


def _push(stored: StoredRound, standing: Standing) -> RankingEvent | None:
    """The ranking a closed or published round owes the leaders' groups, named by when it was made.

    A complete round's final ranking is pushed when it closes; publishing it
    is the same ranking (a closed round takes no scores), so both name the
    close: pushed once.  An incomplete round is pushed when published, with
    the scores missing counted as 0.  A round reopened for a correction
    (解锁) and closed or published again makes a new event: pushed again,
    with the changes since the previous publication.
    """
    if stored.status is RoundStatus.CLOSED and stored.closed_at is not None and standing.complete:
        return RankingEvent(f"final-{slot_key(stored.closed_at)}", stored.closed_at, final=True)
    if stored.status is RoundStatus.PUBLISHED and stored.published_at is not None:
        if standing.complete:
            closed = stored.closed_at or stored.published_at
            return RankingEvent(f"final-{slot_key(closed)}", closed, final=True)
        published = stored.published_at
        return RankingEvent(f"published-{slot_key(published)}", published, final=False, missing=len(standing.missing))
    return None


def work_of(standing: Standing) -> tuple[dict[str, tuple[PartCount, ...]], dict[str, int]]:
    """Per department: each part with the units it scores, and the distinct units."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    titles: dict[str, str] = {}
    units: dict[str, set[str]] = defaultdict(set)
    for result in standing.results:
        for part in result.parts:
            titles[part.code] = part.title
            for score in part.scores:
                counts[score.scorer][part.code] = counts[score.scorer].get(part.code, 0) + 1
                units[score.scorer].add(result.unit)
    work = {d: tuple(PartCount(c, titles[c], n) for c, n in parts.items()) for d, parts in counts.items()}
    return work, {d: len(u) for d, u in units.items()}
