"""``scorebot serve``: run the bot's web server (callbacks, sandbox page, dispatchers)."""

from __future__ import annotations

import argparse
import errno
import logging
from typing import Any

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings, load_settings
from scoring_core.errors import ConfigError

#: Errors of binding the listening socket (web.run_app raises start-up's other OSErrors too).
_BIND_ERRORS = {
    errno.EADDRINUSE: "端口已被占用",
    errno.EACCES: "没有权限监听该端口（1024 以下的端口需要管理员权限）",
    errno.EADDRNOTAVAIL: "本机没有这个地址，请检查 SCOREBOT_HOST",
}


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
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def listening(_aiohttp_banner: str) -> None:
        # Called once the port is bound and the app has started: only then is the address true.
        if settings.sandbox_enabled:
            print(f"沙盒已启用，请在浏览器打开：{sandbox_address(settings)}", flush=True)
        else:
            print(f"scorebot 已启动，监听 {settings.host}:{settings.port}", flush=True)

    async def _app() -> web.Application:
        # Built inside the running loop: nothing is made before it exists.
        return create_app(settings)

    try:
        web.run_app(_app(), host=settings.host, port=settings.port, print=listening)
    except OSError as exc:
        if exc.errno not in _BIND_ERRORS:  # not the listening socket: some other start-up failure
            raise
        reason = _BIND_ERRORS[exc.errno]
        raise ConfigError(
            f"无法在 {settings.host}:{settings.port} 监听（{reason}）：请换一个 SCOREBOT_PORT，或停掉占用它的程序"
        ) from exc
    return 0
