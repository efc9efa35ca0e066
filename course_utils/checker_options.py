"""Machinery of the checker's settings; a student does not need this module: options, thresholds, mode choice.

``gradcheck.check_gradients`` takes the four settings a student meets (``epsilon``, ``method``, ``threshold``,
``mode``) by name, and every rarely needed one as a keyword option (``**options``). This module lists those
options with their defaults (``CheckOptions``), refuses an unknown one with the list of valid names, checks
the values, picks the default threshold of a dtype and method (``DEFAULT_THRESHOLDS``) and the mode that
``mode="auto"`` runs in.
"""

import warnings
from dataclasses import dataclass, fields

import numpy as np

from course_utils.checker_engine import GradCheckError, PrecisionWarning

__all__ = ["AUTO_FULL_BATCHED", "AUTO_FULL_PLAIN", "CheckOptions", "DEFAULT_THRESHOLDS", "METHODS", "MODES",
           "OptionError", "check_settings", "choose_mode", "measured_threshold", "options_from", "threshold_for",
           "warn_about_precision"]

#: Default pass thresholds on relative differences, by dtype and method. At a well-chosen step a correct
#: float64 gradient sits near 1e-9 to 1e-10 with centered differences (forward differences only reach
#: about sqrt(u) ~ 1e-8) and real bugs sit above 1e-4; float32 cannot resolve much below 1e-4.
DEFAULT_THRESHOLDS = {
    (np.dtype(np.float64), "centered"): 1e-6, (np.dtype(np.float64), "complex"): 1e-6,
    (np.dtype(np.float64), "forward"): 1e-5,
    (np.dtype(np.float32), "centered"): 1e-3, (np.dtype(np.float32), "complex"): 1e-3,
    (np.dtype(np.float32), "forward"): 1e-2,
    (np.dtype(np.float16), "centered"): 1e-2, (np.dtype(np.float16), "complex"): 1e-2,
    (np.dtype(np.float16), "forward"): 5e-2,
}

METHODS = ("centered", "forward", "complex")
MODES = ("full", "sparse", "random", "auto")

#: mode="auto" checks every entry up to this many entries (plain cost), or AUTO_FULL_BATCHED with a
#: batched cost; above, it uses random directions per block (every entry covered, with a guarantee).
AUTO_FULL_PLAIN = 5_000
AUTO_FULL_BATCHED = 200_000


class OptionError(GradCheckError, TypeError):
    """An option ``check_gradients`` does not have (a TypeError, as for any unexpected keyword)."""


@dataclass(frozen=True)
class CheckOptions:
    """The rarely needed options of ``check_gradients``, with their defaults.

    Attributes
    ----------
    directions : int, random directions of mode "random" (2k + 1 evaluations)
    per_block : bool, mode "random": draw the directions inside each block
    samples : int, mode "sparse": random entries checked in every block
    distribution : "gaussian" or "rademacher", of the random directions
    rng : numpy Generator, seed or None, for the random and sparse modes and the noise measurement
    n_worst : int, worst entries listed in the report
    batched_cost : a fast evaluator of the same cost (``checker_engine.BatchedCost`` such as
        ``fastcheck.MLPBatchedCost``, or a function of a (k, n) stack of parameter vectors returning (k,) costs)
    chunk_size : int or None, vectors per batched call (the result does not depend on it)
    progress : True, False or None (a bar when evaluations x parameters reaches
        ``checker_progress.PROGRESS_MIN_WORK``: counted work, never time)
    """

    directions: int = 16
    per_block: bool = False
    samples: int = 16
    distribution: str = "gaussian"
    rng: object = None
    n_worst: int = 5
    batched_cost: object = None
    chunk_size: object = None
    progress: object = None


def options_from(keywords):
    """The ``CheckOptions`` of a dict of keyword options.

    Parameters
    ----------
    keywords : dict name -> value, the ``**options`` of ``check_gradients``

    Returns
    -------
    CheckOptions

    Raises
    ------
    OptionError naming the valid options when a name is not one of them.
    """
    valid = [f.name for f in fields(CheckOptions)]
    unknown = sorted(set(keywords) - set(valid))
    if unknown:
        raise OptionError(f"check_gradients has no option {', '.join(map(repr, unknown))}; its settings are "
                          f"epsilon, method, threshold and mode, and its options {', '.join(valid)}")
    return CheckOptions(**keywords)


def check_settings(cost, method, mode, options):
    """Refuse settings the check cannot use, with a message that says what is valid.

    Parameters
    ----------
    cost : callable or None; method : str; mode : str; options : CheckOptions

    Raises
    ------
    GradCheckError for an unknown method or mode, a cost that is not a function, the complex step without a
    cost, a progress that is not True/False/None or a chunk size that is not a positive integer.
    """
    if method not in METHODS:
        raise GradCheckError(f"method must be one of {METHODS}, got {method!r}")
    if mode not in MODES:
        raise GradCheckError(f"mode must be one of {MODES}, got {mode!r}")
    if cost is None and options.batched_cost is None:
        raise GradCheckError("cost is None: pass a function of the parameters dict (or a batched_cost)")
    if cost is not None and not callable(cost):
        raise GradCheckError(f"cost must be a function of the parameters dict, got {type(cost).__name__}")
    if cost is None and method == "complex":
        raise GradCheckError("method='complex' needs a cost function that carries complex numbers; batched "
                             "costs are real")
    if options.progress not in (None, True, False):
        raise GradCheckError(f"progress must be True, False or None (automatic), got {options.progress!r}")
    chunk = options.chunk_size
    if chunk is not None and not (isinstance(chunk, (int, np.integer)) and chunk >= 1):
        raise GradCheckError(f"chunk_size must be a positive integer, got {chunk!r}")


def warn_about_precision(dtype):
    """Warn that float32 limits what a check can prove.

    Parameters
    ----------
    dtype : numpy dtype of the check

    Returns
    -------
    dtype, unchanged

    Raises
    ------
    PrecisionWarning (a warning, not an error) for float32.
    """
    if dtype == np.float32:
        warnings.warn(
            "float32 parameters: finite differences in float32 cannot resolve relative differences much "
            "below 1e-4, so the check uses a 1e-3 threshold and a step near 5e-3. A pass rules out gross "
            "bugs only; cast to float64 to prove a gradient right.",
            PrecisionWarning, stacklevel=3)
    return dtype


def threshold_for(threshold, dtype, method):
    """The pass threshold: the one given, or the default of the dtype and method.

    Parameters
    ----------
    threshold : float or None; dtype : numpy float dtype; method : str

    Returns
    -------
    float

    Raises
    ------
    GradCheckError for a threshold that is not a positive number.
    """
    threshold = DEFAULT_THRESHOLDS[(dtype, method)] if threshold is None else threshold
    if not threshold > 0:
        raise GradCheckError(f"threshold must be a positive number, got {threshold!r}")
    return float(threshold)


def measured_threshold(threshold, given, noise, method):
    """The default threshold of the precision the cost is really computed in (measured), when the caller
    gave none: a float64 check of a cost computed in float32 or float16 gets that precision's threshold.

    Parameters
    ----------
    threshold : float; given : bool, whether the caller chose it; noise : ``checker_noise`` measurement or None;
    method : str

    Returns
    -------
    float

    Raises
    ------
    Nothing: a precision without a default threshold is never measured.
    """
    if given or noise is None or np.finfo(noise.dtype).eps <= np.finfo(np.float64).eps:
        return threshold
    return max(threshold, DEFAULT_THRESHOLDS[(noise.dtype, method)])


def choose_mode(mode, n, batched, options):
    """The mode to run (mode="auto" picks by size), per_block, and why.

    Parameters
    ----------
    mode : str; n : int, number of entries; batched : evaluator or None; options : CheckOptions

    Returns
    -------
    (mode : str, per_block : bool, reason : str)

    Raises
    ------
    Nothing: the mode was checked by ``check_settings``.
    """
    if mode != "auto":
        return mode, options.per_block, f"mode '{mode}' as asked"
    limit = AUTO_FULL_PLAIN if batched is None else AUTO_FULL_BATCHED
    if n <= limit:
        return "full", options.per_block, f"auto: {n} entries <= {limit}, so every entry is checked"
    return "random", True, (f"auto: {n} entries > {limit} (the limit for a full check "
                            f"{'with this batched cost' if batched is not None else 'with a plain cost'}), so "
                            f"{int(options.directions)} random directions per block check every entry at once")
