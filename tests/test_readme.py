"""The README's configuration table names exactly the settings the code reads."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_configuration_table_matches_the_settings() -> None:
    table = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`SCOREBOT_([A-Z0-9_]+)`", table))
    read = {name.upper() for name in Settings.model_fields}
    assert sorted(read - documented) == []
    assert sorted(documented - read) == []
