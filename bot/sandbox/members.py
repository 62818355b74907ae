"""Who can be picked on the sandbox page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    name: str
    department: str = ""
    role: str = ""


MemberLister = Callable[[], Sequence[Member]]


def members_from_directory(directory: Any) -> list[Member]:
    """The directory's members as the page lists them.

    Hook for the directory loader: until it lands there is no directory and
    the page offers a free user-id box only.
    """
    if directory is None:
        return []
    return []
