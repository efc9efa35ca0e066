"""What the plots and the explorer widget of notebook 4 show about step sizes: figure data and verdicts.

The numbers come from ``stepsize`` (sweeps, the error model, the best step); this module only arranges
them for a plot of error versus step (``curve_data``) and says in one line what the current step does
(``verdict_line``).
"""

from types import SimpleNamespace

import numpy as np

from course_utils.stepsize import (
    SweepCache,
    StepSizeError,
    check_dtype,
    check_epsilons,
    check_method,
    error_at,
    get_model,
    kink_step,
    measured_best,
    rule_of_thumb_epsilon,
)

__all__ = ["CLASSIC_THRESHOLD", "METHOD_LABELS", "ZERO_FLOOR", "best_step_label", "curve_data", "power_of_ten",
           "shown_best", "verdict_line"]

# ---------------------------------------------------------------------------------------------------
# Figure data: everything a plot of error versus step draws, and a one-line verdict
# ---------------------------------------------------------------------------------------------------

#: The classic exercise's pass threshold, drawn on every plot.
CLASSIC_THRESHOLD = 1e-7

#: Exact zeros (the 1-D model's complex step) are drawn at this height: 0 has no place on a log axis.
ZERO_FLOOR = 1e-18

METHOD_LABELS = {"centered": "centered", "forward": "forward", "complex": "complex-step"}


def curve_data(model="net", method="centered", dtype="float64", eps=1e-7, cache=None, mode="entries"):
    """Everything a plot of error versus step needs, for one model, method and dtype.

    Parameters
    ----------
    model : name in MODELS; method : "centered", "forward" or "complex"; dtype : "float64" or "float32"
    eps : float, the current step (marked on the plot, judged by the verdict)
    cache : SweepCache, optional (the explorer passes its own; without one the sweep is recomputed)
    mode : "entries" or "direction" (see ``sweep``)

    Returns
    -------
    dict with
        "model", "model_label", "method", "dtype" (str), "mode", "u" (float)
        "eps", "error" : ndarray, shape (k,): the measured sweep; "shown_error" (k,) with exact zeros
            replaced by ZERO_FLOOR and "exact" (k,) bool marking them
        "line_eps" : ndarray, shape (200,); "truncation", "roundoff", "total" : ndarray (200,) of the
            error model on it (NaN where the model does not apply)
        "best_eps", "best_error" : floats or None, the error model's predicted optimum
        "measured_best_eps", "measured_best_error" : floats, the measured minimum
        "shown_best_eps", "shown_best_error" : floats or None, THE best step of the panel, the one the
            plot marks and the verdict quotes (see ``shown_best``); "shown_best_below_kink" : bool
        "rule_eps" : float, u^(1/3) * scale (centered) or sqrt(u) * scale (forward), 1e-20 (complex)
        "kink_eps" : float or None, the smallest step that crosses a ReLU kink (found on the float64
            sweep: where the kinks are is a property of the function, not of the precision)
        "current_eps", "current_error" : floats; "regime" : str
        "threshold" : float, the classic 1e-7
        "title", "xlabel", "ylabel", "verdict" : str

    Raises
    ------
    StepSizeError for an unknown model, method or dtype, a step that is not one positive number,
    or a cache that is not a SweepCache.
    """
    method, dt = check_method(method), check_dtype(dtype)
    current, cache = _current_and_cache(eps, cache)
    m = get_model(model)
    s = cache.get(model, method, dt, mode)
    em = cache.error_model(model, method, dt, mode)
    line_eps, truncation, roundoff, total = _model_lines(s, em)
    current_error = error_at(model, method, dt, current, mode=mode)
    mb_eps, mb_err = measured_best(s)
    exact = s.error == 0
    data = {
        "model": m.key, "model_label": m.label, "method": method, "dtype": dt.name, "mode": mode, "u": s.u,
        "eps": s.eps, "error": s.error, "shown_error": np.where(exact, ZERO_FLOOR, s.error), "exact": exact,
        "line_eps": line_eps, "truncation": truncation, "roundoff": roundoff, "total": total,
        "best_eps": em.best_epsilon, "best_error": em.best_error,
        "measured_best_eps": mb_eps, "measured_best_error": mb_err,
        "rule_eps": rule_of_thumb_epsilon(dt, method, m.scale),
        "kink_eps": kink_step(cache.get(model, method, "float64", mode)),
        "current_eps": current, "current_error": current_error,
        "regime": em.regime(current) if em.applies else "method does not apply", "threshold": CLASSIC_THRESHOLD,
        "title": f"{METHOD_LABELS[method]} differences in {dt.name}: {m.label}",
        "xlabel": "step \u03b5 (same units as \u03b8)",
        "ylabel": "relative difference \u2016g \u2212 \u011d\u2016 / (\u2016g\u2016 + \u2016\u011d\u2016)",
    }
    data["shown_best_eps"], data["shown_best_error"], data["shown_best_below_kink"] = shown_best(data)
    data["verdict"] = verdict_line(data, complex_analytic=m.complex_analytic)
    return data


def shown_best(data):
    """The one best step a panel shows (dotted line, legend and verdict): the error model's optimum,
    unless that step already crosses a ReLU kink; then the measured best among the steps below the kink.

    Parameters
    ----------
    data : dict from ``curve_data`` (uses "best_eps", "best_error", "kink_eps", "eps", "error")

    Returns
    -------
    (eps, error, below_kink) : (float, float, bool), or (None, None, False) when there is no best step
        (the complex step, or no truncation error: larger steps only get better)

    Raises
    ------
    KeyError when ``data`` lacks those entries.
    """
    best, kink = data["best_eps"], data["kink_eps"]
    if best is None:
        return None, None, False
    if kink is None or best < kink:
        return best, data["best_error"], False
    below = data["eps"] < kink  # shape (k,)
    if not np.any(below):
        return None, None, False
    eps, error = measured_best(SimpleNamespace(eps=data["eps"][below], error=data["error"][below]))
    return eps, error, True


def _current_and_cache(eps, cache):
    """The current step (float) and the sweep cache (a new one for None), validated."""
    current = float(check_epsilons(eps)[0])
    if np.size(eps) != 1:
        raise StepSizeError(f"eps must be one step (a float), got {np.size(eps)} values")
    cache = SweepCache() if cache is None else cache
    if not isinstance(cache, SweepCache):
        raise StepSizeError(f"cache must be a SweepCache, got {type(cache).__name__}")
    return current, cache


def _model_lines(s, em):
    """The error model along 200 steps spanning the sweep ``s``: line_eps and the truncation, round-off
    and total error on it (ndarrays (200,), NaN where the model does not apply, is not positive, or
    is above 1: a relative difference never exceeds 1, so the plots keep the band above 1 free)."""
    line_eps = np.logspace(np.log10(s.eps[0]), np.log10(s.eps[-1]), 200)
    nan = np.full(line_eps.shape, np.nan)
    truncation = em.truncation(line_eps) if em.applies and em.C1 > 0 else nan
    roundoff = em.roundoff(line_eps) if em.applies else nan
    total = em.total(line_eps) if em.applies else nan
    return (line_eps,) + tuple(np.where((v > 0) & (v <= 1), v, np.nan) for v in (truncation, roundoff, total))


def verdict_line(data, complex_analytic=True):
    """One line judging the current step of a ``curve_data`` dict (what the explorer shows above the plot).

    Parameters
    ----------
    data : dict from ``curve_data`` (its verdict is being made: every entry but "verdict")
    complex_analytic : bool, whether the model's cost is complex-analytic

    Returns
    -------
    str

    Raises
    ------
    KeyError when ``data`` lacks an entry of ``curve_data``.
    """
    eps, err, method = data["current_eps"], data["current_error"], data["method"]
    head = f"\u03b5 = {eps:.1e}: relative difference " + ("exactly 0" if err == 0 else f"{err:.2e}")
    if method == "complex" and not complex_analytic:
        return (head + " \u2014 the complex step does not apply: this cost is not analytic "
                "(|x| inside relu), so Im J(\u03b8 + i\u03b5)/\u03b5 is the wrong slope for every \u03b5.")
    parts = [head]
    kink = data["kink_eps"]
    if kink is not None and eps >= kink:
        parts.append(f"the step crosses a ReLU kink (from \u03b5 \u2248 {kink:.0e}): make it smaller")
    elif method == "complex":
        parts.append("no subtraction, so no round-off growth: any small \u03b5 (even 1e-20) is as good")
    elif data["regime"] == "round-off":
        parts.append("round-off dominated (\u03b5 too small)")
    elif data["regime"] == "truncation":
        parts.append("truncation dominated (\u03b5 too large)")
    elif data["regime"] == "balanced":
        parts.append("near the best step")
    if method != "complex":
        if data["shown_best_eps"] is not None:
            parts.append(best_step_label(data) + f" gives \u2248 {data['shown_best_error']:.1e}")
        else:
            parts.append("no truncation error here: larger steps only get better")
    verdict = "passes" if err < data["threshold"] else "fails"
    parts.append(f"{verdict} the classic {power_of_ten(data['threshold'])} threshold")
    if data["dtype"] == "float32" and data["measured_best_error"] > data["threshold"]:
        parts.append(f"float32 cannot go below \u2248 {data['measured_best_error']:.1e}")
    return "; ".join(parts) + "."


def best_step_label(data):
    """How the plot's legend and the verdict name the panel's best step: "best ε ≈ 3.2e-02 (below the kink)".

    Parameters
    ----------
    data : dict from ``curve_data`` with a best step ("shown_best_eps" not None)

    Returns
    -------
    str

    Raises
    ------
    TypeError when the panel has no best step (``shown_best_eps`` is None).
    """
    below = " (below the kink)" if data["shown_best_below_kink"] else ""
    return f"best \u03b5 \u2248 {data['shown_best_eps']:.1e}{below}"


def power_of_ten(x):
    """A number as a short power of ten for labels: 1e-07 -> "1e-7", 3e-05 -> "3e-5".

    Parameters
    ----------
    x : float, positive

    Returns
    -------
    str

    Raises
    ------
    ValueError for a value that does not format as a number (e.g. a string).
    """
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"
