"""Machinery of the gradient checker; a student does not need this module: random directions and samples.

For a big model, checking every entry costs 2n evaluations. Two cheaper modes of ``check_gradients``:

* ``mode="random"``: k random directions v (2k + 1 evaluations). The directional derivative of the cost
  along v, (J(theta + h v) - J(theta - h v)) / 2h, is compared with the analytic g . v; an error D of the
  gradient shows as D . v, and ``miss_probability`` bounds the chance that all k directions miss it.
  ``per_block=True`` draws directions inside each block, so the report can say which block is wrong.
* ``mode="sparse"``: a random sample of entries from *every* block (so biases are never skipped).

Directions are drawn block by block with numpy's ``Generator.standard_normal(dtype=np.float32)`` (or
random signs), one generator per direction, so the draws do not depend on how evaluations are chunked.
"""

import copy

import numpy as np

from course_utils import gradcheck  # the course's relative difference (a module import: gradcheck imports this one)
from course_utils.checker_engine import GradCheckError
from course_utils import checker_noise
from course_utils.checker_judge import ROUNDOFF_FACTOR, UP_LIMIT, crossed, excess, measured_floor, noise_floor
from course_utils.report import BlockResult, GradCheckReport

__all__ = ["DISTRIBUTIONS", "KEEP_DIRECTIONS", "NOISE_MAX_ENTRIES", "check_random", "crossings", "direction_noise",
           "draw_direction", "miss_probability", "sample_entries", "wider_steps"]

DISTRIBUTIONS = ("gaussian", "rademacher")

#: The random-direction check keeps its (k, n) directions in the report only up to this many numbers.
KEEP_DIRECTIONS = 2_000_000

#: The noise is measured (a stack of 13 parameter vectors) up to this many numbers (64 MB of float64: models up
#: to about 600k parameters); above, the check keeps the assumed round-off floor and says so.
NOISE_MAX_ENTRIES = 8_000_000

#: The noise is measured (13 more evaluations) only where it may change the verdict: a group the assumed
#: round-off floor leaves unresolved, a group failing by at most this relative excess, or every group failing
#: (the cost's noise is everywhere; a bug is often in some blocks only). A check that passes, or fails by far
#: in some groups only, keeps its 2k + 1 evaluations.
NOISE_EXCESS = 0.1


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

    Raises
    ------
    GradCheckError for an unknown distribution.
    """
    if distribution == "gaussian":
        p = np.sqrt(2 / np.pi) * fraction
    elif distribution == "rademacher":
        p = 1 - (1 - fraction ** 2) ** 2 / 3
    else:
        raise GradCheckError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    return float(min(p, 1.0) ** k)


def sample_entries(layout, samples, rng):
    """Sorted theta indices: min(samples, size) distinct random entries of every block.

    Parameters
    ----------
    layout : Layout; samples : int; rng : numpy Generator

    Returns
    -------
    ndarray of int64, shape (s,)

    Raises
    ------
    GradCheckError when samples < 1.
    """
    samples = int(samples)
    if samples < 1:
        raise GradCheckError(f"samples must be at least 1, got {samples}")
    chosen = []
    for sl, size in zip(layout.slices().values(), layout.sizes):
        chosen.append(sl.start + np.sort(rng.choice(size, size=min(samples, size), replace=False)))
    return np.concatenate(chosen).astype(np.int64)


def _draw_raw(generator, shape, distribution):
    """Unit-variance random entries of the given shape (float64): N(0, 1) drawn in float32 by numpy's
    ziggurat, or +-1 from random bits."""
    if distribution == "gaussian":
        return generator.standard_normal(shape, dtype=np.float32).astype(np.float64)
    size = int(np.prod(shape))
    bits = np.unpackbits(np.frombuffer(generator.bytes((size + 7) // 8), dtype=np.uint8), count=size)
    signs = bits.astype(np.float64)  # shape (size,), 0 or 1
    signs *= 2
    signs -= 1
    return signs.reshape(shape)


def draw_direction(generator, layout, members, distribution="gaussian"):
    """One direction, block by block: unit-variance entries in the member blocks, 0 elsewhere.

    The direction is ``scale * blocks`` with scale = 1 / sqrt(n_g) (n_g: the members' total size), so its
    entries have variance 1 / n_g (and |v| is about 1).

    Parameters
    ----------
    generator : numpy.random.Generator; layout : parameters.Layout of the parameters
    members : collection of int, the indices of the blocks the direction moves
    distribution : "gaussian" (N(0, 1) entries) or "rademacher" (+-1 entries)

    Returns
    -------
    blocks : list of ndarray, one per block of the layout, each of the block's shape (float64)
    scale : float

    Raises
    ------
    Nothing of its own: ``check_random`` validates the distribution (any other name draws +-1 entries);
    an empty ``members`` gives a zero direction with an infinite scale (numpy's divide warning).
    """
    n_g = sum(layout.sizes[b] for b in members)
    out = []
    for b, shape in enumerate(layout.shapes):
        out.append(_draw_raw(generator, shape, distribution) if b in members else np.zeros(shape))
    return out, 1.0 / np.sqrt(n_g)


def _chunk_differences(engine, drawn, vectors, scales, step, J0, first, bar):
    """Directional derivatives along the directions of one chunk (shape (c,)) and, for centered differences,
    the one-sided ones (shape (2, c): plus side, minus side; else None); see ``direction_differences``."""
    theta, dtype, method = engine.theta, engine.dtype, engine.method
    c = len(drawn)
    if method == "complex":
        out = np.empty(c)
        for r in range(c):
            out[r] = engine.complex_derivative(theta.astype(np.complex128) + 1j * step * vectors[r], step,
                                               f"along direction {first + r} stepped by i*{step:.1e}")
            bar.advance(1)
        return out, None
    per_direction = 1 if method == "forward" else 2
    where = lambda j: f"along direction {first + j % c} stepped by {step:.1e}"
    if engine.batched is None:
        Jp, Jm = np.empty(c), np.empty(c)
        for r in range(c):
            Jp[r] = engine.evaluate((theta + step * vectors[r]).astype(dtype), where(r))
            if method == "centered":
                Jm[r] = engine.evaluate((theta - step * vectors[r]).astype(dtype), where(r))
            bar.advance(per_direction)
    else:
        blocks = {name: drawn[0][0][b][None] if c == 1 else np.stack([d[b] for d, _ in drawn])
                  for b, name in enumerate(engine.layout.names)}
        Jp, Jm = engine.batched.direction_costs(blocks, step * scales, centered=method == "centered")
        Jp = engine.batched_values(Jp, c, where)
        Jm = engine.batched_values(Jm, c, where) if method == "centered" else None
        bar.advance(per_direction * c)
    if method == "forward":
        return (Jp - J0) / step, None
    return (Jp - Jm) / (2 * step), np.stack([(Jp - J0) / step, (J0 - Jm) / step])  # shapes (c,), (2, c)


def direction_differences(engine, grad, step, generators, members, keep_directions, distribution):
    """Directional derivatives along random directions, in chunks.

    Parameters
    ----------
    engine : checker_engine.Engine
    grad : ndarray (n,), the analytic gradient
    step : float, the step along each (unit-scale) direction
    generators : list of k numpy Generators, one per direction (so chunking does not change the draws)
    members : list of k lists of block numbers: the blocks each direction lives in
    keep_directions : bool, return the (k, n) directions
    distribution : "gaussian" or "rademacher"

    Returns
    -------
    analytic (k,), numeric (k,), J0, directions (k, n) or None, sides (2, k) (the one-sided differences of a
    centered check; None for the other methods)
    """
    layout, theta = engine.layout, engine.theta
    k = len(generators)
    grad_blocks = [grad[sl] for sl in layout.slices().values()]
    analytic, numeric = np.empty(k), np.empty(k)
    kept = np.empty((k, theta.size)) if keep_directions else None
    sides = np.empty((2, k))  # one-sided differences of a centered check: plus side, minus side
    J0 = engine.reference() if engine.method != "complex" else None
    chunk = engine.chunk if engine.batched is not None else 1
    bar = engine.bar((1 if engine.method in ("forward", "complex") else 2) * k, "random-direction check")
    try:
        for s in range(0, k, chunk):
            rows = range(s, min(k, s + chunk))
            drawn = [draw_direction(generators[j], layout, members[j], distribution) for j in rows]
            c = len(drawn)
            scales = np.array([scale for _, scale in drawn])  # shape (c,)
            for r, j in enumerate(rows):  # float64 blocks: exact dot products and matrix products
                raw = drawn[r][0]
                analytic[j] = scales[r] * sum(float(np.dot(raw[b].reshape(-1), grad_blocks[b])) for b in members[j])
            vectors = None
            if keep_directions or engine.batched is None:
                vectors = np.stack([np.concatenate([v.reshape(-1) for v in d]) * scale
                                    for d, scale in drawn]).astype(np.float64)  # shape (c, n)
                if keep_directions:
                    kept[s:s + c] = vectors
            numeric[s:s + c], one_sided = _chunk_differences(engine, drawn, vectors, scales, step, J0, s, bar)
            if one_sided is not None:
                sides[:, s:s + c] = one_sided
    finally:
        bar.close()
    return analytic, numeric, J0, kept, (sides if engine.method == "centered" else None)


def crossings(analytic, numeric, sides, floor, threshold, owners):
    """Directions whose step crossed a kink or a jump: as for entries (``checker_judge.crossed``), the
    one-sided differences disagree beyond the noise and the analytic value matches one of them.

    Parameters
    ----------
    analytic, numeric, floor : ndarrays (k,), per direction: v . g, the numeric derivative, its noise floor
    sides : (plus_side (k,), minus_side (k,)) one-sided differences, or None (then no crossing is seen)
    threshold : float; owners : ndarray of int (k,), the group of each direction

    Returns
    -------
    crossed : bool ndarray (k,)

    Raises
    ------
    Nothing of its own: numpy's errors when the arrays do not have the documented shapes.
    """
    if sides is None:
        return np.zeros(analytic.size, dtype=bool)
    size = np.abs(analytic) + np.abs(numeric)
    rms = np.sqrt(np.bincount(owners, weights=size * size) / np.maximum(np.bincount(owners), 1))  # per group
    tol = threshold * np.maximum(size, rms[owners])
    return crossed(analytic, numeric, (sides[0], sides[1]), floor, tol)


def _group_results(groups, owners, analytic, numeric, floor, threshold, layout, per_block, n, aside):
    """One BlockResult per group of directions (all blocks, or one block), in the groups' order; directions
    ``aside`` (bool (k,)) are left out of the excess and the verdict."""
    blocks = []
    for g, (name, _) in enumerate(groups):
        mask = (owners == g) & ~aside
        a, d, f = analytic[mask], numeric[mask], floor[mask]
        size = np.linalg.norm(a) + np.linalg.norm(d)
        above = excess(np.linalg.norm(a - d), np.linalg.norm(f), size)
        per_dir = np.abs(a - d) > np.maximum(threshold * (np.abs(a) + np.abs(d)), f)
        shape = layout.shapes[layout.names.index(name)] if per_block else (n,)
        blocks.append(BlockResult(
            name=name, shape=shape, relative_difference=gradcheck.relative_difference(a, d), excess=float(above),
            analytic_norm=float(np.linalg.norm(a)), numeric_norm=float(np.linalg.norm(d)),
            n_failing=int(per_dir.sum()), n_kinks=int(np.sum((owners == g) & aside)), passed=bool(above <= threshold),
            resolved=bool(np.linalg.norm(f) <= threshold * size or not np.any(a - d)) and bool(mask.any())))
    return blocks


def _random_notes(k, per_block, distribution, n_eval, n, n_directions, kept):
    """The notes of a random-direction check: what it did and what it guarantees (list of str)."""
    inside = " inside each block (n: the block's size)" if per_block else ""
    kind = "Gaussian" if distribution == "gaussian" else "Rademacher (random sign)"
    law = ("D.v is exactly Normal(0, |D|^2/n), so it is smaller than d |D|/sqrt(n) with probability at most "
           "0.8 d" if distribution == "gaussian" else
           "E (D.v)^2 = |D|^2/n and, by the Paley-Zygmund inequality, |D.v| < d |D|/sqrt(n) with probability "
           "at most 1 - (1 - d^2)^2/3")
    notes = [f"random-direction check: {k} {kind} direction{'s' if k > 1 else ''}{' per block' if per_block else ''}"
             f" with independent entries of variance 1/n{inside}, {n_eval} cost evaluations instead of "
             f"{2 * n + 1}. Guarantee: for any error D of the analytic gradient, the error seen along a "
             f"direction v is D.v; {law}; all {k} directions see less than a quarter of the typical error "
             f"with probability below {miss_probability(k, 0.25, distribution):.0e}."]
    if not kept:
        notes.append(f"the {n_directions} x {n} directions are not kept in the report (too large); rerun with "
                     f"the same rng to draw them again")
    return notes


def direction_noise(engine, step, J0, rng):
    """The measured noise of the cost at theta for a random-direction check (``checker_noise.measure_noise``:
    a difference table along one more random direction, at the check's displacement h, and a repeat), or
    None for the complex step or when a stack of 13 parameter vectors holds more than NOISE_MAX_ENTRIES numbers.

    The table's steps are h / sqrt(n) per entry, so that a Gaussian direction moves theta by about h, as
    the check's own directions do (entries of variance 1/n).

    Parameters
    ----------
    engine : checker_engine.Engine; step : float, the check's displacement h
    J0 : float, the cost at theta; rng : numpy Generator (the table's direction)

    Returns
    -------
    checker_noise.Noise or None

    Raises
    ------
    GradCheckError (from the engine) when the cost is not a finite number at a point of the table.
    """
    n = engine.theta.size
    if engine.method == "complex" or (2 * checker_noise.NOISE_POINTS + 1) * n > NOISE_MAX_ENTRIES:
        return None
    steps = np.full(n, step / np.sqrt(n))
    return checker_noise.measure_noise(engine.stack_costs, engine.theta, steps, J0, rng, engine.dtype)


def wider_steps(engine, grad, step, spare, members, owners, unresolved, analytic, numeric, floor, sigma, threshold,
                distribution):
    """The directions of the groups whose noise floor hides the answer, estimated again along the same
    directions at wider steps hA = 2 hB and hB (Richardson, as ``checker_judge.restep`` does for entries:
    R = (4 D(hB) - D(hA)) / 3 within its noise plus twice |D(hA) - D(hB)|). hB brings the group's floor to 0.3
    x the threshold, at most 1e4 x the step and UP_LIMIT x max(1, max |theta_i|).

    Parameters
    ----------
    engine : checker_engine.Engine; grad : dict of the analytic gradients, by block
    step : float, the check's displacement; spare : list (k,) of copies of the generators that drew each
        direction, taken before they drew (copied again here, so the same directions are drawn again)
    members : list (k,) of block-index sets
    owners : ndarray of int (k,), the group of each direction; unresolved : iterable of group numbers
    analytic, numeric, floor : ndarrays (k,), per direction; sigma : float, the measured noise
    threshold : float; distribution : "gaussian" or "rademacher"

    Returns
    -------
    numeric, floor : ndarrays (k,), copies with the re-estimated directions replaced

    Raises
    ------
    GradCheckError (from the engine) when the cost is not a finite number at a wider step along a direction.
    """
    numeric, floor = numeric.copy(), floor.copy()
    cap = UP_LIMIT * max(1.0, float(np.max(np.abs(engine.theta))))
    for g in unresolved:
        rows = np.flatnonzero(owners == g)
        size = np.linalg.norm(analytic[rows]) + np.linalg.norm(numeric[rows])
        ratio = np.linalg.norm(floor[rows]) / (0.3 * threshold * size) if size else 1e4
        hB = min(step * float(np.clip(ratio, 2.0, 1e4)), cap)
        if hB <= step:
            continue
        D = [direction_differences(engine, grad, h, [copy.deepcopy(spare[j]) for j in rows],
                                   [members[j] for j in rows], False, distribution)[1] for h in (2 * hB, hB)]
        numeric[rows] = (4 * D[1] - D[0]) / 3
        floor[rows] = ((4 * measured_floor(sigma, hB, "centered") + measured_floor(sigma, 2 * hB, "centered")) / 3
                       + 2 * np.abs(D[0] - D[1]))
    return numeric, floor


def _verdict_notes(blocks, noise, aside, J0, engine, n, notes):
    """The verdict of the groups' results and the noise (a cost that is not repeatable fails), and the notes
    (str, list)."""
    verdict = "failed" if any(not b.passed for b in blocks) else "passed"
    verdict = "inconclusive" if verdict == "passed" and not all(b.resolved for b in blocks) else verdict
    if noise is None and verdict != "passed" and (2 * checker_noise.NOISE_POINTS + 1) * n > NOISE_MAX_ENTRIES:
        notes.append(f"the noise floor is assumed ({ROUNDOFF_FACTOR:.0f} u |J| / h), not measured: a table of 13 "
                     f"parameter vectors of {n} entries is too large; mode='sparse' measures it")
    if aside.any():
        notes.append(f"{int(aside.sum())} direction{'s' if aside.sum() > 1 else ''} crossed a kink or a jump (the "
                     f"one-sided differences disagree and the analytic value matches one of them): left out of the "
                     f"verdict; mode='full' names the entries")
    if noise is not None and not noise.repeatable:
        notes.insert(0, f"the cost is not repeatable: two evaluations at the same parameters gave values "
                        f"{noise.repeat:.1e} apart, so it is not a function of them; fix the randomness and check "
                        f"again")
        return "failed", notes
    if verdict == "inconclusive" and noise is not None:
        notes.insert(0, f"the measured noise of the cost ({noise.sigma:.1e} on J = {J0:.6g}; {noise.digits_lost:.0f} "
                        f"of its 16 digits lost, computed in {noise.dtype.name}) hides the answer along these "
                        f"directions even at wider steps; use mode='full' (it re-estimates the entries one by one), "
                        f"or compute the cost more accurately (for a saturated sigmoid: from the logits)")
    return verdict, notes


def check_random(engine, grad, threshold, step, k, per_block, rng, distribution):
    """The random-direction check (``check_gradients(mode="random")``).

    Parameters
    ----------
    engine : checker_engine.Engine; grad : ndarray (n,), the analytic gradient; threshold : float
    step : float, the step along each direction (|v| is about 1); k : int, directions (per block when
    ``per_block``); rng : numpy Generator; distribution : "gaussian" or "rademacher"

    Returns
    -------
    GradCheckReport with one block per group of directions

    Raises
    ------
    GradCheckError for k < 1 or an unknown distribution.
    """
    if k < 1 or distribution not in DISTRIBUTIONS:
        raise GradCheckError(f"directions must be at least 1, got {k}" if k < 1 else
                             f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    layout, n = engine.layout, engine.theta.size
    groups = ([(name, [b]) for b, name in enumerate(layout.names)] if per_block
              else [("all", list(range(len(layout.names))))])
    owners = np.repeat(np.arange(len(groups)), k)  # shape (k * groups,)
    members = [groups[g][1] for g in owners]
    generators = rng.spawn(owners.size)  # one stream per direction: draws do not depend on chunking
    spare = copy.deepcopy(generators)  # the same directions again, for the second estimates
    analytic, numeric, J0, directions, sides = direction_differences(
        engine, grad, step, generators, members, owners.size * n <= KEEP_DIRECTIONS, distribution)
    eps, noise = np.full(owners.size, step), None
    floor = noise_floor(J0, eps, analytic, numeric, engine.method, engine.dtype)  # assumed: u |J| / h
    first, aside = numeric, crossings(analytic, numeric, sides, floor, threshold, owners)
    judge = lambda d, f: _group_results(groups, owners, analytic, d, f, threshold, layout, per_block, n, aside)
    blocks = judge(numeric, floor)
    if any(not b.resolved or (not b.passed and b.excess <= NOISE_EXCESS) for b in blocks) or not any(
            b.passed for b in blocks):  # the noise may decide: measure it
        noise = direction_noise(engine, step, J0, rng)
        if noise is not None:
            floor = measured_floor(noise.sigma, eps, engine.method)
            aside = crossings(analytic, numeric, sides, floor, threshold, owners)
            blocks = judge(numeric, floor)
    unresolved = [g for g, b in enumerate(blocks) if not b.resolved and b.passed]
    if unresolved and noise is not None and engine.method == "centered":
        wide, floor_wide = wider_steps(engine, grad, step, spare, members, owners, unresolved, analytic, numeric,
                                       floor, noise.sigma, threshold, distribution)
        second = judge(wide, floor_wide)  # wide steps meet truncation and kinks: they settle, never convict
        settled = np.isin(owners, [g for g in unresolved if second[g].passed])
        numeric, floor = np.where(settled, wide, numeric), np.where(settled, floor_wide, floor)
        blocks = judge(numeric, floor)
    notes = _random_notes(k, per_block, distribution, engine.n_eval, n, owners.size, directions is not None)
    verdict, notes = _verdict_notes(blocks, noise, aside, J0, engine, n, notes)
    blocks.sort(key=lambda b: (b.passed, -b.excess))
    report = GradCheckReport(
        verdict=verdict, relative_difference=gradcheck.relative_difference(analytic, first), threshold=threshold,
        method=engine.method, mode="random", dtype=engine.dtype, epsilon=eps, blocks=blocks, worst=[], kinks=[],
        n_evaluations=engine.n_eval, analytic=analytic, numeric=first, entry_errors=np.zeros(0),
        entry_excess=np.zeros(0), layout=layout, directions=directions, notes=notes,
        entry_failing=np.zeros(0, dtype=bool), entry_kinks=np.zeros(0, dtype=bool))
    report.noise, report.estimate = noise, numeric  # numeric: at the step asked; estimate: what the verdict used
    return report
