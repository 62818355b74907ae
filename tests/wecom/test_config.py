"""WeCom settings: read from SCOREBOT_* variables, checked once."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from bot.wecom.config import WeComConfig
from scoring_core.errors import ConfigError
from tests.wecom.conftest import AES_KEY


def test_robot_keys_are_read_as_json_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCOREBOT_WECOM_ROBOT_KEYS", '{"leaders": "K-1", "office": "K-2"}')

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert {g: k.get_secret_value() for g, k in settings.wecom_robot_keys.items()} == {
        "leaders": "K-1",
        "office": "K-2",
    }
    assert "K-1" not in repr(settings)


def test_missing_wecom_settings_are_named():
    settings = Settings(_env_file=None, wecom_corp_id="ww1", wecom_secret="s")  # type: ignore[call-arg]

    with pytest.raises(ConfigError) as caught:
        WeComConfig.from_settings(settings)

    message = caught.value.user_message
    assert "SCOREBOT_WECOM_AGENT_ID" in message
    assert "SCOREBOT_WECOM_TOKEN" in message
    assert "SCOREBOT_WECOM_AES_KEY" in message
    assert "SCOREBOT_WECOM_CORP_ID" not in message


def test_a_short_aes_key_is_a_config_error():
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        wecom_corp_id="ww1",
        wecom_agent_id=1,
        wecom_secret="s",
        wecom_token="t",
        wecom_aes_key=AES_KEY[:-1],
    )

    with pytest.raises(ConfigError, match="43"):
        WeComConfig.from_settings(settings)
