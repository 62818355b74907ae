"""What the scoring repository hands back: frozen values, never live ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from scoring_core.entries import AdjustmentEntry
from storage.models.scoring import AuditAction, RoundStatus


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: ``id`` is "platform:user id" (e.g. "sandbox:zhang"), the rest for people to read."""

    id: str
    name: str
    department: str


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline; ``department`` / ``code`` None means every department / every part."""

    at: datetime
    department: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class RoundInfo:
    id: int
    name: str
    scheme_name: str
    scheme_year: int
    scheme_hash: str
    status: RoundStatus
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    published_at: datetime | None
    deadlines: tuple[Deadline, ...]


@dataclass(frozen=True, slots=True)
class ScoreChange:
    """One score that changed: ``old``/``new`` None mean "no score"."""

    unit: str
    code: str
    scorer: str
    old: Decimal | None
    new: Decimal | None
    note: str = ""
    old_note: str | None = None


@dataclass(frozen=True, slots=True)
class AdjustmentRecord:
    """A stored adjustment with its id (to remove it) and history."""

    id: int
    entry: AdjustmentEntry
    created_at: datetime
    created_by: str
    removed_at: datetime | None = None
    removed_by: str | None = None

    @property
    def active(self) -> bool:
        return self.removed_at is None


@dataclass(frozen=True, slots=True)
class PartStatus:
    """Where one department's part stands: its deadline, submission and lock."""

    department: str
    code: str
    deadline: datetime | None
    submitted_at: datetime | None
    submitted_by: str | None
    unlocked_at: datetime | None
    unlocked_by: str | None
    locked: bool

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None and self.unlocked_at is None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    round_id: int
    at: datetime
    actor: Actor
    action: AuditAction
    unit: str | None
    code: str | None
    #: the scorer, recorder or submitting department
    department: str | None
    old_value: Decimal | None
    new_value: Decimal | None
    old_note: str | None
    note: str
    source_message_id: str | None
    adjustment_id: int | None
    undoes_id: int | None


@dataclass(frozen=True, slots=True)
class Undone:
    """An undo: the change it reverted and the audit row of the revert itself."""

    undone: AuditEntry
    revert: AuditEntry
