"""Dialogues: people say or tap, the bot answers, on any of the bot's messengers.

``Chat`` is the one interface the scripts speak (``say``, ``tap``, ``read``),
with one driver per messenger:

- ``SandboxChat``: the sandbox page's JSON routes.
- ``WeComChat``: encrypted, signed callbacks posted (as WeCom does) to the
  real ``/wecom/callback``; a tap is a ``template_card_event`` carrying the
  card's task id and the button's key; what a person sees is what the
  WeCom emulator recorded: app messages, and cards updated in place.
- ``DingTalkChat``: signed robot callbacks to ``/dingtalk/callback``; a tap
  on a link button sends the button's text command back as a message (how
  DingTalk buttons work here); what a person sees is the emulator's
  recorded robot messages.

Everything real between the messenger and the database: the adapter's
routes over loopback HTTP, dedupe, per-user dispatch, the router, the
repository, the outbox and the platform API (the emulators).  Only time is
fake (``Clock``).  Every driver renders a delivery as the same plain text
(``show``: title, description, fields, lines, buttons), so a script's
literal expectations hold on each messenger; where a platform shows
something else, the driver normalises it and says so.

A driver lives for a whole test (the people and their phones); ``running``
starts the bot for it, and leaving it stops the bot, like a restart.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any, ClassVar

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import CLOCK, EVENTS, OUTBOX, SESSIONS, create_app
from bot.dingtalk import CALLBACK_PATH as DINGTALK_CALLBACK
from bot.dingtalk import constants as dingtalk_constants
from bot.dingtalk.render import COMMANDS_PREFIX as DINGTALK_COMMANDS
from bot.dingtalk.render import LIST_NUMBER_STOP as DINGTALK_LIST_NUMBER_STOP
from bot.settings import Settings
from bot.wecom import CALLBACK_PATH as WECOM_CALLBACK
from bot.wecom.render import MORE_COMMANDS_PREFIX as WECOM_MORE_COMMANDS
from handlers.base import Handler
from handlers.router import make_router
from storage.models.messaging import OutboxRow, OutboxStatus
from tests.emulators import dingtalk as dingtalk_emulator
from tests.emulators import wecom as wecom_emulator

#: 2026-12-01 17:00 in Nanchang, a Tuesday.
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

#: The sandbox's bundled sample directory names members by sandbox id only.
SAMPLE_DIRECTORY = Path(__file__).parents[2] / "scoring_core" / "data" / "sample-directory.yaml"


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def show(view: dict[str, Any]) -> str:
    """A delivery as a person reads it: the sandbox page's drawing as plain text."""
    if view["kind"] in ("text", "markdown"):
        return str(view["text"])
    if view["kind"] == "card":
        lines = [f"【{view['title']}】"]
        if view["description"]:
            lines.append(view["description"])
        lines += [f"{k}：{v}" for k, v in view["fields"]]
        lines += view["lines"]
        if view["buttons"]:
            lines.append(" ".join(f"[{b['text']}]" for b in view["buttons"]))
        return "\n".join(lines)
    return f"（文件 {view['filename']}）"


def _card(
    title: str, description: str, fields: list[list[str]], lines: list[str], buttons: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "kind": "card",
        "title": title,
        "description": description,
        "fields": fields,
        "lines": lines,
        "buttons": buttons,
    }


def _file(filename: str, data: bytes) -> dict[str, Any]:
    mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return {"kind": "file", "filename": filename, "url": f"data:{mime};base64,{base64.b64encode(data).decode()}"}


_LISTED = re.compile(r"(.+?)（([^（）]+)）$")


def listed_commands(text: str) -> list[dict[str, str]]:
    """Buttons a platform lists in the body as text commands: "满分 4（满分）；退出（退出）"."""
    buttons = []
    for item in text.split("；"):
        m = _LISTED.match(item)
        assert m is not None, f"not a listed command: {item!r}"
        buttons.append({"text": m[1], "key": m[2]})
    return buttons


#: Platform message ids unique across restarts within a test run (a reused id is a platform retry).
_IDS = count(1)


@dataclass
class Person:
    """One person's phone: how far they have read, and the last card they can tap."""

    seen: int = 0
    card: dict[str, Any] | None = None  # driver-specific: what a tap needs
    keys: set[str] = field(default_factory=set)  # every command the last card offers
    views: list[dict[str, Any]] = field(default_factory=list)


class Chat(ABC):
    """The people of a test talking to one running bot over one messenger."""

    name: ClassVar[str]

    def __init__(self, directory: Path) -> None:
        #: a directory naming each sample member on this messenger by their sandbox id
        self.directory = directory
        self.people: dict[str, Person] = {}
        self._client: TestClient[Any, Any] | None = None
        self.clock = Clock()
        #: a script that makes the platform refuse a send sets this
        self.refusals_expected = False

    # --- what scripts use ------------------------------------------------------

    async def say(self, user: str, text: str, *, msg_id: str | None = None) -> str:
        """``user`` types ``text``; the bot's answers to them, one after another.

        The same ``msg_id`` twice is the platform delivering one message again.
        """
        await self._post_text(user, text, msg_id or f"m{next(_IDS)}")
        await self.settle()
        return await self.read(user)

    async def tap(self, user: str, key: str) -> str:
        """``user`` taps the button with ``key`` on the last card they got.

        A walk card's keys name its unit (``满分 @市委组织部``); ``key`` may leave that off.
        """
        await self._post_tap(user, self.button(user, key))
        await self.settle()
        return await self.read(user)

    async def read(self, user: str) -> str:
        """What reached ``user`` since they last looked (answers and notices)."""
        views = await self._new_views(user)
        self.person(user).views += views
        return "\n---\n".join(show(v) for v in views)

    def button(self, user: str, key: str) -> str:
        """The key of the button on ``user``'s last card that ``key`` names."""
        keys = self.person(user).keys
        if key in keys:
            return key
        found = [k for k in keys if k.startswith(f"{key} @")]
        assert len(found) == 1, f"no button {key!r} on {user}'s last card: {sorted(keys)}"
        return found[0]

    @property
    def views(self) -> dict[str, list[dict[str, Any]]]:
        """Everything each person has read, as sandbox-page views."""
        return {user: p.views for user, p in self.people.items()}

    @property
    def app(self) -> web.Application:
        app = self.client.server.app
        assert app is not None
        return app

    # --- the bot's life ----------------------------------------------------------

    @asynccontextmanager
    async def running(self, db_url: str, clock: Clock, *, handler: Handler | None = None) -> AsyncIterator[Chat]:
        """The bot's app on loopback with the scoring router; stops (like a restart) on exit."""
        self.clock = clock
        app = create_app(self.settings(db_url), clock=clock, handler=handler or make_router())
        self._client = TestClient(TestServer(app, host="127.0.0.1"))
        await self._client.start_server()
        try:
            yield self
        finally:
            await self._client.close()
            self._client = None

    async def settle(self) -> None:
        """Until every event is handled and no outbox row is due."""
        app = self.app
        await app[EVENTS].join()
        for _ in range(100):
            await app[OUTBOX].run_once()
            async with app[SESSIONS]() as s:
                due = await s.scalar(
                    select(func.count()).where(
                        OutboxRow.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                        OutboxRow.next_attempt_at <= app[CLOCK](),
                    )
                )
                failed = (
                    await s.execute(
                        select(OutboxRow.target_id, OutboxRow.last_error).where(OutboxRow.last_error.is_not(None))
                    )
                ).all()
            # A dialogue's sends all go through: a retried or failed one is a wiring fault
            # (unless the script made the platform refuse some on purpose).
            assert not failed or self.refusals_expected, failed
            if not due:
                return
        raise AssertionError("outbox did not drain")

    @property
    def client(self) -> TestClient[Any, Any]:
        assert self._client is not None, "the bot is not running"
        return self._client

    def person(self, user: str) -> Person:
        return self.people.setdefault(user, Person())

    def base_settings(self, db_url: str, **platform: Any) -> Settings:
        # The reminder sweep runs on its own timer: off, so a dialogue's answers are only the answers.
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=db_url,
            shutdown_grace_seconds=0,
            schedules_enabled=False,
            directory_path=self.directory,
            **platform,
        )

    async def start(self) -> None:  # noqa: B027 - optional: the sandbox has no stand-in
        """Start the platform's stand-in (once per test)."""

    async def stop(self) -> None:  # noqa: B027 - optional: the sandbox has no stand-in
        """Stop it; fail on calls the platform would not have answered."""

    # --- per messenger -------------------------------------------------------------

    @abstractmethod
    def settings(self, db_url: str) -> Settings: ...

    @abstractmethod
    async def _post_text(self, user: str, text: str, msg_id: str) -> None: ...

    @abstractmethod
    async def _post_tap(self, user: str, key: str) -> None: ...

    @abstractmethod
    async def _new_views(self, user: str) -> list[dict[str, Any]]:
        """What reached ``user`` since ``person.seen``, as sandbox views; moves ``seen`` on."""


class SandboxChat(Chat):
    name = "sandbox"

    def settings(self, db_url: str) -> Settings:
        return self.base_settings(db_url, sandbox=True)

    async def _post_text(self, user: str, text: str, msg_id: str) -> None:
        await self._post({"kind": "text", "text": text}, user, msg_id)

    async def _post_tap(self, user: str, key: str) -> None:
        body: dict[str, Any] = {"kind": "card_action", "action_key": key}
        card = self.person(user).card
        if card is not None:
            body["card_delivery"] = card["delivery"]
        await self._post(body, user, f"m{next(_IDS)}")

    async def _post(self, body: dict[str, Any], user: str, msg_id: str) -> None:
        body = {"client_msg_id": msg_id, "user_id": user, **body}
        response = await self.client.post("/sandbox/api/events", json=body)
        assert response.status == 200, await response.text()

    async def _new_views(self, user: str) -> list[dict[str, Any]]:
        person = self.person(user)
        response = await self.client.get(
            "/sandbox/api/messages", params={"kind": "user", "id": user, "after": person.seen}
        )
        assert response.status == 200
        messages = (await response.json())["messages"]
        for m in messages:
            person.seen = max(person.seen, m["id"])
            if m["view"]["kind"] == "card":
                person.card = {"delivery": m["id"]}
                person.keys = {b["key"] for b in m["view"]["buttons"]}
        return [m["view"] for m in messages]


class SettingsSandboxChat(SandboxChat):
    """The sandbox with settings a test chooses (schedules on, a dev clock...)."""

    def __init__(self, make_settings: Callable[[str], Settings]) -> None:
        super().__init__(SAMPLE_DIRECTORY)
        self._make_settings = make_settings

    def settings(self, db_url: str) -> Settings:
        return self._make_settings(db_url)


class WeComChat(Chat):
    name = "wecom"
    CORP_ID = "ww6a1f3c2b9d8e7f01"
    AGENT_ID = 1000002
    SECRET = "SEKRIT-corp-secret-5f2c9a"
    TOKEN = "SEKRIT-callback-token-77"
    AES_KEY = base64.b64encode(b"scorebot-wecom-aes-key-32-bytes!").decode()[:-1]

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.emulator = wecom_emulator.WeComEmulator(corp_id=self.CORP_ID, secret=self.SECRET)
        # WeCom's per-minute limits count on the bot's (fake) clock.
        self.emulator.clock = lambda: self.clock().timestamp()

    async def start(self) -> None:
        await self.emulator.start()

    async def stop(self) -> None:
        await self.emulator.stop()
        assert self.emulator.unexpected == [], self.emulator.unexpected

    def settings(self, db_url: str) -> Settings:
        return self.base_settings(
            db_url,
            wecom_corp_id=self.CORP_ID,
            wecom_agent_id=self.AGENT_ID,
            wecom_secret=self.SECRET,
            wecom_token=self.TOKEN,
            wecom_aes_key=self.AES_KEY,
            wecom_api_base=self.emulator.url,
        )

    @property
    def _sender(self) -> wecom_emulator.CallbackSender:
        return wecom_emulator.CallbackSender(
            self.client.session,
            str(self.client.make_url(WECOM_CALLBACK)),
            token=self.TOKEN,
            aes_key=self.AES_KEY,
            corp_id=self.CORP_ID,
            agent_id=self.AGENT_ID,
        )

    async def _callback(self, plaintext: str) -> None:
        [result] = await self._sender.post(plaintext, timestamp=str(self._now()))
        assert result.status == 200, result

    def _now(self) -> int:
        return int(self.clock().timestamp())

    async def _post_text(self, user: str, text: str, msg_id: str) -> None:
        await self._callback(
            wecom_emulator.text_callback(
                user, text, msg_id=msg_id, created=self._now(), corp_id=self.CORP_ID, agent_id=self.AGENT_ID
            )
        )

    async def _post_tap(self, user: str, key: str) -> None:
        card = self.person(user).card
        assert card is not None, f"{user} has no card to tap"
        if key not in card["buttons"]:
            # A command the card lists in its body (more than WeCom's 6 buttons): typed.
            assert key in card["typed"], f"no button {key!r} on {user}'s last card: {card}"
            await self._post_text(user, key, f"m{next(_IDS)}")
            return
        vote = card.get("vote")
        await self._callback(
            wecom_emulator.card_click_callback(
                user,
                vote["submit"] if vote and key in vote["options"] else key,
                task_id=card["task_id"],
                response_code=self.emulator.click_code(),
                created=self._now(),
                corp_id=self.CORP_ID,
                agent_id=self.AGENT_ID,
                chosen=(vote["question"], key) if vote and key in vote["options"] else None,
            )
        )

    async def _new_views(self, user: str) -> list[dict[str, Any]]:
        person = self.person(user)
        feed = self.emulator.feed
        views = []
        for kind, body in feed[person.seen :]:
            to = body["touser"].split("|") if kind == "send" else body["userids"]
            if user in to:
                views.append(self._view(person, kind, body))
        person.seen = len(feed)
        return views

    def _view(self, person: Person, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind == "update":
            # A card updated in place reads as the new card (the sandbox draws it anew too).
            assert "template_card" in body, f"only the button greyed out: {body}"
            return self._card_view(person, body["template_card"])
        msgtype = body["msgtype"]
        if msgtype == "text":
            return {"kind": "text", "text": body["text"]["content"]}
        if msgtype == "markdown":
            return self._markdown_view(person, body["markdown"]["content"])
        if msgtype == "template_card":
            return self._card_view(person, body["template_card"])
        if msgtype in ("file", "image"):
            upload = self.emulator.media(body[msgtype]["media_id"])
            return _file(upload.filename, upload.data)
        raise AssertionError(f"a WeCom message the driver cannot show: {body}")

    def _card_view(self, person: Person, card: dict[str, Any]) -> dict[str, Any]:
        lines = card.get("sub_title_text", "").split("\n") if card.get("sub_title_text") else []
        buttons = [{"text": b["text"], "key": b["key"]} for b in card.get("button_list", [])]
        vote = None
        if "checkbox" in card:
            # A vote card: ticking an option and submitting reads as the option's button.
            options = card["checkbox"]["option_list"]
            buttons = [{"text": o["text"], "key": o["id"]} for o in options]
            vote = {
                "question": card["checkbox"]["question_key"],
                "submit": card["submit_button"]["key"],
                "options": {o["id"] for o in options},
            }
        typed: list[dict[str, str]] = []
        if lines and lines[-1].startswith(WECOM_MORE_COMMANDS):
            # WeCom shows at most 6 buttons: the rest are listed in the body as text commands.
            # Normalised: listed commands read as the buttons they stand for.
            typed = listed_commands(lines.pop().removeprefix(WECOM_MORE_COMMANDS))
        if buttons or typed:
            person.card = {
                "task_id": card["task_id"],
                "buttons": {b["key"] for b in buttons},
                "typed": {b["key"] for b in typed},
                "vote": vote,
            }
            person.keys = {b["key"] for b in (*buttons, *typed)}
        title = card["main_title"]
        return _card(
            title["title"],
            title.get("desc", ""),
            [[row["keyname"], row["value"]] for row in card.get("horizontal_content_list", [])],
            lines,
            buttons + typed,
        )

    def _markdown_view(self, person: Person, content: str) -> dict[str, Any]:
        lines = content.split("\n")
        m = re.fullmatch(r"\*\*(.+)\*\*", lines[0])
        if m is None:
            return {"kind": "markdown", "text": content}
        # A card sent as markdown (no card link configured for text_notice): "**title**",
        # "> description", then rows and lines; its buttons listed as text commands.
        commands = WECOM_MORE_COMMANDS.replace("其余", "可")
        typed = listed_commands(lines.pop().removeprefix(commands)) if lines[-1].startswith(commands) else []
        if typed:
            person.card = {"task_id": None, "buttons": set(), "typed": {b["key"] for b in typed}}
            person.keys = {b["key"] for b in typed}
        description = lines[1].removeprefix("> ") if len(lines) > 1 and lines[1].startswith("> ") else ""
        rest = lines[2:] if description else lines[1:]
        return _card(m[1], description, [], rest, typed)


_DINGTALK_NUMBERED = re.compile(rf"^( {{0,3}}\d{{1,9}}){DINGTALK_LIST_NUMBER_STOP}")


class DingTalkChat(Chat):
    name = "dingtalk"
    APP_KEY = "dingk3y5c0reb0tapp"
    APP_SECRET = "SEKRIT-dingtalk-app-secret-9f3e1c"
    ROBOT_CODE = "dingrobotscorebot01"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.emulator = dingtalk_emulator.DingTalkEmulator(
            app_key=self.APP_KEY, app_secret=self.APP_SECRET, robot_code=self.ROBOT_CODE
        )

    async def start(self) -> None:
        await self.emulator.start()

    async def stop(self) -> None:
        await self.emulator.stop()
        assert self.emulator.unexpected == [], self.emulator.unexpected

    def settings(self, db_url: str) -> Settings:
        return self.base_settings(
            db_url,
            dingtalk_app_key=self.APP_KEY,
            dingtalk_app_secret=self.APP_SECRET,
            dingtalk_robot_code=self.ROBOT_CODE,
            dingtalk_api_base=self.emulator.url,
            dingtalk_oapi_base=self.emulator.url,  # media uploads use the old API host
        )

    async def _post_text(self, user: str, text: str, msg_id: str) -> None:
        now_ms = int(self.clock().timestamp() * 1000)
        body = dingtalk_emulator.robot_message(user, text, msg_id=msg_id, created_ms=now_ms, robot_code=self.ROBOT_CODE)
        sender = dingtalk_emulator.CallbackSender(
            self.client.session, str(self.client.make_url(DINGTALK_CALLBACK)), app_secret=self.APP_SECRET
        )
        [result] = await sender.post(body, timestamp_ms=now_ms)
        assert result.status == 200, result

    async def _post_tap(self, user: str, key: str) -> None:
        card = self.person(user).card
        assert card is not None, f"{user} has no card to tap"
        # A link (a button, or the body's list of every command) sends its command into
        # the chat as the user; a command listed without a link the user types.
        assert key in card["links"] or key in card["typed"], f"no button {key!r} on {user}'s last card: {card}"
        await self._post_text(user, card["links"].get(key, key), f"m{next(_IDS)}")

    async def _new_views(self, user: str) -> list[dict[str, Any]]:
        person = self.person(user)
        sent = self.emulator.one_to_one
        views = [self._view(person, m) for m in sent[person.seen :] if user in m.user_ids]
        person.seen = len(sent)
        return views

    def _view(self, person: Person, message: dingtalk_emulator.RobotMessage) -> dict[str, Any]:
        if message.msg_key == "sampleFile":
            upload = self.emulator.media(message.param["mediaId"])
            return _file(upload.filename, upload.data)
        shown = dingtalk_emulator.shown(message)
        if message.msg_key == "sampleText":
            return {"kind": "text", "text": shown}
        # DingTalk markdown puts each line in its own paragraph: one line each again.
        # A leading "1．" is how the renderer keeps "1. " from becoming a markdown list
        # (which would renumber tied ranks): normalised, it reads "1. " as typed.
        lines = [_DINGTALK_NUMBERED.sub(r"\1. ", line) for line in message.param["text"].split("\n\n")]
        m = re.fullmatch(r"#### \*\*(.+)\*\*", lines[0])
        if m is None:
            return {"kind": "markdown", "text": "\n".join(lines)}
        # A card: "#### **title**", "> description", rows and lines, then its buttons
        # listed as commands (all of them; the first few are link buttons too), each a
        # link that sends the command it shows.  Normalised: the list reads as the
        # buttons; the link buttons must be among them.
        listed: list[dict[str, str]] = []
        links = {}
        if lines[-1].startswith(DINGTALK_COMMANDS):
            commands = lines.pop().removeprefix(DINGTALK_COMMANDS)
            for label, url in dingtalk_emulator.markdown_links(commands):
                [button] = listed_commands(label)
                assert dingtalk_emulator.sent_by_link(url) == button["key"], (label, url)
                listed.append(button)
                links[button["key"]] = button["key"]
            assert dingtalk_emulator.unlinked(commands) == "；".join(f"{b['text']}（{b['key']}）" for b in listed)
        buttons = {}
        for k, v in message.param.items():
            if k.startswith("actionURL") or k == "singleURL":
                content = dingtalk_emulator.sent_by_link(v)
                buttons[content] = content
        assert len(buttons) <= dingtalk_constants.APP_CARD_MAX_BUTTONS
        assert set(buttons) <= {b["key"] for b in listed}, (buttons, listed)
        assert all(f"[{b['text']}]" in shown for b in listed if b["key"] in buttons), shown
        if listed:
            person.card = {"links": links, "typed": {b["key"] for b in listed} - set(links)}
            person.keys = {b["key"] for b in listed}
        description = lines[1].removeprefix("> ") if len(lines) > 1 and lines[1].startswith("> ") else ""
        rest = lines[2:] if description else lines[1:]
        return _card(m[1], description, [], rest, listed)


DRIVERS: dict[str, type[Chat]] = {d.name: d for d in (SandboxChat, WeComChat, DingTalkChat)}

#: What a script calls to run the bot: ``async with bot(db_url, clock) as chat``.
Bot = Callable[[str, Clock], AbstractAsyncContextManager[Chat]]


def directory_on_every_messenger(path: Path) -> Path:
    """The sample directory with each member reachable on WeCom and DingTalk by their sandbox id."""
    text = re.sub(r"sandbox: ([\w.@-]+)", r"sandbox: \1, wecom: \1, dingtalk: \1", SAMPLE_DIRECTORY.read_text("utf-8"))
    path.write_text(text, encoding="utf-8")
    return path
