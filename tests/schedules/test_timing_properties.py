"""Properties of the timing rules over generated times, windows and keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from schedules.timing import (
    TZ,
    QuietHours,
    ReminderPolicy,
    Stage,
    add_working_days,
    deadline_at,
    due_slots,
    is_working_day,
    next_allowed,
    reminder_plan,
    snooze_until,
    spread,
)

# Years the installed holiday data covers, with room for the run-up and overdue.
FIRST, LAST = datetime(2005, 1, 1), datetime(2025, 12, 1)  # noqa: DTZ001 - bounds, zone added below

aware = st.datetimes(
    min_value=FIRST,
    max_value=LAST,
    timezones=st.sampled_from([TZ, UTC, ZoneInfo("America/New_York")]),
    allow_imaginary=False,
)
minutes = st.builds(time, st.integers(0, 23), st.integers(0, 59))
quiet_hours = st.builds(QuietHours, minutes, minutes)
days = st.dates(min_value=FIRST.date(), max_value=LAST.date())

# A DST change in New York: the repeated hour (fold=1) and the hour before it.
NY = ZoneInfo("America/New_York")
NO_QUIET = QuietHours(time(0), time(0))


def later(dt: datetime, delta: timedelta) -> datetime:
    """``dt`` plus elapsed time: aware ``+`` adds wall-clock time, which a DST change bends."""
    return (dt.astimezone(UTC) + delta).astimezone(dt.tzinfo)


def same_instant(a: datetime, b: datetime) -> bool:
    """PEP 495 makes ``==`` between zones False for a time in a DST fold (fold=1)."""
    return a.timestamp() == b.timestamp()


@given(aware, quiet_hours)
@example(datetime(2016, 11, 6, 1, 0, tzinfo=NY, fold=1), NO_QUIET)
def test_next_allowed_is_allowed_and_not_earlier(dt: datetime, quiet: QuietHours) -> None:
    result = next_allowed(dt, quiet)
    assert not quiet.contains(result)
    assert result >= dt
    assert result - dt <= timedelta(days=1)
    assert result.tzinfo == TZ
    if not quiet.contains(dt):
        assert same_instant(result, dt)


@given(aware, quiet_hours)
@example(datetime(2016, 11, 6, 1, 0, tzinfo=NY, fold=1), NO_QUIET)
def test_next_allowed_is_the_first_allowed_minute(dt: datetime, quiet: QuietHours) -> None:
    result = next_allowed(dt, quiet)
    if not same_instant(result, dt):
        # one minute earlier is still quiet (or before dt): nothing earlier was allowed
        assert quiet.contains(result - timedelta(minutes=1))
        assert result.second == result.microsecond == 0


@given(aware, st.floats(min_value=0.25, max_value=48), quiet_hours)
# Found by CI: 00:30 EDT + 1.5 h of wall clock is 02:00 EST, 2.5 h later.
@example(datetime(2016, 11, 6, 0, 30, tzinfo=NY), 1.5, NO_QUIET)
def test_snooze_never_lands_in_quiet_hours(now: datetime, hours: float, quiet: QuietHours) -> None:
    result = snooze_until(now, hours, quiet)
    assert not quiet.contains(result)
    assert result >= later(now, timedelta(hours=hours))


@given(aware, st.text(max_size=40), st.integers(1, 30))
@example(datetime(2016, 11, 6, 1, 40, tzinfo=NY, fold=1), "", 10)
def test_spread_is_bounded_and_deterministic(at: datetime, key: str, max_minutes: int) -> None:
    result = spread(at, key, max_minutes)
    assert at <= result < later(at, timedelta(minutes=max_minutes))
    assert spread(at, key, max_minutes) == result


@given(aware, st.text(max_size=40), quiet_hours)
def test_spread_with_quiet_hours_never_lands_in_them(at: datetime, key: str, quiet: QuietHours) -> None:
    start = next_allowed(at, quiet)
    result = spread(start, key, quiet=quiet)
    assert not quiet.contains(result)
    assert abs(result - start) < timedelta(minutes=5) or result == next_allowed(start, quiet)


@given(days, st.integers(-30, 30))
def test_add_working_days_round_trips_from_a_working_day(day: date, n: int) -> None:
    if not is_working_day(day):
        day = add_working_days(day, 1)
    there = add_working_days(day, n)
    assert add_working_days(there, -n) == day
    assert n == 0 or is_working_day(there)


@given(days, st.integers(0, 10), st.booleans(), st.integers(1, 20))
def test_reminder_plan_invariants(due: date, before: int, working_only: bool, overdue_days: int) -> None:
    policy = ReminderPolicy(before_working_days=before, working_days_only=working_only)
    deadline = deadline_at(due)
    until = deadline + timedelta(days=overdue_days)
    plan = reminder_plan(deadline, until=until, policy=policy)

    assert [s.at for s in plan] == sorted(s.at for s in plan)
    assert len({s.slot_key for s in plan}) == len(plan)  # keys are unique: exactly-once keys
    assert all(s.at <= until for s in plan)
    assert all(not QuietHours().contains(s.at) for s in plan)
    assert all(s.escalate == (s.stage is Stage.OVERDUE) for s in plan)
    for s in plan:
        if s.stage in (Stage.BEFORE, Stage.LAST_DAY):
            assert s.at.date() < due
            assert is_working_day(s.at.date())
        elif s.stage is Stage.DEADLINE_DAY:
            assert s.at.date() == due
        else:
            assert s.at.date() > due
        if working_only:
            assert is_working_day(s.at.date())
    assert len([s for s in plan if s.stage is Stage.LAST_DAY]) == 1
    # every run-up working day at 09:30, and the last working day at 15:00 as well
    assert len([s for s in plan if s.stage is Stage.BEFORE]) == before


@given(
    days,
    st.integers(0, 5 * 24 * 60),
    st.integers(0, 5 * 24 * 60),
    st.integers(0, 6 * 60),
)
def test_due_and_missed_split_the_window(due: date, since_min: int, span_min: int, grace_min: int) -> None:
    deadline = deadline_at(due)
    plan = reminder_plan(deadline, until=deadline + timedelta(days=12))
    last_run = deadline - timedelta(days=4) + timedelta(minutes=since_min)
    now = last_run + timedelta(minutes=span_min)
    grace = timedelta(minutes=grace_min)
    result = due_slots(now, plan, last_run, grace)

    window = [s for s in plan if last_run < s.at <= now]
    assert sorted(result.due + result.missed, key=lambda s: s.at) == window
    assert all(now - s.at <= grace for s in result.due)
    assert all(now - s.at > grace for s in result.missed)
