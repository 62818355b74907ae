"""Sweep planning with a moved clock: stages, quiet hours, snooze, catch-up, finished departments.

The round's deadline is Wed 2020-10-14, end of day.  With the default
policy its run-up reminders fall on the five working days before it:
Wed 09-30, Fri 10-09, Sat 10-10 (调休), Mon 10-12 and Tue 10-13 at 09:30,
and the last of them, Tue 10-13, at 15:00 too; deadline day at 09:30 and 14:00; overdue daily on working days at
09:30.  National Day week (10-01..10-08) gets nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from bot.events import Platform
from bot.messages import Card, File, Image, Markdown, Target
from schedules.content import DepartmentProgress, PartCount, RankRow, RoundInfo
from schedules.plan import (
    Kind,
    Recipients,
    RoundState,
    ScheduleConfig,
    plan_ranking_push,
    plan_round,
    recipients_from_directory,
    send_key,
    stage_at,
)
from schedules.timing import Stage, at_local, deadline_at
from scoring_core.directory import Department, Directory, Member, Role


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return at_local(date(2020, month, day), time(hour, minute))


DEADLINE = deadline_at(date(2020, 10, 14))
INFO = RoundInfo("7", "2020年度平安建设考评", DEADLINE)
ZHANG = Target.user(Platform.SANDBOX, "zhang")
LI = Target.user(Platform.SANDBOX, "li")
HEAD = Target.user(Platform.SANDBOX, "wang")
LEADERS = Target.group(Platform.SANDBOX, "leaders")
RECIPIENTS = {
    "市委政法委": Recipients((ZHANG, LI), (HEAD,)),
    "市公安局": Recipients((Target.user(Platform.SANDBOX, "zhao"),)),
}
OPENED = t(9, 28, 10)
EXACT = ScheduleConfig(spread_minutes=0)  # slots at the sharp minute, to read the tests easily


def state(done: int = 20, *, paused: bool = False, opened: datetime = OPENED) -> RoundState:
    return RoundState(
        info=INFO,
        opened_at=opened,
        progress=(
            DepartmentProgress("市委政法委", DEADLINE, 34, done, (PartCount("4.2", "新媒体建设", 34 - done),)),
            DepartmentProgress("市公安局", DEADLINE, 10, 10),
        ),
        paused=paused,
    )


def plan(
    now: datetime,
    last_run: datetime | None,
    *,
    st: RoundState | None = None,
    snoozes: dict[Target, datetime] | None = None,
    config: ScheduleConfig = EXACT,
    groups: tuple[Target, ...] = (LEADERS,),
):  # type: ignore[no-untyped-def]
    return plan_round(st or state(), RECIPIENTS, groups, now, last_run, snoozes or {}, config)


def kinds(p) -> Counter[tuple[Kind, str]]:  # type: ignore[no-untyped-def]
    return Counter((s.kind, s.target.id) for s in p.sends)


# --- keys ---------------------------------------------------------------------------


def test_send_key_names_round_kind_target_and_slot() -> None:
    assert send_key(7, Kind.REMIND, ZHANG, "2020-10-09T09:30") == "r7:remind:sandbox:user:zhang:2020-10-09T09:30"


def test_an_overlong_key_is_hashed_within_the_column() -> None:
    key = send_key(7, Kind.REMIND, Target.user(Platform.SANDBOX, "x" * 300), "2020-10-09T09:30")
    assert len(key) <= 255
    assert key.startswith("r7:remind:h:")


# --- the opening notice -------------------------------------------------------------


def test_open_round_notifies_every_member_of_unfinished_departments_once_per_key() -> None:
    first = plan(t(9, 28, 10, 1), None)
    notices = [s for s in first.sends if s.kind is Kind.OPENED]
    assert sorted(s.target.id for s in notices) == ["li", "wang", "zhang"]  # 市公安局 finished: nothing
    assert {s.key for s in notices} == {
        "r7:open:sandbox:user:zhang:1",
        "r7:open:sandbox:user:li:1",
        "r7:open:sandbox:user:wang:1",  # the head too
    }
    again = plan(t(9, 28, 10, 2), t(9, 28, 10, 1))
    assert {s.key for s in again.sends if s.kind is Kind.OPENED} == {s.key for s in notices}  # outbox keeps one


def test_a_slot_before_the_round_opened_is_never_sent() -> None:
    # Regression: a round opened at 09:31 by a sweep that last ran at 09:29 got the
    # 09:30 reminder in the same minute as its opening notice.
    opened_late = state(opened=t(10, 9, 9, 31))
    sends = plan(t(10, 9, 9, 32), t(10, 9, 9, 29), st=opened_late).sends
    assert [s.kind for s in sends if s.target == ZHANG] == [Kind.OPENED]
    assert plan(t(10, 9, 9, 32), t(10, 9, 9, 29), st=opened_late).missed == ()
    # A slot after the opening goes out as usual.
    assert [s.kind for s in plan(t(10, 12, 9, 30), t(10, 12, 9, 29), st=opened_late).sends if s.target == ZHANG] == [
        Kind.OPENED,
        Kind.REMIND,
    ]


def test_notice_waits_out_quiet_hours() -> None:
    assert plan(t(9, 28, 22), None, st=state(opened=t(9, 28, 21, 30))).sends == ()
    assert plan(t(9, 29, 8), None, st=state(opened=t(9, 28, 21, 30))).sends


# --- stages -------------------------------------------------------------------------


def reminders_at(now: datetime, last_run: datetime, **kw) -> list[tuple[str, str, Stage | None]]:  # type: ignore[no-untyped-def]
    p = plan(now, last_run, **kw)
    out = []
    for s in p.sends:
        if s.kind in (Kind.REMIND, Kind.REMIND_HEAD, Kind.SNOOZED):
            assert isinstance(s.message, Card)
            out.append((s.kind.value, s.target.id, s.message.title))
    return out  # type: ignore[return-value]


def test_before_stage_on_a_run_up_working_day() -> None:
    assert reminders_at(t(10, 9, 9, 30), t(10, 9, 9, 29)) == [
        ("remind", "zhang", "评分提醒：距截止还有 5 天"),
        ("remind", "li", "评分提醒：距截止还有 5 天"),
    ]


def test_adjusted_saturday_is_a_run_up_day_and_national_day_is_not() -> None:
    assert reminders_at(t(10, 10, 9, 30), t(10, 10, 9, 29))
    assert reminders_at(t(10, 5, 9, 30), t(10, 5, 9, 29)) == []


def test_last_working_day_at_09_30_and_15_00() -> None:
    assert [r[2] for r in reminders_at(t(10, 13, 9, 30), t(10, 13, 9, 29))] == ["评分提醒：距截止还有 1 天"] * 2
    assert [r[2] for r in reminders_at(t(10, 13, 15), t(10, 13, 14, 59))] == ["评分明天截止"] * 2


def test_deadline_day_twice() -> None:
    assert [r[2] for r in reminders_at(t(10, 14, 9, 30), t(10, 14, 9, 29))] == ["评分今天24:00截止"] * 2
    assert [r[2] for r in reminders_at(t(10, 14, 14), t(10, 14, 13, 59))] == ["评分今天24:00截止"] * 2


def test_overdue_goes_to_the_head_too() -> None:
    assert reminders_at(t(10, 15, 9, 30), t(10, 15, 9, 29)) == [
        ("remind", "zhang", "评分已逾期 1 天"),
        ("remind", "li", "评分已逾期 1 天"),
        ("remind-head", "wang", "评分已逾期 1 天"),
    ]


def test_spread_moves_the_send_but_not_the_key() -> None:
    p = plan(t(10, 9, 9, 40), t(10, 9, 9, 29), config=ScheduleConfig())
    reminders = [s for s in p.sends if s.kind is Kind.REMIND]
    assert len(reminders) == 2
    assert all(s.key.endswith(":2020-10-09T09:30") for s in reminders)
    assert all(t(10, 9, 9, 30) <= s.at < t(10, 9, 9, 35) for s in reminders)


def test_stage_at() -> None:
    assert stage_at(t(10, 12, 11), DEADLINE) is Stage.BEFORE
    assert stage_at(t(10, 13, 11), DEADLINE) is Stage.LAST_DAY
    assert stage_at(t(10, 14, 11), DEADLINE) is Stage.DEADLINE_DAY
    assert stage_at(t(10, 15, 11), DEADLINE) is Stage.OVERDUE


# --- who gets nothing ---------------------------------------------------------------


def test_a_finished_department_gets_nothing_more() -> None:
    done = state(done=34)
    assert reminders_at(t(10, 15, 9, 30), t(10, 15, 9, 29), st=done) == []
    assert [s.kind for s in plan(t(10, 15, 9, 30), None, st=done).sends] == []


def test_paused_round_sends_no_reminders_but_the_digest_goes_on() -> None:
    assert reminders_at(t(10, 14, 9, 30), t(10, 14, 9, 29), st=state(paused=True)) == []
    p = plan(t(10, 12, 17, 30), t(10, 12, 17, 29), st=state(paused=True))
    assert [s.kind for s in p.sends if s.kind is not Kind.OPENED] == [Kind.DIGEST]


# --- quiet hours, catch-up ----------------------------------------------------------


def test_nothing_in_quiet_hours() -> None:
    assert plan(t(10, 14, 21, 30), t(10, 14, 9, 0)).sends == ()


def test_catch_up_within_the_grace_window() -> None:
    # Down from 09:00 to 11:00: the 09:30 slot is 1.5 h old, still sent.
    assert [r[2] for r in reminders_at(t(10, 14, 11), t(10, 14, 9))] == ["评分今天24:00截止"] * 2


def test_missed_outside_the_grace_window_is_skipped_and_reported() -> None:
    p = plan(t(10, 14, 12), t(10, 14, 9))
    assert [s for s in p.sends if s.kind is Kind.REMIND] == []
    assert [(m.department, m.slot_key) for m in p.missed] == [("市委政法委", "2020-10-14T09:30")]


def test_a_digest_outside_the_grace_window_is_reported_missed() -> None:
    p = plan(t(10, 14, 20), t(10, 14, 17))  # 17:30 passed while down, 2h30 ago
    assert [s for s in p.sends if s.kind is Kind.DIGEST] == []
    assert [(m.kind, m.department, m.slot_key) for m in p.missed] == [(Kind.DIGEST, None, "2020-10-14T17:30")]


def test_grace_is_configurable() -> None:
    p = plan(t(10, 14, 12), t(10, 14, 9), config=ScheduleConfig(spread_minutes=0, grace=timedelta(hours=3)))
    assert len([s for s in p.sends if s.kind is Kind.REMIND]) == 2


# --- snooze -------------------------------------------------------------------------


def test_snoozed_member_skips_the_slot_and_gets_one_reminder_when_it_ends() -> None:
    snoozes = {ZHANG: t(10, 14, 11, 30)}  # 稍后提醒 at 09:30
    at_slot = reminders_at(t(10, 14, 9, 30), t(10, 14, 9, 29), snoozes=snoozes)
    assert [r[1] for r in at_slot] == ["li"]
    assert reminders_at(t(10, 14, 11, 29), t(10, 14, 11, 28), snoozes=snoozes) == []
    back = plan(t(10, 14, 11, 30), t(10, 14, 11, 29), snoozes=snoozes)
    (send,) = [s for s in back.sends if s.kind is Kind.SNOOZED]
    assert send.target == ZHANG
    assert send.key == "r7:snooze:sandbox:user:zhang:2020-10-14T11:30"
    assert isinstance(send.message, Card)
    assert send.message.description.startswith("市委政法委：截至10月14日 11:30尚有 14 条")
    assert reminders_at(t(10, 14, 11, 31), t(10, 14, 11, 30), snoozes=snoozes) == []  # once


def test_a_heads_snooze_holds_the_heads_reminders_too() -> None:
    # Regression: 稍后提醒 tapped by a head had no effect on the head's (overdue) reminders.
    snoozes = {HEAD: t(10, 15, 11, 30)}
    assert ("remind-head", "wang", "评分已逾期 1 天") not in reminders_at(
        t(10, 15, 9, 30), t(10, 15, 9, 29), snoozes=snoozes
    )
    back = plan(t(10, 15, 11, 30), t(10, 15, 11, 29), snoozes=snoozes)
    (send,) = [s for s in back.sends if s.kind is Kind.SNOOZED]
    assert send.key == "r7:snooze:sandbox:user:wang:2020-10-15T11:30"
    assert isinstance(send.message, Card)
    assert send.message.description.startswith("市委政法委负责人：截止时间10月14日（周三）24:00已过")
    # Before the deadline a head gets no reminders, so there is nothing to come back.
    early = {HEAD: t(10, 14, 11, 30)}
    assert reminders_at(t(10, 14, 11, 30), t(10, 14, 11, 29), snoozes=early) == []


def test_a_head_who_scores_for_a_department_without_scorers_gets_one_card() -> None:
    only_head = {"市委政法委": Recipients((HEAD,), (HEAD,))}
    p = plan_round(state(), only_head, (), t(10, 15, 9, 30), t(10, 15, 9, 29), {}, EXACT)
    assert [(s.kind.value, s.target.id) for s in p.sends if s.kind is not Kind.OPENED] == [("remind", "wang")]


def test_snooze_of_a_finished_department_sends_nothing() -> None:
    snoozes = {ZHANG: t(10, 14, 11, 30)}
    assert reminders_at(t(10, 14, 11, 30), t(10, 14, 11, 29), snoozes=snoozes, st=state(done=34)) == []


# --- digest -------------------------------------------------------------------------


def test_digest_at_17_30_on_working_days_to_each_group() -> None:
    other = Target.group(Platform.WECOM, "robot-1")
    p = plan(t(10, 12, 17, 30), t(10, 12, 17, 29), groups=(LEADERS, other))
    digests = [s for s in p.sends if s.kind is Kind.DIGEST]
    assert [s.key for s in digests] == [
        "r7:digest:sandbox:group:leaders:2020-10-12T17:30#1",
        "r7:digest:wecom:group:robot-1:2020-10-12T17:30#1",
    ]
    assert isinstance(digests[0].message, Markdown)
    assert [s for s in plan(t(10, 3, 17, 30), t(10, 3, 17, 29)).sends if s.kind is Kind.DIGEST] == []


# --- ranking push -------------------------------------------------------------------


def test_ranking_push_sends_markdown_chart_and_workbook_to_each_group() -> None:
    rows = [RankRow(1, "东湖区", Decimal("95"))]
    sends = plan_ranking_push(
        INFO, rows, (LEADERS,), t(10, 20, 10), event="published-2020-10-20T10:00", final=True,
        previous=None, chart_png=b"png", workbook=b"xlsx",
    )  # fmt: skip
    assert [s.key for s in sends] == [
        "r7:ranking:sandbox:group:leaders:published-2020-10-20T10:00#md1",
        "r7:ranking:sandbox:group:leaders:published-2020-10-20T10:00#chart",
        "r7:ranking:sandbox:group:leaders:published-2020-10-20T10:00#xlsx",
    ]
    assert [type(s.message) for s in sends] == [Markdown, Image, File]


# --- recipients ---------------------------------------------------------------------


def test_recipients_from_directory() -> None:
    directory = Directory(
        units=(),
        departments=(
            Department(
                "市委政法委",
                members=(
                    Member("张三", "市委政法委", Role.SCORER, {"sandbox": "zhang", "wecom": "ZhangSan"}),
                    Member("王五", "市委政法委", Role.HEAD, {"sandbox": "wang"}),
                    Member("钱七", "市委政法委", Role.LEADER, {"sandbox": "qian"}),
                ),
            ),
            Department("市公安局", members=(Member("赵六", "市公安局", Role.HEAD, {"sandbox": "zhao"}),)),
        ),
    )
    found = recipients_from_directory(directory, ["sandbox"])
    assert found["市委政法委"] == Recipients((ZHANG,), (HEAD,))
    zhao = Target.user(Platform.SANDBOX, "zhao")
    assert found["市公安局"] == Recipients((zhao,), (zhao,))  # no scorer: the head takes the reminders
