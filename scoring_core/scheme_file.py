"""The scheme file format (YAML) and its validation into a ``Scheme``.

Pydantic checks shapes; the sums (parts → item, items → section, sections →
total, for every variant) are checked here, every problem reported at once
with its file position.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scoring_core.errors import Problem, SchemeError
from scoring_core.points import CENT, fmt
from scoring_core.scheme import (
    AdjustmentKind,
    AdjustmentRule,
    CapGroup,
    Combine,
    Item,
    Part,
    Scheme,
    Section,
    Variant,
)
from scoring_core.yaml_marks import MarkedDocument, validate_marked

Points = Annotated[Decimal, Field(gt=0, decimal_places=2)]
Code = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[0-9A-Za-z.\-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class PartSpec(_Model):
    code: Code
    title: str = ""
    max: Points
    scorers: list[Name] = Field(min_length=1)
    combine: Combine = Combine.MEAN


class VariantSpec(_Model):
    key: Code
    text: str = ""
    parts: list[PartSpec] = Field(min_length=1)


class ItemSpec(_Model):
    number: Code
    title: str = Field(min_length=1)
    text: str = ""
    points: Points
    parts: list[PartSpec] | None = None
    variants: list[VariantSpec] | None = None
    default_variant: Code | None = None

    @model_validator(mode="after")
    def _parts_or_variants(self) -> ItemSpec:
        if (self.parts is None) == (self.variants is None):
            raise ValueError("每一项须且只须写 parts 或 variants 之一")
        if self.variants is not None and self.default_variant is None:
            raise ValueError("有 variants 的项须写 default_variant（其它单位适用的版本）")
        return self


class SectionSpec(_Model):
    code: Name
    title: Name
    points: Points
    items: list[ItemSpec] = Field(min_length=1)


class AdjustmentSpec(_Model):
    code: Annotated[str, Field(pattern=r"^[BDV][0-9]{1,2}$")]
    kind: Literal["bonus", "deduction", "veto"]
    title: str = Field(min_length=1)
    recorders: list[Name] = Field(min_length=1)
    per_incident: Points | None = None
    case_cap_per_recorder: Points | None = None


class CapSpec(_Model):
    codes: list[Annotated[str, Field(pattern=r"^[BD][0-9]{1,2}$")]] = Field(min_length=1)
    cap: Points | None = None


class SchemeSpec(_Model):
    name: str = Field(min_length=1)
    year: int = Field(ge=2000, le=2100)
    total: Points
    office: Name
    reason_below_max: bool = True
    sections: list[SectionSpec] = Field(min_length=1)
    adjustments: list[AdjustmentSpec] = []
    caps: list[CapSpec] = []


def parse_scheme(text: str, source: str = "scheme.yaml") -> Scheme:
    """Validate a scheme file's text; raise SchemeError listing every problem with its position."""
    doc, spec = validate_marked(text, source, SchemeSpec, SchemeError)
    problems = _check_sums(spec, doc) + _check_codes(spec, doc)
    if problems:
        raise SchemeError(problems)
    return _build(spec)


def _sum(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def _check_sums(spec: SchemeSpec, doc: MarkedDocument) -> list[Problem]:
    problems: list[Problem] = []
    section_sum = Decimal(0)
    for s, section in enumerate(spec.sections):
        items_sum = Decimal(0)
        for i, item in enumerate(section.items):
            items_sum += item.points
            where = ("sections", s, "items", i)
            if item.parts is not None:
                got = _sum([p.max for p in item.parts])
                if got != item.points:
                    problems.append(
                        doc.problem(
                            (*where, "points"),
                            f"第{item.number}项各部分分值合计 {fmt(got)}，与本项分值 {fmt(item.points)} 不符",
                        )
                    )
            for v, variant in enumerate(item.variants or []):
                got = _sum([p.max for p in variant.parts])
                if got != item.points:
                    problems.append(
                        doc.problem(
                            (*where, "variants", v, "parts"),
                            f"第{variant.key}项各部分分值合计 {fmt(got)}，与本项分值 {fmt(item.points)} 不符",
                        )
                    )
        section_sum += section.points
        if items_sum != section.points:
            problems.append(
                doc.problem(
                    ("sections", s, "points"),
                    f"“{section.title}”各项分值合计 {fmt(items_sum)}，与本部分分值 {fmt(section.points)} 不符",
                )
            )
    if section_sum != spec.total:
        problems.append(doc.problem(("total",), f"各部分分值合计 {fmt(section_sum)}，与总分 {fmt(spec.total)} 不符"))
    return problems


def _check_codes(spec: SchemeSpec, doc: MarkedDocument) -> list[Problem]:
    problems: list[Problem] = []
    seen_parts: set[str] = set()
    seen_items: set[str] = set()
    for s, section in enumerate(spec.sections):
        for i, item in enumerate(section.items):
            where = ("sections", s, "items", i)
            if item.number in seen_items:
                problems.append(doc.problem((*where, "number"), f"项目编号 {item.number} 重复"))
            seen_items.add(item.number)
            groups = (
                [((*where, "parts"), item.parts)]
                if item.parts is not None
                else [((*where, "variants", v, "parts"), var.parts) for v, var in enumerate(item.variants or [])]
            )
            for loc, parts in groups:
                for p, part in enumerate(parts):
                    if part.code in seen_parts:
                        problems.append(doc.problem((*loc, p, "code"), f"评分编号 {part.code} 重复"))
                    seen_parts.add(part.code)
                    if len(set(part.scorers)) != len(part.scorers):
                        problems.append(doc.problem((*loc, p, "scorers"), f"{part.code} 的评分部门重复"))
                    n = len(part.scorers)
                    if part.combine is Combine.SUM and n > 1 and (part.max / n) != (part.max / n).quantize(CENT):
                        problems.append(
                            doc.problem(
                                (*loc, p, "max"),
                                f"{part.code} 按 sum 合计，{n} 个部门各评 {fmt(part.max)}÷{n}，"
                                "须能整除到 0.01 分；请调整满分，或拆成几个评分编号",
                            )
                        )
            if item.variants is not None:
                keys = [v.key for v in item.variants]
                if item.default_variant not in keys:
                    problems.append(
                        doc.problem(
                            (*where, "default_variant"),
                            f"default_variant {item.default_variant} 不在 {'、'.join(keys)} 之中",
                        )
                    )
    codes = [a.code for a in spec.adjustments]
    for a, code in enumerate(codes):
        if codes.index(code) != a:
            problems.append(doc.problem(("adjustments", a, "code"), f"加减分编号 {code} 重复"))
    capped: set[str] = set()
    for c, cap in enumerate(spec.caps):
        for k, code in enumerate(cap.codes):
            if code not in codes:
                problems.append(doc.problem(("caps", c, "codes", k), f"上限组中的 {code} 未在 adjustments 中定义"))
            if code in capped:
                problems.append(doc.problem(("caps", c, "codes", k), f"{code} 出现在两个上限组中"))
            capped.add(code)
        kinds = {a.kind for a in spec.adjustments if a.code in cap.codes}
        if len(kinds) > 1:
            problems.append(doc.problem(("caps", c, "codes"), "一个上限组不能同时含加分和扣分"))
    return problems


def _part(spec: PartSpec, item: ItemSpec, variant: str | None) -> Part:
    return Part(
        code=spec.code,
        item=item.number,
        title=spec.title or item.title,
        max=spec.max,
        scorers=tuple(spec.scorers),
        combine=spec.combine,
        variant=variant,
    )


def _build(spec: SchemeSpec) -> Scheme:
    items: dict[str, Item] = {}
    sections: list[Section] = []
    for section in spec.sections:
        for item in section.items:
            variants: tuple[Variant, ...]
            if item.parts is not None:
                variants = (Variant(item.number, item.text, tuple(_part(p, item, None) for p in item.parts)),)
            else:
                variants = tuple(
                    Variant(v.key, v.text, tuple(_part(p, item, v.key) for p in v.parts)) for v in item.variants or []
                )
            items[item.number] = Item(
                number=item.number,
                section=section.code,
                title=item.title,
                text=item.text,
                points=item.points,
                variants=variants,
                default_variant=item.default_variant,
            )
        sections.append(Section(section.code, section.title, section.points, tuple(i.number for i in section.items)))
    group_of: dict[str, str] = {}
    cap_groups: dict[str, CapGroup] = {}
    for cap in spec.caps:
        key = "+".join(cap.codes)
        cap_groups[key] = CapGroup(key, tuple(cap.codes), cap.cap)
        group_of.update({code: key for code in cap.codes})
    adjustments = {
        a.code: AdjustmentRule(
            code=a.code,
            kind=AdjustmentKind(a.kind),
            title=a.title,
            recorders=tuple(a.recorders),
            group=group_of.get(a.code),
            per_incident=a.per_incident,
            case_cap_per_recorder=a.case_cap_per_recorder,
        )
        for a in spec.adjustments
    }
    parts_by_code = {part.code: part for item in items.values() for variant in item.variants for part in variant.parts}
    return Scheme(
        name=spec.name,
        year=spec.year,
        total=spec.total,
        office=spec.office,
        sections=tuple(sections),
        items=items,
        adjustments=adjustments,
        cap_groups=cap_groups,
        reason_below_max=spec.reason_below_max,
        parts_by_code=parts_by_code,
    )
