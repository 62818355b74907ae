"""Stream mode: the official ``dingtalk-stream`` SDK's long connection, kept off the bot's loop.

The SDK opens its connection with a blocking ``requests`` call and runs its
own reconnect loop; both run here in a thread with its own event loop, so
the bot's loop never blocks.  Its handlers parse frames with the same
functions as the HTTP callback and hand the events to the sink on the bot's
loop; the SDK acknowledges each frame with what they return.

What the SDK logs goes through ``SdkLogFilter``: it logs the connection
ticket and whole frames (session webhooks in them), which are hidden, and
it reports our own stop of its loop as a network error, which is dropped.
When DingTalk refuses the app's credentials, the SDK would try again every
10 s without saying why; ``open_connection`` says it once, naming the
settings, and backs off.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Final

import dingtalk_stream
import requests

# The SDK's loop catches ``websockets.exceptions.ConnectionClosedError`` by that
# attribute, which websockets (>= 14) sets only once the submodule is imported:
# stopped before its first connection (while DingTalk refused the credentials),
# the except clause itself raised AttributeError and the loop ended in a traceback.
import websockets.exceptions  # noqa: F401
from dingtalk_stream import AckMessage, CallbackMessage

from bot.dingtalk import constants as c
from bot.dingtalk.config import DingTalkConfig
from bot.dingtalk.errors import CallbackRejected, redact
from bot.dingtalk.event import Expected, card_event, robot_event
from bot.events import InboundEvent
from scoring_core.errors import ScorebotError

log = logging.getLogger(__name__)

Deliver = Callable[[InboundEvent], Awaitable[bool]]
Ack = tuple[int, str]

#: The logger the SDK's client is given (ours, so levels and handlers are ours).
SDK_LOGGER: Final = "bot.dingtalk.sdk"
#: The SDK's websocket library logs the handshake, ``?ticket=`` included, at DEBUG.
WEBSOCKETS_LOGGER: Final = "websockets.client"

# What dingtalk-stream 0.24 logs, word for word (DingTalkStreamClient.start).
_SDK_NETWORK_EXCEPTION: Final = "[start] network exception, error=%s"
_SDK_OPEN_FAILED: Final = "open connection failed"
_SDK_UNKNOWN_EXCEPTION: Final = "unknown exception"


class SdkLogFilter(logging.Filter):
    """The SDK's log records, secrets hidden and our own stops kept quiet.

    - Every message is rendered and passed through ``redact`` (the traceback
      too): the SDK logs ``endpoint is {..., 'ticket': ...}`` at INFO on every
      connection, and frames of unknown topics whole, session webhooks in them.
    - ``[start] network exception`` for a ``CancelledError`` is our close
      cancelling its loop, not the network: dropped.  A real drop
      (``ConnectionClosedError``) is still logged.
    - ``open connection failed``: ``_SdkClient.open_connection`` has already
      said why: dropped.
    - ``unknown exception`` comes with an argument and no placeholder, which
      logging would report as a "--- Logging error ---": given one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == _SDK_NETWORK_EXCEPTION and args and isinstance(args[0], asyncio.CancelledError):
            return False
        if record.msg == _SDK_OPEN_FAILED and not args:
            return False
        if record.msg == _SDK_UNKNOWN_EXCEPTION and args:
            record.msg = _SDK_UNKNOWN_EXCEPTION + ": %s"
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a call whose arguments do not fit its format
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_SDK_LOG_FILTER: Final = SdkLogFilter()


def hide_sdk_secrets() -> None:
    """Put ``SdkLogFilter`` on the loggers the SDK writes to (once; adding it again is a no-op)."""
    for name in (SDK_LOGGER, WEBSOCKETS_LOGGER):
        logging.getLogger(name).addFilter(_SDK_LOG_FILTER)


async def _hand_over(event: InboundEvent | None, deliver: Deliver) -> Ack:
    if event is None:
        return AckMessage.STATUS_OK, "ignored"
    try:
        fresh = await deliver(event)
    except ScorebotError as exc:
        # Not recorded: a failed ack lets DingTalk deliver the frame again (UNCONFIRMED).
        log.error("dingtalk stream event not recorded: %s", exc)
        return AckMessage.STATUS_SYSTEM_EXCEPTION, "not recorded"
    if not fresh:
        log.info("dingtalk stream event repeated: %s", event.dedupe_key)
    return AckMessage.STATUS_OK, "OK"


class RobotMessageHandler(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    """Robot messages (topic ``/v1.0/im/bot/messages/get``)."""

    def __init__(self, deliver: Deliver, expected: Expected) -> None:
        super().__init__()
        self._deliver = deliver
        self._expected = expected

    async def process(self, message: CallbackMessage) -> Ack:
        try:
            event = robot_event(message.data, self._expected)
        except CallbackRejected as exc:
            log.warning("dingtalk stream robot message refused: %s", exc.errmsg)
            return AckMessage.STATUS_BAD_REQUEST, exc.errmsg
        return await _hand_over(event, self._deliver)


class CardCallbackHandler(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    """Interactive card button callbacks (topic ``/v1.0/card/instances/callback``)."""

    def __init__(self, deliver: Deliver, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self._deliver = deliver
        self._clock = clock

    async def process(self, message: CallbackMessage) -> Ack:
        try:
            event = card_event(message.data, delivery_id=message.headers.message_id or "", received_at=self._clock())
        except CallbackRejected as exc:
            log.warning("dingtalk stream card callback refused: %s", exc.errmsg)
            return AckMessage.STATUS_BAD_REQUEST, exc.errmsg
        return await _hand_over(event, self._deliver)


class _SdkClient(dingtalk_stream.DingTalkStreamClient):  # type: ignore[misc]
    """The SDK's client, opening its connection at our API base.

    The SDK takes the open-connection URL from a module constant; a
    government deployment needs its own host, so this one call is ours.
    After a ``None`` from it the SDK waits 10 s and calls again; while
    DingTalk refuses the credentials we answer ``None`` without a call
    until the back-off has passed, so the tries thin out to one every
    ``STREAM_REFUSED_BACKOFF_MAX_SECONDS``.
    """

    def __init__(self, config: DingTalkConfig, *, clock: Callable[[], datetime]) -> None:
        hide_sdk_secrets()
        super().__init__(
            dingtalk_stream.Credential(config.app_key, config.app_secret.get_secret_value()),
            # Our logger, not the SDK's default: no handler added, levels ours.
            logger=logging.getLogger(SDK_LOGGER),
        )
        self._open_url = config.api_base + c.PATH_STREAM_OPEN
        self._clock = clock
        self.refusals = 0  # in a row
        self._next_try: datetime | None = None

    def open_connection(self) -> dict[str, Any] | None:
        # Blocking, on the receiver's own thread; the SDK retries on None.
        if self._next_try is not None and self._clock() < self._next_try:
            return None
        body = {
            "clientId": self.credential.client_id,
            "clientSecret": self.credential.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map],
            "ua": "scorebot/dingtalk-stream",
        }
        try:
            response = requests.post(self._open_url, json=body, timeout=c.API_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            log.warning("dingtalk stream: open connection failed: %s", redact(f"{type(exc).__name__}: {exc}"))
            return None
        if _refused(response.status_code):
            self._refused(f"HTTP {response.status_code} {_said(response)}")
            return None
        if response.status_code != 200:
            log.error("dingtalk stream: open connection HTTP %s %s", response.status_code, redact(response.text[:300]))
            return None
        try:
            answer = response.json()
        except ValueError:
            log.error("dingtalk stream: open connection answer is not JSON")
            return None
        if not isinstance(answer, dict) or not answer.get("endpoint") or not answer.get("ticket"):
            # An error body in a 200: DingTalk said no without the status.
            self._refused(f"HTTP 200 {_said(response)}")
            return None
        if self.refusals:
            log.warning("dingtalk stream: connection accepted after %d refusals", self.refusals)
        self.refusals, self._next_try = 0, None
        log.info("dingtalk stream: connecting")
        return answer

    def _refused(self, detail: str) -> None:
        self.refusals += 1
        wait = min(c.STREAM_REFUSED_BACKOFF_SECONDS * 2 ** (self.refusals - 1), c.STREAM_REFUSED_BACKOFF_MAX_SECONDS)
        self._next_try = self._clock() + timedelta(seconds=wait)
        if self.refusals == 1:
            log.error(
                "钉钉拒绝了 Stream 连接（%s）：请检查 SCOREBOT_DINGTALK_APP_KEY（当前 %s）"
                "与 SCOREBOT_DINGTALK_APP_SECRET 是否为该应用的 Client ID 与 Client Secret，"
                "以及应用是否已发布并开启 Stream 模式；将逐步延长间隔重试。"
                " / dingtalk stream: DingTalk refused the connection (%s): check SCOREBOT_DINGTALK_APP_KEY "
                "and SCOREBOT_DINGTALK_APP_SECRET; retrying with back-off",
                detail,
                self.credential.client_id,
                detail,
            )
        else:
            log.info(
                "dingtalk stream: still refused (%d in a row, %s), next try in %.0f s", self.refusals, detail, wait
            )


def _refused(status: int) -> bool:
    """A 4xx that is not about pace: DingTalk will answer the same until the settings change."""
    return 400 <= status < 500 and status not in (408, 429)


def _said(response: requests.Response) -> str:
    """DingTalk's code and message from an error answer, for the log (secrets hidden)."""
    try:
        answer = response.json()
    except ValueError:
        return "(not JSON)"
    if not isinstance(answer, dict):
        return "(not a JSON object)"
    return redact(f"code={answer.get('code', '')} message={answer.get('message', '')}")


class StreamReceiver:
    """Runs the SDK's connection loop on its own thread from ``start`` until ``close``."""

    def __init__(
        self, config: DingTalkConfig, accept: Deliver, expected: Expected, *, clock: Callable[[], datetime]
    ) -> None:
        self._accept = accept
        self.client = _SdkClient(config, clock=clock)
        self.client.register_callback_handler(c.TOPIC_ROBOT_MESSAGE, RobotMessageHandler(self.deliver, expected))
        self.client.register_callback_handler(c.TOPIC_CARD_CALLBACK, CardCallbackHandler(self.deliver, clock))
        self._main: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def deliver(self, event: InboundEvent) -> bool:
        """Hand an event to the sink on the bot's loop, from whichever loop the SDK runs."""
        main = self._main
        if main is None or asyncio.get_running_loop() is main:
            return await self._accept(event)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._on_main(event), main))

    async def _on_main(self, event: InboundEvent) -> bool:
        return await self._accept(event)

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._main = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run_thread, name="dingtalk-stream", daemon=True)
        self._thread.start()

    def _run_thread(self) -> None:
        # The SDK's own event loop on its own thread: its blocking calls block only it.
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        task = asyncio.create_task(self.client.start())
        await self._stop.wait()
        # The SDK's loop catches one cancellation and sleeps before reconnecting:
        # cancel until it is done.
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=c.STREAM_STOP_POLL_SECONDS)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("dingtalk stream: the SDK's loop ended with %s", redact(f"{type(error).__name__}: {error}"))

    async def close(self) -> None:
        thread = self._thread
        if thread is None:
            return
        await asyncio.to_thread(self._ready.wait, c.STREAM_STOP_TIMEOUT_SECONDS)
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        await asyncio.to_thread(thread.join, c.STREAM_STOP_TIMEOUT_SECONDS)
        if thread.is_alive():
            log.warning("dingtalk stream: connection thread did not stop in time")
        else:
            self._thread = None
