"""Every table, one module per area; importing this registers them all."""

from storage.base import Base

__all__ = ["Base"]
