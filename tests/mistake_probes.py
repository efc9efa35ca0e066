"""Independent references for the tests of the judges (course_utils/judges.py) and the mistake catalogue.

The probes that watched student code for issue 15 (recording forward passes, curved costs, negative
derivatives, several epsilons, captured stdout, unchanged-arrays checks) moved into the library's judges,
one judge per exercise. What stays here is what a test needs to check those judges *independently* of
``course_utils``: the 3-layer network written out with a stable cost (``network_cache``, ``network_cost``,
``network_gradients``), the centered-difference relative difference gradient_check_n should return
(``_centered_difference``), random networks, a ``run`` that captures stdout and exceptions, a
``replaced_globals`` for the notebook's names, and the pairs of mistakes no observation can tell apart
(``SAME_BEHAVIOUR``, which the judges name as a group, ``course_utils.judges.GROUPS``).
"""

import contextlib
import io
import math
import warnings
from dataclasses import dataclass

import numpy as np

from course_utils.judges import _names_set

__all__ = ["SAME_BEHAVIOUR", "Run", "network_cache", "network_cost", "network_gradients", "replaced_globals", "run"]

# ---------------------------------------------------------------------------------------------------
# Running student code
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What one call did: its return value, what it printed, and the exception it raised (or None)."""

    value: object
    stdout: str
    error: object


def run(function, *args, **kwargs):
    """Call ``function`` with stdout captured and numpy warnings silenced; never raises.

    Returns
    -------
    Run
    """
    buffer = io.StringIO()
    value, error = None, None
    with contextlib.redirect_stdout(buffer), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            value = function(*args, **kwargs)
        except Exception as exc:  # the student's code crashed: that is an observation too
            error = exc
    return Run(value, buffer.getvalue(), error)


#: Set names in ``function.__globals__`` (the notebook's namespace) for a while, always restored: the
#: judges' own helper (plumbing, not a reference computation, so the tests need no copy of it).
replaced_globals = _names_set


def _relative(g, g_hat):
    """The course's relative difference of two vectors (plain numpy, 0 when both are 0)."""
    g, g_hat = np.ravel(g), np.ravel(g_hat)
    denominator = math.sqrt(float(g @ g)) + math.sqrt(float(g_hat @ g_hat))
    return 0.0 if denominator == 0 else math.sqrt(float((g - g_hat) @ (g - g_hat))) / denominator


# ---------------------------------------------------------------------------------------------------
# The 3-layer network, written independently (LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID)
# ---------------------------------------------------------------------------------------------------

_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def network_cache(X, Y, parameters):
    """(cost, cache) of the 3-layer network; cache is the 12-tuple (Z1, A1, W1, b1, ..., Z3, A3, W3, b3)."""
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    W1, b1, W2, b2, W3, b3 = (np.asarray(parameters[k], dtype=float) for k in _NAMES)
    Z1 = W1 @ X + b1
    A1 = np.maximum(Z1, 0)
    Z2 = W2 @ A1 + b2
    A2 = np.maximum(Z2, 0)
    Z3 = W3 @ A2 + b3
    A3 = 1 / (1 + np.exp(-Z3))
    # cross-entropy from the logits: log(1 + e^z) - y z, the same numbers, no log(0)
    cost = float(np.mean(np.logaddexp(0, Z3) - Y * Z3))
    return cost, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def network_cost(X, Y, parameters):
    """The network's mean cross-entropy, a float."""
    return network_cache(X, Y, parameters)[0]


def network_gradients(X, Y, parameters):
    """Right gradients {dW1: (n1, n0), db1: (n1, 1), ..., db3: (1, 1)} of ``network_cost``."""
    _, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = network_cache(X, Y, parameters)
    m = X.shape[1]
    delta3 = A3 - Y
    delta2 = (W3.T @ delta3) * (Z2 > 0)
    delta1 = (W2.T @ delta2) * (Z1 > 0)
    grads = {}
    for l, (delta, below) in zip((1, 2, 3), ((delta1, X), (delta2, A1), (delta3, A2))):
        grads[f"dW{l}"] = delta @ np.asarray(below, dtype=float).T / m
        grads[f"db{l}"] = delta.sum(axis=1, keepdims=True) / m
    return grads


def _flat(parameters):
    return np.concatenate([np.asarray(parameters[k], dtype=float).ravel() for k in _NAMES])


def _centered_difference(X, Y, parameters, gradients, epsilon):
    """The relative difference gradient_check_n should return, by a plain per-entry loop."""
    theta = _flat(parameters)
    shapes = [np.shape(parameters[k]) for k in _NAMES]
    bounds = np.cumsum([0] + [int(np.prod(s)) for s in shapes])

    def cost(t):
        return network_cost(X, Y, {k: t[a:b].reshape(s) for k, a, b, s in zip(_NAMES, bounds, bounds[1:], shapes)})
    approx = np.empty_like(theta)
    for i in range(theta.size):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += epsilon
        minus[i] -= epsilon
        approx[i] = (cost(plus) - cost(minus)) / (2 * epsilon)
    return _relative(np.concatenate([np.ravel(gradients["d" + k]) for k in _NAMES]), approx)


def _random_network(seed, sizes, m):
    rng = np.random.default_rng(seed)
    parameters = {}
    for l in (1, 2, 3):
        parameters[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l - 1])) * np.sqrt(2 / sizes[l - 1])
        parameters[f"b{l}"] = rng.standard_normal((sizes[l], 1)) * 0.1
    X = rng.standard_normal((sizes[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(float)
    return X, Y, parameters


def _course_case():
    from course_utils.testcases import gradient_check_n_test_case  # what notebook 2 gives the student
    return gradient_check_n_test_case()


def _ids(exercise, *whats):
    return tuple(sorted(f"{exercise}.{w}" for w in whats))


#: Mistakes alike under *every* observation a judge makes: different code, the same numbers. A hint for
#: one of them must be the hint for all of them (say what was seen, and the fix that fits both).
SAME_BEHAVIOUR = (
    _ids("backward_propagation_fixed", "relu_mask_dropped", "relu_mask_from_activation"),
    _ids("k_from_report", "cases_swapped", "norm_ratio_inverted"),
)
