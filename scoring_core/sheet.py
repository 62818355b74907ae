"""A score sheet's rows → validated entries, all bad lines reported at once.

The sheet has the columns ``unit,code,scorer,score,note,case`` (see
docs/score-sheet.md).  Reading the file is the caller's job (storage.sheets);
this module only judges rows, so it is the same for CSV, xlsx and tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from scoring_core.directory import Directory
from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.errors import DomainError, InputRejected, Problem
from scoring_core.points import parse_points
from scoring_core.rules import check_adjustment, check_score
from scoring_core.scheme import Scheme

COLUMNS = ("unit", "code", "scorer", "score", "note", "case")
REQUIRED = ("unit", "code", "score")


@dataclass(frozen=True, slots=True)
class SheetRow:
    line: int
    cells: Mapping[str, str]
    #: non-empty cells to the right of the last header column
    extra: tuple[str, ...] = ()

    def get(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()


@dataclass(frozen=True, slots=True)
class Sheet:
    scores: tuple[ScoreEntry, ...]
    adjustments: tuple[AdjustmentEntry, ...]


def is_adjustment_code(code: str) -> bool:
    return code[:1].upper() in ("B", "D", "V") and code[1:].isdigit()


def check_header(header: Sequence[str]) -> None:
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    unknown = [h for h in names if h and h not in COLUMNS]
    twice = sorted({h for h in names if h and names.count(h) > 1})
    if missing or unknown or twice:
        parts = []
        if missing:
            parts.append(f"缺少列 {'、'.join(missing)}")
        if unknown:
            parts.append(f"不认识的列 {'、'.join(unknown)}")
        if twice:
            parts.append(f"列 {'、'.join(twice)} 出现了两次")
        raise InputRejected(
            "评分表表头有误，未作任何计算：",
            [Problem("第1行", "；".join(parts) + f"。表头应为：{','.join(COLUMNS)}")],
        )


def parse_rows(scheme: Scheme, directory: Directory, rows: Sequence[SheetRow]) -> Sheet:
    """Validate every row; raise InputRejected naming every bad line, or return the entries."""
    problems: list[Problem] = []
    scores: list[ScoreEntry] = []
    adjustments: list[AdjustmentEntry] = []
    seen_scores: dict[tuple[str, str, str], int] = {}
    seen_adjustments: dict[AdjustmentEntry, int] = {}
    for row in rows:
        if not any(row.get(c) for c in COLUMNS):
            continue  # blank lines are allowed
        where = f"第{row.line}行"
        try:
            if row.extra:
                raise DomainError(
                    f"比表头多出 {len(row.extra)} 格（“{row.extra[0][:20]}”）："
                    "说明里有逗号时请给整格加英文双引号，或删去多余的格"
                )
            if is_adjustment_code(row.get("code")):
                adj = _adjustment(scheme, directory, row)
                if adj in seen_adjustments:
                    raise DomainError(_repeated(scheme, adj, seen_adjustments[adj]))
                seen_adjustments[adj] = row.line
                adjustments.append(adj)
            else:
                entry = _score(scheme, directory, row)
                key = (entry.unit, entry.code, entry.scorer)
                if key in seen_scores:
                    raise DomainError(f"{entry.unit}第{entry.code}项{entry.scorer}的评分与第{seen_scores[key]}行重复")
                seen_scores[key] = row.line
                scores.append(entry)
        except DomainError as exc:
            problems.append(Problem(where, exc.user_message))
    if problems:
        raise InputRejected(f"评分表有 {len(problems)} 处错误，未作任何计算：", problems)
    return Sheet(tuple(scores), tuple(adjustments))


def _repeated(scheme: Scheme, adj: AdjustmentEntry, first: int) -> str:
    if scheme.adjustments[adj.code].per_incident is not None:
        # Two real incidents must differ somewhere; a copied row would deduct twice.
        return f"与第{first}行完全相同：{adj.code}一起一行，两起不同的事件请在 note 中写明各自情况（时间、地点等）"
    return f"与第{first}行重复"


def _points_or_none(text: str) -> Decimal | None:
    return parse_points(text) if text else None


def _score(scheme: Scheme, directory: Directory, row: SheetRow) -> ScoreEntry:
    if row.get("case"):
        raise DomainError("只有 D9 需要填写 case 列")
    text = row.get("score")
    if not text:
        raise DomainError(f"第{row.get('code') or '?'}项缺少分数")
    return check_score(
        scheme,
        directory,
        row.get("unit"),
        row.get("code"),
        row.get("scorer") or None,
        parse_points(text),
        row.get("note"),
    )


def _adjustment(scheme: Scheme, directory: Directory, row: SheetRow) -> AdjustmentEntry:
    if not row.get("scorer"):
        raise DomainError(f"{row.get('code').upper()}须在 scorer 列写明录入部门")
    return check_adjustment(
        scheme,
        directory,
        row.get("unit"),
        row.get("code"),
        row.get("scorer"),
        _points_or_none(row.get("score")),
        row.get("note"),
        row.get("case") or None,
    )
