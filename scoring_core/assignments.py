"""Who scores what: a department's parts and, for each, the units it scores them for."""

from __future__ import annotations

from dataclasses import dataclass

from scoring_core.directory import Directory, Unit
from scoring_core.errors import DomainError
from scoring_core.rules import applicable_parts, scorers_of
from scoring_core.scheme import Part, Scheme


@dataclass(frozen=True, slots=True)
class Assignment:
    """One part a department scores, and the units (directory order) it scores it for."""

    part: Part
    units: tuple[str, ...]


def assignments(scheme: Scheme, directory: Directory, department: str) -> tuple[Assignment, ...]:
    """The department's parts in scheme order (35.2 by the unit's county, variants by the unit)."""
    by_code: dict[str, list[str]] = {}
    for unit in directory.units:
        for part in applicable_parts(scheme, unit):
            if department in _scorers(scheme, directory, unit, part):
                by_code.setdefault(part.code, []).append(unit.name)
    return tuple(Assignment(scheme.part(code), tuple(units)) for code, units in _in_scheme_order(scheme, by_code))


def assignment(scheme: Scheme, directory: Directory, department: str, code: str) -> Assignment:
    """The department's assignment for ``code``, or a DomainError naming the parts it has."""
    own = assignments(scheme, directory, department)
    for a in own:
        if a.part.code == code:
            return a
    if code not in scheme.parts_by_code:
        raise DomainError(f"没有评分编号“{code[:16]}”：请用考核方案中的编号，如 12、4.1、34-3.2")
    mine = "、".join(a.part.code for a in own) or "无"
    raise DomainError(f"第{code}项不由{department}评分；您部门的评分项：{mine}")


def item_text(scheme: Scheme, unit: Unit, part: Part) -> str:
    """The seed's wording of what is assessed, for the variant the unit gets."""
    item = scheme.item_of(part)
    return item.variant(unit.variants.get(item.number)).text or item.text


def _scorers(scheme: Scheme, directory: Directory, unit: Unit, part: Part) -> tuple[str, ...]:
    try:
        return scorers_of(scheme, directory, unit, part)
    except DomainError:  # a unit without a county has no 35.2 scorer yet: nobody's task
        return ()


def _in_scheme_order(scheme: Scheme, by_code: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    order = {code: i for i, code in enumerate(scheme.parts_by_code)}
    return sorted(by_code.items(), key=lambda pair: order[pair[0]])
