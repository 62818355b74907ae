"""What people record: a score for a part, or an adjustment (bonus, deduction, veto)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ScoreEntry:
    """One department's score of one part for one unit (names are canonical)."""

    unit: str
    code: str
    scorer: str
    value: Decimal
    note: str = ""


@dataclass(frozen=True, slots=True)
class AdjustmentEntry:
    """One bonus, deduction or veto entry.

    ``value`` is what was entered (already the per-incident value for D8);
    ``None`` for a veto.  ``case`` is D9's person + case key.
    """

    unit: str
    code: str
    recorder: str
    value: Decimal | None
    reason: str
    case: str | None = None
