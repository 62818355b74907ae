"""The one handler the app runs: who is asking, what they said, which feature answers.

Refusals are DomainErrors raised by the feature routers: the dispatcher rolls
the event's transaction back (so a refused action changes nothing, state
included) and answers with the error's one line.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import EventKind
from handlers import adjustments, admin, delivery, leaders, scoring
from handlers.base import Context, Handler
from handlers.commands import (
    Adjust,
    AllFull,
    Batch,
    Chase,
    CloseRound,
    Command,
    Detail,
    Export,
    FailedSends,
    FullMarks,
    Help,
    OpenRound,
    PauseReminders,
    Previous,
    Progress,
    Publish,
    Quit,
    Ranking,
    ReminderPlan,
    Resend,
    ResumeReminders,
    Review,
    Score,
    SetClock,
    Skip,
    Snooze,
    Submit,
    Tasks,
    Undo,
    Unlock,
    Walk,
)
from handlers.common import NOT_IN_DIRECTORY, Caller, identify, require, scheme_of, text
from handlers.parse import BadCommand, parse_command
from handlers.state import Conversation, ConversationStore, SqlConversations, Step
from handlers.views import help_text
from scoring_core.directory import Role

SCORERS = (Role.SCORER, Role.HEAD, Role.ADMIN)
READERS = (Role.LEADER, Role.ADMIN)
ADMINS = (Role.ADMIN,)


def make_router(stores: Callable[[AsyncSession], ConversationStore] = SqlConversations) -> Handler:
    """The app's handler; ``stores`` builds the conversation store on the event's session."""

    async def route(ctx: Context) -> None:
        caller = identify(ctx)
        if caller is None:
            await ctx.reply(text(NOT_IN_DIRECTORY))
            return
        event = ctx.event
        if event.kind is EventKind.FILE:
            await ctx.reply(text("暂不支持文件，请直接发文字或点按钮；发“帮助”查看用法。"))
            return
        said = event.action_key if event.kind is EventKind.CARD_ACTION else event.text
        store = stores(ctx.session)
        state = await store.load(event.user, ctx.now)
        case_codes = frozenset(r.code for r in scheme_of(ctx).adjustments.values() if r.needs_case)
        try:
            command = parse_command(said, case_codes=case_codes)
        except BadCommand:
            if state is not None and state.step is Step.REASON and said.strip():
                await scoring.give_reason(ctx, caller, said.strip(), state, store)
                return
            if state is not None and state.step is Step.RESOLVING:
                await scoring.resolve(ctx, caller, said.strip(), state, store)  # a unit's name
                return
            raise
        if state is not None and state.step is Step.RESOLVING:
            # Anything else drops the waiting message: said, so no score is thought stored.
            state = Conversation(Step.CHOSEN, state.code)
            await store.save(event.user, state, ctx.now)
            if isinstance(command, Quit):
                await ctx.reply(text("已取消，上一条消息的分数都未保存。"))
                return
            await ctx.reply(text("上一条消息还有单位待确认，已放弃，其中的分数都未保存。"))
        if (
            state is not None
            and state.step is Step.REASON
            and not isinstance(command, Score | FullMarks | Skip | Previous | Quit)
        ):
            # Another command: the question is dropped (nothing was stored), the walk stays.
            state = state.at(state.position)
            await store.save(event.user, state, ctx.now)
        await dispatch(ctx, caller, command, state, store)

    return route


async def dispatch(
    ctx: Context, caller: Caller, command: Command, state: Conversation | None, store: ConversationStore
) -> None:
    match command:
        case Help():
            await ctx.reply(help_text(caller.role))
        case Tasks():
            require(caller, SCORERS, "评分")
            await scoring.tasks(ctx, caller, command)
        case Walk(code=code):
            require(caller, SCORERS, "评分")
            await scoring.start_walk(ctx, caller, code, store)
        case Score() | FullMarks() | Skip() | Previous() | Quit():
            if isinstance(command, Quit) and (state is None or state.step is Step.CHOSEN):
                await store.clear(ctx.event.user)
                await ctx.reply(text("好的。发“任务”查看评分项，发“帮助”查看用法。"))
                return
            require(caller, SCORERS, "评分")
            await scoring.on_walk(ctx, caller, command, state, store)
        case AllFull():
            require(caller, SCORERS, "评分")
            await scoring.all_full(ctx, caller, command, store)
        case Batch():
            require(caller, SCORERS, "评分")
            await scoring.batch(ctx, caller, command, state, store)
        case Review():
            require(caller, SCORERS, "核对评分")
            await scoring.review(ctx, caller, command)
        case Submit():
            require(caller, SCORERS, "提交评分")
            await scoring.submit(ctx, caller, command)
        case Undo():
            require(caller, SCORERS, "撤销")
            await scoring.undo(ctx, caller)
        case Progress():
            if caller.reads_everything:
                await leaders.all_progress(ctx, caller, command)
            else:
                await scoring.department_progress(ctx, caller, command)
        case Adjust():
            require(caller, SCORERS, f"录入{command.verb.value}")
            await adjustments.adjust(ctx, caller, command)
        case Ranking():
            require(caller, READERS, "查看排名")
            await leaders.ranking(ctx, caller, command)
        case Detail():
            require(caller, READERS, "查看得分明细")
            await leaders.detail(ctx, caller, command)
        case OpenRound():
            require(caller, ADMINS, "开启考核")
            await admin.open_round_cmd(ctx, caller, command)
        case Unlock():
            require(caller, ADMINS, "解锁")
            await admin.unlock(ctx, caller, command)
        case CloseRound():
            require(caller, ADMINS, "关闭考核")
            await admin.close(ctx, caller)
        case Publish():
            require(caller, ADMINS, "发布排名")
            await admin.publish(ctx, caller)
        case Export():
            require(caller, ADMINS, "导出排名")
            await admin.export(ctx, caller)
        case Chase():
            require(caller, ADMINS, "催办")
            await admin.chase(ctx, caller)
        case ReminderPlan():
            require(caller, ADMINS, "查看提醒计划")
            await admin.reminder_plan(ctx, caller, command)
        case PauseReminders():
            require(caller, ADMINS, "暂停提醒")
            await admin.pause_reminders(ctx, caller)
        case ResumeReminders():
            require(caller, ADMINS, "恢复提醒")
            await admin.resume_reminders(ctx, caller)
        case Snooze():
            await admin.snooze(ctx, caller)
        case SetClock():
            require(caller, ADMINS, "调时")
            await admin.set_clock(ctx, caller, command)
        case FailedSends():
            require(caller, ADMINS, "查看发送失败的消息")
            await delivery.failed_sends(ctx, caller, command)
        case Resend():
            require(caller, ADMINS, "重发消息")
            await delivery.resend(ctx, caller, command)


#: The app's handler, on the SQL conversation store.
router: Handler = make_router()
