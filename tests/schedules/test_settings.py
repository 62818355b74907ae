"""The schedules' settings and the holiday override file: read once, refused in Chinese with where."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.settings import load_settings
from schedules.holidays import HolidaysError, load_calendar, parse_holidays
from schedules.timing import QuietHours, YearDays
from schedules.wiring import schedule_config
from scoring_core.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    config = schedule_config(load_settings())
    assert config.quiet == QuietHours(time(21), time(8))
    assert config.policy.before_working_days == 5
    assert not config.is_workday(date(2026, 10, 1))


def test_quiet_hours_and_policy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOREBOT_QUIET_HOURS", "22:00-07:30")
    monkeypatch.setenv("SCOREBOT_REMINDER_POLICY", '{"before_days": 3, "overdue_at": null}')
    config = schedule_config(load_settings())
    assert config.quiet == QuietHours(time(22), time(7, 30))
    assert (config.policy.before_working_days, config.policy.overdue_at) == (3, None)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("QUIET_HOURS", "9pm-8am", "SCOREBOT_QUIET_HOURS：免打扰时段“9pm-8am”看不懂：请写作 21:00-08:00"),
        ("QUIET_HOURS", "17:00-08:00", "SCOREBOT_QUIET_HOURS：日报时间 17:30 在免打扰时段（17:00–08:00）内"),
        ("REMINDER_POLICY", "{before_days: 3}", 'SCOREBOT_REMINDER_POLICY：应为 JSON，如 {"before_days": 3}'),
        ("REMINDER_POLICY", "[3]", "SCOREBOT_REMINDER_POLICY：应为 JSON 对象"),
        ("REMINDER_POLICY", '{"overdue_at": "22:00"}', "SCOREBOT_REMINDER_POLICY：提醒时间 22:00 在免打扰时段"),
        ("REMINDER_POLICY", '{"before_days": 99}', "SCOREBOT_REMINDER_POLICY：before_days（提前几个工作日开始提醒）"),
    ],
)
def test_a_bad_schedule_setting_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(f"SCOREBOT_{name}", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert problem in caught.value.user_message


def test_later_quiet_hours_with_reminder_times_after_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOREBOT_QUIET_HOURS", "21:00-10:00")
    monkeypatch.setenv(
        "SCOREBOT_REMINDER_POLICY",
        '{"before_at": "10:30", "deadline_day_at": ["10:30", "14:00"], "overdue_at": "10:30"}',
    )
    assert schedule_config(load_settings()).quiet == QuietHours(time(21), time(10))
    monkeypatch.delenv("SCOREBOT_REMINDER_POLICY")
    with pytest.raises(ConfigError, match="SCOREBOT_REMINDER_POLICY：提醒时间 09:30 在免打扰时段（21:00–10:00）内"):
        load_settings()


def test_a_policy_time_checked_against_configured_quiet_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOREBOT_QUIET_HOURS", "off")
    monkeypatch.setenv("SCOREBOT_REMINDER_POLICY", '{"overdue_at": "22:00"}')
    assert schedule_config(load_settings()).policy.overdue_at == time(22)


HOLIDAYS = """\
# 2027: the dates here are made up for the test, not the official arrangement
2027:
  holidays:
    - 2027-01-01
  workdays: [2027-01-09]
"""


def test_the_holiday_file_covers_its_year(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(HOLIDAYS, encoding="utf-8")
    monkeypatch.setenv("SCOREBOT_HOLIDAYS_PATH", str(path))
    config = schedule_config(load_settings())
    assert not config.is_workday(date(2027, 1, 1))  # 元旦, a Friday
    assert config.is_workday(date(2027, 1, 9))  # a Saturday worked
    assert config.calendar.covers(2027)


def test_every_problem_of_the_holiday_file_at_its_position() -> None:
    text = (
        "2027:\n"
        "  holidays: [2028-01-01, 2027-01-01, 2027-01-01, 1月2日]\n"
        "  workdays: [2027-01-01]\n"
        "  extra: []\n"
        "1999: {}\n"
    )
    with pytest.raises(HolidaysError) as caught:
        parse_holidays(text, "holidays.yaml")
    assert caught.value.user_message.splitlines() == [
        "节假日文件有误（SCOREBOT_HOLIDAYS_PATH）：",
        "  holidays.yaml:2:50：2027.holidays.3：应为日期，写作 2027-01-01",
        "  holidays.yaml:4:10：2027.extra：不认识的字段（请对照格式说明检查拼写）",
    ]
    with pytest.raises(HolidaysError) as caught:
        parse_holidays(text.replace(", 1月2日", "").replace("  extra: []\n", ""), "holidays.yaml")
    assert caught.value.user_message.splitlines()[1:] == [
        "  holidays.yaml:2:14：2028-01-01 不在 2027 年，请写在 2028 下",
        "  holidays.yaml:2:38：2027-01-01 重复",
        "  holidays.yaml:3:14：2027-01-01 已写作放假，不能又是调休上班",
        "  holidays.yaml:4:7：年份 1999 不对：应在 2004 到 2100 之间",
    ]


def test_a_missing_holiday_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="找不到节假日"):
        load_calendar(tmp_path / "nope.yaml")


def test_parsed_days() -> None:
    assert parse_holidays(HOLIDAYS) == {
        2027: YearDays(holidays=frozenset({date(2027, 1, 1)}), workdays=frozenset({date(2027, 1, 9)}))
    }
