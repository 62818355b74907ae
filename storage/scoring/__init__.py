"""The scoring repository: rounds, scores, adjustments, submissions, undo and the audit log.

Every function takes an AsyncSession whose transaction the caller owns, so a
handler can store scores and its outbox rows in one commit.  Times come in
as ``now`` (aware); nothing here reads the clock.
"""

from storage.scoring.adjustments import active_adjustments, add_adjustment, adjustment_records, remove_adjustment
from storage.scoring.audit import audit_for
from storage.scoring.records import (
    Actor,
    AdjustmentRecord,
    AuditEntry,
    Deadline,
    PartStatus,
    RoundInfo,
    ScoreChange,
    Undone,
)
from storage.scoring.rounds import (
    close_round,
    current_round,
    deadline_for,
    get_round,
    open_round,
    pick_deadline,
    publish_round,
    reopen_round,
    scheme_hash,
)
from storage.scoring.scores import clear_score, current_scores, scores_for_part, set_scores
from storage.scoring.standing import load_standing
from storage.scoring.submissions import is_locked, part_status, submit_part, unlock_part
from storage.scoring.undo import undo_last

__all__ = [
    "Actor",
    "AdjustmentRecord",
    "AuditEntry",
    "Deadline",
    "PartStatus",
    "RoundInfo",
    "ScoreChange",
    "Undone",
    "active_adjustments",
    "add_adjustment",
    "adjustment_records",
    "audit_for",
    "clear_score",
    "close_round",
    "current_round",
    "current_scores",
    "deadline_for",
    "get_round",
    "is_locked",
    "load_standing",
    "open_round",
    "part_status",
    "pick_deadline",
    "publish_round",
    "remove_adjustment",
    "reopen_round",
    "scheme_hash",
    "scores_for_part",
    "set_scores",
    "submit_part",
    "undo_last",
    "unlock_part",
]
