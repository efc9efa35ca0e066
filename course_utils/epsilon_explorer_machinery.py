"""Machinery of the ε explorer (blitting, PNG encoding, the still picture): a student does not need this module.

``widgets.epsilon_explorer`` wires the controls to ``widgets.explorer_state``; this module makes each
redraw cheap and the display portable:

* ``BlitPainter`` keeps one figure and its artists; a slider move redraws only the current-step marks
  over a cached background of the panel;
* ``explorer_controls`` builds the controls, their layout and CSS classes;
* ``rgba_png`` encodes the canvas quickly; ``widget_output`` puts the Image widget inside the Output;
* ``verdict_html`` keeps numbers such as "1.6e-04" whole when the verdict wraps;
* ``EpsilonExplorer`` is the explorer's box, whose display also carries the current picture as PNG.
"""

import html
import re
import struct
import zlib

import ipywidgets as widgets
import numpy as np

from course_utils.epsilon_drawing import describe_panel, redraw_error_vs_epsilon, update_current_step
from course_utils.figure_machinery import still_bundle
from course_utils.plots import draw_error_vs_epsilon
from course_utils.stepsize import MODELS, get_model

__all__ = ["BlitPainter", "EpsilonExplorer", "explorer_controls", "rgba_png", "verdict_html", "widget_output"]

_NUMBER = re.compile(r"\d(?:\.\d+)?e[-+]\d+")


class BlitPainter:
    """Draws explorer states into one figure; when only the step changed, redraws just its marks.

    A full draw (new model, method or dtype) gives the panel's artists new data (no cleared axes, no
    rebuilt ticks), renders everything except the current-step marks with the figure's layout engine
    and keeps that picture, the x limits and the axes' position as the panel's background. A slider
    move restores the background, draws the three marks and encodes the PNG, several times cheaper than
    rendering the whole figure. Each picture equals a fresh figure's (tests compare them pixel by pixel).

    Parameters
    ----------
    fig : matplotlib Figure (with a layout engine, e.g. layout="constrained"); one Axes is added to it
    """

    MAX_BACKGROUNDS = 12

    def __init__(self, fig):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.ax = fig.subplots()
        self.key = None
        self.artists = None
        self.backgrounds = {}  # key -> (pixels, x limits, axes position), the most recent MAX_BACKGROUNDS

    def _full_draw(self, key, state):
        """Render the panel of ``state`` without its current-step marks and keep it as the background."""
        # the layout engine starts where a fresh figure starts (its result depends a little on the start)
        self.ax.set_position(self.ax.get_subplotspec().get_position(self.fig))
        self.ax.set_in_layout(True)  # (set_position takes an axes out of the layout)
        if self.artists is None:
            self.artists = draw_error_vs_epsilon(self.ax, state, keep_unused=True)
        else:
            redraw_error_vs_epsilon(self.ax, self.artists, state)
        dynamic = update_current_step(self.artists, state)
        for a in dynamic:
            a.set_visible(False)
        self.canvas.draw()
        self.backgrounds[key] = (self.canvas.copy_from_bbox(self.fig.bbox), self.ax.get_xlim(),
                                 self.ax.get_position())
        while len(self.backgrounds) > self.MAX_BACKGROUNDS:
            self.backgrounds.pop(next(iter(self.backgrounds)))
        for a in dynamic:
            a.set_visible(True)

    def paint(self, state):
        """PNG bytes of the figure showing ``state`` (an ``explorer_state`` dict).

        Raises
        ------
        KeyError when ``state`` is not an ``explorer_state`` dict.
        """
        key = (state["model"], state["method"], state["dtype"], state["mode"])
        if key != self.key and key in self.backgrounds and self.artists is not None:
            _, xlim, position = self.backgrounds[key]  # the marks go in that panel's coordinates
            self.ax.set_xlim(*xlim)
            self.ax.set_position(position)
        elif key != self.key:
            self._full_draw(key, state)
        self.key = key
        self.canvas.restore_region(self.backgrounds[key][0])
        for a in update_current_step(self.artists, state):
            self.ax.draw_artist(a)
        return rgba_png(self.canvas.buffer_rgba())


def explorer_controls(first, methods, step_decades):
    """The explorer's controls, set to the state ``first``, each with its CSS class for browser tests;
    they wrap onto more rows in a narrow column, and the plot takes the column's width.

    Parameters
    ----------
    first : dict, an ``explorer_state`` (its step, method, dtype, model and the x axis of its method)
    methods : sequence of (label, method) pairs for the method dropdown
    step_decades : float, how far one arrow key moves the slider, in decades

    Returns
    -------
    slider, method_box, dtype_box, model_box, verdict, image, plot (ipywidgets)

    Raises
    ------
    KeyError when ``first`` is not an ``explorer_state`` dict.
    """
    slider = widgets.FloatLogSlider(value=first["current_eps"], base=10, min=np.log10(first["eps"][0]), max=0,
                                    step=step_decades, description="\u03b5", readout_format=".1e",
                                    continuous_update=True, layout=widgets.Layout(flex="1 1 420px", min_width="360px"))
    method_box = widgets.Dropdown(options=list(methods), value=first["method"], description="method",
                                  layout=widgets.Layout(width="260px"))
    dtype_box = widgets.Dropdown(options=["float64", "float32"], value=first["dtype"], description="dtype",
                                 layout=widgets.Layout(width="220px"))
    model_box = widgets.Dropdown(options=[(get_model(k).label, k) for k in MODELS], value=first["model"],
                                 description="model", layout=widgets.Layout(width="440px"))
    verdict = widgets.HTML(layout=widgets.Layout(min_height="44px"))  # room for two lines: nothing jumps
    image = widgets.Image(format="png", layout=widgets.Layout(width="100%", height="auto", max_width="1600px"))
    plot = widgets.Output(layout=widgets.Layout(width="100%", overflow="hidden"))
    for w, css in [(slider, "eps-slider"), (method_box, "eps-method"), (dtype_box, "eps-dtype"),
                   (model_box, "eps-model"), (verdict, "eps-verdict"), (plot, "eps-plot"),
                   (image, "eps-plot-image")]:
        w.add_class(css)
    return slider, method_box, dtype_box, model_box, verdict, image, plot


def rgba_png(buffer):
    """PNG bytes of an RGBA buffer, written directly: no row filters, zlib level 1 (the opaque alpha
    channel costs almost nothing compressed, and keeping it avoids a copy). About 4x faster than
    Pillow's encoder, which tries five filters per row; the picture is sent to the browser on every
    slider move, not stored.

    Parameters
    ----------
    buffer : array-like of uint8, shape (h, w, 4), e.g. ``canvas.buffer_rgba()``

    Returns
    -------
    bytes, a PNG

    Raises
    ------
    ValueError for a buffer that is not (h, w, 4) bytes.
    """
    rgba = np.asarray(buffer)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected an RGBA buffer of uint8, shape (h, w, 4); got {rgba.dtype} {rgba.shape}")
    h, w = rgba.shape[:2]
    rows = np.zeros((h, 1 + 4 * w), np.uint8)  # each row: filter type 0, then R G B A per pixel
    rows[:, 1:] = rgba.reshape(h, 4 * w)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + _png_chunk(b"IEND", b""))


def _png_chunk(tag, data):
    """One PNG chunk: length, tag, data, CRC (bytes)."""
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def widget_output(widget):
    """A display_data output showing ``widget`` (for ``Output.outputs``).

    Parameters
    ----------
    widget : ipywidgets.Widget

    Returns
    -------
    dict, one nbformat display_data output

    Raises
    ------
    AttributeError for an object that is not a widget (it has no ``model_id``).
    """
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/plain": f"{type(widget).__name__}(...)",
                     "application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                                  "model_id": widget.model_id}}}


def verdict_html(verdict, font_px=15):
    """The verdict as HTML: escaped, numbers such as "1.6e-04" never broken across lines.

    Parameters
    ----------
    verdict : str, a verdict line (``stepsize_views.verdict_line``)
    font_px : int, font size in CSS pixels

    Returns
    -------
    str, HTML

    Raises
    ------
    TypeError when ``verdict`` is not a string.
    """
    text = _NUMBER.sub(lambda m: f"<span style='white-space:nowrap'>{m.group(0)}</span>", html.escape(verdict))
    return f"<div style='font-size:{font_px}px; line-height:1.4'>{text}</div>"


class EpsilonExplorer(widgets.VBox):
    """The explorer's box. Its display also carries the current plot as a plain PNG with alt text, which
    is what GitHub, nbviewer and nbconvert show where widgets do not render (JupyterLab shows the live
    widget). It carries the CSS class ``eps-explorer``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_class("eps-explorer")

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        png, state = getattr(self, "png", None), getattr(self, "state", None)
        if not png or state is None:
            return bundle
        still, metadata = still_bundle(png, "The \u03b5 explorer. " + describe_panel(state))
        return {**still, **bundle}, metadata
