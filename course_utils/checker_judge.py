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

import numpy as np

from course_utils.report import BlockResult, EntryResult, GradCheckReport

__all__ = ["KINK_MATCH", "ROUNDOFF_FACTOR", "block_results", "entry_report", "excess", "judge_entries",
           "kink_entries", "noise_floor"]

#: Round-off of one cost evaluation, in units of ``u * |J|``; sets the noise floor of a difference.
ROUNDOFF_FACTOR = 100.0

#: A failing entry is a kink when the analytic gradient is closer to one of the one-sided differences
#: than this fraction of their disagreement (on a smooth function it sits halfway between them).
KINK_MATCH = 0.25


def noise_floor(J0, eps, analytic, numeric, method, dtype):
    """Round-off floor of each numeric derivative, shape like eps."""
    u = np.finfo(dtype).eps
    if method == "complex":
        return ROUNDOFF_FACTOR * u * (np.abs(analytic) + np.abs(numeric))
    return ROUNDOFF_FACTOR * u * max(abs(J0), np.finfo(dtype).tiny) / eps


def excess(diff_norm, floor_norm, size_norm):
    """Discrepancy above the floor, relative to the gradient size (0/0 -> 0)."""
    above = max(diff_norm - floor_norm, 0.0)
    return 0.0 if above == 0 else (np.inf if size_norm == 0 else above / size_norm)


def kink_entries(g, sides, floor, failing):
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


def block_results(layout, owner, threshold, delta, g, numeric, floor, failing, kinks):
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


def excess_cause_note(global_rel, n_kinks, rel_without_kinks, threshold):
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


def entry_report(engine, indices, g, numeric, sides, J0, eps, threshold, mode, n_worst, default_step):
    """The report of a per-entry check (modes "full" and "sparse").

    Parameters
    ----------
    engine : checker_engine.Engine that evaluated the differences
    indices : ndarray of int (s,), the checked entries of theta
    g, numeric, eps : ndarrays (s,): the analytic and numeric gradients of those entries, the steps
    sides : one-sided differences or None; J0 : float or None, the cost at theta
    threshold : float; mode : "full" or "sparse"; n_worst : int
    default_step : float or None, see ``verdict_and_notes``

    Returns
    -------
    GradCheckReport
    """
    layout = engine.layout
    floor = noise_floor(J0, eps, g, numeric, engine.method, engine.cost_dtype)  # shape (s,)
    errors, excess_, failing, kinks = judge_entries(g, numeric, sides, floor, threshold)
    owner = layout.block_index()  # shape (n,): block number of every entry
    if mode != "full":
        owner = owner[indices]  # shape (s,): block number of every checked entry
    blocks = block_results(layout, owner, threshold, g - numeric, g, numeric, floor, failing, kinks)
    overall = global_result(g, numeric, floor, kinks)
    verdict, notes = verdict_and_notes(overall, blocks, threshold, default_step, engine.cost_dtype)
    n_kinks = int(np.count_nonzero(kinks))
    notes += entry_notes(verdict, overall, blocks, threshold, [engine.label(i) for i in indices[kinks][:5]], n_kinks)
    if mode == "sparse":
        notes.append(sparse_note(indices.size, engine.theta.size, max(np.bincount(owner, minlength=len(layout.names)))))
    columns = (engine.label, indices, g, numeric, errors, excess_, kinks)
    order = worst_order(excess_, errors, n_worst)  # shape (n_worst,)
    worst = entry_results(order[np.abs(g - numeric)[order] > 0], *columns)
    blocks.sort(key=lambda b: (b.passed, -b.excess, -b.relative_difference))
    return GradCheckReport(
        verdict=verdict, relative_difference=overall["relative_difference"], threshold=threshold,
        method=engine.method, mode=mode, dtype=engine.dtype, epsilon=eps, blocks=blocks, worst=worst,
        kinks=entry_results(np.flatnonzero(kinks), *columns) if n_kinks else [], n_evaluations=engine.n_eval,
        analytic=g, numeric=numeric, entry_errors=errors, entry_excess=excess_, layout=layout, notes=notes,
        indices=indices, entry_failing=failing & ~kinks, entry_kinks=kinks)
