"""Checking one entry against the scheme and directory: who may record what, in what range.

Every refusal is a DomainError whose message says what is wrong and what is
allowed.  Nothing here stores anything.
"""

from __future__ import annotations

from decimal import Decimal

from scoring_core.directory import Directory, Unit
from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.errors import DomainError
from scoring_core.names import Candidates, Exact, match_unit
from scoring_core.points import CENT, fmt
from scoring_core.scheme import (
    COUNTY_SCORER,
    GROUP_LEADER,
    AdjustmentKind,
    AdjustmentRule,
    Item,
    Part,
    Scheme,
)

#: A bound on one uncapped adjustment entry: beyond it, it is surely a typo.
UNCAPPED_ENTRY_LIMIT = Decimal(100)


def applicable_parts(scheme: Scheme, unit: Unit) -> tuple[Part, ...]:
    return scheme.parts_for(unit.variants)


def scorers_of(scheme: Scheme, directory: Directory, unit: Unit, part: Part) -> tuple[str, ...]:
    """The departments designated to score ``part`` for ``unit`` (35.2: the county's 平安办)."""
    resolved = []
    for scorer in part.scorers:
        if scorer == COUNTY_SCORER:
            if unit.county is None or unit.county not in directory.counties:
                raise DomainError(f"{unit.name}未登记挂点村所在县区，无法确定第{part.code}项的评分部门")
            resolved.append(directory.counties[unit.county])
        else:
            resolved.append(scorer)
    return tuple(resolved)


def _unit(directory: Directory, name: str) -> Unit:
    """A unit by full name, short name or alias; unknown names are answered with the likely ones."""
    found = directory.find_unit(name)
    if found is not None:
        return found
    typed = name.strip()[:30]
    match = match_unit(directory, name)
    if isinstance(match, Exact):
        raise DomainError(f"没有名为“{typed}”的被考核单位：是不是“{match.name}”？请写全称、简称或别名")
    if isinstance(match, Candidates):
        raise DomainError(f"没有名为“{typed}”的被考核单位：可能是 {'、'.join(match.names[:8])}，请写全称")
    raise DomainError(f"没有名为“{typed}”的被考核单位：请写名录中的全称、简称或别名")


def recorders_of(scheme: Scheme, unit: Unit, rule: AdjustmentRule) -> tuple[str, ...]:
    """Who may record ``rule`` for ``unit`` (D7: its responsibility-group leader, else the office)."""
    return tuple((unit.group_leader or scheme.office) if r == GROUP_LEADER else r for r in rule.recorders)


def part_for_unit(scheme: Scheme, unit: Unit, code: str) -> Part:
    """The part ``code``, if it applies to ``unit``; else a DomainError naming the right one."""
    part = scheme.parts_by_code.get(code)
    if part is None:
        item = _item_named(scheme, code)
        if item is not None:
            own = "、".join(p.code for p in item.variant(unit.variants.get(item.number)).parts)
            raise DomainError(f"第{item.number}项须按评分编号评分：{unit.name}适用 {own}")
        raise DomainError(f"没有评分编号“{code[:20]}”：请用考核方案中的编号，如 12、4.1、34-3.2")
    if part not in applicable_parts(scheme, unit):
        item = scheme.item_of(part)
        own = item.variant(unit.variants.get(item.number)).key
        raise DomainError(f"第{part.code}项不适用于{unit.name}：该单位适用第{own}项")
    return part


def _item_named(scheme: Scheme, code: str) -> Item | None:
    """The item ``code`` names without being a part code itself: ``4``, ``33``, ``34-3``."""
    if code in scheme.items:
        return scheme.items[code]
    return next((i for i in scheme.items.values() for v in i.variants if i.has_variants and v.key == code), None)


def check_value(part: Part, value: Decimal) -> Decimal:
    if value != value.quantize(CENT):
        raise DomainError(f"分数最多两位小数：{value}")
    if value < 0 or value > part.entry_max:
        share = f"（{len(part.scorers)} 个部门各评一份，合计 {fmt(part.max)}）" if part.entry_max != part.max else ""
        raise DomainError(f"第{part.code}项分值应在 0 到 {fmt(part.entry_max)} 之间{share}，不能是 {fmt(value)}")
    return value


def check_score(
    scheme: Scheme,
    directory: Directory,
    unit_name: str,
    code: str,
    scorer: str | None,
    value: Decimal,
    note: str = "",
) -> ScoreEntry:
    """A valid ScoreEntry, or a DomainError saying what is wrong.

    ``scorer`` may be None where the part has exactly one designated scorer.
    """
    unit = _unit(directory, unit_name)
    part = part_for_unit(scheme, unit, code)
    designated = scorers_of(scheme, directory, unit, part)
    scorer_name = _department(
        directory,
        scorer,
        designated,
        missing=f"第{part.code}项由{'、'.join(designated)}共同评分，须写明评分部门",
        wrong=f"不是{unit.name}第{part.code}项的评分部门（应由{'、'.join(designated)}评分）",
    )
    check_value(part, value)
    if scheme.reason_below_max and value < part.entry_max and not note.strip():
        raise DomainError(f"第{part.code}项未给满分（{fmt(value)}/{fmt(part.entry_max)}），须写明扣分理由")
    return ScoreEntry(unit.name, part.code, scorer_name, value, note.strip())


def check_adjustment(
    scheme: Scheme,
    directory: Directory,
    unit_name: str,
    code: str,
    recorder: str | None,
    value: Decimal | None,
    reason: str,
    case: str | None = None,
) -> AdjustmentEntry:
    """A valid AdjustmentEntry, or a DomainError.  Caps are not applied here: totals apply them."""
    unit = _unit(directory, unit_name)
    rule = scheme.adjustments.get(code.strip().upper())
    if rule is None:
        codes = "、".join(scheme.adjustments)
        raise DomainError(f"没有加减分编号“{code[:10]}”：可用 {codes}")
    allowed = recorders_of(scheme, unit, rule)
    recorder_name = _department(
        directory,
        recorder,
        allowed,
        missing=f"{rule.code}可由{'、'.join(allowed)}录入，须写明录入部门",
        wrong=f"不能录入{unit.name}的{rule.code}（{rule.title}），应由{'、'.join(allowed)}录入",
    )
    if not reason.strip():
        raise DomainError(f"{rule.code}须写明理由")
    value = _adjustment_value(scheme, rule, value)
    case_key = (case or "").strip() or None
    if rule.needs_case and case_key is None:
        raise DomainError(f"{rule.code}须写明案件（人员+案件，如“王某-案1”），同一案件只按较大扣分计")
    if not rule.needs_case and case_key is not None:
        raise DomainError(f"只有 D9 需要写案件，{rule.code}不需要")
    return AdjustmentEntry(unit.name, rule.code, recorder_name, value, reason.strip(), case_key)


def _department(directory: Directory, given: str | None, allowed: tuple[str, ...], *, missing: str, wrong: str) -> str:
    """The canonical name of the department ``given`` (an alias is fine), if it is ``allowed``.

    Empty is fine where exactly one department is allowed; ``missing`` and
    ``wrong`` (prefixed with the name given) are the refusals.
    """
    if given is None or not given.strip():
        if len(allowed) > 1:
            raise DomainError(missing)
        return allowed[0]
    found = directory.find_department(given)
    name = found.name if found else given.strip()
    if name not in allowed:
        raise DomainError(f"{name[:30]}{wrong}")
    return name


def _adjustment_value(scheme: Scheme, rule: AdjustmentRule, value: Decimal | None) -> Decimal | None:
    if rule.kind is AdjustmentKind.VETO:
        if value is not None:
            raise DomainError(f"{rule.code}是否决项，不填分值，只写理由")
        return None
    if rule.per_incident is not None:
        if value is not None and value != rule.per_incident:
            raise DomainError(
                f"{rule.code}每起固定{fmt(rule.per_incident)}分，一起一行；分值应为空或{fmt(rule.per_incident)}"
            )
        return rule.per_incident
    if value is None:
        raise DomainError(f"{rule.code}须填写分值")
    if value != value.quantize(CENT):
        raise DomainError(f"分值最多两位小数：{value}")
    limit = _entry_limit(scheme, rule)
    if value <= 0 or value > limit:
        raise DomainError(f"{rule.code}单条分值应大于 0、不超过 {fmt(limit)}，不能是 {fmt(value)}")
    return value


def _entry_limit(scheme: Scheme, rule: AdjustmentRule) -> Decimal:
    if rule.case_cap_per_recorder is not None:
        return rule.case_cap_per_recorder
    group = scheme.cap_groups.get(rule.group) if rule.group else None
    if group is not None and group.cap is not None:
        return group.cap
    return UNCAPPED_ENTRY_LIMIT
