"""Fast paths give the same results as the plain ones: the epsilon explorer's reused figure draws the
same pixels as a fresh figure, and the gradient checker's notes name the cause of a global excess."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import stepsize as S
from course_utils.widgets import _BlitPainter, explorer_state


def painter():
    return _BlitPainter(Figure(figsize=(12.0, 7.0), dpi=72, layout="constrained"))


@pytest.fixture(scope="module")
def cache():
    return S.SweepCache()


def test_explorer_panels_drawn_into_one_reused_figure_equal_fresh_figures(cache):
    """Switching panels updates the artists in place and keeps the first layout: each picture must be
    pixel for pixel what a fresh figure (cleared axes, constrained layout) shows."""
    shared = painter()
    panels = [("net", "centered", "float64", 1e-7), ("linear", "complex", "float64", 1e-3),  # exact zeros
              ("sin", "forward", "float32", 1e-11), ("relu", "centered", "float64", 3e-2),
              ("net", "complex", "float32", 1e-5), ("exp", "centered", "float64", 1e-7)]
    for model, method, dtype, eps in panels:
        state = explorer_state(eps, method, dtype, model, cache=cache)
        shared.paint(state)
        fresh = painter()
        fresh.paint(state)
        reused = np.asarray(shared.canvas.buffer_rgba())
        assert np.array_equal(reused, np.asarray(fresh.canvas.buffer_rgba())), (model, method, dtype)
