"""What admins (市委平安办) do from the chat: open, unlock, chase, close, publish, export."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

from bot.messages import Card, File, Target
from handlers.base import Context
from handlers.commands import DayTime, OpenRound, ReminderPlan, SetClock, Unlock
from handlers.common import (
    LOCAL,
    Caller,
    directory_of,
    exact_name,
    latest_round,
    local,
    open_round_info,
    page_of,
    schedules_of,
    scheme_of,
    text,
)
from handlers.parse import BadCommand
from schedules import jobs as schedule_jobs
from schedules.content import calendar_gap_line, fmt_day, policy_line, published_incomplete, urge_summary
from schedules.plan import calendar_gaps, opening_notices, upcoming_summary
from schedules.storage_source import StorageRounds
from schedules.timing import next_allowed, policy_from
from scoring_core.directory import Role
from scoring_core.errors import DomainError
from scoring_core.names import Exact, department_index, unit_index
from scoring_core.points import fmt
from scoring_core.rules import part_for_unit, scorers_of
from storage.errors import Conflict
from storage.models.scoring import RoundStatus
from storage.scoring import (
    Deadline,
    active_adjustments,
    close_round,
    current_scores,
    load_standing,
    open_round,
    publish_round,
    reopen_round,
    unlock_part,
)
from storage.sheets import ranking_workbook

#: A deadline typed without a time is the end of that day.
END_OF_DAY = time(23, 59)


def _when(now: datetime, typed: DayTime, *, ahead: bool = False) -> datetime:
    """The moment typed; without a year, this year's.

    With ``ahead`` (a deadline), a month and day without a year that are
    already past this year mean next year's: ``1月8日`` typed in December.
    Today stays today (its hour may be past: refused as such).
    """
    today = now.astimezone(LOCAL).date()
    year = typed.year or today.year
    if ahead and typed.year is None and (typed.month, typed.day) < (today.month, today.day):
        year += 1
    try:
        return datetime(year, typed.month, typed.day, *(_hm(typed.at or END_OF_DAY)), tzinfo=LOCAL)
    except ValueError as exc:  # 2月29日 in a year without it
        raise BadCommand(f"{year}年没有{typed.month}月{typed.day}日") from exc


def _hm(at: time) -> tuple[int, int]:
    return at.hour, at.minute


async def open_round_cmd(ctx: Context, caller: Caller, cmd: OpenRound) -> None:
    scheme, directory = scheme_of(ctx), directory_of(ctx)
    schedules = schedules_of(ctx)
    deadline = _when(ctx.now, cmd.deadline, ahead=True)
    if deadline <= ctx.now:
        raise DomainError(f"截止时间 {local(deadline)} 已过，请写以后的日期")
    run_up = {"before_days": cmd.before_days} if cmd.before_days is not None else {}
    policy_from(run_up, schedules.config.policy)  # a bad 提前N天 is refused before anything opens
    deadlines = [Deadline(deadline)]
    for line in cmd.overrides:
        at = _when(ctx.now, line.when, ahead=True)
        if line.target in scheme.parts_by_code:
            deadlines.append(Deadline(at, code=line.target))
        else:
            deadlines.append(Deadline(at, department=exact_name(department_index(directory), line.target, "部门")))
    # The round is tied to a hash of the scheme file's text (the same hash a round
    # opened from the CLI gets); services built without a file fall back to the repr.
    info = await open_round(
        ctx.session,
        scheme.name,
        scheme,
        ctx.services.scheme_text or repr(scheme),
        deadlines,
        caller.actor,
        ctx.now,
        ctx.event.message_id,
    )
    extra = f"，另有 {len(cmd.overrides)} 项单独截止" if cmd.overrides else ""
    policy = ""
    if run_up:
        chosen = await schedule_jobs.set_policy(ctx.session, schedules, info.id, run_up, caller.actor.id, ctx.now)
        policy = "本轮" + policy_line(chosen)
    # The schedules' round-opened card, under the schedules' keys: the reminder sweep
    # plans the same keys and finds them sent, so each person gets one notice.  In
    # quiet hours ctx.send holds them until the next allowed minute.
    snapshot = await StorageRounds(scheme, directory).snapshot(ctx.session, info.id)
    me = Target.user(ctx.event.platform, ctx.event.user_id)
    count = 0
    for notice in opening_notices(snapshot.state, schedules.recipients, ctx.now):
        if notice.target != me and await ctx.send(notice.target, notice.message, dedupe_key=notice.key):
            count += 1
    quiet = schedules.config.quiet
    if quiet.contains(ctx.now):
        when = local(next_allowed(ctx.now, quiet))
        told = f"现在是免打扰时段（{quiet}），{count} 位评分人员的评分开始通知将于{when}发出。"
    else:
        told = f"已通知 {count} 位评分人员。"
    gaps = calendar_gap_line(calendar_gaps(schedules.config, ctx.now, [d.at for d in deadlines]))
    await ctx.reply(text(f"已开启“{info.name}”，截止 {local(deadline)}{extra}。", told, policy, gaps))


async def unlock(ctx: Context, caller: Caller, cmd: Unlock) -> None:
    """解锁: a submitted part is editable again; after the round closed, the round reopens for the correction."""
    scheme, directory = scheme_of(ctx), directory_of(ctx)
    info = await latest_round(ctx.session)
    reopened = ""
    if info.status is not RoundStatus.OPEN:
        was_published = info.status is RoundStatus.PUBLISHED
        info = await reopen_round(ctx.session, info.id, caller.actor, ctx.now, ctx.event.message_id)
        told = "，领导群会收到更正后的排名及名次变化" if was_published else ""
        reopened = f"“{info.name}”已重新开放以便更正；改完请再“关闭考核”“发布排名”{told}。"
    found = department_index(directory).match(cmd.target)
    if isinstance(found, Exact):
        department = found.name
    else:
        # A unit: unlock the department that scores this part for it.
        unit = directory.unit(exact_name(unit_index(directory), cmd.target, "单位或部门"))
        part = part_for_unit(scheme, unit, cmd.code)
        scorers = scorers_of(scheme, directory, unit, part)
        if len(scorers) != 1:
            raise DomainError(f"第{part.code}项由{'、'.join(scorers)}共同评分，请写明解锁哪个部门")
        department = scorers[0]
    try:
        status = await unlock_part(
            ctx.session, info.id, department, cmd.code, caller.actor, ctx.now, ctx.event.message_id
        )
    except Conflict:
        if not reopened:
            raise
        # Never submitted: reopening the round is what makes it editable.
        await ctx.reply(text(reopened, f"{department}第{cmd.code}项未提交过，现在即可修改。"))
        return
    await ctx.reply(text(reopened, f"已解锁{department}第{status.code}项，可以修改；改完请重新提交。"))
    for member in directory.members_of(department):
        uid = member.ids.get(ctx.event.platform.value)
        if uid is not None and uid != ctx.event.user_id:
            await ctx.send(
                Target.user(ctx.event.platform, uid),
                text(f"【通知】市委平安办已解锁第{status.code}项，可以修改；改完请重新发“提交 {status.code}”。"),
            )


async def close(ctx: Context, caller: Caller) -> None:
    info = await open_round_info(ctx.session)
    standing = await load_standing(ctx.session, info.id, scheme_of(ctx), directory_of(ctx))
    closed = await close_round(ctx.session, info.id, caller.actor, ctx.now, ctx.event.message_id)
    missing = f"，尚缺 {len(standing.missing)} 条评分（按 0 分计）" if standing.missing else "，评分已齐全"
    await ctx.reply(text(f"已关闭“{closed.name}”{missing}。", "确认后发“发布排名”。"))


async def publish(ctx: Context, caller: Caller) -> None:
    info = await latest_round(ctx.session)
    published = await publish_round(ctx.session, info.id, caller.actor, ctx.now, ctx.event.message_id)
    standing = await load_standing(ctx.session, info.id, scheme_of(ctx), directory_of(ctx))
    top = [f"{r.rank}. {r.unit} {fmt(r.total)}" + ("（否决）" if r.vetoed else "") for r in standing.results[:5]]
    # The same words as the leaders' group push: published, and what is missing counts as 0.
    missing = f"（{published_incomplete(len(standing.missing)).removesuffix('。')}）" if standing.missing else ""
    stamp = published.published_at.isoformat() if published.published_at else ""
    told = 0
    for dept in directory_of(ctx).departments:
        for member in dept.members:
            uid = member.ids.get(ctx.event.platform.value)
            if uid is None or member.role is not Role.LEADER:
                continue
            await ctx.send(
                Target.user(ctx.event.platform, uid),
                text(f"“{published.name}”排名已发布{missing}：", *top, "发“排名”查看全部，“明细 单位”查看得分明细。"),
                dedupe_key=f"published:{info.id}:{stamp}:{ctx.event.platform.value}:{uid}",
            )
            told += 1
    await ctx.reply(text(f"已发布“{published.name}”排名，已通知 {told} 位领导。"))


async def export(ctx: Context, caller: Caller) -> None:
    info = await latest_round(ctx.session)
    scheme, directory = scheme_of(ctx), directory_of(ctx)
    standing = await load_standing(ctx.session, info.id, scheme, directory)
    scores = await current_scores(ctx.session, info.id)
    adjustments = await active_adjustments(ctx.session, info.id)
    # openpyxl takes a second or two for a round: off the event loop, so other people's messages keep flowing.
    data = await asyncio.to_thread(ranking_workbook, standing, scores, adjustments, f"{info.name}排名")
    await ctx.reply(File(filename=f"排名-{info.id}.xlsx", data=data))


async def chase(ctx: Context, caller: Caller) -> None:
    """催办: the schedules' reminder card now to the departments behind (``schedules.jobs.urge``)."""
    info = await open_round_info(ctx.session)
    report = await schedule_jobs.urge(ctx.session, schedules_of(ctx), ctx.now, info.id)
    summary = urge_summary(report.departments, report.persons, report.skipped_departments, report.skipped_persons)
    rows = [f"{dept} 缺 {left} 条" for dept, left in report.left]
    page = page_of(rows, 1, "催办")
    more = f"……共 {len(rows)} 个部门" if page.footer else ""
    await ctx.reply(text(*summary, *page.lines, more))


async def snooze(ctx: Context, caller: Caller) -> None:
    """稍后提醒 (the reminder card's button): the reminder sweep skips this person until then."""
    me = Target.user(ctx.event.platform, ctx.event.user_id)
    until = await schedule_jobs.snooze(ctx.session, me, ctx.now, schedules_of(ctx).config)
    await ctx.reply(text(f"好的，{local(until)} 前不再提醒您。"))


#: How far ahead 提醒计划 looks.
PLAN_DAYS = 7


async def reminder_plan(ctx: Context, caller: Caller, cmd: ReminderPlan) -> None:
    """提醒计划: the open round's sends of the next days, one line per slot, paged."""
    info = await open_round_info(ctx.session)
    schedules = schedules_of(ctx)
    found = await schedule_jobs.upcoming_sends(ctx.session, schedules, ctx.now, timedelta(days=PLAN_DAYS), info.id)
    rows = upcoming_summary(found) or ["接下来没有计划发送的提醒或日报。"]
    page = page_of(rows, cmd.page, "提醒计划")
    paused = await schedule_jobs.is_paused(ctx.session, info.id)
    notes = ["提醒已暂停（日报照发），发“恢复提醒”恢复。"] if paused else []
    warning = await schedule_jobs.calendar_warning(ctx.session, schedules, ctx.now, info.id)
    if warning and page.lines[:1] == tuple(rows[:1]):
        notes.append(warning)  # on the first page
    await ctx.reply(
        Card(
            title=f"提醒计划：未来 {PLAN_DAYS} 天",
            description=info.name,
            lines=(*notes, *page.lines, page.footer) if page.footer else (*notes, *page.lines),
            buttons=(page.next_button,) if page.next_button else (),
        )
    )


async def pause_reminders(ctx: Context, caller: Caller) -> None:
    info = await open_round_info(ctx.session)
    changed = await schedule_jobs.pause(ctx.session, schedules_of(ctx), info.id, caller.actor.id, ctx.now)
    said = "已暂停" if changed else "本已暂停"
    await ctx.reply(
        text(f"“{info.name}”的提醒{said}（催办也暂停；评分开始通知和进度日报照发）。", "发“恢复提醒”恢复。")
    )


async def resume_reminders(ctx: Context, caller: Caller) -> None:
    info = await open_round_info(ctx.session)
    changed = await schedule_jobs.resume(ctx.session, schedules_of(ctx), info.id, ctx.now)
    if changed:
        await ctx.reply(text(f"已恢复“{info.name}”的提醒；暂停期间错过的提醒不补发。"))
    else:
        await ctx.reply(text(f"“{info.name}”的提醒并未暂停。"))


async def set_clock(ctx: Context, caller: Caller, cmd: SetClock) -> None:
    """调时 (dev only, SCOREBOT_DEV_CLOCK): move the bot's clock to try reminders and digests."""
    control = ctx.services.clock_control
    if control is None:
        raise DomainError("调时仅供开发试用，本服务未开启（设置 SCOREBOT_DEV_CLOCK=true 后重启可用）。")
    if cmd.reset:
        now = control.reset()
    elif cmd.by is not None:
        now = control.advance(cmd.by)
    elif cmd.to is not None:
        now = control.move_to(_when(ctx.now, cmd.to))
    else:
        now = ctx.now
    shift = control.offset.total_seconds()
    real = "真实时间" if abs(shift) < 60 else f"比真实时间{'快' if shift > 0 else '慢'}{_span(abs(shift))}"
    at = now.astimezone(LOCAL)
    shown = f"{at.year}年{fmt_day(at)}{at:%H:%M}（{real}）"
    if cmd == SetClock():
        await ctx.reply(text(f"现在是 {shown}。", "调时 +1天 / 调时 2026-10-08 09:30 / 调时 复原"))
    else:
        # The moved clock lives in this process: say how to keep it across a restart.
        keep = f"重启后接着走：SCOREBOT_CLOCK_OFFSET={int(shift)}" if abs(shift) >= 60 else ""
        await ctx.reply(text(f"时钟已调到 {shown}。", "到点的提醒、日报随即发出。", keep))


def _span(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    found = [f"{n}{unit}" for n, unit in ((days, "天"), (hours, "小时"), (rest // 60, "分钟")) if n]
    return "".join(found)
