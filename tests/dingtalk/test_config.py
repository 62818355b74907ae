"""The DingTalk settings: what is required, what defaults, what is refused."""

from __future__ import annotations

import pytest

from bot.dingtalk.config import DingTalkConfig, ReceiveMode
from bot.settings import Settings, load_settings
from scoring_core.errors import ConfigError


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_app_key_and_secret_are_required_and_named():
    with pytest.raises(ConfigError) as caught:
        DingTalkConfig.from_settings(_settings(dingtalk_app_key="k"))
    assert "SCOREBOT_DINGTALK_APP_SECRET" in caught.value.user_message
    assert "SCOREBOT_DINGTALK_APP_KEY" not in caught.value.user_message


def test_the_robot_code_defaults_to_the_app_key_and_the_mode_to_http():
    config = DingTalkConfig.from_settings(_settings(dingtalk_app_key="dingkey", dingtalk_app_secret="s"))
    assert config.robot_code == "dingkey"
    assert config.mode is ReceiveMode.HTTP
    assert config.api_base == "https://api.dingtalk.com"


def test_the_api_base_is_a_setting_for_government_deployments():
    config = DingTalkConfig.from_settings(
        _settings(
            dingtalk_app_key="k", dingtalk_app_secret="s", dingtalk_api_base="https://openplatform.example.gov.cn/"
        )
    )
    assert config.api_base == "https://openplatform.example.gov.cn"


def test_an_unknown_mode_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCOREBOT_DINGTALK_MODE", "websocket")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert "SCOREBOT_DINGTALK_MODE" in caught.value.user_message


def test_webhooks_are_read_from_json_with_secrets_hidden(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "SCOREBOT_DINGTALK_ROBOT_WEBHOOKS",
        '{"leaders": {"url": "https://oapi.dingtalk.com/robot/send?access_token=t0k", "secret": "SECabc"}}',
    )
    settings = load_settings(_env_file=None)
    hook = settings.dingtalk_robot_webhooks["leaders"]
    assert hook.url.get_secret_value().endswith("access_token=t0k")
    assert hook.secret is not None
    assert "t0k" not in repr(settings)
    assert "SECabc" not in repr(settings)


def test_a_webhook_url_that_is_not_http_is_refused():
    with pytest.raises(ConfigError) as caught:
        DingTalkConfig.from_settings(
            _settings(
                dingtalk_app_key="k",
                dingtalk_app_secret="s",
                dingtalk_robot_webhooks={"leaders": {"url": "oapi.dingtalk.com/robot/send"}},
            )
        )
    assert "leaders" in caught.value.user_message


def test_the_old_api_base_is_a_setting_too():
    config = DingTalkConfig.from_settings(
        _settings(dingtalk_app_key="k", dingtalk_app_secret="s", dingtalk_oapi_base="https://oapi.example.gov.cn/")
    )
    assert config.oapi_base == "https://oapi.example.gov.cn"
    assert DingTalkConfig.from_settings(_settings(dingtalk_app_key="k", dingtalk_app_secret="s")).oapi_base == (
        "https://oapi.dingtalk.com"
    )


def test_a_webhook_group_may_name_the_app_robots_conversation(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "SCOREBOT_DINGTALK_ROBOT_WEBHOOKS",
        '{"leaders": {"url": "https://oapi.dingtalk.com/robot/send?access_token=t0k", "secret": "SECabc",'
        ' "conversation_id": "cidL3aD3rs=="}, "ops": {"url": "https://oapi.dingtalk.com/robot/send?access_token=x"}}',
    )
    settings = load_settings(_env_file=None)
    assert settings.dingtalk_robot_webhooks["leaders"].conversation_id == "cidL3aD3rs=="
    assert settings.dingtalk_robot_webhooks["ops"].conversation_id is None


def test_a_blank_conversation_id_is_refused_naming_the_group():
    with pytest.raises(ConfigError) as caught:
        DingTalkConfig.from_settings(
            _settings(
                dingtalk_app_key="k",
                dingtalk_app_secret="s",
                dingtalk_robot_webhooks={"leaders": {"url": "https://x/robot/send", "conversation_id": " "}},
            )
        )
    assert "leaders" in caught.value.user_message
    assert "conversation_id" in caught.value.user_message
