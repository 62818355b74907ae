"""Handler fixtures: the bundled scheme and sample directory, and the bot on each messenger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from scoring_core.directory import Directory
from scoring_core.scheme import Scheme
from storage.files import load_directory, load_scheme
from tests.handlers.dialogue import DRIVERS, Bot, directory_on_every_messenger


@pytest.fixture(scope="session")
def scheme() -> Scheme:
    return load_scheme()


@pytest.fixture(scope="session")
def directory(scheme: Scheme) -> Directory:
    return load_directory(scheme)


@pytest.fixture(scope="session")
def messenger_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return directory_on_every_messenger(tmp_path_factory.mktemp("directory") / "directory.yaml")


@pytest.fixture(params=list(DRIVERS))
async def bot(request: pytest.FixtureRequest, messenger_directory: Path) -> AsyncIterator[Bot]:
    """The same dialogue script on each messenger: sandbox, WeCom, DingTalk (each through its emulator)."""
    chat = DRIVERS[request.param](messenger_directory)
    await chat.start()
    yield chat.running
    await chat.stop()
