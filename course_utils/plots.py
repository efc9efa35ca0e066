"""Plots for the notebooks. Every function returns a matplotlib Figure and never calls ``plt.show()``.

Figures are built for projection: large fonts, colour-blind-safe colour maps (viridis / cividis), and
nothing that depends on telling two colours apart (hatching, outlines and labels carry the meaning).
"""

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle


# ---------------------------------------------------------------------------------------------------
# The gradient-check report as a picture (notebook 3: bug hunt)
# ---------------------------------------------------------------------------------------------------

#: Relative errors below this are drawn at this value (0 cannot be shown on a log scale).
REPORT_ERROR_FLOOR = 1e-12

#: Font sizes for projection: titles, axis labels, tick labels.
REPORT_FONTS = {"title": 18, "label": 15, "tick": 13}


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
      in the parameters' order.
    """
    entry_errors = getattr(report, "entry_errors", None)
    layout = getattr(report, "layout", None)
    if layout is None or entry_errors is None:
        raise TypeError(f"report must be a GradCheckReport from check_gradients, got {type(report).__name__}")
    if report.mode != "full" or np.size(entry_errors) != layout.size:
        raise ValueError("a heatmap needs one relative error per entry: run check_gradients(..., mode='full') "
                         f"(this report is from mode={report.mode!r})")
    kink_index = np.zeros(layout.size, dtype=bool)
    kink_index[[k.index for k in report.kinks]] = True
    excess = report.entry_excess if report.entry_excess is not None else entry_errors
    failing = (np.asarray(excess) > report.threshold) & ~kink_index
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
        }
    return out


def plot_report(report, cmap="viridis", title=None):
    """Draw a gradient-check report: a heatmap of per-entry relative error for every parameter matrix,
    on a log colour scale with the threshold marked, above bars of the per-block relative differences.

    Failing entries are outlined with a thick black-and-white frame, kinks are marked "K", and failing
    blocks get hatched bars labelled "WRONG", so nothing depends on telling colours apart.

    Parameters
    ----------
    report : GradCheckReport from ``check_gradients(..., mode="full")``
    cmap : str, a colour-blind-safe sequential colour map ("viridis" or "cividis")
    title : str or None, figure title (default: the report's verdict and global relative difference)

    Returns
    -------
    matplotlib.figure.Figure (not registered with pyplot: display it, or save it; nothing to close).
        Axes: one heatmap per block (titled with the block name), the colour bar (label "relative
        error", a line at the threshold), and the bar chart (gid "block-bars").
    """
    data = report_heatmap_data(report)
    if cmap not in colormaps:
        raise ValueError(f"unknown colour map {cmap!r}; use a colour-blind-safe one such as 'viridis' or 'cividis'")
    names = list(data)
    norm = LogNorm(vmin=REPORT_ERROR_FLOOR, vmax=1.0)
    widths = [max(d["errors"].shape[1], 1) + 1.5 for d in data.values()]
    fig = Figure(figsize=(max(12.0, 1.2 * len(names) + 0.45 * sum(widths)), 9.0), layout="constrained")
    grid = fig.add_gridspec(2, len(names) + 1, height_ratios=[1.25, 1.0],
                            width_ratios=widths + [0.6])
    fonts = REPORT_FONTS
    image = None
    for i, name in enumerate(names):
        d = data[name]
        ax = fig.add_subplot(grid[0, i])
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
        ax.set_title(f"{name}\n{status}", fontsize=fonts["label"],
                     fontweight="normal" if d["passed"] else "bold")
        rows, cols = d["errors"].shape
        ax.set_yticks(range(rows) if rows <= 10 else range(0, rows, max(1, rows // 5)))
        ax.set_xticks(range(cols) if cols <= 6 else range(0, cols, max(1, cols // 4)))
        ax.tick_params(labelsize=fonts["tick"])
    cax = fig.add_subplot(grid[0, -1])
    bar = fig.colorbar(image, cax=cax)
    bar.set_label("relative error per entry", fontsize=fonts["label"])
    bar.ax.tick_params(labelsize=fonts["tick"])
    bar.ax.axhline(report.threshold, color="black", linewidth=3, gid="threshold-colorbar")
    bar.ax.axhline(report.threshold, color="white", linewidth=1.2, linestyle="--")
    bar.ax.text(-0.15, report.threshold, "threshold", transform=bar.ax.get_yaxis_transform(),
                ha="right", va="center", fontsize=fonts["tick"], rotation=90)

    ax = fig.add_subplot(grid[1, :])
    ax.set_gid("block-bars")
    values = [max(data[n]["relative_difference"], REPORT_ERROR_FLOOR) for n in names]
    colours = [colormaps[cmap](norm(v)) for v in values]
    bars = ax.bar(names, values, color=colours, edgecolor="black", linewidth=1.5)
    for rect, name in zip(bars, names):
        if not data[name]["passed"]:
            rect.set_hatch("//")
            ax.text(rect.get_x() + rect.get_width() / 2, rect.get_height() * 1.8, "WRONG", ha="center",
                    va="bottom", fontsize=fonts["tick"], fontweight="bold")
    ax.set_yscale("log")
    ax.set_ylim(REPORT_ERROR_FLOOR, 50.0)
    ax.axhline(report.threshold, color="black", linestyle="--", linewidth=2, gid="threshold-bars")
    ax.text(1.005, report.threshold, f"threshold\n{report.threshold:.0e}", transform=ax.get_yaxis_transform(),
            ha="left", va="center", fontsize=fonts["tick"])
    ax.set_ylabel("block relative difference", fontsize=fonts["label"])
    ax.tick_params(labelsize=fonts["tick"])
    ax.grid(axis="y", alpha=0.3)
    head = {"passed": "PASSED", "failed": "FAILED", "inconclusive": "INCONCLUSIVE"}[report.verdict]
    fig.suptitle(title if title is not None else
                 f"Gradient check {head}: relative difference {report.relative_difference:.2e}",
                 fontsize=fonts["title"])
    return fig
