"""Bad configuration stops the start with one clear Chinese message naming the variable, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import create_app
from bot.settings import Settings, load_settings
from scoring_core.errors import ConfigError
from tests.wecom.conftest import AES_KEY


def _refused(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    return caught.value.user_message


@pytest.mark.parametrize(
    ("env", "message"),
    [
        # Regressions: these ended in a pydantic_settings.SettingsError or ValueError traceback.
        (
            {"SCOREBOT_WECOM_ROBOT_KEYS": "not json"},
            "配置有误：\n  SCOREBOT_WECOM_ROBOT_KEYS：不是合法的 JSON（例如 '{\"leaders\": …}'，键和文字都要用英文双引号）",
        ),
        (
            {"SCOREBOT_DINGTALK_ROBOT_WEBHOOKS": "{leaders: x"},
            "配置有误：\n  SCOREBOT_DINGTALK_ROBOT_WEBHOOKS：不是合法的 JSON（例如 '{\"leaders\": …}'，键和文字都要用英文双引号）",
        ),
        (
            {"SCOREBOT_LOG_LEVEL": "loud"},
            "配置有误：\n  SCOREBOT_LOG_LEVEL：取值应为 DEBUG、INFO、WARNING、ERROR、CRITICAL 之一",
        ),
        # Regression: a nested problem named a variable that does not exist (…_LEADERS_URL).
        (
            {"SCOREBOT_DINGTALK_ROBOT_WEBHOOKS": '{"leaders": {"url": 1, "secrte": "x"}}'},
            "配置有误：\n  SCOREBOT_DINGTALK_ROBOT_WEBHOOKS（leaders.url）：应为文字"
            "\n  SCOREBOT_DINGTALK_ROBOT_WEBHOOKS（leaders.secrte）：不认识的字段（请对照格式说明检查拼写）",
        ),
        ({"SCOREBOT_PORT": "abc"}, "配置有误：\n  SCOREBOT_PORT：应为整数"),
    ],
)
def test_a_bad_value_is_named_in_chinese(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    assert _refused(monkeypatch, **env) == message


def test_the_log_level_may_be_written_in_lower_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOREBOT_LOG_LEVEL", "debug")
    assert load_settings(_env_file=None).log_level == "DEBUG"


def _app_refused(tmp_path: Path, **values: object) -> str:
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", **values)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        create_app(settings)
    return caught.value.user_message


@pytest.mark.parametrize(
    ("values", "message"),
    [
        # Regression: half a WeCom or DingTalk configuration silently started the sandbox,
        # where anyone can act as anyone (/sandbox?user=admin).
        (
            {"wecom_corp_id": "ww1"},
            "企业微信配置不完整，缺少：SCOREBOT_WECOM_AGENT_ID、SCOREBOT_WECOM_SECRET、SCOREBOT_WECOM_TOKEN、"
            "SCOREBOT_WECOM_AES_KEY",
        ),
        (
            {"wecom_robot_keys": {"leaders": "K"}},
            "企业微信配置不完整，缺少：SCOREBOT_WECOM_CORP_ID、SCOREBOT_WECOM_AGENT_ID、SCOREBOT_WECOM_SECRET、"
            "SCOREBOT_WECOM_TOKEN、SCOREBOT_WECOM_AES_KEY（群机器人 SCOREBOT_WECOM_ROBOT_KEYS 也要和企业微信应用一起配置）",
        ),
        ({"dingtalk_app_key": "k"}, "钉钉配置不完整，缺少：SCOREBOT_DINGTALK_APP_SECRET"),
        # Regression: a 43-character key that is not base64 ended in binascii.Error.
        (
            {
                "wecom_corp_id": "ww1",
                "wecom_agent_id": 1,
                "wecom_secret": "s",
                "wecom_token": "t",
                "wecom_aes_key": AES_KEY[:-1] + "!",
            },
            "SCOREBOT_WECOM_AES_KEY 应为企业微信后台“接收消息”中的 EncodingAESKey：43 个字母或数字（现在是 43 个字符）",
        ),
    ],
)
def test_an_incomplete_messenger_stops_the_start_naming_what_is_missing(
    tmp_path: Path, values: dict[str, object], message: str
) -> None:
    assert _app_refused(tmp_path, **values) == message


def _serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", *args],
        env={"PATH": "/usr/bin:/bin", "SCOREBOT_SCHEDULES_ENABLED": "false", **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_database_that_cannot_be_opened_is_explained(tmp_path: Path) -> None:
    # Regression: sqlalchemy's OperationalError traceback.
    done = _serve(tmp_path, SCOREBOT_DATABASE_URL="sqlite+aiosqlite:////nonexistent/folder/scorebot.db")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1] == (
        "无法打开数据库 sqlite+aiosqlite:////nonexistent/folder/scorebot.db：unable to open database file。"
        "请检查 SCOREBOT_DATABASE_URL（SQLite 文件所在的文件夹须存在且可写；PostgreSQL 须能连上）"
    )


def test_a_port_in_use_is_explained_and_the_sandbox_address_is_not_printed(tmp_path: Path) -> None:
    # Regressions: an OSError traceback, after the banner had already printed the address.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve(tmp_path, "--port", str(port), SCOREBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1] == (
        f"无法在 127.0.0.1:{port} 监听（端口已被占用）：请换一个 SCOREBOT_PORT，或停掉占用它的程序"
    )
