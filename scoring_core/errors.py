"""The project's one error tree.

Every error carries ``user_message``: the Simplified Chinese text a person
should see.  The base lives in the core because every layer depends on the
core and the core depends on nothing; the storage, platform and config
branches subclass it in their own packages (``storage.errors``,
``bot.errors``) or here (config, since scheme and directory files are
validated by the core).
"""

from __future__ import annotations

from dataclasses import dataclass


class ScorebotError(Exception):
    """Base of every error the project raises on purpose."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class DomainError(ScorebotError):
    """A scoring rule was broken: bad score, wrong scorer, unknown code..."""


class ConfigError(ScorebotError):
    """A settings, scheme or directory file is wrong."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one place of an input (a line, a file position)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}：{self.message}" if self.where else self.message


class InputRejected(DomainError):
    """Many problems at once: a whole sheet or file is refused, nothing is used.

    Reporting every bad line at once spares the user a fix-one-rerun loop.
    """

    def __init__(self, title: str, problems: list[Problem]) -> None:
        self.title = title
        self.problems = tuple(problems)
        lines = [title, *(f"  {p}" for p in problems)]
        super().__init__("\n".join(lines))


class SchemeError(ConfigError):
    """The scheme file does not validate; every problem names a file position."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("考核方案文件有误：\n" + "\n".join(f"  {p}" for p in problems))


class DirectoryError(ConfigError):
    """The directory (units, departments, members) file does not validate."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("名录文件有误：\n" + "\n".join(f"  {p}" for p in problems))
