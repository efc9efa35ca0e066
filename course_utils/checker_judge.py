"""Machinery of the gradient checker; a student does not need this module: judging the differences.

A finite difference carries round-off of about ``u * |J| / eps`` per entry (u: machine epsilon). The
checker estimates that floor for every entry and only calls a discrepancy a failure when it exceeds
*both* the relative threshold and that floor. When the floor itself is above the threshold (eps far
too small) the verdict is "inconclusive" rather than a false pass or a false alarm.

Kinks: with centered differences the checker also has the one-sided differences
``(J(theta + eps) - J(theta)) / eps`` and ``(J(theta) - J(theta - eps)) / eps``. Where the step crosses a
kink (ReLU at 0) they disagree and the analytic gradient matches one of them; such entries are flagged
as kinks and left out of the verdict, and the report says so.

Shapes: s checked entries (s = n in mode "full"), B blocks.
"""

from dataclasses import replace

import numpy as np

from course_utils import checker_noise
from course_utils.report import BlockResult, EntryResult, GradCheckReport

__all__ = ["KINK_MATCH", "ROUNDOFF_FACTOR", "block_results", "entry_report", "excess", "judge_entries",
           "kink_entries", "noise_floor"]

#: Round-off of one cost evaluation, in units of ``u * |J|``; sets the noise floor of a difference.
ROUNDOFF_FACTOR = 100.0

#: The measured noise floor of a centered difference, in units of sigma / h (about 8.5 standard deviations
#: of (J+ - J-) / 2h); forward differences use twice this.
NOISE_FACTOR = 6.0

#: The per-entry floors are about 8.5 standard deviations each; the floor of many entries together is
#: this fraction of their norm (3 standard deviations).
AGGREGATE = 0.35

#: Noise-limited entries are estimated again at steps up to this fraction of max(1, |theta_i|) (hB; hA is
#: twice it): wider steps meet the kinks of a ReLU network and the stairs of a saturated cost.
UP_LIMIT = 0.02

#: A crossing that the second steps clear is a jump when its one-sided differences parted by more than
#: this many times the slopes around (|g| + |estimate|).
JUMP_RATIO = 100.0

#: A failing entry is a kink when the analytic gradient is closer to one of the one-sided differences
#: than this fraction of their disagreement (on a smooth function it sits halfway between them).
KINK_MATCH = 0.25


def noise_floor(J0, eps, analytic, numeric, method, dtype):
    """Round-off floor of each numeric derivative, shape like eps (the floor assumed before issue 14; the
    measured one is ``measured_floor``).

    Parameters
    ----------
    J0 : float, the cost at theta; eps : ndarray (s,), the steps
    analytic, numeric : ndarrays (s,), the two gradients (the complex step's floor scales with them)
    method : "centered", "forward" or "complex"; dtype : numpy float dtype of the check

    Returns
    -------
    floor : ndarray (s,)

    Raises
    ------
    Nothing of its own: numpy's ValueError when dtype is not a float dtype.
    """
    u = np.finfo(dtype).eps
    if method == "complex":
        return ROUNDOFF_FACTOR * u * (np.abs(analytic) + np.abs(numeric))
    return ROUNDOFF_FACTOR * u * max(abs(J0), np.finfo(dtype).tiny) / eps


def excess(diff_norm, floor_norm, size_norm):
    """Discrepancy above the floor, relative to the gradient size (0/0 -> 0).

    Parameters
    ----------
    diff_norm, floor_norm, size_norm : floats, the norms of g - numeric, of the floor, and |g| + |numeric|

    Returns
    -------
    excess : float, max(diff - floor, 0) / size; inf when a discrepancy remains and the size is 0

    Raises
    ------
    Nothing: 0/0 reads 0 and x/0 reads inf by construction.
    """
    above = max(diff_norm - floor_norm, 0.0)
    return 0.0 if above == 0 else (np.inf if size_norm == 0 else above / size_norm)


def kink_entries(g, sides, floor, failing):
    """Entries whose step crossed a kink, among the failing ones (bool (s,)).

    At a kink the analytic gradient is the slope of the side the point lies on: it matches one one-sided
    difference closely while the two disagree. On a smooth function both one-sided differences sit about
    eps * J'' / 2 on either side of it instead.

    Parameters
    ----------
    g, floor : ndarrays (s,), the analytic gradient and the round-off floor
    sides : (plus_side (s,), minus_side (s,)) one-sided differences, or None (then no entry is a kink)
    failing : bool ndarray (s,), the entries above the threshold

    Returns
    -------
    kinks : bool ndarray (s,)

    Raises
    ------
    Nothing of its own: numpy's errors when the arrays do not have the documented shapes.
    """
    if sides is None or not failing.any():  # no one-sided differences, or nothing to explain
        return np.zeros(g.size, dtype=bool)
    plus_side, minus_side = sides
    disagreement = np.abs(plus_side - minus_side)
    closest = np.minimum(np.abs(g - plus_side), np.abs(g - minus_side))
    return failing & (disagreement > 2 * floor) & (closest <= KINK_MATCH * disagreement)


def block_results(layout, owner, threshold, delta, g, numeric, floor, failing, kinks):
    """One BlockResult per block of the layout, in layout order.

    Parameters
    ----------
    owner : ndarray of int (s,), the block of every checked entry
    delta, g, numeric, floor : ndarrays (s,): g - numeric, the two gradients, the round-off floor
    failing, kinks : bool ndarrays (s,): entries above the threshold, entries that crossed a kink

    layout : parameters.Layout of the checked parameters (B blocks); threshold : float

    Returns
    -------
    list of BlockResult, B of them

    Raises
    ------
    Nothing of its own: numpy's errors when the arrays do not have the documented shapes.
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
        above = float(excess(dk, fk, sk))
        blocks.append(BlockResult(
            name=name, shape=shape, relative_difference=0.0 if ga + na == 0 else d / (ga + na), excess=above,
            analytic_norm=ga, numeric_norm=na, n_failing=nf, n_kinks=nk, passed=above <= threshold,
            resolved=fk <= threshold * sk or sk == 0 and fk == 0,
        ))
    return blocks


def worst_order(entry_excess, entry_errors, n_worst):
    """Positions of the n_worst worst entries: largest excess beyond round-off, then largest error.

    Ties keep the order of the entries; NaN counts as 0 and inf as the largest float.
    """
    key = np.minimum(entry_excess, np.finfo(np.float64).max)  # shape (s,)
    if np.isnan(key).any():
        key = np.nan_to_num(key)
    return np.lexsort((-entry_errors, -key))[:n_worst]


def excess_cause_note(global_rel, n_kinks, rel_without_kinks, threshold, cause=None):
    """The note of a passed check whose global relative difference is above the threshold, naming the cause:
    the kinks when leaving their entries out brings the relative difference within the threshold, round-off
    otherwise (the discrepancy beyond the round-off floor is within the threshold).

    Parameters
    ----------
    global_rel : float, the global relative difference over every checked entry
    n_kinks : int, entries that crossed a kink (left out of the verdict)
    rel_without_kinks : float, the relative difference over the other entries (= global_rel without kinks)
    threshold : float
    cause : None or "step too large" (a measured check found truncation, and a smaller step agrees)

    Returns
    -------
    str
    """
    if n_kinks and rel_without_kinks <= threshold:
        return (f"the global relative difference {global_rel:.1e} is above the threshold only because of the "
                f"{n_kinks} entr{'ies' if n_kinks > 1 else 'y'} that crossed a kink (left out of the verdict); "
                f"without {'them' if n_kinks > 1 else 'it'} it is {rel_without_kinks:.1e}")
    if cause == "step too large":
        return (f"the global relative difference {global_rel:.1e} is above the threshold only because of the "
                f"step: it is too large (truncation), and a smaller step agrees")
    return (f"the global relative difference {global_rel:.1e} is above the threshold only because of round-off "
            f"(the step is small); the discrepancy beyond round-off is within it")


def judge_entries(g, numeric, sides, floor, threshold):
    """Per-entry errors, excess over the round-off floor, failing entries and kinks.

    Parameters
    ----------
    g, numeric, floor : ndarrays (s,): the analytic and numeric gradients, the round-off floor
    sides : (plus_side (s,), minus_side (s,)) one-sided differences, or None
    threshold : float

    Returns
    -------
    errors, excess, failing, kinks : ndarrays (s,); an entry fails when its excess is above the threshold
        (``failing`` includes the kinks, which the report leaves out of the verdict)

    Raises
    ------
    Nothing of its own: numpy's errors when the arrays do not have the documented shapes. A 0/0 entry reads 0, not NaN.
    """
    diff = np.abs(g - numeric)
    size = np.abs(g) + np.abs(numeric)
    safe = np.where(size == 0, 1.0, size)
    # Both are the course's formula per entry with 0/0 -> 0: where size is 0, so are diff and above.
    errors = diff / safe
    excess_ = np.maximum(diff - floor, 0.0) / safe  # discrepancy that round-off cannot explain
    failing = excess_ > threshold  # shape (s,)
    return errors, excess_, failing, kink_entries(g, sides, floor, failing)


def _norm(x):
    """2-norm of a 1-D float64 array (float)."""
    return float(np.sqrt(np.dot(x, x)))


def global_result(g, numeric, floor, kinks):
    """The global relative difference and the quantities of the verdict, kinks left out.

    Returns
    -------
    dict with "relative_difference" (every entry), "excess", "floor", "size" and "without_kinks" (the
    relative difference without the kinks; all floats)
    """
    delta = g - numeric
    g_norm, n_norm, d_norm = _norm(g), _norm(numeric), _norm(delta)
    global_rel = 0.0 if g_norm + n_norm == 0 else d_norm / (g_norm + n_norm)
    if kinks.any():
        keep = ~kinks
        size, floor_all, d_keep = _norm(g[keep]) + _norm(numeric[keep]), _norm(floor[keep]), _norm(delta[keep])
        without = 0.0 if size == 0 else d_keep / size
    else:
        size, floor_all, d_keep, without = g_norm + n_norm, _norm(floor), d_norm, global_rel
    return {"relative_difference": global_rel, "excess": excess(d_keep, floor_all, size), "floor": floor_all,
            "size": size, "without_kinks": without}


def verdict_and_notes(overall, blocks, threshold, default_step, cost_dtype):
    """The verdict of a per-entry check and the note that explains an inconclusive one.

    Parameters
    ----------
    overall : dict from ``global_result``; blocks : list of BlockResult; threshold : float
    default_step : float, the smallest default step of the checked entries, or None when the check used
        the default steps
    cost_dtype : numpy dtype the cost is computed in

    Returns
    -------
    verdict : str; notes : list of str
    """
    if overall["excess"] > threshold or any(not b.passed for b in blocks):
        return "failed", []
    if overall["floor"] > threshold * overall["size"]:
        relative_floor = overall["floor"] / max(overall["size"], 1e-300)
        advice = (f"use a larger epsilon (the default is {default_step:.1e})" if default_step is not None else
                  f"this is already the best step for {cost_dtype.name}, so check in float64 or pass a "
                  f"threshold above {relative_floor:.0e}")
        return "inconclusive", [f"the round-off floor of this step ({relative_floor:.1e} relative) is above "
                                f"the threshold, so the check cannot tell right from wrong; {advice}"]
    return "passed", []


def entry_notes(verdict, overall, blocks, threshold, kink_labels, n_kinks):
    """Notes of a per-entry check: kinks, blocks below the round-off floor, the cause of a global excess.

    Returns
    -------
    list of str
    """
    notes = []
    if n_kinks:
        notes.append(f"{n_kinks} entr{'ies' if n_kinks > 1 else 'y'} crossed a kink (the two one-sided "
                     f"differences disagree and the analytic gradient matches one of them): "
                     f"{', '.join(kink_labels)}; they are left out of the verdict. "
                     f"Re-check with a smaller epsilon or at another random point to clear them.")
    unresolved = [b.name for b in blocks if not b.resolved and b.passed]
    if unresolved and verdict != "inconclusive":
        notes.append(f"blocks {', '.join(unresolved)} have gradients below the round-off floor of this step; "
                     f"their agreement is not evidence either way")
    if overall["relative_difference"] > threshold and verdict == "passed":
        notes.append(excess_cause_note(overall["relative_difference"], n_kinks, overall["without_kinks"], threshold))
    return notes


def sparse_note(n_checked, n, per_block_most):
    """The note of a sparse check: what sampling can miss (str)."""
    return (f"sparse check: {n_checked} of {n} entries, up to {per_block_most} from every block. A block in which "
            f"a fraction f of the entries is wrong goes unnoticed with probability about (1 - f)^s for "
            f"s sampled entries: a bug that touches a whole block is always caught, a single wrong "
            f"entry only with probability s / (block size); mode='full' or 'random' cover every entry")


def entry_results(positions, label, indices, g, numeric, errors, excess_, kinks):
    """EntryResults of the checked entries at ``positions`` (labels are made only for the entries reported)."""
    columns = [a[positions].tolist() for a in (indices, g, numeric, errors, excess_, kinks)]
    return [EntryResult(index=i, label=label(i), analytic=a, numeric=d, relative_error=r, excess=x, kink=k)
            for i, a, d, r, x, k in zip(*columns)]


# ---------------------------------------------------------------------------------------------------
# Measured verdicts (issue 14): the noise floor is measured, unsettled entries get a second step
# ---------------------------------------------------------------------------------------------------

def measured_floor(sigma, eps, method):
    """Noise floor of each difference from the measured noise sigma of one evaluation, shape like eps.

    Centered: (J+ - J-) / 2h has standard deviation sigma / (sqrt(2) h); the floor is NOISE_FACTOR / sqrt(2)
    standard deviations. Forward: (J+ - J0) / h has twice that.
    """
    return (NOISE_FACTOR if method == "centered" else 2 * NOISE_FACTOR) * sigma / eps


def entry_tolerance(g, numeric, owner, threshold):
    """The discrepancy each entry may have: threshold x max(|g| + |g_hat|, the block's RMS size), shape (s,)."""
    size = np.abs(g) + np.abs(numeric)
    counts = np.maximum(np.bincount(owner), 1)
    rms = np.sqrt(np.bincount(owner, weights=size * size) / counts)  # shape (B,)
    return threshold * np.maximum(size, rms[owner])


def crossed(g, D, sides, floor, tol):
    """Entries whose step crossed a kink or a jump: they fail, the one-sided differences disagree beyond
    noise, and the analytic gradient matches one of them (bool (s,))."""
    plus, minus = sides
    disagreement = np.abs(plus - minus)
    closest = np.minimum(np.abs(g - plus), np.abs(g - minus))
    return (np.abs(g - D) > tol + floor) & (disagreement > 4 * floor) & (closest <= KINK_MATCH * disagreement)


def second_steps(eps, delta, floor, tol, scale, spacing):
    """Steps hA = 2 hB of the second estimate, and whether they go up (noise) or down (truncation).

    Noise-limited entries (the floor explains a quarter of the discrepancy or more) go up until the floor is
    0.3 x the tolerance (at most 1e4 x, and UP_LIMIT x max(1, |theta_i|)); the others go down until a
    truncation error like the discrepancy would be a fiftieth of the tolerance, while the floor stays below it.

    Returns
    -------
    hA, hB : ndarrays (q,); up : bool ndarray (q,)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        up = (floor >= 0.25 * delta) | (floor > tol)
        r_up = np.clip(np.nan_to_num(floor / (0.3 * tol), posinf=1e4), 2.0, 1e4)
        r_down = np.clip(np.sqrt(delta / (0.02 * tol)), 4.0, np.maximum(4.0, np.nan_to_num(0.1 * tol / floor,
                                                                                         posinf=1e8)))
    hB = np.where(up, np.minimum(eps * r_up, UP_LIMIT * scale), eps / r_down)
    hB = np.maximum(hB, 64 * spacing)
    return 2 * hB, hB, up


def _jumps(first_disagreement, eps, later_disagreement, later_step):
    """Crossings that are jumps: the one-sided differences disagree like 1/h (a jump) rather than staying put
    (a kink), between the first step and a smaller one (bool)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = later_disagreement / first_disagreement
    return ratio > np.sqrt(eps / later_step)


def richardson(D1, DA, DB, h1, hA, hB, N1, NA, NB):
    """The Richardson estimate R = (4 D(hB) - D(hA)) / 3 of each entry and the error E it may carry.

    E is the noise of the combination, plus twice |D(hA) - D(hB)|: three times the h^2 truncation left at
    hB, and room for a ReLU kink between the steps (a kink at distance d in [hB / 2, hA] biases R by at
    most 1.7 |D(hA) - D(hB)|; nearer ones part the one-sided differences, which ``restep`` checks).
    The scatter: how far the first estimate D1 lies, beyond the noise each carries, from where
    D(h) = R + a h^2 through the two others puts it. A cost whose rounding moves in stairs (the textbook
    -log(1 - A) of a saturated output) gives estimates that scatter beyond the measured noise at some
    steps and none at others (its rounding is periodic along a line, so an evenly spaced difference
    table can miss it). It is measured only where h1 <= 4 hA (a first step much larger than the second ones
    has truncation of higher orders that no parabola predicts). ``restep`` convicts no entry within it.

    Parameters
    ----------
    D1, DA, DB : ndarrays (q,), the estimates at the steps h1, hA = 2 hB and hB (ndarrays (q,))
    N1, NA, NB : ndarrays (q,), their noise floors from the measured noise

    Returns
    -------
    R, E, scatter : ndarrays (q,) (scatter: how far D1 lies beyond its noise from the parabola)
    """
    R = (4 * DB - DA) / 3
    with np.errstate(divide="ignore", invalid="ignore"):
        lever = np.nan_to_num(h1 * h1 / (hA * hA - hB * hB), posinf=0.0)  # how D1 depends on DA - DB
    predicted = R + (DA - DB) * lever  # D(h1) on the parabola through the two second estimates
    scatter = np.maximum(np.abs(D1 - predicted) - (N1 + (NA + NB) * (1 + lever)), 0.0)
    scatter[h1 > 4 * hA] = 0.0  # so far from the steps the parabola does not reach: higher-order truncation
    return R, (4 * NB + NA) / 3 + 2 * np.abs(DA - DB), scatter


def restep(engine, J0, sigma, positions, indices, g, D1, sides, eps, floor, tol):
    """The second estimate of the unsettled entries (centered differences at hA = 2 hB and hB).

    Richardson: D(h) = J' + a h^2 + noise, so R = (4 D(hB) - D(hA)) / 3 removes the h^2 term, and its error
    is at most the noise of the combination plus |D(hA) - D(hB)| (three times the truncation left at hB:
    room for the h^4 term and for a kink between the steps).

    Returns
    -------
    dict of ndarrays (q,) for the entries at ``positions``: "estimate", "floor", "finding" (str), "aside"
    (a kink or jump that no step clears: left out of the verdict), "wrong", "up"
    """
    from course_utils.checker_engine import entry_differences  # engine imports report, judge imports neither
    idx, q = indices[positions], positions.size
    theta = engine.theta[idx]
    scale = np.maximum(1.0, np.abs(theta.astype(np.float64)))
    spacing = np.spacing(np.abs(theta)).astype(np.float64)
    delta = np.abs(g[positions] - D1[positions])
    hA, hB, up = second_steps(eps[positions], delta, floor[positions], tol[positions], scale, spacing)
    numeric, (plus, minus), _ = entry_differences(engine, np.concatenate([idx, idx]), np.concatenate([hA, hB]), J0)
    DA, DB = numeric[:q], numeric[q:]
    NA, NB = measured_floor(sigma, hA, "centered"), measured_floor(sigma, hB, "centered")
    R, E, scatter = richardson(D1[positions], DA, DB, eps[positions], hA, hB, floor[positions], NA, NB)
    gq, tq = g[positions], tol[positions]
    first = crossed(gq, D1[positions], (sides[0][positions], sides[1][positions]), floor[positions], tq)
    with np.errstate(divide="ignore", invalid="ignore"):  # smooth: the sides part like h (ratio 2 for hA = 2 hB)
        smooth = np.abs(plus[:q] - minus[:q]) >= 1.5 * np.abs(plus[q:] - minus[q:])
    at_A = crossed(gq, DA, (plus[:q], minus[:q]), NA, tq) & ~smooth
    at_B = crossed(gq, DB, (plus[q:], minus[q:]), NB, tq) & ~smooth
    d1 = np.abs(sides[0][positions] - sides[1][positions])
    jump = first & np.where(at_B, _jumps(d1, eps[positions], np.abs(plus[q:] - minus[q:]), hB),
                            at_A & _jumps(d1, eps[positions], np.abs(plus[:q] - minus[:q]), hA))
    agree = np.abs(gq - R) <= tq + E
    # Both second steps cleared the crossing: a kink parts the one-sided slopes by a slope change, a jump by
    # jump / h, which at these steps dwarfs any slope of the cost.
    jump |= first & ~at_A & ~at_B & (d1 > JUMP_RATIO * (np.abs(gq) + np.abs(R)))
    # The first step agreed within the tolerance itself (not only within its noise): a wrong gradient cannot
    # match a difference that closely by chance, so where the wider steps disagree they met something else
    # (a kink, a stair of a saturated cost); the first estimate stands, with its noise floor.
    kept = ~agree & (np.abs(gq - D1[positions]) <= tq)
    R, E, agree = np.where(kept, D1[positions], R), np.where(kept, floor[positions], E), agree | kept
    # Noise sent the steps up and the first step agreed within its noise, but the wide steps are not smooth
    # (their one-sided differences do not part like h: a kink between them), or disagree by less than half
    # the first step's noise (wide steps meet curvature and kinks the floor E does not price): they cannot
    # convict either.
    f1 = floor[positions]
    near = np.abs(gq - R) <= np.minimum(0.5 * f1, 1e-2 * np.abs(gq))
    hidden = ~agree & up & (np.abs(gq - D1[positions]) <= tq + f1) & (~smooth | near)
    R, E, agree = np.where(hidden, D1[positions], R), np.where(hidden, floor[positions], E), agree | hidden
    # The three estimates scatter beyond their noise (the cost is noisier than the table measured): an entry
    # within that scatter cannot be convicted; it is a noisy cost, with the scatter in its floor.
    scattered = ~agree & (np.abs(gq - R) <= tq + E + scatter)
    E, agree = np.where(scattered, E + scatter, E), agree | scattered
    aside = ~agree & (at_A | at_B)
    R, E = np.where(aside & at_B, DB, R), np.where(aside & at_B, NB, E)
    finding = np.where(jump, "jump", np.where(first | aside, "kink", np.where(up | scattered, "noisy cost",
                                                                               "step too large")))
    finding = np.where(~agree & ~aside, "wrong", finding)
    return {"estimate": R, "floor": E, "finding": finding, "aside": aside, "wrong": ~agree & ~aside, "up": up,
            "steps": hB, "scatter": scatter}


def measured_entries(engine, noise, indices, g, numeric, sides, J0, eps, threshold, owner):
    """Per-entry verdicts from the measured noise, with a second step for the entries the first leaves open.

    An entry is settled by the first step when it agrees within its tolerance plus the noise floor and the
    floor is below the tolerance. Both-zero entries (0/0) agree. The others are estimated again
    (``second_estimates``, centered differences only); forward and complex differences keep the first
    estimate.

    Returns
    -------
    dict of ndarrays (s,): "estimate", "floor", "finding" ("" when nothing to say), "aside", "wrong",
    "tolerance"; and "second_steps" (the steps hB of the re-estimated entries)
    """
    s = g.size
    if engine.method == "complex":
        floor = noise_floor(None, eps, g, numeric, "complex", engine.cost_dtype)
    else:
        floor = measured_floor(noise.sigma, eps, engine.method)
    tol = entry_tolerance(g, numeric, owner, threshold)
    both_zero = (g == 0) & (numeric == 0)
    floor = np.where(both_zero, 0.0, floor)
    discrepancy = np.abs(g - numeric)
    out = {"estimate": numeric.copy(), "floor": floor, "finding": np.full(s, "", dtype=object),
           "aside": np.zeros(s, dtype=bool), "wrong": discrepancy > tol + floor, "tolerance": tol,
           "second_steps": np.zeros(0)}
    open_ = ~both_zero & ((discrepancy > tol + floor) | (floor > tol))
    if engine.method == "complex" and out["wrong"].any():
        not_analytic(engine, np.flatnonzero(out["wrong"]), indices, g, tol, out)
    if engine.method != "centered" or not open_.any():
        out["finding"][out["wrong"]] = "wrong"
        return out
    second_estimates(engine, noise.sigma, np.flatnonzero(open_), indices, g, numeric, sides, J0, eps, tol, out)
    return out


def second_estimates(engine, sigma, positions, indices, g, numeric, sides, J0, eps, tol, out):
    """The entries the first step leaves open (at ``positions``), estimated again: ``restep`` at steps chosen
    from the measured noise sigma; again, as noise-limited entries, where their estimates scatter beyond it;
    and before an entry is convicted, ``staircase`` at wide steps when the cost has shown stairs. Updates
    ``out`` (the dict of ``measured_entries``) in place."""
    floor = out["floor"]
    second = restep(engine, J0, sigma, positions, indices, g, numeric, sides, eps, floor, tol)
    for key in ("estimate", "floor", "finding", "aside", "wrong"):
        out[key][positions] = second[key]
    out["second_steps"] = second["steps"]
    # Estimates that scatter beyond the measured noise: the cost is noisier there than the table saw (it
    # stepped over a saturated output's stairs). The scatter is that entry's noise; it is estimated again
    # as a noise-limited entry, at wider steps.
    shown = second["scatter"] > tol[positions]  # scatter that matters at the entry's tolerance
    again = second["wrong"] & shown
    if again.any():
        again_at, noise_shown = positions[again], second["scatter"][again] * eps[positions[again]]
        floor = floor.copy()
        floor[again_at] = np.maximum(floor[again_at], measured_floor(noise_shown, eps[again_at], "centered"))
        third = restep(engine, J0, noise_shown, again_at, indices, g, numeric, sides, eps, floor, tol)
        for key in ("estimate", "floor", "finding", "aside", "wrong"):
            out[key][again_at] = third[key]
        out["finding"][again_at[third["finding"] == "step too large"]] = "noisy cost"
    # Before an entry is convicted, wide steps when the cost has shown stairs: a step that moves a saturated
    # output by less than one stair of its rounding sees none of that output's slope, at every small step
    # alike (no scatter on that entry). The signs: the entry's estimate is flat, estimates of other entries
    # scattered beyond the measured noise, or the wide table of ``checker_noise.stair_noise`` finds jumps.
    flat = np.abs(out["estimate"]) <= 0.1 * np.abs(g)
    scattered = bool(shown.any())
    suspects = np.flatnonzero(out["wrong"] & (flat | scattered))
    if suspects.size:  # the noise each has shown: its first difference against its later estimate
        seen = np.maximum(sigma, 0.5 * np.abs(numeric[suspects] - out["estimate"][suspects]) * eps[suspects])
        staircase(engine, J0, suspects, indices, g, tol, out, seen)
    if out["wrong"].any():
        out["wide_sigma"] = checker_noise.stair_noise(engine.stack_costs, engine.theta, J0, engine.dtype)[0]
        if out["wide_sigma"] > 0:
            staircase(engine, J0, np.flatnonzero(out["wrong"]), indices, g, tol, out, out["wide_sigma"])


def not_analytic(engine, positions, indices, g, tol, out):
    """The complex step on a cost that is not complex-analytic (abs, max, ReLU written with np.maximum, np.real)
    gives wrong derivatives of a right gradient. The suspect entries are checked again with centered
    differences; where those agree with the analytic gradient, the entries are "complex step does not apply"
    (not wrong) and ``out["not_analytic"]`` holds the relative difference of the centered estimate there.
    """
    from course_utils.checker_engine import entry_differences
    idx = indices[positions]
    eps = np.finfo(np.float64).eps ** (1 / 3) * np.maximum(1.0, np.abs(engine.theta[idx].astype(np.float64)))
    engine.method = "centered"  # the cost's real part, differenced
    try:
        J0 = engine.reference()
        centered_, _, _ = entry_differences(engine, idx, eps, J0)
    finally:
        engine.method = "complex"
    floor = NOISE_FACTOR * np.finfo(np.float64).eps * max(abs(J0), 1e-300) / eps
    agree = np.abs(g[positions] - centered_) <= tol[positions] + floor
    if agree.all():
        out["wrong"][positions] = False
        out["finding"][positions] = "complex step does not apply"
        size = _norm(g[positions]) + _norm(centered_)
        out["not_analytic"] = _norm(g[positions] - centered_) / size if size else 0.0


def staircase(engine, J0, positions, indices, g, tol, out, sigma):
    """Entries whose small steps disagree with the analytic gradient but whose wide steps follow it: a cost
    that has lost its digits (the textbook -log(1 - A) as A rounds to 1 moves in stairs, and a step that
    stays on one stair sees none of that output's slope), not a wrong gradient.

    Re-estimates them at hW = 0.05 max(1, |theta_i|) and hW / 2, with the noise sigma (a float, or one per
    entry) the entries have shown, or of stairs wider than the check's steps (``checker_noise.stair_noise``).
    The entry is "noisy cost" (its floor: the first step's disagreement), in ``out`` (modified in place),
    where the analytic gradient agrees
    with the Richardson estimate of the wide steps within twice their disagreement (as in ``richardson``)
    plus their noise and the cost is smooth at that scale (the one-sided differences agree within half the
    gradient), or where one side's extrapolated one-sided differences 2 S(hW / 2) - S(hW) follow it within
    twice |S(hW) - S(hW / 2)| (a ReLU kink on the other side).
    """
    from course_utils.checker_engine import entry_differences
    idx, q = indices[positions], positions.size
    hW = 0.05 * np.maximum(1.0, np.abs(engine.theta[idx].astype(np.float64)))
    numeric, (plus, minus), _ = entry_differences(engine, np.concatenate([idx, idx]), np.concatenate([hW, hW / 2]), J0)
    DW, DH, gq, tq = numeric[:q], numeric[q:], g[positions], tol[positions]
    centered, sided = measured_floor(sigma, hW / 2, "centered"), measured_floor(sigma, hW / 2, "forward")
    smooth = ((np.abs(plus[:q] - minus[:q]) <= 0.5 * np.abs(gq) + sided)
              & (np.abs(plus[q:] - minus[q:]) <= 0.5 * np.abs(gq) + sided))
    cleared = smooth & (np.abs(gq - (4 * DH - DW) / 3) <= tq + 2 * np.abs(DW - DH) + centered)
    for S in (plus, minus):  # S(h) = g + c h on the side without a kink
        cleared |= np.abs(gq - (2 * S[q:] - S[:q])) <= tq + 2 * np.abs(S[:q] - S[q:]) + 3 * sided
    chosen = positions[cleared]
    out["wrong"][chosen] = False
    out["finding"][chosen] = "noisy cost"
    out["floor"][chosen] = np.abs(g[chosen] - out["estimate"][chosen])
    out["staircase"] = np.concatenate([out.get("staircase", np.zeros(0, dtype=np.int64)), chosen])


def measured_blocks(layout, owner, threshold, g, judged):
    """One BlockResult per block: differences over every entry, excess and verdict over the entries that count.

    A block fails when one of its counted entries is wrong (beyond its tolerance and noise floor); it is
    unresolved when the noise floor of its counted entries is above the threshold.
    """
    est, floor, aside, wrong = judged["estimate"], judged["floor"], judged["aside"], judged["wrong"]
    n_blocks = len(layout.names)
    norms = lambda x: np.sqrt(np.bincount(owner, weights=x * x, minlength=n_blocks))
    keep = ~aside
    d_all, g_all, n_all = norms(g - est), norms(g), norms(est)
    d_k, f_k = norms(np.where(keep, g - est, 0.0)), norms(np.where(keep, floor, 0.0))
    s_k = norms(np.where(keep, g, 0.0)) + norms(np.where(keep, est, 0.0))
    n_wrong = np.bincount(owner[wrong & keep], minlength=n_blocks)
    n_aside = np.bincount(owner[aside], minlength=n_blocks)
    blocks = []
    for b, (name, shape) in enumerate(zip(layout.names, layout.shapes)):
        size = g_all[b] + n_all[b]
        blocks.append(BlockResult(
            name=name, shape=shape, relative_difference=0.0 if size == 0 else float(d_all[b] / size),
            excess=float(excess(d_k[b], f_k[b], s_k[b])), analytic_norm=float(g_all[b]),
            numeric_norm=float(n_all[b]), n_failing=int(n_wrong[b]), n_kinks=int(n_aside[b]),
            passed=bool(n_wrong[b] == 0), resolved=bool(f_k[b] <= threshold * s_k[b] or s_k[b] == 0)))
    return blocks


def counted_difference(g, judged):
    """The verdict's own number: the relative difference over the entries that count (kinks and jumps that
    no step clears left out), and its noise floor relative to the same size (floats). The noises of many
    entries add in quadrature, so the floor of the whole is AGGREGATE x the norm of the per-entry floors."""
    keep = ~judged["aside"]
    a, d, f = g[keep], judged["estimate"][keep], judged["floor"][keep]
    size = _norm(a) + _norm(d)
    if size == 0:
        return 0.0, 0.0
    return _norm(a - d) / size, AGGREGATE * _norm(f) / size


def _labels(engine, indices, mask, limit=4):
    """Labels of the first ``limit`` checked entries where mask is True, as one string."""
    chosen = indices[mask]
    more = f" and {chosen.size - limit} more" if chosen.size > limit else ""
    return ", ".join(engine.label(i) for i in chosen[:limit]) + more


def noise_seen(noise, noisy, g, numeric, eps, J0, wide_sigma=0.0):
    """The measured noise, raised to what the first step's differences saw on the entries found "noisy cost".

    A difference table measures the noise along one line; a saturated output's rounding moves in stairs that
    the table may step over (periodic along the line) while an entry's own steps meet them. On an entry whose
    later estimates agree with the analytic gradient, the first difference erred by |D1 - g|, so the cost
    erred by about |D1 - g| eps there (in J's units): the noise seen (checker_noise.Noise, or None).
    """
    if noise is None or not noisy.any():
        return noise
    seen = max(float(np.max(np.abs(numeric[noisy] - g[noisy]) * eps[noisy])), wide_sigma)
    if seen <= noise.sigma:
        return noise
    reference = np.finfo(np.float64).eps * max(abs(float(J0)), np.finfo(np.float64).tiny)
    return replace(noise, sigma=seen, digits_lost=float(np.log10(max(seen / reference, 1.0))))


def finding_notes(engine, noise, indices, g, judged, eps, user_step):
    """One note per finding of a measured check, each with its numbers (list of str)."""
    finding, est, notes = judged["finding"], judged["estimate"], []
    if noise is not None and not noise.repeatable:
        notes.append(f"the cost is not repeatable: two evaluations at the same parameters gave values "
                     f"{noise.repeat:.1e} apart, so it is not a function of them (dropout with a new mask, random "
                     f"sampling?); fix the randomness (one mask, a seed) and check again")
    words = {"wrong": "wrong (beyond the measured noise at every step)", "kink": "kink (the step crossed a "
             "kink: the one-sided differences disagree and the analytic gradient matches one of them)",
             "jump": "jump (the cost jumps within the step: the one-sided differences grow like 1/h)",
             "step too large": "step too large (truncation: a smaller step agrees)",
             "noisy cost": "noisy cost (the noise of the cost hides the first estimate; a larger step was used)"}
    for key, text in words.items():
        mask = finding == key
        if not mask.any():
            continue
        i = int(np.flatnonzero(mask)[0])
        aside = " (left out of the verdict)" if judged["aside"][mask].any() else ""
        notes.append(f"{int(mask.sum())} entr{'ies' if mask.sum() > 1 else 'y'} {text}{aside}: "
                     f"{_labels(engine, indices, mask)}; e.g. {engine.label(indices[i])}: analytic {g[i]:.6e}, "
                     f"numeric {est[i]:.6e}, noise floor {judged['floor'][i]:.1e}")
    if user_step is not None and (finding == "noisy cost").any():
        notes.append(f"the step {float(np.min(eps)):.1e} is too small for this cost's noise; use a larger epsilon "
                     f"(the default is {user_step:.1e})")
    return notes


def measured_verdict(noise, blocks, counted, threshold, J0, judged):
    """The verdict of a measured check and the note that explains an inconclusive one.

    Returns
    -------
    verdict : str; notes : list of str
    """
    rel, floor = counted
    if any(not b.passed for b in blocks) or (noise is not None and not noise.repeatable):
        return "failed", []
    if judged.get("not_analytic") is not None:
        return "inconclusive", [
            f"the complex step does not apply: the cost is not complex-analytic (abs, max, np.maximum for ReLU, "
            f"np.real or a comparison inside), so Im J(theta + ih) / h is not its derivative. On the entries where "
            f"it disagrees, centered differences agree with the analytic gradient (relative difference "
            f"{judged['not_analytic']:.1e}); use method='centered'"]
    if floor <= threshold:
        return "passed", []
    if noise is None:
        return "inconclusive", [f"the round-off floor of the complex step ({floor:.1e} relative) is above the threshold"]
    if noise.dtype != np.float64:
        advice = f"check in float64 (cast the data and the parameters), or pass a threshold above {floor:.0e}"
    elif noise.digits_lost >= 2:
        advice = ("if it computes log(A) or log(1 - A) of a saturated sigmoid, compute it from the logits "
                  "instead (np.logaddexp(0, Z) - Y * Z, the stable form notebook 4 shows)")
    else:
        advice = f"use a larger epsilon, check in float64, or pass a threshold above {floor:.0e}"
    return "inconclusive", [
        f"the measured noise of the cost ({noise.sigma:.1e} on J = {J0:.6g}; {noise.digits_lost:.0f} of its 16 "
        f"digits lost, computed in {noise.dtype.name}) hides the answer: the noise floor of the entries that "
        f"count is {floor:.1e} relative, above the threshold, even at the best step; {advice}"]


def _excess_note(g, numeric, kinks, finding, global_rel, threshold):
    """The note of a passed check whose relative difference at the step asked for is above the threshold."""
    kept = ~kinks
    part = _norm(g[kept]) + _norm(numeric[kept])
    without = _norm(g[kept] - numeric[kept]) / part if part else 0.0
    cause = "step too large" if (finding == "step too large").any() else None
    return excess_cause_note(global_rel, int(kinks.sum()), without, threshold, cause)


def entry_report(engine, noise, indices, g, numeric, sides, J0, eps, threshold, mode, n_worst, default_step):
    """The report of a per-entry check (modes "full" and "sparse"), from the measured noise.

    Parameters
    ----------
    engine : checker_engine.Engine that evaluated the differences
    noise : checker_noise.Noise, measured at theta (None for the complex step)
    indices : ndarray of int (s,), the checked entries of theta
    g, numeric, eps : ndarrays (s,): the analytic and numeric gradients of those entries, the steps
    sides : one-sided differences or None; J0 : float or None, the cost at theta
    threshold : float; mode : "full" or "sparse"; n_worst : int
    default_step : float or None, the default step when the user gave epsilon

    Returns
    -------
    GradCheckReport

    Raises
    ------
    GradCheckError (from the engine) when a second estimate or a wider noise table meets a cost that is not
    a finite number (the message names the entry and the step, or the table's point).
    """
    layout = engine.layout
    owner = layout.block_index() if mode == "full" else layout.block_index()[indices]  # shape (s,)
    judged = measured_entries(engine, noise, indices, g, numeric, sides, J0, eps, threshold, owner)
    noise = noise_seen(noise, judged["finding"] == "noisy cost", g, numeric, eps, J0, judged.get("wide_sigma", 0.0))
    blocks = measured_blocks(layout, owner, threshold, g, judged)
    counted = counted_difference(g, judged)
    verdict, notes = measured_verdict(noise, blocks, counted, threshold, J0, judged)
    notes += finding_notes(engine, noise, indices, g, judged, eps, default_step)
    if mode == "sparse":
        notes.append(sparse_note(indices.size, engine.theta.size, max(np.bincount(owner, minlength=len(layout.names)))))
    est, aside = judged["estimate"], judged["aside"]
    kinks = np.isin(judged["finding"], ("kink", "jump"))  # the first step crossed a kink or a jump
    errors, excess_, _, _ = judge_entries(g, est, None, judged["floor"], threshold)
    failing = judged["wrong"] & ~aside
    columns = (engine.label, indices, g, est, errors, excess_, kinks)
    order = worst_order(np.where(failing, np.maximum(excess_, threshold), excess_), errors, n_worst)
    worst = entry_results(order[np.abs(g - est)[order] > 0], *columns)
    for e, p in zip(worst, order[np.abs(g - est)[order] > 0]):
        e.finding = str(judged["finding"][p])
    blocks.sort(key=lambda b: (b.passed, -b.excess, -b.relative_difference))
    size = _norm(g) + _norm(numeric)
    global_rel = _norm(g - numeric) / size if size else 0.0  # the course's number, at the step asked for
    if verdict == "passed" and global_rel > threshold:
        notes.append(_excess_note(g, numeric, kinks, judged["finding"], global_rel, threshold))
    report = GradCheckReport(
        verdict=verdict, relative_difference=global_rel, threshold=threshold, method=engine.method, mode=mode, dtype=engine.dtype, epsilon=eps, blocks=blocks,
        worst=worst, kinks=entry_results(np.flatnonzero(kinks), *columns) if kinks.any() else [],
        n_evaluations=engine.n_eval, analytic=g, numeric=numeric, entry_errors=errors, entry_excess=excess_,
        layout=layout, notes=notes, indices=indices, entry_failing=failing, entry_kinks=kinks)
    report.counted_difference, report.n_set_aside = counted[0], int(aside.sum())
    report.entry_findings, report.noise, report.estimate = judged["finding"].astype(str), noise, est
    return report
