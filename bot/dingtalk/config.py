"""The DingTalk part of the settings, checked once and held as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import SecretStr

from bot.settings import DingTalkWebhook, Settings
from scoring_core.errors import ConfigError


class ReceiveMode(StrEnum):
    HTTP = "http"  # DingTalk POSTs to /dingtalk/callback
    STREAM = "stream"  # we open a long connection (dingtalk-stream SDK)


@dataclass(frozen=True, slots=True)
class DingTalkConfig:
    app_key: str
    app_secret: SecretStr
    robot_code: str
    mode: ReceiveMode
    api_base: str
    oapi_base: str
    webhooks: dict[str, DingTalkWebhook] = field(default_factory=dict)

    @property
    def token_key(self) -> str:
        """The token store's app key: one access token per app."""
        return self.app_key

    @classmethod
    def from_settings(cls, settings: Settings) -> DingTalkConfig:
        s = settings
        missing = [
            name
            for name, value in (
                ("SCOREBOT_DINGTALK_APP_KEY", s.dingtalk_app_key),
                ("SCOREBOT_DINGTALK_APP_SECRET", s.dingtalk_app_secret),
            )
            if value is None or value == "" or (isinstance(value, SecretStr) and not value.get_secret_value())
        ]
        if missing or not s.dingtalk_app_key or s.dingtalk_app_secret is None:
            robots = (
                "（自定义机器人 SCOREBOT_DINGTALK_ROBOT_WEBHOOKS 也要和钉钉应用一起配置）"
                if s.dingtalk_robot_webhooks
                else ""
            )
            raise ConfigError("钉钉配置不完整，缺少：" + "、".join(missing) + robots)
        for group, hook in s.dingtalk_robot_webhooks.items():
            if not hook.url.get_secret_value().startswith(("https://", "http://")):
                raise ConfigError(f"SCOREBOT_DINGTALK_ROBOT_WEBHOOKS 中群“{group}”的 url 应为 http(s) 地址")
            if hook.conversation_id is not None and not hook.conversation_id.strip():
                raise ConfigError(f"SCOREBOT_DINGTALK_ROBOT_WEBHOOKS 中群“{group}”的 conversation_id 为空")
        return cls(
            app_key=s.dingtalk_app_key,
            app_secret=s.dingtalk_app_secret,
            # An enterprise-internal app's robot code is its AppKey unless the
            # console shows another (UNCONFIRMED for every tenant).
            robot_code=s.dingtalk_robot_code or s.dingtalk_app_key,
            mode=ReceiveMode(s.dingtalk_mode),
            api_base=s.dingtalk_api_base.rstrip("/"),
            oapi_base=s.dingtalk_oapi_base.rstrip("/"),
            webhooks=dict(s.dingtalk_robot_webhooks),
        )
