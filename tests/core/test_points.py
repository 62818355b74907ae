from decimal import Decimal

import pytest

from scoring_core.errors import DomainError
from scoring_core.points import fmt, parse_points, round_half_up


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.5", Decimal("3.5")),
        ("３．５", Decimal("3.5")),
        ("3.5分", Decimal("3.5")),
        (" 4 ", Decimal("4")),
        ("0.25", Decimal("0.25")),
        ("３。５", Decimal("3.5")),
        ("40", Decimal("40")),
    ],
)
def test_parse_points_accepts_what_people_type(text: str, expected: Decimal) -> None:
    assert parse_points(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3.555", "分数最多两位小数，“3.555”超过了"),
        ("abc", "“abc”不是分数：请写数字，如 3 或 3.5"),
        ("1e2", "“1e2”不是分数：请写数字，如 3 或 3.5"),
        ("nan", "“nan”不是分数：请写数字，如 3 或 3.5"),
        ("", "“”不是分数：请写数字，如 3 或 3.5"),
    ],
)
def test_parse_points_refuses_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_points(text)
    assert caught.value.user_message == message


def test_round_half_up_is_not_bankers_rounding() -> None:
    assert round_half_up(Decimal("1.625")) == Decimal("1.63")
    assert round_half_up(Decimal("3.8333")) == Decimal("3.83")
    assert round_half_up(Decimal("2.675")) == Decimal("2.68")


def test_fmt_writes_points_as_people_do() -> None:
    assert [fmt(Decimal(x)) for x in ("4.00", "3.50", "372.25", "40", "0", "-2")] == [
        "4",
        "3.5",
        "372.25",
        "40",
        "0",
        "-2",
    ]
