"""The bundled 2020 scheme as data, and the file validation with positions."""

from __future__ import annotations

from decimal import Decimal
from itertools import product

import pytest

from scoring_core.errors import DomainError, SchemeError
from scoring_core.rules import check_value
from scoring_core.scheme import Combine, Scheme
from scoring_core.scheme_file import parse_scheme
from storage.files import BUNDLED_SCHEME, _bundled


def test_three_sections_of_40_240_120_and_42_items(scheme: Scheme) -> None:
    assert [(s.title, s.points, len(s.items)) for s in scheme.sections] == [
        ("基础工作", Decimal(40), 5),
        ("市域社会治理现代化工作", Decimal(240), 27),
        ("平安建设专项工作", Decimal(120), 10),
    ]
    assert scheme.total == Decimal(400)
    assert list(scheme.items) == [str(n) for n in range(1, 43)]


def test_every_variant_combination_totals_400(scheme: Scheme) -> None:
    for v33, v34 in product(["33-1", "33-2"], ["34-1", "34-2", "34-3", "34-4", "34-5"]):
        parts = scheme.parts_for({"33": v33, "34": v34})
        assert sum((p.max for p in parts), Decimal(0)) == Decimal(400), (v33, v34)


def test_part_codes_are_the_agreed_ones(scheme: Scheme) -> None:
    assert [p.code for p in scheme.parts_for({"33": "33-1", "34": "34-4"})] == [
        "1", "2", "3", "4.1", "4.2", "4.3", "5",
        "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
        "21", "22", "23", "24.1", "24.2", "25", "26", "27", "28", "29", "30", "31",
        "32.1", "32.2", "32.3", "32.4", "32.5", "32.6",
        "33-1", "34-4.1", "34-4.2", "34-4.3", "35.1", "35.2",
        "36", "37", "38", "39", "40", "41", "42",
    ]  # fmt: skip
    assert len(scheme.parts_by_code) == 62


@pytest.mark.parametrize(
    ("code", "max_", "scorers"),
    [
        ("4.1", "4", ("市委平安办",)),
        ("4.2", "2", ("市委政法委",)),
        ("4.3", "2", ("市综治中心",)),
        ("9", "6", ("维稳专项组",)),
        ("10", "4", ("反邪教专项组",)),
        ("24.1", "2", ("市检察院",)),
        ("24.2", "2", ("市法院",)),
        ("32.1", "40", ("综合协调办公室",)),
        ("32.6", "20", ("信息化建设工作组",)),
        ("33-2", "10", ("市委政法委",)),
        ("34-4.3", "15", ("市综治中心",)),
        ("35.1", "8", ("市委平安办",)),
        ("35.2", "32", ("{county}",)),
        ("39", "4", ("市公安局交管局",)),
    ],
)
def test_parts_have_their_max_and_scorers(scheme: Scheme, code: str, max_: str, scorers: tuple[str, ...]) -> None:
    part = scheme.part(code)
    assert (part.max, part.scorers) == (Decimal(max_), scorers)


def test_jointly_scored_parts_use_the_mean(scheme: Scheme) -> None:
    joint = {p.code: (p.scorers, p.combine) for p in scheme.parts_by_code.values() if p.joint}
    assert joint == {
        "16": (("市行政审批局", "市人社局", "市民政局"), Combine.MEAN),
        "27": (("市委组织部", "市民政局"), Combine.MEAN),
        "31": (("市政协办公厅", "市政协提案委"), Combine.MEAN),
        "42": (("市纪委市监委", "市法院"), Combine.MEAN),
    }


def test_adjustment_caps(scheme: Scheme) -> None:
    caps = {g.key: g.cap for g in scheme.cap_groups.values()}
    assert caps == {
        "B1+B2+B3+B4+B5": Decimal(8),
        "B6": Decimal(2),
        "D1": Decimal(4),
        "D2": Decimal(2),
        "D3": Decimal(2),
        "D6": Decimal(4),
        "D7": Decimal(4),
    }
    assert scheme.adjustments["D8"].per_incident == Decimal(2)
    assert scheme.adjustments["D9"].case_cap_per_recorder == Decimal(4)
    assert scheme.adjustments["D9"].recorders == ("市纪委市监委", "市法院")
    assert scheme.adjustments["D4"].group is None
    assert scheme.max_bonus == Decimal(10)


def _bundled_text() -> str:
    return _bundled(BUNDLED_SCHEME)[0]


def test_a_scheme_whose_parts_do_not_add_up_is_refused_with_the_position() -> None:
    text = _bundled_text().replace(
        '- {code: "4.3", title: 信息报送, max: 2, scorers: [市综治中心]}',
        '- {code: "4.3", title: 信息报送, max: 3, scorers: [市综治中心]}',
    )
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text, "bad.yaml")
    assert [str(p) for p in caught.value.problems] == ["bad.yaml:36:17：第4项各部分分值合计 9，与本项分值 8 不符"]


def test_a_section_and_total_mismatch_are_both_reported() -> None:
    text = _bundled_text().replace("    points: 40\n    items:", "    points: 41\n    items:", 1)
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text, "bad.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "bad.yaml:16:13：“基础工作”各项分值合计 40，与本部分分值 41 不符",
        "bad.yaml:9:8：各部分分值合计 401，与总分 400 不符",
    ]


def test_a_variant_that_does_not_add_up_is_refused() -> None:
    text = _bundled_text().replace(
        '{code: "34-4.3", title: 业务数据共享融合, max: 15,', '{code: "34-4.3", title: 业务数据共享融合, max: 14,'
    )
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text, "bad.yaml")
    assert [p.message for p in caught.value.problems] == ["第34-4项各部分分值合计 39，与本项分值 40 不符"]
    assert caught.value.problems[0].where.startswith("bad.yaml:")


def test_shape_errors_name_the_field_and_position() -> None:
    text = "name: x\nyear: 2020\ntotal: 10\noffice: 办\nsections:\n  - code: a\n    title: A\n    points: 10\n"
    text += (
        "    items:\n      - {number: '1', title: t, points: 10, parts: [{code: '1', max: 10.555, scorers: [甲]}]}\n"
    )
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text, "s.yaml")
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.where == "s.yaml:10:70"
    assert problem.message.startswith("sections.0.items.0.parts.0.max：最多两位小数")


def test_yaml_syntax_error_has_a_position() -> None:
    with pytest.raises(SchemeError) as caught:
        parse_scheme("name: [unclosed\n", "s.yaml")
    assert caught.value.problems[0].where == "s.yaml:2:1"
    assert caught.value.user_message.startswith("考核方案文件有误：\n  s.yaml:2:1：YAML 格式错误")


def test_another_scheme_is_loadable() -> None:
    text = """
name: 测试方案
year: 2021
total: 10
office: 平安办
sections:
  - code: A
    title: 唯一部分
    points: 10
    items:
      - number: "1"
        title: 唯一项目
        points: 10
        parts:
          - {code: "1.1", max: 6.5, scorers: [甲部门, 乙部门], combine: min}
          - {code: "1.2", max: 3.5, scorers: [平安办]}
adjustments:
  - {code: B1, kind: bonus, title: 加分, recorders: [平安办]}
caps:
  - {codes: [B1], cap: 1}
"""
    scheme = parse_scheme(text, "other.yaml")
    assert scheme.year == 2021
    assert scheme.part("1.1").combine is Combine.MIN
    assert scheme.part("1.1").max == Decimal("6.5")


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1:30.5"])
def test_a_number_that_is_not_finite_is_refused_with_its_position(value: str) -> None:
    # Regression: max: .inf ended in decimal.InvalidOperation.
    text = _bundled_text().replace(
        '- {code: "4.3", title: 信息报送, max: 2,', f'- {{code: "4.3", title: 信息报送, max: {value},'
    )
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text, "bad.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"bad.yaml:40:45：YAML 格式错误：“{value}”不是有限的数字，请写如 4 或 2.5 的分值"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a\n- b\n", "s.yaml:1:1：文件内容：应为“名称: 值”的映射"),
        ("name: x\nyear: 二〇二〇\n", "s.yaml:2:7：year：应为整数"),
        ("name: x\nyear: 1999\n", "s.yaml:2:7：year：应不小于 2000"),
    ],
)
def test_shape_errors_are_said_in_chinese(text: str, problem: str) -> None:
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text, "s.yaml")
    assert str(caught.value.problems[0]) == problem


SUMMED = """
name: 合计方案
year: 2021
total: 10
office: 平安办
sections:
  - code: A
    title: 唯一部分
    points: 10
    items:
      - number: "1"
        title: 唯一项目
        points: 10
        parts:
          - {code: "1", max: 10, scorers: [甲部门, 乙部门], combine: sum}
"""


def test_a_summed_part_gives_each_scorer_an_equal_share() -> None:
    # Regression: with combine: sum each scorer could give the full max, so part 1 reached 20 of 10.
    scheme = parse_scheme(SUMMED, "sum.yaml")
    assert (scheme.part("1").max, scheme.part("1").entry_max) == (Decimal(10), Decimal(5))


def test_a_summed_part_whose_share_is_not_whole_hundredths_is_refused() -> None:
    text = SUMMED.replace("scorers: [甲部门, 乙部门]", "scorers: [甲部门, 乙部门, 丙部门]")
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text, "sum.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "sum.yaml:15:30：1 按 sum 合计，3 个部门各评 10÷3，须能整除到 0.01 分；请调整满分，或拆成几个评分编号"
    ]


def test_a_summed_part_refuses_more_than_a_share() -> None:
    part = parse_scheme(SUMMED, "sum.yaml").part("1")
    assert check_value(part, Decimal(5)) == Decimal(5)
    with pytest.raises(DomainError) as caught:
        check_value(part, Decimal(6))
    assert caught.value.user_message == "第1项分值应在 0 到 5 之间（2 个部门各评一份，合计 10），不能是 6"
