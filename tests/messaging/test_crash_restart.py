"""A real ``scorebot serve`` killed with SIGKILL between "stored" and "sent", then started again.

The bot runs as its own process on loopback against the WeCom emulator; the
test holds WeCom's answer to the reply, kills the process while the send is
in flight, and starts it again with the bot's clock past the send's lease.
Whether WeCom had taken the message or not, the member ends up with it
exactly once: the outbox sends it again, and the resend asks WeCom's
duplicate check to drop it if it had arrived.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import aiohttp
import pytest

from bot.wecom import CALLBACK_PATH
from tests.emulators.wecom import CallbackSender, WeComEmulator, text_callback
from tests.handlers.dialogue import directory_on_every_messenger
from tests.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN

#: Generous bounds for a process to start and answer on a loaded 2-core machine.
START_TIMEOUT = 60.0
SEND_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def _log(path: Path) -> str:
    return path.read_text("utf-8")


async def _ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, _log(log)
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)  # polling a starting process, not timing the bot
    raise AssertionError(f"scorebot serve did not start:\n{_log(log)}")


@asynccontextmanager
async def _emulator() -> AsyncIterator[WeComEmulator]:
    emu = WeComEmulator(corp_id=CORP_ID, secret=SECRET)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.mark.parametrize("wecom_had_it", [False, True], ids=["lost-in-flight", "delivered-unacknowledged"])
async def test_a_reply_killed_in_flight_reaches_the_member_once_after_restart(
    tmp_path: Path, wecom_had_it: bool
) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "SCOREBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'scorebot.db'}",
        "SCOREBOT_DIRECTORY_PATH": str(directory_on_every_messenger(tmp_path / "directory.yaml")),
        "SCOREBOT_PORT": str(port),
        "SCOREBOT_SCHEDULES_ENABLED": "false",
        "SCOREBOT_WECOM_CORP_ID": CORP_ID,
        "SCOREBOT_WECOM_AGENT_ID": str(AGENT_ID),
        "SCOREBOT_WECOM_SECRET": SECRET,
        "SCOREBOT_WECOM_TOKEN": TOKEN,
        "SCOREBOT_WECOM_AES_KEY": AES_KEY,
        "SCOREBOT_OUTBOX_LEASE_SECONDS": "120",
    }
    async with _emulator() as wecom, aiohttp.ClientSession() as http:
        env["SCOREBOT_WECOM_API_BASE"] = wecom.url
        member = CallbackSender(
            http,
            f"http://127.0.0.1:{port}{CALLBACK_PATH}",
            token=TOKEN,
            aes_key=AES_KEY,
            corp_id=CORP_ID,
            agent_id=AGENT_ID,
        )
        held = wecom.hold_next("/cgi-bin/message/send")
        with _serve(env, log) as first:
            await _ready(port, first, log)
            now = int(time.time())
            said = text_callback("d27a", "帮助", msg_id="7101", created=now, corp_id=CORP_ID, agent_id=AGENT_ID)
            [answer] = await member.post(said, timestamp=str(now))
            assert answer.status == 200
            await asyncio.wait_for(held.arrived.wait(), SEND_TIMEOUT)  # stored, and being sent
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        held.release(delivered=wecom_had_it)
        await held.done.wait()
        assert len(wecom.messages) == (1 if wecom_had_it else 0)

        # The bot's clock past the lease: the row its dead sender held is due again.
        wecom.settled.clear()
        with _serve({**env, "SCOREBOT_CLOCK_OFFSET": "300"}, log) as second:
            await _ready(port, second, log)
            await asyncio.wait_for(wecom.settled.wait(), SEND_TIMEOUT)
            [retry] = await member.post(said, timestamp=str(now))  # WeCom's late retry of the callback
            assert retry.status == 200

    helps = [m for m in wecom.messages if m["touser"] == "d27a"]
    assert len(helps) == 1
    assert helps[0]["text"]["content"].startswith("【平安考评助手】")
    if wecom_had_it:
        [(why, resent)] = wecom.dropped
        assert (why, resent["enable_duplicate_check"]) == ("duplicate", 1)
    else:
        assert wecom.dropped == []
        assert helps[0]["enable_duplicate_check"] == 1  # the resend asked, and there was nothing to drop
