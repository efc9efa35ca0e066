"""Widgets for live teaching. Each widget's logic is a plain function (state -> data) that the tests call
without a browser; the widget only wires controls to it and redraws in place.

Widgets carry CSS classes (``add_class``) so that browser tests can find them by stable selectors.
"""

import html
import io

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from course_utils.bugs import BugError, bug_names, bugs_lambd, check_bugs, touched_blocks
from course_utils.bug_hunt_machinery import LayoutReuse, ViewCache, bug_hunt_controls, explanation_html
from course_utils.epsilon_drawing import EPSILON_DPI, EPSILON_PANEL_SIZE
from course_utils.epsilon_explorer_machinery import (BlitPainter, EpsilonExplorer, explorer_controls, verdict_html,
                                                     widget_output)
from course_utils.figure_machinery import FIGURE_DPI
from course_utils.plots import plot_report, report_heatmap_data
from course_utils.stepsize import SweepCache, StepSizeError, check_dtype, check_method, get_model
from course_utils.stepsize_views import curve_data
from course_utils.testcases import gradient_check_n_test_case

__all__ = ["EXPLORER_METHODS", "EXPLORER_STEP_DECADES", "EpsilonExplorer", "bug_hunt_view", "bug_hunt_widget",
           "epsilon_explorer", "explorer_state"]


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
    dict with "names" (tuple of str, the injected bugs), "lambd" (float, L2 strength of the checked
    cost: 0.7 with an L2 bug, else 0), "report" (GradCheckReport), "summary" (str, its one line),
    "touched" (list of str, blocks the bugs make wrong), "heatmaps" (dict name -> heatmap data, see
    ``course_utils.plots.report_heatmap_data``), "explanation" (str, HTML: each bug's catalogue text)

    Raises
    ------
    KeyError / BugError (from ``course_utils.bugs``) for an unknown bug or bugs that cannot be combined.
    """
    if X is None and Y is None and parameters is None:
        X, Y, parameters = gradient_check_n_test_case()
    names = tuple(n for n in ([selection] if isinstance(selection, str) else selection) if n != "correct")
    lambd = bugs_lambd(names)
    report = check_bugs(list(names), X, Y, parameters, lambd=lambd, **({} if epsilon is None else {"epsilon": epsilon}))
    return {"names": names, "lambd": lambd, "report": report, "summary": report.summary(),
            "touched": touched_blocks(list(names), parameters), "heatmaps": report_heatmap_data(report),
            "explanation": explanation_html(names, lambd)}


def bug_hunt_widget(X=None, Y=None, parameters=None, epsilon=None, dpi=FIGURE_DPI, precompute=True):
    """Instructor widget: pick bug(s), see the gradient check's report and heatmap update in place.

    A dropdown picks one bug (or "correct"); a multi-select adds more to combine them. A pick shows the
    explanation at once and greys the old report ("checking ...") until the new one is drawn. Each
    view (``bug_hunt_view`` + ``plot_report``) is computed once, every single bug's in the background
    (machinery: ``course_utils.bug_hunt_machinery``).

    Parameters
    ----------
    X : ndarray (n_0, m), Y : ndarray (1, m), parameters : dict; default: the course's test case
    epsilon : float or None, step of the check (None: the checker's default)
    dpi : int, resolution of the figure
    precompute : bool or list of str, compute every bug's view (True) or these bugs' in the background

    Returns
    -------
    BugHuntWidget (an ipywidgets.VBox): ``view`` is the shown ``bug_hunt_view`` result, ``select(names)``
    sets the selection from code, ``cache`` the ViewCache, ``close()`` stops it.

    Raises
    ------
    ValueError from ``select`` for an unknown bug name.
    """
    options = ["correct"] + bug_names()
    picker, combo, status, explanation, report_box, heatmap, box = bug_hunt_controls(options)

    renderer = LayoutReuse()

    def compute(key):
        view = bug_hunt_view(list(key), X, Y, parameters, epsilon)
        return view, view["report"]._repr_html_(), renderer.png(plot_report(view["report"]), dpi)

    box.cache = cache = ViewCache(compute)

    def redraw(change=None):
        if box.holding():
            return
        first = [] if picker.value == "correct" else [picker.value]
        key = tuple(first + [n for n in combo.value if n not in first])
        explanation.value = f"<div style='font-size:15px'>{explanation_html(key, bugs_lambd(key))}</div>"
        if not cache.ready(key):  # sent to the browser now, before the check runs
            box.busy(key)
        try:
            box.view, report_html, box.png = cache.get(key)
        except BugError as error:  # two bugs that rewrite the same line of the backward pass
            return box.idle(error)
        box.still_text = f"Bug-hunt widget (run the notebook to use it): {box.view['summary']}"
        report_box.value = f"<div style='font-size:15px'>{report_html}</div>"
        heatmap.value = box.png
        box.idle()

    picker.observe(redraw, names="value")
    combo.observe(redraw, names="value")
    box.redraw = redraw
    redraw()
    if precompute:
        cache.start([(name,) for name in (bug_names() if precompute is True else precompute)])
    return box


# ---------------------------------------------------------------------------------------------------
# The epsilon explorer (notebook 4: choosing epsilon)
# ---------------------------------------------------------------------------------------------------

#: The methods of the explorer's dropdown: (label, method).
EXPLORER_METHODS = (("centered", "centered"), ("forward", "forward"), ("complex step", "complex"))

#: One arrow key on the slider moves the step by this many decades.
EXPLORER_STEP_DECADES = 0.25


def explorer_state(eps=1e-7, method="centered", dtype="float64", model="net", cache=None):
    """What the epsilon explorer shows for one position of its controls, as plain data (no widgets).

    Parameters
    ----------
    eps : float, the step (the slider; 1e-12 ... 1, down to 1e-20 for the complex step)
    method : "centered", "forward" or "complex"
    dtype : "float64" or "float32"
    model : a name in ``course_utils.stepsize.MODELS`` ("net", "net_stable", "linear", "sin", "exp", "relu")
    cache : SweepCache, optional; the widget passes its own so that each sweep is computed once

    Returns
    -------
    dict: the figure data of ``course_utils.stepsize_views.curve_data`` (measured curve, truncation and
        round-off lines, their sum, the panel's best step, current step and its error, kink region,
        title, axis labels) including "verdict", the judgement shown above the plot.

    Raises
    ------
    StepSizeError for an unknown model, method or dtype, or a step that is not a positive number.
    """
    eps_value = float(eps) if isinstance(eps, (int, float)) and not isinstance(eps, bool) else None
    if eps_value is None or not (eps_value > 0):
        raise StepSizeError(f"eps must be a positive number such as 1e-7, got {eps!r}")
    return curve_data(model, check_method(method), check_dtype(dtype).name, eps_value,
                      cache=SweepCache() if cache is None else cache)


def epsilon_explorer(model="net", method="centered", dtype="float64", eps=1e-7):
    """Live explorer of the step epsilon: a log slider and three dropdowns drive one redrawn plot.

    Moving a control recomputes ``explorer_state`` (sweeps are cached per model, method and dtype; a
    move of the slider only evaluates the current step) and redraws the same figure, sent as a PNG to
    an Image inside an Output as wide as the column: no stacked figures, no flicker. The slider spans
    the x axis of the method shown (down to 1e-20 for the complex step), a quarter decade per arrow
    key. (Controls, blitting, encoding: ``course_utils.epsilon_explorer_machinery``.)

    CSS classes for browser tests: ``eps-explorer`` (the whole widget), ``eps-slider``, ``eps-method``,
    ``eps-dtype``, ``eps-model``, ``eps-verdict``, ``eps-plot`` (the Output) and ``eps-plot-image``.

    Parameters
    ----------
    model, method, dtype, eps : the initial state (see ``explorer_state``)

    Returns
    -------
    EpsilonExplorer (an ipywidgets.VBox) with attributes ``state`` (the latest explorer_state dict),
    ``png`` (its PNG bytes), ``controls`` (dict "eps", "method", "dtype", "model" -> widget), ``image``
    (the Image widget in the plot Output) and ``cache`` (its SweepCache).

    Raises
    ------
    StepSizeError for an unknown model, method or dtype, or a step that is not a positive number.
    """
    get_model(model)  # fail early, with the list of models, on a wrong name
    cache = SweepCache()
    first = explorer_state(eps, method, dtype, model, cache=cache)
    slider, method_box, dtype_box, model_box, verdict, image, plot = explorer_controls(
        first, EXPLORER_METHODS, EXPLORER_STEP_DECADES)
    plot.outputs = (widget_output(image),)  # the image inside the Output, set once (never stacked)
    row = widgets.Layout(width="100%", flex_flow="row wrap")
    box = EpsilonExplorer([widgets.HBox([slider, method_box], layout=row),
                           widgets.HBox([dtype_box, model_box], layout=row), verdict, plot],
                          layout=widgets.Layout(width="100%"))  # (its CSS class: eps-explorer)
    box.cache, box.image, box.controls = cache, image, {"eps": slider, "method": method_box, "dtype": dtype_box,
                                                        "model": model_box}
    painter = BlitPainter(Figure(figsize=EPSILON_PANEL_SIZE, dpi=EPSILON_DPI, layout="constrained"))
    busy = []

    def show(state):
        box.state, box.png = state, painter.paint(state)
        image.value = box.png
        verdict.value = verdict_html(state["verdict"])

    def redraw(change=None):
        if busy:
            return
        busy.append(True)  # a new method may move the slider's lower end: one redraw for both
        try:
            slider.min = np.log10(cache.get(model_box.value, method_box.value, dtype_box.value).eps[0])
        finally:
            busy.pop()
        show(explorer_state(slider.value, method_box.value, dtype_box.value, model_box.value, cache=cache))

    for w in (slider, method_box, dtype_box, model_box):
        w.observe(redraw, names="value")
    show(first)
    return box


_BlitPainter = BlitPainter  # the name tests/test_fast_paths.py imports (the painter lives in the machinery module)
