"""Core fixtures: the bundled scheme, and a five-unit directory small enough to check by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scoring_core.directory import Directory
from scoring_core.directory_file import parse_directory
from scoring_core.entries import ScoreEntry
from scoring_core.rules import applicable_parts, scorers_of
from scoring_core.scheme import COUNTY_SCORER, GROUP_LEADER, Scheme
from storage.files import load_directory, load_scheme

SMALL_UNITS = """
units:
  - {name: 甲局, short: 甲, aliases: [甲局机关], variants: {"33": "33-1", "34": "34-3"}, county: 东湖区}
  - {name: 乙局, short: 乙, variants: {"34": "34-4"}, county: 西湖区, group_leader: 市委政法委}
  - {name: 丙局, short: 丙, county: 东湖区}
  - {name: 丁局, short: 丁, county: 西湖区}
  - {name: 市公安局, short: 公安局, variants: {"33": "33-1", "34": "34-3"}, county: 东湖区}
counties: {东湖区: 东湖区委平安办, 西湖区: 西湖区委平安办}
"""


@pytest.fixture(scope="session")
def scheme() -> Scheme:
    return load_scheme()


@pytest.fixture(scope="session")
def sample_directory(scheme: Scheme) -> Directory:
    return load_directory(scheme)


def small_directory_text(scheme: Scheme) -> str:
    names = {s for p in scheme.parts_by_code.values() for s in p.scorers}
    names |= {r for a in scheme.adjustments.values() for r in a.recorders}
    names -= {COUNTY_SCORER, GROUP_LEADER}
    names |= {"东湖区委平安办", "西湖区委平安办"}
    lines = [SMALL_UNITS, "departments:"]
    for i, name in enumerate(sorted(names)):
        unit = "    unit: 市公安局\n" if name == "市公安局" else ""
        lines.append(f"  - name: {name}\n{unit}    members: [{{name: 成员{i}, sandbox: u{i}}}]")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def small(scheme: Scheme) -> Directory:
    return parse_directory(small_directory_text(scheme), scheme, "small.yaml")


def full_marks(scheme: Scheme, directory: Directory, *, skip: set[tuple[str, str]] = frozenset()) -> list[ScoreEntry]:
    """Every unit, part and scorer at the part's max, except (unit, code) pairs in ``skip``."""
    return [
        ScoreEntry(unit.name, part.code, scorer, part.max)
        for unit in directory.units
        for part in applicable_parts(scheme, unit)
        if (unit.name, part.code) not in skip
        for scorer in scorers_of(scheme, directory, unit, part)
    ]


def replace_scores(entries: list[ScoreEntry], *changes: ScoreEntry) -> list[ScoreEntry]:
    keyed = {(e.unit, e.code, e.scorer): e for e in entries}
    for c in changes:
        keyed[(c.unit, c.code, c.scorer)] = c
    return list(keyed.values())


D = Decimal
