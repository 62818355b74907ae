"""Storage branch of the error tree."""

from __future__ import annotations

from scoring_core.errors import ScorebotError


class StorageError(ScorebotError):
    """The database refused or failed an operation."""


class NotFound(StorageError):
    """A row the caller expected is not there."""


class Conflict(StorageError):
    """A write lost to a concurrent one or broke a uniqueness rule."""


class InvalidRecord(StorageError):
    """A row was refused before anything was written (the whole batch with it)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("以下内容有误，均未保存：\n" + "\n".join(f"  {p}" for p in problems))


class BadTransition(Conflict):
    """A round cannot move from its status to the one asked for."""

    def __init__(self, user_message: str, *, status: str, wanted: str) -> None:
        super().__init__(user_message)
        self.status = status
        self.wanted = wanted


class RoundNotOpen(Conflict):
    """A write to a round that is closed or published."""

    def __init__(self, round_name: str, status: str) -> None:
        super().__init__(f"“{round_name}”已{'发布排名' if status == 'published' else '关闭'}，不能再修改")
        self.round_name = round_name
        self.status = status


class PartLocked(Conflict):
    """A submitted part past its deadline: only an admin's unlock reopens it."""

    def __init__(self, department: str, code: str) -> None:
        super().__init__(f"{department}第{code}项已提交且已过截止时间，已锁定；如需修改请联系市委平安办解锁")
        self.department = department
        self.code = code


class NothingToUndo(NotFound):
    """The actor has no change left to undo in this round."""
