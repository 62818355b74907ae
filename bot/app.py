"""The app factory: one aiohttp application holding every long-lived resource.

``create_app`` builds the object graph and mounts the adapters' routes; the
resources (database engine with migrations, HTTP session, dispatchers) are
made when the app starts and torn down in reverse order, in ``cleanup_ctx``.
Nothing is created at import time.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.adapter import Adapter
from bot.clock import Clock, DevClock, offset_clock, system_clock
from bot.deps import AdapterDeps
from bot.dispatch import EventDispatcher
from bot.events import InboundEvent, Platform
from bot.outbox import OutboxDispatcher, OutboxPolicy
from bot.sandbox import create_adapter as create_sandbox_adapter
from bot.sandbox.members import Member, members_from_directory
from bot.settings import Settings
from handlers.base import Handler, Services
from schedules.jobs import ScheduleRuntime
from schedules.scheduler import Scheduler
from schedules.wiring import build_schedules
from scoring_core.errors import ConfigError
from scoring_core.scheme_file import parse_scheme
from storage.engine import create_engine, session_factory
from storage.files import load_directory, scheme_source
from storage.migrate import upgrade
from storage.outbox import WAKE_INFO_KEY

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
SERVICES = web.AppKey("services", Services)
ADAPTERS = web.AppKey("adapters", dict[Platform, Adapter])
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[Any])
HTTP = web.AppKey("http", ClientSession)
OUTBOX = web.AppKey("outbox", OutboxDispatcher)
SCHEDULER = web.AppKey("scheduler", Scheduler)
EVENTS = web.AppKey("events", EventDispatcher)

HTTP_TIMEOUT = ClientTimeout(total=30)  # under the outbox lease (OutboxPolicy.lease)

AdapterFactory = Callable[[AdapterDeps], Adapter]


def default_handler() -> Handler:
    """The one place the handler router plugs in."""
    from handlers.router import router

    return router


def load_services(settings: Settings) -> Services:
    """The scheme and directory (the bundled ones unless the settings name files).

    Read once when the app is built: a bad file stops the start with a
    ConfigError naming the place, instead of failing on the first message.
    """
    text, source = scheme_source(settings.scheme_path)
    scheme = parse_scheme(text, source)
    return Services(scheme=scheme, directory=load_directory(scheme, settings.directory_path), scheme_text=text)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    handler: Handler | None = None,
    extra_adapters: Sequence[AdapterFactory] = (),
) -> web.Application:
    """Build the bot's application.

    ``clock``, ``handler`` and ``extra_adapters`` are for tests (a fake
    platform adapter replaces a configured one of the same platform).
    """
    app = web.Application()
    app[SETTINGS] = settings
    base = clock or system_clock
    # Dev only: a clock an admin can move from the chat (调时); off unless SCOREBOT_DEV_CLOCK.
    control = DevClock(settings.clock_offset, base) if settings.dev_clock else None
    app[CLOCK] = control or offset_clock(settings.clock_offset, base)
    app[SERVICES] = replace(load_services(settings), clock_control=control)

    deps = AdapterDeps(
        settings=settings,
        sink=_StartedSink(app),
        clock=app[CLOCK],
        http=lambda: app[HTTP],
        sessions=lambda: app[SESSIONS],
        wall_clock=base,
    )
    adapters: dict[Platform, Adapter] = {}
    for adapter in [*_platform_adapters(app, deps), *(make(deps) for make in extra_adapters)]:
        adapters[adapter.platform] = adapter
    app[ADAPTERS] = adapters
    # The schedules (rounds, recipients on the platforms in use, quiet hours, calendar) for the
    # sweep and for the chat's 催办 / 提醒计划 alike.
    services = app[SERVICES]
    schedules = build_schedules(settings, services.scheme, services.directory, [p.value for p in adapters])
    app[SERVICES] = replace(services, schedules=schedules)
    for adapter in adapters.values():
        app.router.add_routes(adapter.routes())
    app.router.add_get("/healthz", _healthz)
    if Platform.SANDBOX in adapters:
        app.router.add_get("/", _to_sandbox)

    app.cleanup_ctx.extend(
        [_database, _http_session, _outbox, _schedules, _events(handler or default_handler()), _adapters]
    )
    return app


def _platform_adapters(app: web.Application, deps: AdapterDeps) -> list[Adapter]:
    settings = deps.settings
    adapters: list[Adapter] = []
    # Imported lazily: a platform package's dependencies load only when it is used.
    if settings.wecom_enabled:
        adapters.append(_import_adapter("wecom", "企业微信", deps))
    if settings.dingtalk_enabled:
        adapters.append(_import_adapter("dingtalk", "钉钉", deps))
    if settings.sandbox_enabled:
        adapters.append(create_sandbox_adapter(deps, members=lambda: _members(app)))
    return adapters


def _import_adapter(package: str, label: str, deps: AdapterDeps) -> Adapter:
    try:
        module = importlib.import_module(f"bot.{package}")
    except ImportError as exc:
        raise ConfigError(f"已配置{label}，但{label}适配器不可用：{exc}") from exc
    adapter: Adapter = module.create_adapter(deps)
    return adapter


def _members(app: web.Application) -> list[Member]:
    return members_from_directory(app[SERVICES].directory)


class _StartedSink:
    """The sink adapters are built with; the dispatcher behind it exists once the app runs."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def accept(self, event: InboundEvent) -> bool:
        return await self._app[EVENTS].accept(event)


# -- lifecycle, in start order (cleanup runs in reverse) ------------------------


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[SETTINGS].database_url)
    try:
        await upgrade(engine)

        def _wake() -> None:
            outbox = app.get(OUTBOX)
            if outbox is not None:
                outbox.wake()

        app[ENGINE] = engine
        app[SESSIONS] = session_factory(engine, info={WAKE_INFO_KEY: _wake})
        yield
    finally:
        await engine.dispose()


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    async with ClientSession(timeout=HTTP_TIMEOUT) as session:
        app[HTTP] = session
        yield


async def _outbox(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    policy = OutboxPolicy(
        max_attempts=settings.outbox_max_attempts,
        backoff=settings.outbox_backoff_seconds,
        max_backoff=settings.outbox_backoff_max_seconds,
        lease=settings.outbox_lease_seconds,
        poll=settings.outbox_poll_seconds,
    )
    adapters = app[ADAPTERS]
    dispatcher = OutboxDispatcher(app[SESSIONS], adapters, clock=app[CLOCK], policy=policy)
    app[OUTBOX] = dispatcher
    dispatcher.start()
    try:
        yield
    finally:
        await dispatcher.stop()


async def _schedules(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.schedules_enabled:
        yield
        return
    schedules = app[SERVICES].schedules
    assert schedules is not None  # built with the app
    runtime = ScheduleRuntime.of(schedules, app[SESSIONS], app[CLOCK])
    scheduler = Scheduler(runtime, sweep_seconds=settings.schedule_sweep_seconds)
    app[SCHEDULER] = scheduler
    await scheduler.start()
    control = app[SERVICES].clock_control
    if control is not None:
        control.on_move(scheduler.wake)  # what the moved clock makes due goes out now
    try:
        yield
    finally:
        await scheduler.stop()


def _events(handler: Handler) -> Callable[[web.Application], AsyncIterator[None]]:
    async def _ctx(app: web.Application) -> AsyncIterator[None]:
        dispatcher = EventDispatcher(app[SESSIONS], handler, clock=app[CLOCK], services=app[SERVICES])
        app[EVENTS] = dispatcher
        await dispatcher.resume()
        try:
            yield
        finally:
            await dispatcher.close(app[SETTINGS].shutdown_grace_seconds)

    return _ctx


async def _adapters(app: web.Application) -> AsyncIterator[None]:
    started: list[Adapter] = []
    try:
        for adapter in app[ADAPTERS].values():
            await adapter.start()
            started.append(adapter)
        yield
    finally:
        for adapter in reversed(started):
            await adapter.close()


# -- small routes -----------------------------------------------------------------


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _to_sandbox(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/sandbox")
