"""A round's standing: stored entries handed to the core, which does all the arithmetic."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from scoring_core.directory import Directory
from scoring_core.results import Standing
from scoring_core.scheme import Scheme
from scoring_core.standing import compute_standing
from storage.errors import Conflict
from storage.scoring.adjustments import active_adjustments
from storage.scoring.rounds import get_round
from storage.scoring.scores import current_scores


async def load_standing(session: AsyncSession, round_id: int, scheme: Scheme, directory: Directory) -> Standing:
    info = await get_round(session, round_id)
    if (info.scheme_name, info.scheme_year) != (scheme.name, scheme.year):
        raise Conflict(
            f"“{info.name}”按《{info.scheme_name}》（{info.scheme_year}）评分，"
            f"与当前加载的考核方案《{scheme.name}》（{scheme.year}）不符"
        )
    scores = await current_scores(session, round_id)
    adjustments = await active_adjustments(session, round_id)
    return compute_standing(scheme, directory, scores, adjustments)
