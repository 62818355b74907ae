"""Storage branch of the error tree."""

from __future__ import annotations

from scoring_core.errors import ScorebotError


class StorageError(ScorebotError):
    """The database refused or failed an operation."""


class NotFound(StorageError):
    """A row the caller expected is not there."""


class Conflict(StorageError):
    """A write lost to a concurrent one or broke a uniqueness rule."""
