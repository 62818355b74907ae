"""Points are Decimals with at most two places; never floats."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from scoring_core.errors import DomainError

CENT = Decimal("0.01")
ZERO = Decimal("0")

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def round_half_up(value: Decimal) -> Decimal:
    """Round to 0.01, half away from zero (四舍五入), as the scheme's tables do."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_points(text: str) -> Decimal:
    """Parse a points value typed by a person.

    Accepts half- and full-width digits and point (``3.5``, ``３．５``) and a
    trailing ``分``.  Refuses floats' habits (``1e2``, ``nan``) and more than
    two decimal places with a message saying what is allowed.
    """
    cleaned = unicodedata.normalize("NFKC", text).strip().replace("。", ".")
    cleaned = cleaned.removesuffix("分").strip()
    if not _NUMBER.fullmatch(cleaned):
        raise DomainError(f"“{text.strip()[:20]}”不是分数：请写数字，如 3 或 3.5")
    value = Decimal(cleaned)  # the regex admits only what Decimal reads
    try:
        exact = value == value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:  # more digits than Decimal's precision: no score is that large
        raise DomainError(f"“{text.strip()[:20]}”太大了，不是分数：请写如 3 或 3.5 的分数") from exc
    if not exact:
        raise DomainError(f"分数最多两位小数，“{text.strip()[:20]}”超过了")
    return value


def fmt(value: Decimal) -> str:
    """Points as people write them: ``4``, ``3.5``, ``372.25`` (no trailing zeros)."""
    normal = value.quantize(CENT, rounding=ROUND_HALF_UP).normalize()
    text = format(normal, "f")
    return "0" if text in ("-0", "") else text
