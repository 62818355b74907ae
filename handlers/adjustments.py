"""加分 / 扣分 / 否决: checked against who may record which code, stored, answered with raw and counted."""

from __future__ import annotations

from handlers.base import Context
from handlers.commands import Adjust
from handlers.common import Caller, Refused, directory_of, exact_name, open_round_info, scheme_of, text
from scoring_core.caps import count_adjustments
from scoring_core.names import department_index, unit_index
from scoring_core.points import fmt
from scoring_core.rules import check_adjustment
from scoring_core.scheme import AdjustmentKind
from storage.scoring import add_adjustment, adjustment_records

_KIND_OF_VERB = {"加分": AdjustmentKind.BONUS, "扣分": AdjustmentKind.DEDUCTION, "否决": AdjustmentKind.VETO}


async def adjust(ctx: Context, caller: Caller, cmd: Adjust) -> None:
    scheme, directory = scheme_of(ctx), directory_of(ctx)
    info = await open_round_info(ctx.session)
    unit = exact_name(unit_index(directory), cmd.unit, "被考核单位")
    # The caller's department is the recorder (an admin may name another with
    # @部门): check_adjustment refuses a code the recorder is not named for,
    # saying who records it.
    recorder = caller.department
    if cmd.recorder is not None:
        if not caller.is_admin:
            raise Refused("只有市委平安办管理员可以代其他部门录入（@部门）")
        recorder = exact_name(department_index(directory), cmd.recorder, "部门")
    entry = check_adjustment(scheme, directory, unit, cmd.code, recorder, cmd.value, cmd.reason, cmd.case)
    rule = scheme.adjustments[entry.code]
    if rule.kind is not _KIND_OF_VERB[cmd.verb.value]:
        raise ValueError(f"parser let {cmd.verb} through with {entry.code}")  # pragma: no cover - parse checks it
    record = await add_adjustment(ctx.session, info.id, entry, caller.actor, ctx.event.message_id, ctx.now)
    active = [r.entry for r in await adjustment_records(ctx.session, info.id, unit)]
    lines = count_adjustments(scheme, active)
    mine = lines[[r.id for r in await adjustment_records(ctx.session, info.id, unit)].index(record.id)]
    if rule.kind is AdjustmentKind.VETO:
        await ctx.reply(text(f"已记录：{unit} {entry.code} 否决（{rule.title}）", f"理由：{entry.reason}"))
        return
    sign = "加" if rule.kind is AdjustmentKind.BONUS else "扣"
    case = f"（{entry.case}）" if entry.case else ""
    raw = fmt(entry.value) if entry.value is not None else "0"
    bonus = sum((x.counted for x in lines if x.kind is AdjustmentKind.BONUS), start=type(mine.counted)(0))
    deduction = sum((x.counted for x in lines if x.kind is AdjustmentKind.DEDUCTION), start=type(mine.counted)(0))
    await ctx.reply(
        text(
            f"已记录：{unit} {entry.code}{case} {sign} {raw} 分，计入 {fmt(mine.counted)} 分"
            + (f"（{entry.recorder}）" if entry.recorder != caller.department else ""),
            f"说明：{mine.why}" if mine.why else "",
            f"{unit}目前加分合计 {fmt(bonus)}，扣分合计 {fmt(deduction)}（已按封顶计）",
            "发“撤销”可撤回这一条",
        )
    )
