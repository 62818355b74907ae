"""The holiday override file (``SCOREBOT_HOLIDAYS_PATH``): a year's arrangement before chinesecalendar has it.

The State Council publishes next year's holidays and 调休 days late in the
year; chinesecalendar follows in a later release.  Until then an admin
writes the published arrangement into a small YAML file (docs/holidays.md):

    2027:
      holidays: [2027-01-01, 2027-02-16, ...]
      workdays: [2027-02-14]

Validated whole, every problem with its file position, in Chinese, like the
scheme and directory files.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, RootModel

from schedules.timing import Calendar, YearDays
from scoring_core.errors import ConfigError, Problem
from scoring_core.yaml_marks import MarkedDocument, validate_marked
from storage.files import read_text

#: Years an override may name: chinesecalendar starts in 2004; rounds run in this century.
FIRST_YEAR, LAST_YEAR = 2004, 2100


class HolidaysError(ConfigError):
    """The holiday override file does not validate; every problem names a file position."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("节假日文件有误（SCOREBOT_HOLIDAYS_PATH）：\n" + "\n".join(f"  {p}" for p in problems))


class YearSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    holidays: list[date] = []
    workdays: list[date] = []


class HolidaysSpec(RootModel[dict[int, YearSpec]]):
    root: dict[int, YearSpec] = Field(min_length=1)


def parse_holidays(text: str, source: str = "holidays.yaml") -> dict[int, YearDays]:
    """Each year's days off and days worked; HolidaysError listing every problem."""
    doc, spec = validate_marked(text, source, HolidaysSpec, HolidaysError)
    problems = _check(spec, doc)
    if problems:
        raise HolidaysError(problems)
    return {year: YearDays(frozenset(y.holidays), frozenset(y.workdays)) for year, y in spec.root.items()}


def _check(spec: HolidaysSpec, doc: MarkedDocument) -> list[Problem]:
    problems: list[Problem] = []
    for year, days in spec.root.items():
        if not FIRST_YEAR <= year <= LAST_YEAR:
            problems.append(doc.problem((year,), f"年份 {year} 不对：应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间"))
            continue
        seen: dict[date, str] = {}
        for kind, label in (("holidays", "放假"), ("workdays", "调休上班")):
            for i, day in enumerate(getattr(days, kind)):
                where = (year, kind, i)
                if day.year != year:
                    problems.append(doc.problem(where, f"{day.isoformat()} 不在 {year} 年，请写在 {day.year} 下"))
                elif day in seen:
                    again = "重复" if seen[day] == label else f"已写作{seen[day]}，不能又是{label}"
                    problems.append(doc.problem(where, f"{day.isoformat()} {again}"))
                seen.setdefault(day, label)
    return problems


def load_calendar(path: Path | None) -> Calendar:
    """The calendar with the override file at ``path`` (chinesecalendar alone when None)."""
    if path is None:
        return Calendar()
    text = read_text(path, "节假日（SCOREBOT_HOLIDAYS_PATH）")
    return Calendar(parse_holidays(text, str(path)))
