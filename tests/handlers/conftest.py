"""Handler fixtures: the bundled scheme and sample directory."""

from __future__ import annotations

import pytest

from scoring_core.directory import Directory
from scoring_core.scheme import Scheme
from storage.files import load_directory, load_scheme


@pytest.fixture(scope="session")
def scheme() -> Scheme:
    return load_scheme()


@pytest.fixture(scope="session")
def directory(scheme: Scheme) -> Directory:
    return load_directory(scheme)
