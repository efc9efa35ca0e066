"""Machinery of notebook 4; a student does not need this module: the vectorised sweeps behind ``stepsize``.

It holds the input checks, the six example models (a point theta, a batched cost and its exact
gradient), the sweep itself, which evaluates every perturbed parameter vector of many steps in one
vectorised call (the 3-layer net through ``models.mlp_costs``), and what can be read off a sweep's curve
(its measured minimum, the step where it starts crossing a kink, the slopes of its regions). What
notebook 4 teaches, the error model and the best step, is in ``stepsize``; this module only produces the
measurements it is fitted to.
"""

from dataclasses import dataclass

import numpy as np

from course_utils.gradcheck import relative_difference
from course_utils.models import backward_propagation_n, forward_propagation_n, mlp_costs
from course_utils.parameters import dictionary_to_vector, layout_of
from course_utils.testcases import gradient_check_n_test_case

__all__ = ["DTYPES", "METHODS", "MODELS", "SATURATED", "StepSizeError", "Sweep", "SweepModel",
           "TRUNCATION_ORDER", "check_dtype", "check_epsilons", "check_method", "default_grid",
           "error_at", "finite_differences", "fit_slope", "get_model", "kink_step", "measured_best", "model_label",
           "random_direction", "region_slopes", "sweep", "unit_roundoff"]

METHODS = ("centered", "forward", "complex")
DTYPES = ("float64", "float32")

#: Order of the truncation error of each method (error ~ eps^p for large steps).
TRUNCATION_ORDER = {"centered": 2, "forward": 1, "complex": 2}

#: Points with a relative difference at or above this are saturated (the step vanished, or crossed a
#: kink, or the method does not apply) and are left out of the error-model fit.
SATURATED = 0.05


class StepSizeError(ValueError):
    """Bad input to a sweep; the message names the problem and the fix."""


# ---------------------------------------------------------------------------------------------------
# Input checking
# ---------------------------------------------------------------------------------------------------

def check_method(method):
    """Return ``method`` if it is one of METHODS, else raise StepSizeError.

    Returns
    -------
    str

    Raises
    ------
    StepSizeError naming the valid methods.
    """
    if method not in METHODS:
        raise StepSizeError(f"method must be one of {METHODS}, got {method!r}")
    return method


def check_dtype(dtype):
    """The numpy float dtype named by ``dtype`` ("float64", "float32", np.float32, ...).

    Returns
    -------
    numpy.dtype, float64 or float32

    Raises
    ------
    StepSizeError naming the valid dtypes.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise StepSizeError(f"dtype must be 'float64' or 'float32' (or the numpy types), got {dtype!r}")
    return dt


def check_epsilons(eps):
    """Steps as a 1-D float64 array of positive finite numbers.

    Parameters
    ----------
    eps : float or array_like of shape (k,)

    Returns
    -------
    ndarray, shape (k,)

    Raises
    ------
    StepSizeError for steps that are not positive finite numbers.
    """
    arr = np.asarray(eps, dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise StepSizeError(f"epsilon must be positive finite numbers (e.g. np.logspace(-12, 0, 97)), got {eps!r}")
    return arr


def unit_roundoff(dtype):
    """Machine epsilon u of a float dtype (2.2e-16 for float64, 1.2e-7 for float32).

    Parameters
    ----------
    dtype : "float64" or "float32" (or the numpy dtype)

    Returns
    -------
    float

    Raises
    ------
    StepSizeError for another dtype.
    """
    return float(np.finfo(check_dtype(dtype)).eps)


def default_grid(method, per_decade=8):
    """The steps a sweep uses by default.

    Real-step methods go from 1e-12 to 1 (the explorer's slider range); the complex step from 1e-20 to 1,
    to show that it stays flat far below where subtraction-based differences break down.

    Parameters
    ----------
    method : "centered", "forward" or "complex"
    per_decade : int, steps per power of ten

    Returns
    -------
    ndarray, shape (k,), increasing

    Raises
    ------
    StepSizeError for an unknown method.
    """
    lo = -20 if check_method(method) == "complex" else -12
    return np.logspace(lo, 0, -lo * per_decade + 1)


# ---------------------------------------------------------------------------------------------------
# Models: a point theta, a batched cost and its exact gradient
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepModel:
    """A cost to differentiate, evaluated on many parameter vectors at once.

    Attributes
    ----------
    key : str, the name in MODELS
    label : str, for titles and dropdowns
    theta : ndarray, shape (n,), float64: the point where the gradient is checked
    cost_batch : callable, ``cost_batch(thetas)`` with thetas of shape (B, n) (float or complex, any
        precision) returns the B costs, shape (B,), in the precision of thetas
    gradient : callable, ``gradient(theta)`` with theta of shape (n,) float64 returns the exact gradient,
        shape (n,) float64
    complex_analytic : bool, whether the cost is an analytic function (so the complex step applies)
    note : str, one sentence on what this model shows
    """

    key: str
    label: str
    theta: np.ndarray
    cost_batch: object
    gradient: object
    complex_analytic: bool = True
    note: str = ""

    @property
    def n(self):
        """int: number of parameters."""
        return self.theta.size

    @property
    def scale(self):
        """float: max(1, max |theta_i|), the scale the rule of thumb for the step multiplies."""
        return float(max(1.0, np.max(np.abs(self.theta))))


def _abs_relu(z):
    """ReLU written as (z + |z|) / 2: equal to max(z, 0) on reals, but |z| is not analytic."""
    return (z + np.abs(z)) / 2


def _scalar_model(key, label, theta, f, df, analytic=True, note=""):
    theta = np.array([float(theta)])
    return SweepModel(key=key, label=label, theta=theta,
                      cost_batch=lambda thetas: f(thetas[:, 0]),
                      gradient=lambda t: np.array([float(df(t[0]))]),
                      complex_analytic=analytic, note=note)


def _network_model(stable):
    X, Y, parameters = gradient_check_n_test_case()
    layout = layout_of(parameters)
    theta, _ = dictionary_to_vector(parameters)

    def gradient(t):
        from course_utils.parameters import gradients_to_vector, vector_to_dictionary
        p = vector_to_dictionary(t, layout)
        _, cache = forward_propagation_n(X, Y, p)
        return gradients_to_vector(backward_propagation_n(X, Y, cache), layout).reshape(-1)

    if stable:
        label, note = ("3-layer net, stable cost",
                       "the same net with the cost computed from the logits: a smaller round-off constant")
    else:
        label, note = ("3-layer net (course test case)",
                       "the course's test case with the textbook cost: log(1 - A) loses digits when A = 0.999")
    return SweepModel(key="net_stable" if stable else "net", label=label, theta=theta.reshape(-1),
                      cost_batch=lambda thetas: mlp_costs(X, Y, thetas, layout, stable_cost=stable), gradient=gradient,
                      complex_analytic=True, note=note)


def _model_builders():
    return {
        "net": lambda: _network_model(stable=False),
        "net_stable": lambda: _network_model(stable=True),
        "linear": lambda: _scalar_model(
            "linear", "1-D model J = 4x at x = 2", 2.0, lambda t: 4.0 * t, lambda t: 4.0,
            note="J is linear: no truncation error at all, only round-off"),
        "sin": lambda: _scalar_model(
            "sin", "J = sin(x) at x = 1", 1.0, np.sin, np.cos, note="smooth: truncation and round-off both visible"),
        "exp": lambda: _scalar_model(
            "exp", "J = exp(x) at x = 1", 1.0, np.exp, np.exp, note="smooth: truncation and round-off both visible"),
        "relu": lambda: _scalar_model(
            "relu", "J = exp(relu(x)) at x = 0.5, relu via |x|", 0.5, lambda t: np.exp(_abs_relu(t)),
            lambda t: np.exp(t) if t > 0 else 0.0, analytic=False,
            note="relu written with |x| is not analytic: the complex step gives a wrong slope; "
                 "real steps above 0.5 cross the kink at 0"),
    }


#: Names of the models a sweep knows, in the order the explorer's dropdown shows them.
MODELS = ("net", "net_stable", "linear", "sin", "exp", "relu")


def get_model(model):
    """The SweepModel named ``model`` (one of MODELS), or ``model`` itself if it is already one.

    Returns
    -------
    SweepModel

    Raises
    ------
    StepSizeError naming the models.
    """
    if isinstance(model, SweepModel):
        return model
    builders = _model_builders()
    if model not in builders:
        raise StepSizeError(f"model must be one of {MODELS} (or a SweepModel), got {model!r}")
    return builders[model]()


def model_label(model):
    """Readable label of a model name, e.g. "3-layer net (course test case)".

    Parameters
    ----------
    model : str, a name in ``MODELS``

    Returns
    -------
    str

    Raises
    ------
    StepSizeError for an unknown model.
    """
    return get_model(model).label


# ---------------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------------

@dataclass
class Sweep:
    """Measured error of a finite difference for many steps.

    Attributes
    ----------
    model : str, method : str, dtype : numpy.dtype, mode : "entries" or "direction"
    eps : ndarray, shape (k,): the steps
    error : ndarray, shape (k,): the course's relative difference at each step (0 means exact)
    numeric : ndarray, shape (k, d): the finite-difference derivatives along the d directions
    analytic : ndarray, shape (d,): the exact derivatives along the same directions
    u : float, unit round-off of dtype
    scale : float, max(1, max |theta|)
    complex_analytic : bool, whether the model is analytic (complex step applies)
    n_evaluations : int, cost evaluations spent (2 k n for a centered per-entry sweep)
    """

    model: str
    method: str
    dtype: np.dtype
    mode: str
    eps: np.ndarray
    error: np.ndarray
    numeric: np.ndarray
    analytic: np.ndarray
    u: float
    scale: float
    complex_analytic: bool
    n_evaluations: int
    label: str = ""


def random_direction(n, seed=0):
    """A fixed random unit vector of length n (Gaussian entries, normalised).

    Parameters
    ----------
    n : int; seed : int

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    numpy's ValueError for a negative n; nothing of its own.
    """
    v = np.random.default_rng(seed).standard_normal(n)
    return v / np.linalg.norm(v)


def finite_differences(model, method, dtype, eps, directions):
    """Finite-difference derivatives along each direction, for every step at once.

    Parameters
    ----------
    model : SweepModel or name in MODELS
    method : "centered", "forward" or "complex"
    dtype : "float64" or "float32": precision of the parameters and of every cost evaluation
    eps : float or ndarray, shape (k,)
    directions : ndarray, shape (d, n): the directions (rows), e.g. np.eye(n) for a per-entry check

    Returns
    -------
    numeric : ndarray, shape (k, d), float64
    n_evaluations : int

    Raises
    ------
    StepSizeError for directions of the wrong shape, bad steps, or a cost that is not complex-analytic
    when the complex step asks for it.
    """
    model = get_model(model)
    check_method(method)
    dt = check_dtype(dtype)
    eps = check_epsilons(eps)
    D = np.asarray(directions, dtype=np.float64)
    if D.ndim != 2 or D.shape[1] != model.n:
        raise StepSizeError(f"directions must have shape (d, {model.n}) for model {model.key!r}, got {D.shape}")
    k, d = eps.size, D.shape[0]
    theta = model.theta.astype(dt)  # shape (n,)
    steps = eps[:, None, None] * D[None, :, :]  # shape (k, d, n), float64
    if method == "complex":
        ct = np.complex64 if dt == np.float32 else np.complex128
        thetas = theta.astype(ct) + 1j * steps.astype(dt)  # shape (k, d, n)
        J = np.asarray(model.cost_batch(thetas.reshape(k * d, -1))).reshape(k, d)
        if not np.iscomplexobj(J):
            raise StepSizeError(f"model {model.key!r} returned real costs for complex input; the complex step "
                                f"needs a cost that carries complex numbers through")
        return J.imag.astype(np.float64) / eps[:, None], k * d
    plus = (theta + steps.astype(dt)).reshape(k * d, -1)  # shape (k d, n), in dt
    J_plus = np.asarray(model.cost_batch(plus)).reshape(k, d)
    if method == "forward":
        J0 = np.asarray(model.cost_batch(theta[None, :])).reshape(())
        diff = (J_plus - J0).astype(np.float64)  # the subtraction happens in dt, as in the student's loop
        return diff / eps[:, None], k * d + 1
    minus = (theta - steps.astype(dt)).reshape(k * d, -1)
    J_minus = np.asarray(model.cost_batch(minus)).reshape(k, d)
    diff = (J_plus - J_minus).astype(np.float64)
    return diff / (2 * eps[:, None]), 2 * k * d


def sweep(model, method="centered", dtype="float64", eps=None, mode="entries", seed=0):
    """Measure the relative difference of a finite-difference gradient for many steps.

    Parameters
    ----------
    model : name in MODELS (or a SweepModel)
    method : "centered", "forward" or "complex"
    dtype : "float64" or "float32"
    eps : ndarray, shape (k,), optional; default ``default_grid(method)``
    mode : "entries" (every unit vector, the classic per-entry check: the course's numbers) or
        "direction" (one fixed random unit direction: 2 evaluations per step instead of 2 n)
    seed : int, seed of the random direction (mode "direction")

    Returns
    -------
    Sweep

    Raises
    ------
    StepSizeError for an unknown model, method, dtype or mode, or bad steps.
    """
    m = get_model(model)
    method = check_method(method)
    dt = check_dtype(dtype)
    eps = default_grid(method) if eps is None else check_epsilons(eps)
    if mode == "entries":
        D = np.eye(m.n)
    elif mode == "direction":
        D = random_direction(m.n, seed)[None, :]
    else:
        raise StepSizeError(f"mode must be 'entries' or 'direction', got {mode!r}")
    # The exact gradient at the point the dtype can represent (float32 rounds theta).
    grad = m.gradient(m.theta.astype(dt).astype(np.float64))  # shape (n,)
    analytic = D @ grad  # shape (d,)
    numeric, n_eval = finite_differences(m, method, dt, eps, D)
    return Sweep(model=m.key, method=method, dtype=dt, mode=mode, eps=eps,
                 error=np.array([relative_difference(row, analytic) for row in numeric]),  # shape (k,)
                 numeric=numeric, analytic=analytic,
                 u=float(np.finfo(dt).eps), scale=m.scale, complex_analytic=m.complex_analytic,
                 n_evaluations=n_eval, label=m.label)


def error_at(model, method, dtype, eps, mode="entries", seed=0):
    """Relative difference at one step (a one-point sweep).

    Parameters
    ----------
    model, method, dtype, mode, seed : as for ``sweep``
    eps : float, the step

    Returns
    -------
    float

    Raises
    ------
    StepSizeError for an unknown model, method, dtype or mode, or a step that is not a positive number.
    """
    return float(sweep(model, method, dtype, [eps], mode=mode, seed=seed).error[0])


# ---------------------------------------------------------------------------------------------------
# Reading a sweep: its minimum, the step where it crosses a kink, the slopes of its regions
# ---------------------------------------------------------------------------------------------------

def measured_best(s):
    """The step with the smallest measured error and that error: (eps, error) as floats.

    Exact zeros count as the smallest error; among equal errors the largest step is returned.

    Parameters
    ----------
    s : Sweep (or any object with arrays ``eps`` and ``error`` of shape (k,))

    Returns
    -------
    (eps : float, error : float)

    Raises
    ------
    ValueError from numpy for an empty sweep; nothing of its own.
    """
    err = np.where(np.isfinite(s.error), s.error, np.inf)
    i = len(err) - 1 - int(np.argmin(err[::-1]))
    return float(s.eps[i]), float(err[i])


def kink_step(s, jump=10.0):
    """The smallest step at which the measured error jumps up (the step starts crossing a kink), or None.

    Right of the measured minimum, the error of a smooth cost grows like eps^p (less than 2x between
    neighbouring grid points). When the step crosses a ReLU kink the difference quotient changes
    abruptly; this is seen as an error ``jump`` times larger than the largest of the three previous
    points. The complex step is never checked (its small-step error is flat).

    Parameters
    ----------
    s : Sweep; jump : float, the factor that counts as a jump

    Returns
    -------
    float or None

    Raises
    ------
    ValueError from numpy for an empty sweep; nothing of its own.
    """
    if s.method == "complex":
        return None
    err = np.where(np.isfinite(s.error), s.error, np.inf)
    best, _ = measured_best(s)
    for i in range(3, err.size):
        if s.eps[i] > best and err[i] > jump * np.max(err[i - 3:i]) and err[i] > 0:
            return float(s.eps[i])
    return None


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

    Parameters
    ----------
    s : Sweep; margin : float, how far from the minimum each region starts (a factor)

    Returns
    -------
    dict with "roundoff" and "truncation" (float, or None when the region has too few points)

    Raises
    ------
    ValueError from numpy for an empty sweep; nothing of its own.
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
