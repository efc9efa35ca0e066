"""Benchmark: verdicts on the battery of known cases, our checker against torch, jax, scipy and numdifftools.

Run: ``make bench`` (or ``.venv/bin/python -m benchmarks verdicts``). Every case of
``benchmarks/verdict_battery.py`` (right and wrong gradients, saturated costs, low precision, steps too
large, noise, kinks, jumps, bad inputs, ...; each with a truth computed without finite differences) goes
through five checkers, each called as a user would call it:

* ours: ``course_utils.gradcheck.check_gradients(cost, parameters, gradients, **case options)``, read
  through ``report.passed`` / ``report.verdict`` / ``report.failing_blocks()`` (defensively: the report's
  API is being reworked for issue 14); an exception is the outcome "error", with its message. The
  default (full) mode is the column "ours"; "ours-sparse" (``mode="sparse", rng=0``) and "ours-random"
  (``mode="random", per_block=True, rng=0``) are the other modes on the same cases;
* torch: ``torch.autograd.gradcheck`` with its defaults (eps 1e-6, atol 1e-5, rtol 1e-3) on a flat tensor of
  the parameters' dtype (float64 unless every block is float32/float16), through an
  ``autograd.Function`` whose forward calls the numpy cost and whose backward returns the analytic gradient;
* jax: ``jax.test_util.check_grads(f, args, order=1, modes=("rev",))`` with its defaults (eps 1e-4,
  dtype tolerances, x64 enabled), where ``f`` is a ``jax.custom_vjp`` function whose forward is the numpy
  cost through ``jax.pure_callback`` and whose backward returns the analytic gradient. So jax checks the
  *user's* gradient on every case, with no jax twin of the cost (a twin would check jax's own autodiff);
* scipy: ``scipy.optimize.check_grad`` (forward differences, step sqrt(u) = 1.5e-8, every entry); it
  returns ||g - g_hat||, judged as passing when ||g - g_hat|| / ||g|| <= 1e-6 (0 / 0 passes);
* numdifftools: ``nd.Gradient(cost)(theta)`` (central differences with Richardson extrapolation), passing
  when ``np.allclose(g_hat, g)`` (rtol 1e-5, atol 1e-8); n/a above 2,000 entries (minutes per case).

A step the case fixes (the user's choice, e.g. 1e-3 next to a kink) is given to every checker that takes
one (ours ``epsilon``, torch ``eps``, jax ``eps``, scipy ``epsilon``, numdifftools ``step``); ours also
gets the case's own options (``method="complex"``). A checker is right on a case when its outcome (pass,
fail, inconclusive, error) is one the case accepts (``Case.accept``: "pass" for a right gradient, "fail"
for a wrong one; a cost that is not a function must not pass; a cost returning a tuple must be refused).
A peer that is not installed reads "n/a". For ours the table also says whether the report names the
expected finding (the kink, the jump, the noise, ...) and, for wrong gradients, exactly the wrong blocks.

Results: ``benchmarks/results/verdicts.txt`` and ``verdicts.csv``. ``--quick`` runs the first right and the first
wrong case of every kind below 1,000 entries (``verdicts-quick.*``); ``--checkers ours,torch`` runs only those.
"""

import argparse
import csv
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.verdict_battery import build_battery

__all__ = ["CHECKERS", "RUNNERS", "NotApplicable", "blocks_named", "finding_named", "flat_gradient",
           "flat_parameters", "layout", "main", "run_battery", "run_one", "select_cases", "totals", "unflatten",
           "write_results"]

RESULTS = Path(__file__).resolve().parent / "results"
CHECKERS = ("ours", "torch", "jax", "scipy", "numdifftools", "ours-sparse", "ours-random")

#: scipy's check_grad returns an absolute norm; a gradient passes below this relative error.
SCIPY_THRESHOLD = 1e-6
#: numdifftools costs minutes above this many entries: n/a there.
NUMDIFFTOOLS_MAX_ENTRIES = 2000

#: Words our report must contain to count as naming a case's expected finding.
FINDING_WORDS = {"kink": ("kink",), "jump": ("jump", "discontinu"), "step too large": ("step",),
                 "noisy cost": ("noise", "noisy"), "not repeatable": ("repeat", "not a function", "changes")}
#: For "bad input" the words depend on what is bad.
BAD_INPUT_WORDS = {"cost_returns_tuple": ("tuple",), "gradient_transposed": ("shape",),
                   "complex_w_abs_w_right": ("analytic",)}


class NotApplicable(Exception):
    """A checker cannot run this case (not installed, or too slow); the table reads n/a."""


# ---------------------------------------------------------------------------------------------------
# Flat vectors for the peers
# ---------------------------------------------------------------------------------------------------

def layout(parameters):
    """[(name, shape, dtype, size)] of a parameter dict, in its order (list of tuples)."""
    out = []
    for name, value in parameters.items():
        value = np.asarray(value)
        dtype = value.dtype if np.issubdtype(value.dtype, np.floating) else np.dtype(np.float64)
        out.append((name, value.shape, dtype, value.size))
    return out


def unflatten(lay, x):
    """Dict of fresh arrays, each in its block's shape and dtype, from a flat vector ``x`` (n,)."""
    out, start = {}, 0
    x = np.asarray(x)
    for name, shape, dtype, size in lay:
        out[name] = np.array(x[start:start + size], dtype=dtype).reshape(shape)
        start += size
    return out


def flat_parameters(case):
    """The parameters as one float64 vector (n,) (exact for float16/float32 blocks)."""
    return np.concatenate([np.asarray(v, dtype=np.float64).reshape(-1) for v in case.parameters.values()])


def flat_gradient(case):
    """The analytic gradients as one float64 vector (n,), each block flattened as given (row-major)."""
    return np.concatenate([np.asarray(case.gradients["d" + k], dtype=np.float64).reshape(-1)
                           for k in case.parameters])


def common_dtype(case):
    """float32/float16 when every block has that dtype, else float64 (numpy dtype)."""
    dtypes = {d for _, _, d, _ in layout(case.parameters)}
    return dtypes.pop() if len(dtypes) == 1 and next(iter(dtypes)) in (np.float32, np.float16) else np.dtype(np.float64)


def scalar_cost(case, lay):
    """``f(x) -> float``: the case's cost of a flat vector; ``float()`` refuses a tuple, as a user's code would."""
    return lambda x: float(case.cost(unflatten(lay, x)))


# ---------------------------------------------------------------------------------------------------
# The checkers: each returns (outcome, message, extra dict)
# ---------------------------------------------------------------------------------------------------

def run_ours(case, **mode_kwargs):
    """Our ``check_gradients`` through its public signature (plus ``mode_kwargs``); the report read defensively."""
    from course_utils.gradcheck import check_gradients
    kwargs = {**mode_kwargs, **case.check_kwargs}
    if case.step is not None:
        kwargs["epsilon"] = case.step
    parameters = {k: np.copy(v) for k, v in case.parameters.items()}
    gradients = {k: np.copy(v) for k, v in case.gradients.items()}
    try:
        report = check_gradients(case.cost, parameters, gradients, progress=False, **kwargs)
    except TypeError as error:
        if "progress" not in str(error):
            raise
        report = check_gradients(case.cost, parameters, gradients, **kwargs)
    passed, verdict = getattr(report, "passed", None), str(getattr(report, "verdict", "")).lower()
    passed = passed() if callable(passed) else passed
    outcome = "pass" if passed is True or verdict == "passed" else (
        "inconclusive" if "inconclusive" in verdict else "fail")
    try:
        failing = list(report.failing_blocks())
    except Exception:  # noqa: BLE001 - the report API is changing; a missing method is not a verdict
        failing = None
    text = str(report)
    return outcome, text, {"failing_blocks": failing}


def run_torch(case):
    """``torch.autograd.gradcheck`` with its defaults; forward = the numpy cost, backward = the analytic gradient."""
    try:
        import torch
    except ImportError as error:
        raise NotApplicable("torch not installed") from error
    torch.set_num_threads(1)
    lay, g = layout(case.parameters), flat_gradient(case)
    f = scalar_cost(case, lay)
    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float16): torch.float16}.get(common_dtype(case),
                                                                                          torch.float64)

    class Cost(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return torch.tensor(f(x.detach().numpy()), dtype=x.dtype)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * torch.as_tensor(g, dtype=grad_output.dtype)

    x = torch.tensor(flat_parameters(case), dtype=dtype, requires_grad=True)
    kwargs = {} if case.step is None else {"eps": case.step}
    ok = torch.autograd.gradcheck(Cost.apply, (x,), raise_exception=False, **kwargs)
    return ("pass" if ok else "fail"), f"gradcheck returned {ok}", {}


def run_jax(case):
    """``jax.test_util.check_grads`` (rev mode) on a custom_vjp function: numpy cost forward, analytic backward."""
    try:
        import jax
        import jax.numpy as jnp
        from jax.test_util import check_grads
    except ImportError as error:
        raise NotApplicable("jax not installed") from error
    jax.config.update("jax_enable_x64", True)
    logging.getLogger("jax._src.callback").setLevel(logging.CRITICAL)  # a cost that raises is our "error"
    names = list(case.parameters)
    args = tuple(jnp.asarray(case.parameters[n]) for n in names)
    grads = [np.asarray(case.gradients["d" + n], dtype=np.float64) for n in names]

    def host(*blocks):
        return np.asarray(float(case.cost({n: np.array(b) for n, b in zip(names, blocks)})), dtype=np.float64)

    @jax.custom_vjp
    def f(*blocks):
        return jax.pure_callback(host, jax.ShapeDtypeStruct((), jnp.float64), *blocks)

    def f_fwd(*blocks):
        return f(*blocks), None

    def f_bwd(_, cotangent):
        return tuple((cotangent * jnp.asarray(g)).astype(a.dtype) for g, a in zip(grads, args))

    f.defvjp(f_fwd, f_bwd)
    try:
        check_grads(f, args, order=1, modes=("rev",), eps=case.step)
    except AssertionError as error:
        return "fail", str(error).strip().splitlines()[0] if str(error).strip() else "AssertionError", {}
    return "pass", "check_grads raised nothing", {}


def run_scipy(case):
    """``scipy.optimize.check_grad`` (forward differences), judged by ||g - g_hat|| / ||g|| <= SCIPY_THRESHOLD."""
    try:
        from scipy.optimize import check_grad
    except ImportError as error:
        raise NotApplicable("scipy not installed") from error
    lay, g = layout(case.parameters), flat_gradient(case)
    kwargs = {} if case.step is None else {"epsilon": case.step}
    error = check_grad(scalar_cost(case, lay), lambda x: g, flat_parameters(case), **kwargs)
    norm = np.linalg.norm(g)
    relative = (0.0 if error == 0 else np.inf) if norm == 0 else error / norm
    outcome = "pass" if relative <= SCIPY_THRESHOLD else "fail"
    return outcome, f"||g - g_hat|| = {error:.3e}, relative {relative:.3e}", {}


def run_numdifftools(case):
    """``numdifftools.Gradient`` (Richardson), judged by ``np.allclose(g_hat, g)``."""
    try:
        import numdifftools as nd
    except ImportError as error:
        raise NotApplicable("numdifftools not installed") from error
    if case.size > NUMDIFFTOOLS_MAX_ENTRIES:
        raise NotApplicable(f"{case.size} entries > {NUMDIFFTOOLS_MAX_ENTRIES} (minutes per case)")
    lay, g = layout(case.parameters), flat_gradient(case)
    kwargs = {} if case.step is None else {"step": case.step}
    estimate = np.asarray(nd.Gradient(scalar_cost(case, lay), **kwargs)(flat_parameters(case)), dtype=np.float64)
    ok = estimate.shape == g.shape and bool(np.allclose(estimate.reshape(-1), g))
    worst = float(np.max(np.abs(estimate.reshape(-1) - g))) if estimate.size == g.size else float("nan")
    return ("pass" if ok else "fail"), f"max |g - g_hat| = {worst:.3e}", {}


RUNNERS = {"ours": run_ours, "torch": run_torch, "jax": run_jax, "scipy": run_scipy,
           "numdifftools": run_numdifftools,
           "ours-sparse": lambda case: run_ours(case, mode="sparse", rng=0),
           "ours-random": lambda case: run_ours(case, mode="random", per_block=True, rng=0)}


# ---------------------------------------------------------------------------------------------------
# Running and scoring
# ---------------------------------------------------------------------------------------------------

def _first_line(text):
    """The first non-empty line of ``text`` (str), at most 200 characters."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return (lines[0] if lines else "")[:200]


def run_one(checker, case):
    """One checker on one case: outcome, right (None for n/a), first message line, full text, seconds.

    Returns
    -------
    dict with "outcome" ("pass", "fail", "inconclusive", "error" or "n/a"), "right" (bool or None),
    "message", "text", "seconds" and, for ours, "failing_blocks"
    """
    start = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            outcome, text, extra = RUNNERS[checker](case)
        except NotApplicable as reason:
            return {"outcome": "n/a", "right": None, "message": str(reason), "text": str(reason), "seconds": 0.0}
        except Exception as error:  # noqa: BLE001 - a checker that raises has the outcome "error"
            outcome, text, extra = "error", f"{type(error).__name__}: {error}", {}
    seconds = time.perf_counter() - start
    return {"outcome": outcome, "right": outcome in case.accept, "message": _first_line(text), "text": text,
            "seconds": seconds, **extra}


def finding_named(case, text):
    """Whether a report's text names the case's expected finding (bool), None when there is none to name."""
    if case.finding in (None, "wrong"):
        return None
    words = BAD_INPUT_WORDS.get(case.name, ()) if case.finding == "bad input" else FINDING_WORDS[case.finding]
    return any(word in str(text).lower() for word in words)


def blocks_named(case, failing):
    """Whether a failing report names exactly the wrong blocks (bool), None when not applicable."""
    if case.truth != "fail" or not case.wrong_blocks or failing is None:
        return None
    names = {b[1:] if b not in case.parameters and b[1:] in case.parameters else b for b in failing}
    return names == set(case.wrong_blocks)


def select_cases(cases, quick):
    """All cases, or with ``quick`` the first right and first wrong case of every kind below 1,000 entries."""
    if not quick:
        return cases
    chosen, seen = [], set()
    for case in cases:
        if (case.kind, case.truth) not in seen and case.size < 1000:
            seen.add((case.kind, case.truth))
            chosen.append(case)
    return chosen


def run_battery(cases, checkers, log=print):
    """Every checker on every case, one at a time (rows: list of dict, one per case)."""
    rows = []
    for i, case in enumerate(cases, 1):
        row = {"case": case, "results": {}}
        for checker in checkers:
            result = run_one(checker, case)
            if checker == "ours" and result["outcome"] != "n/a":
                result["finding_named"] = finding_named(case, result["text"])
                result["blocks_named"] = blocks_named(case, result.get("failing_blocks"))
            row["results"][checker] = result
        rows.append(row)
        cells = "  ".join(f"{c} {cell(row['results'][c])}" for c in checkers)
        log(f"[{i:2d}/{len(cases)}] {case.name:32s} truth {case.truth:4s}  {cells}")
    return rows


def cell(result):
    """Table cell: "right:<outcome>", "WRONG:<outcome>" or "n/a" (str)."""
    if result["outcome"] == "n/a":
        return "n/a"
    return f"{'right' if result['right'] else 'WRONG'}:{result['outcome']}"


def totals(rows, checker):
    """Counts for one checker: right, judged (not n/a), false alarms, misses, errors, seconds (dict)."""
    results = [(row["case"], row["results"][checker]) for row in rows if checker in row["results"]]
    judged = [(c, r) for c, r in results if r["outcome"] != "n/a"]
    return {"right": sum(bool(r["right"]) for _, r in judged), "judged": len(judged),
            "false_alarms": sum(c.truth == "pass" and r["outcome"] == "fail" for c, r in judged),
            "misses": sum(c.truth == "fail" and r["outcome"] == "pass" for c, r in judged),
            "errors": sum(r["outcome"] == "error" and not r["right"] for _, r in judged),
            "seconds": sum(r["seconds"] for _, r in judged)}


# ---------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------

def versions():
    """One line naming the versions of numpy and the installed peers (str)."""
    parts = [f"numpy {np.__version__}"]
    for module in ("torch", "jax", "scipy", "numdifftools"):
        try:
            parts.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            parts.append(f"{module} not installed")
    return "; ".join(parts)


def table_lines(rows, checkers):
    """The per-case table and the totals (list of str)."""
    lines = [f"{'case':34s} {'kind':15s} {'truth':5s} " + " ".join(f"{c:18s}" for c in checkers),
             "-" * (57 + 19 * len(checkers))]
    for row in rows:
        case = row["case"]
        lines.append(f"{case.name:34s} {case.kind:15s} {case.truth:5s} "
                     + " ".join(f"{cell(row['results'][c]):18s}" for c in checkers))
    lines += ["", "totals (n/a cases left out; false alarm = a right gradient failed, miss = a wrong one passed):"]
    for checker in checkers:
        t = totals(rows, checker)
        lines.append(f"  {checker:13s} right on {t['right']:2d} of {t['judged']:2d}   "
                     f"false alarms {t['false_alarms']:2d}   misses {t['misses']:2d}   errors {t['errors']:2d}   "
                     f"{t['seconds']:7.1f} s")
    return lines


def ours_lines(rows):
    """Where our checker is wrong (the to-do list of issue 14), where it is right but does not say why, and
    where its other modes are wrong (list of str)."""
    wrong, unnamed = [], []
    for row in rows:
        case, r = row["case"], row["results"].get("ours")
        if r is None or r["outcome"] == "n/a":
            continue
        if not r["right"]:
            wrong.append(f"  {case.name:34s} truth {case.truth} (accepts {'/'.join(case.accept)}), ours {r['outcome']}:"
                         f" {r['message']}")
        elif r.get("finding_named") is False or r.get("blocks_named") is False:
            what = (f"does not name the finding '{case.finding}'" if r.get("finding_named") is False
                    else f"names blocks {r.get('failing_blocks')} for {list(case.wrong_blocks)}")
            unnamed.append(f"  {case.name:34s} verdict right ({r['outcome']}) but {what}: {r['message']}")
    lines = (["", f"our checker (full mode) is wrong on {len(wrong)} case(s):"] + (wrong or ["  none"])
             + ["", f"our verdict is right but the report does not say why on {len(unnamed)} case(s):"]
             + (unnamed or ["  none"]))
    for variant in ("ours-sparse", "ours-random"):
        if any(variant in row["results"] for row in rows):
            names = [row["case"].name for row in rows
                     if variant in row["results"] and row["results"][variant]["right"] is False]
            lines += ["", f"{variant} is wrong on {len(names)} case(s): {', '.join(names) or 'none'}"]
    return lines


def write_results(rows, checkers, tag, command):
    """Write ``verdicts<tag>.txt`` and ``verdicts<tag>.csv`` under benchmarks/results (list of Path)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    header = [f"Verdicts on the battery of known cases ({len(rows)} cases): {command}", versions(),
              "cell = right/WRONG : the checker's outcome (pass, fail, inconclusive, error); n/a = could not run",
              f"scipy passes when ||g - g_hat|| / ||g|| <= {SCIPY_THRESHOLD:g}; numdifftools when np.allclose;"
              " torch and jax with their defaults", ""]
    txt = RESULTS / f"verdicts{tag}.txt"
    txt.write_text("\n".join(header + table_lines(rows, checkers) + ours_lines(rows)) + "\n")
    path = RESULTS / f"verdicts{tag}.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        fields = ["outcome", "right", "seconds", "message"]
        writer.writerow(["case", "kind", "truth", "accept", "finding", "wrong_blocks", "entries", "step"]
                        + [f"{c}_{f}" for c in checkers for f in fields]
                        + ["ours_finding_named", "ours_blocks_named", "ours_failing_blocks"])
        for row in rows:
            case, res = row["case"], row["results"]
            ours = res.get("ours", {})
            writer.writerow([case.name, case.kind, case.truth, "/".join(case.accept), case.finding or "",
                             " ".join(case.wrong_blocks), case.size, "" if case.step is None else case.step]
                            + [_csv_value(res[c].get(f)) for c in checkers for f in fields]
                            + [_csv_value(ours.get(k)) for k in ("finding_named", "blocks_named", "failing_blocks")])
    return [txt, path]


def _csv_value(value):
    """A CSV cell: floats to 4 significant digits, lists space-separated, None empty (str)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def main(argv=None):
    """Run the battery through the checkers and write the results; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a right and a wrong case of every kind, small ones")
    parser.add_argument("--checkers", default=",".join(CHECKERS), help=f"comma-separated subset of {CHECKERS}")
    args = parser.parse_args(argv)
    checkers = [c.strip() for c in args.checkers.split(",") if c.strip()]
    unknown = [c for c in checkers if c not in CHECKERS]
    if unknown:
        parser.error(f"unknown checker(s) {unknown}; choose from {CHECKERS}")
    cases = select_cases(build_battery(), args.quick)
    print(versions(), flush=True)
    rows = run_battery(cases, checkers, log=lambda line: print(line, flush=True))
    given = sys.argv[1:] if argv is None else list(argv)
    command = "python -m benchmarks verdicts" + (" -- " + " ".join(given) if given else "")
    for path in write_results(rows, checkers, "-quick" if args.quick else "", command):
        print(f"wrote {path}")
    print("\n".join(table_lines(rows, checkers)[-len(checkers) - 1:] + ours_lines(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
