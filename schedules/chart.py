"""The ranking chart: a PNG bar chart of units' totals for leaders' groups.

matplotlib is imported inside the functions, never at module import: its
first import reads or builds a font cache, which must not happen on the
event loop.  Callers run ``render_ranking_chart`` in a worker thread
(``asyncio.to_thread``).  Only the object API (``Figure`` with the Agg
canvas) is used: no pyplot, no GUI, no global rcParams changes, so two
renders in two threads do not step on each other.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from scoring_core.errors import ConfigError
from scoring_core.points import fmt

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: CJK font families tried in order.  The first is what the Debian package
#: ``fonts-noto-cjk`` installs (and what the Dockerfile and README install);
#: the others are common alternatives that render Simplified Chinese well.
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK JP",  # older matplotlib sees only a .ttc's first face; same glyph set
)

WIDTH_PX = 1200
DPI = 100
HEADER_PX = 120  # title and margins
ROW_PX = 36
MIN_HEIGHT_PX = 400
MAX_HEIGHT_PX = 4000  # past this, rows get thinner instead; keeps the PNG far below 2 MB
MAX_LABEL_CHARS = 16

BAR_COLOR = "#2f5597"
VETO_COLOR = "#c00000"  # a vetoed unit's bar: red, and "（否决）" after its name
VETO_MARK = "（否决）"
TEXT_COLOR = "#222222"


class FontMissingError(ConfigError):
    """No CJK font is installed, so Chinese labels would come out as boxes."""

    def __init__(self, families: Sequence[str]) -> None:
        self.families = tuple(families)
        super().__init__(
            "服务器未安装中文字体，无法生成排名图（中文会显示成方框）："
            "请安装 fonts-noto-cjk（字体 Noto Sans CJK SC）后重启；"
            f"已查找：{'、'.join(families)}。"
        )


@dataclass(frozen=True, slots=True)
class CjkFont:
    """A resolved CJK font: its family name and file (a .ttc holds several faces)."""

    family: str
    path: str
    face_index: int = 0


@lru_cache(maxsize=8)
def find_cjk_font(families: tuple[str, ...] = CJK_FAMILIES) -> CjkFont:
    """The first of ``families`` that matplotlib knows, or FontMissingError.

    Matched by family name through matplotlib's font manager (which scans
    the system font folders), so the chart uses exactly what it finds here.
    """
    from matplotlib import font_manager

    for family in families:
        try:
            found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:  # matplotlib's "not found" when fallback is off
            continue
        return CjkFont(family, str(found), int(getattr(found, "face_index", 0)))
    raise FontMissingError(families)


def chart_height_px(n_rows: int) -> int:
    """The PNG height for ``n_rows`` bars: grows per row between fixed bounds."""
    return min(MAX_HEIGHT_PX, max(MIN_HEIGHT_PX, HEADER_PX + ROW_PX * n_rows))


def _short(name: str, mark: str = "") -> str:
    """The label: the name shortened to fit ``MAX_LABEL_CHARS`` with ``mark`` kept whole after it."""
    room = MAX_LABEL_CHARS - len(mark)
    return (name if len(name) <= room else name[: room - 1] + "…") + mark


def _text_width_em(text: str) -> float:
    """Approximate width in font sizes: CJK characters are square, Latin half."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)


def ranking_figure(
    rows: Sequence[tuple[str, Decimal]],
    title: str,
    *,
    vetoed: Collection[str] = (),
    font: CjkFont | None = None,
) -> Figure:
    """The chart as a matplotlib Figure (for tests and for ``render_ranking_chart``).

    ``rows`` are (unit name, total) in ranking order; the first is drawn at
    the top.  Units in ``vetoed`` (一票否决) get a red bar and "（否决）" after
    their name.  Every text gets the CJK font explicitly.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = font or find_cjk_font()
    height_px = chart_height_px(len(rows))
    fig = Figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)

    # Label size follows the row height, so a capped chart with many rows
    # still fits its labels (points = pixels * 72 / dpi).
    row_px = (height_px - HEADER_PX) / max(len(rows), 1)
    size_pt = max(6.0, min(12.0, row_px * 0.5 * 72 / DPI))
    # By family, not file: a .ttc holds several faces (JP, SC, ...) and the
    # family picks the Simplified Chinese one.
    label_font = FontProperties(family=font.family, size=size_pt)
    title_font = FontProperties(family=font.family, size=16)

    labels = [_short(name, VETO_MARK if name in vetoed else "") for name, _ in rows]
    widest_px = max((_text_width_em(t) for t in labels), default=4) * size_pt * DPI / 72
    left = min(0.4, (widest_px + 30) / WIDTH_PX)
    fig.subplots_adjust(left=left, right=0.9, top=1 - 70 / height_px, bottom=30 / height_px)
    ax = fig.add_subplot()
    fig.suptitle(title, fontproperties=title_font, color=TEXT_COLOR, y=1 - 20 / height_px)

    if not rows:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "暂无排名数据", ha="center", va="center", fontproperties=title_font)
        return fig

    values = [float(total) for _, total in rows]  # floats only for drawing
    positions = list(range(len(rows)))
    colors = [VETO_COLOR if name in vetoed else BAR_COLOR for name, _ in rows]
    ax.barh(positions, values, color=colors, height=0.7)
    ax.set_yticks(positions, labels)
    for tick in ax.get_yticklabels():
        tick.set_fontproperties(label_font)
        tick.set_color(TEXT_COLOR)
    ax.invert_yaxis()  # the first row, the top unit, at the top
    ax.tick_params(axis="y", length=0)
    ax.xaxis.set_visible(False)  # totals are written at the bar ends instead
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.axvline(0, color="#888888", linewidth=0.8)  # the zero line, also when totals go negative

    low, high = min(0.0, *values), max(0.0, *values)
    pad = (high - low) * 0.02 or 1.0
    ax.set_xlim(low - (pad * 4 if low < 0 else 0), high + pad * 4)
    for y, (_, total) in zip(positions, rows, strict=True):
        negative = total < 0
        ax.text(
            float(total) + (-pad if negative else pad),
            y,
            fmt(total),
            va="center",
            ha="right" if negative else "left",
            fontproperties=label_font,
            color=TEXT_COLOR,
        )
    return fig


def render_ranking_chart(rows: Sequence[tuple[str, Decimal]], title: str, *, vetoed: Collection[str] = ()) -> bytes:
    """The ranking chart as PNG bytes, ``WIDTH_PX`` wide (CPU-bound: run in a thread)."""
    fig = ranking_figure(rows, title, vetoed=vetoed)
    buf = io.BytesIO()
    # No "Software" stamp, so the same rows give the same bytes.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
