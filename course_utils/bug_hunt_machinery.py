"""Machinery: the bug-hunt widget's layout, busy state, background precompute and still image; a student does not need this module to follow the course.

``course_utils.widgets.bug_hunt_widget`` wires a picker to ``bug_hunt_view``; this module makes it work
in front of a class:

* ``ViewCache`` computes each selection's view (check, report HTML, figure PNG) once. After the widget
  appears, a daemon thread computes every single-bug view in a fixed order, so a later pick only sends
  what is already drawn. One lock serialises all computing, so the results (and the verdicts) are the
  same whatever the timing; ``stop()`` ends the thread (the widget's ``close()`` calls it).
* ``bug_hunt_controls`` lays the controls out so that they keep their content's width (they wrap onto
  a new row instead of shrinking), and shows the explanation and the report in full.
* ``BugHuntWidget`` puts the current figure and a one-line text into its display bundle, which is what
  a viewer without widgets (an un-run notebook, nbconvert HTML, GitHub) shows.
* ``markdown_inline`` renders the catalogue's `code` spans as HTML.
"""

import html
import io
import re
import threading

import ipywidgets as widgets
import numpy as np

from course_utils.bugs import CATALOGUE
from course_utils.figure_machinery import still_bundle

__all__ = ["BUSY_CSS", "BugHuntWidget", "LayoutReuse", "ViewCache", "bug_hunt_controls", "busy_html",
           "explanation_html", "markdown_inline"]

#: Style of the busy state: while a pick is computed the old report and figure are greyed out.
BUSY_CSS = ("<style>.bug-hunt.bug-busy .bug-report, .bug-hunt.bug-busy .bug-heatmap {opacity: 0.3;}"
            ".bug-hunt .bug-report table {border-collapse: collapse;}"
            ".bug-hunt .bug-report td, .bug-hunt .bug-report th {padding: 1px 10px;}</style>")


def markdown_inline(text):
    """HTML of one line of catalogue text: escaped, with `code` spans as <code> and **bold** as <b>.

    Parameters
    ----------
    text : str

    Returns
    -------
    str, HTML

    Raises
    ------
    TypeError when ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"markdown_inline takes a string, got {type(text).__name__}")
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", escaped)


def explanation_html(names, lambd):
    """What each bug is, why people write it and how to spot it (the catalogue's text), as HTML.

    Parameters
    ----------
    names : sequence of str, catalogue names (empty: the correct backward pass)
    lambd : float, L2 strength of the checked cost (a note says so when it is not 0)

    Returns
    -------
    str, HTML: one list item per bug (name, title, "why:" and "spot:" lines), then the L2 note

    Raises
    ------
    KeyError for a name that is not in the catalogue.
    """
    if not names:
        return "<p>The correct backward pass: no bug injected.</p>"
    items = "".join(f"<li><b>{html.escape(n)}</b>: {markdown_inline(CATALOGUE[n].title)}<br><i>why:</i> "
                    f"{markdown_inline(CATALOGUE[n].why)}<br><i>spot:</i> {markdown_inline(CATALOGUE[n].spot)}</li>"
                    for n in names)
    l2 = f"<p>The check uses the L2-regularized cost (lambd = {lambd:g}).</p>" if lambd else ""
    return f"<ul style='margin:0'>{items}</ul>{l2}"


def busy_html(names):
    """The status line shown while the view of ``names`` is computed.

    Parameters
    ----------
    names : tuple of str, the selected bugs (empty: the correct backward pass)

    Returns
    -------
    str, HTML (with the widget's style block)

    Raises
    ------
    TypeError when ``names`` is not a sequence of strings.
    """
    what = ", ".join(names) if names else "the correct backward pass"
    return (f"{BUSY_CSS}<div style='font-size:15px;padding:4px 8px;background:#fff3bf;border-left:4px solid #e67700'>"
            f"\u23f3 checking {html.escape(what)} \u2026 (the report below is the previous one)</div>")


class LayoutReuse:
    """Renders report figures to PNG, laying out only the first one: the constrained layout (half of a
    draw) is computed once and its axes positions are given to every later figure with the same axes.

    All bug views of one network have the same blocks, tick labels and one-line titles, so the layout
    engine would put their axes at the same places; a figure with other axes is laid out afresh.
    """

    def __init__(self):
        self.positions = None

    def png(self, fig, dpi):
        """PNG bytes of ``fig`` (a report Figure) at ``dpi``, fast compression (it is sent, not stored)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image

        fig.set_dpi(dpi)
        canvas = FigureCanvasAgg(fig)
        if self.positions is not None and len(self.positions) == len(fig.axes):
            fig.set_layout_engine("none")
            for ax, position in zip(fig.axes, self.positions):
                ax.set_position(position)
            canvas.draw()
        else:
            canvas.draw()
            self.positions = [ax.get_position() for ax in fig.axes]
        out = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(out, format="png", compress_level=1)
        return out.getvalue()


class ViewCache:
    """Each selection's view computed once; a daemon thread can precompute a list of selections.

    Parameters
    ----------
    compute : callable key -> value (key: tuple of bug names); called at most once per key
    """

    def __init__(self, compute):
        self._compute = compute
        self._done = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = None

    def ready(self, key):
        """True when ``key``'s value is computed (a pick of it is instant)."""
        return key in self._done

    def get(self, key):
        """The value of ``key``, computed now if no one has yet (waits for a computation in progress)."""
        with self._lock:  # one computation at a time: the same results whatever the timing
            if key not in self._done:
                self._done[key] = self._compute(key)
            return self._done[key]

    def start(self, keys):
        """Compute ``keys`` in this order in a daemon thread (skipping what is done); returns the thread."""
        def run():
            for key in keys:
                if self._stop.is_set():
                    return
                try:
                    self.get(key)
                except Exception:  # noqa: BLE001 - a failing view is computed (and raises) again on demand
                    continue
        self.thread = threading.Thread(target=run, name="bug-hunt-precompute", daemon=True)
        self.thread.start()
        return self.thread

    def wait(self, timeout=None):
        """Wait for the precompute thread; True when it has finished."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.thread is None or not self.thread.is_alive()

    def stop(self, timeout=None):
        """Ask the precompute thread to stop after its current view, and wait for it (up to ``timeout``)."""
        self._stop.set()
        return self.wait(timeout)


def bug_hunt_controls(options):
    """The bug-hunt widget's controls, each with its CSS class for browser tests: ``bug-hunt`` (the whole
    widget), ``bug-picker`` (dropdown), ``bug-combo`` (multi-select), ``bug-status`` (busy / ready line),
    ``bug-explanation``, ``bug-report`` (report HTML), ``bug-heatmap`` (the figure, an image).

    The dropdown and the list keep the width of their longest entry (they never shrink: the row wraps);
    the explanation and the report are shown in full; the figure takes the column's width.

    Parameters
    ----------
    options : list of str, "correct" then the catalogue's bug names

    Returns
    -------
    picker, combo, status, explanation, report_box, heatmap, box (box is a BugHuntWidget)

    Raises
    ------
    ValueError for an empty list of options.
    """
    if not options:
        raise ValueError("the bug picker needs at least one option ('correct')")
    width = f"{int(9 * max(len(o) for o in options)) + 110}px"  # 9 px per character covers 13 px text
    fixed = {"width": width, "min_width": width, "flex": "0 0 auto"}
    picker = widgets.Dropdown(options=options, value="correct", description="bug", layout=widgets.Layout(**fixed),
                              style={"description_width": "50px"})
    combo = widgets.SelectMultiple(options=options[1:], value=(), description="add", rows=min(8, len(options)),
                                   layout=widgets.Layout(**fixed), style={"description_width": "50px"})
    status = widgets.HTML(layout=widgets.Layout(width="100%"))
    explanation = widgets.HTML(layout=widgets.Layout(width="100%"))
    report_box = widgets.HTML(layout=widgets.Layout(width="100%", overflow="auto visible"))
    heatmap = widgets.Image(format="png", layout=widgets.Layout(width="100%", height="auto"))
    for w, css in [(picker, "bug-picker"), (combo, "bug-combo"), (status, "bug-status"),
                   (explanation, "bug-explanation"), (report_box, "bug-report"), (heatmap, "bug-heatmap")]:
        w.add_class(css)
    row = widgets.HBox([picker, combo], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start",
                                                              width="100%"))
    box = BugHuntWidget([row, status, explanation, report_box, heatmap], layout=widgets.Layout(width="100%"))
    box.add_class("bug-hunt")
    return picker, combo, status, explanation, report_box, heatmap, box


class BugHuntWidget(widgets.VBox):
    """The bug-hunt widget's box. Its display also carries the current figure as a plain PNG and a
    one-line text (what a viewer without widgets shows); ``close()`` also stops the precompute thread."""

    png = b""
    still_text = "Bug-hunt widget (run the notebook to pick bugs live)"
    cache = None
    redraw = None  # set by bug_hunt_widget: shows the controls' current selection
    _holding = False

    def select(self, names):
        """Set the selection from code: a bug name or a list of names ("correct" or [] for none); one redraw.

        Raises ValueError for an unknown name.
        """
        picker, combo = self.children[0].children
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in picker.options]
        if unknown:
            raise ValueError(f"unknown bug {unknown[0]!r}; choose from {', '.join(picker.options)}")
        self._holding = True  # set both controls, then redraw once
        try:
            picker.value = names[0] if names else "correct"
            combo.value = tuple(n for n in names[1:] if n not in ("correct", picker.value))
        finally:
            self._holding = False
        self.redraw()

    def busy(self, key):
        """Show the busy state for the selection ``key`` (tuple of str): status line, greyed report."""
        self.children[1].value = busy_html(key)
        self.add_class("bug-busy")

    def idle(self, error=None):
        """Leave the busy state; with ``error`` (e.g. two bugs that rewrite the same line), say it."""
        note = "" if error is None else (
            f"<div style='font-size:15px;padding:4px 8px;border-left:4px solid #c92a2a'>\u2718 "
            f"{html.escape(str(error))} (the report below is the previous one)</div>")
        self.children[1].value = BUSY_CSS + note
        self.remove_class("bug-busy")

    def holding(self):
        """True while ``select`` sets the controls (their observers wait for its single redraw)."""
        return self._holding

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = self.still_text
        if not self.png:
            return bundle
        still, metadata = still_bundle(self.png, self.still_text)
        return {**still, **bundle}, metadata

    def close(self):
        if self.cache is not None:
            self.cache.stop(timeout=0)
        super().close()
