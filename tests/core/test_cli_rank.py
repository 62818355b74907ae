"""`scorebot rank` as a user runs it: sheets in, rankings out, bad sheets refused whole."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.cli import main
from scoring_core.directory import Directory
from scoring_core.points import fmt
from scoring_core.scheme import Scheme
from tests.core.conftest import full_marks, small_directory_text

SAMPLE = Path(__file__).resolve().parents[2] / "scoring_core" / "data" / "sample-scores.csv"
HEADER = ["unit", "code", "scorer", "score", "note", "case"]


@pytest.fixture
def small_file(tmp_path: Path, scheme: Scheme) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(small_directory_text(scheme), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[list[str]], bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    return path


def full_rows(scheme: Scheme, small: Directory, drop: set[tuple[str, str, str]] = frozenset()) -> list[list[str]]:
    # jointly scored parts must name the scorer; single-scorer parts leave it empty
    return [
        [e.unit, e.code, e.scorer if scheme.part(e.code).joint else "", fmt(e.value), "", ""]
        for e in full_marks(scheme, small)
        if (e.unit, e.code, e.scorer) not in drop
    ]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["rank", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_bundled_sample_prints_a_ranking(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--scores", str(SAMPLE))
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "评分已齐全（正式排名）"
    assert lines[1].split() == ["名次", "单位", "总分", "项目得分", "加分", "扣分", "备注"]
    assert lines[3].split() == ["1", "市公安局", "393", "388", "5", "0"]
    assert lines[-1].split() == ["32", "市医保局", "375.92", "375.92", "0", "0", "否决：V2", "发生特大安全事故"]
    assert len(lines) == 3 + 32


def test_json_gives_the_totals_and_ranks_the_rules_give(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scheme: Scheme, small: Directory, small_file: Path
) -> None:
    drop = {("甲局", "16", "市人社局"), ("甲局", "16", "市民政局"), ("乙局", "12", "市消防救援支队")}
    rows = [
        *full_rows(scheme, small, drop),
        ["甲局", "16", "市人社局", "3.5", "窗口未进驻", ""],
        ["甲局", "16", "市民政局", "3", "站点未覆盖", ""],
        ["乙局", "12", "", "3.5", "演练未按期", ""],
        ["甲局", "B1", "市委平安办", "6", "经验获市委主要领导批示", ""],
        ["甲局", "B4", "市委平安办", "3", "受省通报表扬", ""],
        ["丙局", "D8", "市应急管理局", "", "重大安全事故", ""],
        ["丙局", "D8", "市公安局", "2", "重大刑事案件", ""],
        ["丁局", "D9", "市纪委市监委", "3", "班子成员违纪", "王某-案1"],
        ["丁局", "D9", "市法院", "2", "班子成员违法", "王某-案1"],
        ["市公安局", "V2", "市委平安办", "", "发生特大刑事案件", ""],
    ]
    sheet = write_csv(tmp_path / "hand.csv", rows, bom=True)
    code, out, _ = run(capsys, "--scores", str(sheet), "--directory", str(small_file), "--format", "json", "--final")
    data = json.loads(out)
    assert code == 0
    assert data["complete"] is True
    assert data["missing"] == []
    # 甲局: 16 = (4+3.5+3)/3 = 3.5 -> 399.5, bonus min(6+3, 8) = 8 -> 407.5
    # 乙局: 12 = 3.5 -> 399.5;  丙局: 2 incidents -> 396;  丁局: D9 same case, larger 3 -> 397
    # 市公安局: 400 but vetoed -> last
    assert [[u["rank"], u["unit"], u["total"], u["vetoed"]] for u in data["units"]] == [
        [1, "甲局", "407.5", False],
        [2, "乙局", "399.5", False],
        [3, "丁局", "397", False],
        [4, "丙局", "396", False],
        [5, "市公安局", "400", True],
    ]
    first = data["units"][0]
    assert (first["bonus"], first["deduction"], first["parts"]["16"], first["parts_total"]) == (
        "8",
        "0",
        "3.5",
        "399.5",
    )
    assert [[a["code"], a["raw"], a["counted"]] for a in first["adjustments"]] == [["B1", "6", "6"], ["B4", "3", "2"]]
    assert data["units"][4]["veto_reasons"] == ["V2 发生特大刑事案件"]


def test_missing_scores_rank_provisionally_and_final_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scheme: Scheme, small: Directory, small_file: Path
) -> None:
    sheet = write_csv(tmp_path / "partial.csv", full_rows(scheme, small, {("丙局", "32.1", "综合协调办公室")}))
    code, out, _ = run(capsys, "--scores", str(sheet), "--directory", str(small_file), "--format", "json")
    data = json.loads(out)
    assert (code, data["complete"], data["missing"]) == (
        0,
        False,
        [{"unit": "丙局", "code": "32.1", "scorer": "综合协调办公室"}],
    )
    assert data["units"][-1]["unit"] == "丙局"
    assert data["units"][-1]["total"] == "360"
    code, out, err = run(capsys, "--scores", str(sheet), "--directory", str(small_file), "--final")
    assert (code, out) == (2, "")
    assert err == "评分未齐全，不能作正式排名（--final）。缺少：\n  丙局 第32.1项（综合协调办公室）\n"


def test_every_bad_line_is_reported_and_nothing_ranked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_file: Path
) -> None:
    rows = [
        ["甲局", "12", "", "4.5", "", ""],
        ["甲局", "12", "", "-1", "x", ""],
        ["戊局", "12", "", "4", "", ""],
        ["甲局", "99", "", "4", "", ""],
        ["丙局", "33-1", "", "10", "", ""],
        ["甲局", "13", "市消防救援支队", "4", "", ""],
        ["甲局", "14", "", "4", "", ""],
        ["甲局", "14", "", "4", "", ""],
        ["甲局", "B1", "市委平安办", "2", "", ""],
        ["甲局", "15", "", "3.555", "x", ""],
        ["甲局", "16", "", "4", "", ""],
        ["甲局", "D9", "市法院", "2", "违法", ""],
    ]
    sheet = write_csv(tmp_path / "bad.csv", rows)
    code, out, err = run(capsys, "--scores", str(sheet), "--directory", str(small_file))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "评分表有 11 处错误，未作任何计算：",
        "  第2行：第12项分值应在 0 到 4 之间，不能是 4.5",
        "  第3行：第12项分值应在 0 到 4 之间，不能是 -1",
        "  第4行：没有名为“戊局”的被考核单位：请写名录中的全称、简称或别名",
        "  第5行：没有评分编号“99”：请用考核方案中的编号，如 12、4.1、34-3.2",
        "  第6行：第33-1项不适用于丙局：该单位适用第33-2项",
        "  第7行：市消防救援支队不是甲局第13项的评分部门（应由市公安局评分）",
        "  第9行：甲局第14项市公安局的评分与第8行重复",
        "  第10行：B1须写明理由",
        "  第11行：分数最多两位小数，“3.555”超过了",
        "  第12行：第16项由市行政审批局、市人社局、市民政局共同评分，须写明评分部门",
        "  第13行：D9须写明案件（人员+案件，如“王某-案1”），同一案件只按较大扣分计",
    ]


def test_an_exported_workbook_ranks_the_same_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_file: Path
) -> None:
    out_book = tmp_path / "ranking.xlsx"
    code, out, _ = run(capsys, "--scores", str(SAMPLE), "--format", "xlsx", "--output", str(out_book))
    assert (code, out) == (0, f"已写入 {out_book}\n")
    _, first, _ = run(capsys, "--scores", str(SAMPLE), "--format", "json")
    _, again, _ = run(capsys, "--scores", str(out_book), "--format", "json")
    assert json.loads(again) == json.loads(first)


def test_an_xlsx_sheet_with_numeric_cells_is_read_exactly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scheme: Scheme, small: Directory, small_file: Path
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in full_rows(scheme, small, {("乙局", "12", "市消防救援支队")}):
        sheet.append([*row[:3], float(row[3]), *row[4:]])
    sheet.append(["乙局", "12", None, 3.55, "演练未按期", None])
    path = tmp_path / "scores.xlsx"
    book.save(path)
    code, out, _ = run(capsys, "--scores", str(path), "--directory", str(small_file), "--format", "json")
    units = {u["unit"]: u["total"] for u in json.loads(out)["units"]}
    assert (code, units["乙局"]) == (0, "399.55")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "单位,编号\n",
            "评分表表头有误，未作任何计算：\n  第1行：缺少列 unit、code、score；不认识的列 单位、编号。表头应为：unit,code,scorer,score,note,case\n",
        ),
        (
            "unit,code,score,weight\n",
            "评分表表头有误，未作任何计算：\n  第1行：不认识的列 weight。表头应为：unit,code,scorer,score,note,case\n",
        ),
        (
            "unit,code\n",
            "评分表表头有误，未作任何计算：\n  第1行：缺少列 score。表头应为：unit,code,scorer,score,note,case\n",
        ),
    ],
)
def test_a_bad_header_is_explained(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "h.csv"
    path.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "--scores", str(path))
    assert (code, err) == (2, message)


def test_files_that_cannot_be_read_are_explained(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert (
        run(capsys, "--scores", str(tmp_path / "none.csv"))[2]
        == f"无法读取评分表：\n  {tmp_path / 'none.csv'}：文件不存在\n"
    )
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("unit,code,scorer,score,note,case\n甲局,12,,4,,\n".encode("gbk"))
    assert (
        run(capsys, "--scores", str(gbk))[2]
        == f"无法读取评分表：\n  {gbk}：CSV 须为 UTF-8 编码（Excel 中“另存为 CSV UTF-8”）\n"
    )
    code, _, err = run(capsys, "--scores", str(SAMPLE), "--scheme", str(tmp_path / "no.yaml"))
    assert (code, err) == (2, f"找不到考核方案文件：{tmp_path / 'no.yaml'}\n")


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    # Regression: `scorebot rank --format json | head` ended in a BrokenPipeError traceback.
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "rank", "--scores", str(SAMPLE), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.read(1) == b"{"
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert (proc.wait(timeout=60), err) == (1, b"")


def test_files_that_are_not_sheets_are_explained(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Regressions: a text file named .xlsx (BadZipFile) and a folder ended in tracebacks.
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip", encoding="utf-8")
    assert run(capsys, "--scores", str(fake)) == (2, "", f"无法读取评分表：\n  {fake}：不是有效的 xlsx 文件\n")
    folder = tmp_path / "sheets.csv"
    folder.mkdir()
    assert run(capsys, "--scores", str(folder)) == (
        2,
        "",
        f"无法读取评分表：\n  {folder}：这是一个文件夹，请给出评分表文件\n",
    )


def test_an_unwritable_output_is_explained(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Regression: --output in a missing folder, or a folder, ended in a traceback.
    missing = tmp_path / "no" / "r.xlsx"
    hint = "：请给出可写的文件路径，如 --output ranking.xlsx\n"
    assert run(capsys, "--scores", str(SAMPLE), "--format", "xlsx", "--output", str(missing)) == (
        2,
        "",
        f"无法写入 {missing}（文件或文件夹不存在）{hint}",
    )
    assert run(capsys, "--scores", str(SAMPLE), "--format", "xlsx", "--output", str(tmp_path)) == (
        2,
        "",
        f"无法写入 {tmp_path}（这是一个文件夹，不是文件）{hint}",
    )


def test_cells_past_the_header_and_huge_numbers_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_file: Path
) -> None:
    # Regressions: an unquoted comma in a note shifted "王某-案1" out of the case column unseen,
    # and a 27-digit score ended in decimal.InvalidOperation.
    path = tmp_path / "s.csv"
    path.write_text(
        "unit,code,scorer,score,note,case\n"
        "丁局,D9,市法院,2,违纪,情节严重,王某-案1\n"
        f"甲局,1,,{'9' * 27},x,\n"
        "甲局,B1,市委平安办,1,批示,,\n",  # an empty trailing cell is harmless
        encoding="utf-8",
    )
    code, out, err = run(capsys, "--scores", str(path), "--directory", str(small_file))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "评分表有 2 处错误，未作任何计算：",
        "  第2行：比表头多出 1 格（“王某-案1”）：说明里有逗号时请给整格加英文双引号，或删去多余的格",
        f"  第3行：“{'9' * 20}”太大了，不是分数：请写如 3 或 3.5 的分数",
    ]


def test_a_column_named_twice_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("unit,unit,code,score\n", encoding="utf-8")
    assert run(capsys, "--scores", str(path)) == (
        2,
        "",
        "评分表表头有误，未作任何计算：\n  第1行：列 unit 出现了两次。表头应为：unit,code,scorer,score,note,case\n",
    )


def test_two_identical_d8_rows_are_told_how_to_tell_incidents_apart(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_file: Path
) -> None:
    rows = [
        ["丙局", "D8", "市应急管理局", "", "重大安全事故", ""],
        ["丙局", "D8", "市应急管理局", "2", "重大安全事故", ""],
    ]
    code, _, err = run(capsys, "--scores", str(write_csv(tmp_path / "d8.csv", rows)), "--directory", str(small_file))
    assert (code, err.splitlines()[1]) == (
        2,
        "  第3行：与第2行完全相同：D8一起一行，两起不同的事件请在 note 中写明各自情况（时间、地点等）",
    )
