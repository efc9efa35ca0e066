"""One judge per graded exercise: the verdict the public test, the autograder and nbgrader all give.

*For instructors; students do not need this module.*

How a verdict is reached
------------------------
A judge runs the student's function on **cases** and watches what it does, then decides. Three steps,
each a public function, so that the three graders can split them where they must:

1. ``cases(exercise, kind, rng)`` lists the cases: the fixed *public* cases (what the notebook's test
   runs), and for ``kind="hidden"`` the same plus randomised cases drawn from ``rng``. A case is plain
   data (numbers, arrays, dicts) plus the name of the *instruments* it hands the function.
2. ``collect(exercise, function, cases)`` calls the student's function once per case, with instruments
   put into the function's globals for the call only (always restored): for ``gradient_check`` a cost
   that records where it was evaluated (linear, then curved J = x * theta**3) and a derivative that is
   right, wrong, negative or zero; for ``gradient_check_n`` the course's ``forward_propagation_n`` with
   a recorder of every evaluation point; for ``backward_propagation_fixed`` recorders on the library's
   backward passes. It captures stdout, catches every exception, and compares the caller's arrays
   before and after. What it saw is returned as **observations**: plain data only (numbers, strings,
   arrays, tuples, dicts), one dict per case.
3. ``decide(exercise, cases, observations)`` turns observations into a ``Verdict`` without running any
   student code. It asks, in a fixed order: does the signature fit, did the code crash (and why: e.g. a
   ``(cost, cache)`` tuple stored as a number), what type was returned, where was the cost evaluated
   (theta + epsilon twice, theta itself, x moved, a step that is not ``epsilon``, several entries moved
   at once), was the derivative asked at theta, were the caller's arrays changed, and finally which
   formula explains *every* returned number: the right one, or one catalogued mistake's. A mistake is
   named only when its prediction matches every case; where two mistakes give the same numbers on every
   case (``GROUPS``), the verdict names the whole group and gives the group's shared hint. Anything
   else fails with what was seen and a general hint, and names no mistake. Nothing reads a clock: the
   thresholds are relative differences, never times.

``judge(exercise, function, cases="public" | "hidden", rng=...)`` runs the three steps in one process.

One judge, three callers
------------------------
* **public test** (``course_utils.checks``): ``verdict = judge(exercise, function)`` (public cases);
  print ``verdict.message`` when ``verdict.passed``, else raise ``ExerciseFailure(verdict.message)``.
  Expected values are shown for public cases only.
* **autograder**: ``collect`` must run where the student's function lives (the instruments go into its
  globals), so the sandboxed worker builds ``cases(exercise, "hidden", seed)`` *before* the student's
  cells run, calls ``collect(exercise, function, those_cases)`` after them, and sends the observations
  back through the wire: one dict per case with ``kind``, ``value``, ``stdout``, ``error``, plus
  ``signature``, ``forward_at``, ``backward_at`` (gradient_check); ``signature``, ``points``,
  ``changed``, ``one_arg_v2d``, ``bare_cost_ok`` (gradient_check_n); ``library_calls``
  (backward_propagation_fixed); all plain data. The grader process rebuilds the same cases from the
  same seed and calls ``decide(exercise, cases, observations)``: the decision runs no student code and
  none of the worker's arithmetic; observations it cannot read raise ``JudgeError`` (score 0).
* **nbgrader** hidden-test cells (in the masters): ``verdict = judge(exercise, function,
  cases="hidden", rng=COURSE_SEED)`` then ``assert verdict.passed, verdict.message``; the graded
  function alone is the student's, every other piece is the library's (as for the autograder).

The three see the same public cases (hidden = public + randomised), so a mistake the public test names is
the mistake both graders name; ``verdict.mistake_ids`` are the stable ids a class report counts.

The mistakes are those of ``course_utils.mistakes`` (stable ids); a judge's hint is the catalogue's.
"""

import contextlib
import copy
import hashlib
import importlib
import inspect
import io
import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np

from course_utils import models
from course_utils.gradcheck import default_epsilon, numerical_gradient, relative_difference
from course_utils.mistakes import EXERCISES, mistake

__all__ = ["COURSE_SEED", "GROUPS", "Case", "JudgeError", "Verdict", "cases", "collect", "decide", "judge"]

#: The course's fixed seed of the hidden cases in the masters' nbgrader hidden-test cells
#: (``judge(exercise, function, cases="hidden", rng=COURSE_SEED)``). The autograder draws a fresh seed per
#: submission (``python -m autograder grade --seed COURSE_SEED`` gives nbgrader's cases).
COURSE_SEED = 1515


class JudgeError(ValueError):
    """A judge was called with an unknown exercise or kind of cases, or observations it cannot read."""


#: Mistakes that give the same observations on every case of their exercise (different code, the same
#: numbers): a verdict names the whole group, with the hint they share, never one member alone.
GROUPS = (
    ("backward_propagation_fixed.relu_mask_dropped", "backward_propagation_fixed.relu_mask_from_activation"),
    ("k_from_report.cases_swapped", "k_from_report.norm_ratio_inverted"),
)


@dataclass(frozen=True)
class Verdict:
    """What a judge decided about one exercise.

    Attributes
    ----------
    passed : bool
    mistake_ids : tuple of str, catalogued mistake ids seen (empty when passed, or when the failure
        matches no catalogued mistake); a ``GROUPS`` entry is given whole
    hint : str, one or two sentences: what was seen and what to change ("" when passed)
    seen : str, the evidence, short (the call and what it returned or did)
    cases : int, how many cases were run
    used : str, which of the student's functions ran and which library pieces were handed to them
    """

    passed: bool
    mistake_ids: tuple
    hint: str
    seen: str
    cases: int
    used: str = ""

    @property
    def message(self):
        """str: the line a student reads (success line, or evidence, hint and what was used)."""
        if self.passed:
            return f"\u2714 {self.seen} {self.used}".strip()
        return f"\u2718 {self.seen}\n{self.hint}\n({self.used})"


@dataclass(frozen=True)
class Case:
    """One call of the student's function.

    Attributes
    ----------
    label : str, the call in a student's words (used in ``Verdict.seen``)
    args : tuple, plain data passed positionally
    setup : dict, plain data naming the instruments handed to the function (read by ``collect``)
    public : bool, a fixed case of the public test (its expected value may be shown)
    """

    label: str
    args: tuple
    setup: dict = field(default_factory=dict)
    public: bool = True


@dataclass(frozen=True)
class _Finding:
    ids: tuple
    seen: str
    hint: str


# ---------------------------------------------------------------------------------------------------
# Running student code and describing what it did
# ---------------------------------------------------------------------------------------------------

def _plain(value, depth=0):
    """(kind, plain value): a description of a returned value that travels as plain data."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
        value = value.item()  # a 0-d array holds one number: read it as that number
    if isinstance(value, (bool, np.bool_)):
        return "bool", bool(value)
    if isinstance(value, numbers.Real):
        return "number", float(value)
    if value is None:
        return "none", None
    if isinstance(value, np.ndarray):
        ok = value.dtype.kind in "biuf" and value.size <= 100_000
        return "array", np.array(value, dtype=float) if ok else None
    if isinstance(value, dict) and depth == 0:
        return "dict", {str(k): _plain(v, 1)[1] for k, v in list(value.items())[:50]}
    if isinstance(value, (tuple, list)) and depth == 0:
        return type(value).__name__, tuple(_plain(v, 1)[1] for v in list(value)[:20])
    if isinstance(value, str):
        return "str", value[:200]
    return "object", type(value).__name__


class _CappedText(io.StringIO):
    """A stdout for student code that keeps the first ``limit`` characters and counts the rest, so a
    function that prints in a loop cannot fill the memory of the process that judges it."""

    def __init__(self, limit=2000):
        super().__init__()
        self.limit, self.dropped = limit, 0

    def write(self, text):
        room = self.limit - self.tell()
        if room > 0:
            super().write(text[:room])
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)


def _call(function, args):
    """Call the student's function with stdout captured and warnings silenced; never raises.

    The arguments are passed as they are: callers hand over copies when they compare afterwards.

    Returns a dict: kind, value (see ``_plain``), stdout (str), error ((type name, first line) or None).
    """
    buffer = _CappedText()
    value, error = None, None
    with contextlib.redirect_stdout(buffer), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            value = function(*args)
        except (Exception, SystemExit) as exc:  # the student's code crashed: an observation too
            text = str(exc).strip().splitlines()
            error = (type(exc).__name__, text[0][:160] if text else "")
    kind, plain = _plain(value)
    return {"kind": kind, "value": plain, "stdout": buffer.getvalue(), "error": error}


@contextlib.contextmanager
def _names_set(function, **names):
    """Set names in ``function.__globals__`` (the notebook's namespace) for a while; always restored."""
    namespace = getattr(function, "__globals__", {})
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


class _Recorder:
    """A callable that records ``record(*args, **kwargs)`` of every call, then delegates."""

    def __init__(self, function, record):
        self.function, self.record, self.calls = function, record, []

    def __call__(self, *args, **kwargs):
        try:
            self.calls.append(self.record(*args, **kwargs))
        except Exception:  # called with arguments the instrument cannot read: noted, then delegated
            self.calls.append(None)
        return self.function(*args, **kwargs)


def _num(value):
    """float(value), or nan when it is not a number (e.g. an array of several entries)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _fmt(value):
    """A number in 4 significant digits (anything else as str)."""
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def _signature(function):
    """The names of the function's parameters (empty when they cannot be read)."""
    try:
        return tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return ()


def _same(got, predicted, rtol=1e-4, small=1e-7, huge=math.inf):
    """A returned number matches a prediction: equal to ``rtol``, both below ``small`` in size, or both
    blown up (non-finite, or above ``huge``: a division by a difference that is zero up to round-off)."""
    if not isinstance(got, float) or predicted is None:
        return False
    big = [not math.isfinite(v) or abs(v) > huge for v in (got, predicted)]
    if all(big):
        return True
    if any(big):
        return False
    return abs(got - predicted) <= rtol * abs(predicted) or (abs(got) < small and abs(predicted) < small)


def _rel(g, g_hat):
    """The library's relative difference (``gradcheck.relative_difference``) of two vectors, flattened;
    inf/nan never raised."""
    with np.errstate(all="ignore"):
        return relative_difference(np.ravel(np.asarray(g, dtype=float)), np.ravel(np.asarray(g_hat, dtype=float)))


def _describe(obs, call, what):
    """What a call returned, when it is not ``what`` (a sentence fragment), or None when it is a number."""
    kind, value = obs["kind"], obs["value"]
    if kind == "number":
        return None
    if kind == "none":
        printed = f" and printed {obs['stdout'].strip()[:40]!r}" if obs["stdout"].strip() else ""
        return f"{call} returned None{printed}"
    if kind == "bool":
        return f"{call} returned the boolean {value}, not {what}"
    if kind == "array":
        shape = value.shape if isinstance(value, np.ndarray) else "?"
        return f"{call} returned a numpy array of shape {shape}, not {what}"
    size = f" of length {len(value)}" if isinstance(value, (tuple, dict)) else ""
    return f"{call} returned a {value if kind == 'object' else kind}{size}, not {what}"


def _catalogued(ids, seen):
    """A finding naming catalogued mistake(s), with the (shared) catalogue hint."""
    ids = tuple(sorted(ids))
    return _Finding(ids, seen, mistake(ids[0]).hint)


def _error_finding(name, obs, call):
    """The finding for a crash: a stub, or the exception's first line with a general hint."""
    kind, text = obs["error"]
    if kind == "NotImplementedError":
        return _Finding((), f"{name} raised NotImplementedError",
                        f"{name} is not implemented yet: replace `raise NotImplementedError()` in its cell with "
                        f"your code, run that cell, then run this test again.")
    return _Finding((), f"{call} raised {kind}: {text}",
                    f"Your {name} crashed on this call; read the line the error names and run the cell's demo "
                    f"line to see it in the notebook.")


def _first(findings):
    """The first finding that is not None (or None)."""
    return next((f for f in findings if f is not None), None)


# ---------------------------------------------------------------------------------------------------
# Notebook 01: forward_propagation and backward_propagation (J(theta) = theta * x, dJ/dtheta = x)
# ---------------------------------------------------------------------------------------------------

#: (x, theta): signs mixed, theta = 0 once (where J / theta breaks), never x = 0.
_CASES_1D = ((2.0, 4.0), (-1.5, 2.0), (0.25, -7.0), (3.0, 0.0), (-4.0, -0.5))

#: exercise -> (what it returns, reference, {mistake id: prediction}).
_PREDICTIONS_1D = {
    "forward_propagation": ("the cost J(theta) = theta * x", models.forward_propagation, {
        "added": lambda x, t: t + x, "returned_x": lambda x, t: x, "returned_theta": lambda x, t: t,
        "squared_input": lambda x, t: t * x * x, "squared_cost": lambda x, t: (t * x) ** 2 / 2}),
    "backward_propagation": ("the derivative dJ/dtheta = x", models.backward_propagation, {
        "returned_theta": lambda x, t: t, "returned_cost": lambda x, t: t * x, "returned_zero": lambda x, t: 0.0,
        "returned_one": lambda x, t: 1.0, "negated": lambda x, t: -x}),
}


def _cases_1d(kind, rng):
    """The 1-D exercises' cases: fixed (x, theta) pairs, plus six random ones for hidden."""
    found = [Case(f"(x={x:g}, theta={t:g})", (x, t)) for x, t in _CASES_1D]
    for _ in range(6 if kind == "hidden" else 0):
        x = round(float(rng.choice([-1, 1]) * rng.uniform(0.5, 10.0)), 3)
        t = round(float(rng.uniform(-10.0, 10.0)), 3)
        found.append(Case(f"(x={x:g}, theta={t:g})", (x, t), public=False))
    return found


def _collect_1d(function, case, library):
    """One call of forward_propagation / backward_propagation, nothing handed in."""
    return _call(function, case.args)


def _decide_1d(name, cases, observations):
    """Findings for forward_propagation / backward_propagation: crashes, None, tuples, then formulas."""
    what, reference, predictions = _PREDICTIONS_1D[name]
    calls = [f"{name}{c.label}" for c in cases]
    if name == "backward_propagation":
        found = _divided_by_theta(cases, observations, calls)
        if found:
            return [found]
    for obs, call in zip(observations, calls):
        if obs["error"]:
            return [_error_finding(name, obs, call)]
    for obs, call, case in zip(observations, calls, cases):
        if obs["kind"] == "none":
            printed = obs["stdout"].strip() and name == "forward_propagation"
            which = "printed_not_returned" if printed else "no_return"
            return [_catalogued([f"{name}.{which}"], _describe(obs, call, what))]
        if obs["kind"] == "tuple" and name == "forward_propagation" and obs["value"] \
                and _same(_num(obs["value"][0]), reference(*case.args), 1e-9):
            return [_catalogued([f"{name}.returned_tuple"], _describe(obs, call, what))]
        problem = _describe(obs, call, what)
        if problem:
            return [_Finding((), problem, f"Return {what} as a number.")]
    got = [obs["value"] for obs in observations]
    wrong = [i for i, (g, c) in enumerate(zip(got, cases)) if not _same(g, reference(*c.args), 1e-9, 1e-12)]
    if not wrong:
        return []
    i = wrong[0]
    expected = f", expected {_fmt(reference(*cases[i].args))}" if cases[i].public else ""
    seen = f"{calls[i]} returned {_fmt(got[i])}{expected}"
    for what_id, predict in predictions.items():
        if all(_same(g, predict(*c.args), 1e-9, 1e-12) for g, c in zip(got, cases)):
            return [_catalogued([f"{name}.{what_id}"], seen)]
    return [_Finding((), seen, f"Your {name} does not return {what} on this call; compare your line with the formula.")]


def _divided_by_theta(cases, observations, calls):
    """backward_propagation right wherever theta != 0, crashing or non-finite at theta = 0."""
    at_zero = [i for i, c in enumerate(cases) if c.args[1] == 0]
    if not at_zero:
        return None
    for i, (case, obs) in enumerate(zip(cases, observations)):
        if i in at_zero:
            value = obs["value"] if obs["kind"] == "number" else 0.0
            if not (obs["error"] and obs["error"][0] == "ZeroDivisionError") and math.isfinite(value):
                return None
        elif obs["error"] or not _same(obs["value"] if obs["kind"] == "number" else None, case.args[0], 1e-9, 1e-12):
            return None
    obs, call = observations[at_zero[0]], calls[at_zero[0]]
    what = f"raised {obs['error'][0]}" if obs["error"] else f"returned {_fmt(obs['value'])}"
    return _catalogued(["backward_propagation.divided_by_theta"], f"{call} {what}, right wherever theta != 0")


# ---------------------------------------------------------------------------------------------------
# Notebook 01: gradient_check
# ---------------------------------------------------------------------------------------------------

#: Linear cost J(theta) = theta * x with derivative k * x: (x, theta, k, epsilon or None for the default).
_GC_LINEAR = ((3.0, 4.0, 1.0, None), (-1.5, 2.0, 3.0, None), (2.0, -0.5, -1.0, None), (1.0, 0.0, -1.0, None),
              (0.5, 1.5, 0.0, None), (-2.5, 3.0, 0.5, None), (1.0, 2.0, -1.0, 0.25), (3.0, 2.0, 1.0, 1e-3))
#: Curved cost J = x * theta**3 with its right derivative: (x, theta, epsilon).
_GC_CURVED = ((1.5, 2.0, 1e-2), (1.5, 2.0, 1e-3), (-0.5, 1.2, 1e-2))


def _gc_case(x, theta, k, epsilon, public=True):
    cost = "linear" if k is not None else "cube"
    derivative = f"dJ/dtheta = {k:g}*x" if k is not None else "J = x*theta**3 and its right derivative"
    step = "" if epsilon is None else f", epsilon={epsilon:g}"
    args = (x, theta) if epsilon is None else (x, theta, epsilon, False)
    return Case(f"with {derivative}: gradient_check(x={x:g}, theta={theta:g}{step})", args,
                {"cost": cost, "k": 1.0 if k is None else k}, public)


def _cases_gc(kind, rng):
    """Linear costs with right and wrong derivatives, curved costs; hidden adds random ones."""
    found = [_gc_case(*c) for c in _GC_LINEAR] + [_gc_case(x, t, None, e) for x, t, e in _GC_CURVED]
    if kind == "hidden":
        for k in (1.0, round(float(rng.uniform(1.5, 4.0)), 3), -round(float(rng.uniform(0.5, 2.0)), 3),
                  round(float(rng.uniform(0.2, 0.7)), 3)):
            x = round(float(rng.choice([-1, 1]) * rng.uniform(0.5, 5.0)), 3)
            found.append(_gc_case(x, round(float(rng.uniform(-5, 5)), 3), k, None, False))
        x, t = round(float(rng.uniform(0.5, 3.0)), 3), round(float(rng.uniform(0.5, 2.0)), 3)
        found.append(_gc_case(x, t, 1.0, float(10 ** rng.uniform(-4, -2)), False))
        found.append(_gc_case(-x, t, None, float(10 ** rng.uniform(-3, -2)), False))
    return found


def _gc_pieces(setup):
    """(cost, derivative) handed to gradient_check for a case's setup."""
    if setup["cost"] == "cube":
        return (lambda x, theta: x * theta ** 3), (lambda x, theta: 3 * x * theta ** 2)
    k = setup["k"]
    return (lambda x, theta: theta * x), (lambda x, theta: k * x)


def _collect_gc(function, case, library):
    """One call of gradient_check with a recording cost and derivative in its globals."""
    forward, backward = _gc_pieces(case.setup)
    point = (lambda x, theta: (_num(x), _num(theta)))
    cost, derivative = _Recorder(forward, point), _Recorder(backward, point)
    with _names_set(function, forward_propagation=cost, backward_propagation=derivative):
        obs = _call(function, case.args)
    obs["signature"] = _signature(function)
    obs["forward_at"] = tuple(c if c else (math.nan, math.nan) for c in cost.calls[:50])
    obs["backward_at"] = tuple(c if c else (math.nan, math.nan) for c in derivative.calls[:50])
    return obs


def _gc_predictions(case):
    """mistake id (None: right) -> acceptable returned values for a linear case."""
    x, theta = case.args[:2]
    eps = case.args[2] if len(case.args) > 2 else 1e-7
    g = case.setup["k"] * models.backward_propagation(x, theta)
    jp, jm = models.forward_propagation(x, theta + eps), models.forward_propagation(x, theta - eps)
    s = float(numerical_gradient(lambda p: models.forward_propagation(x, p["theta"][0]),
                                 {"theta": np.array([theta], dtype=float)}, eps)["dtheta"][0])
    with np.errstate(all="ignore"):
        a, b, d = np.float64(abs(g)), np.float64(abs(s)), np.float64(abs(g - s))
        return {None: (_rel(g, s),), "divided_by_epsilon": (_rel(g, (jp - jm) / eps),),
                "missing_parentheses": (_rel(g, jp - jm / (2 * eps)),),
                "divided_then_multiplied": (_rel(g, (jp - jm) / 2 * eps),),
                "sign_error": (_rel(g, (jm - jp) / (2 * eps)),), "returned_gradapprox": (s,),
                "no_denominator": (float(d),), "grad_only_denominator": (float(d / a),),
                "norm_of_sum": (float(d / np.float64(abs(g + s))),),
                "difference_of_norms": (float((a - b) / (a + b)), float(abs(a - b) / (a + b)))}


def _decide_gc(cases, observations):
    """Findings for gradient_check: signature, crash, type, points, derivative call, formula, stdout."""
    name = "gradient_check"
    calls = [c.label for c in cases]
    if "print_msg" not in observations[0]["signature"]:
        return [_catalogued([f"{name}.old_signature"], f"your gradient_check's parameters are "
                             f"{', '.join(observations[0]['signature'])}: there is no print_msg")]
    findings = [_first(_error_finding(name, o, c) if o["error"] else None for o, c in zip(observations, calls))]
    for obs, call in zip(observations, calls):
        if obs["kind"] in ("bool", "array") and not findings[0]:
            what = "returns_verdict" if obs["kind"] == "bool" else "returned_array"
            findings[0] = _catalogued([f"{name}.{what}"], _describe(obs, call, "the relative difference"))
        elif obs["kind"] != "number" and not findings[0]:
            findings[0] = _Finding((), _describe(obs, call, "the relative difference"),
                                   "Return the relative difference as a float, e.g. float(numerator / denominator).")
    if not findings[0]:
        findings[0] = _first((_gc_points(cases, observations), _gc_backward(cases, observations),
                              _gc_values(cases, observations), _gc_curved(cases, observations)))
    quiet = [c for c, o in zip(calls, observations) if o["stdout"].strip() and not o["error"]]
    if quiet:
        text = observations[calls.index(quiet[0])]["stdout"].strip()
        findings.append(_catalogued([f"{name}.prints_when_quiet"],
                                    f"{quiet[0]} (print_msg=False) printed {text[:60]!r}"))
    return [f for f in findings if f]


def _gc_offsets(case, obs):
    """Evaluation points of a case in units of epsilon from theta, and whether x moved."""
    x, theta, eps = case.args[:3]
    xs = [p[0] for p in obs["forward_at"]]
    offsets = [(p[1] - theta) / eps for p in obs["forward_at"]]
    moved = any(not abs(v - x) <= 1e-9 * max(1.0, abs(x)) for v in xs)
    return offsets, moved


def _near(offsets, target):
    """Some offset equals ``target`` (in units of epsilon)."""
    return any(abs(o - target) < 1e-6 for o in offsets)


def _gc_points(cases, observations):
    """Where the cost was evaluated, on the cases with an explicit epsilon: centered, or which mistake."""
    explicit = [(c, o) for c, o in zip(cases, observations) if len(c.args) > 2 and not o["error"]]
    one_sided = None  # one side only, on a case whose value cannot say which mistake: try the next case
    for case, obs in explicit:
        if not obs["forward_at"]:
            return _Finding((), f"{case.label}: forward_propagation was never called",
                            "Evaluate the cost with forward_propagation(x, theta_plus) and "
                            "forward_propagation(x, theta_minus).")
        offsets, moved = _gc_offsets(case, obs)
        where = ", ".join(f"theta{o:+.4g}eps" if abs(o) > 1e-12 else "theta" for o in offsets)
        seen = f"{case.label}: forward_propagation was evaluated at {where}"
        if moved:
            x, eps = case.args[0], case.args[2]
            at = ", ".join(f"x{(p[0] - x) / eps:+.4g}eps" if abs(p[0] - x) > 1e-12 else "x" for p in obs["forward_at"])
            return _catalogued(["gradient_check.perturbed_x"], f"{case.label}: forward_propagation was evaluated "
                               f"with x moved, at {at} (theta at {where})")
        plus, minus, zero = _near(offsets, 1), _near(offsets, -1), _near(offsets, 0)
        if plus and minus:
            continue
        if not (plus or minus):
            return _gc_step(explicit, seen)
        found = _gc_one_sided(case, obs, seen, plus, zero)
        if found:
            return found
        one_sided = one_sided or _Finding((), seen, "Evaluate the cost on both sides: J_plus at theta + epsilon "
                                                    "and J_minus at theta - epsilon, then (J_plus - J_minus) / "
                                                    "(2 * epsilon).")
    return one_sided


def _gc_one_sided(case, obs, seen, plus, zero):
    """Only one side of theta was evaluated: which mistake, from the points and the returned value
    (None when this case's value fits both or neither)."""
    if not zero:
        return _catalogued([f"gradient_check.{'plus' if plus else 'minus'}_twice"], seen)
    forward, backward = _gc_pieces(case.setup)
    x, theta, eps = case.args[:3]
    slope = (forward(x, theta + eps) - forward(x, theta)) / eps if plus else \
        (forward(x, theta) - forward(x, theta - eps)) / eps
    g = backward(x, theta)
    got = obs["value"] if obs["kind"] == "number" else None
    full, half = ("forward_difference", "one_sided_half") if plus else ("backward_difference",
                                                                        "theta_passed_unperturbed")
    fits = [what for what, approx in ((full, slope), (half, slope / 2)) if _same(got, _rel(g, approx), 1e-3, 1e-9)]
    return _catalogued([f"gradient_check.{fits[0]}"], seen) if len(fits) == 1 else None


def _gc_step(explicit, seen, exercise="gradient_check"):
    """Symmetric points at a step other than epsilon: the same absolute step for every epsilon?"""
    steps = {}
    for case, obs in explicit:
        thetas = [p[1] for p in obs["forward_at"]]
        if thetas:
            steps[case.args[2]] = max(abs(t - case.args[1]) for t in thetas)
    values = list(steps.values())
    if len(steps) > 1 and all(math.isclose(v, values[0], rel_tol=1e-3) for v in values):
        return _catalogued([f"{exercise}.ignored_epsilon"],
                           f"{seen}: the same step {values[0]:.3g} for epsilon = "
                           f"{', '.join(f'{e:g}' for e in steps)}")
    return _Finding((), seen, "Nudge theta by exactly epsilon: theta_plus = theta + epsilon, "
                              "theta_minus = theta - epsilon.")


def _gc_backward(cases, observations):
    """backward_propagation must be called, at the x and theta given."""
    for case, obs in zip(cases, observations):
        if obs["error"]:
            continue
        if not obs["backward_at"]:
            return _catalogued(["gradient_check.self_comparison"],
                               f"{case.label}: backward_propagation was never called")
        x, theta = case.args[:2]
        moved = [p for p in obs["backward_at"] if p != (x, theta)]
        if moved:
            eps = case.args[2] if len(case.args) > 2 else 1e-7
            at = ", ".join(f"theta{(p[1] - theta) / eps:+.3g}eps" for p in moved[:2])
            return _catalogued(["gradient_check.grad_at_perturbed_theta"],
                               f"{case.label}: backward_propagation was called at {at}")
    return None


def _gc_values(cases, observations):
    """Which formula explains every number returned on the linear cases."""
    linear = [(c, o["value"]) for c, o in zip(cases, observations) if c.setup["cost"] == "linear"]
    predictions = [_gc_predictions(c) for c, _ in linear]
    matched = [m for m in predictions[0] if all(any(_same(got, p, huge=1e3) for p in pr[m])
                                                for (_, got), pr in zip(linear, predictions))]
    if None in matched:
        return None
    bad = [(c, got, pr[None][0]) for (c, got), pr in zip(linear, predictions) if not _same(got, pr[None][0])]
    shown = bad[:1] + [b for b in bad[1:] if b[0].setup["k"] < 0 <= bad[0][0].setup["k"]][:1]
    seen = "; ".join(f"{case.label} returned {_fmt(got)}" + _expected(case, expected) for case, got, expected in shown)
    if len(matched) == 1:
        return _catalogued([f"gradient_check.{matched[0]}"], seen)
    return _Finding((), seen, "Check the centered difference (J_plus - J_minus) / (2 * epsilon) and the relative "
                              "difference ||grad - gradapprox|| / (||grad|| + ||gradapprox||).")


def _expected(case, expected):
    """", expected ..." for a public case (a hidden case's expected value is never shown)."""
    if not case.public:
        return ""
    if case.setup.get("k") == 1.0 and expected < 1e-7:
        return ", expected below 1e-07"
    return f", expected {_fmt(expected)}"


def _gc_curved(cases, observations):
    """On the curved cost, the value must be the centered difference's (off by about epsilon**2)."""
    for case, obs in zip(cases, observations):
        if case.setup["cost"] != "cube":
            continue
        forward, backward = _gc_pieces(case.setup)
        x, theta, eps = case.args[:3]
        expected = _rel(backward(x, theta), (forward(x, theta + eps) - forward(x, theta - eps)) / (2 * eps))
        if not _same(obs["value"], expected, 1e-3, 1e-12):
            shown = f", the centered difference gives {_fmt(expected)}" if case.public else ""
            return _Finding((), f"{case.label} returned {_fmt(obs['value'])}{shown}",
                            "On a curved cost your check differs from the centered difference; compute "
                            "(J(theta + epsilon) - J(theta - epsilon)) / (2 * epsilon) with the epsilon passed.")
    return None


# ---------------------------------------------------------------------------------------------------
# Notebook 02: gradient_check_n
# ---------------------------------------------------------------------------------------------------

def _network(rng, sizes, m):
    """(X, Y, parameters) of a random 3-layer network of the course's kind (both labels present)."""
    from course_utils.models import initialize_mlp
    parameters = initialize_mlp(list(sizes), rng)
    X = np.round(rng.standard_normal((sizes[0], m)), 4)
    Y = (rng.random((1, m)) > 0.5).astype(float)
    Y[0, 0], Y[0, -1] = 1.0, 0.0
    return X, Y, parameters


def _right_gradients(X, Y, parameters):
    """The library's gradients of the network's cost."""
    from course_utils.models import backward_propagation_n, forward_propagation_n
    return backward_propagation_n(X, Y, forward_propagation_n(X, Y, parameters)[1])


def _plant_bug(gradients, rng):
    """A copy of ``gradients`` with one block wrong (scaled, negated or shifted), and its description."""
    key = list(gradients)[int(rng.integers(len(gradients)))]
    wrong = {k: np.array(v, copy=True) for k, v in gradients.items()}
    kind = int(rng.integers(3))
    if kind == 0:
        factor = round(float(rng.choice([rng.uniform(1.5, 3.0), rng.uniform(0.2, 0.6)])), 3)
        wrong[key], text = wrong[key] * factor, f"{key}*{factor:g}"
    elif kind == 1:
        wrong[key], text = -wrong[key], f"{key} negated"
    else:
        shift = round(float(rng.uniform(0.2, 0.8)), 3)
        wrong[key], text = wrong[key] + shift, f"{key}+{shift:g}"
    return wrong, text


def _gcn_case(label, X, Y, parameters, gradients, epsilon, right, public=True):
    args = (parameters, gradients, X, Y) if epsilon is None else (parameters, gradients, X, Y, epsilon, False)
    step = "" if epsilon is None else f", epsilon={epsilon:g}"
    return Case(f"gradient_check_n on {label}{step}", args, {"right": right}, public)


def _cases_gcn(kind, rng):
    """The test case and a small network, right and wrong gradients, several epsilons;
    hidden adds a random network with right (reordered) and planted-bug gradients."""
    from course_utils.testcases import gradient_check_n_test_case
    X, Y, p = gradient_check_n_test_case()
    right = _right_gradients(X, Y, p)
    X2, Y2, p2 = _network(np.random.default_rng(11), (3, 4, 2, 1), 5)
    right2 = _right_gradients(X2, Y2, p2)
    found = [
        _gcn_case("the test case with right gradients", X, Y, p, right, None, True),
        _gcn_case("the test case with dW2*2 and db1*4", X, Y, p,
                  dict(right, dW2=2 * right["dW2"], db1=4 * right["db1"]), 1e-4, False),
        _gcn_case("a 3-4-2-1 network with dW1 negated and db3+0.5", X2, Y2, p2,
                  dict(right2, dW1=-right2["dW1"], db3=right2["db3"] + 0.5), 1e-6, False),
        _gcn_case("a 3-4-2-1 network with right gradients listed b3 first", X2, Y2, p2,
                  dict(reversed(list(right2.items()))), 1e-6, True),
        _gcn_case("a 3-4-2-1 network with every dW*1.5", X2, Y2, p2,
                  {k: v * (1.5 if k.startswith("dW") else 1.0) for k, v in right2.items()}, 1e-3, False),
    ]
    if kind == "hidden":
        sizes = (int(rng.integers(2, 5)), int(rng.integers(2, 6)), int(rng.integers(1, 4)), 1)
        Xr, Yr, pr = _network(rng, sizes, int(rng.integers(3, 7)))
        grads, eps, net = _right_gradients(Xr, Yr, pr), float(10 ** rng.uniform(-6, -3)), "-".join(map(str, sizes))
        order = [list(grads)[i] for i in rng.permutation(len(grads))]
        found.append(_gcn_case(f"a random {net} network with right gradients", Xr, Yr, pr,
                               {k: grads[k] for k in order}, eps, True, False))
        wrong, text = _plant_bug(grads, rng)
        found.append(_gcn_case(f"a random {net} network with {text}", Xr, Yr, pr, wrong, eps, False, False))
    return found


def _flat(parameters, keys):
    """The parameters dict as one vector in the order of ``keys`` (nan when it cannot be read)."""
    return np.concatenate([np.ravel(np.asarray(parameters[k], dtype=float)) for k in keys])


def _library_nd(library):
    from course_utils import models, parameters
    names = {"forward_propagation_n": models.forward_propagation_n,
             "dictionary_to_vector": parameters.dictionary_to_vector,
             "vector_to_dictionary": parameters.vector_to_dictionary,
             "gradients_to_vector": parameters.gradients_to_vector}
    names.update({k: v for k, v in (library or {}).items() if k in names})
    return names


def _collect_gcn(function, case, library):
    """One call of gradient_check_n with a recording forward_propagation_n and the course's helpers;
    on a crash, one more call whose forward pass returns the cost alone (was the tuple stored?)."""
    names = _library_nd(library)
    keys = list(case.args[0])
    n = _flat(case.args[0], keys).size
    cost = _Recorder(names["forward_propagation_n"], lambda X, Y, parameters: _flat(parameters, keys))
    v2d = _Recorder(names["vector_to_dictionary"], lambda *args, **kwargs: len(args) + len(kwargs))
    given = copy.deepcopy(case.args)
    with _names_set(function, **dict(names, forward_propagation_n=cost, vector_to_dictionary=v2d)):
        obs = _call(function, given)
    obs["signature"] = _signature(function)
    rows = [c if isinstance(c, np.ndarray) and c.shape == (n,) else np.full(n, np.nan) for c in cost.calls[:2000]]
    obs["points"] = np.array(rows).reshape(len(rows), n)
    obs["changed"] = _changed(case.args, given)
    obs["one_arg_v2d"] = 1 in v2d.calls
    obs["bare_cost_ok"] = False
    if obs["error"] and cost.calls and not obs["one_arg_v2d"]:  # did it store the (cost, cache) tuple?
        bare = (lambda X, Y, parameters: names["forward_propagation_n"](X, Y, parameters)[0])
        with _names_set(function, **dict(names, forward_propagation_n=bare)):
            again = _call(function, copy.deepcopy(case.args))
        obs["bare_cost_ok"] = not again["error"] and again["kind"] == "number"
    return obs


def _changed(before, after):
    """Which of the caller's arguments (parameters, gradients, X, Y) the call changed."""
    changed = []
    for label, old, new in zip(("parameters", "gradients", "X", "Y"), before, after):
        pairs = [(f"{label}['{k}']", v, new.get(k) if isinstance(new, dict) else None) for k, v in old.items()] \
            if isinstance(old, dict) else [(label, old, new)]
        for what, a, b in pairs:
            if not (isinstance(b, np.ndarray) and b.shape == np.shape(a) and np.array_equal(a, b)):
                changed.append(what)
    return tuple(changed)


_REFERENCES = {}


def _reference_gradapprox(X, Y, parameters, epsilon):
    """The centered differences notebook 2's loop computes, shape (n,) (memoised on the data)."""
    from course_utils.gradcheck import numerical_gradient
    from course_utils.models import forward_propagation_n
    digest = hashlib.sha1(repr(epsilon).encode())
    for a in [X, Y] + [parameters[k] for k in parameters]:
        digest.update(np.ascontiguousarray(a, dtype=float).tobytes() + repr(np.shape(a)).encode())
    key = digest.hexdigest()
    value = _REFERENCES.get(key)
    if value is None:  # read once: another grader thread may clear the memo between two lookups
        if len(_REFERENCES) > 64:
            _REFERENCES.clear()
        approx = numerical_gradient(lambda p: forward_propagation_n(X, Y, p)[0], parameters, epsilon)
        value = _REFERENCES[key] = np.concatenate([np.ravel(approx["d" + k]) for k in parameters])
    return value


def _gcn_predictions(case):
    """mistake id (None: right) -> acceptable returned values of gradient_check_n on a case."""
    parameters, gradients, X, Y = case.args[:4]
    r = _reference_gradapprox(X, Y, parameters, case.args[4] if len(case.args) > 4 else 1e-7)
    g = np.concatenate([np.ravel(gradients["d" + k]) for k in parameters])
    in_sorted = np.concatenate([np.ravel(gradients[k]) for k in sorted(gradients)])
    in_dict = np.concatenate([np.ravel(v) for v in gradients.values()])
    norm, d = np.linalg.norm, float(np.linalg.norm(g - r))
    with np.errstate(all="ignore"):
        return {None: (_rel(g, r),), "divided_by_epsilon": (_rel(g, 2 * r),), "sign_error": (_rel(g, -r),),
                "other_key_order": (_rel(in_sorted, r),), "gradients_in_dict_order": (_rel(in_dict, r),),
                "no_denominator": (d,), "grad_only_denominator": (d / norm(g),), "norm_of_sum": (d / norm(g + r),),
                "difference_of_norms": ((norm(g) - norm(r)) / (norm(g) + norm(r)),
                                        abs(norm(g) - norm(r)) / (norm(g) + norm(r))),
                "self_comparison": (0.0,),
                "shape_broadcast": (norm(g[:, None] - r[None, :]) / (norm(g) + norm(r)),),
                "gradapprox_overwritten": (norm(g - r[-1]) / (norm(g) + abs(r[-1])),)}


def _decide_gcn(cases, observations):
    """Findings for gradient_check_n: signature, crash, type, caller's arrays, points, formula, stdout."""
    name = "gradient_check_n"
    signature = observations[0]["signature"]
    if len(signature) >= 4 and "print_msg" not in signature:
        return [_catalogued([f"{name}.old_signature"],
                            f"your gradient_check_n's parameters are {', '.join(signature)}: there is no print_msg")]
    findings = [_first(_gcn_crash(c, o) for c, o in zip(cases, observations))]
    for case, obs in zip(cases, observations):
        if findings[0]:
            break
        if obs["kind"] == "array":
            findings[0] = _catalogued([f"{name}.returned_gradapprox"],
                                      _describe(obs, case.label, "the relative difference"))
        elif obs["kind"] != "number":
            findings[0] = _Finding((), _describe(obs, case.label, "the relative difference"),
                                   "Return the relative difference as a float, e.g. float(numerator / denominator).")
        elif obs["changed"]:
            ids = [f"{name}.parameters_left_changed"] if obs["changed"][0].startswith("parameters") else []
            seen = f"{case.label}: the caller's {', '.join(obs['changed'][:3])} changed"
            findings[0] = _catalogued(ids, seen) if ids else _Finding((), seen, "Never write into the arguments.")
    if not findings[0]:
        findings[0] = _first((_gcn_points(cases, observations), _gcn_values(cases, observations)))
    quiet = [(c, o) for c, o in zip(cases, observations) if o["stdout"].strip() and not o["error"]]
    if quiet:
        findings.append(_catalogued([f"{name}.prints_when_quiet"], f"{quiet[0][0].label} (print_msg=False) "
                                    f"printed {quiet[0][1]['stdout'].strip()[:60]!r}"))
    return [f for f in findings if f]


def _gcn_crash(case, obs):
    """A crash of gradient_check_n, named when the recorders saw why."""
    if not obs["error"]:
        return None
    kind, text = obs["error"]
    if obs["one_arg_v2d"]:
        return _catalogued(["gradient_check_n.old_helper_calls"],
                           f"{case.label}: vector_to_dictionary was called with one argument ({kind}: {text})")
    if obs["bare_cost_ok"]:
        return _catalogued(["gradient_check_n.cost_cache_not_unpacked"],
                           f"{case.label} raised {kind}: {text[:60]}; the same code ran when forward_propagation_n "
                           f"returned the cost alone")
    return _error_finding("gradient_check_n", obs, case.label)


def _gcn_points(cases, observations):
    """Where the cost was evaluated (cases with epsilon >= 1e-6): each entry alone at +eps and -eps."""
    usable = [(c, o) for c, o in zip(cases, observations) if len(c.args) > 4 and c.args[4] >= 1e-6]
    for case, obs in usable:
        origin, eps = _flat(case.args[0], list(case.args[0])), case.args[4]
        if not len(obs["points"]):
            return _Finding((), f"{case.label}: forward_propagation_n was never called",
                            "Evaluate the cost with forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, "
                            "parameters)) for every entry.")
        found = _point_pattern(case, (obs["points"] - origin) / eps, origin.size, usable)
        if found:
            return found
    return None


def _point_pattern(case, deltas, n, usable):
    """The finding the evaluation points show (deltas: (calls, n) offsets in units of epsilon), or None."""
    moved = np.abs(deltas) > 1e-6
    counts = moved.sum(axis=1)
    several = np.flatnonzero(counts > 1)
    if several.size:
        rows = deltas[several]
        mixed = np.any((rows > 1e-6).any(axis=1) & (rows < -1e-6).any(axis=1))
        what = "all_entries_perturbed" if np.all(counts[several] == n) and not mixed else \
            "unrestored_perturbation" if mixed else "copied_once"
        first = rows[0][np.abs(rows[0]) > 1e-6]
        shown = ", ".join(f"{c} at {o:+.4g}eps" for o, c in zip(*np.unique(np.round(first, 4), return_counts=True)))
        return _catalogued([f"gradient_check_n.{what}"], f"{case.label}: {several.size} of {len(deltas)} "
                           f"evaluations moved several entries at once (one of them: {shown})")
    alone = np.flatnonzero(counts == 1)
    entry, offset = moved[alone].argmax(axis=1), deltas[alone, moved[alone].argmax(axis=1)]
    plus = set(entry[np.abs(offset - 1) < 1e-6].tolist())
    minus = set(entry[np.abs(offset + 1) < 1e-6].tolist())
    at_origin = int(np.sum(counts == 0))
    if len(plus) == n and len(minus) == n:
        return None
    seen = (f"{case.label}: {len(plus)} of {n} entries were moved alone by +epsilon, {len(minus)} by -epsilon; "
            f"{at_origin} evaluations at theta itself")
    if not plus and not minus and alone.size:
        return _gc_step(_steps_nd(usable), seen, "gradient_check_n")
    if plus | minus == set(range(n - 1)):
        return _catalogued(["gradient_check_n.last_entry_skipped"], seen + f"; entry {n - 1} (the last) never moved")
    if len(plus) == n and not minus:
        what = "forgot_copy" if at_origin > 1 else "forward_difference" if at_origin == 1 else "plus_twice"
        return _catalogued([f"gradient_check_n.{what}"], seen)
    return _Finding((), seen, "Loop over every entry i: a fresh copy of theta with entry i + epsilon, another with "
                              "entry i - epsilon, one cost each.")


def _steps_nd(usable):
    """(case, observation) pairs shaped for ``_gc_step``: the absolute steps of gradient_check_n's points."""
    out = []
    for case, obs in usable:
        origin = _flat(case.args[0], list(case.args[0]))
        steps = np.max(np.abs(obs["points"] - origin), axis=1) if len(obs["points"]) else np.zeros(0)
        out.append((Case(case.label, (0.0, 0.0, case.args[4])), {"forward_at": tuple((0.0, s) for s in steps)}))
    return out


def _gcn_values(cases, observations):
    """Which formula explains every returned number: the right one, or one catalogued mistake's."""
    got = [o["value"] for o in observations]
    predictions = [_gcn_predictions(c) for c in cases]

    def fits(m, g, c, pr):
        right = m is None and c.setup["right"] and 0.0 <= g < 1e-6
        return right or any(_same(g, p, 1e-3) for p in pr[m])
    matched = [m for m in predictions[0] if all(fits(m, g, c, pr) for g, c, pr in zip(got, cases, predictions))]
    if None in matched:
        return None
    case, value, expected = next((c, g, pr[None][0]) for g, c, pr in zip(got, cases, predictions)
                                 if not fits(None, g, c, pr))
    shown = "" if not case.public else \
        ", expected below 1e-06" if case.setup["right"] else f", expected {_fmt(expected)}"
    seen = f"{case.label} returned {_fmt(value)}{shown}"
    if len(matched) == 1:
        return _catalogued([f"gradient_check_n.{matched[0]}"], seen)
    return _Finding((), seen, "Check gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon) and the relative "
                              "difference ||grad - gradapprox|| / (||grad|| + ||gradapprox||).")


# ---------------------------------------------------------------------------------------------------
# Notebook 03: k_from_report
# ---------------------------------------------------------------------------------------------------

_BLOCKS = ("W1", "b1", "W2", "b2", "W3", "b3")
#: (scaled blocks, the block asked for); the last report has two scaled blocks, W1 not the worst.
_K_CASES = (((("b2", 3.0),), "b2"), ((("W1", 0.25),), "W1"), ((("b3", 7.0),), "b3"), ((("W3", 0.6),), "W3"),
            ((("b2", 3.0), ("W1", 0.5)), "W1"))
_REPORTS = {}


def _k_case(scales, name, public=True):
    what = " and ".join(f"d{b}*{k:g}" for b, k in scales)
    return Case(f"on a report of {what}, k_from_report(report, {name!r})", (),
                {"scales": tuple(scales), "name": name}, public)


def _cases_k(kind, rng):
    """Reports of scale bugs (k above and below 1, one report with two blocks); hidden adds random ones."""
    found = [_k_case(s, n) for s, n in _K_CASES]
    if kind == "hidden":
        names = [str(b) for b in rng.permutation(_BLOCKS)]
        for k, name in zip((rng.uniform(1.5, 9.0), rng.uniform(0.1, 0.7), rng.uniform(1.1, 1.6)), names):
            found.append(_k_case(((name, round(float(k), 3)),), name, False))
        two = ((names[3], round(float(rng.uniform(2.5, 5.0)), 3)), (names[4], round(float(rng.uniform(0.55, 0.8)), 3)))
        found.append(_k_case(two, names[4], False))
    return found


def _report(scales):
    """The checker's report on the test case with these blocks scaled (memoised; never handed out)."""
    from course_utils.bugs import check_backward, inject, scale_bug
    key = tuple((str(b), float(k)) for b, k in scales)
    value = _REPORTS.get(key)
    if value is None:  # read once: another grader thread may clear the memo between two lookups
        if len(_REPORTS) > 64:  # hidden cases draw new factors: keep the memo small in a long-running grader
            _REPORTS.clear()
        value = _REPORTS[key] = check_backward(inject([scale_bug(b, k) for b, k in key]))
    return value


def _collect_k(function, case, library):
    """One call of k_from_report on a copy of the case's report."""
    return _call(function, (copy.deepcopy(_report(case.setup["scales"])), case.setup["name"]))


def _k_predictions(case):
    """mistake id (None: right) -> what k_from_report returns on a case."""
    report = _report(case.setup["scales"])
    block, worst = report.block(case.setup["name"]), report.blocks[0]

    def solve(r, larger):
        return (1 + r) / (1 - r) if larger else (1 - r) / (1 + r)
    r, larger = block.relative_difference, block.analytic_norm >= block.numeric_norm
    k = solve(r, larger)
    return {None: k, "cases_swapped": 1 / k, "always_larger_case": solve(r, True),
            "always_smaller_case": solve(r, False), "returned_r": r, "negated": -k,
            "missing_parentheses": 1 + r / (1 - r) if larger else 1 - r / (1 + r),
            "global_difference": solve(report.relative_difference, larger),
            "ignored_name": solve(worst.relative_difference, worst.analytic_norm >= worst.numeric_norm)}


def _decide_k(cases, observations):
    """Findings for k_from_report: crash, type, then which formula explains every k returned."""
    for case, obs in zip(cases, observations):
        if obs["error"]:
            return [_error_finding("k_from_report", obs, case.label)]
        problem = _describe(obs, case.label, "the factor k")
        if problem:
            return [_Finding((), problem, "Return the factor k as a float.")]
    got = [o["value"] for o in observations]
    predictions = [_k_predictions(c) for c in cases]
    matched = [m for m in predictions[0] if all(_same(g, p[m], 1e-5, 0.0) for g, p in zip(got, predictions))]
    if None in matched:
        return []
    case, value, k = next((c, g, p[None]) for c, g, p in zip(cases, got, predictions)
                          if not _same(g, p[None], 1e-5, 0.0))
    seen = f"{case.label} returned {_fmt(value)}" + (f", expected {_fmt(k)}" if case.public else "")
    if len(matched) == 1:
        ids = next((g for g in GROUPS if f"k_from_report.{matched[0]}" in g), [f"k_from_report.{matched[0]}"])
        return [_catalogued(ids, seen)]
    return [_Finding((), seen, "Solve r = |k - 1| / (k + 1) for k with the named block's relative difference: "
                               "(1 + r) / (1 - r) when its analytic norm is the larger one, else (1 - r) / (1 + r).")]


# ---------------------------------------------------------------------------------------------------
# Notebook 03: backward_propagation_fixed
# ---------------------------------------------------------------------------------------------------

#: Library functions that compute (or build) a 3-layer backward pass: the fixed exercise may call none.
_LIBRARY_BACKWARDS = (("course_utils.bugs", "correct"), ("course_utils.bugs", "inject"),
                      ("course_utils.bug_machinery", "inject"), ("course_utils.bug_machinery", "compile_backward"),
                      ("course_utils.models", "backward_propagation_n"), ("course_utils.models", "mlp_backward"))


def _cases_fixed(kind, rng):
    """The test case and two fixed random networks; hidden adds two random ones."""
    from course_utils.models import forward_propagation_n
    from course_utils.testcases import gradient_check_n_test_case
    fixed = np.random.default_rng(33)
    nets = [("the test case (m=3)",) + gradient_check_n_test_case()]
    nets += [(f"a {'-'.join(map(str, s))} network (m={m})",) + _network(fixed, s, m)
             for s, m in (((3, 6, 4, 1), 7), ((5, 4, 6, 1), 9))]
    public = len(nets)
    for _ in range(2 if kind == "hidden" else 0):
        sizes, m = tuple(int(rng.integers(2, 7)) for _ in range(3)) + (1,), int(rng.integers(3, 9))
        nets.append((f"a random {'-'.join(map(str, sizes))} network (m={m})",) + _network(rng, sizes, m))
    return [Case(f"backward_propagation_fixed on {d}", (X, Y, forward_propagation_n(X, Y, p)[1]), {}, i < public)
            for i, (d, X, Y, p) in enumerate(nets)]


@contextlib.contextmanager
def _library_recorded(function, called):
    """Replace the library's backward passes (module attributes, and the same objects among the
    function's globals) by recorders that append their name to ``called``; always restored."""
    originals = []
    for module_name, attr in _LIBRARY_BACKWARDS:
        module = importlib.import_module(module_name)
        if hasattr(module, attr):
            originals.append((module, attr, getattr(module, attr)))

    def recorder(attr, original):
        def recording(*args, **kwargs):
            called.append(attr)
            return original(*args, **kwargs)
        return recording
    spies = {id(original): recorder(attr, original) for _, attr, original in originals}
    namespace = getattr(function, "__globals__", {})
    in_globals = {k: spies[id(v)] for k, v in list(namespace.items()) if id(v) in spies}
    try:
        for module, attr, original in originals:
            setattr(module, attr, spies[id(original)])
        with _names_set(function, **in_globals):
            yield
    finally:
        for module, attr, original in originals:
            setattr(module, attr, original)


def _collect_fixed(function, case, library):
    """One call of backward_propagation_fixed with the library's backward passes recorded."""
    called = []
    with _library_recorded(function, called):
        obs = _call(function, copy.deepcopy(case.args))
    obs["library_calls"] = tuple(sorted(set(called)))
    return obs


def _backward_variant(X, Y, cache, mask=("Z", "Z"), db_from=("dZ", "dZ"), transposed=(False, False),
                      sum_all=(False, False), out="right", swapped=False, factors=()):
    """The 3-layer backward pass with the switches of the catalogued mistakes (layer 1, layer 2)."""
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    if swapped:  # the cache unpacked as (A1, Z1, ..., A2, Z2, ...)
        Z1, A1, Z2, A2 = A1, Z1, A2, Z2
    m = X.shape[1]
    dZ = {"right": A3 - Y, "reversed": Y - A3, "twice": (A3 - Y) * A3 * (1 - A3)}[out]  # shape (1, m)
    grads = {"dW3": dZ @ A2.T / m, "db3": np.sum(dZ, axis=1, keepdims=True) / m}
    dA = W3.T @ dZ
    for layer, Z, A, A_prev, W in ((2, Z2, A2, A1, W2), (1, Z1, A1, X, W1)):
        i = layer - 1
        gate = {"Z": Z > 0, "none": 1.0, "A": A, "Z3": Z3 > 0}[mask[i]]
        dZ = dA * gate
        grads[f"dW{layer}"] = (A_prev @ dZ.T).reshape(W.shape) / m if transposed[i] else dZ @ A_prev.T / m
        summed = dA if db_from[i] == "dA" else dZ
        grads[f"db{layer}"] = np.sum(summed) / m if sum_all[i] else np.sum(summed, axis=1, keepdims=True) / m
        dA = W.T @ dZ
    for key, factor in factors:
        grads[key] = grads[key] * (m if factor == "m" else factor)
    return grads


def _each_layer(switch, wrong, right):
    """Switch settings with the mistake in both hidden layers, in layer 1 only, in layer 2 only."""
    return tuple({switch: v} for v in ((wrong, wrong), (wrong, right), (right, wrong)))


#: mistake (after the dot) -> the switch settings of ``_backward_variant`` that make it.
_FIXED_VARIANTS = {
    "relu_mask_from_activation": _each_layer("mask", "none", "Z"),
    "relu_mask_dropped": _each_layer("mask", "none", "Z"),
    "db_before_relu": _each_layer("db_from", "dA", "dZ"),
    "weight_grad_transposed": _each_layer("transposed", True, False),
    "relu_mask_off_by_one": ({"mask": ("Z", "Z3")},),
    "db3_missing_1_over_m": ({"factors": (("db3", "m"),)},),
    "missing_1_over_m": ({"factors": tuple((f"d{b}", "m") for b in _BLOCKS)},),
    "bias_sum_all_axes": _each_layer("sum_all", True, False),
    "relu_instead_of_derivative": _each_layer("mask", "A", "Z"),
    "output_error_reversed": ({"out": "reversed"},),
    "sigmoid_derivative_twice": ({"out": "twice"},),
    "cache_unpacked_out_of_order": ({"swapped": True},),
    "classic_scale_bugs": ({"factors": (("dW2", 2.0), ("db1", 4.0))},),
}


def _gradients_equal(got, want):
    """Every block of ``want`` in ``got`` with its shape and numbers (rtol 1e-7)."""
    return isinstance(got, dict) and all(
        np.shape(got.get(k)) == np.shape(v) and isinstance(got.get(k), (float, np.ndarray))
        and np.allclose(got[k], v, rtol=1e-7, atol=1e-10) for k, v in want.items())


def _block_finding(key, got, right, m):
    """What is wrong with one returned block (None when it agrees): a factor, misplaced entries, ..."""
    if not isinstance(got, (float, np.ndarray)) or np.shape(got) != right.shape:
        return f"{key} has shape {np.shape(got)}, expected {right.shape}"
    got = np.asarray(got, dtype=float)
    if np.allclose(got, right, rtol=1e-7, atol=1e-10):
        return None
    nonzero = np.abs(right) > 1e-12
    ratios = got[nonzero] / right[nonzero]
    if ratios.size and np.allclose(ratios, ratios[0], rtol=1e-6) and np.allclose(got[~nonzero], 0, atol=1e-12):
        return f"{key} x{_fmt(float(ratios[0]))}" + (" (= m)" if abs(ratios[0] - m) < 1e-6 else "")
    if np.isclose(np.linalg.norm(got), np.linalg.norm(right), rtol=1e-7):
        return f"{key} has the right norm but entries in the wrong places"
    return f"{key} wrong (relative difference {_fmt(_rel(right, got))})"


def _decide_fixed(cases, observations):
    """Findings for backward_propagation_fixed: library calls, crash, keys, then which mistake's
    gradients equal the returned ones on every network."""
    from course_utils.models import backward_propagation_n
    name = "backward_propagation_fixed"
    for case, obs in zip(cases, observations):
        if obs["library_calls"]:
            return [_catalogued([f"{name}.calls_library"],
                                f"{case.label}: your function called the library's {', '.join(obs['library_calls'])}")]
        if obs["error"]:
            return [_error_finding(name, obs, case.label)]
        if obs["kind"] != "dict" or set(obs["value"]) != {f"d{b}" for b in _BLOCKS}:
            keys = sorted(obs["value"]) if obs["kind"] == "dict" else None
            seen = f"{case.label} returned the keys {keys}" if keys is not None else \
                _describe(obs, case.label, "a dict of gradients")
            return [_Finding((), seen, "Return the dict {'dW1': dW1, 'db1': db1, ..., 'dW3': dW3, 'db3': db3}.")]
    right = [backward_propagation_n(*c.args) for c in cases]
    got = [o["value"] for o in observations]
    if all(_gradients_equal(g, r) for g, r in zip(got, right)):
        return []
    i = next(i for i, (g, r) in enumerate(zip(got, right)) if not _gradients_equal(g, r))
    blocks = [f for f in (_block_finding(k, got[i][k], right[i][k], cases[i].args[0].shape[1]) for k in right[i]) if f]
    seen = f"{cases[i].label}: " + ", ".join(blocks)
    matched = [f"{name}.{m}" for m, variants in _FIXED_VARIANTS.items()
               if any(all(_gradients_equal(g, _backward_variant(*c.args, **v)) for g, c in zip(got, cases))
                      for v in variants)]
    if matched:
        return [_catalogued(matched, seen)]
    return [_Finding((), seen, f"Read the lines that compute {', '.join(b.split()[0] for b in blocks)} and "
                               f"everything they use, comparing with the backward pass written in the notebook.")]


# ---------------------------------------------------------------------------------------------------
# Notebook 04: optimal_epsilon
# ---------------------------------------------------------------------------------------------------

#: The course's machine epsilon u = np.finfo(dtype).eps (2**-52 and 2**-23; the rounding bound is u / 2).
_U = {name: float(np.finfo(name).eps) for name in ("float64", "float32")}
#: (dtype name, given as a numpy type?, method, scale)
_EPS_CASES = (("float64", True, "centered", 1.0), ("float32", False, "centered", 1.0),
              ("float64", True, "forward", 1.0), ("float32", False, "forward", 4.0),
              ("float32", True, "centered", 0.5), ("float64", True, "centered", 8.0),
              ("float64", False, "forward", 1e-3))


def _eps_case(name, as_type, method, scale, public=True):
    shown = f"np.{name}" if as_type else repr(name)
    return Case(f"optimal_epsilon({shown}, {method!r}, {scale:g})", (name, method, scale), {"as_type": as_type}, public)


def _cases_eps(kind, rng):
    """Both precisions (as types and names), both methods, scales below and above 1; hidden adds random ones."""
    found = [_eps_case(*c) for c in _EPS_CASES]
    for _ in range(6 if kind == "hidden" else 0):
        found.append(_eps_case(str(rng.choice(["float64", "float32"])), bool(rng.random() < 0.5),
                               str(rng.choice(["centered", "forward"])), round(float(10 ** rng.uniform(-2, 2)), 4),
                               False))
    return found


def _collect_eps(function, case, library):
    """One call of optimal_epsilon, the dtype given as a numpy type or as its name."""
    name, method, scale = case.args
    return _call(function, (np.dtype(name).type if case.setup["as_type"] else name, method, scale))


def _eps_predictions(case):
    """mistake id (None: right) -> the step optimal_epsilon returns on a case."""
    name, method, scale = case.args
    u, p = _U[name], 1 / 3 if method == "centered" else 1 / 2
    info = np.finfo(name)
    right = float(default_epsilon(np.zeros(1), method, name)[0]) * scale  # the library's step at |theta| <= 1
    return {None: right, "max_one_scale": u ** p * max(1.0, scale), "half_eps": (u / 2) ** p * scale,
            "power_precedence": u / (3 if method == "centered" else 2) * scale, "floor_division": scale,
            "roots_swapped": u ** (5 / 6 - p) * scale, "method_ignored": u ** (1 / 3) * scale,
            "centered_not_recognised": u ** 0.5 * scale, "float64_eps_always": _U["float64"] ** p * scale,
            "no_scale": u ** p, "resolution": float(info.resolution) ** p * scale,
            "tiny": float(info.tiny) ** p * scale, "u_itself": u * scale, "divided_by_scale": u ** p / scale,
            "scale_inside_root": (u * scale) ** p}


def _decide_eps(cases, observations):
    """Findings for optimal_epsilon: crash, type, a constant step, then which formula fits every step."""
    for case, obs in zip(cases, observations):
        if obs["error"]:
            return [_error_finding("optimal_epsilon", obs, case.label)]
        problem = _describe(obs, case.label, "the step as a float")
        if problem:
            return [_Finding((), problem, "Return the step as a float.")]
    got = [o["value"] for o in observations]
    predictions = [_eps_predictions(c) for c in cases]
    if all(_same(g, p[None], 1e-6, 0.0) for g, p in zip(got, predictions)):
        return []
    case, value, expected = next((c, g, p[None]) for c, g, p in zip(cases, got, predictions)
                                 if not _same(g, p[None], 1e-6, 0.0))
    seen = f"{case.label} returned {value:.3g}" + (f", expected {expected:.3g}" if case.public else "")
    if len(set(got)) == 1:
        return [_catalogued(["optimal_epsilon.constant_step"], f"{seen}; every call returned {value:.3g}")]
    matched = [m for m in predictions[0] if all(_same(g, p[m], 1e-6, 0.0) for g, p in zip(got, predictions))]
    if len(matched) == 1:
        return [_catalogued([f"optimal_epsilon.{matched[0]}"], seen)]
    return [_Finding((), seen, "The step is u ** (1 / 3) * scale for centered differences and u ** (1 / 2) * scale "
                               "for forward ones, with u = np.finfo(dtype).eps.")]


# ---------------------------------------------------------------------------------------------------
# The judges
# ---------------------------------------------------------------------------------------------------

_ALONE = "Ran your {} alone."
#: exercise -> (cases, collect, decide, what was used, observation keys beyond the common ones).
_JUDGES = {
    "forward_propagation": (_cases_1d, _collect_1d, lambda c, o: _decide_1d("forward_propagation", c, o),
                            _ALONE.format("forward_propagation"), ()),
    "backward_propagation": (_cases_1d, _collect_1d, lambda c, o: _decide_1d("backward_propagation", c, o),
                             _ALONE.format("backward_propagation"), ()),
    "gradient_check": (_cases_gc, _collect_gc, _decide_gc,
                       "Ran your gradient_check with the test's own forward_propagation and backward_propagation "
                       "(a recording linear cost, a curved cost, right and wrong derivatives), not yours: this "
                       "verdict is about gradient_check alone.", ("signature", "forward_at", "backward_at")),
    "gradient_check_n": (_cases_gcn, _collect_gcn, _decide_gcn,
                         "Ran your gradient_check_n with the course's forward_propagation_n (recording where it was "
                         "evaluated), dictionary_to_vector, vector_to_dictionary and gradients_to_vector.",
                         ("signature", "points", "changed", "one_arg_v2d", "bare_cost_ok")),
    "k_from_report": (_cases_k, _collect_k, _decide_k, "Ran your k_from_report on the course checker's reports "
                      "of scale bugs.", ()),
    "backward_propagation_fixed": (_cases_fixed, _collect_fixed, _decide_fixed,
                                   "Ran your backward_propagation_fixed on caches of the course's "
                                   "forward_propagation_n, with the library's backward passes recording any call.",
                                   ("library_calls",)),
    "optimal_epsilon": (_cases_eps, _collect_eps, _decide_eps, _ALONE.format("optimal_epsilon"), ()),
}


def _judge_parts(exercise):
    """(cases, collect, decide, used, keys) of an exercise's judge; JudgeError when there is none."""
    if exercise not in _JUDGES:
        raise JudgeError(f"no judge for {exercise!r}; exercises are {', '.join(EXERCISES)}")
    return _JUDGES[exercise]


def cases(exercise, kind="public", rng=None):
    """The cases a judge runs: the fixed public ones, plus randomised ones for ``kind="hidden"``.

    Parameters
    ----------
    exercise : str, one of ``course_utils.mistakes.EXERCISES``
    kind : "public" or "hidden"
    rng : numpy Generator or int seed; required for "hidden" (the same seed gives the same cases)

    Returns
    -------
    tuple of Case (plain data: the autograder's worker and grader can both build them from a seed)

    Raises
    ------
    JudgeError for an unknown exercise or kind, or hidden cases without ``rng``.
    """
    make = _judge_parts(exercise)[0]
    if kind not in ("public", "hidden"):
        raise JudgeError(f"kind must be 'public' or 'hidden', got {kind!r}")
    if kind == "hidden" and rng is None:
        raise JudgeError("hidden cases are drawn from rng: pass a numpy Generator or an int seed")
    if rng is not None and not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    return tuple(make(kind, rng))


def collect(exercise, function, cases, *, library=None):
    """Run the student's function on every case with the case's instruments; observe what it does.

    Parameters
    ----------
    exercise : str
    function : the student's function (its ``__globals__`` receive the instruments during each call)
    cases : sequence of Case, from ``cases(exercise, ...)``
    library : dict name -> function, optional: replacements for the course functions handed to the
        student's function (``forward_propagation_n`` and the vector helpers of notebook 2)

    Returns
    -------
    tuple of dict, one per case: plain data (kind, value, stdout, error, and what the instruments saw)

    Raises
    ------
    JudgeError for an unknown exercise. Student exceptions never propagate: they are observations.
    """
    run = _judge_parts(exercise)[1]
    return tuple(run(function, case, library) for case in cases)


def decide(exercise, cases, observations):
    """The verdict on observations from ``collect``; runs no student code.

    Parameters
    ----------
    exercise : str
    cases : sequence of Case, the same cases the observations were collected on
    observations : sequence of dict from ``collect`` (possibly decoded from the autograder's wire)

    Returns
    -------
    Verdict

    Raises
    ------
    JudgeError for an unknown exercise, or observations that do not fit the cases.
    """
    _, _, decider, used, keys = _judge_parts(exercise)
    cases = tuple(cases)
    try:  # observations may come from the sandboxed worker: anything unreadable is the worker's fault
        findings = decider(cases, _normalised(observations, len(cases), keys))
    except JudgeError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
        raise JudgeError(f"observations the judge cannot read ({type(exc).__name__}: {exc})") from None
    n = len(cases)
    if not findings:
        hidden = sum(not c.public for c in cases)
        extra = f" ({hidden} of them randomised)" if hidden else ""
        return Verdict(True, (), "", f"{exercise} passed {n} cases{extra}.", n, used)
    ids = tuple(dict.fromkeys(i for f in findings for i in f.ids))
    return Verdict(False, ids, findings[0].hint, "; ".join(f.seen for f in findings[:2]), n, used)


def judge(exercise, function, *, cases="public", rng=None, library=None):
    """Judge a student's exercise function: public cases (the notebook's test) or hidden ones (graders).

    Parameters
    ----------
    exercise : str, one of ``course_utils.mistakes.EXERCISES``
    function : the student's function object, as defined in the notebook
    cases : "public" (fixed cases) or "hidden" (the public ones plus randomised ones drawn from ``rng``)
    rng : numpy Generator or int seed; required with ``cases="hidden"``
    library : dict name -> function, optional (see ``collect``)

    Returns
    -------
    Verdict (a student's exception is a failing verdict with a hint, never raised)

    Raises
    ------
    JudgeError for an unknown exercise or kind of cases, or hidden cases without ``rng``.
    """
    chosen = globals()["cases"](exercise, cases, rng)
    if not callable(function):
        return Verdict(False, (), f"Pass the function itself, e.g. {exercise}_test({exercise}), not its result.",
                       f"expected the function {exercise}, got {type(function).__name__}", 0, "")
    return decide(exercise, chosen, collect(exercise, function, chosen, library=library))


def _normalised(observations, n, keys):
    """Observations checked and brought to the types the deciders read (they may come off the wire)."""
    observations = [dict(o) for o in observations]
    missing = [k for o in observations for k in ("kind", "value", "stdout", "error") + tuple(keys) if k not in o]
    if len(observations) != n or missing:
        raise JudgeError(f"observations do not fit the cases ({len(observations)} for {n} cases; "
                         f"missing {missing[:3]})")
    for o in observations:
        o["stdout"] = str(o["stdout"])
        o["error"] = (str(o["error"][0]), str(o["error"][1])) if o["error"] else None
        if o["kind"] in ("tuple", "list"):
            o["value"] = tuple(o["value"])
        elif o["kind"] == "number":
            o["value"] = _num(o["value"])
        for key in ("forward_at", "backward_at"):
            if key in o:
                o[key] = tuple((_num(p[0]), _num(p[1])) for p in o[key])
        if "points" in o:
            o["points"] = np.asarray(o["points"], dtype=float)
            if o["points"].ndim != 2:
                raise ValueError("points must be a 2-D array")
        for key in ("signature", "changed", "library_calls"):
            if key in o:
                o[key] = tuple(str(v) for v in o[key])
    return observations
