"""Machinery: how report figures are sized, typeset and displayed with alt text; a student does not need this module.

``plot_report`` (in ``course_utils.plots``) draws the report; this module holds what makes the picture
fit the notebook column and reach every reader:

* the figure's size and fonts: sized in inches for the ~860 px notebook column of a 1280 px wide
  JupyterLab at the inline backend's 100 dpi (so a font of s pt renders at s * 100/72 px there), and
  drawn at twice that dpi, so that a 1920 px projector's wider column is filled by a sharp picture;
* ``DescribedFigure``: a Figure whose notebook display carries alt text (``still_bundle``: the ``alt``
  metadata of its ``image/png``, an ``<img alt=…>`` as ``text/html`` for nbconvert's default template
  and GitHub, and the same text as its ``text/plain``, which is what a reader without images sees);
* the colour bar and the per-block bars of the report figure.
"""

import base64
import html
import io

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

__all__ = ["COLUMN_PX", "DescribedFigure", "FIGURE_DPI", "INLINE_DPI", "POWER_LABELS", "REPORT_FONTS",
           "draw_block_bars", "draw_colour_bar", "figure_png", "own_png_only", "rendered_px", "still_bundle"]

#: Width in px of the notebook's output column in JupyterLab at a 1280 px wide window (file browser open).
COLUMN_PX = 860

#: dots per inch of the inline backend (matplotlib's default figure.dpi; matplotlib-inline keeps it).
INLINE_DPI = 100

#: dots per inch the report figure is drawn at: twice the inline one, so it stays sharp when a wide
#: column (1920 px window) shows it larger than at 1280.
FIGURE_DPI = 2 * INLINE_DPI

#: Font sizes in pt. At 1280 the figure is shown COLUMN_PX wide, i.e. at INLINE_DPI, so s pt is
#: s * 100 / 72 px there: 8.5 pt is 11.8 px, the smallest text we allow is 11 px.
REPORT_FONTS = {"title": 12.0, "label": 10.0, "tick": 9.0}


#: Log-axis tick labels as plain text, "1e-6": full-size digits (a mathtext exponent is drawn at 70%).
POWER_LABELS = FuncFormatter(lambda value, _pos=None: f"1e{int(round(np.log10(value)))}" if value > 0 else "0")


def rendered_px(fontsize_pt, fig, shown_width_px):
    """Height in px of a font of ``fontsize_pt`` when ``fig`` is displayed ``shown_width_px`` wide.

    Parameters
    ----------
    fontsize_pt : float, a Text artist's font size in points
    fig : matplotlib Figure (its width in inches sets the scale)
    shown_width_px : float, the width the browser gives the image

    Returns
    -------
    float, the font size in CSS px on screen

    Raises
    ------
    ValueError for a figure of zero width.
    """
    width_in = float(fig.get_figwidth())
    if width_in <= 0:
        raise ValueError("the figure has zero width")
    return fontsize_pt / 72.0 * shown_width_px / width_in


def figure_png(fig, dpi=None):
    """PNG bytes of ``fig`` as the notebook shows it (tight bounding box, at ``dpi`` or the figure's own).

    Parameters
    ----------
    fig : matplotlib Figure
    dpi : float or None

    Returns
    -------
    bytes, a PNG image

    Raises
    ------
    Whatever matplotlib raises for a figure it cannot draw.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi, bbox_inches="tight")
    return buffer.getvalue()


class DescribedFigure(Figure):
    """A Figure with alt text (attribute ``alt``), shown in notebooks as a PNG carrying that text.

    The display bundle is ``image/png`` (tight box, at the figure's dpi, as the inline backend draws)
    with metadata ``{"image/png": {"alt": alt}}``, and ``text/plain`` = the alt text. In IPython the
    figure is drawn once per display (see ``own_png_only``).
    """

    alt = ""

    def _repr_mimebundle_(self, include=None, exclude=None):
        own_png_only()
        text = self.alt or f"<Figure with {len(self.axes)} Axes>"
        return still_bundle(figure_png(self), text)


def _no_png(_fig):
    """The PNG formatter's answer for a DescribedFigure: nothing (its bundle carries the PNG)."""
    return None


def own_png_only():
    """Make the running IPython show a DescribedFigure's own PNG, drawn once (nothing outside IPython).

    The inline backend registers a PNG formatter for every matplotlib Figure, and IPython prefers a
    registered formatter to the object's bundle: each figure was drawn a second time and its
    ``image/png`` replaced. A formatter registered for DescribedFigure itself comes first and gives
    nothing, so the bundle's PNG stays. Registered on the shell when a figure is shown, not at import.

    Returns
    -------
    bool, True when an IPython shell with a PNG formatter was found

    Raises
    ------
    Nothing: without IPython (or without a running shell) it does nothing.
    """
    try:
        from IPython import get_ipython  # optional: only a notebook or an IPython shell needs this
    except ImportError:
        return False
    shell = get_ipython()
    formatter = shell.display_formatter.formatters.get("image/png") if shell is not None else None
    if formatter is None:
        return False
    formatter.for_type(DescribedFigure, _no_png)
    return True


def still_bundle(png, alt):
    """A picture's display bundle with its alt text in every form a reader of the notebook may meet.

    ``image/png`` with ``{"alt": alt}`` metadata (what JupyterLab and nbconvert's classic template
    read), ``text/html``, an ``<img>`` of the same PNG with that ``alt`` (what nbconvert's default lab
    template and GitHub show: they ignore image metadata, and nbconvert warns about an image without alt
    text), and ``text/plain`` = the alt text (what a reader without images gets).

    Parameters
    ----------
    png : bytes, the PNG file; alt : str, what the picture shows, in words

    Returns
    -------
    (dict, dict): the bundle {mime type: data} and its metadata, as ``_repr_mimebundle_`` returns them

    Raises
    ------
    TypeError if ``png`` is not bytes
    """
    if not isinstance(png, (bytes, bytearray)):
        raise TypeError(f"still_bundle needs the PNG as bytes, got {type(png).__name__}")
    data = base64.b64encode(png).decode("ascii")
    tag = f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}"/>'
    return {"image/png": data, "text/html": tag, "text/plain": alt}, {"image/png": {"alt": alt}}


def draw_colour_bar(fig, cax, image, threshold):
    """The colour bar of the report's heatmaps on ``cax``, with the threshold marked.

    Parameters
    ----------
    fig : Figure; cax : Axes for the bar; image : the AxesImage whose scale it shows
    threshold : float, the check's threshold (a line on the bar)

    Returns
    -------
    matplotlib Colorbar

    Raises
    ------
    Whatever matplotlib raises for a colour bar it cannot draw.
    """
    fonts = REPORT_FONTS
    bar = fig.colorbar(image, cax=cax)
    bar.set_label("relative error per entry", fontsize=fonts["label"])
    bar.ax.tick_params(labelsize=fonts["tick"])
    bar.ax.yaxis.set_major_formatter(POWER_LABELS)
    bar.ax.axhline(threshold, color="black", linewidth=3, gid="threshold-colorbar")
    bar.ax.axhline(threshold, color="white", linewidth=1.2, linestyle="--")
    bar.ax.text(-0.15, threshold, "threshold", transform=bar.ax.get_yaxis_transform(),
                ha="right", va="center", fontsize=fonts["tick"], rotation=90)
    return bar


def draw_block_bars(ax, data, cmap, norm, threshold, floor):
    """One bar per block (its relative difference, log scale); wrong blocks hatched and labelled WRONG.

    Parameters
    ----------
    ax : Axes; data : dict name -> block data (``course_utils.plots.report_heatmap_data``)
    cmap : str, colour map; norm : the heatmaps' LogNorm; threshold : float; floor : float, the smallest
        value drawn (0 has no place on a log scale)

    Returns
    -------
    the BarContainer

    Raises
    ------
    KeyError for block data without "relative_difference" or "passed".
    """
    fonts = REPORT_FONTS
    names = list(data)
    ax.set_gid("block-bars")
    values = [max(data[n]["relative_difference"], floor) for n in names]
    bars = ax.bar(names, values, color=[colormaps[cmap](norm(v)) for v in values], edgecolor="black",
                  linewidth=1.2)
    for rect, name in zip(bars, names):
        kink = data[name].get("n_kinks") and data[name]["passed"]  # a kink block: marked as such, not as wrong
        if kink or not data[name]["passed"]:
            rect.set_hatch(".." if kink else "//")
            ax.text(rect.get_x() + rect.get_width() / 2, rect.get_height() * 1.8, "KINK" if kink else "WRONG",
                    ha="center", va="bottom", fontsize=fonts["tick"], gid="kink-block" if kink else None,
                    fontweight="normal" if kink else "bold")
    ax.set_yscale("log")
    ax.set_ylim(floor, 50.0)
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1.5, gid="threshold-bars")
    ax.text(1.005, threshold, f"threshold\n{threshold:.0e}", transform=ax.get_yaxis_transform(),
            ha="left", va="center", fontsize=fonts["tick"])
    ax.set_ylabel("block relative\ndifference", fontsize=fonts["label"])
    ax.yaxis.set_major_formatter(POWER_LABELS)
    ax.tick_params(labelsize=fonts["tick"])
    ax.grid(axis="y", alpha=0.3)
    return bars
