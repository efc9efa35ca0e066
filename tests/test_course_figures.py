"""The diagrams in images/ (tools/figures.py) are readable where the notebooks show them: every text at
least 11 px when JupyterLab at 1280x800 shows the picture in its ~848 px column (issue 16)."""

import pytest

from tools import figures

#: Width (CSS px) of the notebook column at 1280x800 (tests/browser/epsilon_page.py measures it).
COLUMN_AT_1280 = 848


@pytest.mark.parametrize("name", ["network_3layer.png"])
def test_every_label_is_at_least_11_px_in_the_1280_column(name):
    fig = figures.FIGURES[name]()
    fig.draw_without_rendering()
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_text().strip()]
    assert texts, "no text found in the figure"
    smallest = min(t.get_fontsize() for t in texts)
    natural = fig.get_figwidth() * figures.DPI  # the PNG's width in px
    shown = min(1.0, COLUMN_AT_1280 / natural)  # a markdown image is scaled down to the column, never up
    px = smallest * figures.DPI / 72 * shown
    assert smallest >= figures.MIN_FONT and px >= 11, f"smallest text {smallest} pt shows at {px:.1f} px"
