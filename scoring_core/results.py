"""Result types: what a unit scored and why, every point explained."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from scoring_core.scheme import AdjustmentKind


@dataclass(frozen=True, slots=True)
class ScorerScore:
    scorer: str
    value: Decimal | None  # None: not scored yet (counted as 0 while provisional)
    note: str = ""


@dataclass(frozen=True, slots=True)
class PartResult:
    code: str
    title: str
    max: Decimal
    score: Decimal
    scores: tuple[ScorerScore, ...]
    combine: str

    @property
    def complete(self) -> bool:
        return all(s.value is not None for s in self.scores)


@dataclass(frozen=True, slots=True)
class AdjustmentLine:
    code: str
    title: str
    kind: AdjustmentKind
    recorder: str
    raw: Decimal | None
    counted: Decimal
    reason: str
    case: str | None = None
    #: why ``counted`` differs from ``raw`` (cap reached, same case counted elsewhere)
    why: str = ""


@dataclass(frozen=True, slots=True)
class Missing:
    unit: str
    code: str
    scorer: str


@dataclass(frozen=True, slots=True)
class UnitResult:
    unit: str
    rank: int
    total: Decimal
    parts_total: Decimal
    bonus: Decimal
    deduction: Decimal
    vetoed: bool
    veto_reasons: tuple[str, ...]
    parts: tuple[PartResult, ...]
    adjustments: tuple[AdjustmentLine, ...]
    missing: tuple[Missing, ...]


@dataclass(frozen=True, slots=True)
class SpreadFlag:
    """A scorer gave every unit the same score for a part (减分第3项 evidence)."""

    scorer: str
    code: str
    units: int
    value: Decimal
    #: the assessed unit the scorer department is, if any: it can be deducted D3
    scorer_unit: str | None


@dataclass(frozen=True, slots=True)
class Standing:
    results: tuple[UnitResult, ...]
    missing: tuple[Missing, ...]
    spread_flags: tuple[SpreadFlag, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    def result(self, unit: str) -> UnitResult:
        for r in self.results:
            if r.unit == unit:
                return r
        raise KeyError(unit)
