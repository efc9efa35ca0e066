"""Error-versus-epsilon figures: what is drawn is the data (read back from the artists), the drawn lines
have the slopes the theory says, the predicted best step sits near the measured minimum, and titles and
labels say what is plotted."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import stepsize as S
from course_utils.plots import EPSILON_FONTS, plot_error_vs_epsilon, plot_methods_vs_epsilon
from course_utils.stepsize_views import ZERO_FLOOR


def artist(ax, gid):
    """The unique artist of an Axes with this gid."""
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist with gid {gid!r}, found {len(found)}"
    return found[0]


def has(ax, gid):
    return any(a.get_gid() == gid for a in ax.get_children())


def line_slope(line):
    """Slope of a drawn straight line on log-log axes, from its first and last finite points."""
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    keep = np.isfinite(y) & (y > 0)
    x, y = x[keep], y[keep]
    return (np.log10(y[-1]) - np.log10(y[0])) / (np.log10(x[-1]) - np.log10(x[0]))


@pytest.fixture(scope="module")
def cache():
    return S.SweepCache()


def test_measured_curve_is_the_sweep(cache):
    fig = plot_error_vs_epsilon("net", "centered", "float64", eps=1e-7, cache=cache)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    x, y = artist(fig.axes[0], "measured").get_data()
    s = S.sweep("net", "centered", "float64")  # an independent recomputation
    np.testing.assert_allclose(x, s.eps)
    np.testing.assert_allclose(y, s.error, rtol=1e-12)


@pytest.mark.parametrize("method, p", [("centered", 2), ("forward", 1)])
def test_drawn_truncation_and_roundoff_lines_have_slopes_p_and_minus_1(cache, method, p):
    ax = plot_error_vs_epsilon("exp", method, "float64", cache=cache).axes[0]
    assert line_slope(artist(ax, "truncation")) == pytest.approx(p, abs=1e-9)
    assert line_slope(artist(ax, "roundoff")) == pytest.approx(-1, abs=1e-9)
    # and the sum is the sum of the two
    _, t = artist(ax, "truncation").get_data()
    _, r = artist(ax, "roundoff").get_data()
    _, total = artist(ax, "model-total").get_data()
    np.testing.assert_allclose(total, t + r)


@pytest.mark.parametrize("model", ["exp", "sin", "net", "net_stable"])
def test_slopes_fitted_from_the_plotted_measurements(cache, model):
    ax = plot_error_vs_epsilon(model, "centered", "float64", cache=cache).axes[0]
    x, y = (np.asarray(v, dtype=float) for v in artist(ax, "measured").get_data())
    best = x[np.argmin(y)]
    kink = artist(ax, "kink-region").get_x() if has(ax, "kink-region") else np.inf
    assert S.fit_slope(x, y, x[0], best / 30) == pytest.approx(-1, abs=0.2)
    assert S.fit_slope(x, y, best * 30, min(kink / 1.01, 1.0)) == pytest.approx(2, abs=0.15)


@pytest.mark.parametrize("model", ["exp", "sin", "net", "net_stable"])
@pytest.mark.parametrize("method", ["centered", "forward"])
def test_predicted_best_line_is_within_10x_of_the_plotted_minimum_in_float64(cache, model, method):
    ax = plot_error_vs_epsilon(model, method, "float64", cache=cache).axes[0]
    x, y = (np.asarray(v, dtype=float) for v in artist(ax, "measured").get_data())
    predicted = artist(ax, "best-eps").get_xdata()[0]
    assert 0.1 < x[np.argmin(y)] / predicted < 10


def test_current_step_is_marked_with_its_measured_error(cache):
    ax = plot_error_vs_epsilon("net", "centered", "float64", eps=3e-5, cache=cache).axes[0]
    assert artist(ax, "current-eps").get_xdata()[0] == pytest.approx(3e-5)
    x, y = artist(ax, "current-point").get_data()
    assert x[0] == pytest.approx(3e-5)
    assert y[0] == pytest.approx(S.error_at("net", "centered", "float64", 3e-5))


def test_float64_and_float32_side_by_side(cache):
    fig = plot_error_vs_epsilon("net", "centered", dtypes=("float64", "float32"), eps=1e-3, cache=cache)
    assert len(fig.axes) == 2
    assert "float64" in fig.axes[0].get_title() and "float32" in fig.axes[1].get_title()
    mins = [np.min(artist(ax, "measured").get_data()[1]) for ax in fig.axes]
    assert mins[1] > 1000 * mins[0]  # float32 is limited by its round-off
    assert mins[1] > 1e-7  # no float32 step passes the classic threshold
    best = [artist(ax, "best-eps").get_xdata()[0] for ax in fig.axes]
    assert best[1] > 100 * best[0]


def test_complex_step_panel_is_flat_down_to_1e_20_and_fails_on_relu(cache):
    ax = plot_error_vs_epsilon("exp", "complex", "float64", eps=1e-20, cache=cache).axes[0]
    x, y = (np.asarray(v, dtype=float) for v in artist(ax, "measured").get_data())
    assert x[0] == pytest.approx(1e-20)
    assert np.all(y[x <= 1e-7] < 1e-13)
    assert not has(ax, "best-eps")
    ax = plot_error_vs_epsilon("net", "complex", "float64", eps=1e-20, cache=cache).axes[0]
    assert line_slope(artist(ax, "roundoff")) == pytest.approx(0, abs=1e-12)  # a flat floor, no u/eps
    ax = plot_error_vs_epsilon("relu", "complex", "float64", cache=cache).axes[0]
    _, y = artist(ax, "measured").get_data()
    assert np.min(y[:-5]) > 0.1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any("truncation" in t for t in legend)  # nothing to draw, nothing in the legend


def test_kink_region_shown_for_the_net_and_not_for_smooth_functions(cache):
    ax = plot_error_vs_epsilon("net", "centered", "float64", cache=cache).axes[0]
    assert has(ax, "kink-region")
    assert not has(plot_error_vs_epsilon("sin", "centered", "float64", cache=cache).axes[0], "kink-region")


def test_exact_zeros_are_drawn_at_the_floor(cache):
    ax = plot_error_vs_epsilon("linear", "complex", "float64", cache=cache).axes[0]
    _, y = artist(ax, "exact-zero").get_data()
    assert len(y) > 0 and np.all(np.asarray(y) == ZERO_FLOOR)
    assert ax.get_ylim()[0] < ZERO_FLOOR


def test_titles_labels_and_fonts_are_readable_when_projected(cache):
    ax = plot_error_vs_epsilon("sin", "forward", "float32", cache=cache).axes[0]
    assert "forward" in ax.get_title() and "float32" in ax.get_title() and "sin" in ax.get_title()
    assert "step" in ax.get_xlabel() and "relative difference" in ax.get_ylabel()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.title.get_fontsize() >= 14 and ax.xaxis.label.get_fontsize() >= 14
    assert min(EPSILON_FONTS.values()) >= 12


def test_methods_figure_overlays_three_measured_curves(cache):
    ax = plot_methods_vs_epsilon("net", "float64", cache=cache).axes[0]
    curves = {m: np.asarray(artist(ax, f"measured-{m}").get_data()[1]) for m in S.METHODS}
    assert curves["complex"].min() < 1e-13 < curves["centered"].min() < curves["forward"].min()


def test_bad_input_names_the_problem(cache):
    with pytest.raises(ValueError, match="dtypes is empty"):
        plot_error_vs_epsilon(dtypes=(), cache=cache)
    with pytest.raises(S.StepSizeError, match="model must be one of"):
        plot_error_vs_epsilon("vgg", cache=cache)
    with pytest.raises(S.StepSizeError, match="positive"):
        plot_error_vs_epsilon(eps=0.0, cache=cache)


# ---------------------------------------------------------------------------------------------------
# Issue 16: one best step per panel, legends and labels off the data, text readable in the column
# ---------------------------------------------------------------------------------------------------

#: Width (CSS px) at which JupyterLab shows a notebook's figures at 1280x800 (measured by the browser
#: tests; tests/browser/epsilon_page.py checks the rendered size itself).
COLUMN_AT_1280 = 848

PANELS = [("net", "centered", "float64", 1e-7), ("net", "centered", "float32", 4.9e-3),
          ("net", "forward", "float32", 1e-3), ("sin", "complex", "float64", 1e-10),
          ("linear", "complex", "float64", 1e-3), ("relu", "complex", "float64", 1e-10),
          ("net_stable", "centered", "float32", 0.5), ("exp", "forward", "float64", 1e-12)]


@pytest.mark.parametrize("model, method, dtype, eps", PANELS)
def test_one_best_step_per_panel_outside_the_kink_region(cache, model, method, dtype, eps):
    """The dotted line, its legend entry and the verdict name the same step, and it does not cross a kink."""
    from course_utils.stepsize_views import curve_data

    data = curve_data(model, method, dtype, eps, cache=cache)
    ax = plot_error_vs_epsilon(data=data).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    if data["shown_best_eps"] is None:
        assert not has(ax, "best-eps") and not any("best" in t for t in labels)
        return
    x = artist(ax, "best-eps").get_xdata()[0]
    assert x == data["shown_best_eps"]
    best_labels = [t for t in labels if t.startswith("best \u03b5")]
    assert len(best_labels) == 1 and f"{x:.1e}" in best_labels[0]
    assert data["verdict"].count("best \u03b5") == 1 and best_labels[0] in data["verdict"]
    if has(ax, "kink-region"):
        assert x < artist(ax, "kink-region").get_x()


def test_float32_net_best_step_is_the_measured_one_below_the_kink(cache):
    from course_utils.stepsize_views import curve_data

    data = curve_data("net", "centered", "float32", 4.9e-3, cache=cache)
    assert data["best_eps"] >= data["kink_eps"]  # the error model's optimum crosses the kink ...
    below = data["eps"] < data["kink_eps"]
    i = np.argmin(data["error"][below])
    assert data["shown_best_eps"] == data["eps"][below][i] and data["shown_best_below_kink"]  # ... so not shown
    assert "(below the kink)" in data["verdict"]


def window(artist_, renderer):
    return artist_.get_window_extent(renderer)


@pytest.mark.parametrize("model, method, dtype, eps", PANELS)
def test_legend_outside_the_axes_and_step_label_above_every_curve(cache, model, method, dtype, eps):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_error_vs_epsilon(model, method, dtype, eps=eps, cache=cache)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    box, legend = ax.get_window_extent(renderer), window(ax.get_legend(), renderer)
    assert legend.x0 >= box.x1, "the legend overlaps the axes"
    assert legend.x1 <= fig.bbox.x1 + 0.5 and legend.y0 >= fig.bbox.y0  # and stays in the figure
    label = window(artist(ax, "current-text"), renderer)
    assert box.x0 <= label.x0 and label.x1 <= box.x1 and label.y1 <= box.y1  # inside the axes
    one = ax.transData.transform((1.0, 1.0))[1]  # display height of a relative difference of 1
    assert label.y0 > one, "the step label reaches down into the curves"
    for gid in ("measured", "truncation", "roundoff", "model-total"):
        _, y = artist(ax, gid).get_data()
        y = np.asarray(y, dtype=float)
        assert np.all(y[np.isfinite(y)] <= 1.0), gid  # no curve goes up into the label's band


@pytest.mark.parametrize("kind", ["single", "stacked", "methods"])
def test_every_text_is_at_least_11_px_when_the_figure_fills_the_1280_column(cache, kind):
    from course_utils.epsilon_drawing import EPSILON_DPI

    fig = {"single": lambda: plot_error_vs_epsilon("net", cache=cache),
           "stacked": lambda: plot_error_vs_epsilon("net", dtypes=("float64", "float32"), eps=4.9e-3, cache=cache),
           "methods": lambda: plot_methods_vs_epsilon("net", cache=cache)}[kind]()
    fig.draw_without_rendering()
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_text().strip() and t.get_visible()]
    smallest = min(t.get_fontsize() for t in texts)
    assert smallest >= min(EPSILON_FONTS.values()) >= 12
    assert fig.dpi == EPSILON_DPI
    width_px = fig.get_figwidth() * EPSILON_DPI  # the picture's natural width (layout fills the figure)
    shown = min(1.0, COLUMN_AT_1280 / width_px)
    assert smallest * EPSILON_DPI / 72 * shown >= 11, f"{smallest} pt is {smallest * EPSILON_DPI / 72 * shown:.1f} px"
    assert width_px >= 1400  # wide enough to fill a projector's column (about 1490 px at 1920) sharply


def test_figures_carry_alt_text_with_their_numbers(cache):
    from course_utils.stepsize_views import curve_data

    fig = plot_error_vs_epsilon("net", dtypes=("float64", "float32"), eps=4.9e-3, cache=cache)
    _, metadata = fig._repr_mimebundle_()
    alt = metadata["image/png"]["alt"]
    for dtype in ("float64", "float32"):
        data = curve_data("net", "centered", dtype, 4.9e-3, cache=cache)
        assert data["title"] in alt and f"{data['shown_best_eps']:.1e}" in alt
    alt = plot_methods_vs_epsilon("net", cache=cache)._repr_mimebundle_()[1]["image/png"]["alt"]
    assert all(m in alt for m in ("centered", "forward", "complex"))
