"""How the error of a finite difference depends on the step epsilon: the error model and the best step.

This is the numerical side of notebook 4; ``stepsize_views`` turns it into what the plots and the explorer
widget draw. A *sweep* (``sweep``, ``error_at``) measures, for many steps at once, the course's relative
difference between an exact gradient and a finite-difference estimate computed in a chosen precision
(float64 or float32) with a chosen method, along the unit vectors (mode "entries", the classic per-entry
check) or one fixed random unit vector (mode "direction"); u is the unit round-off of the dtype:

* ``"centered"``: ``(J(theta + eps d) - J(theta - eps d)) / (2 eps)``, error ~ C1 eps^2 + C2 u / eps
* ``"forward"``:  ``(J(theta + eps d) - J(theta)) / eps``,            error ~ C1 eps   + C2 u / eps
* ``"complex"``:  ``Im J(theta + i eps d) / eps``,                     error ~ C1 eps^2 + C0 u

This module holds what notebook 4 teaches about a sweep: the error model (``ErrorModel``) and its fit, the
predicted best step and the rule of thumb, and ``SweepCache``, which keeps finished sweeps for the widget.
The measurements themselves (input checks, the six example models ``MODELS``, the vectorised sweep, the
measured minimum ``measured_best``, the kink and the slopes of a curve) come from ``stepsize_sweeps``,
machinery a student does not need, and are re-exported here.
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
    fit_slope,
    get_model,
    kink_step,
    measured_best,
    model_label,
    random_direction,
    region_slopes,
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
