"""The assessment scheme as the core uses it: frozen, validated, no I/O.

A *part* is what one department (or a few, jointly) scores for one unit;
an *item* is one numbered line of the scheme with one or more parts; an
item may come in *variants* that apply to listed units (33-1/33-2,
34-1 … 34-5).  Bonus, deductions and veto are *adjustment rules*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

#: Placeholder scorer of a part scored by the 平安办 of the unit's county (35.2).
COUNTY_SCORER = "{county}"
#: Placeholder recorder of an adjustment entered by the unit's responsibility-group
#: leader unit (D7), falling back to the scheme's ``office``.
GROUP_LEADER = "{group_leader}"


class Combine(StrEnum):
    """How the scores of a jointly scored part's departments become one."""

    MEAN = "mean"
    MIN = "min"
    SUM = "sum"


class AdjustmentKind(StrEnum):
    BONUS = "bonus"
    DEDUCTION = "deduction"
    VETO = "veto"


@dataclass(frozen=True, slots=True)
class Part:
    code: str
    item: str
    title: str
    max: Decimal
    scorers: tuple[str, ...]
    combine: Combine = Combine.MEAN
    variant: str | None = None

    @property
    def joint(self) -> bool:
        return len(self.scorers) > 1

    @property
    def entry_max(self) -> Decimal:
        """The most one scorer may give: the part's max, or its equal share when the scores are summed."""
        if self.combine is Combine.SUM and self.joint:
            return self.max / len(self.scorers)
        return self.max


@dataclass(frozen=True, slots=True)
class Variant:
    key: str
    text: str
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Item:
    number: str
    section: str
    title: str
    text: str
    points: Decimal
    variants: tuple[Variant, ...]
    default_variant: str | None = None

    @property
    def has_variants(self) -> bool:
        return self.default_variant is not None

    def variant(self, key: str | None) -> Variant:
        """The variant a unit gets: its own key, else the default, else the only one."""
        wanted = key or self.default_variant
        for variant in self.variants:
            if variant.key == wanted or wanted is None:
                return variant
        raise KeyError(wanted)


@dataclass(frozen=True, slots=True)
class Section:
    code: str
    title: str
    points: Decimal
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AdjustmentRule:
    code: str
    kind: AdjustmentKind
    title: str
    recorders: tuple[str, ...]
    #: The cap group this code counts in (several codes may share one cap).
    group: str | None = None
    #: Fixed points per entry (D8: 2 per incident); an entry may leave the value empty.
    per_incident: Decimal | None = None
    #: D9: entries carry a case key; per case only the largest counts, then each
    #: recorder's counted total is capped at this.
    case_cap_per_recorder: Decimal | None = None

    @property
    def needs_case(self) -> bool:
        return self.case_cap_per_recorder is not None


@dataclass(frozen=True, slots=True)
class CapGroup:
    key: str
    codes: tuple[str, ...]
    cap: Decimal | None


@dataclass(frozen=True, slots=True)
class Scheme:
    name: str
    year: int
    total: Decimal
    #: Who runs the round; records the adjustments that name it and stands in
    #: for a missing responsibility-group leader.
    office: str
    sections: tuple[Section, ...]
    items: Mapping[str, Item]
    adjustments: Mapping[str, AdjustmentRule]
    cap_groups: Mapping[str, CapGroup]
    reason_below_max: bool = True
    parts_by_code: Mapping[str, Part] = field(default_factory=dict)

    def part(self, code: str) -> Part:
        return self.parts_by_code[code]

    def item_of(self, part: Part) -> Item:
        return self.items[part.item]

    def parts_for(self, variants: Mapping[str, str]) -> tuple[Part, ...]:
        """The parts that apply to a unit with these item → variant choices, in scheme order."""
        parts: list[Part] = []
        for section in self.sections:
            for number in section.items:
                item = self.items[number]
                parts.extend(item.variant(variants.get(number)).parts)
        return tuple(parts)

    @property
    def max_bonus(self) -> Decimal:
        return sum(
            (g.cap for g in self.cap_groups.values() if g.cap is not None and self._kind(g) is AdjustmentKind.BONUS),
            Decimal(0),
        )

    def _kind(self, group: CapGroup) -> AdjustmentKind:
        return self.adjustments[group.codes[0]].kind
