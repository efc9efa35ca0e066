"""Tests of the report plot: what the figure shows is what the report says, entry by entry."""

import base64
import io
import re

import nbformat
import numpy as np
import pytest
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle
from nbclient import NotebookClient

from course_utils.bugs import check_bugs
from course_utils.gradcheck import check_gradients
from course_utils.plots import REPORT_ERROR_FLOOR, plot_report, report_heatmap_data


def heatmap_axes(fig):
    """name -> Axes holding the heatmap of that block."""
    out = {}
    for ax in fig.axes:
        for image in ax.get_images():
            gid = image.get_gid() or ""
            if gid.startswith("heatmap-"):
                out[gid[len("heatmap-"):]] = ax
    return out


def bar_axes(fig):
    matches = [ax for ax in fig.axes if ax.get_gid() == "block-bars"]
    assert len(matches) == 1
    return matches[0]


def kink_report():
    """A check whose step crosses a ReLU kink: cost sum(relu(W)) at W = [[0, 1, -2]]."""
    parameters = {"W": np.array([[0.0, 1.0, -2.0]])}
    gradients = {"dW": np.array([[0.0, 1.0, 0.0]])}  # relu'(0) = 0, the course's convention
    return check_gradients(lambda p: float(np.sum(np.maximum(p["W"], 0))), parameters, gradients)


def test_heatmap_data_has_the_parameter_shapes_and_the_report_errors():
    report = check_bugs("classic_dW2_db1")
    data = report_heatmap_data(report)
    assert list(data) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert data["W1"]["errors"].shape == (5, 4) and data["b1"]["errors"].shape == (5, 1)
    flat = np.concatenate([d["errors"].reshape(-1) for d in data.values()])
    np.testing.assert_array_equal(flat, report.entry_errors)
    assert not data["W1"]["failing"].any()
    # db1 is 4 times too large: every entry fails except where the true gradient is 0 (a dead unit)
    true_db1 = report.numeric[report.layout.slices()["b1"]].reshape(5, 1)
    np.testing.assert_array_equal(data["b1"]["failing"], np.abs(true_db1) > 1e-12)
    assert data["W2"]["failing"].any() and not data["W2"]["passed"]
    assert data["b1"]["relative_difference"] == pytest.approx(0.6)


def test_figure_shows_one_heatmap_per_block_on_a_log_scale():
    report = check_bugs("classic_dW2_db1")
    fig = plot_report(report)
    assert isinstance(fig, Figure)
    maps = heatmap_axes(fig)
    assert list(maps) == list(report.layout.names)
    data = report_heatmap_data(report)
    for name, ax in maps.items():
        image = [im for im in ax.get_images() if isinstance(im, AxesImage)][0]
        assert isinstance(image.norm, LogNorm)
        assert image.norm.vmin == REPORT_ERROR_FLOOR and image.norm.vmax == 1.0
        np.testing.assert_allclose(image.get_array(), np.clip(data[name]["errors"], REPORT_ERROR_FLOOR, 1.0))
        assert image.get_cmap().name == "viridis"
        assert name in ax.get_title()
        assert ("WRONG" in ax.get_title()) == (not data[name]["passed"])


def test_failing_entries_are_outlined_and_the_threshold_is_marked():
    report = check_bugs("classic_dW2_db1")
    fig = plot_report(report)
    maps = heatmap_axes(fig)
    data = report_heatmap_data(report)
    for name, ax in maps.items():
        frames = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() == "failing-entry"]
        assert len(frames) == int(data[name]["failing"].sum())
        corners = {(round(p.get_x() + 0.5), round(p.get_y() + 0.5)) for p in frames}
        assert corners == {(int(c), int(r)) for r, c in zip(*np.nonzero(data[name]["failing"]))}
    lines = [line for ax in fig.axes for line in ax.get_lines()]
    marks = {line.get_gid(): line for line in lines if line.get_gid()}
    assert set(marks) >= {"threshold-colorbar", "threshold-bars"}
    for line in (marks["threshold-colorbar"], marks["threshold-bars"]):
        assert np.allclose(line.get_ydata(), report.threshold)


def test_bars_show_block_relative_differences_and_hatch_the_wrong_ones():
    report = check_bugs(["classic_dW2_db1", "l2_on_biases"])
    fig = plot_report(report)
    ax = bar_axes(fig)
    assert ax.get_yscale() == "log"
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == list(report.layout.names)
    for name, bar in zip(names, bars):
        block = report.block(name)
        assert bar.get_height() == pytest.approx(max(block.relative_difference, REPORT_ERROR_FLOOR))
        assert bool(bar.get_hatch()) == (not block.passed)
    labels = [t.get_text() for t in ax.texts]
    assert labels.count("WRONG") == len(report.failing_blocks()) == 4


def test_a_passing_report_has_no_outlines_and_no_hatching():
    report = check_bugs("correct")
    fig = plot_report(report, cmap="cividis")
    assert "PASSED" in fig._suptitle.get_text()
    for ax in heatmap_axes(fig).values():
        assert not [p for p in ax.patches if p.get_gid() == "failing-entry"]
        assert ax.get_images()[0].get_cmap().name == "cividis"
    assert not any(p.get_hatch() for p in bar_axes(fig).patches)


def test_kinks_are_marked_on_the_heatmap():
    report = kink_report()
    assert [k.label for k in report.kinks] == ["W[0, 0]"]
    data = report_heatmap_data(report)
    assert data["W"]["kinks"].tolist() == [[True, False, False]]
    assert not data["W"]["failing"].any()  # a kink is flagged, not counted as a failure
    fig = plot_report(report)
    texts = [t for t in heatmap_axes(fig)["W"].texts if t.get_gid() == "kink-entry"]
    assert len(texts) == 1 and texts[0].get_text() == "K" and texts[0].get_position() == (0, 0)


def test_kink_blocks_are_marked_as_such_and_the_title_leads_with_the_verdicts_number():
    """Issue 14: a block with kinks says so (title, a dotted bar labelled KINK), and the figure's title gives
    the relative difference over the entries that count, as the report's headline does."""
    report = kink_report()
    fig = plot_report(report)
    assert "1 kink" in heatmap_axes(fig)["W"].get_title()
    assert [t.get_text() for t in bar_axes(fig).texts if t.get_gid() == "kink-block"] == ["KINK"]
    assert f"{report.counted_difference:.2e}" in fig._suptitle.get_text()


def visible_texts(fig):
    """Every drawn, non-empty Text of ``fig``: suptitle, axes titles, axis labels, tick labels, annotations."""
    fig.canvas.draw()
    texts = [fig._suptitle]
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts, *ax.get_xticklabels(), *ax.get_yticklabels()]
    return [t for t in texts if t is not None and t.get_visible() and t.get_text().strip()]


def test_every_text_is_at_least_11_px_in_the_column_at_1280_and_the_picture_fills_1920():
    from course_utils.figure_machinery import COLUMN_PX, figure_png, rendered_px
    for report in (check_bugs("weight_grad_transposed"), kink_report()):
        fig = plot_report(report)
        texts = visible_texts(fig)
        assert len(texts) > 20  # titles, tick labels, WRONG/KINK labels, threshold
        smallest = min(rendered_px(t.get_fontsize(), fig, COLUMN_PX) for t in texts
                       if "$" not in t.get_text())  # plain text only: no shrunken mathtext exponents
        assert smallest >= 11.0, smallest
        assert not any("$" in t.get_text() for t in texts)  # log ticks are plain "1e-6", full size
        png = figure_png(fig)
        assert png[:4] == b"\x89PNG"
        width = int.from_bytes(png[16:20], "big")  # the IHDR width: what the browser scales into the column
        assert width >= 1600  # fills a 1920 window's column without being enlarged
        # the tight box adds little, so at 1280 the picture is shown at (nearly) the scale computed above
        assert width <= 1.05 * fig.get_figwidth() * fig.dpi


def test_the_figure_carries_its_alt_text_into_the_notebook():
    report = check_bugs("classic_dW2_db1")
    fig = plot_report(report)
    data, metadata = fig._repr_mimebundle_()
    assert data["image/png"] and data["text/plain"] == fig.alt == metadata["image/png"]["alt"]
    assert "FAILED" in fig.alt and "wrong blocks: b1, W2" in fig.alt
    assert "every block is below the threshold" in plot_report(check_bugs("correct")).alt


KERNEL_DISPLAY = [
    "%matplotlib inline\n"
    "from IPython.display import display\n"
    "from matplotlib.backend_bases import FigureCanvasBase\n"
    "from matplotlib.figure import Figure\n"
    "from course_utils.bugs import check_bugs\n"
    "from course_utils.plots import plot_report\n"
    "get_ipython().display_formatter.formatters['image/png'].lookup_by_type(Figure)  # the inline one\n"
    "drawn, _print = [], FigureCanvasBase.print_figure\n"
    "FigureCanvasBase.print_figure = lambda self, *a, **k: drawn.append(1) or _print(self, *a, **k)\n"
    "fig = plot_report(check_bugs('classic_dW2_db1'))",
    "fig",
    "display(fig, metadata={'course': 'shown with display'})",
    "handle = display(fig, display_id=True)\nhandle.update(fig)",
    "import ipywidgets\nout = ipywidgets.Output()\nout.append_display_data(fig)\n"
    "print(sorted(out.outputs[0]['data']))",
    "print(len(drawn))",
]


def same_picture_everywhere(output):
    """The output's image/png and the PNG of its text/html <img> are the same bytes; returns the alt text."""
    data, metadata = output.data, output.metadata
    img = re.search(r'src="data:image/png;base64,([^"]+)"', data["text/html"]).group(1)
    assert base64.b64decode(img) == base64.b64decode(data["image/png"])
    assert data["text/plain"] == metadata["image/png"]["alt"]
    return data["text/plain"]


def test_a_notebook_draws_the_figure_once_per_display_and_shows_that_picture_everywhere():
    """In a kernel with the inline backend (which registers its own PNG formatter for every Figure), each
    way of showing a figure draws it once, and the ``image/png``, the ``<img>`` of the ``text/html`` and
    the alt text all come from that one drawing: the cell's value, ``display`` with metadata, a display
    updated in place, and an Output widget's ``append_display_data``."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in KERNEL_DISPLAY])
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    value, shown, updated, widget, count = (cell.outputs for cell in nb.cells[1:])
    assert [o.output_type for o in value] == ["execute_result"]
    assert "wrong blocks: b1, W2" in same_picture_everywhere(value[0])
    assert [o.output_type for o in shown] == ["display_data"]
    assert shown[0].metadata["course"] == "shown with display"
    same_picture_everywhere(shown[0])
    assert len(updated) == 1, "the update replaced the display, it did not add one"
    same_picture_everywhere(updated[0])
    assert widget[0].text.strip() == "['image/png', 'text/html', 'text/plain']" and len(widget) == 1
    assert count[0].text.strip() == "5"  # five displays, five drawings (ten before)


def test_bad_input_is_explained():
    random_report = check_bugs("classic_dW2_db1", mode="random")
    with pytest.raises(ValueError, match="mode='full'"):
        plot_report(random_report)
    with pytest.raises(TypeError, match="GradCheckReport"):
        plot_report({"not": "a report"})
    with pytest.raises(ValueError, match="colour-blind-safe"):
        plot_report(check_bugs("correct"), cmap="no_such_map")
