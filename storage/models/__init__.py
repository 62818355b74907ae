"""Every table, one module per area; importing this registers them all."""

from storage.base import Base
from storage.models import conversation, messaging, schedules, scoring, tokens

__all__ = ["Base", "conversation", "messaging", "schedules", "scoring", "tokens"]
