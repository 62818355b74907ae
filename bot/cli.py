"""The ``scorebot`` command: ``rank`` (offline ranking of a score sheet) and ``serve``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.outbox_cli import add_outbox_parsers
from bot.serve import add_serve_parser
from schedules.cli import add_schedule_parsers
from scoring_core.errors import ScorebotError
from scoring_core.report import standing_table, standing_to_dict
from scoring_core.sheet import parse_rows
from scoring_core.standing import compute_standing
from storage.files import load_directory, load_scheme, os_reason
from storage.sheets import ranking_workbook, read_score_sheet

#: Exit status for refused input (bad sheet, bad config): distinct from crashes (1).
EXIT_REFUSED = 2


def add_rank_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rank = subparsers.add_parser("rank", help="按评分表（CSV 或 xlsx）计算排名")
    rank.add_argument("--scores", type=Path, required=True, help="评分表，列：unit,code,scorer,score,note,case")
    rank.add_argument("--scheme", type=Path, help="考核方案 YAML（默认：内置 2020 南昌方案）")
    rank.add_argument("--directory", type=Path, help="名录 YAML（默认：内置示例名录）")
    rank.add_argument("--format", choices=("table", "json", "xlsx"), default="table")
    rank.add_argument("--output", type=Path, default=Path("ranking.xlsx"), help="--format xlsx 的输出文件")
    rank.add_argument("--final", action="store_true", help="正式排名：评分不全时拒绝计算")
    rank.set_defaults(run=run_rank)


def run_rank(args: argparse.Namespace) -> int:
    scheme = load_scheme(args.scheme)
    directory = load_directory(scheme, args.directory)
    sheet = parse_rows(scheme, directory, read_score_sheet(args.scores))
    standing = compute_standing(scheme, directory, sheet.scores, sheet.adjustments)
    if args.final and not standing.complete:
        shown = "\n".join(f"  {m.unit} 第{m.code}项（{m.scorer}）" for m in standing.missing[:20])
        more = f"\n  …… 共 {len(standing.missing)} 条" if len(standing.missing) > 20 else ""
        print(f"评分未齐全，不能作正式排名（--final）。缺少：\n{shown}{more}", file=sys.stderr)
        return EXIT_REFUSED
    if args.format == "json":
        print(json.dumps(standing_to_dict(standing), ensure_ascii=False, indent=2))
    elif args.format == "xlsx":
        title = f"{scheme.name}排名"
        data = ranking_workbook(standing, sheet.scores, sheet.adjustments, title)
        try:
            args.output.write_bytes(data)
        except OSError as exc:
            hint = "请给出可写的文件路径，如 --output ranking.xlsx"
            print(f"无法写入 {args.output}（{os_reason(exc)}）：{hint}", file=sys.stderr)
            return EXIT_REFUSED
        print(f"已写入 {args.output}")
    else:
        print(standing_table(standing))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scorebot", description="平安考评助手 scorebot")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_rank_parser(subparsers)
    add_serve_parser(subparsers)
    add_schedule_parsers(subparsers)
    add_outbox_parsers(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ScorebotError as exc:
        print(exc.user_message, file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:
        # The reader went away (`scorebot rank | head`): not an error worth a traceback.
        # Point stdout at devnull so Python's flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
