"""The scorer's way: tasks, walking a part on cards, fast paths, review, submit, undo, progress.

A handler translates the command, checks it with the core (``check_score``),
stores it through the repository and answers, all in the event's
transaction.  A refusal raises a DomainError: the dispatcher rolls the
transaction back (nothing changed) and answers with its one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from bot.events import EventKind
from bot.messages import Button, ButtonStyle, Card, Message, Option
from handlers.base import Context
from handlers.commands import (
    AllFull,
    Batch,
    BatchLine,
    FullMarks,
    Previous,
    Progress,
    Quit,
    Review,
    Score,
    Skip,
    Submit,
    Tasks,
)
from handlers.common import (
    Caller,
    directory_of,
    local,
    open_round_info,
    page_of,
    scheme_of,
    tell_department,
    text,
)
from handlers.state import Conversation, ConversationStore, Step
from handlers.views import walk_card
from scoring_core.assignments import Assignment, assignment, assignments, item_text
from scoring_core.entries import ScoreEntry
from scoring_core.errors import DomainError, InputRejected, Problem
from scoring_core.names import Candidates, Exact, NameIndex, normalise
from scoring_core.points import fmt
from scoring_core.rules import check_score
from scoring_core.standing import spread_flags
from storage.scoring import RoundInfo, ScoreChange, part_status, scores_for_part, set_scores, submit_part, undo_last

#: Most changes listed back after a batch (the rest are counted).
LISTED = 10
#: Most candidate units offered for one unclear name (a pick-one list on a phone).
MAX_CANDIDATES = 20


# --- shared ---------------------------------------------------------------------------------


def _assignment(ctx: Context, caller: Caller, code: str) -> Assignment:
    return assignment(scheme_of(ctx), directory_of(ctx), caller.department, code)


async def _scores(ctx: Context, info: RoundInfo, caller: Caller, code: str) -> dict[str, ScoreEntry]:
    return await scores_for_part(ctx.session, info.id, code, caller.department)


async def record(ctx: Context, caller: Caller, info: RoundInfo, entries: Sequence[ScoreEntry]) -> list[ScoreChange]:
    """Store checked entries; tell the department's other members when a submitted part changed."""
    changes = await set_scores(ctx.session, info.id, entries, caller.actor, ctx.event.message_id, ctx.now)
    for code in dict.fromkeys(c.code for c in changes):
        status = await part_status(ctx.session, info.id, caller.department, code, ctx.now)
        if status.submitted:
            changed = [_change_line(c) for c in changes if c.code == code]
            more = f"……共 {len(changed)} 处" if len(changed) > LISTED else ""
            await tell_department(
                ctx, caller, text(f"【提醒】{caller.member.name}修改了已提交的第{code}项：", *changed[:LISTED], more)
            )
    return changes


def _change_line(c: ScoreChange) -> str:
    old = "未评" if c.old is None else fmt(c.old)
    new = "未评" if c.new is None else fmt(c.new)
    note = f"（{c.note}）" if c.note else ""
    return f"{c.unit} {old} → {new}{note}"


def _entry_line(e: ScoreEntry) -> str:
    return f"{e.unit} {fmt(e.value)}" + (f"（{e.note}）" if e.note else "")


def _check(ctx: Context, caller: Caller, unit: str, code: str, value: Decimal, note: str) -> ScoreEntry:
    return check_score(scheme_of(ctx), directory_of(ctx), unit, code, caller.department, value, note)


# --- 任务 / 进度 -----------------------------------------------------------------------------


async def tasks(ctx: Context, caller: Caller, cmd: Tasks) -> None:
    info = await open_round_info(ctx.session)
    own = assignments(scheme_of(ctx), directory_of(ctx), caller.department)
    if not own:
        await ctx.reply(text(f"{caller.department}在“{info.name}”中没有评分项。"))
        return
    per_page = 5
    page = page_of([a.part.code for a in own], cmd.page, "任务", per_page)
    lines, buttons = [], []
    for a in own:
        if a.part.code not in page.lines:
            continue
        done = len(await _scores(ctx, info, caller, a.part.code))
        status = await part_status(ctx.session, info.id, caller.department, a.part.code, ctx.now)
        state = "已锁定" if status.locked else "已提交" if status.submitted else f"已评 {done}/{len(a.units)}"
        due = f"，截止 {local(status.deadline)}" if status.deadline else ""
        lines.append(f"第{a.part.code}项 {a.part.title}（满分{fmt(a.part.entry_max)}）：{state}{due}")
        buttons.append(Button(text=f"评分 {a.part.code}", key=f"评分 {a.part.code}"))
    if page.next_button:
        buttons.append(page.next_button)
    await ctx.reply(
        Card(
            title=f"{caller.department}的评分任务",
            description=info.name,
            lines=(*lines, page.footer) if page.footer else tuple(lines),
            buttons=tuple(buttons),
        )
    )


async def department_progress(ctx: Context, caller: Caller, cmd: Progress) -> None:
    info = await open_round_info(ctx.session)
    own = assignments(scheme_of(ctx), directory_of(ctx), caller.department)
    lines = []
    total_done = total = 0
    for a in own:
        done = len(await _scores(ctx, info, caller, a.part.code))
        status = await part_status(ctx.session, info.id, caller.department, a.part.code, ctx.now)
        total_done, total = total_done + done, total + len(a.units)
        mark = "（已提交）" if status.submitted else ""
        lines.append(f"第{a.part.code}项 {done}/{len(a.units)}{mark}")
    page = page_of(lines, cmd.page, "进度")
    await ctx.reply(
        Card(
            title=f"{caller.department}评分进度",
            description=f"共 {total_done}/{total}",
            lines=(*page.lines, page.footer) if page.footer else page.lines,
            buttons=(page.next_button,) if page.next_button else (),
        )
    )


# --- the walk --------------------------------------------------------------------------------


async def start_walk(ctx: Context, caller: Caller, code: str, store: ConversationStore) -> None:
    info = await open_round_info(ctx.session)
    a = _assignment(ctx, caller, code)
    status = await part_status(ctx.session, info.id, caller.department, a.part.code, ctx.now)
    if status.locked:
        raise DomainError(f"第{a.part.code}项已提交且已过截止时间，已锁定；如需修改请联系市委平安办解锁")
    scored = await _scores(ctx, info, caller, a.part.code)
    position = next((i for i, u in enumerate(a.units) if u not in scored), 0)
    state = Conversation(Step.WALKING, a.part.code, position)
    await store.save(ctx.event.user, state, ctx.now)
    await _show(ctx, caller, info, a, state, scored, "")


async def _show(
    ctx: Context,
    caller: Caller,
    info: RoundInfo,
    a: Assignment,
    state: Conversation,
    scored: dict[str, ScoreEntry],
    said: str,
) -> None:
    unit = directory_of(ctx).unit(a.units[state.position])
    wording = item_text(scheme_of(ctx), unit, a.part)
    card = walk_card(a, state.position, wording, scored.get(unit.name), len(scored), said)
    await ctx.reply(card, in_place=ctx.event.kind is EventKind.CARD_ACTION)


async def on_walk(
    ctx: Context,
    caller: Caller,
    cmd: Score | FullMarks | Skip | Previous | Quit,
    state: Conversation | None,
    store: ConversationStore,
) -> None:
    if state is None or state.step not in (Step.WALKING, Step.REASON):
        raise DomainError("现在没有在逐个评分：发“任务”选一项，或发“评分 12”开始")
    info = await open_round_info(ctx.session)
    a = _assignment(ctx, caller, state.code)
    position = min(state.position, len(a.units) - 1)
    unit = a.units[position]
    if not isinstance(cmd, Quit) and cmd.at is not None and normalise(cmd.at) != normalise(unit):
        # A button of an older card (DingTalk and the sandbox keep every card live).
        said = f"点的是“{cmd.at[:20]}”的旧卡片，未记录；现在评到{unit}，请在这张卡片上操作"
        await _move(ctx, caller, info, a, state, position, store, said)
        return
    if isinstance(cmd, Quit):
        await store.clear(ctx.event.user)
        scored = await _scores(ctx, info, caller, a.part.code)
        await ctx.reply(
            text(
                f"已退出第{a.part.code}项评分，已评 {len(scored)}/{len(a.units)}。",
                f"继续请发“评分 {a.part.code}”，核对请发“核对 {a.part.code}”。",
            )
        )
        return
    if isinstance(cmd, Previous):
        await _move(ctx, caller, info, a, state, max(position - 1, 0), store, "" if position else "已是第一个单位")
        return
    if isinstance(cmd, Skip):
        await _advance(ctx, caller, info, a, state, position, store, f"已跳过：{unit}")
        return
    value = a.part.entry_max if isinstance(cmd, FullMarks) else cmd.value
    reason = "" if isinstance(cmd, FullMarks) else cmd.reason
    await score_unit(ctx, caller, info, a, state, position, value, reason, store)


async def score_unit(
    ctx: Context,
    caller: Caller,
    info: RoundInfo,
    a: Assignment,
    state: Conversation,
    position: int,
    value: Decimal,
    reason: str,
    store: ConversationStore,
) -> None:
    """Record ``value`` for the walk's current unit, or ask for the missing reason first."""
    unit = a.units[position]
    if scheme_of(ctx).reason_below_max and value < a.part.entry_max and not reason.strip():
        # Checked whole except the reason, so the question is the only thing left to fix.
        _check(ctx, caller, unit, a.part.code, value, "理由")
        asking = replace(state, step=Step.REASON, position=position, pending_unit=unit, pending_value=value)
        await store.save(ctx.event.user, asking, ctx.now)
        await ctx.reply(
            text(
                f"{unit} 第{a.part.code}项 {fmt(value)} 分（满分{fmt(a.part.entry_max)}），请写扣分理由：",
                "（直接发理由即可；发“退出”放弃，尚未保存）",
            )
        )
        return
    entry = _check(ctx, caller, unit, a.part.code, value, reason)
    await record(ctx, caller, info, [entry])
    await _advance(ctx, caller, info, a, state, position, store, f"已记：{_entry_line(entry)}")


async def give_reason(ctx: Context, caller: Caller, reason: str, state: Conversation, store: ConversationStore) -> None:
    """The text after "请写扣分理由" is the reason for the pending score."""
    info = await open_round_info(ctx.session)
    a = _assignment(ctx, caller, state.code)
    if state.pending_unit not in a.units or state.pending_value is None:  # stale state: start the card over
        await _move(ctx, caller, info, a, state, 0, store, "")
        return
    position = a.units.index(state.pending_unit)
    if len(reason) > 200:
        raise DomainError("理由最多 200 字，请精简后再发")
    await score_unit(ctx, caller, info, a, state.at(position), position, state.pending_value, reason, store)


async def _advance(
    ctx: Context,
    caller: Caller,
    info: RoundInfo,
    a: Assignment,
    state: Conversation,
    position: int,
    store: ConversationStore,
    said: str,
) -> None:
    """The next unit in order; after the last, the first still unscored; none left: done."""
    scored = await _scores(ctx, info, caller, a.part.code)
    nxt = position + 1
    if nxt >= len(a.units):
        left = [i for i, u in enumerate(a.units) if u not in scored]
        if not left:
            await store.clear(ctx.event.user)
            await ctx.reply(
                text(
                    said,
                    f"第{a.part.code}项已全部评完（{len(scored)}/{len(a.units)}）。",
                    f"请发“核对 {a.part.code}”查看，确认无误后发“提交 {a.part.code}”。",
                ),
                in_place=ctx.event.kind is EventKind.CARD_ACTION,
            )
            return
        nxt = left[0]
        said = f"{said}；已到最后一个，回到未评的单位" if said else "已到最后一个，回到未评的单位"
    await _move(ctx, caller, info, a, state, nxt, store, said, scored)


async def _move(
    ctx: Context,
    caller: Caller,
    info: RoundInfo,
    a: Assignment,
    state: Conversation,
    position: int,
    store: ConversationStore,
    said: str,
    scored: dict[str, ScoreEntry] | None = None,
) -> None:
    moved = state.at(position)
    await store.save(ctx.event.user, moved, ctx.now)
    if scored is None:
        scored = await _scores(ctx, info, caller, a.part.code)
    await _show(ctx, caller, info, a, moved, scored, said)


# --- fast paths ------------------------------------------------------------------------------


async def all_full(ctx: Context, caller: Caller, cmd: AllFull, store: ConversationStore) -> None:
    info = await open_round_info(ctx.session)
    a = _assignment(ctx, caller, cmd.code)
    await _fill_and_report(ctx, caller, info, a, [], rest_full=True, store=store)


async def batch(
    ctx: Context,
    caller: Caller,
    cmd: Batch,
    state: Conversation | None,
    store: ConversationStore,
    resolved: Mapping[int, str] | None = None,
) -> None:
    """Many units in one message: every line checked, then all stored, or none.

    When the only problems are names that fit several units, the scorer is
    asked which one, one name at a time (``resolved``: the answers so far, by
    line); the message is stored once every name is clear.
    """
    resolved = resolved or {}
    info = await open_round_info(ctx.session)
    code = cmd.code or (state.code if state else None)
    if code is None:
        own = assignments(scheme_of(ctx), directory_of(ctx), caller.department)
        if len(own) != 1:
            mine = "、".join(x.part.code for x in own) or "无"
            raise DomainError(f"请在第一行写明编号（如“评分 12”），再逐行写“单位 分数 理由”；您部门的评分项：{mine}")
        code = own[0].part.code
    a = _assignment(ctx, caller, code)
    index = _unit_index(ctx, a)
    problems: list[Problem] = []
    entries: list[ScoreEntry] = []
    seen: dict[str, int] = {}
    unclear: list[tuple[BatchLine, Candidates]] = []
    for line in cmd.lines:
        where = f"第{line.line}行"
        found = Exact(resolved[line.line]) if line.line in resolved else index.match(line.unit)
        if isinstance(found, Candidates):
            unclear.append((line, found))
            problems.append(Problem(where, f"“{found.typed}”可能是：{'、'.join(found.names[:6])}，请写全称"))
            continue
        if not isinstance(found, Exact):
            known = directory_of(ctx).find_unit(line.unit)
            why = f"不在您第{code}项的评分单位中" if known else "不是被考核单位"
            problems.append(Problem(where, f"“{line.unit[:20]}”{why}"))
            continue
        if found.name in seen:
            problems.append(Problem(where, f"{found.name}与第{seen[found.name]}行重复"))
            continue
        seen[found.name] = line.line
        try:
            entries.append(_check(ctx, caller, found.name, code, line.value, line.reason))
        except DomainError as exc:
            problems.append(Problem(where, f"{found.name}：{exc.user_message}"))
    if unclear and len(unclear) == len(problems):
        await _ask_which(ctx, cmd, code, unclear, resolved, store)
        return
    if problems:
        raise InputRejected(f"有 {len(problems)} 行需要改正，这条消息的分数都未保存：", problems)
    await _fill_and_report(ctx, caller, info, a, entries, rest_full=cmd.rest_full, store=store, state=state)


def _unit_index(ctx: Context, a: Assignment) -> NameIndex:
    """The names of the part's units, as a batch line or an answer to "which unit?" may write them."""
    mine = set(a.units)
    return NameIndex.build((u.name, u.names) for u in directory_of(ctx).units if u.name in mine)


async def _ask_which(
    ctx: Context,
    cmd: Batch,
    code: str,
    unclear: list[tuple[BatchLine, Candidates]],
    resolved: Mapping[int, str],
    store: ConversationStore,
) -> None:
    """Which unit a name meant: a pick-one card; the batch waits in the conversation."""
    line, found = unclear[0]
    waiting = Conversation(
        Step.RESOLVING,
        code,
        pending_lines=tuple((x.line, x.unit, x.value, x.reason) for x in cmd.lines),
        pending_rest_full=cmd.rest_full,
        resolved=tuple(sorted(resolved.items())),
    )
    await store.save(ctx.event.user, waiting, ctx.now)
    said = " ".join(part for part in (line.unit, fmt(line.value), line.reason) if part)
    more = f"（还有 {len(unclear) - 1} 处要确认）" if len(unclear) > 1 else ""
    await ctx.reply(
        Card(
            title=f"“{found.typed}”是哪个单位？",
            description=f"第{line.line}行：{said}"[:60],
            lines=(f"选定后这条消息的分数一起保存{more}；发“取消”放弃（尚未保存）",),
            options=tuple(Option(id=name, text=name) for name in found.names[:MAX_CANDIDATES]),
            buttons=(Button(text="取消", key="取消"),),
        )
    )


async def resolve(ctx: Context, caller: Caller, said: str, state: Conversation, store: ConversationStore) -> None:
    """The answer to "which unit?": the chosen name, then the batch again with it."""
    a = _assignment(ctx, caller, state.code)
    index = _unit_index(ctx, a)
    resolved = dict(state.resolved)
    unclear = [
        (n, found)
        for n, unit, _, _ in state.pending_lines
        if n not in resolved and isinstance(found := index.match(unit), Candidates)
    ]
    if not unclear:  # stale state (the directory changed): nothing to ask any more
        await store.save(ctx.event.user, Conversation(Step.CHOSEN, state.code), ctx.now)
        await ctx.reply(text("没有待确认的单位了，请重新发送要评的分数。"))
        return
    line, candidates = unclear[0]
    pick = index.match(said)
    if not isinstance(pick, Exact) or pick.name not in candidates.names:
        raise DomainError(f"请从这几个单位中选一个：{'、'.join(candidates.names[:MAX_CANDIDATES])}；发“取消”放弃")
    resolved[line] = pick.name
    lines = tuple(BatchLine(n, unit, value, reason) for n, unit, value, reason in state.pending_lines)
    await batch(ctx, caller, Batch(lines, state.code, state.pending_rest_full), None, store, resolved)


async def _fill_and_report(
    ctx: Context,
    caller: Caller,
    info: RoundInfo,
    a: Assignment,
    entries: list[ScoreEntry],
    *,
    rest_full: bool,
    store: ConversationStore,
    state: Conversation | None = None,
) -> None:
    scored = await _scores(ctx, info, caller, a.part.code)
    listed = {e.unit for e in entries}
    filled: list[ScoreEntry] = []
    if rest_full:
        full = a.part.entry_max
        filled = [_check(ctx, caller, u, a.part.code, full, "") for u in a.units if u not in scored and u not in listed]
    changes = await record(ctx, caller, info, [*entries, *filled])
    if state is None or state.code != a.part.code:
        # Later lines without a header mean this part.
        await store.save(ctx.event.user, Conversation(Step.CHOSEN, a.part.code), ctx.now)
    after = await _scores(ctx, info, caller, a.part.code)
    lines = [f"第{a.part.code}项已保存 {len(changes)} 处，已评 {len(after)}/{len(a.units)}："]
    if filled:
        lines.append(f"{len(filled)} 个未评单位给满分 {fmt(a.part.entry_max)}")
    shown = [_entry_line(e) for e in entries]
    lines += shown[:LISTED]
    if len(shown) > LISTED:
        lines.append(f"……等 {len(shown)} 个单位")
    unchanged = len(entries) + len(filled) - len(changes)
    if unchanged:
        lines.append(f"（{unchanged} 处与原分数相同，未改）")
    if rest_full:
        lines.append("例外请发“单位 分数 理由”，可多行，如“教育局 3.5 演练未按期”")
    else:
        lines.append(f"核对请发“核对 {a.part.code}”")
    await ctx.reply(text(*lines))


# --- 核对 / 提交 / 撤销 -----------------------------------------------------------------------


async def review(ctx: Context, caller: Caller, cmd: Review) -> None:
    info = await open_round_info(ctx.session)
    a = _assignment(ctx, caller, cmd.code)
    scored = await _scores(ctx, info, caller, a.part.code)
    status = await part_status(ctx.session, info.id, caller.department, a.part.code, ctx.now)
    rows = [
        f"{i}. {u} " + (_entry_line(scored[u]).removeprefix(u + " ") if u in scored else "未评")
        for i, u in enumerate(a.units, start=1)
    ]
    page = page_of(rows, cmd.page, f"核对 {a.part.code}")
    state = "已锁定" if status.locked else "已提交" if status.submitted else "未提交"
    due = f"，截止 {local(status.deadline)}" if status.deadline else ""
    head = [f"已评 {len(scored)}/{len(a.units)}，{state}{due}"]
    if spread_flags(directory_of(ctx), scored.values()):
        value = fmt(next(iter(scored.values())).value)
        head.append(f"⚠ 所有单位都是 {value} 分：评分结果未拉开差距可能被扣分（减分第3项）")
    buttons = [page.next_button] if page.next_button else []
    if not status.submitted and len(scored) == len(a.units):
        buttons.append(Button(text=f"提交 {a.part.code}", key=f"提交 {a.part.code}", style=ButtonStyle.PRIMARY))
    await ctx.reply(
        Card(
            title=f"核对 第{a.part.code}项 {a.part.title}（满分{fmt(a.part.entry_max)}）",
            description="\n".join(head),
            lines=(*page.lines, page.footer) if page.footer else page.lines,
            buttons=tuple(buttons),
        )
    )


async def submit(ctx: Context, caller: Caller, cmd: Submit) -> None:
    info = await open_round_info(ctx.session)
    a = _assignment(ctx, caller, cmd.code)
    scored = await _scores(ctx, info, caller, a.part.code)
    missing = [u for u in a.units if u not in scored]
    if missing:
        shown = "、".join(missing[:5]) + (f"等 {len(missing)} 个" if len(missing) > 5 else "")
        raise DomainError(f"第{a.part.code}项还有未评的单位：{shown}；评完再提交（发“评分 {a.part.code}”）")
    status = await submit_part(ctx.session, info.id, caller.department, a.part.code, caller.actor, ctx.now)
    due = (
        f"截止 {local(status.deadline)} 前仍可修改，之后锁定。" if status.deadline else "仍可修改，直到管理员关闭考核。"
    )
    await ctx.reply(text(f"已提交第{a.part.code}项（{len(scored)} 个单位）。{due}"))
    await tell_department(
        ctx, caller, text(f"【提醒】{caller.member.name}已提交第{a.part.code}项（{len(scored)} 个单位）。")
    )


async def undo(ctx: Context, caller: Caller) -> None:
    info = await open_round_info(ctx.session)
    done = await undo_last(ctx.session, info.id, caller.actor, ctx.now, ctx.event.message_id)
    target = done.undone
    what = (
        f"{target.unit} 第{target.code}项"
        if target.code and not target.code[:1].isalpha()
        else f"{target.unit} {target.code}"
    )
    back = "未评" if done.revert.new_value is None else fmt(done.revert.new_value)
    was = "空" if target.new_value is None else fmt(target.new_value)
    message: Message = text(f"已撤销：{what} {was} → {back}")
    await ctx.reply(message)
    if target.code and target.department == caller.department:
        status = await part_status(ctx.session, info.id, caller.department, target.code, ctx.now)
        if status.submitted:
            await tell_department(
                ctx,
                caller,
                text(f"【提醒】{caller.member.name}撤销了已提交的第{target.code}项的修改：{what} {was} → {back}"),
            )
