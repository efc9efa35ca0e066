"""What the grader checks in each notebook: exercises, points, references and hidden test cases.

Adding a notebook is data entry: write its exercises as ``Exercise(...)`` entries (grade_id of the
solution cell, function name, points, the library functions substituted for the *other* exercises, the
library's own version of *this* exercise, and a function that draws hidden cases from a random
generator), then add a ``NotebookSpec`` to ``notebook_specs()``.

Every hidden case is a ``Case``: the arguments sent to the student's function (plain data), optional
global names replaced for that call only (e.g. a deliberately wrong ``backward_propagation``), and a
``judge`` run in the grader's process on the returned value. Judges compare with values the grader
computes itself from ``course_utils``; their messages describe the inputs and what went wrong, never the
expected value of a hidden case.
"""

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from course_utils import checks
from course_utils.models import backward_propagation_n, forward_propagation_n, initialize_mlp
from course_utils.parameters import gradients_to_vector
from course_utils.testcases import gradient_check_n_test_case
from autograder.wire import LibraryCall, LibraryRef, Opaque

__all__ = ["Case", "Exercise", "NotebookSpec", "describe", "as_number", "notebook_specs"]


@dataclass
class Case:
    """One hidden test: a call of the student's function and how to judge what it returns.

    Attributes
    ----------
    description : str, what is checked, in a student's words (shown in feedback)
    args : tuple of plain data (numbers, strings, arrays, dicts of arrays)
    judge : callable (value, args_after) -> str or None: None when right, else the student-facing problem
    kwargs : dict
    globals : dict name -> {"ref": "module:attr", "scale": float}: replaced for this call only
    return_args : bool, ask the worker for the arguments after the call (to detect mutation)
    predictions : dict or None, what each usual mistake would return here (for feedback only)
    problem : tuple or None, the inputs from which predictions can be computed on demand
    """

    description: str
    args: tuple
    judge: object
    kwargs: dict = field(default_factory=dict)
    globals: dict = field(default_factory=dict)
    return_args: bool = False
    predictions: object = None
    problem: object = None


@dataclass
class Exercise:
    """A graded function of a notebook.

    Attributes
    ----------
    grade_id : str, nbgrader grade_id of the solution cell
    function : str, the name the cell must define
    points : float
    title : str
    make_cases : callable (numpy Generator) -> list of Case
    reference : str or None, "module:attr" of the library version, substituted when *another* exercise
        calls this function
    forbidden : tuple of "module:attr": the library's own implementations of this exercise; a
        submission whose function calls one of them scores zero for it
    diagnose : callable (list of (Case, value)) -> str or None: names the usual mistake, if recognised
    helpers : dict name -> "module:attr", library helpers set as globals before and after the cells
    """

    grade_id: str
    function: str
    points: float
    title: str
    make_cases: object
    reference: object = None
    forbidden: tuple = ()
    diagnose: object = None
    helpers: dict = field(default_factory=dict)


@dataclass
class NotebookSpec:
    """The graded exercises of one notebook (``metadata.course.notebook``)."""

    notebook_id: str
    title: str
    exercises: tuple

    @property
    def max_score(self):
        """float: sum of the exercises' points."""
        return float(sum(e.points for e in self.exercises))


# ---------------------------------------------------------------------------------------------------
# Judging helpers
# ---------------------------------------------------------------------------------------------------

def describe(value):
    """Short student-facing description of a returned value (type and shape, never a long dump)."""
    if isinstance(value, Opaque):
        return f"a {value.type} object"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (list, tuple, dict)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"{value!r}"


def as_number(value, what):
    """(float, None) when ``value`` is a real number, else (None, problem).

    A numpy scalar counts as a number; an array (even of one entry), a string or None does not.
    """
    if isinstance(value, (bool, np.bool_)):
        return None, f"returned a boolean ({value}); it should return {what}"
    if isinstance(value, numbers.Real) or isinstance(value, (np.integer, np.floating)):
        x = float(value)
        if math.isnan(x):
            return None, f"returned nan; it should return {what} (a nan usually comes from 0 / 0 or a log of a negative)"
        if math.isinf(x):
            return None, f"returned {x}; it should return {what} (an infinity usually comes from dividing by 0)"
        return x, None
    if isinstance(value, np.ndarray):
        return None, (f"returned a numpy array of shape {value.shape}; it should return {what} "
                      f"(for a single value use float(...) or .item())")
    if value is None:
        return None, f"returned None; it should return {what} (did you forget `return`?)"
    return None, f"returned {describe(value)}; it should return {what}"


def _call_text(function, **named):
    return f"{function}(" + ", ".join(f"{k}={v:.4g}" for k, v in named.items()) + ")"


# ---------------------------------------------------------------------------------------------------
# Notebook 01: the 1-D model
# ---------------------------------------------------------------------------------------------------

def _draw_1d(rng, n):
    """n pairs (x, theta) of varied signs and sizes, |x| >= 0.5 so that the derivative is never tiny."""
    pairs = []
    for _ in range(n):
        x = float(rng.choice([-1, 1]) * rng.uniform(0.5, 10.0))
        theta = float(rng.uniform(-10.0, 10.0))
        pairs.append((round(x, 3), round(theta, 3)))
    return pairs


def _cases_1d(rng, name, wrong):
    """Hidden cases of a 1-D exercise, judged (and hinted) by ``checks.judge_1d``.

    wrong : str, what the failure message says the value is not (no expected value is revealed)
    """
    what = checks._MISTAKES_1D[name][1]
    cases = []
    for x, theta in _draw_1d(rng, 6):
        def judge(value, _after, x=x, theta=theta):
            got, problem = as_number(value, what)
            if problem:
                return problem
            hint = checks.judge_1d(name, x, theta, got, rtol=1e-9)
            if hint is None:
                return None
            return f"returned {got:.6g}, which is not {wrong} for these inputs.{' ' + hint if hint else ''}"
        cases.append(Case(_call_text(name, x=x, theta=theta), (x, theta), judge))
    return cases


def _forward_cases(rng):
    return _cases_1d(rng, "forward_propagation", "the cost J = theta * x")


def _backward_cases(rng):
    return _cases_1d(rng, "backward_propagation", "dJ/dtheta")


GRADIENT_CHECK_THRESHOLD = 1e-7


def _gradient_check_cases(rng):
    """Correct derivative (difference must be tiny) and wrong derivatives k * x (must match the reference)."""
    epsilon = 1e-7
    cases = []
    pairs = _draw_1d(rng, 6)
    factors = [1.0, 1.0, 1.0, float(rng.uniform(2.0, 4.0)), float(rng.uniform(0.2, 0.6)), float(-rng.uniform(0.5, 2.0))]
    for (x, theta), k in zip(pairs, factors):
        k = round(k, 3)
        predictions = checks._predict_1d(x, theta, epsilon, k * x)
        if k == 1.0:
            def judge(value, _after, x=x, theta=theta):
                got, problem = as_number(value, "the relative difference as a float")
                if problem:
                    return problem
                if 0.0 <= got < GRADIENT_CHECK_THRESHOLD:
                    return None
                return (f"with the right derivative it returned {got:.3g}; a correct check reports a difference "
                        f"below {GRADIENT_CHECK_THRESHOLD:.0e} there.")
            description = f"gradient_check(x={x:.4g}, theta={theta:.4g}) with the right derivative"
            cases.append(Case(description, (x, theta, epsilon, False), judge))
        else:
            expected = predictions["correct"]

            def judge(value, _after, expected=expected):
                got, problem = as_number(value, "the relative difference as a float")
                if problem:
                    return problem
                if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-12):
                    return None
                if got < GRADIENT_CHECK_THRESHOLD:
                    return ("with a deliberately wrong derivative it returned a tiny difference, so it would miss "
                            "that bug. Compare backward_propagation(x, theta) with gradapprox.")
                return ("with a deliberately wrong derivative it returned a difference that is not "
                        "||grad - gradapprox|| / (||grad|| + ||gradapprox||).")
            description = f"gradient_check(x={x:.4g}, theta={theta:.4g}) with a deliberately wrong derivative"
            cases.append(Case(description, (x, theta, epsilon, False), judge,
                              globals={"backward_propagation": {"ref": "course_utils.models:backward_propagation",
                                                                "scale": k}}))
        cases[-1].predictions = predictions
    return cases


def _diagnose_mistake(outcomes, small):
    """Hint of the usual mistake whose predicted values explain every returned value, or None."""
    usable = [(case, value) for case, value in outcomes
              if case.predictions is not None and as_number(value, "")[1] is None]
    if not usable or len(usable) < len(outcomes):
        return None
    mistakes = [m for m in usable[0][0].predictions if m != "correct"]
    for mistake in mistakes:
        if all(mistake in c.predictions and checks._matches(float(v), c.predictions[mistake], small)
               for c, v in usable):
            return checks._HINTS.get(mistake)
    return None


def _diagnose_1d(outcomes):
    return _diagnose_mistake(outcomes, GRADIENT_CHECK_THRESHOLD)


# ---------------------------------------------------------------------------------------------------
# Notebook 02: the N-dimensional check
# ---------------------------------------------------------------------------------------------------

GRADIENT_CHECK_N_SMALL = 1e-6


def _reference_difference(X, Y, parameters, gradients, epsilon):
    """The course's relative difference computed by the grader with the plain centered-difference loop."""
    grad = gradients_to_vector(gradients, parameters)
    gradapprox = checks._loop_gradapprox(X, Y, parameters, epsilon)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return 0.0 if denominator == 0 else float(np.linalg.norm(grad - gradapprox) / denominator)


def _plant_bug(gradients, rng):
    """A copy of ``gradients`` with one block wrong, and a short description of the bug."""
    keys = list(gradients)
    key = keys[int(rng.integers(len(keys)))]
    kind = int(rng.integers(3))
    wrong = {k: np.array(v, copy=True) for k, v in gradients.items()}
    if kind == 0:
        factor = round(float(rng.choice([rng.uniform(1.5, 3.0), rng.uniform(0.2, 0.6)])), 3)
        wrong[key] = wrong[key] * factor
        text = f"{key} scaled"
    elif kind == 1:
        wrong[key] = -wrong[key]
        text = f"{key} with the wrong sign"
    else:
        wrong[key] = wrong[key] + round(float(rng.uniform(0.2, 0.8)), 3)
        text = f"{key} shifted"
    return wrong, text


def _gradient_check_n_cases(rng):
    epsilon = 1e-7
    problems = []
    X, Y, parameters = gradient_check_n_test_case()
    problems.append(("the course's 3-layer network", X, Y, parameters))
    # random layer sizes of the course's 3-layer network (forward_propagation_n is that network only)
    for sizes in ([int(rng.integers(2, 5)), int(rng.integers(2, 6)), int(rng.integers(2, 4)), 1],
                  [int(rng.integers(2, 5)), int(rng.integers(3, 7)), int(rng.integers(1, 3)), 1]):
        m = int(rng.integers(3, 7))
        params = initialize_mlp(sizes, rng)
        Xr = np.round(rng.standard_normal((sizes[0], m)), 4)
        Yr = (rng.random((1, m)) > 0.5).astype(np.float64)
        Yr[0, 0], Yr[0, -1] = 1.0, 0.0
        problems.append((f"a random {'-'.join(map(str, sizes))} network", Xr, Yr, params))
    cases = []
    for name, X, Y, params in problems:
        _, cache = forward_propagation_n(X, Y, params)
        correct = backward_propagation_n(X, Y, cache)
        buggy, bug = _plant_bug(correct, rng)
        for gradients, label, is_correct in ((correct, "correct gradients", True), (buggy, f"a bug ({bug})", False)):
            expected = _reference_difference(X, Y, params, gradients, epsilon)
            originals = {k: np.array(v, copy=True) for k, v in params.items()}

            def judge(value, after, expected=expected, is_correct=is_correct, originals=originals):
                if after is not None and len(after) >= 1 and isinstance(after[0], dict):
                    for k, v in originals.items():
                        got_after = after[0].get(k)
                        if not (isinstance(got_after, np.ndarray) and got_after.shape == v.shape
                                and np.array_equal(got_after, v)):
                            return (f"it changed the caller's parameters['{k}']. Work on copies of theta "
                                    f"(np.copy) and never write into the parameters dictionary.")
                got, problem = as_number(value, "the relative difference as a float")
                if problem:
                    return problem
                if is_correct:
                    if 0.0 <= got < GRADIENT_CHECK_N_SMALL:
                        return None
                    return (f"with correct gradients it returned {got:.3g}; a correct check reports a difference "
                            f"below {GRADIENT_CHECK_N_SMALL:.0e} there.")
                if math.isclose(got, expected, rel_tol=1e-3, abs_tol=1e-9):
                    return None
                if got < GRADIENT_CHECK_N_SMALL:
                    return ("with buggy gradients it returned a tiny difference, so it would miss the bug. Compare "
                            "gradapprox with the `gradients` argument (gradients_to_vector(gradients, parameters)).")
                return ("with buggy gradients it returned a difference that is not "
                        "||grad - gradapprox|| / (||grad|| + ||gradapprox||) of the centered differences.")
            case = Case(f"gradient_check_n on {name} with {label}", (params, gradients, X, Y, epsilon, False),
                        judge, return_args=True)
            case.problem = (X, Y, params, gradients, epsilon)
            cases.append(case)
    return cases


def _diagnose_nd(outcomes):
    """Name the usual mistake of gradient_check_n (predictions computed in the grader only on failure)."""
    for case, _ in outcomes:
        if case.predictions is None and case.problem is not None:
            X, Y, params, gradients, epsilon = case.problem
            case.predictions = checks._predict_nd(X, Y, params, gradients, epsilon, {})
    return _diagnose_mistake(outcomes, GRADIENT_CHECK_N_SMALL)


# ---------------------------------------------------------------------------------------------------
# Notebook 03: the bug hunt
# ---------------------------------------------------------------------------------------------------

BLOCKS_3 = ("W1", "b1", "W2", "b2", "W3", "b3")


def _k_from_report_cases(rng):
    """Reports of scale bugs d<name> <- k * d<name> (k above and below 1), built in the worker."""
    cases = []
    ks = [rng.uniform(1.5, 9.0), rng.uniform(0.1, 0.7), rng.uniform(1.1, 1.6), rng.uniform(0.6, 0.9)]
    names = rng.permutation(BLOCKS_3)[:len(ks)]
    for k, name in zip(ks, names):
        k, name = round(float(k), 3), str(name)
        report = LibraryCall("course_utils.bugs:check_backward",
                             (LibraryCall("course_utils.bugs:inject",
                                          (LibraryCall("course_utils.bugs:scale_bug", (name, k)),)),))
        side = "larger" if k > 1 else "smaller"

        def judge(value, _after, k=k, side=side):
            got, problem = as_number(value, "the factor k as a float")
            if problem:
                return problem
            if math.isclose(got, k, rel_tol=1e-4):
                return None
            if math.isclose(got, 1 / k, rel_tol=1e-4):
                return (f"it returned 1/k: here the analytic norm is the {side} one, so use "
                        f"{'(1 + r) / (1 - r)' if k > 1 else '(1 - r) / (1 + r)'}.")
            return "it did not give back the factor of the scale bug (|k - 1| / (k + 1) = r, solved for k)."
        cases.append(Case(f"k_from_report on a report of a scale bug in d{name} (analytic norm {side})",
                          (report, name), judge))
    return cases


def _random_3layer(rng):
    sizes = [int(rng.integers(2, 6)), int(rng.integers(2, 7)), int(rng.integers(2, 5)), 1]
    m = int(rng.integers(3, 8))
    params = initialize_mlp(sizes, rng)
    X = np.round(rng.standard_normal((sizes[0], m)), 4)
    Y = (rng.random((1, m)) > 0.5).astype(np.float64)
    Y[0, 0], Y[0, -1] = 1.0, 0.0
    return f"a random {'-'.join(map(str, sizes))} network with {m} examples", X, Y, params


def _backward_fixed_cases(rng):
    """The fixed backward pass on the course's case and random 3-layer networks, against the reference."""
    problems = [("the course's test case",) + gradient_check_n_test_case()]
    problems += [_random_3layer(rng) for _ in range(3)]
    cases = []
    for name, X, Y, params in problems:
        _, cache = forward_propagation_n(X, Y, params)
        expected = backward_propagation_n(X, Y, cache)

        def judge(value, _after, expected=expected):
            if not isinstance(value, dict):
                return f"returned {describe(value)}; it should return the dict of gradients dW1, db1, ..., db3"
            missing = [k for k in expected if k not in value]
            if missing:
                return f"the returned dict lacks {missing} (it has {sorted(map(str, value))})"
            wrong = []
            for key, want in expected.items():
                got = value[key]
                if not isinstance(got, np.ndarray) or got.shape != want.shape:
                    return f"{key} is {describe(got)}; it must have its parameter's shape {want.shape}"
                if not np.allclose(got, want, rtol=1e-6, atol=1e-10):
                    ratio = got / np.where(want == 0, np.nan, want)
                    finite = ratio[np.isfinite(ratio)]
                    if finite.size and np.allclose(finite, finite[0], rtol=1e-6) and not np.isclose(finite[0], 1):
                        wrong.append(f"{key} (off by a constant factor)")
                    else:
                        wrong.append(key)
            if wrong:
                return "these gradients are still wrong: " + ", ".join(wrong)
            return None
        cases.append(Case(f"backward_propagation_fixed on {name}", (X, Y, cache), judge))
    return cases


# ---------------------------------------------------------------------------------------------------
# Notebook 04: choosing epsilon
# ---------------------------------------------------------------------------------------------------

def _optimal_epsilon_cases(rng):
    """Every dtype and method, the dtype given as a numpy type or as a string, random scales."""
    cases = []
    combos = [("float64", "centered"), ("float32", "centered"), ("float64", "forward"), ("float32", "forward")]
    for i, (dtype, method) in enumerate(combos):
        scale = 1.0 if i == 0 else round(float(rng.uniform(1.5, 50.0)), 3)
        u = float(np.finfo(dtype).eps)
        power = 1 / 3 if method == "centered" else 1 / 2
        expected = u ** power * scale
        dtype_arg = LibraryRef(f"numpy:{dtype}") if i % 2 == 0 else dtype

        def judge(value, _after, expected=expected, u=u, power=power, scale=scale, method=method, dtype=dtype):
            got, problem = as_number(value, "the step epsilon as a float")
            if problem:
                return problem
            if math.isclose(got, expected, rel_tol=1e-6):
                return None
            other = 1 / 2 if power == 1 / 3 else 1 / 3
            if math.isclose(got, u ** other * scale, rel_tol=1e-6):
                return (f"for the {method} difference it used the power of the other method: centered balances "
                        f"eps^2 against u/eps (power 1/3), forward balances eps against u/eps (power 1/2).")
            if math.isclose(got, u ** power, rel_tol=1e-6) and scale != 1.0:
                return "it ignored `scale`: multiply the step by the size of theta."
            if math.isclose(got, float(np.finfo(np.float64).eps) ** power * scale, rel_tol=1e-6):
                return f"it used float64's machine epsilon for {dtype}: use np.finfo(dtype).eps."
            return f"the step for {dtype}, {method} differences is not u^{'1/3' if power == 1 / 3 else '1/2'} * scale."
        description = f"optimal_epsilon({dtype}, {method!r}, scale={scale:g})"
        cases.append(Case(description, (dtype_arg, method, scale), judge))
    return cases


# ---------------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------------

_N_HELPERS = {"forward_propagation_n": "course_utils.models:forward_propagation_n",
              "backward_propagation_n": "course_utils.models:backward_propagation_n",
              "dictionary_to_vector": "course_utils.parameters:dictionary_to_vector",
              "vector_to_dictionary": "course_utils.parameters:vector_to_dictionary",
              "gradients_to_vector": "course_utils.parameters:gradients_to_vector"}

_CHECKERS = ("course_utils.gradcheck:check_gradients", "course_utils.checks:_loop_gradapprox",
             "course_utils.checks:_predict_nd", "course_utils.checks:_predict_1d")


def notebook_specs():
    """Every gradable notebook, by notebook id.

    Returns
    -------
    dict notebook_id -> NotebookSpec
    """
    specs = [
        NotebookSpec("01_gradient_check_1d", "Gradient checking in one dimension", (
            Exercise("forward_propagation", "forward_propagation", 1, "forward_propagation: the cost J = theta * x",
                     _forward_cases, reference="course_utils.models:forward_propagation",
                     forbidden=("course_utils.models:forward_propagation",)),
            Exercise("backward_propagation", "backward_propagation", 1,
                     "backward_propagation: the derivative dJ/dtheta", _backward_cases,
                     reference="course_utils.models:backward_propagation",
                     forbidden=("course_utils.models:backward_propagation",)),
            Exercise("gradient_check", "gradient_check", 2, "gradient_check: the 1-D check",
                     _gradient_check_cases, forbidden=_CHECKERS, diagnose=_diagnose_1d),
        )),
        NotebookSpec("02_gradient_check_nd", "Gradient checking a 3-layer network", (
            Exercise("gradient_check_n", "gradient_check_n", 3, "gradient_check_n: the N-dimensional check",
                     _gradient_check_n_cases, forbidden=_CHECKERS, diagnose=_diagnose_nd, helpers=_N_HELPERS),
        )),
        NotebookSpec("03_bug_hunt", "The bug hunt", (
            Exercise("k_from_report", "k_from_report", 1, "k_from_report: the factor of a scale bug",
                     _k_from_report_cases),
            Exercise("backward_propagation_fixed", "backward_propagation_fixed", 2,
                     "backward_propagation_fixed: the repaired backward pass", _backward_fixed_cases,
                     forbidden=("course_utils.models:backward_propagation_n", "course_utils.models:mlp_backward",
                                "course_utils.bugs:correct", "course_utils.bugs:backward_from_pieces")),
        )),
        NotebookSpec("04_choosing_epsilon", "Choosing epsilon", (
            Exercise("optimal_epsilon", "optimal_epsilon", 2, "optimal_epsilon: the step for a dtype and method",
                     _optimal_epsilon_cases,
                     forbidden=("course_utils.stepsize:rule_of_thumb_epsilon", "course_utils.gradcheck:default_epsilon")),
        )),
    ]
    return {spec.notebook_id: spec for spec in specs}
