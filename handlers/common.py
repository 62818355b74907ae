"""What every feature router shares: who is asking, what they may do, the open round, paging, times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import UserKey
from bot.messages import Button, ButtonStyle, Message, Target, Text
from handlers.base import Context
from schedules.jobs import Schedules
from schedules.plan import recipients_from_directory
from schedules.storage_source import StorageRounds
from scoring_core.directory import Directory, Member, Role
from scoring_core.errors import ConfigError, DomainError
from scoring_core.names import Candidates, Exact, NameIndex, NoMatch
from scoring_core.scheme import Scheme
from storage.errors import NotFound
from storage.models.scoring import RoundStatus
from storage.scoring import Actor, RoundInfo, current_round

#: Deadlines are typed and shown in the city's time.
LOCAL = ZoneInfo("Asia/Shanghai")
#: Lines of a list per message: with a title and a footer it fits one phone screen.
PAGE_LINES = 12

NOT_IN_DIRECTORY = "您好，您还不在考评名录中，暂时无法使用考评助手；请联系市委平安办开通。"


class Refused(DomainError):
    """The caller may not do this (role or department); nothing was changed."""


@dataclass(frozen=True, slots=True)
class Caller:
    key: UserKey
    member: Member

    @property
    def department(self) -> str:
        return self.member.department

    @property
    def role(self) -> Role:
        return self.member.role

    @property
    def actor(self) -> Actor:
        return Actor(f"{self.key.platform.value}:{self.key.user_id}", self.member.name, self.member.department)

    @property
    def is_admin(self) -> bool:
        return self.member.role is Role.ADMIN

    @property
    def reads_everything(self) -> bool:
        return self.member.role in (Role.ADMIN, Role.LEADER)


def scheme_of(ctx: Context) -> Scheme:
    if ctx.services.scheme is None:
        raise ConfigError("考核方案未加载，请联系管理员检查配置")
    return ctx.services.scheme


def directory_of(ctx: Context) -> Directory:
    if ctx.services.directory is None:
        raise ConfigError("名录未加载，请联系管理员检查配置")
    return ctx.services.directory


def schedules_of(ctx: Context) -> Schedules:
    """The schedules the app runs (services built without them: the defaults, this platform)."""
    if ctx.services.schedules is not None:
        return ctx.services.schedules
    directory = directory_of(ctx)
    recipients = recipients_from_directory(directory, [ctx.event.platform.value])
    return Schedules(StorageRounds(scheme_of(ctx), directory), recipients)


def identify(ctx: Context) -> Caller | None:
    member = directory_of(ctx).member(ctx.event.platform.value, ctx.event.user_id)
    return Caller(ctx.event.user, member) if member is not None else None


def require(caller: Caller, roles: Sequence[Role], doing: str) -> None:
    """Refuse in one line when the caller's role may not do this."""
    if caller.role in roles:
        return
    if caller.role is Role.LEADER:
        raise Refused(f"领导账号只能查看排名、明细和进度，不能{doing}。")
    if Role.LEADER in roles:
        raise Refused(f"只有领导和市委平安办管理员可以{doing}。")
    raise Refused(f"只有市委平安办管理员可以{doing}。")


async def latest_round(session: AsyncSession) -> RoundInfo:
    try:
        return await current_round(session)
    except NotFound as exc:
        raise DomainError("还没有开启考核；开启后即可评分和查看排名。") from exc


async def open_round_info(session: AsyncSession) -> RoundInfo:
    info = await latest_round(session)
    if info.status is not RoundStatus.OPEN:
        raise DomainError(f"“{info.name}”已结束，目前没有进行中的考核。")
    return info


def exact_name(index: NameIndex, typed: str, what: str) -> str:
    """The one name meant by ``typed``, or a DomainError listing candidates / saying none."""
    found = index.match(typed)
    if isinstance(found, Exact):
        return found.name
    if isinstance(found, Candidates):
        raise DomainError(f"“{found.typed}”可能是：{'、'.join(found.names[:8])}；请写全称")
    assert isinstance(found, NoMatch)
    raise DomainError(f"没有找到{what}“{found.typed}”，请检查名称")


def local(at: datetime) -> str:
    """A time for people: 12月20日 18:00 in the city's zone."""
    t = at.astimezone(LOCAL)
    return f"{t.month}月{t.day}日 {t:%H:%M}"


@dataclass(frozen=True, slots=True)
class Page:
    lines: tuple[str, ...]
    footer: str
    next_button: Button | None


def page_of(lines: Sequence[str], page: int, command: str, per_page: int = PAGE_LINES) -> Page:
    """One page of a long list, a "第1/3页" footer and a button whose key asks for the next page."""
    pages = max(1, -(-len(lines) // per_page))
    page = min(max(page, 1), pages)
    shown = tuple(lines[(page - 1) * per_page : page * per_page])
    if pages == 1:
        return Page(shown, "", None)
    nxt = Button(text="下一页", key=f"{command} 第{page + 1}页", style=ButtonStyle.PRIMARY) if page < pages else None
    return Page(shown, f"第{page}/{pages}页", nxt)


async def tell_department(ctx: Context, caller: Caller, message: Message) -> int:
    """Send ``message`` to the caller's department's other members on this platform."""
    sent = 0
    platform = ctx.event.platform
    for member in directory_of(ctx).members_of(caller.department):
        uid = member.ids.get(platform.value)
        if uid is None or uid == ctx.event.user_id:
            continue
        await ctx.send(Target.user(platform, uid), message)
        sent += 1
    return sent


def text(*lines: str) -> Text:
    return Text(content="\n".join(line for line in lines if line))
