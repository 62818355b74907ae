"""WeCom template cards as pydantic models that enforce the platform's limits.

Display text over a limit is shortened (with "…") rather than refused: a
long unit name should not stop a card.  Counts, keys and task ids are not
display text: breaking those limits is a bug upstream and raises.
Dump with ``card.payload()``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.wecom import constants as c

ELLIPSIS = "…"


def shorten(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters, the cut marked with an ellipsis."""
    if len(text) <= max_chars:
        return text
    return text[: max_chars - 1] + ELLIPSIS


def _shortener(max_chars: int) -> Callable[[str], str]:
    return lambda text: shorten(text, max_chars)


def _check_key(key: str) -> str:
    size = len(key.encode("utf-8"))
    if not key or size > c.CARD_KEY_MAX_BYTES:
        raise ValueError(f"key must be 1..{c.CARD_KEY_MAX_BYTES} bytes, got {size}")
    return key


def _check_task_id(task_id: str) -> str:
    if not task_id or len(task_id.encode("utf-8")) > c.CARD_TASK_ID_MAX_BYTES:
        raise ValueError(f"task_id must be 1..{c.CARD_TASK_ID_MAX_BYTES} bytes")
    bad = set(task_id) - c.CARD_TASK_ID_ALPHABET
    if bad:
        raise ValueError(f"task_id has characters outside [0-9A-Za-z_-@]: {sorted(bad)}")
    return task_id


Title = Annotated[str, AfterValidator(_shortener(c.CARD_TITLE_MAX_CHARS))]
Desc = Annotated[str, AfterValidator(_shortener(c.CARD_DESC_MAX_CHARS))]
SubTitle = Annotated[str, AfterValidator(_shortener(c.CARD_SUB_TITLE_MAX_CHARS))]
SourceDesc = Annotated[str, AfterValidator(_shortener(c.CARD_SOURCE_DESC_MAX_CHARS))]
KeyName = Annotated[str, AfterValidator(_shortener(c.CARD_KEYNAME_MAX_CHARS))]
Value = Annotated[str, AfterValidator(_shortener(c.CARD_VALUE_MAX_CHARS))]
ButtonText = Annotated[str, AfterValidator(_shortener(c.CARD_BUTTON_TEXT_MAX_CHARS))]
Key = Annotated[str, AfterValidator(_check_key)]
TaskId = Annotated[str, AfterValidator(_check_task_id)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Model):
    desc: SourceDesc
    icon_url: str | None = None


class MainTitle(_Model):
    title: Title
    desc: Desc | None = None


class HorizontalContent(_Model):
    keyname: KeyName
    value: Value


class CardActionType(IntEnum):
    URL = 1
    MINI_PROGRAM = 2


class CardAction(_Model):
    type: CardActionType = CardActionType.URL
    url: str


class ButtonStyle(IntEnum):
    # WeCom's 1-4 button looks; what each looks like is the client's business.
    PRIMARY = 1
    DEFAULT = 2
    DANGER = 3
    PLAIN = 4


class Button(_Model):
    text: ButtonText
    key: Key
    style: ButtonStyle = ButtonStyle.DEFAULT


class SubmitButton(_Model):
    text: ButtonText
    key: Key


class CheckboxOption(_Model):
    id: Key
    text: Value
    is_checked: bool = False


class Checkbox(_Model):
    question_key: Key
    option_list: list[CheckboxOption] = Field(min_length=1, max_length=c.CARD_VOTE_MAX_OPTIONS)
    mode: Literal[0, 1] = 0  # 0 single choice, 1 multiple


class SelectOption(_Model):
    id: Key
    text: Value


class SelectionItem(_Model):
    question_key: Key
    title: Title | None = None
    selected_id: str | None = None
    option_list: list[SelectOption] = Field(min_length=1, max_length=c.CARD_SELECT_MAX_OPTIONS)


Rows = Annotated[list[HorizontalContent], Field(max_length=c.CARD_HORIZONTAL_MAX_ROWS)]


class _CardBase(_Model):
    source: Source | None = None
    main_title: MainTitle
    sub_title_text: SubTitle | None = None
    horizontal_content_list: Rows = Field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        if not data.get("horizontal_content_list"):
            data.pop("horizontal_content_list", None)
        return data


class TextNoticeCard(_CardBase):
    card_type: Literal["text_notice"] = "text_notice"
    # WeCom requires a card_action of type 1 or 2 on text_notice (errcode 42045).
    card_action: CardAction
    task_id: TaskId | None = None


class ButtonInteractionCard(_CardBase):
    card_type: Literal["button_interaction"] = "button_interaction"
    task_id: TaskId
    button_list: list[Button] = Field(min_length=1, max_length=c.CARD_MAX_BUTTONS)


class VoteInteractionCard(_CardBase):
    card_type: Literal["vote_interaction"] = "vote_interaction"
    task_id: TaskId
    checkbox: Checkbox
    submit_button: SubmitButton


class MultipleInteractionCard(_CardBase):
    card_type: Literal["multiple_interaction"] = "multiple_interaction"
    task_id: TaskId
    select_list: list[SelectionItem] = Field(min_length=1, max_length=c.CARD_SELECT_MAX)
    submit_button: SubmitButton


TemplateCard = TextNoticeCard | ButtonInteractionCard | VoteInteractionCard | MultipleInteractionCard
