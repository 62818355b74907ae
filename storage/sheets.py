"""Score sheets in and ranking workbooks out: CSV (UTF-8) and xlsx (openpyxl)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils.exceptions import InvalidFileException

from scoring_core.entries import AdjustmentEntry, ScoreEntry
from scoring_core.errors import InputRejected, Problem
from scoring_core.points import fmt
from scoring_core.results import Standing
from scoring_core.sheet import COLUMNS, SheetRow, check_header
from storage.files import os_reason

#: The sheet of an exported workbook that holds the scores in the input format,
#: so an exported workbook can be ranked again with ``scorebot rank``.
SCORES_SHEET = "评分表"


def read_score_sheet(path: Path) -> list[SheetRow]:
    """Rows of a CSV or xlsx score sheet; the header is checked, cells are text."""
    if not path.exists():
        raise InputRejected("无法读取评分表：", [Problem(str(path), "文件不存在")])
    if path.is_dir():
        raise InputRejected("无法读取评分表：", [Problem(str(path), "这是一个文件夹，请给出评分表文件")])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if path.suffix.lower() == ".csv":
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputRejected("无法读取评分表：", [Problem(str(path), os_reason(exc))]) from exc
        return _read_csv(data, str(path))
    raise InputRejected("无法读取评分表：", [Problem(str(path), "只支持 .csv（UTF-8）和 .xlsx 文件")])


def _read_csv(data: bytes, name: str) -> list[SheetRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputRejected(
            "无法读取评分表：", [Problem(name, "CSV 须为 UTF-8 编码（Excel 中“另存为 CSV UTF-8”）")]
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = list(reader)
    if not rows:
        raise InputRejected("评分表是空的：", [Problem(name, f"第1行应为表头：{','.join(COLUMNS)}")])
    return _rows(rows[0], rows[1:])


def _read_xlsx(path: Path) -> list[SheetRow]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InputRejected("无法读取评分表：", [Problem(str(path), "不是有效的 xlsx 文件")]) from exc
    try:
        sheet = book[SCORES_SHEET] if SCORES_SHEET in book.sheetnames else book.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    if not rows:
        raise InputRejected("评分表是空的：", [Problem(str(path), f"第1行应为表头：{','.join(COLUMNS)}")])
    return _rows(rows[0], rows[1:])


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # repr gives the shortest text that round-trips: 3.55 stays "3.55".
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    return str(value)


def _rows(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[SheetRow]:
    check_header(header)
    names = [h.strip().lower() for h in header]
    # A cell past the header is a comma in a note that lost its quotes: refused by
    # parse_rows, never dropped, so it cannot shift a case key away unseen.
    return [
        SheetRow(
            line=i,
            cells={name: (row[k] if k < len(row) else "") for k, name in enumerate(names) if name},
            extra=tuple(c for c in row[len(names) :] if c.strip()),
        )
        for i, row in enumerate(body, start=2)
    ]


def sheet_rows(scores: Sequence[ScoreEntry], adjustments: Sequence[AdjustmentEntry]) -> list[list[str]]:
    """Entries back in the sheet format (header first)."""
    rows = [list(COLUMNS)]
    rows += [[s.unit, s.code, s.scorer, fmt(s.value), s.note, ""] for s in scores]
    rows += [
        [a.unit, a.code, a.recorder, "" if a.value is None else fmt(a.value), a.reason, a.case or ""]
        for a in adjustments
    ]
    return rows


def _num(value: Decimal) -> Decimal | int:
    return int(value) if value == value.to_integral_value() else value


def ranking_workbook(
    standing: Standing,
    scores: Sequence[ScoreEntry],
    adjustments: Sequence[AdjustmentEntry],
    title: str,
) -> bytes:
    """The ranking workbook: 排名, 明细 (every part and scorer), 加减分, and 评分表 (re-rankable)."""
    book = Workbook()
    ranking = book.active
    ranking.title = "排名"
    ranking.append([title])
    ranking["A1"].font = Font(bold=True, size=14)
    ranking.append(
        ["状态", "评分已齐全" if standing.complete else f"暂定：尚缺 {len(standing.missing)} 条评分，按 0 分计"]
    )
    ranking.append(["名次", "单位", "总分", "项目得分", "加分", "扣分", "否决", "否决理由", "缺评分条数"])
    for r in standing.results:
        ranking.append(
            [
                r.rank,
                r.unit,
                _num(r.total),
                _num(r.parts_total),
                _num(r.bonus),
                _num(r.deduction),
                "是" if r.vetoed else "",
                "；".join(r.veto_reasons),
                len(r.missing),
            ]
        )
    detail = book.create_sheet("明细")
    detail.append(["单位", "编号", "内容", "满分", "得分", "评分部门", "部门评分", "说明"])
    for r in standing.results:
        for p in r.parts:
            for s in p.scores:
                detail.append(
                    [
                        r.unit,
                        p.code,
                        p.title,
                        _num(p.max),
                        _num(p.score),
                        s.scorer,
                        "未评" if s.value is None else _num(s.value),
                        s.note,
                    ]
                )
    adj = book.create_sheet("加减分")
    adj.append(["单位", "编号", "类别", "录入部门", "录入分值", "计入分值", "理由", "案件", "说明"])
    kinds = {"bonus": "加分", "deduction": "扣分", "veto": "否决"}
    for r in standing.results:
        for a in r.adjustments:
            adj.append(
                [
                    r.unit,
                    a.code,
                    kinds[a.kind.value],
                    a.recorder,
                    "" if a.raw is None else _num(a.raw),
                    _num(a.counted),
                    a.reason,
                    a.case or "",
                    a.why,
                ]
            )
    raw = book.create_sheet(SCORES_SHEET)
    for row in sheet_rows(scores, adjustments):
        raw.append(row)
    for sheet in book.worksheets:
        sheet.freeze_panes = "A2" if sheet.title != "排名" else "A4"
        for column in sheet.columns:
            letter = column[0].column_letter
            sheet.column_dimensions[letter].width = 14 if letter != "B" else 22
            for cell in column:
                cell.alignment = Alignment(vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
