"""Machinery of the gradient checker; a student does not need this module: measuring the cost's noise.

A finite difference divides a difference of two costs by the step, so the noise of the cost sets a floor
under what the check can resolve. Instead of assuming that noise (``u * |J|``), the checker measures it at
the point, as Moré and Wild do ("Estimating computational noise", SIAM J. Sci. Comput. 33(3), 2011): the
cost along a random direction at 7 points ``theta + k delta v`` (k = -3 ... 3), and the differences of that
table. For a smooth function the k-th differences shrink like delta^k; noise does not shrink, and
``sigma_k = sqrt(gamma_k * mean(Delta^k J)^2)`` with ``gamma_k = (k!)^2 / (2k)!`` estimates its standard
deviation. A seventh evaluation, at theta itself, is the repeat: a cost that gives another value there is not
repeatable (dropout with a new mask, sampling), which the report says.

The table also tells the precision the cost is really computed in: when every value is exactly a float16
(or float32) number, the cost was computed (or rounded) in that precision, whatever type it returns.

Shapes: theta (n,), steps (n,).
"""

from dataclasses import dataclass
from math import factorial

import numpy as np

__all__ = ["NOISE_POINTS", "Noise", "STAIR_POINTS", "computed_dtype", "first_rows", "kinked", "measure",
           "measure_noise", "noise_from_table", "stair_noise", "table_steps"]

#: Points of the difference table on each side of theta (2 * 3 + 1 = 7 evaluations, one of them at theta).
NOISE_POINTS = 3

#: The table's step, as a fraction of the check's own step, on the first try (small, so that the smooth
#: part of the cost and the ReLU kinks stay out of the table). A flat table (a cost rounded to a coarse
#: precision) is tried again 100 x wider, a smooth one 100 x narrower, up to TABLE_TRIES tables.
TABLE_FRACTION = 1.0

#: Random directions of the table (with more, a kink met along one is outvoted: the smallest settled
#: estimate is kept; one keeps the cost low, and two underestimate the noise of a 2-parameter cost).
NOISE_DIRECTIONS = 1
TABLE_TRIES = 4

#: Points of the wide table that looks for stairs (jumps) in the cost, at steps WIDE_FRACTION x max(1, |theta_i|).
STAIR_POINTS = 12
WIDE_FRACTION = 0.01
BISECTIONS = 4


#: Moré and Wild's gamma_k = (k!)^2 / (2k)!, which makes sigma_k an estimate of the noise's deviation.
_GAMMA = [factorial(k) ** 2 / factorial(2 * k) for k in range(2 * NOISE_POINTS + 1)]


@dataclass
class Noise:
    """The measured noise of a cost at theta.

    Attributes
    ----------
    sigma : float, standard deviation of one evaluation (absolute, in the cost's units)
    repeat : float, |J(theta) - J(theta)| of two evaluations at the same point (0 for a repeatable cost)
    dtype : numpy dtype the cost is computed in (float16, float32 or float64)
    digits_lost : float, log10 of sigma / (u64 |J|): the digits the cost itself has lost
    evaluations : int, cost evaluations the measurement used
    """

    sigma: float
    repeat: float
    dtype: np.dtype
    digits_lost: float
    evaluations: int

    @property
    def repeatable(self):
        """bool: two evaluations at theta gave the same value."""
        return self.repeat == 0


def _difference_rows(m):
    """The k-th differences of a table of m + 1 values, k = 1 ... m, as one matrix: rows (sum_k (m + 1 - k),
    m + 1) with the signed binomial coefficients, and where each order's rows start (ndarray of int (m,))."""
    rows, starts, table = [], [], np.eye(m + 1)
    for k in range(1, m + 1):
        table = table[1:] - table[:-1]  # shape (m + 1 - k, m + 1)
        starts.append(sum(len(r) for r in rows))
        rows.append(table)
    return np.concatenate(rows), np.array(starts)


#: The difference matrix of a table of 2 NOISE_POINTS values (the six points of a one-sided table).
_ROWS, _STARTS = _difference_rows(2 * NOISE_POINTS - 1)
_GAMMA_K = np.array(_GAMMA[1:2 * NOISE_POINTS]) / np.diff(np.append(_STARTS, _ROWS.shape[0]))  # gamma_k / (m + 1 - k)


def noise_from_table(values):
    """Moré and Wild's noise estimate from a table of costs at equally spaced points on a line.

    Parameters
    ----------
    values : ndarray (m + 1,), the costs at theta + k delta v, k = 0 ... m

    Returns
    -------
    sigma : float, the estimated standard deviation of one evaluation
    settled : bool, True when three consecutive orders agree (within 4x) and the differences change sign
        (noise dominates the table); False when the smooth part dominates (sigma is then an upper bound)

    Raises
    ------
    Nothing of its own: the lines ``measure_noise`` reads have 2 NOISE_POINTS values; a single value gives
    numpy's ValueError (no difference to estimate from), and with fewer than 4 values no three orders can
    agree (settled is False).
    """
    table = np.asarray(values, dtype=np.float64)
    table = table - table[0]  # exact for nearby values; the differences' coefficients sum to 0
    if table.size == _ROWS.shape[1]:  # every order at once, with the precomputed matrix
        differences, starts, gammas = _ROWS @ table, _STARTS, _GAMMA_K
    else:
        rows, starts = _difference_rows(table.size - 1)
        differences = rows @ table
        gammas = np.array(_GAMMA[1:table.size]) / np.diff(np.append(starts, rows.shape[0]))
    sigmas = np.sqrt(gammas * np.add.reduceat(differences * differences, starts)).tolist()
    changes = ((np.maximum.reduceat(differences, starts) > 0) & (np.minimum.reduceat(differences, starts) < 0)).tolist()
    for k in range(len(sigmas) - 2):  # the first order where three estimates agree and the signs change
        trio = sigmas[k:k + 3]
        if changes[k] and max(trio) <= 4 * min(trio):
            return sigmas[k], True
    return min(sigmas), False


def kinked(values):
    """Whether a table's second differences are one kink, not noise (bool): the two largest, side by side,
    carry 80% of them all with the same sign (a kink between two points bends the two second differences
    around it the same way; a jump bends them opposite ways, and noise spreads over the table).

    Parameters
    ----------
    values : ndarray (m + 1,), the costs at equally spaced points on a line

    Returns
    -------
    kinked : bool (False for fewer than 5 values, or a line with no curvature at all)

    Raises
    ------
    Nothing of its own: numpy's ValueError when values are not numbers.
    """
    second = np.diff(np.asarray(values, dtype=np.float64), 2)
    size = np.abs(second)
    if second.size < 3 or not size.any():
        return False
    i = int(np.argmax(size))
    j = i + 1 if i == 0 or (i + 1 < second.size and size[i + 1] >= size[i - 1]) else i - 1
    return bool(size[i] + size[j] >= 0.8 * size.sum() and second[i] * second[j] >= 0)


def computed_dtype(values):
    """The precision a cost is computed in, read from its values: float16 or float32 when every value is
    exactly such a number (and the values are not all equal), else float64.

    Parameters
    ----------
    values : array_like (k,), costs evaluated at k points

    Returns
    -------
    dtype : numpy dtype, float16, float32 or float64 (float64 when fewer than 3 distinct values tell)

    Raises
    ------
    Nothing of its own: numpy's ValueError or TypeError when values are not real numbers.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(set(values.tolist())) < 3:
        return np.dtype(np.float64)
    with np.errstate(over="ignore"):  # float16 numbers are float32 numbers: float32 first
        if not np.array_equal(values.astype(np.float32).astype(np.float64), values):
            return np.dtype(np.float64)
        if np.array_equal(values.astype(np.float16).astype(np.float64), values):
            return np.dtype(np.float16)
    return np.dtype(np.float32)


def _rows(theta, steps, directions, fractions, dtype):
    """The points of the tables: theta (the repeat), then for each fraction and direction theta + k fraction
    steps direction, k = 1 ... 6 (ndarray (1 + 6 f d, n) of ``dtype``).

    The tables are one-sided: a kink or a jump right at theta (which the check's own, larger step may
    cross) stays out of them, so that they measure the noise, not the kink."""
    ks = np.arange(1, 2 * NOISE_POINTS + 1)[None, None, :, None]  # shape (1, 1, 6, 1)
    scaled = np.asarray(fractions, dtype=np.float64)[:, None] * steps  # shape (f, n)
    ulp = np.spacing(np.maximum(np.abs(theta), scaled).astype(dtype)).astype(np.float64)[:, None, :]  # (f, 1, n)
    delta = np.round(scaled[:, None, :] * directions / ulp) * ulp  # whole ulps: points exactly on the line (f, d, n)
    rows = (theta + ks * delta[:, :, None, :]).reshape(-1, theta.size)  # shape (6 f d, n)
    return np.concatenate([theta[None, :], rows]).astype(dtype, copy=False)


def _table(evaluate, theta, steps, directions, fractions, dtype):
    """The costs at the points of ``_rows``, in one call of ``evaluate`` (ndarray (1 + 6 f d,))."""
    return np.asarray(evaluate(_rows(theta, steps, directions, fractions, dtype)), dtype=np.float64)


def table_steps(n, indices, eps):
    """The table's scale: the check's steps, and their median for the entries a sparse check does not
    difference.

    Parameters
    ----------
    n : int, the number of parameters; indices : ndarray of int (s,), the checked entries
    eps : ndarray (s,), their steps

    Returns
    -------
    steps : ndarray (n,)

    Raises
    ------
    Nothing of its own: numpy's IndexError for an index outside [0, n).
    """
    steps = np.zeros(n)
    steps[indices] = eps
    if indices.size < n:
        steps[steps == 0] = float(np.median(eps))
    return steps


def first_rows(theta, indices, eps, dtype):
    """The points ``measure`` evaluates first along its default direction (seed 0): the engine may compute
    them together with the check's own differences (``checker_engine.prefetch``).

    Parameters
    ----------
    theta : ndarray (n,), the point; indices : ndarray of int (s,), the checked entries
    eps : ndarray (s,), their steps; dtype : numpy dtype of the parameter vectors

    Returns
    -------
    rows : ndarray (13, n) of ``dtype``: theta, then the two tables' points (6 each)

    Raises
    ------
    Nothing of its own: numpy's IndexError for an index outside [0, n).
    """
    theta = theta.astype(np.float64)
    steps = table_steps(theta.size, indices, eps)
    return _rows(theta, steps, _directions(None, theta.size), [TABLE_FRACTION, TABLE_FRACTION * 1e-2], dtype)


def _directions(rng, n):
    """The table's directions (NOISE_DIRECTIONS, n): Gaussian, from ``rng`` (None: seed 0, the same on every
    run)."""
    generator = np.random.Generator(np.random.PCG64(0)) if rng is None else rng  # PCG64(0): default_rng(0)
    return generator.standard_normal((NOISE_DIRECTIONS, n))


def measure_noise(evaluate, theta, steps, J0, rng, dtype, first=None):
    """Measure the noise of a cost at theta: a difference table along a random direction, and a repeat.

    Parameters
    ----------
    evaluate : callable, a stack of parameter vectors (k, n) -> costs (k,)
    theta : ndarray (n,), the point; steps : ndarray (n,), the check's steps (the table's scale)
    first : ndarray (13,) or None, the costs at ``first_rows`` when already evaluated (then rng must be None)
    J0 : float, the cost at theta already evaluated; rng : numpy Generator or None (the direction; None:
        seed 0)
    dtype : numpy dtype of the parameter vectors

    Returns
    -------
    Noise

    Raises
    ------
    GradCheckError (from ``evaluate``) when the cost is not a finite number at a point of the table.
    """
    directions = None  # shape (d, n), drawn when a table is evaluated here
    used, fraction, sigma, tables, widening, lines_at = 0, TABLE_FRACTION, None, [], False, {}
    width = 2 * NOISE_POINTS
    for _ in range(TABLE_TRIES):
        if fraction not in lines_at:  # the first call also evaluates the narrower table it may need next
            batch = [fraction, fraction * 1e-2] if not lines_at else [fraction]
            if first is not None and not lines_at:  # already evaluated: the costs at ``first_rows``
                values = first
            else:
                directions = _directions(rng, theta.size) if directions is None else directions
                values = _table(evaluate, theta.astype(np.float64), steps, directions, batch, dtype)
            used, start = used + values.size, 1
            tables.append(values)
            for f in batch:
                lines_at[f] = [values[start + j * width:start + (j + 1) * width] for j in range(NOISE_DIRECTIONS)]
                start += width * NOISE_DIRECTIONS
        lines = [line for line in lines_at[fraction] if len(set(line.tolist())) > NOISE_POINTS]
        if not lines:  # flat: the cost does not resolve such small steps
            fraction, widening = fraction * 100.0, True
            continue
        found = [noise_from_table(line) for line in lines]
        settled = [f for (f, ok), line in zip(found, lines) if ok and not kinked(line)]
        sigma = min([f for f, _ in found] + ([] if sigma is None else [sigma]))
        if settled:  # a kink met by one direction inflates its estimate: the smaller one is the noise
            sigma = min(settled)
            break
        # the smooth part dominates: a smaller table, unless a flat one was seen (a cost that moves in
        # stairs looks smooth over a few of them: wider, until they look like the noise they are)
        fraction *= 100.0 if widening else 1e-2
    values = np.concatenate(tables)
    sigma = 0.0 if sigma is None else sigma
    repeat = max(abs(float(t[0]) - float(J0)) for t in tables)
    sigma = max(sigma, repeat / np.sqrt(2.0), np.finfo(np.float64).eps * abs(float(J0)))
    found = computed_dtype(np.append(values, J0))
    reference = np.finfo(np.float64).eps * max(abs(float(J0)), np.finfo(np.float64).tiny)
    digits = float(np.log10(max(sigma / reference, 1.0)))
    return Noise(sigma=float(sigma), repeat=repeat, dtype=found, digits_lost=digits, evaluations=used)


def measure(engine, eps, indices, J0, rng):
    """The noise of the engine's cost at theta, for a per-entry check (None for the complex step).

    Parameters
    ----------
    engine : checker_engine.Engine; eps : ndarray (s,), the steps of the checked entries
    indices : ndarray of int (s,), the checked entries; J0 : float, the cost at theta
    rng : None, int or numpy Generator (the direction; None: a fixed one, so a check is reproducible; a small
        problem whose differences were evaluated with the first table, ``first_rows``, keeps the fixed one)

    Returns
    -------
    Noise or None

    Raises
    ------
    GradCheckError (from the engine) when the cost is not a finite number at a point of the table.
    """
    if engine.method == "complex":
        return None
    steps = table_steps(engine.theta.size, indices, eps)
    generator = rng if isinstance(rng, np.random.Generator) or rng is None else np.random.default_rng(rng)
    first = getattr(engine, "prefetched", None)  # the first table, evaluated with the differences
    generator = None if first is not None else generator
    return measure_noise(engine.stack_costs, engine.theta, steps, J0, generator, engine.dtype, first)


def stair_noise(evaluate, theta, J0, dtype):
    """The noise of a cost that moves in stairs too wide for the check's steps, read from a wide table.

    The textbook -log(1 - A) of an output saturated at a logit of 30 or more is a staircase: flat over whole
    steps of the parameters (every small difference sees none of that output's slope, and a small table
    sees no noise), then a jump. Along a random direction at steps of WIDE_FRACTION x max(1, |theta_i|), the
    first difference that stands out most from its neighbours (by more than twice what they differ: a ReLU
    kink in between moves a first difference only to somewhere between them) is halved BISECTIONS times,
    keeping the half that departs more from the neighbours' slope. A jump keeps its height H at every
    halving; a kink's departure halves with the interval. The stairs' height H makes the cost's value
    uncertain by about H / sqrt(12) (a uniform rounding).

    Parameters
    ----------
    evaluate : callable, a stack of parameter vectors (k, n) -> costs (k,)
    theta : ndarray (n,); J0 : float, the cost at theta; dtype : numpy dtype of the parameter vectors

    Returns
    -------
    sigma : float (0.0 when the table shows no jump); evaluations : int

    Raises
    ------
    GradCheckError (from ``evaluate``) when the cost is not a finite number at a point of the table.
    """
    theta = theta.astype(np.float64)
    step = WIDE_FRACTION * np.maximum(1.0, np.abs(theta)) * _directions(None, theta.size)[0]  # shape (n,)
    at = lambda ks: np.asarray(evaluate((theta + np.asarray(ks)[:, None] * step).astype(dtype)), dtype=np.float64)
    J = np.concatenate([[float(J0)], at(np.arange(1, STAIR_POINTS + 1))])  # shape (STAIR_POINTS + 1,)
    d = np.diff(J)  # first differences, shape (STAIR_POINTS,)
    out = np.abs(d[1:-1] - 0.5 * (d[:-2] + d[2:]))  # how far each stands out from its neighbours
    apart = 0.5 * np.abs(d[2:] - d[:-2])  # what a kink in between can explain
    c = int(np.argmax(out - apart))
    if out[c] <= 2 * apart[c]:
        return 0.0, STAIR_POINTS
    a, b, slope = c + 1.0, c + 2.0, 0.5 * (d[c] + d[c + 2])  # the interval [a, b] of the table
    Ja, Jb = J[c + 1], J[c + 2]
    for _ in range(BISECTIONS):
        m = 0.5 * (a + b)
        Jm = float(at([m])[0])
        if abs(Jm - Ja - slope * (m - a)) >= abs(Jb - Jm - slope * (b - m)):
            b, Jb = m, Jm
        else:
            a, Ja = m, Jm
    height = abs(Jb - Ja - slope * (b - a))
    if height < 0.5 * out[c]:  # it shrank with the interval: a kink, not a jump
        height = 0.0
    return float(height / np.sqrt(12.0)), STAIR_POINTS + BISECTIONS
