"""Timing rules with hand-worked dates (the 2020 National Day week is the fixture).

2020 calendar around National Day, as published by the State Council:
Sun 09-27 is a working day (调休), 10-01..10-08 are off, Sat 10-10 is a
working day (调休), Sun 10-11 is off.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest

from schedules import timing
from schedules.timing import (
    DEFAULT_CALENDAR,
    DEFAULT_POLICY,
    DEFAULT_QUIET,
    Calendar,
    CalendarRangeError,
    DigestSlot,
    PolicyError,
    QuietHours,
    ReminderPolicy,
    ReminderSlot,
    Stage,
    YearDays,
    add_working_days,
    at_local,
    check_send_times,
    deadline_at,
    digest_slots,
    due_slots,
    is_working_day,
    last_working_day_before,
    next_allowed,
    next_digest_after,
    next_slot_after,
    parse_quiet_hours,
    policy_from,
    reminder_plan,
    slot_key,
    snooze_until,
    spread,
    urge_slot,
    working_days_before,
)
from scoring_core.errors import ConfigError


def t(month: int, day: int, hour: int, minute: int = 0, year: int = 2020) -> datetime:
    """A Shanghai wall-clock time, short to read in tables."""
    return at_local(date(year, month, day), time(hour, minute))


# --- calendar -------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2020, 10, d) for d in range(1, 9)])
def test_national_day_week_is_off(day: date) -> None:
    assert not is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [date(2020, 9, 27), date(2020, 10, 10)],
    ids=["sunday-0927-adjusted", "saturday-1010-adjusted"],
)
def test_adjusted_weekend_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5  # a weekend day...
    assert is_working_day(day)  # ...that is worked (调休)


def test_ordinary_days() -> None:
    assert is_working_day(date(2020, 9, 30))  # Wednesday
    assert not is_working_day(date(2020, 9, 26))  # plain Saturday
    assert not is_working_day(date(2020, 10, 11))  # plain Sunday


def test_accepts_a_datetime_as_its_day() -> None:
    assert not is_working_day(t(10, 1, 12))


def test_year_without_holiday_data_is_a_config_error_in_chinese() -> None:
    with pytest.raises(CalendarRangeError) as caught:
        is_working_day(date(1999, 10, 1))
    assert isinstance(caught.value, ConfigError)
    assert caught.value.day == date(1999, 10, 1)
    assert "节假日数据不含 1999 年" in caught.value.user_message


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2020, 9, 30), 1, date(2020, 10, 9)),  # across the holiday week
        (date(2020, 9, 25), 1, date(2020, 9, 27)),  # Fri → the worked Sunday
        (date(2020, 10, 9), 1, date(2020, 10, 10)),  # Fri → the worked Saturday
        (date(2020, 10, 10), 1, date(2020, 10, 12)),  # skips Sun 10-11
        (date(2020, 9, 28), 5, date(2020, 10, 12)),  # 29, 30, 10-09, 10-10, 10-12
        (date(2020, 10, 9), -1, date(2020, 9, 30)),
        (date(2020, 10, 3), 1, date(2020, 10, 9)),  # from a day off
        (date(2020, 10, 3), 0, date(2020, 10, 3)),
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert add_working_days(start, n) == expected


def test_working_days_before_spans_the_holiday() -> None:
    assert working_days_before(date(2020, 10, 12), 5) == (
        date(2020, 9, 28),
        date(2020, 9, 29),
        date(2020, 9, 30),
        date(2020, 10, 9),
        date(2020, 10, 10),
    )
    assert working_days_before(date(2020, 10, 12), 0) == ()


def test_last_working_day_before() -> None:
    assert last_working_day_before(date(2020, 10, 12)) == date(2020, 10, 10)  # a Saturday
    assert last_working_day_before(date(2020, 10, 9)) == date(2020, 9, 30)
    assert last_working_day_before(date(2020, 9, 28)) == date(2020, 9, 27)  # a Sunday


def test_calendar_source_is_swappable() -> None:
    def mon_to_fri(d: date) -> bool:
        return d.weekday() < 5

    # With a plain Monday–Friday calendar the adjusted Saturday does not count.
    assert last_working_day_before(date(2020, 10, 12), is_workday=mon_to_fri) == date(2020, 10, 9)


# --- quiet hours ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "quiet"),
    [
        (t(10, 9, 20, 59), False),
        (t(10, 9, 21, 0), True),
        (t(10, 9, 23, 59), True),
        (t(10, 10, 0, 0), True),
        (t(10, 10, 7, 59), True),
        (t(10, 10, 8, 0), False),
        (t(10, 10, 12, 0), False),
    ],
)
def test_default_quiet_hours_wrap_midnight(when: datetime, quiet: bool) -> None:
    assert DEFAULT_QUIET.contains(when) is quiet


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (t(10, 9, 20, 59), t(10, 9, 20, 59)),  # allowed: unchanged
        (t(10, 9, 21, 0), t(10, 10, 8, 0)),  # evening → next morning
        (t(10, 9, 23, 30), t(10, 10, 8, 0)),
        (t(10, 10, 0, 15), t(10, 10, 8, 0)),  # past midnight → same morning
        (t(10, 10, 7, 59), t(10, 10, 8, 0)),
        (t(12, 31, 22, 0), t(1, 1, 8, 0, year=2021)),  # across a year end
    ],
)
def test_next_allowed(when: datetime, expected: datetime) -> None:
    assert next_allowed(when) == expected


def test_next_allowed_takes_other_zones_and_answers_in_shanghai() -> None:
    # 14:00 UTC is 22:00 in Shanghai
    assert next_allowed(datetime(2020, 10, 9, 14, 0, tzinfo=UTC)) == t(10, 10, 8, 0)
    assert next_allowed(datetime(2020, 10, 9, 2, 0, tzinfo=UTC)).tzinfo == t(1, 1, 0).tzinfo


def test_quiet_window_not_wrapping_midnight() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(13, 30))
    assert next_allowed(t(10, 9, 12, 45), lunch) == t(10, 9, 13, 30)
    assert next_allowed(t(10, 9, 11, 59), lunch) == t(10, 9, 11, 59)
    assert next_allowed(t(10, 9, 13, 30), lunch) == t(10, 9, 13, 30)


def test_equal_start_and_end_means_never_quiet() -> None:
    never = QuietHours(start=time(0, 0), end=time(0, 0))
    assert next_allowed(t(10, 9, 23, 0), never) == t(10, 9, 23, 0)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_allowed(datetime(2020, 10, 9, 12, 0))  # noqa: DTZ001 - the point of the test


# --- snooze ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (t(10, 9, 10, 0), t(10, 9, 12, 0)),
        (t(10, 9, 18, 59), t(10, 9, 20, 59)),
        (t(10, 9, 19, 0), t(10, 10, 8, 0)),  # 21:00 is already quiet
        (t(10, 9, 20, 0), t(10, 10, 8, 0)),  # the example
        (t(10, 10, 5, 0), t(10, 10, 8, 0)),
        (t(10, 10, 6, 30), t(10, 10, 8, 30)),
    ],
)
def test_snooze_two_hours_never_into_quiet_hours(now: datetime, expected: datetime) -> None:
    assert snooze_until(now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (t(10, 16, 20, 0), t(10, 19, 8, 0)),  # Friday evening → Monday, not Saturday
        (t(10, 17, 10, 0), t(10, 19, 8, 0)),  # a Saturday snooze lands on Monday too
        (t(9, 30, 20, 0), t(10, 9, 8, 0)),  # the eve of National Day → the first day back
        (t(10, 9, 20, 0), t(10, 10, 8, 0)),  # Saturday 10-10 is worked (调休): that morning
    ],
)
def test_a_snooze_comes_back_on_a_working_day(now: datetime, expected: datetime) -> None:
    # Regression: 稍后提醒 on Friday at 20:00 came back on Saturday at 08:00, a day off.
    assert snooze_until(now) == expected


def test_snooze_custom_hours() -> None:
    assert snooze_until(t(10, 9, 9, 0), hours=0.5) == t(10, 9, 9, 30)
    with pytest.raises(ValueError, match="hours"):
        snooze_until(t(10, 9, 9, 0), hours=0)


# --- spread ---------------------------------------------------------------------


def test_spread_is_pinned() -> None:
    # A literal, so a change of hash (or a slip to Python's per-process
    # randomized hash()) shows up here.
    at = t(10, 9, 9, 30)
    assert spread(at, "round-7:reminder:dept-12:2020-10-09T09:30") == at + timedelta(minutes=4, seconds=1)
    assert spread(at, "b") == at + timedelta(seconds=46)


def test_spread_is_deterministic_and_bounded() -> None:
    at = t(10, 9, 9, 30)
    offsets = {spread(at, f"dept-{i}") - at for i in range(200)}
    assert all(timedelta(0) <= o < timedelta(minutes=5) for o in offsets)
    assert len(offsets) > 100  # keys do spread out
    assert spread(at, "dept-1") == spread(at, "dept-1")
    assert all(spread(at, f"d{i}", max_minutes=1) - at < timedelta(minutes=1) for i in range(50))
    assert spread(at, "dept-1", max_minutes=0) == at


def test_spread_goes_backwards_rather_than_into_quiet_hours() -> None:
    at = t(10, 9, 20, 58)
    # "a" hashes to +4:10, which would be 21:02:10
    assert spread(at, "a") == at + timedelta(minutes=4, seconds=10)
    assert spread(at, "a", quiet=DEFAULT_QUIET) == at - timedelta(minutes=4, seconds=10)
    # "d" hashes to +0:29, still before 21:00: unchanged direction
    assert spread(at, "d", quiet=DEFAULT_QUIET) == at + timedelta(seconds=29)


# --- reminder plan --------------------------------------------------------------

# Short stage names keep the plan tables one line per slot.
BEF, LAST, DDAY, OVER = Stage.BEFORE, Stage.LAST_DAY, Stage.DEADLINE_DAY, Stage.OVERDUE


def plan_table(slots: tuple[ReminderSlot, ...]) -> list[tuple[str, Stage, bool]]:
    for s in slots:
        assert s.slot_key == slot_key(s.at)
    return [(s.slot_key, s.stage, s.escalate) for s in slots]


def test_plan_for_deadline_2020_10_12() -> None:
    """Deadline Monday 10-12; the five working days before it straddle the holiday."""
    plan = reminder_plan(deadline_at(date(2020, 10, 12)), until=t(10, 19, 23, 0))
    assert plan_table(plan) == [
        ("2020-09-28T09:30", BEF, False),
        ("2020-09-29T09:30", BEF, False),
        ("2020-09-30T09:30", BEF, False),
        ("2020-10-09T09:30", BEF, False),
        ("2020-10-10T09:30", BEF, False),  # Saturday, but a working day: the last one...
        ("2020-10-10T15:00", LAST, False),  # ...gets the 15:00 reminder as well
        ("2020-10-12T09:30", DDAY, False),
        ("2020-10-12T14:00", DDAY, False),
        ("2020-10-13T09:30", OVER, True),
        ("2020-10-14T09:30", OVER, True),
        ("2020-10-15T09:30", OVER, True),
        ("2020-10-16T09:30", OVER, True),
        # 10-17, 10-18: weekend, nobody chased
        ("2020-10-19T09:30", OVER, True),
    ]
    assert plan[0].at == t(9, 28, 9, 30)
    assert plan[5].at == t(10, 10, 15, 0)


def test_plan_stops_at_the_horizon_inclusive() -> None:
    plan = reminder_plan(deadline_at(date(2020, 10, 12)), until=t(10, 12, 14, 0))
    assert plan[-1].slot_key == "2020-10-12T14:00"
    plan = reminder_plan(deadline_at(date(2020, 10, 12)), until=t(9, 29, 9, 29))
    assert plan_table(plan) == [("2020-09-28T09:30", BEF, False)]


def test_deadline_at_noon_drops_the_afternoon_reminder() -> None:
    plan = reminder_plan(deadline_at(date(2020, 10, 12), time(12, 0)), until=t(10, 13, 23, 0))
    assert plan_table(plan)[-2:] == [
        ("2020-10-12T09:30", DDAY, False),
        ("2020-10-13T09:30", OVER, True),
    ]


def test_deadline_on_a_day_off() -> None:
    """Deadline Sunday 10-11: no deadline-day nudge on a Sunday; overdue from Monday."""
    plan = reminder_plan(deadline_at(date(2020, 10, 11)), until=t(10, 12, 23, 0))
    assert plan_table(plan) == [
        ("2020-09-28T09:30", BEF, False),
        ("2020-09-29T09:30", BEF, False),
        ("2020-09-30T09:30", BEF, False),
        ("2020-10-09T09:30", BEF, False),
        ("2020-10-10T09:30", BEF, False),
        ("2020-10-10T15:00", LAST, False),
        ("2020-10-12T09:30", OVER, True),
    ]


def test_policy_every_day_and_shorter_run_up() -> None:
    policy = ReminderPolicy(before_working_days=2, working_days_only=False, escalate_overdue=False)
    plan = reminder_plan(deadline_at(date(2020, 10, 9)), until=t(10, 11, 23, 0), policy=policy)
    assert plan_table(plan) == [
        ("2020-09-29T09:30", BEF, False),  # 2 working days before 10-09: 09-29, 09-30
        ("2020-09-30T09:30", BEF, False),
        ("2020-09-30T15:00", LAST, False),
        ("2020-10-09T09:30", DDAY, False),
        ("2020-10-09T14:00", DDAY, False),
        ("2020-10-10T09:30", OVER, False),
        ("2020-10-11T09:30", OVER, False),  # Sunday too: working_days_only is off
    ]


def test_policy_without_last_day_or_overdue() -> None:
    policy = ReminderPolicy(before_working_days=2, last_day_at=None, overdue_at=None)
    plan = reminder_plan(deadline_at(date(2020, 10, 9)), until=t(10, 20, 23, 0), policy=policy)
    assert plan_table(plan) == [
        ("2020-09-29T09:30", BEF, False),
        ("2020-09-30T09:30", BEF, False),  # the last day keeps its morning nudge
        ("2020-10-09T09:30", DDAY, False),
        ("2020-10-09T14:00", DDAY, False),
    ]


def test_the_last_working_day_gets_both_the_0930_and_the_1500_reminder() -> None:
    # Regression: the last working day before the deadline got only 15:00, though it is
    # one of the run-up working days that each get 09:30.
    plan = reminder_plan(deadline_at(date(2020, 10, 14)), until=t(10, 13, 23, 0))
    assert plan_table(plan)[-2:] == [("2020-10-13T09:30", BEF, False), ("2020-10-13T15:00", LAST, False)]
    same = ReminderPolicy(last_day_at=time(9, 30))  # one minute, one slot (one key)
    plan = reminder_plan(deadline_at(date(2020, 10, 14)), until=t(10, 13, 23, 0), policy=same)
    assert plan_table(plan)[-1:] == [("2020-10-13T09:30", LAST, False)]


def test_policy_time_in_quiet_hours_is_refused() -> None:
    policy = ReminderPolicy(overdue_at=time(22, 0))
    with pytest.raises(PolicyError) as caught:
        reminder_plan(deadline_at(date(2020, 10, 12)), until=t(10, 20, 0), policy=policy)
    assert caught.value.user_message == ("提醒时间 22:00 在免打扰时段（21:00–08:00）内，请改到其他时间")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"before_working_days": -1},
        {"deadline_day_at": (time(14, 0), time(9, 30))},
        {"deadline_day_at": (time(9, 30), time(9, 30))},
    ],
)
def test_bad_policy_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        ReminderPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_year_after_the_calendar_data_falls_back_to_weekdays(caplog: pytest.LogCaptureFixture) -> None:
    # Regression: a round crossing New Year stopped every sweep (no 2027 data in chinesecalendar 1.11).
    next_year = max(d.year for d in chinese_calendar.holidays) + 1
    timing._warn_weekday_fallback.cache_clear()  # warned once a process: make this test see it
    first_monday = next(date(next_year, 1, d) for d in range(1, 8) if date(next_year, 1, d).weekday() == 0)
    assert [is_working_day(first_monday + timedelta(days=k)) for k in range(7)] == [True] * 5 + [False] * 2
    assert "Monday to Friday count as working days" in caplog.text


def test_a_plan_years_beyond_the_data_falls_back_to_weekdays_not_an_error() -> None:
    # Regression: a 2028 deadline made every sweep raise CalendarRangeError.
    plan = reminder_plan(deadline_at(date(2099, 6, 1)), until=t(6, 2, 0, year=2099))
    assert [s.slot_key for s in plan][:2] == ["2099-05-25T09:30", "2099-05-26T09:30"]  # Mon–Fri


# --- the holiday override file, configuration -------------------------------------


def test_an_override_year_decides_its_listed_days_and_counts_weekdays_otherwise() -> None:
    cal = Calendar({2027: YearDays(holidays=frozenset({date(2027, 1, 1)}), workdays=frozenset({date(2027, 1, 9)}))})
    assert not cal.is_working_day(date(2027, 1, 1))  # a Friday, listed off
    assert cal.is_working_day(date(2027, 1, 9))  # a Saturday, listed worked
    assert cal.is_working_day(date(2027, 1, 4))
    assert not cal.is_working_day(date(2027, 1, 10))
    assert cal.covers(2027)
    assert not DEFAULT_CALENDAR.covers(2027)
    assert DEFAULT_CALENDAR.covers(2026)
    # A year chinesecalendar has can be corrected too; its other days stay as it says.
    fix = Calendar({2020: YearDays(holidays=frozenset({date(2020, 9, 30)}))})
    assert not fix.is_working_day(date(2020, 9, 30))
    assert fix.is_working_day(date(2020, 10, 10))
    assert not fix.is_working_day(date(2020, 10, 1))


def test_calendar_gaps_name_the_years_not_known() -> None:
    assert DEFAULT_CALENDAR.gaps(date(2026, 12, 1), date(2028, 1, 3)) == (2027, 2028)
    assert Calendar({2027: YearDays()}).gaps(date(2026, 12, 1), date(2028, 1, 3)) == (2028,)
    assert DEFAULT_CALENDAR.gaps(date(2026, 12, 1), date(2026, 12, 31)) == ()


@pytest.mark.parametrize(
    ("text", "quiet"),
    [
        ("21:00-08:00", QuietHours(time(21), time(8))),
        ("22:30 ~ 7:00", QuietHours(time(22, 30), time(7))),
        ("12:00–14:00", QuietHours(time(12), time(14))),
        ("off", QuietHours(time(0), time(0))),
    ],
)
def test_quiet_hours_are_parsed(text: str, quiet: QuietHours) -> None:
    assert parse_quiet_hours(text) == quiet


@pytest.mark.parametrize("text", ["21-8", "21:00", "25:00-08:00", "晚上九点到早上八点"])
def test_bad_quiet_hours_are_refused_saying_how_to_write_them(text: str) -> None:
    with pytest.raises(PolicyError, match="请写作 21:00-08:00"):
        parse_quiet_hours(text)


def test_a_policy_from_settings_or_a_round() -> None:
    assert policy_from({}) == DEFAULT_POLICY
    policy = policy_from({"before_days": 3, "deadline_day_at": ["10:00"], "overdue_at": None})
    assert (policy.before_working_days, policy.deadline_day_at, policy.overdue_at) == (3, (time(10),), None)
    assert policy.before_at == time(9, 30)  # the rest stays
    assert policy_from({"before_days": 2}, base=policy).deadline_day_at == (time(10),)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"before": 3}, "不认识的提醒设置“before”"),
        ({"before_days": 21}, "before_days（提前几个工作日开始提醒）应为 0 到 20 的整数"),
        ({"before_days": "3"}, "before_days"),
        ({"before_at": None}, "before_at 的时间“None”不对"),
        ({"overdue_at": "9点"}, "overdue_at 的时间“9点”不对"),
        ({"deadline_day_at": "09:30"}, "deadline_day_at（截止当天几点提醒）应为时间列表"),
        ({"deadline_day_at": ["14:00", "09:30"]}, "截止当天的提醒时间须从早到晚排列且不重复"),
        ({"escalate_overdue": "yes"}, "escalate_overdue"),
    ],
)
def test_a_bad_policy_value_is_refused_in_chinese(values: dict[str, object], problem: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_from(values)
    assert problem in caught.value.user_message


def test_send_times_in_quiet_hours_are_refused() -> None:
    with pytest.raises(PolicyError, match="日报时间 17:30 在免打扰时段"):
        check_send_times(DEFAULT_POLICY, parse_quiet_hours("17:00-08:00"))
    with pytest.raises(PolicyError, match="提醒时间 09:30 在免打扰时段"):
        check_send_times(DEFAULT_POLICY, parse_quiet_hours("21:00-10:00"))
    check_send_times(DEFAULT_POLICY, parse_quiet_hours("22:00-07:00"))


# --- 催办 -----------------------------------------------------------------------


def test_urge_slot_shares_the_key_of_a_slot_within_the_hour() -> None:
    plan = reminder_plan(deadline_at(date(2020, 10, 14)), until=t(10, 14, 23, 0))
    assert urge_slot(t(10, 14, 9, 31), plan) == "2020-10-14T09:30"  # just sent: the same reminder
    assert urge_slot(t(10, 14, 10, 29), plan) == "2020-10-14T09:30"
    assert urge_slot(t(10, 14, 13, 0), plan) == "2020-10-14T14:00"  # the slot ahead: it stands for it
    assert urge_slot(t(10, 14, 10, 30), plan) == "urge-2020-10-14T10:30"  # none near: its own


# --- digest ---------------------------------------------------------------------


def test_digest_on_working_days_at_1730() -> None:
    assert digest_slots(t(9, 30, 0), t(10, 12, 23)) == (
        DigestSlot(t(9, 30, 17, 30), "2020-09-30T17:30"),
        DigestSlot(t(10, 9, 17, 30), "2020-10-09T17:30"),
        DigestSlot(t(10, 10, 17, 30), "2020-10-10T17:30"),
        DigestSlot(t(10, 12, 17, 30), "2020-10-12T17:30"),
    )
    assert digest_slots(t(9, 30, 17, 31), t(10, 9, 17, 30)) == (DigestSlot(t(10, 9, 17, 30), "2020-10-09T17:30"),)


def test_next_digest_after() -> None:
    assert next_digest_after(t(9, 30, 17, 29)) == t(9, 30, 17, 30)
    assert next_digest_after(t(9, 30, 17, 30)) == t(10, 9, 17, 30)  # strictly after
    assert next_digest_after(t(10, 9, 18, 0)) == t(10, 10, 17, 30)


# --- next slot, catch-up --------------------------------------------------------

PLAN = reminder_plan(deadline_at(date(2020, 10, 12)), until=t(10, 14, 23, 0))


def keys(slots: tuple[ReminderSlot, ...]) -> list[str]:
    return [s.slot_key for s in slots]


def test_next_slot_after() -> None:
    assert next_slot_after(t(9, 1, 0), PLAN) == PLAN[0]
    first = next_slot_after(t(10, 1, 12), PLAN)
    assert first is not None
    assert first.slot_key == "2020-10-09T09:30"
    at_slot = next_slot_after(t(10, 12, 9, 30), PLAN)  # strictly after
    assert at_slot is not None
    assert at_slot.slot_key == "2020-10-12T14:00"
    assert next_slot_after(t(10, 14, 9, 30), PLAN) is None
    assert next_slot_after(t(10, 1, 12), reversed(PLAN)) == first  # order does not matter


def test_catch_up_inside_the_grace_window() -> None:
    """Down from Saturday 16:00 to Monday 11:00: the 09:30 slot is 1h30 old, still due."""
    result = due_slots(t(10, 12, 11, 0), PLAN, last_run=t(10, 10, 16, 0))
    assert keys(result.due) == ["2020-10-12T09:30"]
    assert result.missed == ()


def test_catch_up_outside_the_grace_window() -> None:
    """Down from Friday 08:00 to Monday 12:00: everything is older than 2 hours."""
    result = due_slots(t(10, 12, 12, 0), PLAN, last_run=t(10, 9, 8, 0))
    assert result.due == ()
    assert keys(result.missed) == [
        "2020-10-09T09:30",
        "2020-10-10T09:30",
        "2020-10-10T15:00",
        "2020-10-12T09:30",  # 2h30 old
    ]


def test_catch_up_mixed_and_the_boundary() -> None:
    result = due_slots(t(10, 12, 16, 0), PLAN, last_run=t(10, 12, 8, 0))
    assert keys(result.due) == ["2020-10-12T14:00"]  # exactly 2 hours old: still due
    assert keys(result.missed) == ["2020-10-12T09:30"]


def test_ordinary_tick_and_already_handled() -> None:
    on_time = due_slots(t(10, 12, 9, 30), PLAN, last_run=t(10, 12, 9, 29))
    assert keys(on_time.due) == ["2020-10-12T09:30"]
    again = due_slots(t(10, 12, 9, 31), PLAN, last_run=t(10, 12, 9, 30))
    assert again.due == again.missed == ()  # last_run is exclusive: handled before


def test_first_run_considers_every_past_slot() -> None:
    result = due_slots(t(9, 29, 10, 0), PLAN, last_run=None)
    assert keys(result.due) == ["2020-09-29T09:30"]
    assert keys(result.missed) == ["2020-09-28T09:30"]


def test_custom_grace() -> None:
    result = due_slots(t(10, 12, 12, 0), PLAN, last_run=t(10, 9, 8, 0), grace=timedelta(hours=3))
    assert keys(result.due) == ["2020-10-12T09:30"]
