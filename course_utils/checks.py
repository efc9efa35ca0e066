"""Student-facing checks for the notebook exercises.

Each ``*_test(target)`` runs the student's function on several cases, compares with an independent
reference, and either prints one success line or raises ``ExerciseFailure`` whose message says what is
wrong in a student's words, with a hint for the usual mistakes. The reference implementations here are
written independently of the notebooks' solutions.

Mistakes are recognised by *prediction*: for every usual mistake (dividing by epsilon instead of
2 * epsilon, forgetting to copy theta, perturbing in the same direction twice, a wrong norm formula) the
check computes what that mistake would return on the same inputs, and names the one that matches.
"""

import contextlib
import numbers

import numpy as np

from course_utils.bugs import CATALOGUE as BUG_CATALOGUE
from course_utils.bugs import inject as inject_bug
from course_utils.gradcheck import check_gradients, numerical_gradient
from course_utils.models import backward_propagation as ref_backward
from course_utils.models import forward_propagation as ref_forward
from course_utils.models import backward_propagation_n as ref_backward_n
from course_utils.models import forward_propagation_n as ref_forward_n
from course_utils.models import initialize_mlp
from course_utils.parameters import ParameterError, dictionary_to_vector, gradients_to_vector, vector_to_dictionary
from course_utils.testcases import gradient_check_n_test_case
from course_utils.stepsize import measured_best as _measured_best
from course_utils.stepsize import sweep as _sweep

__all__ = ["ExerciseFailure", "backward_propagation_test", "bug_hunt_test", "forward_propagation_test",
           "gradient_check_n_test", "gradient_check_test", "judge_1d", "optimal_epsilon_test"]


class ExerciseFailure(AssertionError):
    """A public test failed. Shown in Jupyter as its message alone, without a library traceback."""

    def _render_traceback_(self):  # IPython hook: what the notebook shows instead of a traceback
        return ["\x1b[31mExerciseFailure:\x1b[0m " + line if i == 0 else line
                for i, line in enumerate(str(self).splitlines())]


def _fail(name, message):
    raise ExerciseFailure(f"{name}: {message}")


def _call(name, target, *args, **kwargs):
    """Call the student's function, turning a stub or a crash into a clear failure."""
    if not callable(target):
        _fail(name, f"expected a function, got {type(target).__name__}; pass the function itself, e.g. "
                    f"{name}_test({name})")
    try:
        return target(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseFailure(
            f"{name} is not implemented yet: replace `raise NotImplementedError()` in its cell with your "
            f"code, run that cell, then run this test again.") from None
    except ExerciseFailure:
        raise
    except Exception as exc:  # the student's code crashed: say where, briefly
        raise ExerciseFailure(f"{name}{args_repr(args)} raised {type(exc).__name__}: {exc}") from None


def args_repr(args):
    """Short description of call arguments for messages (arrays by shape)."""
    parts = []
    for a in args:
        if isinstance(a, np.ndarray):
            parts.append(f"array{a.shape}")
        elif isinstance(a, dict):
            parts.append("{" + ", ".join(f"{k}: {np.shape(v)}" for k, v in a.items()) + "}")
        else:
            parts.append(repr(a))
    return "(" + ", ".join(parts) + ")"


def _as_scalar(name, value, what="a number"):
    """The student's return value as a float, or a failure saying what was returned instead."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.size == 1:
            _fail(name, f"returned a numpy array of shape {value.shape}; return {what} instead "
                        f"(for example with float(...) or .item())")
        _fail(name, f"returned an array of shape {value.shape}; it should return {what}")
    if value is None:
        _fail(name, f"returned None; did you forget the `return` statement?")
    _fail(name, f"returned {type(value).__name__} {value!r}; it should return {what}")


def _close(a, b, rtol=1e-6, atol=1e-12):
    return bool(np.isclose(a, b, rtol=rtol, atol=atol))


def _success(message):
    print(f"\u2714 {message}")


@contextlib.contextmanager
def _globals_replaced(function, **replacements):
    """Temporarily set names in the module (notebook) where ``function`` was defined; always restored."""
    namespace = getattr(function, "__globals__", None)
    if namespace is None:
        yield False
        return
    missing = object()
    saved = {k: namespace.get(k, missing) for k in replacements}
    namespace.update(replacements)
    try:
        yield True
    finally:
        for k, v in saved.items():
            if v is missing:
                namespace.pop(k, None)
            else:
                namespace[k] = v


# ---------------------------------------------------------------------------------------------------
# Exercise 1 and 2: the 1-D model
# ---------------------------------------------------------------------------------------------------

_CASES_1D = [(2.0, 4.0), (-3.5, 0.5), (0.25, -7.0), (10.0, 3.0)]


#: For each 1-D exercise: the reference, what the answer is, and the usual mistakes as (what the
#: mistake returns, hint). judge_1d reads it, so every grader of these exercises gives the same advice.
_MISTAKES_1D = {
    "forward_propagation": (ref_forward, "the cost J as a number", [
        (lambda x, theta: x + theta, "You added x and theta; the model multiplies them: J = theta * x."),
        (lambda x, theta: x, "You returned one of the inputs; J is their product, theta * x."),
        (lambda x, theta: theta, "You returned one of the inputs; J is their product, theta * x."),
    ]),
    "backward_propagation": (ref_backward, "the derivative dtheta as a number", [
        (lambda x, theta: theta, "You returned theta; the derivative of theta * x with respect to theta is x."),
        (lambda x, theta: theta * x, "You returned J itself; backward propagation returns its derivative, "
                                     "dJ/dtheta = x."),
    ]),
}


def judge_1d(name, x, theta, got, rtol=1e-6):
    """Judge a 1-D exercise's result.

    Parameters
    ----------
    name : "forward_propagation" or "backward_propagation"
    x, theta : float, the inputs the student's function was called with
    got : float, what it returned
    rtol : float, relative tolerance (absolute tolerance 1e-12)

    Returns
    -------
    None when ``got`` is right, else the hint for the usual mistake it matches ("" when none does).
    """
    reference, _, mistakes = _MISTAKES_1D[name]
    if _close(got, reference(x, theta), rtol=rtol):
        return None
    return next((hint for value, hint in mistakes if _close(got, value(x, theta), rtol=rtol)), "")


def _test_1d(name, target):
    """Run a 1-D exercise on every case of _CASES_1D; one success line, or a failure with its hint."""
    reference, what, _ = _MISTAKES_1D[name]
    for x, theta in _CASES_1D:
        got = _as_scalar(name, _call(name, target, x, theta), what)
        hint = judge_1d(name, x, theta, got)
        if hint is not None:
            _fail(name, f"{name}(x={x}, theta={theta}) returned {got}, expected {reference(x, theta)}."
                        f"{' ' + hint if hint else ''}")
    _success(f"{name} passed {len(_CASES_1D)} tests.")


def forward_propagation_test(target):
    """Check ``forward_propagation(x, theta)`` = theta * x on several inputs; print one line on success.

    Parameters
    ----------
    target : callable, the student's forward_propagation(x, theta)

    Returns
    -------
    None: prints one line starting with a check mark on success

    Raises
    ------
    ExerciseFailure saying what looks wrong (with a hint for the usual mistakes).
    """
    _test_1d("forward_propagation", target)


def backward_propagation_test(target):
    """Check ``backward_propagation(x, theta)`` = dJ/dtheta = x; print one line on success.

    Parameters
    ----------
    target : callable, the student's backward_propagation(x, theta)

    Returns
    -------
    None: prints one line starting with a check mark on success

    Raises
    ------
    ExerciseFailure saying what looks wrong (with a hint for the usual mistakes).
    """
    _test_1d("backward_propagation", target)


def _predict_1d(x, theta, epsilon, grad):
    """What each usual mistake in gradient_check returns, for the linear model J = theta * x."""
    J = ref_forward
    plus, minus = J(x, theta + epsilon), J(x, theta - epsilon)

    def rel(g, ghat):
        denominator = abs(g) + abs(ghat)
        return 0.0 if denominator == 0 else abs(g - ghat) / denominator

    return {
        "correct": rel(grad, (plus - minus) / (2 * epsilon)),
        "divided by epsilon": rel(grad, (plus - minus) / epsilon),
        "plus twice": rel(grad, (plus - plus) / (2 * epsilon)),
        "one-sided": rel(grad, (plus - J(x, theta)) / (2 * epsilon)),
        "no denominator": abs(grad - (plus - minus) / (2 * epsilon)),
        "only grad in denominator": abs(grad - (plus - minus) / (2 * epsilon)) / abs(grad),
    }


_HINTS = {
    "divided by epsilon": "gradapprox is twice too large: divide J_plus - J_minus by 2 * epsilon, "
                          "the full width of the step from theta - epsilon to theta + epsilon.",
    "plus twice": "gradapprox is zero: J_minus must use theta - epsilon (you used theta + epsilon twice).",
    "one-sided": "gradapprox is half the slope: J_minus was computed at theta itself. Compute it at "
                 "theta_minus = theta - epsilon.",
    "forgot copy": "gradapprox is about half the slope, because theta itself changed: "
                   "`theta_plus = parameters_values` does not copy an array, so changing theta_plus[i] also "
                   "moved parameters_values. Start each side from np.copy(parameters_values).",
    "no denominator": "You returned the norm of the difference; divide it by ||grad|| + ||gradapprox|| "
                      "to make it relative.",
    "only grad in denominator": "the denominator must be ||grad|| + ||gradapprox|| (both norms), not ||grad|| alone.",
    "norm of sum": "the denominator is the sum of two norms, ||grad|| + ||gradapprox||, not the norm of "
                   "the sum ||grad + gradapprox||.",
    "difference of norms": "the numerator is the norm of the difference, ||grad - gradapprox||, not the "
                           "difference of the norms.",
}


def _matches(got, predicted, small):
    """A result matches a prediction: both below ``small``, or equal to 4 significant digits."""
    return (got < small and predicted < small) or _close(got, predicted, rtol=1e-4)


def _diagnose(name, results, small, advice):
    """Fail with the hint of the usual mistake that explains *every* result, or with the first mismatch.

    results : list of (description, got, predictions dict, is_correct_gradient)
    """
    mistakes = [m for m in results[0][2] if m != "correct"]
    for mistake in mistakes:
        if all(_matches(got, pred[mistake], small) for _, got, pred, _ in results):
            description, got = next((d, g) for d, g, p, _ in results if not _matches(g, p["correct"], small))
            _fail(name, f"on {description} returned {got:.6g}. {_HINTS[mistake]}")
    for description, got, pred, is_correct in results:
        if _matches(got, pred["correct"], small):
            continue
        if not is_correct and got < small:
            _fail(name, f"on {description} your check returned {got:.3e}, a tiny difference, so it would "
                        f"miss that bug. {advice['tiny']}")
        expected = f"below {small:.0e}" if is_correct else f"{pred['correct']:.6g}"
        _fail(name, f"on {description} returned {got:.6g}, expected {expected}. {advice['generic']}")


def gradient_check_test(target):
    """Check ``gradient_check(x, theta, epsilon=1e-7, print_msg=False)`` on correct and wrong gradients.

    The student's function is run with the reference ``forward_propagation`` and with
    ``backward_propagation`` replaced by a deliberately wrong derivative (3 * x) as well as the right one
    (x), so that a check that always reports a small difference cannot pass.

    Parameters
    ----------
    target : callable, the student's gradient_check

    Returns
    -------
    None: prints one line starting with a check mark on success

    Raises
    ------
    ExerciseFailure saying what looks wrong (with a hint for the usual mistakes).
    """
    name = "gradient_check"
    epsilon = 1e-7
    results = []
    for x, theta in _CASES_1D:
        for factor in (1.0, 3.0):
            derivative = (lambda xx, tt, f=factor: f * ref_backward(xx, tt))
            with _globals_replaced(target, forward_propagation=ref_forward, backward_propagation=derivative):
                got = _as_scalar(name, _call(name, target, x, theta, epsilon, False),
                                 "the relative difference as a float")
            what = "the right derivative" if factor == 1.0 else "a deliberately wrong derivative (3 * x)"
            results.append((f"x={x}, theta={theta} with {what}", got,
                            _predict_1d(x, theta, epsilon, factor * x), factor == 1.0))
    if all(_matches(got, pred["correct"], 1e-7) for _, got, pred, _ in results):
        _success(f"gradient_check passed {len(results)} tests (correct and deliberately wrong derivatives).")
        return
    _diagnose(name, results, 1e-7, {
        "tiny": "It must call backward_propagation(x, theta) for grad and compare it with gradapprox.",
        "generic": "Check the centered difference (J_plus - J_minus) / (2 * epsilon) and the relative "
                   "difference ||grad - gradapprox|| / (||grad|| + ||gradapprox||)."})


# ---------------------------------------------------------------------------------------------------
# Exercise 3: the N-dimensional check
# ---------------------------------------------------------------------------------------------------

def _loop_gradapprox(X, Y, parameters, epsilon, variant="correct"):
    """The per-entry loop of gradient_check_n, as written correctly (``gradcheck.numerical_gradient``) or
    with a usual mistake; shape (n, 1)."""
    if variant == "correct":
        cost = lambda p: ref_forward_n(X, Y, p)[0]
        return gradients_to_vector(numerical_gradient(cost, parameters, epsilon), parameters)
    theta, _ = dictionary_to_vector(parameters)
    theta = theta.astype(np.float64)
    cost = lambda t: ref_forward_n(X, Y, vector_to_dictionary(t, parameters))[0]
    n = theta.shape[0]
    gradapprox = np.zeros((n, 1))
    for i in range(n):
        if variant == "forgot copy":  # thetaplus = theta; thetaminus = theta (aliases)
            theta[i] += epsilon
            J_plus = cost(theta)
            theta[i] -= epsilon
            J_minus = cost(theta)
        else:
            thetaplus = np.copy(theta)
            thetaplus[i] += epsilon
            thetaminus = np.copy(theta)
            thetaminus[i] += epsilon if variant == "plus twice" else -epsilon
            J_plus, J_minus = cost(thetaplus), cost(thetaminus)
        gradapprox[i] = (J_plus - J_minus) / (epsilon if variant == "divided by epsilon" else 2 * epsilon)
    return gradapprox


def _predict_nd(X, Y, parameters, gradients, epsilon, gradapprox_cache):
    """What each usual mistake in gradient_check_n returns on these inputs."""
    grad = gradients_to_vector(gradients, parameters)
    norm = np.linalg.norm

    def approx(variant):
        if variant not in gradapprox_cache:
            gradapprox_cache[variant] = _loop_gradapprox(X, Y, parameters, epsilon, variant)
        return gradapprox_cache[variant]

    def rel(g, ga):
        denominator = norm(g) + norm(ga)
        return 0.0 if denominator == 0 else float(norm(g - ga) / denominator)

    ga = approx("correct")
    return {
        "correct": rel(grad, ga),
        "divided by epsilon": rel(grad, approx("divided by epsilon")),
        "plus twice": rel(grad, approx("plus twice")),
        "forgot copy": rel(grad, approx("forgot copy")),
        "no denominator": float(norm(grad - ga)),
        "only grad in denominator": float(norm(grad - ga) / norm(grad)),
        "norm of sum": float(norm(grad - ga) / norm(grad + ga)),
        "difference of norms": abs(float(norm(grad) - norm(ga))) / float(norm(grad) + norm(ga)),
    }


def _nd_cases():
    """(description, X, Y, parameters, gradients, gradients_are_correct) for the N-D tests."""
    X, Y, parameters = gradient_check_n_test_case()
    _, cache = ref_forward_n(X, Y, parameters)
    correct = ref_backward_n(X, Y, cache)
    doubled = dict(correct, dW2=correct["dW2"] * 2, db1=correct["db1"] * 4)
    flipped = dict(correct, dW1=-correct["dW1"], db3=correct["db3"] + 0.5)
    cases = [("the course's test case, correct gradients", X, Y, parameters, correct, True),
             ("the course's test case, dW2 and db1 scaled", X, Y, parameters, doubled, False),
             ("the course's test case, dW1 sign flipped", X, Y, parameters, flipped, False)]
    rng = np.random.default_rng(7)
    for sizes in ([3, 4, 2, 1], [5, 6, 4, 1]):  # 3-layer networks, as forward_propagation_n is
        params = initialize_mlp(sizes, rng)
        X2 = rng.standard_normal((sizes[0], 6))
        Y2 = (rng.random((1, 6)) > 0.5).astype(float)
        _, cache2 = ref_forward_n(X2, Y2, params)
        grads = ref_backward_n(X2, Y2, cache2)
        cases.append((f"a random {'-'.join(map(str, sizes))} network, correct gradients", X2, Y2, params, grads, True))
        wrong = {k: v * (1.5 if k.startswith("dW") else 1.0) for k, v in grads.items()}
        cases.append((f"a random {'-'.join(map(str, sizes))} network, dW scaled by 1.5", X2, Y2, params, wrong, False))
    return cases


def gradient_check_n_test(target):
    """Check ``gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False)``.

    Runs it on the course's test case and on random networks, with correct gradients (the difference
    must be small) and with wrong ones (it must match the reference difference), using the reference
    ``forward_propagation_n`` and the course's vector helpers.

    Parameters
    ----------
    target : callable, the student's gradient_check_n

    Returns
    -------
    None: prints one line starting with a check mark on success

    Raises
    ------
    ExerciseFailure saying what looks wrong (with a hint for the usual mistakes).
    """
    name = "gradient_check_n"
    epsilon = 1e-7
    cases = _nd_cases()
    replacements = dict(forward_propagation_n=ref_forward_n, dictionary_to_vector=dictionary_to_vector,
                        vector_to_dictionary=vector_to_dictionary, gradients_to_vector=gradients_to_vector)
    results = []
    for description, X, Y, parameters, gradients, is_correct in cases:
        before = {k: np.array(v, copy=True) for k, v in parameters.items()}
        with _globals_replaced(target, **replacements):
            got = _as_scalar(name, _call(name, target, parameters, gradients, X, Y, epsilon, False),
                             "the relative difference as a float")
        for k in before:
            if not np.array_equal(before[k], parameters[k]):
                _fail(name, f"changed the caller's parameters['{k}'] on {description}. Work on copies of "
                            f"theta (np.copy) and never write into the parameters dictionary.")
        results.append((description, got, _predict_nd(X, Y, parameters, gradients, epsilon, {}), is_correct))
    if all(_matches(got, pred["correct"], 1e-6) for _, got, pred, _ in results):
        _success(f"gradient_check_n passed {len(cases)} tests (correct and buggy gradients, 3 network shapes).")
        return
    _diagnose(name, results, 1e-6, {
        "tiny": "Compare gradapprox with the `gradients` argument (gradients_to_vector(gradients, parameters)), "
                "not with itself.",
        "generic": "Check the loop: copy theta, perturb entry i by +epsilon and -epsilon, gradapprox[i] = "
                   "(J_plus - J_minus) / (2 * epsilon), then ||grad - gradapprox|| / (||grad|| + ||gradapprox||)."})


# ---------------------------------------------------------------------------------------------------
# Notebook 3: the bug hunt
# ---------------------------------------------------------------------------------------------------

def _bug_hunt_cases():
    """(description, X, Y, parameters) of 3-layer networks: the course's test case and two random ones."""
    cases = [("the course's test case",) + gradient_check_n_test_case()]
    rng = np.random.default_rng(33)
    for sizes, m in (([3, 6, 4, 1], 7), ([5, 4, 6, 1], 9)):
        parameters = initialize_mlp(sizes, rng)
        X = rng.standard_normal((sizes[0], m))
        Y = (rng.random((1, m)) > 0.5).astype(float)
        cases.append((f"a random {'-'.join(map(str, sizes))} network with {m} examples", X, Y, parameters))
    return cases


def _matching_bugs(runs, block):
    """Catalogue bugs (without L2) whose d<block> equals the student's on every network of ``runs``.

    runs : list of (X, Y, cache, gradients) with the student's gradients
    """
    key = "d" + block
    found = []
    for bug in BUG_CATALOGUE.values():
        if bug.lambd:
            continue
        matches = True
        for X, Y, cache, gradients in runs:
            right_all = ref_backward_n(X, Y, cache)
            try:
                theirs_all = inject_bug(bug.name)(X, Y, cache)
            except Exception:  # a bug that needs another network shape
                matches = False
                break
            right, theirs = right_all[key], theirs_all[key]
            if np.allclose(theirs, right) or not np.allclose(theirs, gradients[key], rtol=1e-9, atol=1e-12):
                matches = False
                break
            # a bug that would also break a block the student got right is not in the student's code
            # (e.g. a wrong ReLU mask gives the same db as summing dA, but it would break dW too)
            if any(not np.allclose(theirs_all[k], right_all[k]) and np.allclose(gradients[k], right_all[k])
                   for k in right_all):
                matches = False
                break
        if matches:
            found.append(bug)
    return found


def bug_hunt_test(target):
    """Check a fixed 3-layer backward pass ``target(X, Y, cache) -> gradients`` with the gradient checker.

    It must pass ``check_gradients`` (default settings) on the course's test case and on two random
    3-layer networks. On failure the message names the wrong blocks with their relative differences and,
    when the student's gradient is exactly what a catalogued bug produces, that bug's explanation.

    Parameters
    ----------
    target : callable, the student's backward_propagation_fixed(X, Y, cache)

    Returns
    -------
    None: prints one line starting with a check mark on success

    Raises
    ------
    ExerciseFailure saying what looks wrong (with a hint for the usual mistakes).
    """
    name = getattr(target, "__name__", "backward_propagation_fixed")
    cases = _bug_hunt_cases()
    runs, failure = [], None
    for description, X, Y, parameters in cases:
        _, cache = ref_forward_n(X, Y, parameters)
        gradients = _call(name, target, X, Y, cache)
        if not isinstance(gradients, dict):
            _fail(name, f"returned {type(gradients).__name__}; return the dictionary of gradients "
                        f"{{'dW1': ..., 'db1': ..., ..., 'db3': ...}}")
        try:
            gradients_to_vector(gradients, parameters)
        except ParameterError as exc:
            _fail(name, f"on {description}: {exc}")
        runs.append((X, Y, cache, gradients))
        report = check_gradients(lambda p: ref_forward_n(X, Y, p)[0], parameters, gradients)
        if failure is None and not report.passed:
            failure = (description, report)
    if failure is not None:
        description, report = failure
        wrong = report.failing_blocks()
        listing = ", ".join(f"{b} ({report.block(b).relative_difference:.2e})" for b in wrong)
        lines = [f"on {description} the gradient check still fails: {listing}. Read the lines that "
                 f"compute {', '.join('d' + b for b in wrong)} and everything they use."]
        seen = set()
        for block in wrong:
            for bug in _matching_bugs(runs, block):
                if bug.name not in seen:
                    seen.add(bug.name)
                    lines.append(f"Your d{block} is exactly what this mistake gives: {bug.title}. {bug.spot}")
        _fail(name, "\n".join(lines))
    _success(f"{name} passes the gradient check on {len(cases)} networks (the test case and 2 random ones).")


# ---------------------------------------------------------------------------------------------------
# Notebook 4: choosing epsilon
# ---------------------------------------------------------------------------------------------------

#: Unit round-off written as powers of two (an independent reference: 52 and 23 fraction bits).
_UNIT_ROUNDOFF = {"float64": 2.0 ** -52, "float32": 2.0 ** -23}

_CASES_EPS = [("float64", "centered", 1.0), ("float32", "centered", 1.0), ("float64", "forward", 1.0),
              ("float32", "forward", 1.0), ("float64", "centered", 8.0), ("float32", "forward", 0.5)]


def _predict_eps(dtype, method, scale):
    """What the right answer and each usual mistake give for optimal_epsilon(dtype, method, scale)."""
    u = _UNIT_ROUNDOFF[dtype]
    power = 1 / 3 if method == "centered" else 1 / 2
    other = 1 / 2 if method == "centered" else 1 / 3
    return {
        "correct": u ** power * scale,
        "wrong root": u ** other * scale,
        "float64 eps": _UNIT_ROUNDOFF["float64"] ** power * scale,
        "no scale": u ** power,
        "resolution": float(np.finfo(np.dtype(dtype)).resolution) ** power * scale,
        "u itself": u * scale,
        "divided by scale": u ** power / scale,
    }


def _eps_hint(mistake, method):
    root = "cube root, u ** (1 / 3)" if method == "centered" else "square root, u ** 0.5"
    return {
        "wrong root": f"you used the wrong power of u for {method} differences: they need the {root}. "
                      f"(Centered: error ~ eps**2 + u/eps, smallest at u**(1/3); forward: eps + u/eps, at u**(1/2).)",
        "float64 eps": "you used float64's machine epsilon for float32. Take u from the dtype you are given: "
                       "np.finfo(dtype).eps (1.2e-7 for float32, 2.2e-16 for float64).",
        "no scale": "you forgot the scale: the best step grows with the size of theta, multiply by scale.",
        "resolution": "np.finfo(dtype).resolution is a rounded power of ten; use np.finfo(dtype).eps, the exact "
                      "unit round-off.",
        "u itself": "you returned u times scale; the step is a root of u (a step of u would be all round-off).",
        "divided by scale": "multiply by scale instead of dividing: a larger theta needs a larger step.",
    }[mistake]


def optimal_epsilon_test(target):
    """Check ``optimal_epsilon(dtype, method="centered", scale=1.0)`` on float64/float32, centered/forward.

    The expected step is u^(1/3) * scale (centered) or u^(1/2) * scale (forward), u the dtype's unit
    round-off. A usual mistake (square root instead of cube root, float64's u for float32, a forgotten
    scale, ``resolution`` instead of ``eps``) is named. The float64 centered answer is then compared
    with the measured error curve of sin(x) at x = 1: it must sit within a factor 10 of the best step.

    Parameters
    ----------
    target : callable, the student's optimal_epsilon(dtype, method, scale)

    Returns
    -------
    None: prints one line starting with a check mark on success

    Raises
    ------
    ExerciseFailure saying what looks wrong (with a hint for the usual mistakes).
    """
    name = "optimal_epsilon"
    for dtype, method, scale in _CASES_EPS:
        for spelled in (np.dtype(dtype).type, dtype):
            got = _as_scalar(name, _call(name, target, spelled, method, scale), "the step as a float")
            pred = _predict_eps(dtype, method, scale)
            if _close(got, pred["correct"], rtol=1e-3, atol=0):
                continue
            call = f"optimal_epsilon({'np.' + dtype if not isinstance(spelled, str) else repr(dtype)}, {method!r}, {scale})"
            for mistake, value in pred.items():
                if mistake != "correct" and _close(got, value, rtol=1e-3, atol=0):
                    _fail(name, f"{call} returned {got:.3e}, expected {pred['correct']:.3e}: "
                                f"{_eps_hint(mistake, method)}")
            _fail(name, f"{call} returned {got:.3e}, expected {pred['correct']:.3e} "
                        f"(u = np.finfo(dtype).eps, then u ** (1/3) or u ** 0.5, times scale).")
    eps = _as_scalar(name, _call(name, target, np.float64, "centered", 1.0), "the step as a float")
    best, _ = _measured_best(_sweep("sin", "centered", "float64"))
    if not 0.1 < eps / best < 10:
        _fail(name, f"your float64 centered step {eps:.1e} is more than 10x away from the measured best step "
                    f"{best:.1e} of sin(x) at x = 1")
    _success(f"optimal_epsilon passed {2 * len(_CASES_EPS)} tests; your float64 step {eps:.1e} sits at the "
             f"bottom of the measured error curve of sin(x) (within 10x of its best step).")

