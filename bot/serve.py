"""``scorebot serve``: run the bot's web server (callbacks, sandbox page, dispatchers)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings, load_settings


def add_serve_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="启动机器人服务（未配置企业微信/钉钉时启用沙盒）"
    )
    parser.add_argument("--host", help="监听地址（默认 SCOREBOT_HOST 或 127.0.0.1）")
    parser.add_argument("--port", type=int, help="端口（默认 SCOREBOT_PORT 或 8080）")
    parser.set_defaults(run=serve)


def sandbox_address(settings: Settings) -> str:
    host = settings.host
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/sandbox"


def serve(args: argparse.Namespace) -> int:
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    settings = load_settings(**overrides)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.sandbox_enabled:
        print(f"沙盒已启用，请在浏览器打开：{sandbox_address(settings)}", flush=True)

    async def _app() -> web.Application:
        # Built inside the running loop: nothing is made before it exists.
        return create_app(settings)

    web.run_app(_app(), host=settings.host, port=settings.port, print=None)
    return 0
