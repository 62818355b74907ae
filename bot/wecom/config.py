"""The WeCom part of the settings, checked once and held as one frozen value."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from pydantic import SecretStr

from bot.settings import Settings
from scoring_core.errors import ConfigError

AES_KEY_LENGTH = 43  # EncodingAESKey as the admin console shows it


def _decodes(aes_key: str) -> bool:
    """An EncodingAESKey is 32 bytes in base64 without its "=" (wechatpy decodes it so)."""
    try:
        return len(base64.b64decode(aes_key + "=", validate=True)) == 32
    except binascii.Error:
        return False


@dataclass(frozen=True, slots=True)
class WeComConfig:
    corp_id: str
    agent_id: int
    secret: SecretStr
    token: SecretStr
    aes_key: SecretStr
    api_base: str
    robot_keys: dict[str, SecretStr] = field(default_factory=dict)
    # A page a text_notice card opens when tapped: WeCom requires one on
    # text_notice cards, so without it button-less cards go out as markdown.
    card_url: str | None = None

    @property
    def token_key(self) -> str:
        """The token store's app key: one access token per (corp, app)."""
        return f"{self.corp_id}/{self.agent_id}"

    @classmethod
    def from_settings(cls, settings: Settings) -> WeComConfig:
        s = settings
        if (
            not s.wecom_corp_id
            or s.wecom_agent_id is None
            or s.wecom_secret is None
            or s.wecom_token is None
            or s.wecom_aes_key is None
        ):
            missing = [
                name
                for name, value in (
                    ("SCOREBOT_WECOM_CORP_ID", s.wecom_corp_id),
                    ("SCOREBOT_WECOM_AGENT_ID", s.wecom_agent_id),
                    ("SCOREBOT_WECOM_SECRET", s.wecom_secret),
                    ("SCOREBOT_WECOM_TOKEN", s.wecom_token),
                    ("SCOREBOT_WECOM_AES_KEY", s.wecom_aes_key),
                )
                if value is None or value == ""
            ]
            robots = "（群机器人 SCOREBOT_WECOM_ROBOT_KEYS 也要和企业微信应用一起配置）" if s.wecom_robot_keys else ""
            raise ConfigError("企业微信配置不完整，缺少：" + "、".join(missing) + robots)
        aes_key = s.wecom_aes_key.get_secret_value()
        if len(aes_key) != AES_KEY_LENGTH or not _decodes(aes_key):
            raise ConfigError(
                f"SCOREBOT_WECOM_AES_KEY 应为企业微信后台“接收消息”中的 EncodingAESKey："
                f"{AES_KEY_LENGTH} 个字母或数字（现在是 {len(aes_key)} 个字符）"
            )
        return cls(
            corp_id=s.wecom_corp_id,
            agent_id=s.wecom_agent_id,
            secret=s.wecom_secret,
            token=s.wecom_token,
            aes_key=s.wecom_aes_key,
            api_base=s.wecom_api_base.rstrip("/"),
            robot_keys=dict(s.wecom_robot_keys),
            card_url=s.wecom_card_url,
        )
