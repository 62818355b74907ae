"""``scorebot outbox failed|retry``: the messages the outbox gave up on, from the shell.

The same as 发送失败 / 重发 in chat, for an admin at the server.  They act on
the database a running ``scorebot serve`` uses; its outbox picks up what
``retry`` queues on its next poll.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.clock import system_clock
from bot.settings import Settings, load_settings
from handlers.delivery import why
from storage import outbox
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade


def add_outbox_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("outbox", help="查看、重发发送失败的消息")
    actions = parser.add_subparsers(dest="action", required=True)
    failed = actions.add_parser("failed", help="列出发送失败的消息（最新的在前）")
    failed.add_argument("--limit", type=int, default=50, help="最多列出多少条（默认 50）")
    failed.set_defaults(run=lambda args: asyncio.run(_failed(args, load_settings())))
    retry = actions.add_parser("retry", help="重发发送失败的消息")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=int, default=[], help="消息编号（见 outbox failed）")
    which.add_argument("--all", action="store_true", help="重发全部失败的消息")
    retry.set_defaults(run=lambda args: asyncio.run(_retry(args, load_settings())))


async def _with_sessions(settings: Settings, work: Any) -> int:
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        result: int = await work(session_factory(engine))
        return result
    finally:
        await engine.dispose()


async def _failed(args: argparse.Namespace, settings: Settings) -> int:
    async def work(sessions: Any) -> int:
        async with sessions() as session:
            total = await outbox.count_failed(session)
            rows = await outbox.failed(session, limit=max(args.limit, 1))
        if not total:
            print("没有发送失败的消息。")
            return 0
        print(f"发送失败的消息共 {total} 条" + (f"（列出最新 {len(rows)} 条）" if len(rows) < total else "") + "：")
        for row in rows:
            to = f"{row.target_platform}:{row.target_kind}:{row.target_id}"
            print(f"  #{row.id} {row.created_at:%Y-%m-%d %H:%M}Z → {to}：{why(row.last_error)}")
        print("重发：scorebot outbox retry 编号 … 或 scorebot outbox retry --all")
        return 0

    return await _with_sessions(settings, work)


async def _retry(args: argparse.Namespace, settings: Settings) -> int:
    if not args.all and not args.ids:
        print("请写要重发的消息编号，或 --all")
        return 2

    async def work(sessions: Any) -> int:
        async with sessions.begin() as session:
            count = await outbox.retry_failed(session, system_clock(), None if args.all else args.ids)
        if not count:
            print("没有可重发的消息（编号不对，或消息没有失败）。")
            return 2
        print(f"已重新排队发送 {count} 条消息；运行中的 scorebot serve 会在几秒内发出。")
        return 0

    return await _with_sessions(settings, work)
