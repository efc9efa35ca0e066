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

Modes and speed
---------------
* "full": every entry, 2n + 1 evaluations; "sparse": a random sample of entries from *every* block;
  "random": k random Gaussian directions (2k + 1 evaluations) with a stated detection guarantee
  (``miss_probability``); "auto": full for small models, random directions per block for large ones.
* Without help the cost is evaluated in a plain loop. Given ``batched_cost`` (a function of a (k, n)
  stack of parameter vectors, or ``fastcheck.MLPBatchedCost``, which exploits the network's structure),
  the perturbed vectors are evaluated in chunks; the numbers agree with the loop within round-off.
* A tqdm progress bar appears on big checks (PROGRESS_MIN_WORK evaluations x parameters), decided by
  counting work, never by timing it, so outputs do not depend on the machine's speed.
"""

import html
import warnings
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from course_utils.parameters import (
    NUMERIC_KINDS,
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
    method, mode : str ("centered"/"forward"/"complex"; "full", "sparse" or "random")
    mode_reason : str, why the check ran in this mode (as asked, or chosen by mode="auto" and why)
    dtype : numpy dtype of the check
    epsilon : ndarray, shape (s,), the step of every checked entry (s = n in mode "full"), or (k,) (mode
        "random")
    indices : ndarray of int, shape (s,), the entries of theta checked (arange(n) in mode "full"); the
        per-entry arrays below are in this order
    blocks : list of BlockResult, ranked worst first (modes "full", "sparse"; per-block random checks)
    worst : list of EntryResult, the worst entries (modes "full", "sparse")
    kinks : list of EntryResult, entries where the step crossed a kink
    n_evaluations : int, calls of the cost function
    analytic, numeric : ndarray, shape (s,), the two gradients compared (modes "full", "sparse"), or the
        directional derivatives, shape (k,) (mode "random")
    entry_errors : ndarray, shape (s,), per-entry |g - g_hat| / (|g| + |g_hat|)
    entry_excess : ndarray, shape (s,), per-entry discrepancy above the round-off floor, relative to
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
    directions: np.ndarray = None  # (k, n) directions of a random check (None when too large to keep)
    indices: np.ndarray = None  # (s,) the entries of theta checked (modes "full" and "sparse")
    mode_reason: str = ""  # why this mode (asked for, or chosen by mode="auto")

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
    dtypes = [v.dtype if isinstance(v, np.ndarray) else np.asarray(v).dtype for v in parameters.values()]
    if all(d == np.float32 for d in dtypes):
        return np.dtype(np.float32)
    for name, d in zip(parameters, dtypes):
        if d.kind == "c":
            raise GradCheckError(f"parameter '{name}' is complex; pass real parameters (the complex step is "
                                 f"applied by method='complex')")
    return np.dtype(np.float64)


def _check_finite(vector, layout, what):
    if np.isfinite(vector).all():
        return
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
# Progress
# ---------------------------------------------------------------------------------------------------

#: With ``progress=None`` a bar appears when a check's work, counted as cost evaluations times
#: parameters, reaches this many. The rule counts work, never time, so the same check shows a bar (or
#: none) on every machine, however busy: a plain-loop check of about 100k parameters or a random-direction
#: check of about 1M. The course's own checks (the 47-parameter test case: 94 x 47 = 4,418) never show one.
PROGRESS_MIN_WORK = 20_000_000


class _Progress:
    """A tqdm bar over a check's work: always (True), never (False), or (None) when the work
    (evaluations x parameters) reaches PROGRESS_MIN_WORK. ``tqdm.auto`` draws an ipywidget bar in a
    notebook and a text bar (with the time left) in a terminal."""

    def __init__(self, total, progress, desc, n_parameters):
        if progress not in (None, True, False):
            raise GradCheckError(f"progress must be True, False or None (automatic), got {progress!r}")
        self.total, self.desc = int(total), desc
        self.bar = None
        if progress or (progress is None and self.total * int(n_parameters) >= PROGRESS_MIN_WORK):
            self.bar = tqdm(total=self.total, desc=self.desc, unit="evals", leave=False)

    def advance(self, n):
        if self.bar is not None:
            self.bar.update(n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------------

MODES = ("full", "sparse", "random", "auto")

#: mode="auto" checks every entry up to this many entries (plain cost), or AUTO_FULL_BATCHED with a
#: batched cost; above, it uses random directions per block (every entry covered, with a guarantee).
AUTO_FULL_PLAIN = 5_000
AUTO_FULL_BATCHED = 200_000

#: Entries of a chunk evaluated together by a batched cost when the caller does not say.
DEFAULT_CHUNK = 512

#: The random-direction check keeps its (k, n) directions in the report only up to this many numbers.
KEEP_DIRECTIONS = 2_000_000


def check_gradients(cost, parameters, gradients, *, epsilon=None, method="centered", threshold=None,
                    mode="full", directions=16, per_block=False, rng=None, n_worst=5,
                    batched_cost=None, samples=16, chunk_size=None, progress=None, distribution="gaussian"):
    """Check analytic gradients against finite differences of a cost.

    Parameters
    ----------
    cost : callable, ``cost(parameters) -> float``; called with fresh arrays every time, so it may not
        mutate the caller's parameters. For ``method="complex"`` it must propagate complex numbers.
        With a ``batched_cost`` it is called once, at the parameters, to confirm that the two agree;
        ``cost=None`` then means "use the batched cost only".
    parameters : dict name -> ndarray (any shapes); never modified. Integer arrays are converted to
        float64 (a perturbation of an integer array would silently vanish).
    gradients : dict ``"d" + name`` -> ndarray of the parameter's shape (the analytic gradients).
    epsilon : float or ndarray (n,), step size; default from the dtype and scale (``default_epsilon``).
    method : "centered" (default), "forward" or "complex".
    threshold : float, pass threshold on relative differences; default by dtype and method
        (DEFAULT_THRESHOLDS).
    mode : "full" (every entry, 2n + 1 evaluations), "sparse" (``samples`` random entries of *every*
        block, 2s + 1), "random" (k random directions, 2k + 1) or "auto" (full for small models, random
        directions per block for large ones; the report's ``mode_reason`` says why).
    directions : int, k for mode "random" (per block when ``per_block``).
    per_block : bool, mode "random" only: draw the directions inside each block, so the report can say
        which block is wrong (2 k B + 1 evaluations for B blocks).
    rng : numpy Generator or seed for modes "random" and "sparse".
    n_worst : int, how many worst entries to list.
    batched_cost : optional fast evaluator of the same cost at many parameter vectors: a callable
        ``batched_cost(thetas)`` taking thetas of shape (k, n) (rows in the layout's order, see
        ``parameters.dictionary_to_vector``) and returning costs of shape (k,), or an object that also
        has ``entry_costs(indices, deltas)`` and ``direction_costs(blocks, step)`` such as
        ``fastcheck.MLPBatchedCost``. Not used by ``method="complex"``.
    samples : int, entries per block for mode "sparse" (all of a smaller block).
    chunk_size : int, perturbed vectors per batched evaluation (default DEFAULT_CHUNK, and never more
        than a (chunk, n) stack of about 64 MB); the result does not depend on it.
    progress : True, False or None (default: a bar appears when evaluations x parameters reaches
        PROGRESS_MIN_WORK, a count that does not depend on the machine's speed).
    distribution : mode "random": "gaussian" (default; the stronger guarantee) or "rademacher" (random
        signs, weaker guarantee); see ``miss_probability``. Signs are the fast choice for very large
        models: a sign costs one random bit, a normal (Box-Muller in float32) about 4 ns, so 16 directions
        on 10M parameters take about 1.0 s with normals and 0.6 s with signs (``make bench``).

    Returns
    -------
    GradCheckReport
    """
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
    layout = layout_of(parameters)
    dtype = _check_dtype(parameters)
    if dtype == np.float32:
        warnings.warn(
            "float32 parameters: finite differences in float32 cannot resolve relative differences much "
            "below 1e-4, so the check uses a 1e-3 threshold and a step near 5e-3. A pass rules out gross "
            "bugs only; cast to float64 to prove a gradient right.",
            PrecisionWarning, stacklevel=2)
    theta = np.concatenate([np.asarray(parameters[k]).reshape(-1) for k in layout.names]).astype(dtype)  # (n,)
    _check_finite(theta, layout, "the parameters")
    grad = gradients_to_vector(gradients, layout).reshape(-1)
    if grad.dtype.kind not in NUMERIC_KINDS or grad.dtype.kind == "c":
        raise GradCheckError(f"gradients must be real numeric arrays, got dtype {grad.dtype}")
    grad = grad.astype(np.float64, copy=False)
    _check_finite(grad, layout, "the analytic gradients")
    if threshold is None:
        threshold = DEFAULT_THRESHOLDS[(dtype, method)]
    if not threshold > 0:
        raise GradCheckError(f"threshold must be a positive number, got {threshold!r}")
    batched = _check_batched(batched_cost, theta, layout) if method != "complex" else None

    n = theta.size
    reason = f"mode '{mode}' as asked"
    if mode == "auto":
        limit = AUTO_FULL_PLAIN if batched is None else AUTO_FULL_BATCHED
        if n <= limit:
            mode, reason = "full", (f"auto: {n} entries <= {limit}, so every entry is checked")
        else:
            mode, per_block = "random", True
            reason = (f"auto: {n} entries > {limit} (the limit for a full check "
                      f"{'with this batched cost' if batched is not None else 'with a plain cost'}), so "
                      f"{int(directions)} random directions per block check every entry at once")
    generator = np.random.default_rng(rng) if mode in ("sparse", "random") else None
    engine = _Engine(cost=cost, batched=batched, theta=theta, layout=layout, dtype=dtype, method=method,
                     chunk=_chunk(chunk_size, n), progress=progress)
    args = dict(engine=engine, grad=grad, threshold=float(threshold), epsilon=epsilon, n_worst=n_worst)
    if mode == "random":
        report = _check_random(**args, k=int(directions), per_block=per_block, rng=generator,
                               distribution=distribution)
    else:
        if mode == "full":
            indices = np.arange(n)
        else:
            indices = _sample_entries(layout, samples, generator)
            reason += (f"; {indices.size} of {n} entries sampled, "
                       f"up to {int(samples)} from every block")
        report = _check_entries(**args, indices=indices, mode=mode)
    report.mode_reason = reason
    return report


def _chunk(chunk_size, n):
    """Perturbed vectors per batched call: asked, else DEFAULT_CHUNK capped so a (chunk, n) stack is ~64 MB."""
    if chunk_size is not None:
        return int(chunk_size)
    return int(max(1, min(DEFAULT_CHUNK, (64 * 2**20) // (8 * max(n, 1)))))


def _check_batched(batched_cost, theta, layout):
    """Validate a batched cost; one that knows its own point must be built at the checked parameters."""
    if batched_cost is None:
        return None
    if not callable(batched_cost):
        raise GradCheckError(f"batched_cost must be a function of a (k, n) stack of parameter vectors, "
                             f"got {type(batched_cost).__name__}")
    own = getattr(batched_cost, "theta", None)
    if own is not None:
        own = np.asarray(own).reshape(-1)
        if own.shape != theta.shape or not (own == theta.astype(own.dtype, copy=False)).all():
            raise GradCheckError("batched_cost was built at other parameters than the ones checked; build it "
                                 "from the same parameters dict (e.g. MLPBatchedCost(X, Y, parameters))")
    return batched_cost


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
        actual = (theta + eps.astype(dtype, copy=False)).astype(np.float64, copy=False) - theta.astype(np.float64, copy=False)
        if not actual.all():
            i = int(np.flatnonzero(actual == 0)[0])
            raise GradCheckError(f"epsilon {eps[i]:.1e} is too small to change entry {i} ({theta[i]:.3g}) in "
                                 f"{np.dtype(dtype).name}; use a larger step")
    return eps


def _sample_entries(layout, samples, rng):
    """Sorted theta indices: min(samples, size) distinct random entries of every block."""
    samples = int(samples)
    if samples < 1:
        raise GradCheckError(f"samples must be at least 1, got {samples}")
    chosen = []
    for sl, size in zip(layout.slices().values(), layout.sizes):
        chosen.append(sl.start + np.sort(rng.choice(size, size=min(samples, size), replace=False)))
    return np.concatenate(chosen).astype(np.int64)


class _Engine:
    """Evaluates the cost at perturbed parameters: a plain loop over ``cost``, or chunks of a batched cost.

    Counts evaluations and drives the progress bar.
    """

    def __init__(self, cost, batched, theta, layout, dtype, method, chunk, progress):
        self.cost, self.batched, self.theta, self.layout = cost, batched, theta, layout
        self.dtype, self.method, self.chunk, self.progress = dtype, method, chunk, progress
        self.n_eval = 0
        self.label = layout.label  # entry index -> "W2[1, 3]", only for the few entries a report names
        # Precision the cost is *computed* in, which sets its round-off: float64 unless the cost returns
        # float32 values (float32 parameters fed to a float64 computation give float64 round-off).
        self.cost_dtype = np.dtype(np.float64)

    def _note_precision(self, value):
        if getattr(value, "dtype", None) in (np.float32, np.complex64, np.float16):
            self.cost_dtype = np.dtype(np.float32)

    def evaluate(self, vector, where):
        """Cost at one parameter vector (n,), through the plain cost function (or the batched one alone).

        ``where`` (str, or a function returning one, formatted only for an error) says which perturbation.
        """
        describe = where if callable(where) else (lambda: where)
        if self.cost is None:
            return float(self._batched_values(self.batched(vector[None, :]), 1, lambda j: describe())[0])
        self.n_eval += 1
        value = self.cost(vector_to_dictionary(vector, self.layout))
        if type(value) in (float, np.float64) and np.isfinite(value):  # the common case, checked cheaply
            return float(value)
        self._note_precision(value)
        return _cost_value(value, describe(), complex_ok=self.method == "complex")

    def _batched_values(self, values, count, where):
        values = np.asarray(values)
        self._note_precision(values)
        if values.shape != (count,):
            raise GradCheckError(f"batched_cost must return one cost per parameter vector, shape ({count},), "
                                 f"got shape {values.shape}")
        values = values.astype(np.float64, copy=False)
        bad = np.flatnonzero(~np.isfinite(values)) if not np.isfinite(values).all() else ()
        if len(bad):
            raise GradCheckError(f"the cost is {values[bad[0]]} {where(bad[0])}; the check needs a finite cost "
                                 f"there (look for log(0), overflow in exp, or NaN in the inputs)")
        self.n_eval += count
        return values

    def reference(self):
        """J(theta); with both a cost and a batched cost, checks that they agree there."""
        own = getattr(self.batched, "cost0", None)  # a batched cost that knows its value at theta
        if self.cost is None and own is not None:
            self.n_eval += 1
            return float(own)
        J0 = self.evaluate(self.theta, "at the unperturbed parameters")
        if self.batched is not None and self.cost is not None:
            Jb = float(own) if own is not None else float(np.asarray(self.batched(self.theta[None, :])).reshape(-1)[0])
            if not abs(Jb - J0) <= 1e3 * np.finfo(self.dtype).eps * max(abs(J0), 1e-300):
                raise GradCheckError(f"batched_cost gives {Jb!r} at the unperturbed parameters but cost gives {J0!r}; "
                                     f"build it from the same data, parameters and lambd as the cost")
        return J0

    # -- single entries --------------------------------------------------------------------------------

    def entry_costs(self, indices, steps, bar):
        """Costs at theta + steps[j] e_{indices[j]}; steps are in float64, the steps actually taken.

        indices (k,), steps (k,) -> costs (k,)
        """
        k = indices.size
        out = np.empty(k)

        def where(j):  # describes evaluation j, only for an error message
            verb = "increased" if steps[j] >= 0 else "decreased"
            return f"when {self.label(indices[j])} was {verb} by {abs(steps[j]):.1e}"

        if self.batched is None:
            for j in range(k):
                vector = self.theta.copy()
                vector[indices[j]] = self.theta[indices[j]] + self.dtype.type(steps[j])
                out[j] = self.evaluate(vector, lambda: where(j))
                bar.advance(1)
            return out
        for s in range(0, k, self.chunk):
            idx, st = indices[s:s + self.chunk], steps[s:s + self.chunk]
            if hasattr(self.batched, "entry_costs"):
                values = self.batched.entry_costs(idx, st)
            else:
                thetas = np.repeat(self.theta[None, :], idx.size, axis=0)  # shape (c, n)
                rows = np.arange(idx.size)
                thetas[rows, idx] = (self.theta[idx] + st.astype(self.dtype)).astype(self.dtype)
                values = self.batched(thetas)
            out[s:s + idx.size] = self._batched_values(values, idx.size, lambda j: where(s + j))
            bar.advance(idx.size)
        return out

    def complex_entry(self, i, h):
        step = np.zeros(self.theta.size, dtype=np.complex128)
        step[i] = 1j * h
        Jc = self.evaluate(self.theta.astype(np.complex128) + step,
                           f"when {self.label(i)} was stepped by i*{h:.1e}")
        if not np.iscomplexobj(np.asarray(Jc)):
            raise GradCheckError("method='complex' needs a cost that carries complex numbers through "
                                 "(no np.real, abs, float() or max inside); it returned a real number")
        return np.imag(Jc) / h


def _entry_differences(engine, indices, eps):
    """Numeric derivatives of the cost along the unit vectors of the given entries.

    Parameters
    ----------
    engine : _Engine
    indices : ndarray of int, shape (s,)
    eps : ndarray, shape (s,), the steps asked for

    Returns
    -------
    numeric : ndarray (s,); sides : (plus_side (s,), minus_side (s,)) for centered differences, else None;
    J0 : float or None (complex step)
    """
    theta, dtype, method = engine.theta, engine.dtype, engine.method
    s = indices.size
    if method == "complex":
        bar = _Progress(s, engine.progress, "gradient check", theta.size)
        numeric = np.empty(s)
        for j, i in enumerate(indices):
            numeric[j] = engine.complex_entry(i, eps[j])
            bar.advance(1)
        bar.close()
        return numeric, None, None
    J0 = engine.reference()
    base = theta[indices]  # shape (s,)
    base64, eps_t = base.astype(np.float64, copy=False), eps.astype(dtype, copy=False)
    h_plus = (base + eps_t).astype(np.float64, copy=False) - base64  # steps taken
    n_sides = 1 if method == "forward" else 2
    bar = _Progress(n_sides * s, engine.progress, "gradient check", theta.size)
    try:
        if engine.batched is None:  # one entry at a time, both sides, as the classic loop does
            Jp, Jm = np.empty(s), np.empty(s)
            h_minus = base64 - (base - eps_t).astype(np.float64, copy=False)
            for j in range(s):
                Jp[j] = engine.entry_costs(indices[j:j + 1], h_plus[j:j + 1], bar)[0]
                if method == "centered":
                    Jm[j] = engine.entry_costs(indices[j:j + 1], -h_minus[j:j + 1], bar)[0]
        elif method == "forward":
            Jp = engine.entry_costs(indices, h_plus, bar)
        else:  # both sides in one batched sweep: entry j at +h_plus[j], then at -h_minus[j]
            h_minus = base64 - (base - eps_t).astype(np.float64, copy=False)
            both = engine.entry_costs(np.concatenate([indices, indices]), np.concatenate([h_plus, -h_minus]), bar)
            Jp, Jm = both[:s], both[s:]
    finally:
        bar.close()
    plus_side = (Jp - J0) / h_plus
    if method == "forward":
        return plus_side, None, J0
    minus_side = (J0 - Jm) / h_minus
    numeric = (Jp - Jm) / (h_plus + h_minus)
    return numeric, (plus_side, minus_side), J0


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


def _kink_entries(g, sides, floor, failing):
    """Entries whose step crossed a kink, among the failing ones (bool (s,)).

    At a kink the analytic gradient is the slope of the side the point lies on: it matches one one-sided
    difference closely while the two disagree. On a smooth function both one-sided differences sit about
    eps * J'' / 2 on either side of it instead.
    """
    if sides is None or not failing.any():  # no one-sided differences, or nothing to explain
        return np.zeros(g.size, dtype=bool)
    plus_side, minus_side = sides
    disagreement = np.abs(plus_side - minus_side)
    closest = np.minimum(np.abs(g - plus_side), np.abs(g - minus_side))
    return failing & (disagreement > 2 * floor) & (closest <= KINK_MATCH * disagreement)


def _block_results(layout, owner, threshold, delta, g, numeric, floor, failing, kinks):
    """One BlockResult per block of the layout, in layout order.

    Parameters
    ----------
    owner : ndarray of int (s,), the block of every checked entry
    delta, g, numeric, floor : ndarrays (s,): g - numeric, the two gradients, the round-off floor
    failing, kinks : bool ndarrays (s,): entries above the threshold, entries that crossed a kink

    Returns
    -------
    list of BlockResult
    """
    n_blocks = len(layout.names)

    def norms(squares):  # per-block 2-norms from squares (s,), shape (B,)
        return np.sqrt(np.bincount(owner, weights=squares, minlength=n_blocks))

    d2, g2, n2, f2 = delta * delta, g * g, numeric * numeric, floor * floor
    d_all, g_all, n_all = norms(d2), norms(g2), norms(n2)
    if kinks.any():  # the verdict leaves kinks out
        keep = ~kinks
        d_keep, floor_keep = norms(np.where(keep, d2, 0.0)), norms(np.where(keep, f2, 0.0))
        size_keep = norms(np.where(keep, g2, 0.0)) + norms(np.where(keep, n2, 0.0))
        kinked = np.bincount(owner[kinks], minlength=n_blocks)
        failing = failing & keep
    else:
        d_keep, floor_keep, size_keep = d_all, norms(f2), g_all + n_all
        kinked = np.zeros(n_blocks, dtype=np.int64)
    n_failing = np.bincount(owner[failing], minlength=n_blocks)
    blocks = []
    for name, shape, d, ga, na, dk, fk, sk, nf, nk in zip(
            layout.names, layout.shapes, d_all.tolist(), g_all.tolist(), n_all.tolist(), d_keep.tolist(),
            floor_keep.tolist(), size_keep.tolist(), n_failing.tolist(), kinked.tolist()):
        excess = float(_excess(dk, fk, sk))
        blocks.append(BlockResult(
            name=name, shape=shape, relative_difference=0.0 if ga + na == 0 else d / (ga + na), excess=excess,
            analytic_norm=ga, numeric_norm=na, n_failing=nf, n_kinks=nk, passed=excess <= threshold,
            resolved=fk <= threshold * sk or sk == 0 and fk == 0,
        ))
    return blocks


def _worst_order(entry_excess, entry_errors, n_worst):
    """Positions of the n_worst worst entries: largest excess beyond round-off, then largest error.

    Ties keep the order of the entries; NaN counts as 0 and inf as the largest float.
    """
    key = np.minimum(entry_excess, np.finfo(np.float64).max)  # shape (s,)
    if np.isnan(key).any():
        key = np.nan_to_num(key)
    return np.lexsort((-entry_errors, -key))[:n_worst]


def _excess_cause_note(global_rel, n_kinks, rel_without_kinks, threshold):
    """The note of a passed check whose global relative difference is above the threshold, naming the cause:
    the kinks when leaving their entries out brings the relative difference within the threshold, round-off
    otherwise (the discrepancy beyond the round-off floor is within the threshold).

    Parameters
    ----------
    global_rel : float, the global relative difference over every checked entry
    n_kinks : int, entries that crossed a kink (left out of the verdict)
    rel_without_kinks : float, the relative difference over the other entries (= global_rel without kinks)
    threshold : float

    Returns
    -------
    str
    """
    if n_kinks and rel_without_kinks <= threshold:
        return (f"the global relative difference {global_rel:.1e} is above the threshold only because of the "
                f"{n_kinks} entr{'ies' if n_kinks > 1 else 'y'} that crossed a kink (left out of the verdict); "
                f"without {'them' if n_kinks > 1 else 'it'} it is {rel_without_kinks:.1e}")
    return (f"the global relative difference {global_rel:.1e} is above the threshold only because of round-off "
            f"(the step is small); the discrepancy beyond round-off is within it")


def _check_entries(engine, grad, threshold, epsilon, n_worst, indices, mode):
    """Per-entry check of the entries ``indices`` of theta (all of them in mode "full")."""
    theta, layout, dtype, method = engine.theta, engine.layout, engine.dtype, engine.method
    full = mode == "full"  # indices is arange(n): no need to gather
    eps = _resolve_epsilon(epsilon, theta, method, dtype, theta.size)  # shape (n,)
    if not full or epsilon is not None:  # (a caller's epsilon array is copied, never kept in the report)
        eps = eps[indices]  # shape (s,)
    numeric, sides, J0 = _entry_differences(engine, indices, eps)
    g = grad if full else grad[indices]  # shape (s,)
    floor = _noise_floor(J0, eps, g, numeric, method, engine.cost_dtype)  # shape (s,)

    delta = g - numeric  # shape (s,)
    diff = np.abs(delta)
    size = np.abs(g) + np.abs(numeric)
    safe = np.where(size == 0, 1.0, size)
    # Both are the course's formula per entry with 0/0 -> 0: where size is 0, so are diff and above.
    entry_errors = diff / safe
    entry_excess = np.maximum(diff - floor, 0.0) / safe  # discrepancy that round-off cannot explain
    failing = entry_excess > threshold  # shape (s,)
    kinks = _kink_entries(g, sides, floor, failing)  # shape (s,)

    owner = layout.block_index()  # shape (n,): block number of every entry
    if not full:
        owner = owner[indices]  # shape (s,): block number of every checked entry
    blocks = _block_results(layout, owner, threshold, delta, g, numeric, floor, failing, kinks)
    norm = lambda x: float(np.sqrt(np.dot(x, x)))  # 2-norm of a 1-D float64 array
    g_norm, n_norm, d_norm = norm(g), norm(numeric), norm(delta)
    global_rel = 0.0 if g_norm + n_norm == 0 else d_norm / (g_norm + n_norm)
    if kinks.any():
        keep = ~kinks
        size_all, floor_all, d_keep = norm(g[keep]) + norm(numeric[keep]), norm(floor[keep]), norm(delta[keep])
        global_excess = _excess(d_keep, floor_all, size_all)
        rel_without_kinks = 0.0 if size_all == 0 else d_keep / size_all
    else:
        size_all, floor_all = g_norm + n_norm, norm(floor)
        global_excess = _excess(d_norm, floor_all, size_all)
        rel_without_kinks = global_rel

    notes = []
    if global_excess > threshold or any(not b.passed for b in blocks):
        verdict = "failed"
    elif floor_all > threshold * size_all:
        verdict = "inconclusive"
        advice = (f"use a larger epsilon (the default is {default_epsilon(theta[indices], method, dtype).min():.1e})"
                  if epsilon is not None else
                  f"this is already the best step for {engine.cost_dtype.name}, so check in float64 or pass a "
                  f"threshold above {floor_all / max(size_all, 1e-300):.0e}")
        notes.append(f"the round-off floor of this step ({floor_all / max(size_all, 1e-300):.1e} relative) is above "
                     f"the threshold, so the check cannot tell right from wrong; {advice}")
    else:
        verdict = "passed"
    n_kinks = int(np.count_nonzero(kinks))
    if n_kinks:
        notes.append(f"{n_kinks} entr{'ies' if n_kinks > 1 else 'y'} crossed a kink (the two one-sided "
                     f"differences disagree and the analytic gradient matches one of them): "
                     f"{', '.join(engine.label(i) for i in indices[kinks][:5])}; they are left out of the verdict. "
                     f"Re-check with a smaller epsilon or at another random point to clear them.")
    unresolved = [b.name for b in blocks if not b.resolved and b.passed]
    if unresolved and verdict != "inconclusive":
        notes.append(f"blocks {', '.join(unresolved)} have gradients below the round-off floor of this step; "
                     f"their agreement is not evidence either way")
    if global_rel > threshold and verdict == "passed":
        notes.append(_excess_cause_note(global_rel, n_kinks, rel_without_kinks, threshold))
    if mode == "sparse":
        notes.append(f"sparse check: {indices.size} of {theta.size} entries, up to "
                     f"{max(np.bincount(owner, minlength=len(layout.names)))} from every block. A block in which "
                     f"a fraction f of the entries is wrong goes unnoticed with probability about (1 - f)^s for "
                     f"s sampled entries: a bug that touches a whole block is always caught, a single wrong "
                     f"entry only with probability s / (block size); mode='full' or 'random' cover every entry")

    def entries(positions):  # EntryResults of checked entries (labels are made only for the entries reported)
        columns = [a[positions].tolist() for a in (indices, g, numeric, entry_errors, entry_excess, kinks)]
        return [EntryResult(index=i, label=engine.label(i), analytic=a, numeric=d, relative_error=r, excess=x, kink=k)
                for i, a, d, r, x, k in zip(*columns)]
    order = _worst_order(entry_excess, entry_errors, n_worst)  # shape (n_worst,)
    worst = entries(order[diff[order] > 0])
    blocks.sort(key=lambda b: (b.passed, -b.excess, -b.relative_difference))
    return GradCheckReport(
        verdict=verdict, relative_difference=global_rel, threshold=threshold, method=method, mode=mode,
        dtype=dtype, epsilon=eps, blocks=blocks, worst=worst,
        kinks=entries(np.flatnonzero(kinks)) if n_kinks else [],
        n_evaluations=engine.n_eval, analytic=g, numeric=numeric, entry_errors=entry_errors,
        entry_excess=entry_excess, layout=layout, notes=notes, indices=indices,
    )


DISTRIBUTIONS = ("gaussian", "rademacher")


def miss_probability(k, fraction=0.25, distribution="gaussian"):
    """Bound on the chance that k random directions all miss an error, as the random check states it.

    For a direction v with independent entries of variance 1/n and any error vector D of the gradient,
    E (D.v)^2 = |D|^2 / n. "Missing" means |D.v| < f |D| / sqrt(n) (seeing less than a fraction f of the
    typical error). Directions are independent, so all k miss with probability at most p^k, where

    * gaussian (N(0, 1/n) entries): D.v is exactly Normal(0, |D|^2 / n), so p = P(|z| < f) <= sqrt(2/pi) f;
    * rademacher (entries +-1/sqrt(n)): E (D.v)^4 <= 3 |D|^4 / n^2, so by the Paley-Zygmund inequality
      p <= 1 - (1 - f^2)^2 / 3 (weaker: D = e_1 - e_2 is missed with probability 1/2 per direction).

    Parameters
    ----------
    k : int, number of directions
    fraction : float, f in (0, 1)
    distribution : "gaussian" or "rademacher"

    Returns
    -------
    float, p^k
    """
    if distribution == "gaussian":
        p = np.sqrt(2 / np.pi) * fraction
    elif distribution == "rademacher":
        p = 1 - (1 - fraction ** 2) ** 2 / 3
    else:
        raise GradCheckError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    return float(min(p, 1.0) ** k)


def _direction_groups(layout, per_block):
    """(name, block numbers) of every group of directions: one group of all blocks, or one per block."""
    if per_block:
        return [(name, [b]) for b, name in enumerate(layout.names)]
    return [("all", list(range(len(layout.names))))]


#: Gaussian entries are drawn in pieces of this many (a fixed size: the draws depend on nothing else).
NORMAL_PIECE = 1 << 17


def _standard_normal(generator, size):
    """``size`` independent N(0, 1) draws by the Box-Muller transform, computed in float32.

    For independent uniforms u1 in (0, 1] and u2 in [0, 1), r = sqrt(-2 ln u1) and t = 2 pi u2 give two
    independent standard normals r cos(t) and r sin(t). Each piece of 2h entries takes 2h float32 uniforms
    (on the grid of 2^-24, so |z| <= 5.8 and every value is a float32, as with a float32 ziggurat) and
    returns the h cosines then the h sines. About 2.5x faster than ``generator.standard_normal(dtype=
    np.float32)``, whose ziggurat costs ~9 ns a draw here: drawing the uniforms is most of what is left.

    Returns
    -------
    z : ndarray, shape (size,), float64 (holding float32 values)
    """
    z = np.empty(size)
    two_pi = np.float32(2 * np.pi)
    uniforms = np.empty(min(size + 1, NORMAL_PIECE + 1), dtype=np.float32)  # buffers reused by every piece
    products = np.empty(uniforms.size // 2, dtype=np.float32)
    for start in range(0, size, NORMAL_PIECE):
        count = min(NORMAL_PIECE, size - start)
        h = (count + 1) // 2  # pairs in this piece
        u = uniforms[:2 * h]
        generator.random(out=u, dtype=np.float32)  # shape (2h,), in [0, 1)
        r, angle, product = u[:h], u[h:], products[:h]  # shapes (h,)
        np.subtract(np.float32(1), r, out=r)  # in (0, 1]
        np.log(r, out=r)
        r *= -2
        np.sqrt(r, out=r)  # the radius
        angle *= two_pi
        np.cos(angle, out=product)
        product *= r
        z[start:start + h] = product
        np.sin(angle, out=product)
        product *= r
        z[start + h:start + count] = product[:count - h]
    return z


def _draw_raw(generator, shape, distribution):
    """Unit-variance random entries of the given shape (float64): N(0, 1) in float32 precision (numpy's
    ziggurat for blocks smaller than NORMAL_PIECE, ``_standard_normal`` for larger ones, ~2.5x faster
    there), or +-1 from random bits."""
    size = int(np.prod(shape))
    if distribution == "gaussian" and size < NORMAL_PIECE:  # numpy's float32 ziggurat: fewer calls for a small block
        return generator.standard_normal(shape, dtype=np.float32).astype(np.float64)
    if distribution == "gaussian":
        return _standard_normal(generator, size).reshape(shape)
    bits = np.unpackbits(np.frombuffer(generator.bytes((size + 7) // 8), dtype=np.uint8), count=size)
    signs = bits.astype(np.float64)  # shape (size,), 0 or 1
    signs *= 2
    signs -= 1
    return signs.reshape(shape)


def _draw_direction(generator, layout, members, distribution="gaussian"):
    """One direction, block by block: unit-variance entries in the member blocks, 0 elsewhere.

    The direction is ``scale * blocks`` with scale = 1 / sqrt(n_g) (n_g: the members' total size), so its
    entries have variance 1 / n_g (and |v| is about 1).

    Returns
    -------
    blocks : list of ndarray, one per block of the layout, each of the block's shape (float64)
    scale : float
    """
    n_g = sum(layout.sizes[b] for b in members)
    out = []
    for b, shape in enumerate(layout.shapes):
        out.append(_draw_raw(generator, shape, distribution) if b in members else np.zeros(shape))
    return out, 1.0 / np.sqrt(n_g)


def _direction_differences(engine, grad, step, generators, members, keep_directions, distribution):
    """Directional derivatives along random directions, in chunks.

    Parameters
    ----------
    engine : _Engine
    grad : ndarray (n,), the analytic gradient
    step : float, the step along each (unit-scale) direction
    generators : list of k numpy Generators, one per direction (so chunking does not change the draws)
    members : list of k lists of block numbers: the blocks each direction lives in
    keep_directions : bool, return the (k, n) directions
    distribution : "gaussian" or "rademacher"

    Returns
    -------
    analytic (k,), numeric (k,), J0, directions (k, n) or None
    """
    layout, theta, dtype, method = engine.layout, engine.theta, engine.dtype, engine.method
    k = len(generators)
    slices = list(layout.slices().values())
    grad_blocks = [grad[sl] for sl in slices]
    analytic, numeric = np.empty(k), np.empty(k)
    kept = np.empty((k, theta.size)) if keep_directions else None
    J0 = engine.reference() if method != "complex" else None
    per_direction = 1 if method in ("forward", "complex") else 2
    chunk = engine.chunk if engine.batched is not None else 1
    bar = _Progress(per_direction * k, engine.progress, "random-direction check", theta.size)
    try:
        for s in range(0, k, chunk):
            rows = range(s, min(k, s + chunk))
            drawn = []
            for j in rows:  # float64 blocks: exact dot products and matrix products
                drawn.append(_draw_direction(generators[j], layout, members[j], distribution))
            c = len(drawn)
            scales = np.array([scale for _, scale in drawn])  # shape (c,)
            for r, j in enumerate(rows):
                raw = drawn[r][0]
                analytic[j] = scales[r] * sum(float(np.dot(raw[b].reshape(-1), grad_blocks[b])) for b in members[j])
            vectors = None
            if keep_directions or not hasattr(engine.batched, "direction_costs"):
                vectors = np.stack([np.concatenate([v.reshape(-1) for v in d]) * scale
                                    for d, scale in drawn]).astype(np.float64)  # shape (c, n)
                if keep_directions:
                    kept[s:s + c] = vectors
            if method == "complex":
                for r, j in enumerate(rows):
                    Jc = engine.evaluate(theta.astype(np.complex128) + 1j * step * vectors[r],
                                         f"along direction {j} stepped by i*{step:.1e}")
                    if not np.iscomplexobj(np.asarray(Jc)):
                        raise GradCheckError("method='complex' needs a cost that carries complex numbers through "
                                             "(no np.real, abs, float() or max inside); it returned a real number")
                    numeric[j] = np.imag(Jc) / step
                    bar.advance(1)
                continue
            where = lambda j: f"along direction {s + j % c} stepped by {step:.1e}"
            if engine.batched is None:
                Jp, Jm = np.empty(c), np.empty(c)
                for r, j in enumerate(rows):
                    Jp[r] = engine.evaluate((theta + step * vectors[r]).astype(dtype), where(r))
                    if method == "centered":
                        Jm[r] = engine.evaluate((theta - step * vectors[r]).astype(dtype), where(r))
                    bar.advance(per_direction)
            elif hasattr(engine.batched, "direction_costs"):
                if c == 1:
                    blocks = {name: drawn[0][0][b][None] for b, name in enumerate(layout.names)}
                else:
                    blocks = {name: np.stack([d[b] for d, _ in drawn]) for b, name in enumerate(layout.names)}
                Jp, Jm = engine.batched.direction_costs(blocks, step * scales)
                Jp = engine._batched_values(Jp, c, where)
                Jm = engine._batched_values(Jm, c, where) if method == "centered" else None
                bar.advance(per_direction * c)
            else:
                signs = [1.0] if method == "forward" else [1.0, -1.0]
                stack = np.concatenate([(theta + sg * step * vectors).astype(dtype) for sg in signs])
                values = engine._batched_values(engine.batched(stack), stack.shape[0], where)
                Jp, Jm = values[:c], values[c:]
                bar.advance(per_direction * c)
            if method == "forward":
                numeric[s:s + c] = (Jp - J0) / step
            else:
                numeric[s:s + c] = (Jp - Jm) / (2 * step)
    finally:
        bar.close()
    return analytic, numeric, J0, kept


def _check_random(engine, grad, threshold, epsilon, n_worst, k, per_block, rng, distribution):
    if k < 1:
        raise GradCheckError(f"directions must be at least 1, got {k}")
    if distribution not in DISTRIBUTIONS:
        raise GradCheckError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    theta, layout, dtype, method = engine.theta, engine.layout, engine.dtype, engine.method
    n = theta.size
    groups = _direction_groups(layout, per_block)
    owners = np.repeat(np.arange(len(groups)), k)  # shape (k * groups,)
    members = [groups[g][1] for g in owners]
    generators = rng.spawn(owners.size)  # one stream per direction: draws do not depend on chunking
    scale = max(1.0, float(np.max(np.abs(theta))))
    if epsilon is None:
        u = np.finfo(dtype).eps
        h = {"centered": u ** (1 / 3), "forward": u ** 0.5, "complex": 1e-20}[method] * scale
    else:
        h = float(np.asarray(epsilon).reshape(-1)[0])
        if not (np.isfinite(h) and h > 0):
            raise GradCheckError(f"epsilon must be a positive number, got {epsilon!r}")
    keep = owners.size * n <= KEEP_DIRECTIONS
    analytic, numeric, J0, directions = _direction_differences(engine, grad, h, generators, members, keep,
                                                               distribution)
    eps = np.full(owners.size, h)
    floor = _noise_floor(J0, eps, analytic, numeric, method, dtype)

    blocks = []
    failing = []
    for g, (name, _) in enumerate(groups):
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
    inside = " inside each block (n: the block's size)" if per_block else ""
    kind = "Gaussian" if distribution == "gaussian" else "Rademacher (random sign)"
    law = ("D.v is exactly Normal(0, |D|^2/n), so it is smaller than d |D|/sqrt(n) with probability at most "
           "0.8 d" if distribution == "gaussian" else
           "E (D.v)^2 = |D|^2/n and, by the Paley-Zygmund inequality, |D.v| < d |D|/sqrt(n) with probability "
           "at most 1 - (1 - d^2)^2/3")
    notes = [f"random-direction check: {k} {kind} direction{'s' if k > 1 else ''}{' per block' if per_block else ''}"
             f" with independent entries of variance 1/n{inside}, {engine.n_eval} cost evaluations instead of "
             f"{2 * n + 1}. Guarantee: for any error D of the analytic gradient, the error seen along a "
             f"direction v is D.v; {law}; all {k} directions see less than a quarter of the typical error "
             f"with probability below {miss_probability(k, 0.25, distribution):.0e}."]
    if directions is None:
        notes.append(f"the {owners.size} x {n} directions are not kept in the report (too large); rerun with "
                     f"the same rng to draw them again")
    return GradCheckReport(
        verdict=verdict, relative_difference=global_rel, threshold=threshold, method=method, mode="random",
        dtype=dtype, epsilon=eps, blocks=blocks,
        worst=[], kinks=[], n_evaluations=engine.n_eval, analytic=analytic, numeric=numeric,
        entry_errors=np.zeros(0), entry_excess=np.zeros(0), layout=layout, notes=notes, directions=directions,
    )
