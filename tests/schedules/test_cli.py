"""The admins' schedule commands, run as the ``scorebot`` CLI would run them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from schedules.cli import add_schedule_parsers


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="scorebot")
    add_schedule_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


@pytest.fixture(autouse=True)
def _database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOREBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_pause_and_resume(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("schedule", "pause", "7") == 0
    assert run("schedule", "pause", "7") == 0
    assert run("schedule", "resume", "7") == 0
    assert run("schedule", "resume", "7") == 0
    assert capsys.readouterr().out.splitlines() == [
        "第7轮提醒已暂停",
        "第7轮提醒本已暂停",
        "第7轮提醒已恢复",
        "第7轮提醒并未暂停",
    ]


def test_list_and_remind_now_with_no_open_round(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("schedule", "list", "--days", "2") == 0
    assert run("remind-now") == 0
    assert capsys.readouterr().out.splitlines() == [
        "接下来没有计划发送的提醒或日报",
        "没有需要催办的（或本小时已催办过）",
    ]
