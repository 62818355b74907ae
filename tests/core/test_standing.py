"""Totals, caps and ranking, worked by hand on the five-unit directory.

Every unit starts from full marks (400); each test changes a few entries and
states the totals the rules give.
"""

from __future__ import annotations

from decimal import Decimal

from scoring_core.directory import Directory
from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.points import fmt
from scoring_core.scheme import Scheme
from scoring_core.standing import compute_standing
from tests.core.conftest import full_marks, replace_scores

D = Decimal


def ranks(standing) -> list[tuple[int, str, str, bool]]:  # type: ignore[no-untyped-def]
    return [(r.rank, r.unit, fmt(r.total), r.vetoed) for r in standing.results]


def test_full_marks_is_400_for_every_variant(scheme: Scheme, small: Directory) -> None:
    standing = compute_standing(scheme, small, full_marks(scheme, small))
    assert {r.unit: r.total for r in standing.results} == {
        "甲局": D(400), "乙局": D(400), "丙局": D(400), "丁局": D(400), "市公安局": D(400)
    }  # fmt: skip
    assert standing.complete
    assert [p.code for p in standing.result("甲局").parts if p.code.startswith(("33", "34"))] == [
        "33-1", "34-3.1", "34-3.2"
    ]  # fmt: skip


def test_joint_parts_take_the_mean_rounded_half_up(scheme: Scheme, small: Directory) -> None:
    scores = replace_scores(
        full_marks(scheme, small),
        # 甲局 16: (4 + 3.5 + 3) / 3 = 3.5
        ScoreEntry("甲局", "16", "市人社局", D("3.5"), "a"),
        ScoreEntry("甲局", "16", "市民政局", D("3"), "b"),
        # 乙局 27: (1.5 + 1.75) / 2 = 1.625 -> 1.63 (half up, not 1.62)
        ScoreEntry("乙局", "27", "市委组织部", D("1.5"), "c"),
        ScoreEntry("乙局", "27", "市民政局", D("1.75"), "d"),
        # 丙局 42: (3.75 + 3.5) / 2 = 3.625 -> 3.63
        ScoreEntry("丙局", "42", "市纪委市监委", D("3.75"), "e"),
        ScoreEntry("丙局", "42", "市法院", D("3.5"), "f"),
        # 丁局 31: (4 + 3.5) / 2 = 3.75
        ScoreEntry("丁局", "31", "市政协提案委", D("3.5"), "g"),
        # 市公安局 16: (4 + 4 + 3.5) / 3 = 3.8333 -> 3.83
        ScoreEntry("市公安局", "16", "市民政局", D("3.5"), "h"),
    )
    standing = compute_standing(scheme, small, scores)
    assert ranks(standing) == [
        (1, "市公安局", "399.83", False),
        (2, "丁局", "399.75", False),
        (3, "乙局", "399.63", False),
        (3, "丙局", "399.63", False),
        (5, "甲局", "399.5", False),
    ]
    part = next(p for p in standing.result("乙局").parts if p.code == "27")
    assert (part.score, [(s.scorer, s.value, s.note) for s in part.scores]) == (
        D("1.63"),
        [("市委组织部", D("1.5"), "c"), ("市民政局", D("1.75"), "d")],
    )


def test_every_cap_and_the_veto_order(scheme: Scheme, small: Directory) -> None:
    office = "市委平安办"
    adjustments = [
        # 甲局 bonus: B1-B5 together at most 8, B6 at most 2 -> 8 + 2 = 10
        AdjustmentEntry("甲局", "B1", office, D(5), "批示"),
        AdjustmentEntry("甲局", "B2", office, D(4), "刊发"),
        AdjustmentEntry("甲局", "B6", office, D("1.5"), "重点工作"),
        AdjustmentEntry("甲局", "B6", office, D(1), "重点工作二"),
        # 乙局 deductions: D1 4, D2 2, D3 2, D4/D5 uncapped, D6 4, D7 4, D8 2 each
        AdjustmentEntry("乙局", "D1", office, D(3), "a"),
        AdjustmentEntry("乙局", "D1", office, D(2), "b"),
        AdjustmentEntry("乙局", "D2", office, D(2), "c"),
        AdjustmentEntry("乙局", "D2", office, D(1), "d"),
        AdjustmentEntry("乙局", "D3", office, D(2), "e"),
        AdjustmentEntry("乙局", "D3", office, D(1), "f"),
        AdjustmentEntry("乙局", "D4", office, D(5), "g"),
        AdjustmentEntry("乙局", "D4", office, D(6), "h"),
        AdjustmentEntry("乙局", "D5", office, D(3), "i"),
        AdjustmentEntry("乙局", "D6", office, D(4), "j"),
        AdjustmentEntry("乙局", "D6", office, D(1), "k"),
        AdjustmentEntry("乙局", "D7", "市委政法委", D(3), "l"),
        AdjustmentEntry("乙局", "D7", "市委政法委", D(3), "m"),
        AdjustmentEntry("乙局", "D8", "市应急管理局", D(2), "重大安全事故"),
        AdjustmentEntry("乙局", "D8", "市公安局", D(2), "重大刑事案件"),
        AdjustmentEntry("乙局", "D8", "市公安局", D(2), "重大刑事案件二"),
        # 丙局 D9: per case the largest counts, then each department at most 4
        AdjustmentEntry("丙局", "D9", "市纪委市监委", D(3), "违纪", "王某-案1"),
        AdjustmentEntry("丙局", "D9", "市法院", D(2), "违法", "王某-案1"),
        AdjustmentEntry("丙局", "D9", "市纪委市监委", D(2), "违纪", "李某-案2"),
        AdjustmentEntry("丙局", "D9", "市法院", D(3), "违法", "赵某-案3"),
        # 丁局 vetoed: ranked after all others even with 400
        AdjustmentEntry("丁局", "V2", office, None, "发生特大安全事故"),
    ]
    standing = compute_standing(scheme, small, full_marks(scheme, small), adjustments)
    # 乙局: 4 + 2 + 2 + 11 + 3 + 4 + 4 + 6 = 36 -> 364;  丙局: 纪委 3 + 1 (capped at 4), 法院 3 -> 393
    assert ranks(standing) == [
        (1, "甲局", "410", False),
        (2, "市公安局", "400", False),
        (3, "丙局", "393", False),
        (4, "乙局", "364", False),
        (5, "丁局", "400", True),
    ]
    assert [(a.code, a.raw, a.counted) for a in standing.result("甲局").adjustments] == [
        ("B1", D(5), D(5)), ("B2", D(4), D(3)), ("B6", D("1.5"), D("1.5")), ("B6", D(1), D("0.5"))
    ]  # fmt: skip
    assert [a.counted for a in standing.result("乙局").adjustments] == [
        D(3), D(1), D(2), D(0), D(2), D(0), D(5), D(6), D(3), D(4), D(0), D(3), D(1), D(2), D(2), D(2)
    ]  # fmt: skip
    d9 = standing.result("丙局").adjustments
    assert [(a.recorder, a.case, a.counted, a.why) for a in d9] == [
        ("市纪委市监委", "王某-案1", D(3), ""),
        ("市法院", "王某-案1", D(0), "同一人同一案件只计较大的一次扣分"),
        ("市纪委市监委", "李某-案2", D(1), "市纪委市监委该项最多扣4分"),
        ("市法院", "赵某-案3", D(3), ""),
    ]
    vetoed = standing.result("丁局")
    assert (vetoed.veto_reasons, vetoed.total) == (("V2 发生特大安全事故",), D(400))
    assert standing.result("甲局").adjustments[1].why == "B1、B2、B3、B4、B5合计最多8分"


def test_equal_totals_share_a_rank_and_vetoed_units_rank_among_themselves(scheme: Scheme, small: Directory) -> None:
    scores = replace_scores(
        full_marks(scheme, small),
        ScoreEntry("乙局", "12", "市消防救援支队", D(3), "演练未按期"),
        ScoreEntry("丙局", "13", "市公安局", D(3), "联网接入不足"),
        ScoreEntry("丁局", "13", "市公安局", D(2), "联网接入不足"),
    )
    adjustments = [
        AdjustmentEntry("丙局", "V1", "市委平安办", None, "正职被开除党籍"),
        AdjustmentEntry("丁局", "V3", "市委平安办", None, "其他"),
        AdjustmentEntry("丁局", "B1", "市委平安办", D(1), "批示"),
    ]
    standing = compute_standing(scheme, small, scores, adjustments)
    # 丙局 399 vetoed, 丁局 398 + 1 = 399 vetoed: equal, rank 4 both
    assert ranks(standing) == [
        (1, "甲局", "400", False),
        (1, "市公安局", "400", False),
        (3, "乙局", "399", False),
        (4, "丙局", "399", True),
        (4, "丁局", "399", True),
    ]


def test_missing_scores_count_as_zero_and_are_listed(scheme: Scheme, small: Directory) -> None:
    scores = [
        s
        for s in full_marks(scheme, small)
        if not (s.unit == "甲局" and s.code == "12")
        and not (s.unit == "乙局" and s.code == "16" and s.scorer == "市人社局")
    ]
    standing = compute_standing(scheme, small, scores)
    # 乙局 16: (4 + 0 + 4) / 3 = 2.67 -> 400 - 1.33
    assert [(r.unit, fmt(r.total), len(r.missing)) for r in standing.results] == [
        ("丙局", "400", 0),
        ("丁局", "400", 0),
        ("市公安局", "400", 0),
        ("乙局", "398.67", 1),
        ("甲局", "396", 1),
    ]
    assert [(m.unit, m.code, m.scorer) for m in standing.missing] == [
        ("乙局", "16", "市人社局"),
        ("甲局", "12", "市消防救援支队"),
    ]
    assert not standing.complete


def test_spread_flags_a_scorer_who_gave_five_units_the_same(scheme: Scheme, small: Directory) -> None:
    twelve = [s for s in full_marks(scheme, small) if s.code == "12"]
    thirteen = [s for s in full_marks(scheme, small) if s.code == "13" and s.unit != "丁局"]
    varied = replace_scores(
        [s for s in full_marks(scheme, small) if s.code == "14"],
        ScoreEntry("乙局", "14", "市公安局", D("3.5"), "x"),
    )
    standing = compute_standing(scheme, small, twelve + thirteen + varied)
    assert [(f.scorer, f.code, f.units, f.value, f.scorer_unit) for f in standing.spread_flags] == [
        ("市消防救援支队", "12", 5, D(4), None),
    ]
    fifteen = [s for s in full_marks(scheme, small) if s.code == "15"]
    flags = compute_standing(scheme, small, fifteen).spread_flags
    assert [(f.scorer, f.code, f.scorer_unit) for f in flags] == [("市公安局", "15", "市公安局")]


def test_a_d9_case_written_with_other_spaces_widths_or_dashes_is_one_case(scheme: Scheme, small: Directory) -> None:
    # Regression: "王某-案1", "王某 - 案1" and "王某－案1" counted as three cases (7 instead of 3.5).
    adjustments = [
        AdjustmentEntry("丁局", "D9", "市纪委市监委", D(2), "违纪", "王某-案1"),
        AdjustmentEntry("丁局", "D9", "市法院", D("3.5"), "违法", "王某 - 案1"),
        AdjustmentEntry("丁局", "D9", "市纪委市监委", D("1.5"), "违纪", "王某－案1"),
        AdjustmentEntry("丁局", "D9", "市法院", D(1), "违法", "王某—案 1"),
    ]
    standing = compute_standing(scheme, small, full_marks(scheme, small), adjustments)
    result = standing.result("丁局")
    assert [a.counted for a in result.adjustments] == [D(0), D("3.5"), D(0), D(0)]
    assert (result.deduction, fmt(result.total)) == (D("3.5"), "396.5")
