"""How the error of a finite difference depends on the step epsilon: sweeps, error model, best step.

This is the numerical side of notebook 4; ``stepsize_views`` turns it into what the plots and the explorer
widget draw (curves, labels, a verdict line).

A *sweep* measures, for many steps at once, the course's relative difference
``||g - g_hat|| / (||g|| + ||g_hat||)`` between an exact gradient ``g`` and a finite-difference
estimate ``g_hat`` computed in a chosen precision (float64 or float32) with a chosen method:

* ``"centered"``: ``(J(theta + eps d) - J(theta - eps d)) / (2 eps)``, error ~ C1 eps^2 + C2 u / eps
* ``"forward"``:  ``(J(theta + eps d) - J(theta)) / eps``,            error ~ C1 eps   + C2 u / eps
* ``"complex"``:  ``Im J(theta + i eps d) / eps``,                     error ~ C1 eps^2 + C0 u

where ``d`` runs over the unit vectors (mode ``"entries"``: the classic per-entry check) or is one fixed
random unit vector (mode ``"direction"``), and ``u`` is the unit round-off of the dtype. The step is the
nominal ``eps`` the student's loop divides by, exactly as in the classic exercise.

The measurements come from ``stepsize_sweeps`` (machinery a student does not need: input checks, the
six example models and the vectorised sweep, re-exported here): every cost is evaluated for a whole
batch of perturbed parameter vectors in one call, so a sweep over ~100 steps of the 47-parameter net
takes milliseconds. This module holds what notebook 4 teaches about them: the error model and its fit,
the measured and predicted best step, and ``SweepCache``, which keeps finished sweeps for the widget.

Models (``MODELS``): the 1-D model ``J = theta x`` (no truncation error at all: J is linear), ``sin`` and
``exp`` (smooth, truncation visible), a ReLU written with ``abs`` (not complex-analytic: the complex step
fails), and the course's 3-layer net with the textbook cost or the cost computed from the logits.
"""

from dataclasses import dataclass, field

import numpy as np

from course_utils.gradcheck import default_epsilon
from course_utils.stepsize_sweeps import (
    DTYPES,
    METHODS,
    MODELS,
    SATURATED,
    TRUNCATION_ORDER,
    StepSizeError,
    Sweep,
    SweepModel,
    check_dtype,
    check_epsilons,
    check_method,
    default_grid,
    error_at,
    finite_differences,
    get_model,
    model_label,
    random_direction,
    sweep,
    unit_roundoff,
)

__all__ = ["DTYPES", "ErrorModel", "METHODS", "MODELS", "SATURATED", "StepSizeError", "Sweep", "SweepCache",
           "SweepModel", "TRUNCATION_ORDER", "check_dtype", "check_epsilons", "check_method", "default_grid",
           "error_at", "finite_differences", "fit_error_model", "fit_slope", "get_model", "kink_step",
           "measured_best", "model_label", "random_direction", "region_slopes", "rule_of_thumb_epsilon",
           "sweep", "unit_roundoff"]


@dataclass
class SweepCache:
    """Finished sweeps and error models, keyed by (model, method, dtype, mode); for the widget.

    A cache belongs to whoever created it (one per explorer), never to the module.
    """

    sweeps: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)

    def get(self, model, method, dtype, mode="entries"):
        """The Sweep on the default grid (computed once)."""
        key = (model, check_method(method), check_dtype(dtype).name, mode)
        if key not in self.sweeps:
            self.sweeps[key] = sweep(model, method, dtype, mode=mode)
        return self.sweeps[key]

    def error_model(self, model, method, dtype, mode="entries"):
        """The ErrorModel fitted to that sweep, with C1 from the float64 sweep (computed once)."""
        key = (model, check_method(method), check_dtype(dtype).name, mode)
        if key not in self.models:
            reference = self.get(model, method, "float64", mode) if key[2] != "float64" else None
            self.models[key] = fit_error_model(self.get(model, method, dtype, mode), reference)
        return self.models[key]


# ---------------------------------------------------------------------------------------------------
# The error model
# ---------------------------------------------------------------------------------------------------

@dataclass
class ErrorModel:
    """error(eps) ~ C1 eps^p + C2 u / eps (+ C0 u for the complex step), fitted to a sweep.

    Attributes
    ----------
    method : str, p : int (truncation order), u : float
    C1 : float, truncation constant (0 when no truncation is visible, e.g. J = theta x)
    C2 : float, round-off constant (0 for the complex step, which has no subtraction)
    C0 : float, flat floor in units of u (complex step; 0 otherwise)
    applies : bool, False when the measurements cannot be described by the model (e.g. the complex
        step on a non-analytic function: its error stays large for every step)
    """

    method: str
    p: int
    u: float
    C1: float
    C2: float
    C0: float = 0.0
    applies: bool = True

    def truncation(self, eps):
        """Truncation term C1 eps^p; ndarray shaped like eps."""
        return self.C1 * np.asarray(eps, dtype=np.float64) ** self.p

    def roundoff(self, eps):
        """Round-off term: C2 u / eps (real steps) or the flat C0 u (complex step); shaped like eps."""
        eps = np.asarray(eps, dtype=np.float64)
        if self.method == "complex":
            return np.full_like(eps, self.C0 * self.u)
        return self.C2 * self.u / eps

    def total(self, eps):
        """Predicted error, the sum of both terms; shaped like eps."""
        return self.truncation(eps) + self.roundoff(eps)

    @property
    def best_epsilon(self):
        """Step minimising the predicted error: (C2 u / (p C1))^(1/(p+1)); None if there is no minimum
        (no truncation seen, or the complex step, whose error is flat for every small step)."""
        if not self.applies or self.method == "complex" or self.C1 <= 0 or self.C2 <= 0:
            return None
        return float((self.C2 * self.u / (self.p * self.C1)) ** (1.0 / (self.p + 1)))

    @property
    def best_error(self):
        """Predicted error at best_epsilon (or the complex step's floor C0 u); None if undefined."""
        if not self.applies:
            return None
        if self.method == "complex":
            return self.C0 * self.u
        e = self.best_epsilon
        return None if e is None else float(self.total(e))

    def regime(self, eps):
        """"round-off", "truncation" or "balanced": which term dominates at step eps (factor 3 margin)."""
        t, r = float(self.truncation(eps)), float(self.roundoff(eps))
        if r > 3 * t:
            return "round-off"
        if t > 3 * r:
            return "truncation"
        return "balanced"


def fit_error_model(s, reference=None):
    """Estimate C1, C2 (and C0) of the error model from a sweep.

    The measured minimum splits the curve: points at least 10x smaller steps than the minimum give the
    round-off constant (median of error * eps / u), points at least 10x larger give the truncation
    constant (median of error / eps^p). Medians make it robust to the scatter of round-off and to a few
    steps that cross a kink. Saturated points (error >= SATURATED) and exact zeros are left out.

    Truncation is a property of the function, not of the precision: pass the float64 sweep of the same
    model and method as ``reference`` to take C1 from it (useful in float32, where round-off hides most
    of the truncation region).

    Parameters
    ----------
    s : Sweep
    reference : Sweep, optional, same model and method (usually float64): source of C1

    Returns
    -------
    ErrorModel

    Raises
    ------
    StepSizeError when the reference sweep is of another model, method or mode.
    """
    if reference is not None:
        if (reference.model, reference.method, reference.mode) != (s.model, s.method, s.mode):
            raise StepSizeError("the reference sweep must have the same model, method and mode as the sweep")
        own = _fit(s, kink_step(reference))
        C1 = fit_error_model(reference).C1
        return ErrorModel(own.method, own.p, own.u, C1 if C1 > 0 else own.C1, own.C2, own.C0, own.applies)
    return _fit(s, kink_step(s))


def _fit(s, kink):
    """fit_error_model with the kink step given (None: no kink); steps at or above it are left out."""
    p = TRUNCATION_ORDER[s.method]
    eps, err = s.eps, s.error
    valid = np.isfinite(err) & (err < SATURATED)
    if s.method == "complex":
        if not valid.any():
            return ErrorModel(s.method, p, s.u, 0.0, 0.0, 0.0, applies=False)
        floor = float(np.min(err[valid]))
        flat = valid & (err <= max(10 * floor, 10 * s.u))
        C0 = float(np.median(err[flat])) / s.u
        rising = valid & (err > 100 * max(C0 * s.u, s.u))
        C1 = float(np.median(err[rising] / eps[rising] ** p)) if rising.any() else 0.0
        return ErrorModel(s.method, p, s.u, C1, 0.0, C0)
    if kink is not None:
        valid &= eps < kink
    positive = valid & (err > 0)
    if not positive.any():
        return ErrorModel(s.method, p, s.u, 0.0, 0.0, applies=False)
    i_min = np.flatnonzero(positive)[np.argmin(err[positive])]
    eps_min = eps[i_min]
    left = positive & (eps <= eps_min / 10)
    right = positive & (eps >= eps_min * 10)
    C2 = float(np.median(err[left] * eps[left] / s.u)) if left.any() else float(err[i_min] * eps_min / s.u)
    C1 = float(np.median(err[right] / eps[right] ** p)) if right.any() else 0.0
    return ErrorModel(s.method, p, s.u, C1, C2)


def kink_step(s, jump=10.0):
    """The smallest step at which the measured error jumps up (the step starts crossing a kink), or None.

    Right of the measured minimum, the error of a smooth cost grows like eps^p (less than 2x between
    neighbouring grid points). When the step crosses a ReLU kink the difference quotient changes
    abruptly; this is seen as an error ``jump`` times larger than the largest of the three previous
    points. The complex step is never checked (its small-step error is flat).

    Returns
    -------
    float or None
    """
    if s.method == "complex":
        return None
    err = np.where(np.isfinite(s.error), s.error, np.inf)
    best, _ = measured_best(s)
    for i in range(3, err.size):
        if s.eps[i] > best and err[i] > jump * np.max(err[i - 3:i]) and err[i] > 0:
            return float(s.eps[i])
    return None


def measured_best(s):
    """The step with the smallest measured error and that error: (eps, error) as floats.

    Exact zeros count as the smallest error; among equal errors the largest step is returned.
    """
    err = np.where(np.isfinite(s.error), s.error, np.inf)
    i = len(err) - 1 - int(np.argmin(err[::-1]))
    return float(s.eps[i]), float(err[i])


def fit_slope(eps, error, lo, hi):
    """Least-squares slope of log10(error) against log10(eps) for lo <= eps <= hi (exact zeros left out).

    Parameters
    ----------
    eps, error : ndarray, shape (k,)
    lo, hi : float, the range of steps

    Returns
    -------
    float, the slope (2 for centered truncation, 1 for forward, -1 for round-off)

    Raises
    ------
    StepSizeError when too few usable points lie in [lo, hi].
    """
    eps, error = np.asarray(eps, dtype=np.float64), np.asarray(error, dtype=np.float64)
    keep = (eps >= lo) & (eps <= hi) & (error > 0) & np.isfinite(error)
    if keep.sum() < 3:
        raise StepSizeError(f"only {int(keep.sum())} usable points between {lo:.1e} and {hi:.1e}; "
                            f"widen the range or use a finer grid")
    slope, _ = np.polyfit(np.log10(eps[keep]), np.log10(error[keep]), 1)
    return float(slope)


def region_slopes(s, margin=30.0):
    """Slopes of the round-off and truncation regions of a sweep, fitted from the data alone.

    The round-off region is every step below best / margin, the truncation region every step above
    best * margin whose error is not saturated and that does not cross a kink (best: the measured
    minimum; see ``kink_step``).

    Returns
    -------
    dict with "roundoff" and "truncation" (float, or None when the region has too few points)
    """
    best, _ = measured_best(s)
    kink = kink_step(s)
    top = s.eps[-1] if kink is None else kink / 1.01
    out = {}
    for name, lo, hi in [("roundoff", s.eps[0], best / margin), ("truncation", best * margin, top)]:
        mask = (s.eps >= lo) & (s.eps <= hi) & (s.error < SATURATED)
        try:
            out[name] = fit_slope(s.eps[mask], s.error[mask], lo, hi)
        except StepSizeError:
            out[name] = None
    return out


def rule_of_thumb_epsilon(dtype, method="centered", scale=1.0):
    """The textbook best step: ``gradcheck.default_epsilon`` (u^(1/3) centered, sqrt(u) forward, 1e-20
    complex) at a parameter of size 1, times ``scale``.

    Returns
    -------
    float

    Raises
    ------
    StepSizeError for an unknown method or dtype.
    """
    step = default_epsilon(np.zeros(1), check_method(method), check_dtype(dtype))[0]  # the step rule at |theta| <= 1
    return float(step * float(scale))
