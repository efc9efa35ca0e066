"""The gradient checker: compare analytic gradients with finite differences of the cost.

``check_gradients(cost, parameters, gradients)`` works for any cost that is a function of a parameter
dictionary. It returns a ``GradCheckReport`` (it never prints): the course's global relative difference,
one difference per parameter block, the worst entries by name ("W2[1, 3]") with both gradient values,
flagged ReLU kinks, and a verdict against a threshold that depends on the dtype.

How a difference is judged
--------------------------
A finite difference carries round-off of about ``u * |J| / eps`` per entry (u: machine epsilon). The
checker estimates that floor for every entry and only calls a discrepancy a failure when it exceeds
*both* the relative threshold and that floor. When the floor itself is above the threshold (eps far
too small) the verdict is "inconclusive" rather than a false pass or a false alarm.

Kinks: with centered differences the checker also has the one-sided differences
``(J(theta + eps) - J(theta)) / eps`` and ``(J(theta) - J(theta - eps)) / eps``. Where the step crosses a
kink (ReLU at 0) they disagree and the analytic gradient matches one of them; such entries are flagged
as kinks and left out of the verdict, and the report says so.
"""

import html
import warnings
from dataclasses import dataclass, field

import numpy as np

from course_utils.parameters import (
    ParameterError,
    dictionary_to_vector,
    gradients_to_vector,
    layout_of,
    vector_to_dictionary,
)

#: Round-off of one cost evaluation, in units of ``u * |J|``; sets the noise floor of a difference.
ROUNDOFF_FACTOR = 100.0

#: Default pass thresholds on relative differences, by dtype and method. At a well-chosen step a correct
#: float64 gradient sits near 1e-9 to 1e-10 with centered differences (forward differences only reach
#: about sqrt(u) ~ 1e-8) and real bugs sit above 1e-4; float32 cannot resolve much below 1e-4.
DEFAULT_THRESHOLDS = {
    (np.dtype(np.float64), "centered"): 1e-6, (np.dtype(np.float64), "complex"): 1e-6,
    (np.dtype(np.float64), "forward"): 1e-5,
    (np.dtype(np.float32), "centered"): 1e-3, (np.dtype(np.float32), "complex"): 1e-3,
    (np.dtype(np.float32), "forward"): 1e-2,
}

METHODS = ("centered", "forward", "complex")

#: A failing entry is a kink when the analytic gradient is closer to one of the one-sided differences
#: than this fraction of their disagreement (on a smooth function it sits halfway between them).
KINK_MATCH = 0.25


class PrecisionWarning(UserWarning):
    """The check runs in a precision that limits what it can prove (float32)."""


class GradCheckError(ValueError):
    """The check cannot run on these inputs; the message names the problem and the fix."""


# ---------------------------------------------------------------------------------------------------
# Steps and relative differences
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
    """
    grad, gradapprox = np.asarray(grad, dtype=np.float64), np.asarray(gradapprox, dtype=np.float64)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return 0.0 if denominator == 0 else float(numerator / denominator)


# ---------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------

@dataclass
class BlockResult:
    """One parameter block (e.g. W2) of a report.

    relative_difference is the course's formula on the block; excess is the part of the discrepancy
    above the round-off floor, relative to the block's gradient size: the block fails when excess is
    above the threshold.
    """

    name: str
    shape: tuple
    relative_difference: float
    excess: float
    analytic_norm: float
    numeric_norm: float
    n_failing: int
    n_kinks: int
    passed: bool
    resolved: bool  # False when the block's gradient is below the round-off floor of the check


@dataclass
class EntryResult:
    """One entry of theta in a report."""

    index: int
    label: str  # e.g. "W2[1, 3]"
    analytic: float
    numeric: float
    relative_error: float  # |g - g_hat| / (|g| + |g_hat|), 0 when both are 0
    excess: float  # the part of |g - g_hat| above the round-off floor, relative to |g| + |g_hat|
    kink: bool


@dataclass
class GradCheckReport:
    """What a gradient check found. Print it, display it in a notebook, or read its fields.

    Attributes
    ----------
    verdict : "passed", "failed" or "inconclusive"
    passed : bool, verdict == "passed"
    relative_difference : float, the course's global ||g - g_hat|| / (||g|| + ||g_hat||)
    threshold : float
    method, mode : str ("centered"/"forward"/"complex"; "full" or "random")
    dtype : numpy dtype of the check
    epsilon : ndarray, shape (n,) (mode "full") or (k,) (mode "random")
    blocks : list of BlockResult, ranked worst first (mode "full"; per-block random checks too)
    worst : list of EntryResult, the worst entries (mode "full")
    kinks : list of EntryResult, entries where the step crossed a kink
    n_evaluations : int, calls of the cost function
    analytic, numeric : ndarray, shape (n,), the two gradients compared (mode "full"), or the
        directional derivatives, shape (k,) (mode "random")
    entry_errors : ndarray, shape (n,), per-entry |g - g_hat| / (|g| + |g_hat|) (mode "full")
    entry_excess : ndarray, shape (n,), per-entry discrepancy above the round-off floor, relative to
        |g| + |g_hat|; an entry fails when this is above the threshold (mode "full")
    layout : Layout of the parameters
    notes : list of str, things the reader should know (kinks, unresolved blocks, precision)
    """

    verdict: str
    relative_difference: float
    threshold: float
    method: str
    mode: str
    dtype: np.dtype
    epsilon: np.ndarray
    blocks: list
    worst: list
    kinks: list
    n_evaluations: int
    analytic: np.ndarray
    numeric: np.ndarray
    entry_errors: np.ndarray
    layout: object
    entry_excess: np.ndarray = None
    notes: list = field(default_factory=list)
    directions: np.ndarray = None  # (k, n) unit directions of a random check

    @property
    def passed(self):
        return self.verdict == "passed"

    def block(self, name):
        """The BlockResult of parameter ``name``."""
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(f"no block named {name!r}; blocks are {[b.name for b in self.blocks]}")

    def failing_blocks(self):
        """Names of the blocks that fail, worst first."""
        return [b.name for b in self.blocks if not b.passed]

    def summary(self):
        """One line: verdict, global relative difference, threshold and where it fails."""
        head = {"passed": "PASSED", "failed": "FAILED", "inconclusive": "INCONCLUSIVE"}[self.verdict]
        line = (f"Gradient check {head}: relative difference {self.relative_difference:.3e} "
                f"(threshold {self.threshold:.0e}, {self.method} differences, {self.mode} mode, "
                f"{self.dtype.name})")
        failing = self.failing_blocks()
        if failing:
            line += f"; wrong blocks: {', '.join(failing)}"
        return line

    def __repr__(self):
        lines = [self.summary()]
        if self.blocks:
            lines.append("")
            lines.append(f"  {'block':<8}{'shape':<12}{'rel. diff':>12}{'|analytic|':>13}{'|numeric|':>13}"
                         f"{'failing':>9}  status")
            for b in self.blocks:
                status = "ok" if b.passed else "WRONG"
                if b.passed and not b.resolved:
                    status = "below round-off floor"
                if b.n_kinks:
                    status += f" ({b.n_kinks} kink{'s' if b.n_kinks > 1 else ''})"
                lines.append(f"  {b.name:<8}{str(b.shape):<12}{b.relative_difference:>12.3e}"
                             f"{b.analytic_norm:>13.3e}{b.numeric_norm:>13.3e}{b.n_failing:>9}  {status}")
        if self.worst:
            lines.append("")
            lines.append(f"  worst entries{'':<6}{'analytic':>14}{'numeric':>14}{'rel. error':>12}")
            for e in self.worst:
                flag = "  kink" if e.kink else ""
                lines.append(f"  {e.label:<19}{e.analytic:>14.6e}{e.numeric:>14.6e}{e.relative_error:>12.3e}{flag}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)

    def _repr_html_(self):
        colour = {"passed": "#1a7f37", "failed": "#cf222e", "inconclusive": "#9a6700"}[self.verdict]
        out = [f'<div class="gradcheck-report"><p style="color:{colour};font-weight:bold">'
               f"{html.escape(self.summary())}</p>"]
        if self.blocks:
            out.append('<table><tr><th>block</th><th>shape</th><th>relative difference</th>'
                       '<th>|analytic|</th><th>|numeric|</th><th>failing entries</th><th>status</th></tr>')
            for b in self.blocks:
                ok = b.passed
                status = "ok" if ok else "WRONG"
                if ok and not b.resolved:
                    status = "below round-off floor"
                if b.n_kinks:
                    status += f" ({b.n_kinks} kink{'s' if b.n_kinks > 1 else ''})"
                style = "" if ok else ' style="color:#cf222e;font-weight:bold"'
                out.append(f"<tr{style}><td>{html.escape(b.name)}</td><td>{b.shape}</td>"
                           f"<td>{b.relative_difference:.3e}</td><td>{b.analytic_norm:.3e}</td>"
                           f"<td>{b.numeric_norm:.3e}</td><td>{b.n_failing}</td><td>{status}</td></tr>")
            out.append("</table>")
        if self.worst:
            out.append("<table><tr><th>worst entries</th><th>analytic</th><th>numeric</th>"
                       "<th>relative error</th><th></th></tr>")
            for e in self.worst:
                out.append(f"<tr><td>{html.escape(e.label)}</td><td>{e.analytic:.6e}</td>"
                           f"<td>{e.numeric:.6e}</td><td>{e.relative_error:.3e}</td>"
                           f"<td>{'kink' if e.kink else ''}</td></tr>")
            out.append("</table>")
        for note in self.notes:
            out.append(f"<p>note: {html.escape(note)}</p>")
        out.append("</div>")
        return "".join(out)


# ---------------------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------------------

def _check_dtype(parameters):
    """The float dtype of the check: float32 if every array is float32, else float64."""
    dtypes = {np.asarray(v).dtype for v in parameters.values()}
    if all(d == np.float32 for d in dtypes):
        return np.dtype(np.float32)
    for name, v in parameters.items():
        if np.iscomplexobj(v):
            raise GradCheckError(f"parameter '{name}' is complex; pass real parameters (the complex step is "
                                 f"applied by method='complex')")
    return np.dtype(np.float64)


def _check_finite(vector, layout, what):
    bad = np.flatnonzero(~np.isfinite(vector))
    if bad.size:
        labels = [layout.label(i) for i in bad[:5]]
        kind = "NaN" if np.isnan(vector[bad[0]]) else "Inf"
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise GradCheckError(f"{what} contains {kind} at {', '.join(labels)}{more}; "
                             f"find where it first becomes non-finite before checking gradients")


def _cost_value(value, where, complex_ok=False):
    """A cost's return value as a scalar, with a clear error for anything else."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise GradCheckError(f"the cost function must return one number, got an array of shape {arr.shape} "
                             f"({where}); return the mean cost, e.g. with float(np.squeeze(cost))")
    v = arr.reshape(()).item()
    if not isinstance(v, (int, float, complex)):
        raise GradCheckError(f"the cost function returned {type(value).__name__} ({where}); it must return a number")
    if not complex_ok:
        if isinstance(v, complex):
            v = v.real
        if not np.isfinite(v):
            raise GradCheckError(f"the cost is {v} {where}; the check needs a finite cost there "
                                 f"(look for log(0), overflow in exp, or NaN in the inputs)")
    elif not np.isfinite(v):
        raise GradCheckError(f"the cost is {v} {where}; the check needs a finite cost there")
    return v


# ---------------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------------

def check_gradients(cost, parameters, gradients, *, epsilon=None, method="centered", threshold=None,
                    mode="full", directions=16, per_block=False, rng=None, n_worst=5):
    """Check analytic gradients against finite differences of a cost.

    Parameters
    ----------
    cost : callable, ``cost(parameters) -> float``; called with fresh arrays every time, so it may not
        mutate the caller's parameters. For ``method="complex"`` it must propagate complex numbers.
    parameters : dict name -> ndarray (any shapes); never modified. Integer arrays are converted to
        float64 (a perturbation of an integer array would silently vanish).
    gradients : dict ``"d" + name`` -> ndarray of the parameter's shape (the analytic gradients).
    epsilon : float or ndarray (n,), step size; default from the dtype and scale (``default_epsilon``).
    method : "centered" (default), "forward" or "complex".
    threshold : float, pass threshold on relative differences; default by dtype and method
        (DEFAULT_THRESHOLDS).
    mode : "full" (every entry, 2n + 1 evaluations) or "random" (k random directions, 2k + 1).
    directions : int, k for mode "random" (per block when ``per_block``).
    per_block : bool, mode "random" only: draw the directions inside each block, so the report can say
        which block is wrong (2 k B + 1 evaluations for B blocks).
    rng : numpy Generator or seed for mode "random".
    n_worst : int, how many worst entries to list.

    Returns
    -------
    GradCheckReport
    """
    if method not in METHODS:
        raise GradCheckError(f"method must be one of {METHODS}, got {method!r}")
    if mode not in ("full", "random"):
        raise GradCheckError(f"mode must be 'full' or 'random', got {mode!r}")
    if not callable(cost):
        raise GradCheckError(f"cost must be a function of the parameters dict, got {type(cost).__name__}")
    layout = layout_of(parameters)
    dtype = _check_dtype(parameters)
    if dtype == np.float32:
        warnings.warn(
            "float32 parameters: finite differences in float32 cannot resolve relative differences much "
            "below 1e-4, so the check uses a 1e-3 threshold and a step near 5e-3. A pass rules out gross "
            "bugs only; cast to float64 to prove a gradient right.",
            PrecisionWarning, stacklevel=2)
    theta = dictionary_to_vector(parameters)[0].reshape(-1).astype(dtype)  # shape (n,)
    _check_finite(theta, layout, "the parameters")
    grad = gradients_to_vector(gradients, layout).reshape(-1)
    if not (np.issubdtype(grad.dtype, np.number) or grad.dtype == np.bool_) or np.iscomplexobj(grad):
        raise GradCheckError(f"gradients must be real numeric arrays, got dtype {grad.dtype}")
    grad = grad.astype(np.float64)
    _check_finite(grad, layout, "the analytic gradients")
    if threshold is None:
        threshold = DEFAULT_THRESHOLDS[(dtype, method)]
    if not threshold > 0:
        raise GradCheckError(f"threshold must be a positive number, got {threshold!r}")

    args = dict(cost=cost, theta=theta, grad=grad, layout=layout, dtype=dtype, method=method,
                threshold=float(threshold), epsilon=epsilon, n_worst=n_worst)
    if mode == "full":
        return _check_full(**args)
    return _check_random(**args, k=int(directions), per_block=per_block, rng=np.random.default_rng(rng))


def _make_evaluator(cost, layout, dtype, method):
    """Cost as a function of a perturbed vector, with a clear error naming the perturbation on failure."""
    complex_ok = method == "complex"

    def evaluate(vector, where):
        return _cost_value(cost(vector_to_dictionary(vector, layout)), where, complex_ok=complex_ok)

    return evaluate


def _resolve_epsilon(epsilon, theta, method, dtype, n):
    if epsilon is None:
        eps = default_epsilon(theta, method, dtype)
    else:
        eps = np.asarray(epsilon, dtype=np.float64).reshape(-1)
        if eps.size == 1:
            eps = np.full(n, eps[0])
        if eps.size != n or not np.all(np.isfinite(eps)) or np.any(eps <= 0):
            raise GradCheckError(f"epsilon must be a positive number (or {n} positive numbers), got {epsilon!r}")
    if method != "complex":
        # The step actually taken is what the dtype can represent: (theta + eps) - theta.
        actual = (theta + eps.astype(dtype)).astype(np.float64) - theta.astype(np.float64)
        if np.any(actual == 0):
            i = int(np.flatnonzero(actual == 0)[0])
            raise GradCheckError(f"epsilon {eps[i]:.1e} is too small to change entry {i} ({theta[i]:.3g}) in "
                                 f"{np.dtype(dtype).name}; use a larger step")
    return eps


def _finite_differences(evaluate, theta, eps, directions, method, labels, dtype):
    """Numeric derivatives along each direction.

    directions: None for unit vectors (one per entry of theta) or ndarray (k, n) of unit directions.
    Returns numeric (k,), one-sided (plus, minus) or None, J0, number of evaluations.
    """
    k = theta.size if directions is None else directions.shape[0]
    J0 = evaluate(theta, "at the unperturbed parameters") if method != "complex" else None
    numeric = np.empty(k)
    plus_side = np.empty(k)
    minus_side = np.empty(k)
    n_eval = 0 if J0 is None else 1
    for j in range(k):
        h = eps[j]
        if method == "complex":
            step = np.zeros(theta.size, dtype=np.complex128)
            if directions is None:
                step[j] = 1j * h
            else:
                step = 1j * h * directions[j]
            Jc = evaluate(theta.astype(np.complex128) + step, f"when {labels[j]} was stepped by i*{h:.1e}")
            n_eval += 1
            if not np.iscomplexobj(np.asarray(Jc)):
                raise GradCheckError("method='complex' needs a cost that carries complex numbers through "
                                     "(no np.real, abs, float() or max inside); it returned a real number")
            numeric[j] = np.imag(Jc) / h
            continue
        if directions is None:
            plus, minus = theta.copy(), theta.copy()
            plus[j] = theta[j] + dtype.type(h)
            minus[j] = theta[j] - dtype.type(h)
            h_plus = float(plus[j]) - float(theta[j])  # the step the dtype actually took
            h_minus = float(theta[j]) - float(minus[j])
        else:
            plus = (theta + h * directions[j]).astype(dtype)
            minus = (theta - h * directions[j]).astype(dtype)
            h_plus = h_minus = h
        Jp = evaluate(plus, f"when {labels[j]} was increased by {h:.1e}")
        n_eval += 1
        plus_side[j] = (Jp - J0) / h_plus
        if method == "forward":
            numeric[j] = plus_side[j]
            continue
        Jm = evaluate(minus, f"when {labels[j]} was decreased by {h:.1e}")
        n_eval += 1
        minus_side[j] = (J0 - Jm) / h_minus
        numeric[j] = (Jp - Jm) / (h_plus + h_minus)
    sides = (plus_side, minus_side) if method == "centered" else None
    return numeric, sides, J0, n_eval


def _noise_floor(J0, eps, analytic, numeric, method, dtype):
    """Round-off floor of each numeric derivative, shape like eps."""
    u = np.finfo(dtype).eps
    if method == "complex":
        return ROUNDOFF_FACTOR * u * (np.abs(analytic) + np.abs(numeric))
    return ROUNDOFF_FACTOR * u * max(abs(J0), np.finfo(dtype).tiny) / eps


def _excess(diff_norm, floor_norm, size_norm):
    """Discrepancy above the floor, relative to the gradient size (0/0 -> 0)."""
    above = max(diff_norm - floor_norm, 0.0)
    return 0.0 if above == 0 else (np.inf if size_norm == 0 else above / size_norm)


def _check_full(cost, theta, grad, layout, dtype, method, threshold, epsilon, n_worst):
    n = theta.size
    eps = _resolve_epsilon(epsilon, theta, method, dtype, n)
    labels = layout.labels()
    evaluate = _make_evaluator(cost, layout, dtype, method)
    numeric, sides, J0, n_eval = _finite_differences(evaluate, theta, eps, None, method, labels, dtype)
    floor = _noise_floor(J0, eps, grad, numeric, method, dtype)  # shape (n,)

    diff = np.abs(grad - numeric)
    size = np.abs(grad) + np.abs(numeric)
    safe = np.where(size == 0, 1.0, size)
    entry_errors = np.where(size == 0, 0.0, diff / safe)  # the course's formula per entry, 0/0 -> 0
    above = np.maximum(diff - floor, 0.0)  # discrepancy that round-off cannot explain
    entry_excess = np.where(above == 0, 0.0, np.where(size == 0, np.inf, above / safe))

    kinks = np.zeros(n, dtype=bool)
    if sides is not None:
        plus_side, minus_side = sides
        disagreement = np.abs(plus_side - minus_side)
        # At a kink the analytic gradient is the slope of the side the point lies on: it matches one
        # one-sided difference closely while the two disagree. On a smooth function both one-sided
        # differences sit about eps * J'' / 2 on either side of it instead.
        closest = np.minimum(np.abs(grad - plus_side), np.abs(grad - minus_side))
        kinks = ((entry_excess > threshold) & (disagreement > 2 * floor)
                 & (closest <= KINK_MATCH * disagreement))

    keep = ~kinks
    notes = []
    blocks = []
    for b, (name, shape, sl) in enumerate(zip(layout.names, layout.shapes, layout.slices().values())):
        g_b, n_b, k_b = grad[sl], numeric[sl], keep[sl]
        rel = relative_difference(g_b, n_b)
        size_b = np.linalg.norm(g_b[k_b]) + np.linalg.norm(n_b[k_b])
        floor_b = np.linalg.norm(floor[sl][k_b])
        excess = _excess(np.linalg.norm((g_b - n_b)[k_b]), floor_b, size_b)
        blocks.append(BlockResult(
            name=name, shape=shape, relative_difference=rel, excess=float(excess),
            analytic_norm=float(np.linalg.norm(g_b)), numeric_norm=float(np.linalg.norm(n_b)),
            n_failing=int(np.sum((entry_excess[sl] > threshold) & k_b)), n_kinks=int(np.sum(kinks[sl])),
            passed=bool(excess <= threshold), resolved=bool(floor_b <= threshold * size_b or size_b == 0 and floor_b == 0),
        ))
    global_rel = relative_difference(grad, numeric)
    size_all = np.linalg.norm(grad[keep]) + np.linalg.norm(numeric[keep])
    floor_all = np.linalg.norm(floor[keep])
    global_excess = _excess(np.linalg.norm((grad - numeric)[keep]), floor_all, size_all)

    if global_excess > threshold or any(not b.passed for b in blocks):
        verdict = "failed"
    elif floor_all > threshold * size_all:
        verdict = "inconclusive"
        notes.append(f"the round-off floor of this step ({floor_all / max(size_all, 1e-300):.1e} relative) is above "
                     f"the threshold, so the check cannot tell right from wrong; use a larger epsilon "
                     f"(the default is {default_epsilon(theta, method, dtype).min():.1e})")
    else:
        verdict = "passed"
    if kinks.any():
        notes.append(f"{int(kinks.sum())} entr{'ies' if kinks.sum() > 1 else 'y'} crossed a kink (the two one-sided "
                     f"differences disagree and the analytic gradient matches one of them): "
                     f"{', '.join(labels[i] for i in np.flatnonzero(kinks)[:5])}; they are left out of the verdict. "
                     f"Re-check with a smaller epsilon or at another random point to clear them.")
    unresolved = [b.name for b in blocks if not b.resolved and b.passed]
    if unresolved and verdict != "inconclusive":
        notes.append(f"blocks {', '.join(unresolved)} have gradients below the round-off floor of this step; "
                     f"their agreement is not evidence either way")
    if global_rel > threshold and verdict == "passed":
        notes.append(f"the global relative difference {global_rel:.1e} is above the threshold only because of "
                     f"round-off (the step is small) or kinks; the discrepancy beyond round-off is within it")

    # Worst first: discrepancy beyond round-off, then the plain relative error.
    order = np.lexsort((-entry_errors, -np.nan_to_num(entry_excess, posinf=np.finfo(float).max)))
    def entry(i):
        return EntryResult(index=int(i), label=labels[i], analytic=float(grad[i]), numeric=float(numeric[i]),
                           relative_error=float(entry_errors[i]), excess=float(entry_excess[i]),
                           kink=bool(kinks[i]))
    worst = [entry(i) for i in order[:n_worst] if diff[i] > 0]
    blocks.sort(key=lambda b: (b.passed, -b.excess, -b.relative_difference))
    return GradCheckReport(
        verdict=verdict, relative_difference=global_rel, threshold=threshold, method=method, mode="full",
        dtype=dtype, epsilon=eps, blocks=blocks, worst=worst, kinks=[entry(i) for i in np.flatnonzero(kinks)],
        n_evaluations=n_eval, analytic=grad, numeric=numeric, entry_errors=entry_errors,
        entry_excess=entry_excess, layout=layout, notes=notes,
    )


def _check_random(cost, theta, grad, layout, dtype, method, threshold, epsilon, n_worst, k, per_block, rng):
    if k < 1:
        raise GradCheckError(f"directions must be at least 1, got {k}")
    n = theta.size
    slices = list(layout.slices().values())
    groups = [(name, sl) for name, sl in zip(layout.names, slices)] if per_block else [("all", slice(0, n))]
    dirs, owners = [], []
    for g, (name, sl) in enumerate(groups):
        for _ in range(k):
            v = np.zeros(n)
            v[sl] = rng.standard_normal(sl.stop - sl.start)
            v /= np.linalg.norm(v)
            dirs.append(v)
            owners.append(g)
    directions = np.array(dirs)  # shape (k * groups, n)
    owners = np.array(owners)
    scale = max(1.0, float(np.max(np.abs(theta))))
    if epsilon is None:
        u = np.finfo(dtype).eps
        h = {"centered": u ** (1 / 3), "forward": u ** 0.5, "complex": 1e-20}[method] * scale
    else:
        h = float(np.asarray(epsilon).reshape(-1)[0])
        if not (np.isfinite(h) and h > 0):
            raise GradCheckError(f"epsilon must be a positive number, got {epsilon!r}")
    eps = np.full(directions.shape[0], h)
    labels = [f"direction {j} ({groups[owners[j]][0]})" for j in range(directions.shape[0])]
    evaluate = _make_evaluator(cost, layout, dtype, method)
    numeric, _, J0, n_eval = _finite_differences(evaluate, theta, eps, directions, method, labels, dtype)
    analytic = directions @ grad  # shape (k * groups,)
    floor = _noise_floor(J0, eps, analytic, numeric, method, dtype)

    blocks = []
    failing = []
    for g, (name, sl) in enumerate(groups):
        mask = owners == g
        a, d, f = analytic[mask], numeric[mask], floor[mask]
        size = np.linalg.norm(a) + np.linalg.norm(d)
        excess = _excess(np.linalg.norm(a - d), np.linalg.norm(f), size)
        per_dir = np.abs(a - d) > np.maximum(threshold * (np.abs(a) + np.abs(d)), f)
        passed = excess <= threshold
        if not passed:
            failing.append(name)
        shape = layout.shapes[layout.names.index(name)] if per_block else (n,)
        blocks.append(BlockResult(
            name=name, shape=shape, relative_difference=relative_difference(a, d), excess=float(excess),
            analytic_norm=float(np.linalg.norm(a)), numeric_norm=float(np.linalg.norm(d)),
            n_failing=int(per_dir.sum()), n_kinks=0, passed=bool(passed),
            resolved=bool(np.linalg.norm(f) <= threshold * size)))
    global_rel = relative_difference(analytic, numeric)
    verdict = "failed" if failing else "passed"
    if verdict == "passed" and not all(b.resolved for b in blocks):
        verdict = "inconclusive"
    blocks.sort(key=lambda b: (b.passed, -b.excess))
    miss = 0.2 ** k  # (0.8 * 1/4)^k: all k directions see less than a quarter of the typical error
    notes = [f"random-direction check: {k} Gaussian direction{'s' if k > 1 else ''}"
             f"{' per block' if per_block else ''}, {n_eval} cost evaluations instead of {2 * n + 1}. "
             f"A wrong gradient (error vector D) shows in direction v as |D.v|; for a Gaussian direction, "
             f"P(|D.v| < d * |D| / sqrt(n)) < 0.8 d, so all {k} directions miss it by a factor 4 with "
             f"probability below {miss:.0e}."]
    return GradCheckReport(
        verdict=verdict, relative_difference=global_rel, threshold=threshold, method=method, mode="random",
        dtype=dtype, epsilon=eps, blocks=blocks if per_block else [b for b in blocks],
        worst=[], kinks=[], n_evaluations=n_eval, analytic=analytic, numeric=numeric,
        entry_errors=np.zeros(0), entry_excess=np.zeros(0), layout=layout, notes=notes, directions=directions,
    )
