"""Widgets for live teaching. Each widget's logic is a plain function (state -> data) that the tests call
without a browser; the widget only wires controls to it and redraws in place.

Widgets carry CSS classes (``add_class``) so that browser tests can find them by stable selectors.
"""

import html
import io

import ipywidgets as widgets

from course_utils.bugs import CATALOGUE, bug_names, bugs_lambd, check_bugs, touched_blocks
from course_utils.plots import plot_report, report_heatmap_data
from course_utils.testcases import gradient_check_n_test_case


# ---------------------------------------------------------------------------------------------------
# Instructor widget: inject bugs live (notebook 3: bug hunt)
# ---------------------------------------------------------------------------------------------------

def bug_hunt_view(selection, X=None, Y=None, parameters=None, epsilon=None):
    """Everything the bug-hunt widget shows for one selection of bugs, as plain data (no widgets).

    Parameters
    ----------
    selection : str or list of str, catalogue names (see ``course_utils.bugs.bug_names()``); "correct"
        or [] for the correct backward pass
    X : ndarray (n_0, m), Y : ndarray (1, m), parameters : dict W1 (n_1, n_0), ..., bL (1, 1);
        default: the course's test case
    epsilon : float or None, the step of the check (None: the checker's default)

    Returns
    -------
    dict with
        "names" : tuple of str, the injected bugs (empty for the correct pass)
        "lambd" : float, L2 strength of the checked cost (0.7 when an L2 bug is selected, else 0)
        "report" : GradCheckReport of the check
        "summary" : str, the report's one-line summary
        "touched" : list of str, blocks the bugs make wrong
        "heatmaps" : dict name -> heatmap data (see ``course_utils.plots.report_heatmap_data``)
        "explanation" : str, HTML: what each bug is, why people write it, how to spot it
    """
    if X is None and Y is None and parameters is None:
        X, Y, parameters = gradient_check_n_test_case()
    if isinstance(selection, str):
        selection = [selection]
    names = tuple(n for n in selection if n != "correct")
    kwargs = {} if epsilon is None else {"epsilon": epsilon}
    lambd = bugs_lambd(names)
    report = check_bugs(list(names), X, Y, parameters, lambd=lambd, **kwargs)
    if names:
        items = "".join(
            f"<li><b>{html.escape(CATALOGUE[n].name)}</b>: {html.escape(CATALOGUE[n].title)}"
            f"<br><i>why:</i> {html.escape(CATALOGUE[n].why)}<br><i>spot:</i> {html.escape(CATALOGUE[n].spot)}</li>"
            for n in names)
        explanation = f"<ul>{items}</ul>"
    else:
        explanation = "<p>The correct backward pass: no bug injected.</p>"
    if lambd:
        explanation += f"<p>The check uses the L2-regularized cost (lambd = {lambd:g}).</p>"
    return {
        "names": names, "lambd": lambd, "report": report, "summary": report.summary(),
        "touched": touched_blocks(list(names), parameters), "heatmaps": report_heatmap_data(report),
        "explanation": explanation,
    }


def _figure_png(fig, dpi):
    """PNG bytes of a matplotlib Figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def bug_hunt_widget(X=None, Y=None, parameters=None, epsilon=None, height="640px", dpi=70):
    """Instructor widget: pick bug(s), see the gradient check's report and heatmap update in place.

    A dropdown picks one bug (or "correct"); a multi-select adds more to combine them. Every change
    re-runs the check (``bug_hunt_view``) and redraws the report table and the heatmap figure in their
    fixed-size boxes. Results are remembered per selection, so going back to a bug is instant.

    CSS classes for browser tests: ``bug-hunt`` (the whole widget), ``bug-picker`` (dropdown),
    ``bug-combo`` (multi-select), ``bug-explanation``, ``bug-report`` (report HTML), ``bug-heatmap``
    (the figure, an image).

    Parameters
    ----------
    X : ndarray (n_0, m), Y : ndarray (1, m), parameters : dict; default: the course's test case
    epsilon : float or None, step of the check (None: the checker's default)
    height : str, CSS height of the figure box (fixed, so the page does not jump while redrawing)
    dpi : int, resolution of the drawn figure

    Returns
    -------
    ipywidgets.VBox; its attribute ``view`` is the latest ``bug_hunt_view`` result and ``select(...)``
    sets the selection from code (a name or a list of names).
    """
    options = ["correct"] + bug_names()
    picker = widgets.Dropdown(options=options, value="correct", description="bug",
                              layout=widgets.Layout(width="420px"),
                              style={"description_width": "60px"})
    combo = widgets.SelectMultiple(options=bug_names(), value=(), description="add",
                                   rows=min(8, len(options)), layout=widgets.Layout(width="420px"),
                                   style={"description_width": "60px"})
    explanation = widgets.HTML(layout=widgets.Layout(height="150px", overflow="auto"))
    report_box = widgets.HTML(layout=widgets.Layout(height="250px", overflow="auto"))
    heatmap = widgets.Image(format="png", layout=widgets.Layout(height=height, object_fit="contain"))
    picker.add_class("bug-picker")
    combo.add_class("bug-combo")
    explanation.add_class("bug-explanation")
    report_box.add_class("bug-report")
    heatmap.add_class("bug-heatmap")
    box = widgets.VBox([widgets.HBox([widgets.VBox([picker, combo]), explanation]), report_box, heatmap])
    box.add_class("bug-hunt")
    cache = {}
    busy = []

    def selection():
        names = [] if picker.value == "correct" else [picker.value]
        return names + [n for n in combo.value if n not in names]

    def redraw(change=None):
        if busy:
            return
        key = tuple(selection())
        if key not in cache:
            view = bug_hunt_view(list(key), X, Y, parameters, epsilon)
            cache[key] = (view, _figure_png(plot_report(view["report"]), dpi))
        view, png = cache[key]
        box.view = view
        explanation.value = ("<div style='font-size:15px'>" + view["explanation"] + "</div>")
        report_box.value = ("<div style='font-size:15px'>" + view["report"]._repr_html_() + "</div>")
        heatmap.value = png

    def select(names):
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in options]
        if unknown:
            raise ValueError(f"unknown bug {unknown[0]!r}; choose from {', '.join(options)}")
        first = names[0] if names else "correct"
        busy.append(True)  # set both controls, then redraw once
        try:
            picker.value = first
            combo.value = tuple(n for n in names[1:] if n not in ("correct", first))
        finally:
            busy.pop()
        redraw()

    picker.observe(redraw, names="value")
    combo.observe(redraw, names="value")
    box.select = select
    redraw()
    return box
