"""Plain renderings of a Standing: JSON-ready dicts and an aligned text table.

Decimals become strings in JSON so no reader turns them into floats.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from scoring_core.points import fmt
from scoring_core.results import Standing, UnitResult


def standing_to_dict(standing: Standing) -> dict[str, Any]:
    return {
        "complete": standing.complete,
        "missing": [{"unit": m.unit, "code": m.code, "scorer": m.scorer} for m in standing.missing],
        "units": [unit_to_dict(r) for r in standing.results],
        "spread_flags": [
            {"scorer": f.scorer, "code": f.code, "units": f.units, "value": fmt(f.value), "scorer_unit": f.scorer_unit}
            for f in standing.spread_flags
        ],
    }


def unit_to_dict(r: UnitResult) -> dict[str, Any]:
    return {
        "rank": r.rank,
        "unit": r.unit,
        "total": fmt(r.total),
        "vetoed": r.vetoed,
        "veto_reasons": list(r.veto_reasons),
        "parts_total": fmt(r.parts_total),
        "bonus": fmt(r.bonus),
        "deduction": fmt(r.deduction),
        "parts": {p.code: fmt(p.score) for p in r.parts},
        "breakdown": [
            {
                "code": p.code,
                "title": p.title,
                "max": fmt(p.max),
                "score": fmt(p.score),
                "combine": p.combine,
                "scores": [
                    {"scorer": s.scorer, "value": None if s.value is None else fmt(s.value), "note": s.note}
                    for s in p.scores
                ],
            }
            for p in r.parts
        ],
        "adjustments": [
            {
                "code": a.code,
                "kind": a.kind.value,
                "recorder": a.recorder,
                "raw": None if a.raw is None else fmt(a.raw),
                "counted": fmt(a.counted),
                "reason": a.reason,
                "case": a.case,
                "why": a.why,
            }
            for a in r.adjustments
        ],
        "missing": len(r.missing),
    }


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    space = " " * max(width - display_width(text), 0)
    return space + text if right else text + space


def standing_table(standing: Standing) -> str:
    """An aligned Chinese table for a terminal, CJK characters counted double-width."""
    header = ("名次", "单位", "总分", "项目得分", "加分", "扣分", "备注")
    rows = [
        (
            str(r.rank),
            r.unit,
            fmt(r.total),
            fmt(r.parts_total),
            fmt(r.bonus),
            fmt(r.deduction),
            "否决：" + "；".join(r.veto_reasons) if r.vetoed else (f"缺{len(r.missing)}项评分" if r.missing else ""),
        )
        for r in standing.results
    ]
    widths = [max(display_width(row[i]) for row in (header, *rows)) for i in range(len(header))]
    numeric = {0, 2, 3, 4, 5}
    lines = [
        "  ".join(pad(cell, widths[i], i in numeric) for i, cell in enumerate(row)).rstrip() for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths[:-1]) + "  " + "-" * max(widths[-1], 4))
    state = (
        "评分已齐全（正式排名）" if standing.complete else f"暂定排名：尚缺 {len(standing.missing)} 条评分，按 0 分计"
    )
    return "\n".join([state, *lines])
