"""Property tests of the arithmetic: caps hold, totals stay in range, ranks follow totals."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring_core.directory import Directory
from scoring_core.directory_file import parse_directory
from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.rules import applicable_parts, check_adjustment, scorers_of
from scoring_core.scheme import AdjustmentKind
from scoring_core.standing import compute_standing
from storage.files import load_directory, load_scheme
from tests.core.conftest import small_directory_text

SCHEME = load_scheme()
# a five-unit directory keeps each example fast
SMALL = parse_directory(small_directory_text(SCHEME), SCHEME, "small.yaml")
UNITS = [u.name for u in SMALL.units]
CODES = [c for c in SCHEME.adjustments if c != "D7"]

cents = st.integers(min_value=1, max_value=800).map(lambda n: Decimal(n) / 100)


@st.composite
def adjustment(draw: st.DrawFn) -> AdjustmentEntry:
    unit = draw(st.sampled_from(UNITS))
    code = draw(st.sampled_from(CODES))
    rule = SCHEME.adjustments[code]
    recorder = draw(st.sampled_from(rule.recorders))
    if rule.kind is AdjustmentKind.VETO or rule.per_incident is not None:
        value = None
    else:
        cap = SCHEME.cap_groups[rule.group].cap if rule.group else rule.case_cap_per_recorder
        value = min(draw(cents), cap or Decimal(8))
    case = draw(st.sampled_from(["甲-1", "乙-2", "丙-3"])) if rule.needs_case else None
    return check_adjustment(SCHEME, SMALL, unit, code, recorder, value, "理由", case)


@st.composite
def scores(draw: st.DrawFn) -> list[ScoreEntry]:
    out = []
    for unit in SMALL.units:
        for part in applicable_parts(SCHEME, unit):
            for scorer in scorers_of(SCHEME, SMALL, unit, part):
                if draw(st.booleans()):
                    hundredths = draw(st.integers(min_value=0, max_value=int(part.max * 100)))
                    out.append(ScoreEntry(unit.name, part.code, scorer, Decimal(hundredths) / 100, "n"))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scores(), st.lists(adjustment(), max_size=25))
def test_caps_totals_and_ranks(entries: list[ScoreEntry], adjustments: list[AdjustmentEntry]) -> None:
    standing = compute_standing(SCHEME, SMALL, entries, adjustments)
    for result in standing.results:
        assert result.bonus <= SCHEME.max_bonus
        assert result.total <= SCHEME.total + SCHEME.max_bonus
        assert result.parts_total <= SCHEME.total
        for group in SCHEME.cap_groups.values():
            counted = sum((a.counted for a in result.adjustments if a.code in group.codes), Decimal(0))
            assert group.cap is None or counted <= group.cap
        for recorder in ("市纪委市监委", "市法院"):
            d9 = sum((a.counted for a in result.adjustments if a.code == "D9" and a.recorder == recorder), Decimal(0))
            assert d9 <= Decimal(4)
        for a in result.adjustments:
            assert Decimal(0) <= a.counted <= (a.raw or Decimal(0))
        assert result.total == result.parts_total + result.bonus - result.deduction
    results = standing.results
    kept = [r for r in results if not r.vetoed]
    assert results[: len(kept)] == tuple(kept)  # vetoed units all come last
    for group in (kept, [r for r in results if r.vetoed]):
        for r in group:
            higher = sum(1 for o in group if o.total > r.total)
            offset = 0 if group is kept else len(kept)
            assert r.rank == offset + higher + 1


def test_sample_directory_loads_with_the_bundled_scheme() -> None:
    directory: Directory = load_directory(SCHEME)
    assert len(directory.units) == 32
