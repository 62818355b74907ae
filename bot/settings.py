"""All settings, read once from ``SCOREBOT_*`` environment variables and ``.env``.

Nothing else in the project reads ``os.environ``.  Secrets are ``SecretStr``
so they never print in logs or error messages.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from schedules.timing import DIGEST_AT, PolicyError, check_send_times, parse_quiet_hours, policy_from
from scoring_core.errors import ConfigError
from scoring_core.yaml_marks import say

WECOM_API_BASE = "https://qyapi.weixin.qq.com"
DINGTALK_API_BASE = "https://api.dingtalk.com"
DINGTALK_OAPI_BASE = "https://oapi.dingtalk.com"
#: The leaders' group on the sandbox page, the default when the sandbox is on.
SANDBOX_LEADERS = "sandbox:leaders"


class DingTalkWebhook(BaseModel):
    """A DingTalk custom group robot (自定义机器人): its webhook URL and signing secret.

    The URL carries the robot's access_token, so it is a secret as well.
    Without a secret the robot must use another security setting (keywords, IPs).
    A custom robot cannot post images or files: ``conversation_id``, the
    group's openConversationId when the app robot is in the same group,
    lets those go through the app robot instead.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: SecretStr
    secret: SecretStr | None = None
    conversation_id: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCOREBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///scorebot.db"
    scheme_path: Path | None = None
    directory_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # Shifts the bot's clock (e.g. "P3D" or seconds) to try deadlines and reminders in dev.
    clock_offset: timedelta = timedelta(0)
    # Dev only: lets an admin move the bot's clock while it runs (the chat command 调时).
    dev_clock: bool = False
    # The sandbox messenger at /sandbox; None: on exactly when no messenger is configured.
    sandbox: bool | None = None

    # How long shutdown waits for running handlers before cancelling them.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)

    # Schedules (reminders, digest, ranking push).  Leaders' groups as JSON,
    # each "platform:group id": SCOREBOT_LEADER_GROUPS='["wecom:leaders","sandbox:leaders"]'.
    # Unset: the sandbox's group when the sandbox is on (see ``leaders``), else none.
    schedules_enabled: bool = True
    leader_groups: list[str] | None = None
    # A send missed while the bot was down is caught up within this window, else skipped and logged.
    schedule_grace_minutes: int = Field(default=120, ge=0)
    schedule_sweep_seconds: float = Field(default=60.0, gt=0)
    # Nothing is sent in quiet hours ("21:00-08:00", local time; "off" for none).
    quiet_hours: str = "21:00-08:00"
    # Reminder policy defaults as JSON, any of: {"before_days": 5, "before_at": "09:30",
    # "last_day_at": "15:00", "deadline_day_at": ["09:30", "14:00"], "overdue_at": "09:30",
    # "escalate_overdue": true}; a round may change before_days (开启考核 … 提前3天).
    reminder_policy: Annotated[dict[str, Any], NoDecode] = Field(default_factory=dict, validate_default=True)
    # Holidays and 调休 days for years chinesecalendar does not have yet (docs/holidays.md).
    holidays_path: Path | None = None

    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_seconds: float = Field(default=2.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=600.0, gt=0)
    outbox_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_poll_seconds: float = Field(default=5.0, gt=0)

    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base: str = WECOM_API_BASE
    # Leaders' groups: group id -> group robot webhook key, as JSON
    # (SCOREBOT_WECOM_ROBOT_KEYS='{"leaders": "KEY"}').
    wecom_robot_keys: dict[str, SecretStr] = Field(default_factory=dict)
    # Page a button-less text_notice card opens (WeCom requires one).
    wecom_card_url: str | None = None

    dingtalk_app_key: str | None = None
    dingtalk_app_secret: SecretStr | None = None
    dingtalk_robot_code: str | None = None
    dingtalk_mode: Literal["http", "stream"] = "http"
    dingtalk_api_base: str = DINGTALK_API_BASE
    dingtalk_oapi_base: str = DINGTALK_OAPI_BASE
    # Leaders' groups: group id -> custom robot webhook, as JSON
    # (SCOREBOT_DINGTALK_ROBOT_WEBHOOKS='{"leaders": {"url": "https://…/robot/send?access_token=…",
    # "secret": "SEC…"}}').
    dingtalk_robot_webhooks: dict[str, DingTalkWebhook] = Field(default_factory=dict)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("clock_offset", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        """A bare number is seconds (``-4042207``), as the 调时 reply prints it.

        pydantic reads only ISO 8601 (``P3D``) or ``[-][D days, ]HH:MM:SS`` from a string.
        """
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+(\.\d+)?", value.strip()):
            return timedelta(seconds=float(value))
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        try:
            quiet = parse_quiet_hours(value)
        except PolicyError as exc:
            raise PydanticCustomError("schedule", exc.user_message) from exc
        if quiet.covers(DIGEST_AT):  # the reminder times are checked with the policy
            raise PydanticCustomError(
                "schedule", f"日报时间 {DIGEST_AT:%H:%M} 在免打扰时段（{quiet}）内，请调整免打扰时段"
            )
        return value

    @field_validator("reminder_policy", mode="before")
    @classmethod
    def _reminder_policy_json(cls, value: object) -> object:
        """JSON from the environment, read here so a typo is said in Chinese."""
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise PydanticCustomError("schedule", '应为 JSON，如 {"before_days": 3}') from exc
        if not isinstance(value, dict):
            raise PydanticCustomError("schedule", '应为 JSON 对象，如 {"before_days": 3}')
        return value

    @field_validator("reminder_policy")
    @classmethod
    def _reminder_policy(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        try:
            quiet = parse_quiet_hours(info.data.get("quiet_hours", "off"))
            check_send_times(policy_from(value), quiet)
        except PolicyError as exc:
            raise PydanticCustomError("schedule", exc.user_message) from exc
        return value

    @property
    def wecom_enabled(self) -> bool:
        """Any WeCom app setting given: the WeCom adapter starts (and names what is missing)."""
        app = (self.wecom_corp_id, self.wecom_agent_id, self.wecom_secret, self.wecom_token, self.wecom_aes_key)
        return any(v not in (None, "") for v in app) or bool(self.wecom_robot_keys)

    @property
    def dingtalk_enabled(self) -> bool:
        """Any DingTalk app setting given: the DingTalk adapter starts (and names what is missing)."""
        app = (self.dingtalk_app_key, self.dingtalk_app_secret, self.dingtalk_robot_code)
        return any(v not in (None, "") for v in app) or bool(self.dingtalk_robot_webhooks)

    @property
    def sandbox_enabled(self) -> bool:
        if self.sandbox is not None:
            return self.sandbox
        return not (self.wecom_enabled or self.dingtalk_enabled)

    @property
    def leaders(self) -> list[str]:
        """The leaders' groups the schedules post to.

        Unset, and with the sandbox on, the sandbox page's group (its 群聊 tab
        shows ``leaders``), so digests and pushes can be tried without
        configuring anything; ``[]`` turns them off.
        """
        if self.leader_groups is not None:
            return list(self.leader_groups)
        return [SANDBOX_LEADERS] if self.sandbox_enabled else []


#: pydantic-settings' words for a JSON value it could not parse: "error parsing value for field …".
_UNPARSED_FIELD = re.compile(r'field "(\w+)"')


def load_settings(**overrides: object) -> Settings:
    """Build the settings once; a bad value is a ConfigError naming the variable, in Chinese."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field, *inside = err["loc"]
            name = f"SCOREBOT_{str(field).upper()}"
            where = f"（{'.'.join(str(p) for p in inside)}）" if inside else ""
            lines.append(f"  {name}{where}：{say(err)}")
        raise ConfigError("配置有误：\n" + "\n".join(lines)) from exc
    except SettingsError as exc:  # a JSON setting that is not JSON
        found = _UNPARSED_FIELD.search(str(exc))
        name = f"SCOREBOT_{found.group(1).upper()}" if found else "SCOREBOT_…"
        raise ConfigError(
            f"配置有误：\n  {name}：不是合法的 JSON（例如 '{{\"leaders\": …}}'，键和文字都要用英文双引号）"
        ) from exc
