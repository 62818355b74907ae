"""The data flows one way: the core imports no I/O, handlers no platform code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path}: {name}"
        for path, names in imported_modules(package).items()
        for name in names
        if name.split(".")[0] in forbidden or name in forbidden or any(name.startswith(f + ".") for f in forbidden)
    )


CORE_FORBIDDEN = (
    "aiohttp", "sqlalchemy", "apscheduler", "asyncio", "socket", "os", "pathlib", "io", "requests",
    "wechatpy", "dingtalk_stream", "openpyxl", "matplotlib", "bot", "storage", "handlers", "schedules",
)  # fmt: skip


def test_the_scoring_core_imports_no_io() -> None:
    assert imported_modules("scoring_core"), "no core modules found"
    assert offenders("scoring_core", CORE_FORBIDDEN) == []


@pytest.mark.parametrize("package", ["handlers", "schedules"])
def test_handlers_and_schedules_import_no_platform_package(package: str) -> None:
    platform = ("bot.wecom", "bot.dingtalk", "bot.sandbox", "wechatpy", "dingtalk_stream")
    assert offenders(package, platform) == []
