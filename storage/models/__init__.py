"""Every table, one module per area; importing this registers them all."""

from storage.base import Base
from storage.models import messaging, schedules, tokens

__all__ = ["Base", "messaging", "schedules", "tokens"]
