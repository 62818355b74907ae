"""Matching a name typed by a person against the directory's units or departments.

People type short names, aliases, full-width characters, stray spaces, or
just a distinctive part ("教育局", "消防").  A match is exact (a full name,
short name or alias), a unique part of one name, a list of candidates when
the part fits several, or nothing.  Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scoring_core.directory import Directory

#: A part shorter than this is too vague to pick a name ("局", "市").
MIN_PART_LENGTH = 2

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), no whitespace at all, letters lower-cased."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


@dataclass(frozen=True, slots=True)
class Exact:
    """One name, found by a full name, short name, alias, or a part only it has."""

    name: str
    #: True when only a part of the name was typed (the reply may confirm it).
    by_part: bool = False


@dataclass(frozen=True, slots=True)
class Candidates:
    """The typed text fits several names: ask back which one."""

    typed: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NoMatch:
    typed: str


NameMatch = Exact | Candidates | NoMatch


@dataclass(frozen=True, slots=True)
class NameIndex:
    """Canonical names with every way of writing them, normalised once."""

    #: (canonical name, its normalised spellings), in directory order
    entries: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def build(cls, named: Iterable[tuple[str, Sequence[str]]]) -> NameIndex:
        entries = []
        for name, spellings in named:
            keys = tuple(dict.fromkeys(normalise(s) for s in (name, *spellings) if normalise(s)))
            entries.append((name, keys))
        return cls(tuple(entries))

    def match(self, typed: str) -> NameMatch:
        key = normalise(typed)
        shown = typed.strip()[:30]
        if not key:
            return NoMatch(shown)
        exact = [name for name, keys in self.entries if key in keys]
        if len(exact) == 1:
            return Exact(exact[0])
        if len(exact) > 1:  # two units sharing an alias: the directory allows it, we ask
            return Candidates(shown, tuple(exact))
        if len(key) < MIN_PART_LENGTH:
            return NoMatch(shown)
        partial = [name for name, keys in self.entries if any(key in k for k in keys)]
        if len(partial) == 1:
            return Exact(partial[0], by_part=True)
        if partial:
            return Candidates(shown, tuple(partial))
        return NoMatch(shown)


def unit_index(directory: Directory) -> NameIndex:
    return NameIndex.build((u.name, u.names) for u in directory.units)


def department_index(directory: Directory) -> NameIndex:
    return NameIndex.build((d.name, d.aliases) for d in directory.departments)


def match_unit(directory: Directory, typed: str) -> NameMatch:
    """A unit for what a person typed (build ``unit_index`` once to match many)."""
    return unit_index(directory).match(typed)


def match_department(directory: Directory, typed: str) -> NameMatch:
    return department_index(directory).match(typed)
