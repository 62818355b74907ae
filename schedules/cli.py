"""``scorebot`` subcommands for admins: remind-now, schedule list/pause/resume/policy.

The lead wires them in with ``add_schedule_parsers(subparsers)`` in
``bot/cli.py``.  They act on the same database as ``scorebot serve`` and
call the same ``schedules.jobs`` functions as the chat's 催办, 提醒计划,
暂停提醒 and 恢复提醒; a running server's outbox dispatcher sends what they
queue.  A refusal (quiet hours, no such open round, a bad setting) is a
ScorebotError: ``bot.cli.main`` prints its Chinese line and exits 2.

Dev only: the bot's clock can be shifted with ``SCOREBOT_CLOCK_OFFSET``
(e.g. ``P3D``, or seconds) for ``serve`` and these commands alike, to walk
a round to its deadline on the sandbox.  Never set it in production.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.clock import offset_clock
from bot.settings import Settings, load_settings
from schedules import jobs
from schedules.content import fmt_minute, policy_line, urge_summary
from schedules.wiring import build_runtime
from storage.engine import create_engine, session_factory
from storage.files import load_directory, load_scheme
from storage.migrate import upgrade

_KIND_LABELS = {"remind": "提醒", "digest": "进度日报"}


def add_schedule_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    remind = subparsers.add_parser(
        "remind-now", help="催办：立即提醒未完成评分的部门（一小时内刚提醒过的不重复；免打扰时段不发）"
    )
    remind.add_argument("--round", type=int, help="只催办这一轮（默认：进行中的轮次）")
    remind.set_defaults(run=_run(_remind_now))

    schedule = subparsers.add_parser("schedule", help="查看、暂停、恢复定时提醒，设置一轮的提醒")
    actions = schedule.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="列出接下来要发的提醒和日报")
    listing.add_argument("--days", type=float, default=3, help="看多少天内（默认 3）")
    listing.set_defaults(run=_run(_list))
    pause = actions.add_parser("pause", help="暂停一轮的提醒（日报照发）")
    pause.add_argument("round", type=int)
    pause.set_defaults(run=_run(_pause))
    resume = actions.add_parser("resume", help="恢复一轮的提醒（暂停期间错过的不补发）")
    resume.add_argument("round", type=int)
    resume.set_defaults(run=_run(_resume))
    policy = actions.add_parser("policy", help="查看或设置一轮的提醒（默认见 SCOREBOT_REMINDER_POLICY）")
    policy.add_argument("round", type=int)
    policy.add_argument("--before", type=int, metavar="N", help="截止前 N 个工作日起每天提醒（0–20）")
    policy.set_defaults(run=_run(_policy))


Action = Callable[[jobs.ScheduleRuntime, argparse.Namespace], Awaitable[int]]


def _run(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return asyncio.run(_with_runtime(load_settings(), action, args))

    return run


async def _with_runtime(settings: Settings, action: Action, args: argparse.Namespace) -> int:
    scheme = load_scheme(settings.scheme_path)
    directory = load_directory(scheme, settings.directory_path)
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        platforms = _platforms(settings)
        sessions = session_factory(engine)
        clock = offset_clock(settings.clock_offset)
        runtime = build_runtime(settings, sessions, clock, scheme, directory, platforms)
        return await action(runtime, args)
    finally:
        await engine.dispose()


def _platforms(settings: Settings) -> list[str]:
    found = [name for name, on in (("wecom", settings.wecom_enabled), ("dingtalk", settings.dingtalk_enabled)) if on]
    return found + (["sandbox"] if settings.sandbox_enabled else [])


async def _remind_now(rt: jobs.ScheduleRuntime, args: argparse.Namespace) -> int:
    report = await jobs.remind_now(rt, args.round)
    for line in urge_summary(report.departments, report.persons, report.skipped_departments, report.skipped_persons):
        print(line)
    for department, left in report.left:
        print(f"  {department} 缺 {left} 条")
    return 0


async def _list(rt: jobs.ScheduleRuntime, args: argparse.Namespace) -> int:
    found = await jobs.list_upcoming(rt, timedelta(days=args.days))
    async with rt.sessions() as session:
        warning = await jobs.calendar_warning(session, rt.schedules, rt.clock())
    if warning:
        print(warning)
    if not found:
        print("接下来没有计划发送的提醒或日报")
    for u in found:
        who = u.department or "领导群"
        kind = _KIND_LABELS.get(u.kind.value, u.kind.value)
        print(f"{fmt_minute(u.at)}  第{u.round_id}轮  {kind}  {who}（{u.recipients} 人/群）")
    return 0


async def _pause(rt: jobs.ScheduleRuntime, args: argparse.Namespace) -> int:
    async with rt.sessions() as session, session.begin():
        changed = await jobs.pause(session, rt.schedules, args.round, "cli", rt.clock())
    print(f"第{args.round}轮提醒已暂停" if changed else f"第{args.round}轮提醒本已暂停")
    return 0


async def _resume(rt: jobs.ScheduleRuntime, args: argparse.Namespace) -> int:
    async with rt.sessions() as session, session.begin():
        changed = await jobs.resume(session, rt.schedules, args.round, rt.clock())
    print(f"第{args.round}轮提醒已恢复" if changed else f"第{args.round}轮提醒并未暂停")
    return 0


async def _policy(rt: jobs.ScheduleRuntime, args: argparse.Namespace) -> int:
    async with rt.sessions() as session, session.begin():
        if args.before is not None:
            policy = await jobs.set_policy(
                session, rt.schedules, args.round, {"before_days": args.before}, "cli", rt.clock()
            )
        else:
            await jobs.check_open(session, rt.schedules, args.round, rt.clock())
            policy = (await jobs.round_config(session, rt.schedules, args.round)).policy
    print(f"第{args.round}轮{policy_line(policy)}")
    return 0
