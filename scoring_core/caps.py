"""Applying adjustment caps: each entry's raw value becomes what it counts.

Entries are counted in the order given (the order they were recorded), so
the breakdown can say which entry hit the cap.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from scoring_core.entries import AdjustmentEntry
from scoring_core.names import normalise
from scoring_core.points import fmt
from scoring_core.results import AdjustmentLine
from scoring_core.scheme import AdjustmentKind, Scheme

ZERO = Decimal(0)

#: Dashes people type between person and case: 王某-案1, 王某—案1, 王某－案1 (NFKC makes － a -).
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63_]")


def count_adjustments(scheme: Scheme, entries: Sequence[AdjustmentEntry]) -> tuple[AdjustmentLine, ...]:
    """One unit's adjustment entries → lines with raw and counted values."""
    counted: dict[int, tuple[Decimal, str]] = {}
    case_winner = _case_winners(scheme, entries)
    used_by_group: dict[str, Decimal] = defaultdict(lambda: ZERO)
    used_by_recorder: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for i, entry in enumerate(entries):
        rule = scheme.adjustments[entry.code]
        raw = entry.value or ZERO
        if rule.kind is AdjustmentKind.VETO:
            counted[i] = (ZERO, "")
            continue
        if rule.case_cap_per_recorder is not None:
            if case_winner[_case_key(entry)] != i:
                counted[i] = (ZERO, "同一人同一案件只计较大的一次扣分")
                continue
            key = (entry.code, entry.recorder)
            room = rule.case_cap_per_recorder - used_by_recorder[key]
            value = min(raw, max(room, ZERO))
            used_by_recorder[key] += value
            why = f"{entry.recorder}该项最多扣{fmt(rule.case_cap_per_recorder)}分" if value < raw else ""
            counted[i] = (value, why)
            continue
        group = scheme.cap_groups.get(rule.group) if rule.group else None
        if group is None or group.cap is None:
            counted[i] = (raw, "")
            continue
        room = group.cap - used_by_group[group.key]
        value = min(raw, max(room, ZERO))
        used_by_group[group.key] += value
        why = f"{'、'.join(group.codes)}合计最多{fmt(group.cap)}分" if value < raw else ""
        counted[i] = (value, why)
    return tuple(
        AdjustmentLine(
            code=e.code,
            title=scheme.adjustments[e.code].title,
            kind=scheme.adjustments[e.code].kind,
            recorder=e.recorder,
            raw=e.value,
            counted=counted[i][0],
            reason=e.reason,
            case=e.case,
            why=counted[i][1],
        )
        for i, e in enumerate(entries)
    )


def _case_winners(scheme: Scheme, entries: Sequence[AdjustmentEntry]) -> dict[str, int]:
    """For case-keyed codes: the index of the largest entry per case (first on a tie)."""
    winners: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if scheme.adjustments[entry.code].case_cap_per_recorder is None:
            continue
        key = _case_key(entry)
        best = winners.get(key)
        if best is None or (entry.value or ZERO) > (entries[best].value or ZERO):
            winners[key] = i
    return winners


def _case_key(entry: AdjustmentEntry) -> str:
    """The case as people mean it: spaces, width and dash style do not make another case."""
    return f"{entry.code}:{_DASHES.sub('-', normalise(entry.case or ''))}"
