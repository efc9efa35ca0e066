"""Machinery of notebook 4's error-versus-step plots: a student does not need this module to follow the course.

It holds the reusable artists, the ticks, the legend and the current step's label:
``plots.draw_error_vs_epsilon`` draws a panel with these pieces; the ε explorer keeps the artists and
only gives them new data (``redraw_error_vs_epsilon``) or moves the current-step marks
(``update_current_step``), which is much faster than drawing a new figure.

Sizes are chosen for the notebook column: a panel is ``EPSILON_PANEL_SIZE`` inches wide, so shown
848 px wide (JupyterLab at 1280) one point is about 1.07 px and the smallest text, ``min(EPSILON_FONTS)``
= 12 pt, is about 13 px; at ``EPSILON_DPI`` the picture is about 1580 px wide, enough to fill a
projector's column at 1920 without blur.
"""

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from course_utils.stepsize_views import ZERO_FLOOR, best_step_label, power_of_ten

__all__ = ["EPSILON_DPI", "EPSILON_FONTS", "EPSILON_PANEL_SIZE", "EPSILON_YLIM", "OPTIONAL_ARTISTS",
           "describe_panel", "panel_artists", "plain_log_ticks", "redraw_error_vs_epsilon", "update_current_step"]

#: Font sizes (points) of the epsilon plots; every text of the figures uses one of them.
EPSILON_FONTS = {"title": 15, "label": 14, "tick": 13, "legend": 12, "step": 12}

#: Width and height (inches) of one panel, and the resolution of the pictures (dots per inch).
EPSILON_PANEL_SIZE = (11.0, 6.0)
EPSILON_DPI = 144

#: Fixed vertical limits, so the explorer's plot never jumps while a control moves. Exact zeros are
#: drawn at ZERO_FLOOR = 1e-18; a relative difference never exceeds 1, so the two decades above 1 stay
#: free of data and hold the current step's label.
EPSILON_YLIM = (1e-19, 1e2)

#: Artists of a panel that only some panels show.
OPTIONAL_ARTISTS = ("exact-zero", "best-eps", "kink-region")

_EXACT_ZERO = "exactly 0 (at the bottom)"
_KINK = "step crosses a ReLU kink"


def _power_label(value, _position=None):
    """Tick label of a power of ten as plain text, "1e-12" (no mathtext: about 10x faster to draw)."""
    exponent = int(round(np.log10(value))) if value > 0 else 0
    return "1" if exponent == 0 else f"1e{exponent}"


def plain_log_ticks(ax):
    """Major ticks every 2 decades (x) / 3 decades (y), plain-text labels, no minor ticks.

    Parameters
    ----------
    ax : matplotlib Axes with log scales and positive limits

    Returns
    -------
    None (the axes' tick locators and formatters are set)

    Raises
    ------
    Nothing for positive limits; a non-positive limit gives no ticks on that axis.
    """
    for axis, every in ((ax.xaxis, 2), (ax.yaxis, 3)):
        lo, hi = sorted(ax.get_xlim() if axis is ax.xaxis else ax.get_ylim())
        exponents = np.arange(np.ceil(np.log10(lo)), np.floor(np.log10(hi)) + 1)
        exponents = exponents[exponents % every == 0]
        axis.set_major_locator(FixedLocator(10.0 ** exponents))
        axis.set_major_formatter(FuncFormatter(_power_label))
        axis.set_minor_locator(NullLocator())


def _legend_label(label, values):
    """The label, or a hidden one ("_" prefix) when the line has nothing to draw (all NaN)."""
    return label if np.any(np.isfinite(values)) else "_" + label


def panel_artists(ax):
    """Every artist of an error-versus-step panel, without data yet, in the order of the legend.

    Parameters
    ----------
    ax : matplotlib Axes (log-log once data is given)

    Returns
    -------
    dict gid -> artist

    Raises
    ------
    Nothing: the artists are created empty.
    """
    a = {}
    (a["measured"],) = ax.loglog([], [], "o-", color="black", markersize=4, linewidth=1.5, label="measured",
                                 gid="measured")
    (a["exact-zero"],) = ax.loglog([], [], "v", color="black", markersize=7, label=_EXACT_ZERO, gid="exact-zero")
    (a["truncation"],) = ax.loglog([], [], "--", color="#0072B2", linewidth=2.5, gid="truncation")
    (a["roundoff"],) = ax.loglog([], [], "-.", color="#D55E00", linewidth=2.5, gid="roundoff")
    (a["model-total"],) = ax.loglog([], [], "-", color="#999999", linewidth=5, alpha=0.6, gid="model-total",
                                    zorder=1)
    a["best-eps"] = ax.axvline(1.0, color="#009E73", linestyle=":", linewidth=3, gid="best-eps")
    a["threshold"] = ax.axhline(1.0, color="#555555", linestyle="--", linewidth=1, gid="threshold")
    a["kink-region"] = ax.axvspan(1.0, 2.0, color="#CC79A7", alpha=0.15, label=_KINK, gid="kink-region")
    a["current-eps"] = ax.axvline(1.0, color="#E69F00", linewidth=3, label="current \u03b5", gid="current-eps")
    (a["current-point"],) = ax.loglog([1.0], [1.0], "D", color="#E69F00", markeredgecolor="black", markersize=13,
                                      gid="current-point", zorder=5)
    a["current-text"] = ax.text(1.0, 1.0, "", fontsize=EPSILON_FONTS["step"], zorder=6, gid="current-text",
                                va="center", bbox=dict(facecolor="white", edgecolor="#E69F00", alpha=0.9))
    return a


def _shown(artist, visible, label):
    """Show or hide an optional artist; a hidden one has no legend entry ("_" label)."""
    artist.set_visible(visible)
    artist.set_label(label if visible else "_" + label)


def _model_lines(artists, data):
    """Give the truncation, round-off and total lines their data and labels (hidden when all NaN)."""
    square = "\u00b2" if data["method"] in ("centered", "complex") else ""
    roundoff = "round-off floor \u2248 u" if data["method"] == "complex" else "round-off \u221d u/\u03b5"
    for gid, label in (("truncation", "truncation \u221d \u03b5" + square), ("roundoff", roundoff),
                       ("model-total", "error model (sum)")):
        values = data[{"model-total": "total"}.get(gid, gid)]
        artists[gid].set_data(data["line_eps"], values)
        artists[gid].set_label(_legend_label(label, values))


def redraw_error_vs_epsilon(ax, artists, data, legend=True):
    """Show ``data`` (a ``stepsize_views.curve_data`` dict) in the artists of a panel drawn before on
    ``ax`` by ``plots.draw_error_vs_epsilon(..., keep_unused=True)``: new line data, labels, limits,
    title and legend (outside the axes, on the right: it never covers data), the same picture as a
    fresh draw, several times faster (no axes to clear, no ticks to rebuild).

    Parameters
    ----------
    ax : matplotlib Axes; artists : dict gid -> artist (from ``panel_artists``); data : dict
    legend : bool

    Returns
    -------
    dict gid -> artist (``artists``)

    Raises
    ------
    KeyError when ``data`` is not a ``curve_data`` dict or ``artists`` not a panel's artists.
    """
    fonts = EPSILON_FONTS
    artists["measured"].set_data(data["eps"], data["shown_error"])
    exact = data["exact"]
    artists["exact-zero"].set_data(data["eps"][exact], data["shown_error"][exact])
    _shown(artists["exact-zero"], bool(np.any(exact)), _EXACT_ZERO)
    _model_lines(artists, data)
    best = data["shown_best_eps"]  # the one best step of the panel, also quoted by the verdict
    artists["best-eps"].set_xdata([best, best] if best is not None else [1.0, 1.0])
    _shown(artists["best-eps"], best is not None, best_step_label(data) if best is not None else "best \u03b5")
    artists["threshold"].set_ydata([data["threshold"], data["threshold"]])
    artists["threshold"].set_label(f"classic threshold {power_of_ten(data['threshold'])}")
    kink = data["kink_eps"]
    if kink is not None:
        artists["kink-region"].set_x(kink)
        artists["kink-region"].set_width(data["eps"][-1] - kink)
    _shown(artists["kink-region"], kink is not None, _KINK)
    ax.set_xlim(data["eps"][0], data["eps"][-1])
    ax.set_ylim(*EPSILON_YLIM)
    plain_log_ticks(ax)
    update_current_step(artists, data)
    ax.set_title(data["title"], fontsize=fonts["title"])
    ax.set_xlabel(data["xlabel"], fontsize=fonts["label"])
    ax.set_ylabel(data["ylabel"], fontsize=fonts["label"])
    ax.tick_params(labelsize=fonts["tick"])
    ax.grid(True, which="major", alpha=0.3)
    if legend:
        ax.legend(fontsize=fonts["legend"], loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  framealpha=0.9)
    return artists


def update_current_step(artists, data):
    """Move the current-step marks of a drawn panel to ``data``'s step.

    Only the vertical line, the point at the measured error and the one-line label change; the explorer
    redraws just these artists when the slider moves. The label sits in the band above 1, where no
    curve goes (a relative difference never exceeds 1), beside the line, inside the axes.

    Parameters
    ----------
    artists : dict gid -> artist, from ``panel_artists``
    data : dict from ``course_utils.stepsize_views.curve_data``

    Returns
    -------
    list of the changed artists

    Raises
    ------
    KeyError when ``artists`` or ``data`` lack the current-step entries.
    """
    eps, err = data["current_eps"], data["current_error"]
    shown = err if err > 0 else ZERO_FLOOR
    artists["current-eps"].set_xdata([eps, eps])
    artists["current-point"].set_data([eps], [shown])
    text = artists["current-text"]
    text.set_text(f"\u03b5 = {eps:.1e}: error {'0' if err == 0 else f'{err:.1e}'}")
    lo, hi = (np.log10(v) for v in artists["measured"].axes.get_xlim())
    right = np.log10(eps) > lo + 0.6 * (hi - lo)  # in the right part: the label goes left of the line
    text.set_horizontalalignment("right" if right else "left")
    text.set_position((eps / 1.8 if right else eps * 1.8, np.sqrt(EPSILON_YLIM[1])))
    return [artists["current-eps"], artists["current-point"], text]


def describe_panel(data):
    """Alt text of a panel: what is plotted and the numbers a reader would take from it.

    Parameters
    ----------
    data : dict from ``course_utils.stepsize_views.curve_data``

    Returns
    -------
    str, one or two sentences

    Raises
    ------
    KeyError when ``data`` is not a ``curve_data`` dict.
    """
    err = data["current_error"]
    parts = [f"Log-log plot of the relative difference against the step \u03b5 for {data['title']}",
             f"the smallest measured difference is {data['measured_best_error']:.1e} at \u03b5 \u2248 "
             f"{data['measured_best_eps']:.1e}"]
    if data["shown_best_eps"] is not None:
        parts.append(best_step_label(data).replace("\u2248", "about"))
    if data["kink_eps"] is not None:
        parts.append(f"steps from {data['kink_eps']:.0e} cross a ReLU kink (shaded)")
    parts.append(f"the current step {data['current_eps']:.1e} gives {'exactly 0' if err == 0 else f'{err:.1e}'}")
    return "; ".join(parts) + "."
