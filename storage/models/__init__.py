"""Every table, one module per area; importing this registers them all."""

from storage.base import Base
from storage.models import scoring

__all__ = ["Base", "scoring"]
