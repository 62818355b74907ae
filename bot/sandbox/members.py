"""Who can be picked on the sandbox page: the directory's members with a sandbox id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scoring_core.directory import Directory, Role

ROLE_LABELS = {Role.SCORER: "评分人", Role.HEAD: "负责人", Role.ADMIN: "管理员", Role.LEADER: "领导"}


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    name: str
    department: str = ""
    role: str = ""


MemberLister = Callable[[], Sequence[Member]]


def members_from_directory(directory: Directory | None) -> list[Member]:
    """Every member with a ``sandbox`` id, in directory order (none without a directory)."""
    if directory is None:
        return []
    return [
        Member(
            user_id=m.ids["sandbox"],
            name=m.name,
            department=department.name,
            role=ROLE_LABELS.get(m.role, str(m.role)),
        )
        for department in directory.departments
        for m in department.members
        if "sandbox" in m.ids
    ]
