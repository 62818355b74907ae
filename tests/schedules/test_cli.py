"""The admins' schedule commands, run as the ``scorebot`` CLI would run them.

The CLI reads the real clock; tests set ``SCOREBOT_CLOCK_OFFSET`` (the dev
setting) so that "now" is a chosen Shanghai time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main as scorebot
from schedules.timing import at_local, deadline_at
from storage.engine import create_engine, session_factory
from storage.files import load_scheme
from storage.migrate import upgrade
from storage.models.messaging import OutboxRow
from storage.models.schedules import RoundPauseRow
from storage.scoring import open_round
from storage.scoring.records import Actor, Deadline

ADMIN = Actor("sandbox:admin", "王科长", "市委平安办")


def t(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return at_local(date(year, month, day), time(hour, minute))


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("SCOREBOT_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.chdir(tmp_path)  # no stray .env
    return path


def at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """The CLI's clock reads ``when`` (give or take the test's own run time)."""
    monkeypatch.setenv("SCOREBOT_CLOCK_OFFSET", str(int((when - datetime.now(UTC)).total_seconds())))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = scorebot(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.strip()


def open_a_round(db_file: Path, deadline: datetime, opened: datetime) -> None:
    async def go() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{db_file}")
        await upgrade(engine)
        async with session_factory(engine).begin() as s:
            await open_round(s, "2026年度平安建设考评", load_scheme(), "bundled", [Deadline(deadline)], ADMIN, opened)
        await engine.dispose()

    asyncio.run(go())


def count(db_file: Path, table: type[OutboxRow] | type[RoundPauseRow]) -> int:
    async def go() -> int:
        engine = create_engine(f"sqlite+aiosqlite:///{db_file}")
        async with session_factory(engine)() as s:
            n = await s.scalar(select(func.count()).select_from(table))
        await engine.dispose()
        return int(n or 0)

    return asyncio.run(go())


def test_pause_and_resume(db_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    at(monkeypatch, t(12, 2, 10))
    open_a_round(db_file, deadline_at(date(2026, 12, 18)), t(12, 1, 10))
    said = [run(capsys, "schedule", action, "1")[1] for action in ("pause", "pause", "resume", "resume")]
    assert said == [["第1轮提醒已暂停"], ["第1轮提醒本已暂停"], ["第1轮提醒已恢复"], ["第1轮提醒并未暂停"]]


def test_pausing_a_round_that_does_not_exist_is_refused_with_exit_2(
    db_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Regression: `scorebot schedule pause 99` printed success and stored a pause of nothing.
    at(monkeypatch, t(12, 2, 10))
    open_a_round(db_file, deadline_at(date(2026, 12, 18)), t(12, 1, 10))
    assert run(capsys, "schedule", "pause", "99") == (2, [], "没有进行中的第99轮考核（提醒只对进行中的考核有效）")
    assert run(capsys, "schedule", "resume", "99")[0] == 2
    assert count(db_file, RoundPauseRow) == 0


def test_list_and_remind_now_with_no_open_round(
    db_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    at(monkeypatch, t(12, 2, 10))
    assert run(capsys, "schedule", "list", "--days", "2") == (0, ["接下来没有计划发送的提醒或日报"], "")
    assert run(capsys, "remind-now") == (2, [], "目前没有进行中的考核，无需催办。")


def test_remind_now_sends_the_reminder_card_once_within_the_hour(
    db_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    open_a_round(db_file, deadline_at(date(2026, 12, 18)), t(12, 1, 10))
    at(monkeypatch, t(12, 2, 10))
    code, out, _ = run(capsys, "remind-now")
    assert code == 0
    assert out[0] == "已催办 49 个部门，共 97 人。"
    assert out[1].startswith("  ")
    assert out[1].endswith(" 条")
    at(monkeypatch, t(12, 2, 10, 40))
    assert run(capsys, "remind-now") == (
        0,
        ["这次没有发出新的催办。", "跳过 97 人：一小时内刚收到过提醒或选了稍后提醒，49 个部门因此未催办。"],
        "",
    )


def test_remind_now_in_quiet_hours_is_refused_not_queued_stale(
    db_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Regression: queued at 22:00, it went out next morning with the night before's text
    # ("评分今天24:00截止" after the deadline had passed), and ignored a pause made meanwhile.
    open_a_round(db_file, deadline_at(date(2026, 12, 18)), t(12, 1, 10))
    at(monkeypatch, t(12, 18, 22))
    assert run(capsys, "remind-now") == (
        2,
        [],
        "现在是免打扰时段（21:00–08:00），催办未发出；请在12月19日 08:00以后再发。",
    )
    assert count(db_file, OutboxRow) == 0


def test_a_rounds_own_run_up(
    db_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    open_a_round(db_file, deadline_at(date(2026, 12, 18)), t(12, 1, 10))
    at(monkeypatch, t(12, 2, 10))
    default = "提醒：截止前 5 个工作日起每个工作日 09:30；截止前最后一个工作日 15:00；截止当天 09:30、14:00；逾期后每个工作日 09:30（同时提醒部门负责人）。"
    assert run(capsys, "schedule", "policy", "1") == (0, [f"第1轮{default}"], "")
    assert run(capsys, "schedule", "policy", "1", "--before", "3") == (
        0,
        [f"第1轮{default.replace('5 个', '3 个')}"],
        "",
    )
    assert (
        run(capsys, "schedule", "policy", "1", "--before", "30")[2]
        == "before_days（提前几个工作日开始提醒）应为 0 到 20 的整数"
    )
    assert run(capsys, "schedule", "policy", "9", "--before", "3")[0] == 2


def test_list_warns_of_a_year_without_holidays(
    db_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    open_a_round(db_file, deadline_at(date(2027, 1, 8)), t(12, 1, 10))
    at(monkeypatch, t(12, 2, 10))
    code, out, _ = run(capsys, "schedule", "list", "--days", "1")
    assert code == 0
    assert out[0] == (
        "注意：未载入2027年的节假日安排，暂按周一至周五为工作日安排提醒；"
        "公布后请写入 SCOREBOT_HOLIDAYS_PATH 指定的文件（见 docs/holidays.md）。"
    )
