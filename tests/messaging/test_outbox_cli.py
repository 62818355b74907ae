"""``scorebot outbox failed|retry`` as an admin runs it at the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.events import Platform
from bot.messages import Outbound, Target, Text
from storage import outbox
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade
from tests.messaging.fakes import T0


async def _one_failed(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as s:
        row = await outbox.enqueue(
            s, Outbound(target=Target.user(Platform.WECOM, "d27a"), message=Text(content="提醒")), T0
        )
        assert row is not None
        await outbox.mark_failed(s, row, "wecom errcode=81013 errmsg=invalid user: 接收人均无效或不在应用可见范围内")
    await engine.dispose()


def test_failed_messages_are_listed_and_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'scorebot.db'}"
    monkeypatch.setenv("SCOREBOT_DATABASE_URL", url)
    asyncio.run(_one_failed(url))

    assert main(["outbox", "failed"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "发送失败的消息共 1 条：",
        "  #1 2026-12-01 09:00Z → wecom:user:d27a：接收人均无效或不在应用可见范围内（企业微信 81013）",
        "重发：scorebot outbox retry 编号 … 或 scorebot outbox retry --all",
    ]
    assert main(["outbox", "retry", "7"]) == 2
    assert capsys.readouterr().out == "没有可重发的消息（编号不对，或消息没有失败）。\n"
    assert main(["outbox", "retry", "1"]) == 0
    assert capsys.readouterr().out == "已重新排队发送 1 条消息；运行中的 scorebot serve 会在几秒内发出。\n"
    assert main(["outbox", "failed"]) == 0
    assert capsys.readouterr().out == "没有发送失败的消息。\n"
