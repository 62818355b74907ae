"""Who is assessed and who scores: units, departments, members, counties.

Frozen and lookup-ready; built from a directory file by ``directory_file``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from scoring_core.errors import DomainError


class Role(StrEnum):
    SCORER = "scorer"
    HEAD = "head"
    ADMIN = "admin"
    LEADER = "leader"


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    department: str
    role: Role
    #: platform name ("wecom", "dingtalk", "sandbox") -> that platform's user id
    ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unit:
    name: str
    short: str
    aliases: tuple[str, ...] = ()
    #: item number -> variant key, e.g. {"33": "33-1", "34": "34-3"}
    variants: Mapping[str, str] = field(default_factory=dict)
    county: str | None = None
    group_leader: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, self.short, *self.aliases)


@dataclass(frozen=True, slots=True)
class Department:
    name: str
    aliases: tuple[str, ...] = ()
    #: the assessed unit this department is, if it is one (it can then be deducted D3)
    unit: str | None = None
    members: tuple[Member, ...] = ()


@dataclass(frozen=True, slots=True)
class Directory:
    units: tuple[Unit, ...]
    departments: tuple[Department, ...]
    #: county -> the name of its 平安办 department (scorer of 35.2)
    counties: Mapping[str, str] = field(default_factory=dict)
    _units: dict[str, Unit] = field(init=False, repr=False, compare=False)
    _departments: dict[str, Department] = field(init=False, repr=False, compare=False)
    _members: dict[tuple[str, str], Member] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Lookups are built once; the dataclass stays frozen for callers.
        unit_index = {n: u for u in self.units for n in u.names}
        dept_index = {n: d for d in self.departments for n in (d.name, *d.aliases)}
        member_index = {
            (platform, uid): m for d in self.departments for m in d.members for platform, uid in m.ids.items()
        }
        object.__setattr__(self, "_units", unit_index)
        object.__setattr__(self, "_departments", dept_index)
        object.__setattr__(self, "_members", member_index)

    def unit(self, name: str) -> Unit:
        """A unit by full name, short name or alias; DomainError if unknown."""
        found = self._units.get(name.strip())
        if found is None:
            raise DomainError(f"没有名为“{name.strip()[:30]}”的被考核单位")
        return found

    def find_unit(self, name: str) -> Unit | None:
        return self._units.get(name.strip())

    def department(self, name: str) -> Department:
        found = self._departments.get(name.strip())
        if found is None:
            raise DomainError(f"没有名为“{name.strip()[:30]}”的部门")
        return found

    def find_department(self, name: str) -> Department | None:
        return self._departments.get(name.strip())

    def member(self, platform: str, user_id: str) -> Member | None:
        return self._members.get((platform, user_id))

    def members_of(self, department: str) -> tuple[Member, ...]:
        return self.department(department).members
