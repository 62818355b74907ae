"""Points as a column type: exact Decimals with two places on every backend."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from scoring_core.points import CENT

#: Largest magnitude a Numeric(7, 2) column holds.
POINTS_LIMIT = Decimal("99999.99")


class Points(TypeDecorator[Decimal]):
    """Points as ``Decimal`` with two places: NUMERIC(7, 2), or integer hundredths on SQLite.

    SQLite has no decimal type: a NUMERIC column there stores REAL, so values
    would pass through floats.  Integer hundredths keep them exact and still
    compare and sort correctly in SQL.
    """

    impl = Numeric(7, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Integer())
        return dialect.type_descriptor(Numeric(7, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"points must be Decimal, not {type(value).__name__}")
        if value != value.quantize(CENT) or abs(value) > POINTS_LIMIT:
            raise ValueError(f"points out of NUMERIC(7, 2): {value}")
        if dialect.name == "sqlite":
            return int(value.scaleb(2))
        return value.quantize(CENT)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2).quantize(CENT)
        return Decimal(value).quantize(CENT)
