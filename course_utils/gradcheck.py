"""The gradient checker: compare analytic gradients with finite differences of the cost.

What the course teaches, in the order a check runs:

* ``default_epsilon``: the step rule, eps = u^(1/3) max(1, |theta_i|) for centered differences;
* ``numerical_gradient``: notebook 2's loop, (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps) per entry;
* ``relative_difference``: ||g - g_hat|| / (||g|| + ||g_hat||);
* ``check_gradients``: flatten the parameters and gradients, evaluate the differences, judge them and
  return a ``GradCheckReport`` (module ``report``) that names the wrong blocks and entries. It never prints.

The machinery that makes the check fast and careful lives in modules a student does not need:
``checker_engine`` (batched and chunked evaluation, one interface for fast evaluators), ``checker_noise``
(the cost's measured noise, repeatability and precision), ``checker_judge`` (noise floors, second steps,
kinks, jumps, verdicts), ``checker_random`` (random directions, sparse samples),
``checker_progress`` (the progress bar) and ``fastcheck`` (the network's structured evaluator).

Modes: "full" (every entry, 2n + 1 evaluations); "sparse" (a random sample of entries from *every*
block); "random" (k random directions, 2k + 1 evaluations, with a stated detection guarantee);
"auto" (full for small models, random directions per block for large ones).
"""

import warnings

import numpy as np

from course_utils import checker_noise, checker_random
from course_utils.checker_engine import (
    Engine,
    GradCheckError,
    PrecisionWarning,
    as_batched,
    check_dtype,
    chunk_for,
    entry_differences,
    flatten,
    resolve_epsilon,
)
from course_utils.checker_judge import entry_report
from course_utils.parameters import dictionary_to_vector, layout_of, vector_to_dictionary
from course_utils.report import BlockResult, EntryResult, GradCheckReport

__all__ = ["BlockResult", "DEFAULT_THRESHOLDS", "EntryResult", "GradCheckError", "GradCheckReport", "METHODS",
           "MODES", "PrecisionWarning", "check_gradients", "default_epsilon", "numerical_gradient",
           "relative_difference"]

#: Default pass thresholds on relative differences, by dtype and method. At a well-chosen step a correct
#: float64 gradient sits near 1e-9 to 1e-10 with centered differences (forward differences only reach
#: about sqrt(u) ~ 1e-8) and real bugs sit above 1e-4; float32 cannot resolve much below 1e-4.
DEFAULT_THRESHOLDS = {
    (np.dtype(np.float64), "centered"): 1e-6, (np.dtype(np.float64), "complex"): 1e-6,
    (np.dtype(np.float64), "forward"): 1e-5,
    (np.dtype(np.float32), "centered"): 1e-3, (np.dtype(np.float32), "complex"): 1e-3,
    (np.dtype(np.float32), "forward"): 1e-2,
    (np.dtype(np.float16), "centered"): 1e-2, (np.dtype(np.float16), "complex"): 1e-2,
    (np.dtype(np.float16), "forward"): 5e-2,
}

METHODS = ("centered", "forward", "complex")
MODES = ("full", "sparse", "random", "auto")

#: mode="auto" checks every entry up to this many entries (plain cost), or AUTO_FULL_BATCHED with a
#: batched cost; above, it uses random directions per block (every entry covered, with a guarantee).
AUTO_FULL_PLAIN = 5_000
AUTO_FULL_BATCHED = 200_000


# ---------------------------------------------------------------------------------------------------
# The step, the loop, the relative difference
# ---------------------------------------------------------------------------------------------------

def default_epsilon(theta, method="centered", dtype=None):
    """Step size per entry: machine epsilon to the power that balances truncation and round-off.

    centered: u^(1/3) * max(1, |theta_i|)   (about 6e-6 in float64, 5e-3 in float32)
    forward:  u^(1/2) * max(1, |theta_i|)   (about 1.5e-8 in float64)
    complex:  1e-20 * max(1, |theta_i|)     (no subtraction, so no round-off limit)

    Parameters
    ----------
    theta : ndarray, shape (n,) or (n, 1)
    method : "centered", "forward" or "complex"
    dtype : float dtype whose machine epsilon to use (default: theta's)

    Returns
    -------
    eps : ndarray, shape (n,)

    Raises
    ------
    GradCheckError for an unknown method.
    """
    theta = np.asarray(theta).reshape(-1)
    if method == "centered" and dtype is None and theta.dtype == np.float64:  # the common case, fewer calls
        return np.finfo(np.float64).eps ** (1 / 3) * np.maximum(1.0, np.abs(theta))
    dtype = np.dtype(dtype or (theta.dtype if np.issubdtype(theta.dtype, np.floating) else np.float64))
    u = np.finfo(dtype).eps
    power = {"centered": 1 / 3, "forward": 1 / 2}
    if method == "complex":
        base = 1e-20
    elif method in power:
        base = u ** power[method]
    else:
        raise GradCheckError(f"method must be one of {METHODS}, got {method!r}")
    return base * np.maximum(1.0, np.abs(theta.real).astype(np.float64))


def relative_difference(grad, gradapprox):
    """The course's relative difference ||g - g_hat|| / (||g|| + ||g_hat||); 0 when both are zero.

    Parameters
    ----------
    grad, gradapprox : array_like of the same shape (any)

    Returns
    -------
    float in [0, 1]
    """
    grad, gradapprox = np.asarray(grad, dtype=np.float64), np.asarray(gradapprox, dtype=np.float64)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return 0.0 if denominator == 0 else float(numerator / denominator)




def numerical_gradient(cost, parameters, epsilon=None, method="centered"):
    """The gradient of ``cost`` by finite differences, one entry at a time: notebook 2's loop.

    Parameters
    ----------
    cost : callable, ``cost(parameters) -> float``
    parameters : dict name -> ndarray (any shapes); never modified
    epsilon : float or ndarray (n,), the step; default ``default_epsilon(theta, method)``
    method : "centered" (J(theta + eps) - J(theta - eps)) / (2 eps), "forward" (J(theta + eps) - J(theta)) / eps
        or "complex" Im J(theta + i eps) / eps (the cost must carry complex numbers)

    Returns
    -------
    gradapprox : dict ``"d" + name`` -> ndarray of the parameter's shape, like the analytic gradients

    Raises
    ------
    GradCheckError for an unknown method.
    """
    theta, _ = dictionary_to_vector(parameters)
    theta = theta.reshape(-1).astype(np.float64)  # shape (n,)
    eps = default_epsilon(theta, method) if epsilon is None else np.broadcast_to(epsilon, theta.shape)
    J = cost(parameters) if method == "forward" else None
    gradapprox = np.zeros(theta.shape)  # shape (n,)
    for i in range(theta.size):
        if method == "complex":
            thetaplus = theta.astype(np.complex128)
            thetaplus[i] += 1j * eps[i]
            gradapprox[i] = np.imag(cost(vector_to_dictionary(thetaplus, parameters))) / eps[i]
            continue
        thetaplus = np.copy(theta)
        thetaplus[i] += eps[i]
        J_plus = cost(vector_to_dictionary(thetaplus, parameters))
        if method == "forward":
            gradapprox[i] = (J_plus - J) / eps[i]
        else:
            thetaminus = np.copy(theta)
            thetaminus[i] -= eps[i]
            J_minus = cost(vector_to_dictionary(thetaminus, parameters))
            gradapprox[i] = (J_plus - J_minus) / (2 * eps[i])
    return {"d" + name: value for name, value in vector_to_dictionary(gradapprox, parameters).items()}


# ---------------------------------------------------------------------------------------------------
# The check: flatten -> evaluate -> judge -> report
# ---------------------------------------------------------------------------------------------------

def check_gradients(cost, parameters, gradients, *, epsilon=None, method="centered", threshold=None,
                    mode="full", directions=16, per_block=False, rng=None, n_worst=5,
                    batched_cost=None, samples=16, chunk_size=None, progress=None, distribution="gaussian"):
    """Check analytic gradients against finite differences of a cost.

    Parameters
    ----------
    cost : callable ``cost(parameters) -> float``, called with fresh arrays (it cannot change yours); for
        ``method="complex"`` it must carry complex numbers through. None: use ``batched_cost`` alone.
    parameters : dict name -> ndarray (any shapes), never modified; integer arrays are checked as float64.
    gradients : dict ``"d" + name`` -> ndarray of the parameter's shape: the analytic gradients.
    epsilon : float or ndarray (n,), the step; default ``default_epsilon`` (from the dtype and scale).
    method : "centered" (default), "forward" or "complex".
    threshold : float, pass threshold on relative differences; default by dtype and method (DEFAULT_THRESHOLDS).
    mode : "full" (every entry, 2n + 1 evaluations), "sparse" (``samples`` random entries of *every* block),
        "random" (``directions`` random directions, 2k + 1 evaluations; inside each block with
        ``per_block``) or "auto" (full for small models, random per block for large ones).
    directions, per_block, samples, distribution ("gaussian" or "rademacher"), rng (Generator or seed):
        options of the random and sparse modes (module ``checker_random``). n_worst : int, worst entries listed.
    batched_cost : a fast evaluator of the same cost: a ``checker_engine.BatchedCost`` such as
        ``fastcheck.MLPBatchedCost``, or a function of a (k, n) stack of parameter vectors returning (k,)
        costs. chunk_size : int, vectors per batched call (the result does not depend on it).
    progress : True, False or None (a bar when evaluations x parameters reaches
        ``checker_progress.PROGRESS_MIN_WORK``: counted work, never time).

    Returns
    -------
    GradCheckReport (module ``report``): verdict, per-block differences, worst entries by name, kinks.

    Raises
    ------
    GradCheckError naming the problem and the fix (a bad option, a cost that is not one finite number, non-finite
    parameters or gradients, a step too small for the dtype); ParameterError for gradients of other shapes.
    """
    _check_options(cost, method, mode, progress, chunk_size, batched_cost)
    # 1. flatten: the parameters and the analytic gradients as two vectors, theta (n,) and grad (n,)
    layout, dtype = layout_of(parameters), _warn_about_precision(check_dtype(parameters))
    theta, grad = flatten(parameters, gradients, layout, dtype)
    given, threshold = threshold is not None, _threshold(threshold, dtype, method)
    batched = as_batched(batched_cost, theta) if method != "complex" else None
    mode, per_block, reason = _choose_mode(mode, theta.size, batched, per_block, directions)
    generator = np.random.default_rng(rng) if mode in ("sparse", "random") else None
    engine = Engine(cost, batched, theta, layout, dtype, method, chunk_for(chunk_size, theta.size), progress)
    if mode == "random":  # evaluate, judge and report along random directions instead of entries
        report = checker_random.check_random(engine, grad, threshold, _direction_step(epsilon, theta, method, dtype),
                                             int(directions), per_block, generator, distribution)
    else:  # 2. evaluate the numeric derivative of every checked entry (indices (s,), all n in mode "full")
        indices = np.arange(theta.size) if mode == "full" else checker_random.sample_entries(layout, samples, generator)
        default = default_epsilon(theta, method, dtype)  # shape (n,)
        eps = resolve_epsilon(epsilon, default, theta, method, dtype)[indices]  # shape (s,)
        numeric, sides, J0 = entry_differences(engine, indices, eps)
        # 3. measure the cost's noise at theta, judge each entry and block against it, and 4. report
        noise = checker_noise.measure(engine, eps, indices, J0, rng)
        report = entry_report(engine, noise, indices, grad[indices], numeric, sides, J0, eps,
                              _measured_threshold(threshold, given, noise, method), mode, n_worst,
                              None if epsilon is None else float(default[indices].min()))
        if mode == "sparse":
            reason += f"; {indices.size} of {theta.size} entries sampled, up to {int(samples)} from every block"
    report.mode_reason = reason
    return report


def _check_options(cost, method, mode, progress, chunk_size, batched_cost):
    """Refuse options the check cannot use, with a message that says what is valid."""
    if method not in METHODS:
        raise GradCheckError(f"method must be one of {METHODS}, got {method!r}")
    if mode not in MODES:
        raise GradCheckError(f"mode must be one of {MODES}, got {mode!r}")
    if cost is None and batched_cost is None:
        raise GradCheckError("cost is None: pass a function of the parameters dict (or a batched_cost)")
    if cost is not None and not callable(cost):
        raise GradCheckError(f"cost must be a function of the parameters dict, got {type(cost).__name__}")
    if cost is None and method == "complex":
        raise GradCheckError("method='complex' needs a cost function that carries complex numbers; batched "
                             "costs are real")
    if progress not in (None, True, False):
        raise GradCheckError(f"progress must be True, False or None (automatic), got {progress!r}")
    if chunk_size is not None and not (isinstance(chunk_size, (int, np.integer)) and chunk_size >= 1):
        raise GradCheckError(f"chunk_size must be a positive integer, got {chunk_size!r}")


def _warn_about_precision(dtype):
    """Warn that float32 limits what a check can prove; returns dtype."""
    if dtype == np.float32:
        warnings.warn(
            "float32 parameters: finite differences in float32 cannot resolve relative differences much "
            "below 1e-4, so the check uses a 1e-3 threshold and a step near 5e-3. A pass rules out gross "
            "bugs only; cast to float64 to prove a gradient right.",
            PrecisionWarning, stacklevel=3)
    return dtype


def _threshold(threshold, dtype, method):
    threshold = DEFAULT_THRESHOLDS[(dtype, method)] if threshold is None else threshold
    if not threshold > 0:
        raise GradCheckError(f"threshold must be a positive number, got {threshold!r}")
    return float(threshold)


def _measured_threshold(threshold, given, noise, method):
    """The default threshold of the precision the cost is really computed in (measured), when the caller
    gave none: a float64 check of a cost computed in float32 or float16 gets that precision's threshold."""
    if given or noise is None or np.finfo(noise.dtype).eps <= np.finfo(np.float64).eps:
        return threshold
    return max(threshold, DEFAULT_THRESHOLDS[(noise.dtype, method)])


def _choose_mode(mode, n, batched, per_block, directions):
    """The mode to run (mode="auto" picks by size), per_block, and why (str)."""
    if mode != "auto":
        return mode, per_block, f"mode '{mode}' as asked"
    limit = AUTO_FULL_PLAIN if batched is None else AUTO_FULL_BATCHED
    if n <= limit:
        return "full", per_block, f"auto: {n} entries <= {limit}, so every entry is checked"
    return "random", True, (f"auto: {n} entries > {limit} (the limit for a full check "
                            f"{'with this batched cost' if batched is not None else 'with a plain cost'}), so "
                            f"{int(directions)} random directions per block check every entry at once")


def _direction_step(epsilon, theta, method, dtype):
    """The step along a random direction (|v| is about 1): the step rule at the largest |theta_i|."""
    if epsilon is None:
        return float(default_epsilon(np.max(np.abs(theta), keepdims=True), method, dtype)[0])
    h = float(np.asarray(epsilon).reshape(-1)[0])
    if not (np.isfinite(h) and h > 0):
        raise GradCheckError(f"epsilon must be a positive number, got {epsilon!r}")
    return h
