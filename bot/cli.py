"""The ``scorebot`` command: one subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.serve import add_serve_parser
from scoring_core.errors import ScorebotError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scorebot", description="平安考评助手")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_serve_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ScorebotError as exc:
        print(exc.user_message, file=sys.stderr)
        return 2
    return code
