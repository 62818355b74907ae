"""Totals, ranking and the spread check: the whole standing of a round, purely.

Total = sum of part scores + capped bonus - capped deductions.  Ranking is by
total, highest first, equal totals sharing a rank (1, 2, 2, 4); vetoed units
come after all others, ranked on among themselves by total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from scoring_core.caps import count_adjustments
from scoring_core.directory import Directory, Unit
from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.errors import DomainError
from scoring_core.points import round_half_up
from scoring_core.results import (
    Missing,
    PartResult,
    ScorerScore,
    SpreadFlag,
    Standing,
    UnitResult,
)
from scoring_core.rules import applicable_parts, scorers_of
from scoring_core.scheme import AdjustmentKind, Combine, Part, Scheme

ZERO = Decimal(0)
#: A scorer's spread is checked once it has scored a part for this many units.
SPREAD_MIN_UNITS = 5


def combine(rule: Combine, values: Sequence[Decimal]) -> Decimal:
    """Join scorers' values of one part; missing ones come in as 0 (provisional)."""
    if rule is Combine.MEAN:
        return round_half_up(sum(values, ZERO) / len(values))
    if rule is Combine.MIN:
        return min(values)
    return sum(values, ZERO)


def compute_standing(
    scheme: Scheme,
    directory: Directory,
    scores: Iterable[ScoreEntry],
    adjustments: Iterable[AdjustmentEntry] = (),
) -> Standing:
    """Every unit's result, ranked, with what is missing and the spread flags.

    ``scores`` are current values (one per unit, part and scorer): a repeated
    key is a DomainError, since silently picking one would hide a bug upstream.
    """
    score_index: dict[tuple[str, str, str], ScoreEntry] = {}
    for entry in scores:
        key = (entry.unit, entry.code, entry.scorer)
        if key in score_index:
            raise DomainError(f"{entry.unit}第{entry.code}项有两条{entry.scorer}的评分")
        score_index[key] = entry
    adjustments_by_unit: dict[str, list[AdjustmentEntry]] = defaultdict(list)
    for adj in adjustments:
        adjustments_by_unit[adj.unit].append(adj)

    unranked = [
        _unit_result(scheme, directory, unit, score_index, adjustments_by_unit[unit.name]) for unit in directory.units
    ]
    ranked = rank(unranked)
    missing = tuple(m for r in ranked for m in r.missing)
    return Standing(ranked, missing, spread_flags(directory, score_index.values()))


def _unit_result(
    scheme: Scheme,
    directory: Directory,
    unit: Unit,
    score_index: dict[tuple[str, str, str], ScoreEntry],
    adjustments: list[AdjustmentEntry],
) -> UnitResult:
    parts: list[PartResult] = []
    missing: list[Missing] = []
    for part in applicable_parts(scheme, unit):
        result = _part_result(scheme, directory, unit, part, score_index)
        parts.append(result)
        missing.extend(Missing(unit.name, part.code, s.scorer) for s in result.scores if s.value is None)
    lines = count_adjustments(scheme, adjustments)
    bonus = sum((a.counted for a in lines if a.kind is AdjustmentKind.BONUS), ZERO)
    deduction = sum((a.counted for a in lines if a.kind is AdjustmentKind.DEDUCTION), ZERO)
    vetoes = tuple(f"{a.code} {a.reason}" for a in lines if a.kind is AdjustmentKind.VETO)
    parts_total = sum((p.score for p in parts), ZERO)
    return UnitResult(
        unit=unit.name,
        rank=0,
        total=parts_total + bonus - deduction,
        parts_total=parts_total,
        bonus=bonus,
        deduction=deduction,
        vetoed=bool(vetoes),
        veto_reasons=vetoes,
        parts=tuple(parts),
        adjustments=lines,
        missing=tuple(missing),
    )


def _part_result(
    scheme: Scheme,
    directory: Directory,
    unit: Unit,
    part: Part,
    score_index: dict[tuple[str, str, str], ScoreEntry],
) -> PartResult:
    scorer_scores = []
    for scorer in scorers_of(scheme, directory, unit, part):
        entry = score_index.get((unit.name, part.code, scorer))
        scorer_scores.append(ScorerScore(scorer, entry.value, entry.note) if entry else ScorerScore(scorer, None))
    values = [s.value if s.value is not None else ZERO for s in scorer_scores]
    return PartResult(
        code=part.code,
        title=part.title,
        max=part.max,
        score=combine(part.combine, values),
        scores=tuple(scorer_scores),
        combine=part.combine.value,
    )


def rank(results: Sequence[UnitResult]) -> tuple[UnitResult, ...]:
    """Competition ranking (1, 2, 2, 4) by total; vetoed units after all others.

    Units with equal totals keep their input (directory) order.
    """
    ordered = sorted(enumerate(results), key=lambda pair: (pair[1].vetoed, -pair[1].total, pair[0]))
    ranked: list[UnitResult] = []
    for position, (_, result) in enumerate(ordered, start=1):
        previous = ranked[-1] if ranked else None
        same = previous is not None and previous.vetoed == result.vetoed and previous.total == result.total
        ranked.append(_with_rank(result, previous.rank if same and previous else position))
    return tuple(ranked)


def _with_rank(result: UnitResult, rank_: int) -> UnitResult:
    return replace(result, rank=rank_)


def spread_flags(directory: Directory, scores: Iterable[ScoreEntry]) -> tuple[SpreadFlag, ...]:
    """Flag each (scorer, part) scored for SPREAD_MIN_UNITS+ units with one value for all."""
    by_key: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for entry in scores:
        by_key[(entry.scorer, entry.code)].append(entry.value)
    flags = []
    for (scorer, code), values in sorted(by_key.items()):
        if len(values) >= SPREAD_MIN_UNITS and len(set(values)) == 1:
            dept = directory.find_department(scorer)
            flags.append(SpreadFlag(scorer, code, len(values), values[0], dept.unit if dept else None))
    return tuple(flags)
