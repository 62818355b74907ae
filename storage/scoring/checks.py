"""Checks on what callers hand the repository, made before anything is written.

Handlers validate entries against the scheme with scoring_core.rules first;
these checks only keep rows the database could not hold (or would hold
wrongly) out, so a batch fails whole before its first write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.points import CENT
from storage.errors import InvalidRecord
from storage.models.scoring import ACTOR, CODE, NAME
from storage.points_type import POINTS_LIMIT
from storage.scoring.records import Actor


def utc(now: datetime) -> datetime:
    """``now`` in UTC; a naive datetime is refused (whose clock would it be?)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidRecord([f"时间缺少时区：{now.isoformat()}"])
    return now.astimezone(UTC)


def check_actor(actor: Actor) -> None:
    problems = _names([("操作人标识", actor.id, ACTOR), ("操作人姓名", actor.name, NAME)])
    problems += _names([("操作人部门", actor.department, NAME)], required=False)
    if problems:
        raise InvalidRecord(problems)


def check_scores(entries: Sequence[ScoreEntry]) -> None:
    """Every problem of the batch at once; a repeated (unit, code, scorer) is one."""
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for n, entry in enumerate(entries, start=1):
        where = f"第{n}条（{entry.unit[:NAME]} {entry.code[:CODE]}）"
        found = _names([("单位", entry.unit, NAME), ("编号", entry.code, CODE), ("评分部门", entry.scorer, NAME)])
        found += _points(entry.value, allow_none=False)
        key = (entry.unit, entry.code, entry.scorer)
        if key in seen:
            found.append("同一单位、编号、评分部门重复")
        seen.add(key)
        problems.extend(f"{where}：{p}" for p in found)
    if problems:
        raise InvalidRecord(problems)


def check_adjustment(entry: AdjustmentEntry) -> None:
    problems = _names([("单位", entry.unit, NAME), ("编号", entry.code, CODE), ("录入部门", entry.recorder, NAME)])
    problems += _points(entry.value, allow_none=True)
    if not entry.reason.strip():
        problems.append("须写明理由")
    if entry.case is not None and len(entry.case) > 128:
        problems.append("案件标识过长（最多128字）")
    if problems:
        raise InvalidRecord([f"{entry.unit[:NAME]} {entry.code[:CODE]}：{p}" for p in problems])


def _names(fields: list[tuple[str, str, int]], required: bool = True) -> list[str]:
    problems = []
    for label, value, limit in fields:
        if required and not value.strip():
            problems.append(f"{label}为空")
        elif len(value) > limit:
            problems.append(f"{label}过长（最多{limit}字）")
    return problems


def _points(value: Decimal | None, *, allow_none: bool) -> list[str]:
    if value is None:
        return [] if allow_none else ["分值为空"]
    if not isinstance(value, Decimal) or not value.is_finite():
        return [f"分值不是数字：{value}"]
    if value != value.quantize(CENT):
        return [f"分值最多两位小数：{value}"]
    if value < 0 or value > POINTS_LIMIT:
        return [f"分值应在 0 到 {POINTS_LIMIT} 之间：{value}"]
    return []
