"""The ranking chart: a real PNG, of the planned size, with Chinese drawn in a CJK font.

pytest turns warnings into errors, and matplotlib warns "Glyph ... missing
from font(s)" when a label's characters are not in the font: so every render
here that passes also proves the Chinese labels were not drawn as boxes.
"""

from __future__ import annotations

import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image

from schedules.chart import (
    BAR_COLOR,
    CJK_FAMILIES,
    VETO_COLOR,
    FontMissingError,
    chart_height_px,
    find_cjk_font,
    ranking_figure,
    render_ranking_chart,
)
from scoring_core.errors import ConfigError

ROWS = [
    ("市公安局", Decimal("98.5")),
    ("市中级人民法院", Decimal("96.25")),
    ("鼓楼区委政法委", Decimal("91")),
    ("仓山区", Decimal("88.75")),
    ("某县综治中心", Decimal("-2.5")),  # a veto-heavy unit can go negative
]
TITLE = "2020 年度平安建设考评 · 总分排名（暂定）"
ROOT = Path(__file__).resolve().parents[2]


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        image.load()  # decodes every pixel: a truncated file fails here
        return image.size


@pytest.mark.parametrize(
    ("n", "height"),
    [(0, 400), (5, 400), (8, 408), (20, 840), (107, 3972), (108, 4000), (500, 4000)],
)
def test_height_grows_per_row_between_bounds(n: int, height: int) -> None:
    # 120 px of header + 36 px a row, at least 400, at most 4000
    assert chart_height_px(n) == height


def test_png_opens_with_the_planned_size() -> None:
    data = render_ranking_chart(ROWS, TITLE)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(data) == (1200, 400)


def test_twenty_rows() -> None:
    rows = [(f"第{i}考评单位", Decimal(100 - i)) for i in range(20)]
    assert png_size(render_ranking_chart(rows, TITLE)) == (1200, 840)


def test_many_rows_are_capped_and_stay_far_under_the_robot_limit() -> None:
    rows = [(f"某某街道办事处{i}号", Decimal(400 - i) / 4) for i in range(300)]
    data = render_ranking_chart(rows, TITLE)
    assert png_size(data) == (1200, 4000)
    assert len(data) < 1024 * 1024  # the group robot takes up to 2 MB


def test_no_rows_still_renders() -> None:
    assert png_size(render_ranking_chart([], TITLE)) == (1200, 400)


def test_same_rows_same_bytes() -> None:
    assert render_ranking_chart(ROWS, TITLE) == render_ranking_chart(ROWS, TITLE)


def test_the_resolved_font_is_cjk_and_covers_the_labels() -> None:
    font = find_cjk_font()
    assert font.family in CJK_FAMILIES
    face = font_manager.get_font(font.path)
    for char in "".join(name for name, _ in ROWS) + TITLE:
        if not char.isspace():
            assert face.get_char_index(ord(char)) != 0, char  # 0 is .notdef, the box


def test_every_label_of_the_figure_uses_the_cjk_font() -> None:
    font = find_cjk_font()
    fig = ranking_figure(ROWS, TITLE)
    ax = fig.axes[0]
    texts = [*ax.get_yticklabels(), *ax.texts, *fig.texts]  # fig.texts holds the title
    assert [t.get_text() for t in ax.get_yticklabels()] == [name for name, _ in ROWS]
    assert [t.get_text() for t in fig.texts] == [TITLE]
    for text in texts:
        resolved = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
        assert str(resolved) == font.path, text.get_text()


def test_a_vetoed_unit_is_marked_in_red_with_its_label() -> None:
    # Regression: the chart drew a vetoed unit like any other.
    long_name = "某某县人民政府综合治理工作中心"  # 15 characters: shortened, the mark kept whole
    rows = [*ROWS, (long_name, Decimal("70"))]
    fig = ranking_figure(rows, TITLE, vetoed={"鼓楼区委政法委", long_name})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "市公安局",
        "市中级人民法院",
        "鼓楼区委政法委（否决）",
        "仓山区",
        "某县综治中心",
        "某某县人民政府综合治理…（否决）",
    ]
    colours = [to_hex(bar.get_facecolor()) for bar in ax.patches]
    assert colours == [BAR_COLOR, BAR_COLOR, VETO_COLOR, BAR_COLOR, BAR_COLOR, VETO_COLOR]
    assert png_size(render_ranking_chart(rows, TITLE, vetoed={"鼓楼区委政法委"})) == (1200, 400)  # glyphs all there


def test_the_glyph_check_bites_with_a_latin_only_font() -> None:
    """Control: the same Chinese label in DejaVu Sans warns, so passing renders mean something."""
    fig = Figure(figsize=(4, 1), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, "市公安局", family="DejaVu Sans")
    with pytest.warns(UserWarning, match="missing from font"):
        fig.savefig(io.BytesIO(), format="png")


def test_no_cjk_font_is_a_config_error_in_chinese() -> None:
    with pytest.raises(FontMissingError) as caught:
        find_cjk_font(("No Such Font Family",))
    assert isinstance(caught.value, ConfigError)
    assert "未安装中文字体" in caught.value.user_message
    assert "fonts-noto-cjk" in caught.value.user_message


def test_importing_schedules_does_not_import_matplotlib() -> None:
    """matplotlib's first import may build a font cache: never at import, never on the loop."""
    code = "import sys, schedules.chart, schedules.timing; sys.exit('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False, timeout=60)
    assert done.returncode == 0
