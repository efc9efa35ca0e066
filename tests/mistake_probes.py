"""Probes that watch what a student's exercise function does, for the judges of issue 15.

A probe takes the student's function (defined in a notebook-like namespace: probes replace the names it
looks up, such as ``forward_propagation``, in ``function.__globals__`` for the duration of a call, and
always restore them) and returns ``None`` when it saw nothing wrong, else a short "what was seen"
string in plain words, with the inputs and numbers that show it. Probes hand the function instrumented
pieces: a linear and a curved cost, right derivatives and wrong ones (negative, zero), several values
of ``epsilon``, a forward pass that records where it was evaluated, a captured stdout, and copies of
the caller's arrays to see whether they were changed.

``PROBES`` lists the probes of each exercise; ``observe`` runs them all. ``CONFUSIONS`` lists the
catalogued mistakes that one probe alone cannot tell apart (observations equal to one significant
digit), ``UNSEEN`` those a return-value probe does not see at all, and ``SAME_BEHAVIOUR`` those no
probe tells apart (two pairs: different code, the same numbers): a hint given on such evidence must name the observation, not one of
the mistakes.

Every reference value here is computed independently of ``course_utils``: the 3-layer network, its
gradients and the centered differences are written out below. The library supplies only what a
notebook supplies (its vector helpers, its test case, and for notebook 3 the checker's reports).
"""

import contextlib
import io
import math
import numbers
import re
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["CONFUSIONS", "PROBES", "SAME_BEHAVIOUR", "UNSEEN", "Run", "Spy", "confusions", "findings",
           "network_cache", "network_cost", "network_gradients", "observe", "replaced_globals", "run", "unseen"]

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


@contextlib.contextmanager
def replaced_globals(function, **names):
    """Set names in ``function.__globals__`` (the notebook's namespace) for a while; always restored."""
    namespace = function.__globals__
    missing = object()
    saved = {name: namespace.get(name, missing) for name in names}
    namespace.update(names)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


class Spy:
    """A callable that records the arguments of every call (``calls``) and delegates to ``function``."""

    def __init__(self, function, record=lambda *args: args):
        self.function, self.record, self.calls = function, record, []

    def __call__(self, *args, **kwargs):
        self.calls.append(self.record(*args, **kwargs))
        return self.function(*args, **kwargs)


def _fmt(value):
    return f"{value:.4g}"


def _outcome(result, call, what="a number"):
    """(float, None) when the call returned a real number, else (None, what was seen instead)."""
    if result.error is not None:
        message = str(result.error).splitlines()[0][:90] if str(result.error) else ""
        return None, f"{call} raised {type(result.error).__name__}: {message}"
    value = result.value
    if isinstance(value, (bool, np.bool_)):
        return None, f"{call} returned the boolean {value}, not {what}"
    if isinstance(value, (numbers.Real, np.integer, np.floating)):
        return float(value), None
    if value is None:
        printed = f" and printed {result.stdout.strip()[:40]!r}" if result.stdout.strip() else ""
        return None, f"{call} returned None{printed}"
    if isinstance(value, np.ndarray):
        return None, f"{call} returned a numpy array of shape {value.shape}, not {what}"
    size = f" of length {len(value)}" if isinstance(value, (tuple, list, dict)) else ""
    return None, f"{call} returned a {type(value).__name__}{size}, not {what}"


def _relative(g, g_hat):
    """The course's relative difference of two vectors (plain numpy, 0 when both are 0)."""
    g, g_hat = np.ravel(g), np.ravel(g_hat)
    denominator = math.sqrt(float(g @ g)) + math.sqrt(float(g_hat @ g_hat))
    return 0.0 if denominator == 0 else math.sqrt(float((g - g_hat) @ (g - g_hat))) / denominator


def _agrees(got, expected, rtol, atol=0.0):
    return math.isfinite(got) and abs(got - expected) <= rtol * abs(expected) + atol


def _joined(seen):
    return "; ".join(seen) if seen else None


# ---------------------------------------------------------------------------------------------------
# Notebook 01: forward_propagation, backward_propagation
# ---------------------------------------------------------------------------------------------------

#: (x, theta) pairs: signs mixed, theta = 0 once, never x = 0 (the derivative would be 0).
CASES_1D = ((2.0, 4.0), (-1.5, 2.0), (0.25, -7.0), (3.0, 0.0), (-4.0, -0.5))


def _probe_1d(function, name, reference):
    seen = []
    for x, theta in CASES_1D:
        call = f"{name}(x={x:g}, theta={theta:g})"
        got, problem = _outcome(run(function, x, theta), call)
        if problem:
            seen.append(problem)
        elif not _agrees(got, reference(x, theta), 1e-9, 1e-12):
            seen.append(f"{call} returned {_fmt(got)}, expected {_fmt(reference(x, theta))}")
    return _joined(seen)


def probe_forward_values(function):
    """forward_propagation on CASES_1D against theta * x (wrong values, crashes, None, tuples)."""
    return _probe_1d(function, "forward_propagation", lambda x, theta: theta * x)


def probe_backward_values(function):
    """backward_propagation on CASES_1D (theta = 0 included) against dJ/dtheta = x."""
    return _probe_1d(function, "backward_propagation", lambda x, theta: x)


# ---------------------------------------------------------------------------------------------------
# Notebook 01: gradient_check
# ---------------------------------------------------------------------------------------------------

def _linear(x, theta):
    return theta * x


def _offsets(points, origin, epsilon, label):
    """'theta+1eps, theta-1eps' for evaluation points, in units of epsilon from the origin."""
    parts = []
    for p in points:
        o = (p - origin) / epsilon
        parts.append(label if abs(o) < 1e-9 else f"{label}{o:+.4g}eps")
    return ", ".join(parts)


def probe_gradient_check_values(function):
    """Linear cost J = theta * x with derivatives k * x for k = 1, 3, -1, 0, 0.5 (default epsilon).

    A right derivative must give a difference below 1e-7; a wrong one |k - 1| / (|k| + 1). The negative
    and zero derivatives separate the sign error from theta + epsilon twice, and expose a difference of
    norms or a norm of the sum in the formula. The relative difference is the same for gradapprox = c g
    and g / c, so derivatives of several sizes are needed to say whether gradapprox is too large or too
    small; one case with a large step (epsilon = 0.25) makes a misplaced parenthesis depend on epsilon.
    """
    seen = []
    for x, theta, k, epsilon in ((3.0, 4.0, 1.0, None), (-1.5, 2.0, 3.0, None), (2.0, -0.5, -1.0, None),
                                 (1.0, 0.0, -1.0, None), (0.5, 1.5, 0.0, None), (-2.5, 3.0, 0.5, None),
                                 (1.0, 2.0, -1.0, 0.25)):
        def derivative(xx, tt, k=k):
            return k * xx
        with replaced_globals(function, forward_propagation=_linear, backward_propagation=derivative):
            result = run(function, x, theta) if epsilon is None else run(function, x, theta, epsilon)
        step = "" if epsilon is None else f", epsilon={epsilon:g}"
        call = f"with dJ/dtheta = {k:g}*x at x={x:g}, theta={theta:g}{step}: gradient_check"
        got, problem = _outcome(result, call, "the relative difference")
        if problem:
            seen.append(problem)
            continue
        if k == 1.0:
            if not got < 1e-7:
                seen.append(f"{call} returned {_fmt(got)} for a right derivative")
        elif not _agrees(got, abs(k - 1) / (abs(k) + 1), 1e-4):
            seen.append(f"{call} returned {_fmt(got)}, expected {_fmt(abs(k - 1) / (abs(k) + 1))}")
    return _joined(seen)


def probe_gradient_check_points(function):
    """A forward pass that records where it was evaluated (x = 3, theta = 2, epsilon = 1e-3).

    It must see theta + epsilon and theta - epsilon with x unchanged; it names what it saw instead
    (theta + epsilon twice, theta itself, x moved, a step that is not the epsilon passed).
    """
    x, theta, epsilon = 3.0, 2.0, 1e-3
    spy = Spy(_linear)
    with replaced_globals(function, forward_propagation=spy, backward_propagation=lambda xx, tt: xx):
        result = run(function, x, theta, epsilon, False)
    if result.error is not None and not spy.calls:
        return f"gradient_check raised {type(result.error).__name__} before evaluating the cost"
    if not spy.calls:
        return "forward_propagation was never called"
    xs = [float(c[0]) for c in spy.calls]
    thetas = [float(c[1]) for c in spy.calls]
    if any(abs(xx - x) > 1e-9 for xx in xs):
        return (f"forward_propagation was evaluated with x moved: at {_offsets(xs, x, epsilon, 'x')} "
                f"(epsilon={epsilon:g}), theta at {_offsets(thetas, theta, epsilon, 'theta')}")
    offsets = [(t - theta) / epsilon for t in thetas]
    if not (any(abs(o - 1) < 1e-6 for o in offsets) and any(abs(o + 1) < 1e-6 for o in offsets)):
        return (f"forward_propagation was evaluated at {_offsets(thetas, theta, epsilon, 'theta')} "
                f"(epsilon={epsilon:g}), not at both theta+1eps and theta-1eps")
    return None


def probe_gradient_check_curved(function):
    """Curved cost J = x * theta**3 with its right derivative, epsilon = 1e-2 and 1e-3.

    The centered difference is then off by about epsilon**2, a one-sided one by about epsilon, and a
    hard-coded step gives the same value for both epsilons: each is seen in the returned number.
    """
    seen = []
    for x, theta, epsilon in ((1.5, 2.0, 1e-2), (1.5, 2.0, 1e-3), (-0.5, 1.2, 1e-2)):
        def cube(xx, tt):
            return xx * tt ** 3

        def derivative(xx, tt):
            return 3 * xx * tt ** 2
        with replaced_globals(function, forward_propagation=cube, backward_propagation=derivative):
            result = run(function, x, theta, epsilon, False)
        call = (f"on J = x*theta**3 at x={x:g}, theta={theta:g}, epsilon={epsilon:g} with the right derivative: "
                f"gradient_check")
        got, problem = _outcome(result, call, "the relative difference")
        if problem:
            seen.append(problem)
            continue
        approx = (cube(x, theta + epsilon) - cube(x, theta - epsilon)) / (2 * epsilon)
        expected = _relative(derivative(x, theta), approx)
        if not _agrees(got, expected, 1e-3, 1e-12):
            seen.append(f"{call} returned {_fmt(got)}, the centered difference gives {_fmt(expected)}")
    return _joined(seen)


def probe_gradient_check_backward_call(function):
    """A backward pass that records its arguments: it must be called, at the x and theta given."""
    x, theta, epsilon = 3.0, 2.0, 1e-3
    spy = Spy(lambda xx, tt: xx)
    with replaced_globals(function, forward_propagation=_linear, backward_propagation=spy):
        result = run(function, x, theta, epsilon, False)
    if not spy.calls:
        if result.error is not None:
            return f"gradient_check raised {type(result.error).__name__} before calling backward_propagation"
        return "backward_propagation was never called"
    moved = [(float(c[0]), float(c[1])) for c in spy.calls if (float(c[0]), float(c[1])) != (x, theta)]
    if moved:
        return (f"backward_propagation was called at x {_offsets([m[0] for m in moved], x, epsilon, 'x')}, "
                f"theta {_offsets([m[1] for m in moved], theta, epsilon, 'theta')} (epsilon={epsilon:g})")
    return None


def probe_gradient_check_quiet(function):
    """With print_msg=False nothing may be printed (right and wrong derivatives)."""
    for k in (1.0, 2.0):
        with replaced_globals(function, forward_propagation=_linear,
                              backward_propagation=lambda xx, tt, k=k: k * xx):
            result = run(function, 3.0, 4.0, 1e-7, False)
        if result.error is not None:
            return f"gradient_check(3.0, 4.0, 1e-07, False) raised {type(result.error).__name__}: {result.error}"
        if result.stdout.strip():
            return f"gradient_check printed {result.stdout.strip()[:60]!r} with print_msg=False"
    return None


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


def _nd_forward(X_, Y_, parameters):
    return network_cache(X_, Y_, parameters)


# ---------------------------------------------------------------------------------------------------
# Notebook 02: gradient_check_n
# ---------------------------------------------------------------------------------------------------

def _call_nd(function, parameters, gradients, X, Y, *rest, forward=_nd_forward):
    with replaced_globals(function, forward_propagation_n=forward):
        return run(function, parameters, gradients, X, Y, *rest)


def probe_gradient_check_n_values(function):
    """Right and wrong gradients on the course's test case and a random network.

    Wrong: dW2 * 2 with db1 * 4, dW1 negated with db3 + 0.5, every dW * 1.5; the random network's
    right gradients come in a dict ordered unlike the parameters (b3 first).
    """
    X, Y, parameters = _course_case()
    right = network_gradients(X, Y, parameters)
    X2, Y2, parameters2 = _random_network(11, (3, 4, 2, 1), 5)
    right2 = network_gradients(X2, Y2, parameters2)
    cases = [
        ("the test case, right gradients", X, Y, parameters, right, ()),
        ("the test case, dW2*2 and db1*4", X, Y, parameters,
         dict(right, dW2=2 * right["dW2"], db1=4 * right["db1"]), ()),
        ("the test case, dW1 negated and db3+0.5, epsilon=1e-6", X, Y, parameters,
         dict(right, dW1=-right["dW1"], db3=right["db3"] + 0.5), (1e-6,)),
        ("a 3-4-2-1 network, right gradients listed b3 first, epsilon=1e-6", X2, Y2, parameters2,
         dict(reversed(list(right2.items()))), (1e-6,)),
        ("a 3-4-2-1 network, dW*1.5, epsilon=1e-6", X2, Y2, parameters2,
         {k: v * (1.5 if k.startswith("dW") else 1.0) for k, v in right2.items()}, (1e-6,)),
    ]
    seen = []
    for description, X_, Y_, params, grads, rest in cases:
        got, problem = _outcome(_call_nd(function, params, grads, X_, Y_, *rest), f"on {description} gradient_check_n",
                                "the relative difference")
        if problem:
            seen.append(problem)
            continue
        if "right gradients" in description:
            if not got < 1e-6:
                seen.append(f"on {description} returned {_fmt(got)}, expected below 1e-06")
            continue
        expected = _centered_difference(X_, Y_, params, grads, rest[0] if rest else 1e-7)
        if not _agrees(got, expected, 1e-4):
            seen.append(f"on {description} returned {_fmt(got)}, expected {_fmt(expected)}")
    return _joined(seen)


def probe_gradient_check_n_epsilon(function):
    """Right gradients on the test case at epsilon = 1e-4 and 1e-3 (about 2e-10 and 2e-8 when right).

    A hard-coded step, a perturbation left in place, a copy made once or a one-sided difference gives
    far more than the centered differences at these steps.
    """
    X, Y, parameters = _course_case()
    right = network_gradients(X, Y, parameters)
    seen = []
    for epsilon in (1e-4, 1e-3):
        call = f"with right gradients and epsilon={epsilon:g} gradient_check_n"
        got, problem = _outcome(_call_nd(function, parameters, right, X, Y, epsilon), call, "the relative difference")
        if problem:
            seen.append(problem)
            continue
        expected = _centered_difference(X, Y, parameters, right, epsilon)
        if not _agrees(got, expected, 5e-2, 1e-12):
            seen.append(f"{call} returned {_fmt(got)}, the centered differences give {_fmt(expected)}")
    return _joined(seen)


def _point_summary(deltas, n):
    """What the recorded evaluation points show; deltas: (calls, n) offsets in units of epsilon."""
    moved = np.abs(deltas) > 1e-6
    seen = []
    several = np.flatnonzero(moved.sum(axis=1) > 1)
    if several.size:
        first = deltas[several[0]][moved[several[0]]]
        counts = ", ".join(f"{c} at {o:+.4g}eps" for o, c in zip(*np.unique(np.round(first, 4), return_counts=True)))
        seen.append(f"{several.size} of {len(deltas)} evaluations moved several entries at once "
                    f"(the first one: {counts})")
    alone = [(int(np.flatnonzero(row)[0]), float(d[row][0])) for d, row in zip(deltas, moved) if row.sum() == 1]
    at_origin = int(np.sum(moved.sum(axis=1) == 0))
    for sign, word in ((1, "+"), (-1, "-")):
        missing = sorted(set(range(n)) - {j for j, o in alone if abs(o - sign) < 1e-6})
        if missing:
            listed = ", ".join(map(str, missing[:4])) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
            origin = f"; {at_origin} evaluations were at theta itself" if at_origin else ""
            seen.append(f"{len(missing)} of {n} entries never moved alone by {word}epsilon (entries {listed}){origin}")
    odd = sorted({round(o, 4) for _, o in alone if min(abs(o - 1), abs(o + 1)) > 1e-6})
    if odd:
        seen.append("entries moved by " + ", ".join(f"{o:+.4g}eps" for o in odd))
    return seen


def probe_gradient_check_n_points(function):
    """A forward_propagation_n that records the point of every evaluation (test case, epsilon = 1e-4).

    Each entry i must be evaluated once moved by +epsilon alone and once by -epsilon alone; several
    entries moved at once (no copy, copies made once, every entry nudged), entries never moved (the
    last one skipped), and steps that are not epsilon are named.
    """
    X, Y, parameters = _course_case()
    epsilon = 1e-4
    origin = _flat(parameters)
    spy = Spy(_nd_forward, record=lambda X_, Y_, params: _flat(params))
    result = _call_nd(function, parameters, network_gradients(X, Y, parameters), X, Y, epsilon, forward=spy)
    if not spy.calls:
        if result.error is not None:
            return f"gradient_check_n raised {type(result.error).__name__} before evaluating the cost"
        return "forward_propagation_n was never called"
    deltas = (np.array(spy.calls) - origin) / epsilon
    return _joined(_point_summary(deltas, origin.size))


def probe_gradient_check_n_restored(function):
    """The caller's parameters, gradients, X and Y must hold the same numbers after the call."""
    X, Y, parameters = _course_case()
    gradients = network_gradients(X, Y, parameters)
    before = {"parameters": {k: v.copy() for k, v in parameters.items()},
              "gradients": {k: v.copy() for k, v in gradients.items()}}
    X0, Y0 = X.copy(), Y.copy()
    _call_nd(function, parameters, gradients, X, Y, 1e-4)
    seen = []
    for label, now in (("parameters", parameters), ("gradients", gradients)):
        for key, old in before[label].items():
            new = now.get(key)
            if not isinstance(new, np.ndarray) or new.shape != old.shape:
                seen.append(f"the caller's {label}['{key}'] was replaced")
            elif not np.array_equal(new, old):
                seen.append(f"the caller's {label}['{key}'] changed (largest change {_fmt(np.max(np.abs(new - old)))})")
    if not (np.array_equal(X, X0) and np.array_equal(Y, Y0)):
        seen.append("the caller's X or Y changed")
    return _joined(seen[:2] + ([f"and {len(seen) - 2} more arrays"] if len(seen) > 2 else []))


def probe_gradient_check_n_quiet(function):
    """With print_msg=False nothing may be printed (right and doubled gradients)."""
    X, Y, parameters = _course_case()
    right = network_gradients(X, Y, parameters)
    for grads in (right, {k: 2 * v for k, v in right.items()}):
        result = _call_nd(function, parameters, grads, X, Y, 1e-7, False)
        if result.error is not None:
            return (f"gradient_check_n(parameters, gradients, X, Y, 1e-07, False) raised "
                    f"{type(result.error).__name__}: {str(result.error)[:90]}")
        if result.stdout.strip():
            return f"gradient_check_n printed {result.stdout.strip()[:60]!r} with print_msg=False"
    return None


# ---------------------------------------------------------------------------------------------------
# Notebook 03: k_from_report, backward_propagation_fixed
# ---------------------------------------------------------------------------------------------------

def _scale_report(scales):
    """The checker's report on the test case with blocks scaled, e.g. {"b2": 3.0} (what notebook 3 shows)."""
    from course_utils.bugs import check_backward, inject, scale_bug
    return check_backward(inject([scale_bug(block, k) for block, k in scales.items()]))


def probe_k_from_report(function):
    """Reports with one block scaled by k = 3, 0.25, 7, 0.6, and one with b2 * 3 and W1 * 0.5 (asks W1).

    The answer must be k within 1e-5 relative. The two-block report has W1 not the worst block, so it
    separates "the named block" from "the worst block"; every report's global relative difference
    differs from the block's.
    """
    seen = []
    for scales, name in (({"b2": 3.0}, "b2"), ({"W1": 0.25}, "W1"), ({"b3": 7.0}, "b3"), ({"W3": 0.6}, "W3"),
                         ({"b2": 3.0, "W1": 0.5}, "W1")):
        k = scales[name]
        what = " and ".join(f"{b}*{v:g}" for b, v in scales.items())
        call = f"on a report with {what}, k_from_report(report, {name!r})"
        got, problem = _outcome(run(function, _scale_report(scales), name), call, "the factor k")
        if problem:
            seen.append(problem)
        elif not _agrees(got, k, 1e-5):
            seen.append(f"{call} returned {_fmt(got)}, expected {k:g}")
    return _joined(seen)


def _networks_3():
    """(description, X, Y, parameters): the test case (m = 3) and two random 3-layer networks."""
    X, Y, parameters = _course_case()
    cases = [("the test case (m=3)", X, Y, parameters)]
    for seed, sizes, m in ((33, (3, 6, 4, 1), 7), (34, (5, 4, 6, 1), 9)):
        cases.append((f"a {'-'.join(map(str, sizes))} network (m={m})",) + _random_network(seed, sizes, m))
    return cases


def _block_finding(key, got, right, m):
    """What is wrong with one returned block, compared with the right one (None when it agrees)."""
    got = np.asarray(got, dtype=float)
    if got.shape != right.shape:
        return f"{key} has shape {got.shape}, expected {right.shape}"
    if np.allclose(got, right, rtol=1e-7, atol=1e-10):
        return None
    nonzero = np.abs(right) > 1e-12
    ratios = got[nonzero] / right[nonzero]
    if ratios.size and np.allclose(ratios, ratios[0], rtol=1e-6) and np.allclose(got[~nonzero], 0, atol=1e-12):
        factor = float(ratios[0])
        return f"{key} x{_fmt(factor)}" + (" (= m)" if abs(factor - m) < 1e-6 else "")
    if np.isclose(np.linalg.norm(got), np.linalg.norm(right), rtol=1e-7):
        return f"{key} has the right norm but entries in the wrong places"
    return f"{key} wrong (relative difference {_fmt(_relative(right, got))})"


def probe_fixed_values(function):
    """The returned gradients on three networks against an independent backward pass, block by block.

    Scale factors are named (``db3 x3 (= m)``), as are blocks with the right norm in the wrong places.
    """
    seen = []
    for description, X, Y, parameters in _networks_3():
        _, cache = network_cache(X, Y, parameters)
        result = run(function, X, Y, cache)
        right = network_gradients(X, Y, parameters)
        if result.error is not None or not isinstance(result.value, dict):
            _, problem = _outcome(result, f"on {description} backward_propagation_fixed", "a dict of gradients")
            seen.append(problem or f"on {description} returned a number, not a dict of gradients")
            continue
        keys = set(result.value)
        if keys != set(right):
            seen.append(f"on {description} the keys are {sorted(keys)}, expected {sorted(right)}")
            continue
        wrong = [f for f in (_block_finding(k, result.value[k], right[k], X.shape[1]) for k in right) if f]
        if wrong:
            seen.append(f"on {description}: " + ", ".join(wrong))
    return _joined(seen)


#: Library functions that compute a 3-layer backward pass (or build one); the fixed exercise may call none.
_LIBRARY_BACKWARDS = (("course_utils.bugs", "correct"), ("course_utils.bugs", "backward_from_pieces"),
                      ("course_utils.bugs", "inject"), ("course_utils.models", "backward_propagation_n"),
                      ("course_utils.models", "mlp_backward"))


def probe_fixed_library(function):
    """Runs the function with the library's backward passes replaced by recorders (module attributes
    and notebook names alike): a call of any of them is named."""
    import importlib

    called = []
    originals = []
    for module_name, attr in _LIBRARY_BACKWARDS:
        module = importlib.import_module(module_name)
        if hasattr(module, attr):
            original = getattr(module, attr)
            originals.append((module, attr, original))

    def recorder(name, original):
        def spy(*args, **kwargs):
            called.append(name)
            return original(*args, **kwargs)
        return spy
    X, Y, parameters = _course_case()
    _, cache = network_cache(X, Y, parameters)
    spies = {attr: recorder(attr, original) for _, attr, original in originals}
    try:
        for module, attr, _ in originals:
            setattr(module, attr, spies[attr])
        with replaced_globals(function, **{a: s for a, s in spies.items() if a in function.__globals__}):
            run(function, X, Y, cache)
    finally:
        for module, attr, original in originals:
            setattr(module, attr, original)
    if called:
        return f"backward_propagation_fixed called the library's {', '.join(sorted(set(called)))}"
    return None


# ---------------------------------------------------------------------------------------------------
# Notebook 04: optimal_epsilon
# ---------------------------------------------------------------------------------------------------

#: Unit round-off as powers of two (52 and 23 fraction bits), independent of np.finfo.
_U = {"float64": 2.0 ** -52, "float32": 2.0 ** -23}


def probe_optimal_epsilon(function):
    """optimal_epsilon for both precisions (as types and as names), both methods, scales 0.5 to 8.

    Expected u**(1/3) * scale (centered) or u**(1/2) * scale (forward), u = 2**-52 or 2**-23.
    """
    cases = ((np.float64,), ("float32",), (np.float64, "forward"), ("float32", "forward", 4.0),
             (np.float32, "centered", 0.5), (np.float64, "centered", 8.0), ("float64", "forward", 1e-3))
    seen = []
    for args in cases:
        dtype, method, scale = (tuple(args) + ("centered", 1.0)[len(args) - 1:])[:3]
        name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
        expected = _U[name] ** (1 / 3 if method == "centered" else 1 / 2) * scale
        shown = ", ".join([repr(dtype) if isinstance(dtype, str) else f"np.{name}"] + [repr(a) for a in args[1:]])
        call = f"optimal_epsilon({shown})"
        got, problem = _outcome(run(function, *args), call, "the step")
        if problem:
            seen.append(problem)
        elif not _agrees(got, expected, 1e-6):
            seen.append(f"{call} returned {_fmt(got)}, expected {_fmt(expected)}")
    return _joined(seen)


# ---------------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------------

#: exercise -> its probes, each (function) -> None or "what was seen".
PROBES = {
    "forward_propagation": (probe_forward_values,),
    "backward_propagation": (probe_backward_values,),
    "gradient_check": (probe_gradient_check_values, probe_gradient_check_points, probe_gradient_check_curved,
                       probe_gradient_check_backward_call, probe_gradient_check_quiet),
    "gradient_check_n": (probe_gradient_check_n_values, probe_gradient_check_n_epsilon,
                         probe_gradient_check_n_points, probe_gradient_check_n_restored,
                         probe_gradient_check_n_quiet),
    "k_from_report": (probe_k_from_report,),
    "backward_propagation_fixed": (probe_fixed_values, probe_fixed_library),
    "optimal_epsilon": (probe_optimal_epsilon,),
}


def observe(exercise, function):
    """Run every probe of ``exercise`` on ``function``: dict probe name -> None or what was seen.

    Raises
    ------
    KeyError if ``exercise`` has no probes.
    """
    return {probe.__name__: probe(function) for probe in PROBES[exercise]}


def findings(exercise, function):
    """The non-empty observations of ``observe``, as a list of str (empty: nothing wrong seen)."""
    return [seen for seen in observe(exercise, function).values() if seen]


def _coarse(seen):
    """An observation with every number rounded to one significant digit (None stays None)."""
    if seen is None:
        return None
    return re.sub(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?", lambda m: f"{float(m.group()):.1g}", seen)


def confusions(observed):
    """Which mistakes look alike: the groups of ids whose observations agree to one significant digit.

    Parameters
    ----------
    observed : dict mistake id -> ``observe(...)`` dict of one of its implementations

    Returns
    -------
    dict: ``"all probes"`` -> sorted tuple of groups (sorted tuples of ids) alike under every probe of
    their exercise; and each probe name -> the groups that probe *sees* (non-None) identically.
    """
    groups = {}
    for key, observations in observed.items():
        whole = (key.split(".", 1)[0],) + tuple((p, _coarse(v)) for p, v in sorted(observations.items()))
        groups.setdefault(("all probes", whole), []).append(key)
        for probe, seen in observations.items():
            if seen is not None:
                groups.setdefault((probe, _coarse(seen)), []).append(key)
    result = {}
    for (label, _), keys in groups.items():
        if len(keys) > 1:
            result.setdefault(label, []).append(tuple(sorted(keys)))
    return {label: tuple(sorted(found)) for label, found in result.items()}


def unseen(observed, probe):
    """The ids (sorted tuple) on which ``probe`` saw nothing, among those it ran on."""
    return tuple(sorted(key for key, observations in observed.items() if probe in observations
                        and observations[probe] is None))


def _ids(exercise, *whats):
    return tuple(sorted(f"{exercise}.{w}" for w in whats))


#: Mistakes alike under *every* probe of their exercise: different code, the same numbers. A hint for
#: one of them must be the hint for all of them (say what was seen, and the fix that fits both).
SAME_BEHAVIOUR = (
    _ids("backward_propagation_fixed", "relu_mask_dropped", "relu_mask_from_activation"),
    _ids("k_from_report", "cases_swapped", "norm_ratio_inverted"),
)

#: What ``confusions`` finds, probe by probe, on the first implementation of every catalogued mistake
#: (a test keeps it true): a judge that runs only that probe must not name one mistake of a group, but
#: what it saw.
CONFUSIONS = {
    "probe_fixed_values": (SAME_BEHAVIOUR[0],),
    "probe_k_from_report": (SAME_BEHAVIOUR[1],),
    "probe_gradient_check_values": (
        _ids("gradient_check", "minus_twice", "plus_twice"),
        _ids("gradient_check", "one_sided_half", "theta_passed_unperturbed")),
    "probe_gradient_check_points": (
        _ids("gradient_check", "backward_difference", "theta_passed_unperturbed"),
        _ids("gradient_check", "forward_difference", "one_sided_half")),
    "probe_gradient_check_curved": (
        _ids("gradient_check", "divided_by_epsilon", "one_sided_half", "theta_passed_unperturbed"),
        _ids("gradient_check", "divided_then_multiplied", "minus_twice", "missing_parentheses", "plus_twice",
             "sign_error")),
    "probe_gradient_check_n_epsilon": (
        _ids("gradient_check_n", "all_entries_perturbed", "copied_once"),
        _ids("gradient_check_n", "divided_by_epsilon", "forgot_copy"),
        _ids("gradient_check_n", "gradapprox_overwritten", "plus_twice", "sign_error")),
    "probe_gradient_check_n_points": (_ids("gradient_check_n", "parameters_left_changed", "unrestored_perturbation"),),
}

#: The mistakes each return-value probe does not see at all (only the other probes do).
UNSEEN = {
    "probe_gradient_check_values": _ids("gradient_check", "backward_difference", "forward_difference",
                                        "grad_at_perturbed_theta", "ignored_epsilon", "old_signature",
                                        "prints_when_quiet"),
    "probe_gradient_check_n_values": _ids("gradient_check_n", "forward_difference", "ignored_epsilon",
                                          "old_signature", "parameters_left_changed", "prints_when_quiet",
                                          "unrestored_perturbation"),
}
