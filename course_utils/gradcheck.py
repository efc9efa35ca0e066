"""The gradient checker: compare analytic gradients with finite differences of the cost.

What the course teaches, in the order a check runs:

* ``default_epsilon``: the step rule, eps = u^(1/3) max(1, |theta_i|) for centered differences;
* ``numerical_gradient``: notebook 2's loop, (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps) per entry;
* ``relative_difference``: ||g - g_hat|| / (||g|| + ||g_hat||);
* ``check_gradients``: flatten the parameters and gradients, evaluate the differences, judge them and
  return a ``GradCheckReport`` (module ``report``) that names the wrong blocks and entries. It never prints.

The machinery that makes the check fast and careful lives in modules a student does not need:
``checker_options`` (the rarely needed options and their checks, default thresholds, the mode "auto" picks),
``checker_engine`` (batched and chunked evaluation, one interface for fast evaluators), ``checker_noise``
(the cost's measured noise, repeatability and precision), ``checker_judge`` (noise floors, second steps,
kinks, jumps, verdicts), ``checker_random`` (random directions, sparse samples),
``checker_progress`` (the progress bar) and ``fastcheck`` (the network's structured evaluator).

Modes: "full" (every entry, 2n + 1 evaluations); "sparse" (a random sample of entries from *every*
block); "random" (k random directions, 2k + 1 evaluations, with a stated detection guarantee);
"auto" (full for small models, random directions per block for large ones).
"""

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
from course_utils.checker_options import (  # the options, thresholds and mode choice: machinery
    AUTO_FULL_PLAIN,  # noqa: F401 (kept importable from here: callers read gradcheck.AUTO_FULL_PLAIN)
    DEFAULT_THRESHOLDS,
    METHODS,
    MODES,
    check_settings,
    choose_mode,
    measured_threshold,
    options_from,
    threshold_for,
    warn_about_precision,
)
from course_utils.parameters import dictionary_to_vector, layout_of, vector_to_dictionary
from course_utils.report import BlockResult, EntryResult, GradCheckReport

__all__ = ["BlockResult", "DEFAULT_THRESHOLDS", "EntryResult", "GradCheckError", "GradCheckReport", "METHODS",
           "MODES", "PrecisionWarning", "check_gradients", "default_epsilon", "numerical_gradient",
           "relative_difference"]

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

    Raises
    ------
    ValueError (from numpy) when the two shapes do not broadcast together.
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

def check_gradients(cost, parameters, gradients, *, epsilon=None, method="centered", threshold=None, mode="full",
                    **options):
    """Check analytic gradients against finite differences of a cost.

    Parameters
    ----------
    cost : callable ``cost(parameters) -> float``, called with fresh arrays (it cannot change yours); for
        ``method="complex"`` it must carry complex numbers through. None: use the option ``batched_cost`` alone.
    parameters : dict name -> ndarray (any shapes), never modified; integer arrays are checked as float64.
    gradients : dict ``"d" + name`` -> ndarray of the parameter's shape: the analytic gradients.
    epsilon : float or ndarray (n,), the step; default ``default_epsilon`` (from the dtype and scale).
    method : "centered" (default), "forward" or "complex".
    threshold : float, pass threshold on relative differences; default by dtype and method
        (``checker_options.DEFAULT_THRESHOLDS``: 1e-6 for centered float64, 1e-3 for float32).
    mode : "full" (every entry, 2n + 1 evaluations), "sparse" (a random sample of entries of *every* block),
        "random" (random directions, 2k + 1 evaluations) or "auto" (full for small models, random per block
        for large ones).
    **options : rarely needed, by keyword (``checker_options.CheckOptions`` lists them with their defaults):
        ``directions``, ``per_block``, ``samples``, ``distribution``, ``rng`` (the random and sparse modes),
        ``n_worst`` (worst entries listed), ``batched_cost``, ``chunk_size``, ``progress`` (speed).

    Returns
    -------
    GradCheckReport (module ``report``): verdict, per-block differences, worst entries by name, kinks.

    Raises
    ------
    GradCheckError naming the problem and the fix (a bad option, a cost that is not one finite number, non-finite
    parameters or gradients, a step too small for the dtype); ParameterError for gradients of other shapes.
    """
    options = options_from(options)
    check_settings(cost, method, mode, options)
    # 1. flatten: the parameters and the analytic gradients as two vectors, theta (n,) and grad (n,)
    layout, dtype = layout_of(parameters), warn_about_precision(check_dtype(parameters))
    theta, grad = flatten(parameters, gradients, layout, dtype)
    given, threshold = threshold is not None, threshold_for(threshold, dtype, method)
    batched = as_batched(options.batched_cost, theta) if method != "complex" else None
    mode, per_block, reason = choose_mode(mode, theta.size, batched, options)
    rng = np.random.default_rng(options.rng) if mode in ("sparse", "random") else None
    engine = Engine(cost, batched, theta, layout, dtype, method, chunk_for(options.chunk_size, theta.size),
                    options.progress)
    if mode == "random":  # evaluate, judge and report along random directions instead of entries
        step = _direction_step(epsilon, theta, method, dtype)
        report = checker_random.check_random(engine, grad, threshold, step, int(options.directions), per_block, rng,
                                             options.distribution)
    else:  # 2. evaluate the numeric derivative of every checked entry (indices (s,), all n in mode "full")
        indices = (np.arange(theta.size) if mode == "full"
                   else checker_random.sample_entries(layout, options.samples, rng))
        default = default_epsilon(theta, method, dtype)  # shape (n,)
        eps = resolve_epsilon(epsilon, default, theta, method, dtype)[indices]  # shape (s,)
        numeric, sides, J0 = entry_differences(engine, indices, eps)
        # 3. measure the cost's noise at theta, judge each entry and block against it, and 4. report
        noise = checker_noise.measure(engine, eps, indices, J0, options.rng)
        report = entry_report(engine, noise, indices, grad[indices], numeric, sides, J0, eps,
                              measured_threshold(threshold, given, noise, method), mode, options.n_worst,
                              None if epsilon is None else float(default[indices].min()))
        if mode == "sparse":
            reason += f"; {indices.size} of {theta.size} entries sampled, up to {int(options.samples)} from every block"
    report.mode_reason = reason
    return report


def _direction_step(epsilon, theta, method, dtype):
    """The step along a random direction (|v| is about 1): the step rule at the largest |theta_i|."""
    if epsilon is None:
        return float(default_epsilon(np.max(np.abs(theta), keepdims=True), method, dtype)[0])
    h = float(np.asarray(epsilon).reshape(-1)[0])
    if not (np.isfinite(h) and h > 0):
        raise GradCheckError(f"epsilon must be a positive number, got {epsilon!r}")
    return h
