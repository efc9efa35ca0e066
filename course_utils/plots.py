"""Plots for the notebooks. Every function returns a matplotlib Figure and never calls ``plt.show()``.

Figures are built for projection: large fonts, colour-blind-safe colour maps (viridis / cividis), and
nothing that depends on telling two colours apart (hatching, outlines and labels carry the meaning).
"""

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.patches import Rectangle

from course_utils.epsilon_drawing import (EPSILON_DPI, EPSILON_FONTS, EPSILON_PANEL_SIZE, EPSILON_YLIM,
                                         OPTIONAL_ARTISTS, describe_panel, panel_artists, plain_log_ticks,
                                         redraw_error_vs_epsilon, update_current_step)
from course_utils.figure_machinery import (COLUMN_PX, FIGURE_DPI, INLINE_DPI, REPORT_FONTS, DescribedFigure,
                                           draw_block_bars, draw_colour_bar)
from course_utils.report import HEADLINES
from course_utils.stepsize import METHODS, SweepCache
from course_utils.stepsize_views import METHOD_LABELS, curve_data

__all__ = ["draw_error_vs_epsilon", "plot_error_vs_epsilon", "plot_methods_vs_epsilon", "plot_report",
           "redraw_error_vs_epsilon", "report_heatmap_data", "update_current_step"]


# ---------------------------------------------------------------------------------------------------
# The gradient-check report as a picture (notebook 3: bug hunt)
# ---------------------------------------------------------------------------------------------------

#: Relative errors below this are drawn at this value (0 cannot be shown on a log scale).
REPORT_ERROR_FLOOR = 1e-12


def report_heatmap_data(report):
    """Per-entry relative errors of a full gradient check, arranged as the parameter matrices.

    Parameters
    ----------
    report : GradCheckReport from ``check_gradients(..., mode="full")``

    Returns
    -------
    dict name -> dict with
        "errors" : ndarray, shape (rows, cols): per-entry |g - g_hat| / (|g| + |g_hat|); a weight
            W (n, n_prev) keeps its shape, a bias b (n, 1) is a column, a scalar is (1, 1)
        "failing" : ndarray of bool, same shape: entries above the threshold beyond round-off (kinks excluded)
        "kinks" : ndarray of bool, same shape: entries where the step crossed a kink
        "relative_difference" : float, the block's relative difference
        "passed" : bool
        "n_kinks" : int, entries of the block where the step crossed a kink (or a jump)
      in the parameters' order.

    Raises
    ------
    TypeError when report is not a GradCheckReport; ValueError when it is not from mode "full".
    """
    entry_errors = getattr(report, "entry_errors", None)
    layout = getattr(report, "layout", None)
    if layout is None or entry_errors is None:
        raise TypeError(f"report must be a GradCheckReport from check_gradients, got {type(report).__name__}")
    if report.mode != "full" or np.size(entry_errors) != layout.size:
        raise ValueError("a heatmap needs one relative error per entry: run check_gradients(..., mode='full') "
                         f"(this report is from mode={report.mode!r})")
    failing, kink_index = report.entry_failing, report.entry_kinks  # stored by the checker, shape (n,)
    blocks = {b.name: b for b in report.blocks}
    out = {}
    for name, shape, sl in zip(layout.names, layout.shapes, layout.slices().values()):
        shape2d = shape if len(shape) == 2 else ((shape[0], 1) if len(shape) == 1 else (1, int(np.prod(shape))))
        out[name] = {
            "errors": np.asarray(entry_errors[sl], dtype=float).reshape(shape2d),
            "failing": failing[sl].reshape(shape2d),
            "kinks": kink_index[sl].reshape(shape2d),
            "relative_difference": float(blocks[name].relative_difference),
            "passed": bool(blocks[name].passed),
            "n_kinks": int(np.count_nonzero(kink_index[sl])),
        }
    return out


def plot_report(report, cmap="viridis", title=None):
    """Draw a gradient-check report: a heatmap of per-entry relative error for every parameter matrix,
    on a log colour scale with the threshold marked, above bars of the per-block relative differences.

    Failing entries are outlined with a thick black-and-white frame, kinks are marked "K", blocks with kinks
    say so in their titles and get dotted bars labelled "KINK", and failing blocks get hatched bars labelled
    "WRONG", so nothing depends on telling colours apart.

    Parameters
    ----------
    report : GradCheckReport from ``check_gradients(..., mode="full")``
    cmap : str, a colour-blind-safe sequential colour map ("viridis" or "cividis")
    title : str or None, figure title (default: the report's verdict and its own number, the relative
        difference over the entries that count, with the kink entries set aside)

    Returns
    -------
    matplotlib.figure.Figure (not registered with pyplot: display it, or save it; nothing to close),
        sized for the notebook column (see ``course_utils.figure_machinery``), with alt text ``fig.alt``.
        Axes: one heatmap per block (titled with the block name), the colour bar (label "relative
        error", a line at the threshold), and the bar chart (gid "block-bars").

    Raises
    ------
    TypeError / ValueError (from ``report_heatmap_data``) for a report that is not a full check;
    ValueError for an unknown colour map.
    """
    data = report_heatmap_data(report)
    if cmap not in colormaps:
        raise ValueError(f"unknown colour map {cmap!r}; use a colour-blind-safe one such as 'viridis' or 'cividis'")
    names = list(data)
    norm = LogNorm(vmin=REPORT_ERROR_FLOOR, vmax=1.0)
    widths = [max(d["errors"].shape[1], 1) + 1.5 for d in data.values()]
    # sized for the notebook column at 1280 (COLUMN_PX at the inline dpi), drawn sharp for wider columns
    fig = DescribedFigure(figsize=(COLUMN_PX / INLINE_DPI, 5.6), dpi=FIGURE_DPI, layout="constrained")
    grid = fig.add_gridspec(2, len(names) + 1, height_ratios=[1.2, 1.0], width_ratios=widths + [0.5])
    image = None
    for i, name in enumerate(names):
        image = _draw_block_heatmap(fig.add_subplot(grid[0, i]), name, data[name], cmap, norm)
    draw_colour_bar(fig, fig.add_subplot(grid[0, -1]), image, report.threshold)
    draw_block_bars(fig.add_subplot(grid[1, :]), data, cmap, norm, report.threshold, REPORT_ERROR_FLOOR)
    fig.suptitle(title if title is not None else _report_title(report), fontsize=REPORT_FONTS["title"])
    wrong = [n for n in names if not data[n]["passed"]]
    fig.alt = (f"{fig.get_suptitle()}. Heatmaps of the relative error of every entry of {', '.join(names)} "
               f"on a log colour scale, and one bar per block against the threshold {report.threshold:.0e}; "
               + (f"wrong blocks: {', '.join(wrong)}." if wrong else "every block is below the threshold."))
    return fig


def _report_title(report):
    """The figure's title: the verdict and its own number (entries that count; kinks set aside)."""
    number = report.relative_difference if report.counted_difference is None else report.counted_difference
    aside = report.n_set_aside
    return (f"Gradient check {HEADLINES[report.verdict]}: relative difference {number:.2e}"
            + (f", {aside} kink entr{'ies' if aside > 1 else 'y'} set aside" if aside else ""))


def _draw_block_heatmap(ax, name, d, cmap, norm):
    """One block's per-entry errors on ``ax``: failing entries framed, kinks marked "K"; returns the image."""
    fonts = REPORT_FONTS
    shown = np.clip(d["errors"], REPORT_ERROR_FLOOR, 1.0)
    image = ax.imshow(shown, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    image.set_gid(f"heatmap-{name}")
    for (r, c) in zip(*np.nonzero(d["failing"])):
        for colour, width in (("white", 5.0), ("black", 2.5)):
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=colour,
                                   linewidth=width, gid="failing-entry" if colour == "black" else None))
    for (r, c) in zip(*np.nonzero(d["kinks"])):
        ax.text(c, r, "K", ha="center", va="center", fontsize=fonts["label"], fontweight="bold",
                color="white", gid="kink-entry",
                bbox=dict(boxstyle="round,pad=0.1", facecolor="black", edgecolor="none"))
    status = "ok" if d["passed"] else "WRONG"
    if d.get("n_kinks"):
        status += f" ({d['n_kinks']} kink{'s' if d['n_kinks'] > 1 else ''})"
    ax.set_title(f"{name}\n{status}", fontsize=fonts["label"],
                 fontweight="normal" if d["passed"] else "bold")
    rows, cols = d["errors"].shape
    ax.set_yticks(range(rows) if rows <= 10 else range(0, rows, max(1, rows // 5)))
    ax.set_xticks(range(cols) if cols <= 6 else range(0, cols, max(1, cols // 4)))
    ax.tick_params(labelsize=fonts["tick"])
    return image


# ---------------------------------------------------------------------------------------------------
# Error versus step epsilon (notebook 4: choosing epsilon)
# ---------------------------------------------------------------------------------------------------


def draw_error_vs_epsilon(ax, data, legend=True, keep_unused=False):
    """Draw one error-versus-step panel into ``ax`` (cleared first) from a ``stepsize_views.curve_data`` dict.

    Draws: the measured relative difference (gid "measured"), the truncation line (gid "truncation",
    slope p), the round-off line (gid "roundoff", slope -1; flat for the complex step), their sum
    (gid "model-total"), the panel's one best step (gid "best-eps", the step the verdict quotes), the
    current step (gid "current-eps", its measured error gid "current-point", labelled by gid
    "current-text" above the curves), the classic 1e-7 threshold (gid "threshold") and, when the step
    crosses a ReLU kink, a shaded region (gid "kink-region"). The legend sits outside the axes.

    Parameters
    ----------
    ax : matplotlib Axes
    data : dict from ``course_utils.stepsize_views.curve_data``
    legend : bool
    keep_unused : bool, keep the artists this panel does not need (exact zeros, best step, kink region)
        hidden instead of removing them, so that ``redraw_error_vs_epsilon`` can show any other panel in
        the same artists

    Returns
    -------
    dict gid -> the matplotlib artist

    Raises
    ------
    KeyError when ``data`` is not a ``curve_data`` dict.
    """
    ax.clear()
    artists = panel_artists(ax)
    redraw_error_vs_epsilon(ax, artists, data, legend=legend)
    if not keep_unused:
        for gid in [gid for gid in OPTIONAL_ARTISTS if not artists[gid].get_visible()]:
            artists.pop(gid).remove()  # (hidden artists have no legend entry)
    return artists


def plot_error_vs_epsilon(model="net", method="centered", dtype="float64", eps=1e-7, dtypes=None, cache=None,
                          mode="entries", data=None):
    """Error of a finite-difference gradient versus the step, on log-log axes, with the error model.

    Parameters
    ----------
    model : name in ``course_utils.stepsize.MODELS`` ("net", "net_stable", "linear", "sin", "exp", "relu")
    method : "centered", "forward" or "complex"
    dtype : "float64" or "float32" (ignored when ``dtypes`` is given)
    eps : float, the current step, marked on the plot
    dtypes : sequence of dtype names, optional: one panel per dtype, stacked, e.g. ("float64", "float32")
    cache : SweepCache, optional, reused across calls
    mode : "entries" (per-entry check) or "direction" (one random direction)
    data : dict or list of dicts from ``stepsize_views.curve_data``, optional: draw these instead

    Returns
    -------
    DescribedFigure (a matplotlib Figure with alt text) with one Axes per panel, stacked (not registered
    with pyplot; nothing to close), sized for the notebook column (see ``course_utils.epsilon_drawing``)

    Raises
    ------
    StepSizeError for an unknown model, method or dtype, or a step that is not a positive number;
    ValueError for an empty ``dtypes``.
    """
    cache = SweepCache() if cache is None else cache
    if data is None:
        names = [dtype] if dtypes is None else list(dtypes)
        if not names:
            raise ValueError("dtypes is empty: pass e.g. dtypes=('float64', 'float32'), or leave it out")
        panels = [curve_data(model, method, d, eps, cache=cache, mode=mode) for d in names]
    else:
        panels = [data] if isinstance(data, dict) else list(data)
    width, height = EPSILON_PANEL_SIZE
    fig = DescribedFigure(figsize=(width, height * (1 + 0.75 * (len(panels) - 1))), dpi=EPSILON_DPI,
                          layout="constrained")
    fig.alt = " ".join(describe_panel(panel) for panel in panels)
    for ax, panel in zip(fig.subplots(len(panels), 1, squeeze=False, sharex=True)[:, 0], panels):
        draw_error_vs_epsilon(ax, panel)
    return fig


def plot_methods_vs_epsilon(model="sin", dtype="float64", methods=METHODS, cache=None):
    """Measured error versus step of several methods on one log-log axes (no error model).

    Parameters
    ----------
    model : name in ``course_utils.stepsize.MODELS``
    dtype : "float64" or "float32"
    methods : sequence of "centered", "forward", "complex"
    cache : SweepCache, optional

    Returns
    -------
    DescribedFigure (a matplotlib Figure with alt text) with one Axes; each method's curve has gid
    "measured-<method>"

    Raises
    ------
    StepSizeError for an unknown model, method or dtype.
    """
    cache = SweepCache() if cache is None else cache
    fonts = EPSILON_FONTS
    fig = DescribedFigure(figsize=EPSILON_PANEL_SIZE, dpi=EPSILON_DPI, layout="constrained")
    ax = fig.subplots()
    styles = {"forward": ("s-", "#D55E00"), "centered": ("o-", "#0072B2"), "complex": ("^-", "#009E73")}
    label, lowest = "", []
    for method in methods:
        d = curve_data(model, method, dtype, 1e-7, cache=cache)
        marker, colour = styles[method]
        ax.loglog(d["eps"], d["shown_error"], marker, color=colour, markersize=4, linewidth=2,
                  label=f"{METHOD_LABELS[method]}", gid=f"measured-{method}")
        label = d["model_label"]
        lowest.append(f"{METHOD_LABELS[method]} {d['measured_best_error']:.1e} at \u03b5 \u2248 "
                      f"{d['measured_best_eps']:.1e}")
    fig.alt = (f"Log-log plot of the relative difference against the step \u03b5 of {', '.join(methods)} differences "
               f"in {np.dtype(dtype).name} on {label}; smallest measured: {'; '.join(lowest)}.")
    ax.axhline(1e-7, color="#555555", linestyle="--", linewidth=1, label="classic threshold 1e-7", gid="threshold")
    ax.set_ylim(*EPSILON_YLIM)
    plain_log_ticks(ax)
    ax.set_title(f"Three finite differences in {np.dtype(dtype).name}: {label}", fontsize=fonts["title"])
    ax.set_xlabel("step \u03b5 (same units as \u03b8)", fontsize=fonts["label"])
    ax.set_ylabel("relative difference \u2016g \u2212 \u011d\u2016 / (\u2016g\u2016 + \u2016\u011d\u2016)",
                  fontsize=fonts["label"])
    ax.tick_params(labelsize=fonts["tick"])
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=fonts["legend"], loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return fig
