"""Machinery of the gradient checker; a student does not need this module: evaluating the cost, fast.

``gradcheck.numerical_gradient`` is the loop the course teaches. The checker computes the same numbers,
but it also validates its inputs, names the entry where a cost becomes NaN, counts evaluations, drives
the progress bar and, given a fast evaluator, evaluates the perturbed parameters in chunks.

One interface for fast evaluators: ``BatchedCost``. ``check_gradients(batched_cost=f)`` accepts an
instance (such as ``fastcheck.MLPBatchedCost``, which uses the network's structure) or a plain function
of a (k, n) stack of parameter vectors, which is wrapped in ``StackedCost``.

Shapes: theta (n,), a stack of parameter vectors (k, n), indices and steps (k,).
"""

import numpy as np

from course_utils.checker_progress import Progress
from course_utils.parameters import NUMERIC_KINDS, gradients_to_vector, vector_to_dictionary

__all__ = ["BatchedCost", "DEFAULT_CHUNK", "Engine", "GradCheckError", "PREFETCH_MAX", "PrecisionWarning",
           "STRUCTURED_CHUNK", "StackedCost", "check_dtype", "entry_differences", "flatten", "prefetch",
           "resolve_epsilon"]

#: Entries of a chunk evaluated together by a batched cost when the caller does not say.
DEFAULT_CHUNK = 512

#: Single-entry perturbations per call of an evaluator that does not stack whole vectors (see
#: ``Engine.entry_chunk``; 512 to 1,024 measured fastest on the 5k and 100k networks).
STRUCTURED_CHUNK = 512

#: Problems up to this many parameters evaluate their differences and the first noise table in one call.
PREFETCH_MAX = 256


class PrecisionWarning(UserWarning):
    """The check runs in a precision that limits what it can prove (float32)."""


class GradCheckError(ValueError):
    """The check cannot run on these inputs; the message names the problem and the fix."""


# ---------------------------------------------------------------------------------------------------
# The evaluator interface
# ---------------------------------------------------------------------------------------------------

class BatchedCost:
    """A fast evaluator of one cost at many parameter vectors: the interface ``check_gradients`` uses.

    Subclasses implement ``__call__``; ``entry_costs`` and ``direction_costs`` default to building
    stacks of whole parameter vectors, and an evaluator that knows its model's structure overrides them.

    Attributes
    ----------
    theta : ndarray (n,), the point the evaluator was built at (the checker refuses other parameters)
    cost0 : float or None, the cost at theta when the evaluator knows it
    dtype : numpy dtype of the stacks it is given
    """

    theta = None
    cost0 = None
    dtype = np.dtype(np.float64)

    def __call__(self, thetas):
        """Costs at k parameter vectors: thetas (k, n) -> costs (k,)."""
        raise NotImplementedError

    def entry_costs(self, indices, deltas):
        """Costs at theta + deltas[j] e_{indices[j]}: indices (k,), deltas (k,) -> costs (k,)."""
        thetas = np.repeat(self.theta[None, :], indices.size, axis=0)  # shape (k, n)
        rows = np.arange(indices.size)
        thetas[rows, indices] = (self.theta[indices] + deltas.astype(self.dtype)).astype(self.dtype)
        return self(thetas)

    def direction_costs(self, blocks, step, centered=True):
        """Costs at theta + step_j v_j and theta - step_j v_j for k directions v_j.

        Parameters
        ----------
        blocks : dict name -> ndarray (k,) + the parameter's shape: the directions, block by block, in the
            layout's order
        step : ndarray (k,), the step along each direction
        centered : bool, False for the plus side only

        Returns
        -------
        plus : ndarray (k,); minus : ndarray (k,) or None
        """
        k = step.size
        vectors = np.concatenate([np.asarray(v, dtype=np.float64).reshape(k, -1) for v in blocks.values()], axis=1)
        signs = [1.0, -1.0] if centered else [1.0]
        stack = np.concatenate([(self.theta + sg * step[:, None] * vectors).astype(self.dtype) for sg in signs])
        values = np.asarray(self(stack))
        if values.shape != (stack.shape[0],):
            return values, None  # the caller reports the wrong shape
        return values[:k], (values[k:] if centered else None)


class StackedCost(BatchedCost):
    """A plain function of a (k, n) stack of parameter vectors, seen through the ``BatchedCost`` interface.

    Parameters
    ----------
    function : callable, thetas (k, n) -> costs (k,)
    theta : ndarray (n,), the checked parameters
    """

    def __init__(self, function, theta):
        self.function, self.theta, self.dtype = function, theta, theta.dtype

    def __call__(self, thetas):
        return self.function(thetas)


def as_batched(batched_cost, theta):
    """The evaluator of ``check_gradients(batched_cost=...)``, validated (None when there is none).

    Raises
    ------
    GradCheckError when it is not callable, or was built at other parameters than the checked ones.
    """
    if batched_cost is None:
        return None
    if not callable(batched_cost):
        raise GradCheckError(f"batched_cost must be a function of a (k, n) stack of parameter vectors, "
                             f"got {type(batched_cost).__name__}")
    if not isinstance(batched_cost, BatchedCost):
        return StackedCost(batched_cost, theta)
    own = np.asarray(batched_cost.theta).reshape(-1)
    if own.shape != theta.shape or not (own == theta.astype(own.dtype, copy=False)).all():
        raise GradCheckError("batched_cost was built at other parameters than the ones checked; build it "
                             "from the same parameters dict (e.g. MLPBatchedCost(X, Y, parameters))")
    return batched_cost


# ---------------------------------------------------------------------------------------------------
# Flattening and validating the inputs
# ---------------------------------------------------------------------------------------------------

def check_dtype(parameters):
    """The float dtype of the check: float32 if every array is float32, else float64.

    Parameters
    ----------
    parameters : dict name -> array_like of any shape

    Returns
    -------
    dtype : numpy dtype, float32 or float64

    Raises
    ------
    GradCheckError for complex parameters.
    """
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
    labels = [layout.label(i) for i in bad[:5]]
    kind = "NaN" if np.isnan(vector[bad[0]]) else "Inf"
    more = f" and {bad.size - 5} more" if bad.size > 5 else ""
    raise GradCheckError(f"{what} contains {kind} at {', '.join(labels)}{more}; "
                         f"find where it first becomes non-finite before checking gradients")


def flatten(parameters, gradients, layout, dtype):
    """The parameters and the analytic gradients as two vectors in the layout's order.

    Returns
    -------
    theta : ndarray (n,) of ``dtype``; grad : ndarray (n,) of float64

    Raises
    ------
    GradCheckError naming the first non-finite entry, or for non-real gradients.
    """
    theta = np.concatenate([np.asarray(parameters[k]).reshape(-1) for k in layout.names]).astype(dtype)  # (n,)
    _check_finite(theta, layout, "the parameters")
    grad = gradients_to_vector(gradients, layout).reshape(-1)
    if grad.dtype.kind not in NUMERIC_KINDS or grad.dtype.kind == "c":
        raise GradCheckError(f"gradients must be real numeric arrays, got dtype {grad.dtype}")
    grad = grad.astype(np.float64, copy=False)
    _check_finite(grad, layout, "the analytic gradients")
    return theta, grad


def resolve_epsilon(epsilon, default, theta, method, dtype):
    """The step of every entry: ``epsilon`` (a number or one per entry) or the default, validated.

    Parameters
    ----------
    epsilon : None, float or array_like (n,)
    default : ndarray (n,), ``gradcheck.default_epsilon(theta, method, dtype)``
    theta : ndarray (n,)

    Returns
    -------
    eps : ndarray (n,), float64

    Raises
    ------
    GradCheckError for a step that is not positive, or too small to change an entry in the dtype.
    """
    n = theta.size
    if epsilon is None:
        eps = default
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


def chunk_for(chunk_size, n):
    """Perturbed vectors per batched call: asked, else DEFAULT_CHUNK capped so a (chunk, n) stack is ~64 MB."""
    if chunk_size is not None:
        return int(chunk_size)
    return int(max(1, min(DEFAULT_CHUNK, (64 * 2**20) // (8 * max(n, 1)))))


def cost_value(value, where, complex_ok=False):
    """A cost's return value as a scalar, with a clear error for anything else.

    Raises
    ------
    GradCheckError for an array, a non-number or a non-finite cost, saying where it was evaluated.
    """
    if isinstance(value, (tuple, list)):
        raise GradCheckError(f"the cost function returned a {type(value).__name__} of {len(value)} items ({where}), "
                             f"such as (cost, cache); return only the cost, e.g. lambda p: forward(X, Y, p)[0]")
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
# The engine
# ---------------------------------------------------------------------------------------------------

class Engine:
    """Evaluates the cost at perturbed parameters: a plain loop over ``cost``, or chunks of a batched cost.

    Counts evaluations and drives the progress bar.

    Parameters
    ----------
    cost : callable parameters dict -> float, or None (the batched cost alone)
    batched : BatchedCost or None
    theta : ndarray (n,) in the dtype of the check; layout : Layout; dtype : numpy dtype
    method : "centered", "forward" or "complex"; chunk : int; progress : True, False or None
    """

    def __init__(self, cost, batched, theta, layout, dtype, method, chunk, progress):
        self.cost, self.batched, self.theta, self.layout = cost, batched, theta, layout
        self.dtype, self.method, self.chunk, self.progress = dtype, method, chunk, progress
        self.n_eval = 0
        self.prefetched = None  # costs (13,) at the first noise table's points, see ``prefetch``
        self.label = layout.label  # entry index -> "W2[1, 3]", only for the few entries a report names
        # Precision the cost is *computed* in, which sets its round-off: float64 unless the cost returns
        # float32 values (float32 parameters fed to a float64 computation give float64 round-off).
        self.cost_dtype = np.dtype(np.float64)

    def stacks_entries(self, k):
        """Whether k single-entry perturbations are best evaluated as one stack of whole parameter vectors,
        with the noise table in the same call (``prefetch``): a batched cost whose entry_costs stacks whole
        vectors anyway (the default, or a network evaluator below its ``dense_max``), in float64, in one chunk,
        for at most PREFETCH_MAX parameters (bool)."""
        if self.batched is None or self.method != "centered" or self.dtype != np.float64:
            return False
        n = self.theta.size
        stacking = (type(self.batched).entry_costs is BatchedCost.entry_costs
                    or n <= getattr(self.batched, "dense_max", -1))
        return stacking and n <= PREFETCH_MAX and k <= self.chunk

    def bar(self, total, desc):
        """A progress bar over ``total`` evaluations of this check (see ``checker_progress``)."""
        return Progress(total, self.progress, desc, self.theta.size)

    def _note_precision(self, value):
        if getattr(value, "dtype", None) in (np.float32, np.complex64, np.float16):
            self.cost_dtype = np.dtype(np.float32)

    def evaluate(self, vector, where):
        """Cost at one parameter vector (n,), through the plain cost function (or the batched one alone).

        ``where`` (str, or a function returning one, formatted only for an error) says which perturbation.
        """
        describe = where if callable(where) else (lambda: where)
        if self.cost is None:
            return float(self.batched_values(self.batched(vector[None, :]), 1, lambda j: describe())[0])
        self.n_eval += 1
        value = self.cost(vector_to_dictionary(vector, self.layout))
        if type(value) in (float, np.float64) and np.isfinite(value):  # the common case, checked cheaply
            return float(value)
        self._note_precision(value)
        return cost_value(value, describe(), complex_ok=self.method == "complex")

    def stack_costs(self, stack):
        """Costs at a stack of parameter vectors (k, n) -> (k,), through the batched cost when there is one."""
        if self.batched is not None:
            return self.batched_values(self.batched(stack), stack.shape[0], lambda j: f"at noise-table point {j}")
        return np.array([float(np.real(self.evaluate(v, f"at noise-table point {j}"))) for j, v in enumerate(stack)])

    def batched_values(self, values, count, where):
        """Costs returned by the batched cost, validated and counted: shape (count,), float64."""
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
        own = self.batched.cost0 if self.batched is not None else None  # a batched cost that knows its value
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
        chunk = self.entry_chunk()
        for s in range(0, k, chunk):
            idx, st = indices[s:s + chunk], steps[s:s + chunk]
            out[s:s + idx.size] = self.batched_values(self.batched.entry_costs(idx, st), idx.size,
                                                      lambda j: where(s + j))
            bar.advance(idx.size)
        return out

    def entry_chunk(self):
        """Single-entry perturbations per call of the batched cost's entry_costs: the chunk, except for an
        evaluator that never stacks whole parameter vectors (a network evaluator above its ``dense_max``, which
        bounds its own memory) when the chunk is the default one (sized for (chunk, n) stacks): then
        STRUCTURED_CHUNK, so that a 100k-parameter check makes about 400 calls, not 2,400 (int)."""
        n = self.theta.size
        structured = n > getattr(self.batched, "dense_max", n)
        return max(self.chunk, STRUCTURED_CHUNK) if structured and self.chunk == chunk_for(None, n) else self.chunk

    def complex_derivative(self, vector, h, where):
        """Im J(vector) / h for a complex-stepped vector (n,).

        Raises
        ------
        GradCheckError when the cost does not carry complex numbers through.
        """
        Jc = self.evaluate(vector, where)
        if not np.iscomplexobj(np.asarray(Jc)):
            raise GradCheckError("method='complex' needs a cost that carries complex numbers through "
                                 "(no np.real, abs, float() or max inside); it returned a real number")
        return np.imag(Jc) / h


def prefetch(engine, indices, eps, steps, bar):
    """Costs at theta + steps[j] e_{indices[j mod s]} (both sides of a centered check), evaluated in one
    batched call together with the first noise table of ``checker_noise.measure`` (whose values are kept in
    ``engine.prefetched`` for it): on a small problem the cost of a call is mostly its fixed overhead.

    Parameters
    ----------
    engine : Engine with a batched cost; indices : ndarray of int (s,), the checked entries
    eps : ndarray (s,), the steps asked for (the noise table's scale)
    steps : ndarray (2 s,), float64, the steps taken: +h_plus for the s entries, then -h_minus
    bar : the progress bar of the check (advanced by 2 s)

    Returns
    -------
    costs : ndarray (2 s,)

    Raises
    ------
    GradCheckError (from ``Engine.batched_values``) when the batched cost returns other than one cost per
    vector, or a cost that is not finite (the message names the entry and step, or the table's point).
    """
    from course_utils.checker_noise import first_rows
    both = np.concatenate([indices, indices])  # shape (2 s,)
    noise_rows = first_rows(engine.theta, indices, eps, engine.dtype)  # shape (13, n)
    stack = np.repeat(engine.theta[None, :], both.size, axis=0)  # shape (2 s, n)
    stack[np.arange(both.size), both] = (engine.theta[both] + steps.astype(engine.dtype)).astype(engine.dtype)
    stack = np.concatenate([stack, noise_rows])

    def where(j):  # describes evaluation j, only for an error message
        if j >= both.size:
            return f"at noise-table point {j - both.size}"
        verb = "increased" if steps[j] >= 0 else "decreased"
        return f"when {engine.label(both[j])} was {verb} by {abs(steps[j]):.1e}"

    values = engine.batched_values(engine.batched(stack), stack.shape[0], where)
    engine.prefetched = values[both.size:]
    bar.advance(both.size)
    return values[:both.size]


def _complex_differences(engine, indices, eps):
    """Complex-step derivatives Im J(theta + i eps_j e_j) / eps_j of the given entries, one evaluation each
    (indices (s,), eps (s,) -> ndarray (s,))."""
    theta = engine.theta
    bar = engine.bar(indices.size, "gradient check")
    numeric = np.empty(indices.size)
    for j, i in enumerate(indices):
        step = np.zeros(theta.size, dtype=np.complex128)
        step[i] = 1j * eps[j]
        numeric[j] = engine.complex_derivative(theta.astype(np.complex128) + step, eps[j],
                                               f"when {engine.label(i)} was stepped by i*{eps[j]:.1e}")
        bar.advance(1)
    bar.close()
    return numeric


def entry_differences(engine, indices, eps, J0=None):
    """Numeric derivatives of the cost along the unit vectors of the given entries.

    Parameters
    ----------
    engine : Engine
    indices : ndarray of int, shape (s,)
    eps : ndarray, shape (s,), the steps asked for
    J0 : float or None, the cost at theta when it is already known (else evaluated)

    Returns
    -------
    numeric : ndarray (s,); sides : (plus_side (s,), minus_side (s,)) for centered differences, else None;
    J0 : float or None (complex step)

    Raises
    ------
    GradCheckError (from the engine) when the cost is not a finite number at a perturbed point (the message
    names the entry and the step), when it does not return one number, when a batched cost returns the wrong
    shape or disagrees with the cost at theta, or, for method "complex", when the cost drops the imaginary part.
    """
    theta, dtype, method = engine.theta, engine.dtype, engine.method
    s = indices.size
    if method == "complex":
        return _complex_differences(engine, indices, eps), None, None
    first = J0 is None  # the check's own differences (later calls re-estimate a few entries)
    J0 = engine.reference() if J0 is None else J0
    base = theta[indices]  # shape (s,)
    base64, eps_t = base.astype(np.float64, copy=False), eps.astype(dtype, copy=False)
    h_plus = (base + eps_t).astype(np.float64, copy=False) - base64  # steps taken
    h_minus = base64 - (base - eps_t).astype(np.float64, copy=False)
    bar = engine.bar((1 if method == "forward" else 2) * s, "gradient check")
    try:
        if engine.batched is None:  # one entry at a time, both sides, as the classic loop does
            Jp, Jm = np.empty(s), np.empty(s)
            for j in range(s):
                Jp[j] = engine.entry_costs(indices[j:j + 1], h_plus[j:j + 1], bar)[0]
                if method == "centered":
                    Jm[j] = engine.entry_costs(indices[j:j + 1], -h_minus[j:j + 1], bar)[0]
        elif method == "forward":
            Jp = engine.entry_costs(indices, h_plus, bar)
        elif first and engine.stacks_entries(2 * s):  # one call: both sides, and the noise table (``prefetch``)
            both = prefetch(engine, indices, eps, np.concatenate([h_plus, -h_minus]), bar)
            Jp, Jm = both[:s], both[s:]
        else:  # both sides in one batched sweep: entry j at +h_plus[j], then at -h_minus[j]
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
