"""The directory file format (YAML) and its validation into a ``Directory``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from scoring_core.directory import Department, Directory, Member, Role, Unit
from scoring_core.errors import DirectoryError, Problem
from scoring_core.scheme import COUNTY_SCORER, GROUP_LEADER, Scheme
from scoring_core.yaml_marks import MarkedDocument, validate_marked

Name = Annotated[str, Field(min_length=1, max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class UnitSpec(_Model):
    name: Name
    short: Name | None = None
    aliases: list[Name] = []
    variants: dict[str, str] = {}
    county: Name | None = None
    group_leader: Name | None = None


class MemberSpec(_Model):
    name: Name
    role: Role = Role.SCORER
    wecom: str | None = None
    dingtalk: str | None = None
    sandbox: str | None = None


class DepartmentSpec(_Model):
    name: Name
    aliases: list[Name] = []
    unit: Name | None = None
    members: list[MemberSpec] = []


class DirectorySpec(_Model):
    counties: dict[str, Name] = {}
    units: list[UnitSpec] = Field(min_length=1)
    departments: list[DepartmentSpec] = Field(min_length=1)


def parse_directory(text: str, scheme: Scheme, source: str = "directory.yaml") -> Directory:
    """Validate a directory file against the scheme; every problem at once, with positions."""
    doc, spec = validate_marked(text, source, DirectorySpec, DirectoryError)
    problems = _check(spec, scheme, doc)
    if problems:
        raise DirectoryError(problems)
    return _build(spec)


def _check(spec: DirectorySpec, scheme: Scheme, doc: MarkedDocument) -> list[Problem]:
    problems: list[Problem] = []
    unit_names: dict[str, int] = {}
    for u, unit in enumerate(spec.units):
        for name in (unit.name, unit.short, *unit.aliases):
            if name is None:
                continue
            if name in unit_names and unit_names[name] != u:
                problems.append(doc.problem(("units", u, "name"), f"单位名称或简称“{name}”与其他单位重复"))
            unit_names[name] = u
        for number, key in unit.variants.items():
            item = scheme.items.get(number)
            keys = [v.key for v in item.variants] if item and item.has_variants else []
            if not keys:
                problems.append(doc.problem(("units", u, "variants", number), f"第{number}项没有可选版本"))
            elif key not in keys:
                problems.append(
                    doc.problem(
                        ("units", u, "variants", number), f"第{number}项的版本应为 {'、'.join(keys)} 之一，不是 {key}"
                    )
                )
        if unit.county is not None and unit.county not in spec.counties:
            problems.append(doc.problem(("units", u, "county"), f"县区“{unit.county}”未在 counties 中列出"))
    dept_names = {n for d in spec.departments for n in (d.name, *d.aliases)}
    for u, unit in enumerate(spec.units):
        if unit.group_leader is not None and unit.group_leader not in dept_names:
            problems.append(doc.problem(("units", u, "group_leader"), f"责任组长单位“{unit.group_leader}”不在名录中"))
    needs_county = any(COUNTY_SCORER in p.scorers for p in scheme.parts_by_code.values())
    if needs_county:
        for u, unit in enumerate(spec.units):
            if unit.county is None:
                problems.append(
                    doc.problem(("units", u), f"“{unit.name}”须写 county（挂点村所在县区，由其平安办评分）")
                )
    wanted = {s for p in scheme.parts_by_code.values() for s in p.scorers}
    wanted |= {r for a in scheme.adjustments.values() for r in a.recorders}
    wanted |= set(spec.counties.values())
    wanted -= {COUNTY_SCORER, GROUP_LEADER}
    for name in sorted(wanted - dept_names):
        problems.append(doc.problem(("departments",), f"考核方案或县区列出的部门“{name}”不在 departments 中"))
    seen_ids: dict[tuple[str, str], str] = {}
    for d, dept in enumerate(spec.departments):
        if dept.unit is not None and dept.unit not in unit_names:
            problems.append(doc.problem(("departments", d, "unit"), f"“{dept.unit}”不是名录中的被考核单位"))
        for m, member in enumerate(dept.members):
            for platform in ("wecom", "dingtalk", "sandbox"):
                uid = getattr(member, platform)
                if uid is None:
                    continue
                if (platform, uid) in seen_ids:
                    problems.append(
                        doc.problem(
                            ("departments", d, "members", m, platform),
                            f"{platform} 账号“{uid}”已属于 {seen_ids[(platform, uid)]}",
                        )
                    )
                seen_ids[(platform, uid)] = member.name
    return problems


def _build(spec: DirectorySpec) -> Directory:
    units = tuple(
        Unit(
            name=u.name,
            short=u.short or u.name,
            aliases=tuple(u.aliases),
            variants=dict(u.variants),
            county=u.county,
            group_leader=u.group_leader,
        )
        for u in spec.units
    )
    departments = tuple(
        Department(
            name=d.name,
            aliases=tuple(d.aliases),
            unit=d.unit,
            members=tuple(
                Member(
                    name=m.name,
                    department=d.name,
                    role=m.role,
                    ids={p: v for p in ("wecom", "dingtalk", "sandbox") if (v := getattr(m, p)) is not None},
                )
                for m in d.members
            ),
        )
        for d in spec.departments
    )
    return Directory(units=units, departments=departments, counties=dict(spec.counties))
