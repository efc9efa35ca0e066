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


# ---------------------------------------------------------------------------------------------------
# The note of a passed check whose global relative difference is above the threshold
# ---------------------------------------------------------------------------------------------------

def excess_note(report):
    found = [n for n in report.notes if "above the threshold only because of" in n]
    assert len(found) == 1, report.notes
    return found[0]


def test_excess_explained_by_kinks_says_kinks():
    """The course's net with Z1[0, 0] moved to 2e-6: the default step crosses the kink in four entries.
    Left out, they explain the whole excess, so the note names them and not round-off."""
    from course_utils.bugs import check_backward, correct
    from course_utils.models import forward_propagation_n
    from course_utils.testcases import gradient_check_n_test_case

    X, Y, parameters = gradient_check_n_test_case()
    _, cache = forward_propagation_n(X, Y, parameters)
    near_kink = {name: value.copy() for name, value in parameters.items()}
    near_kink["b1"][0, 0] -= cache[0][0, 0] - 2e-6  # Z1[0, 0] is now 2e-6
    report = check_backward(correct, X, Y, near_kink)
    assert report.passed and report.relative_difference > report.threshold and len(report.kinks) == 4
    note = excess_note(report)
    assert "4 entries that crossed a kink" in note and "round-off" not in note
    without = float(note.rsplit(" ", 1)[1])
    assert without <= report.threshold  # the relative difference without the kinks, as stated


def test_excess_within_the_round_off_floor_says_round_off():
    """J = C + w^3 with a large constant C: the round-off floor of the step (100 u |J| / eps) covers the
    truncation error eps^2 that lifts the global relative difference above 1e-6; no kink anywhere."""
    from course_utils.gradcheck import check_gradients

    C = 6.5e5
    report = check_gradients(lambda p: float(C + p["w"][0] ** 3), {"w": np.array([1.0])},
                             {"dw": np.array([3.0])}, epsilon=3e-3, progress=False)
    assert report.passed and report.relative_difference > report.threshold and not report.kinks
    note = excess_note(report)
    assert "because of the step: it is too large (truncation)" in note and "kink" not in note  # issue 14: measured


# ---------------------------------------------------------------------------------------------------
# A small check evaluates its differences and its first noise table in one call (checker_engine.prefetch)
# ---------------------------------------------------------------------------------------------------

def test_the_noise_table_evaluated_with_the_differences_gives_the_same_report(monkeypatch):
    """The one-call path must count the same evaluations (2n + 1 + 13) and judge the same numbers as the
    separate calls it replaces."""
    from course_utils.checker_engine import Engine
    from course_utils.fastcheck import check_mlp_gradients
    from course_utils.models import mlp_backward, mlp_forward
    from course_utils.testcases import gradient_check_n_test_case

    X, Y, parameters = gradient_check_n_test_case()
    Y = Y.astype(float)
    gradients = mlp_backward(X, Y, mlp_forward(X, Y, parameters)[1])
    one_call = check_mlp_gradients(X, Y, parameters, gradients, progress=False)
    assert one_call.n_evaluations == 2 * one_call.numeric.size + 1 + 13
    monkeypatch.setattr(Engine, "stacks_entries", lambda self, k: False)
    separate = check_mlp_gradients(X, Y, parameters, gradients, progress=False)
    assert separate.n_evaluations == one_call.n_evaluations and separate.verdict == one_call.verdict
    np.testing.assert_array_equal(separate.numeric, one_call.numeric)
    assert separate.noise == one_call.noise
