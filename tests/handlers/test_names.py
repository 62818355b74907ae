"""Unit and department names as people type them, against the sample directory."""

from __future__ import annotations

import pytest

from scoring_core.directory import Directory
from scoring_core.names import Candidates, Exact, NameMatch, NoMatch, match_department, match_unit, normalise


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("市教育局", Exact("市教育局")),
        ("教育局", Exact("市教育局")),  # short name
        ("市应急局", Exact("市应急管理局")),  # alias
        ("市场监管局", Exact("市市场监督管理局")),  # alias
        (" 市 教育局 ", Exact("市教育局")),  # spaces ignored
        ("教育局\u3000", Exact("市教育局")),  # ideographic space
        ("公安局", Exact("市公安局")),  # a short name wins over a longer name containing it
        ("交管", Exact("市公安局交管局", by_part=True)),
        ("消防", Exact("市消防救援支队", by_part=True)),
        ("民政", Exact("市民政局", by_part=True)),
        ("人社", Exact("市人社局", by_part=True)),
        ("公安", Candidates("公安", ("市公安局", "市公安局交管局"))),
        (
            "市委",
            Candidates("市委", ("市委组织部", "市委政法委", "市委编办", "市委信访局", "市委宣传部", "市委网信办")),
        ),
        ("局", NoMatch("局")),  # one character is too vague to guess from
        ("市", NoMatch("市")),
        ("税务局", NoMatch("税务局")),
        ("", NoMatch("")),
        ("   ", NoMatch("")),
    ],
)
def test_unit_names(directory: Directory, typed: str, expected: NameMatch) -> None:
    assert match_unit(directory, typed) == expected


def test_full_width_letters_are_normalised() -> None:
    assert normalise("ＡＢ　市 教育局") == "ab市教育局"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("市消防救援支队", Exact("市消防救援支队")),
        ("消防", Exact("市消防救援支队", by_part=True)),
        ("市纪委", Exact("市纪委市监委")),  # alias
        ("东湖", Exact("东湖区委平安办", by_part=True)),
        (
            "平安办",
            Candidates(
                "平安办",
                (
                    "市委平安办",
                    "东湖区委平安办",
                    "西湖区委平安办",
                    "青云谱区委平安办",
                    "青山湖区委平安办",
                    "新建区委平安办",
                    "红谷滩区委平安办",
                    "南昌县委平安办",
                    "进贤县委平安办",
                    "安义县委平安办",
                    "湾里管理局平安办",
                ),
            ),
        ),
        ("市税务局", NoMatch("市税务局")),
    ],
)
def test_department_names(directory: Directory, typed: str, expected: NameMatch) -> None:
    assert match_department(directory, typed) == expected
