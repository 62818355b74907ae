"""Who may record what, in what range: each refusal says why."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scoring_core.directory import Directory
from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.errors import DomainError
from scoring_core.rules import check_adjustment, check_score, scorers_of
from scoring_core.scheme import Scheme

D = Decimal


def test_a_single_scorer_part_fills_in_the_scorer(scheme: Scheme, small: Directory) -> None:
    entry = check_score(scheme, small, "甲", "12", None, D("3.5"), "演练未按期")
    assert entry == ScoreEntry("甲局", "12", "市消防救援支队", D("3.5"), "演练未按期")


def test_the_county_office_scores_35_2(scheme: Scheme, small: Directory) -> None:
    assert scorers_of(scheme, small, small.unit("乙局"), scheme.part("35.2")) == ("西湖区委平安办",)
    entry = check_score(scheme, small, "乙局", "35.2", "西湖区委平安办", D(32))
    assert entry.scorer == "西湖区委平安办"


def test_unit_aliases_resolve_to_the_canonical_name(scheme: Scheme, sample_directory: Directory) -> None:
    entry = check_score(scheme, sample_directory, "市应急局", "11", None, D(4))
    assert entry.unit == "市应急管理局"


@pytest.mark.parametrize(
    ("unit", "code", "scorer", "value", "note", "message"),
    [
        ("甲局", "12", None, "4.5", "", "第12项分值应在 0 到 4 之间，不能是 4.5"),
        ("甲局", "12", None, "-1", "x", "第12项分值应在 0 到 4 之间，不能是 -1"),
        ("甲局", "12", None, "3.555", "x", "分数最多两位小数：3.555"),
        ("甲局", "12", None, "3", "", "第12项未给满分（3/4），须写明扣分理由"),
        ("戊局", "12", None, "4", "", "没有名为“戊局”的被考核单位：请写名录中的全称、简称或别名"),
        # regression: an unknown name is answered with the units it may mean
        ("公安", "12", None, "4", "", "没有名为“公安”的被考核单位：是不是“市公安局”？请写全称、简称或别名"),
        ("局", "12", None, "4", "", "没有名为“局”的被考核单位：请写名录中的全称、简称或别名"),
        # regression: an item number or variant key is answered with the unit's own codes
        ("甲局", "33", None, "10", "", "第33项须按评分编号评分：甲局适用 33-1"),
        ("甲局", "4", None, "4", "", "第4项须按评分编号评分：甲局适用 4.1、4.2、4.3"),
        ("丙局", "34-3", None, "10", "", "第34项须按评分编号评分：丙局适用 34-5.1、34-5.2"),
        ("甲局", "99", None, "4", "", "没有评分编号“99”：请用考核方案中的编号，如 12、4.1、34-3.2"),
        ("丙局", "33-1", None, "10", "", "第33-1项不适用于丙局：该单位适用第33-2项"),
        ("甲局", "34-5.2", None, "30", "", "第34-5.2项不适用于甲局：该单位适用第34-3项"),
        ("甲局", "12", "市公安局", "4", "", "市公安局不是甲局第12项的评分部门（应由市消防救援支队评分）"),
        ("甲局", "16", None, "4", "", "第16项由市行政审批局、市人社局、市民政局共同评分，须写明评分部门"),
        (
            "乙局",
            "35.2",
            "东湖区委平安办",
            "32",
            "",
            "东湖区委平安办不是乙局第35.2项的评分部门（应由西湖区委平安办评分）",
        ),
    ],
)
def test_bad_scores_are_refused_with_a_reason(
    scheme: Scheme, small: Directory, unit: str, code: str, scorer: str | None, value: str, note: str, message: str
) -> None:
    with pytest.raises(DomainError) as caught:
        check_score(scheme, small, unit, code, scorer, D(value), note)
    assert caught.value.user_message == message


def test_adjustments_are_checked_against_recorders(scheme: Scheme, small: Directory) -> None:
    assert check_adjustment(scheme, small, "甲局", "b1", "市委平安办", D(2), "经验获批示") == AdjustmentEntry(
        "甲局", "B1", "市委平安办", D(2), "经验获批示"
    )
    # D7 is recorded by the unit's responsibility-group leader, else by the office.
    assert check_adjustment(scheme, small, "乙局", "D7", "市委政法委", D(1), "未配合").recorder == "市委政法委"
    assert check_adjustment(scheme, small, "丙局", "D7", None, D(1), "未配合").recorder == "市委平安办"
    # D8 is 2 per incident: empty or 2.
    assert check_adjustment(scheme, small, "丙局", "D8", "市公安局", None, "重大刑事案件").value == D(2)


@pytest.mark.parametrize(
    ("unit", "code", "recorder", "value", "reason", "case", "message"),
    [
        (
            "甲局",
            "B1",
            "市公安局",
            "2",
            "x",
            None,
            "市公安局不能录入甲局的B1（经验得到领导批示肯定），应由市委平安办录入",
        ),
        (
            "乙局",
            "D7",
            "市委平安办",
            "1",
            "x",
            None,
            "市委平安办不能录入乙局的D7（未按要求配合综治责任组长单位工作），应由市委政法委录入",
        ),
        ("甲局", "B1", "市委平安办", "2", " ", None, "B1须写明理由"),
        ("甲局", "B1", "市委平安办", "9", "x", None, "B1单条分值应大于 0、不超过 8，不能是 9"),
        ("甲局", "D1", "市委平安办", "0", "x", None, "D1单条分值应大于 0、不超过 4，不能是 0"),
        ("甲局", "D8", "市公安局", "3", "x", None, "D8每起固定2分，一起一行；分值应为空或2"),
        ("甲局", "D9", "市法院", "3", "x", None, "D9须写明案件（人员+案件，如“王某-案1”），同一案件只按较大扣分计"),
        ("甲局", "D9", "市法院", "5", "x", "王某-案1", "D9单条分值应大于 0、不超过 4，不能是 5"),
        ("甲局", "D2", "市委平安办", "1", "x", "王某", "只有 D9 需要写案件，D2不需要"),
        ("甲局", "V1", "市委平安办", "1", "x", None, "V1是否决项，不填分值，只写理由"),
        ("甲局", "B1", "市委平安办", None, "x", None, "B1须填写分值"),
        (
            "甲局",
            "X1",
            "市委平安办",
            "1",
            "x",
            None,
            "没有加减分编号“X1”：可用 B1、B2、B3、B4、B5、B6、D1、D2、D3、D4、D5、D6、D7、D8、D9、V1、V2、V3",
        ),
        (
            "甲局",
            "D8",
            None,
            None,
            "x",
            None,
            "D8可由市应急管理局、市委信访局、市市场监督管理局、市公安局录入，须写明录入部门",
        ),
    ],
)
def test_bad_adjustments_are_refused_with_a_reason(
    scheme: Scheme,
    small: Directory,
    unit: str,
    code: str,
    recorder: str | None,
    value: str | None,
    reason: str,
    case: str | None,
    message: str,
) -> None:
    with pytest.raises(DomainError) as caught:
        check_adjustment(scheme, small, unit, code, recorder, None if value is None else D(value), reason, case)
    assert caught.value.user_message == message
