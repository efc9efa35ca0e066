"""Benchmark (issue 14): our checker's verdicts on random course-shaped networks, right and with every bug.

Run: ``.venv/bin/python -m benchmarks random_networks`` (part of ``make bench``); ``--networks 100`` for a
smaller run. Networks are drawn as a notebook would draw them (``draw_network``): the course's family of
architectures (sizes [n_0, h_1, h_2, 1] with n_0 in 2..6 and hidden widths in 2..8), He initialisation,
inputs N(0, 1) scaled by a factor drawn in [1, 5], labels 0/1, and the textbook cost (``mlp_forward``,
-Y log A - (1 - Y) log(1 - A), which loses digits as the output saturates). For each network:

* the correct backward pass must not read "failed"; "inconclusive" is counted, with the digits the cost
  lost (from the report's measured noise);
* every catalogued bug (``course_utils.bugs``) must read "failed" and name exactly the blocks it changes on
  that network (its ``touched_blocks`` whose gradient really changes; a bug that changes nothing, e.g. on a
  layer whose ReLUs are all off, is counted as "no effect"). A bug that reads "inconclusive" (the measured
  noise hides it; the report gives the digits the cost lost) is counted apart from a miss (a "passed").

The checker runs with its defaults through the network's batched evaluator (``check_mlp_gradients``).
Results: ``benchmarks/results/random_networks.txt``.
"""

import argparse
import collections
import sys
import warnings
from pathlib import Path

import numpy as np

from course_utils.bugs import bug_names, bugs_lambd, inject, touched_blocks
from course_utils.fastcheck import check_mlp_gradients
from course_utils.models import initialize_mlp, mlp_forward

__all__ = ["draw_network", "main", "run"]

RESULTS = Path(__file__).resolve().parent / "results"


def draw_network(seed):
    """(X (n_0, m), Y (1, m), parameters) of a course-shaped network drawn as a notebook would draw it.

    Parameters
    ----------
    seed : int

    Returns
    -------
    X, Y, parameters (dict W1, b1, W2, b2, W3, b3: He initialisation)
    """
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(2, 7)), int(rng.integers(2, 9)), int(rng.integers(2, 9)), 1]
    m = int(rng.integers(3, 17))
    parameters = initialize_mlp(sizes, rng)
    X = rng.standard_normal((sizes[0], m)) * rng.uniform(1, 5)
    Y = (rng.random((1, m)) > 0.5).astype(float)
    return X, Y, parameters


def _check(X, Y, parameters, bug):
    """The report of the checker on the network with ``bug`` planted ("correct": none)."""
    lambd = bugs_lambd(bug)
    _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
    with warnings.catch_warnings():  # a bug may divide by a saturated 1 - A (its own NaN is then the finding)
        warnings.simplefilter("ignore")
        gradients = inject(bug)(X, Y, cache)
        return check_mlp_gradients(X, Y, parameters, gradients, lambd=lambd, progress=False)


def _changed_blocks(X, Y, parameters, bug):
    """The blocks whose gradient the bug really changes on this network (relative difference above 1e-9):
    the catalogue's ``touched_blocks``, less those the network's data leave untouched (set of str)."""
    lambd = bugs_lambd(bug)
    _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        right, wrong = inject("correct")(X, Y, cache), inject(bug)(X, Y, cache)
    changed = set()
    for name in touched_blocks(bug, parameters):
        a, b = np.asarray(right["d" + name], float), np.asarray(wrong["d" + name], float).reshape(-1)
        a = a.reshape(-1)
        size = np.linalg.norm(a) + np.linalg.norm(b)
        if a.shape == b.shape and size > 0 and np.linalg.norm(a - b) / size > 1e-9 or a.shape != b.shape:
            changed.add(name)
    return changed


def run(n_networks, bugs=True, log=print):
    """Check ``n_networks`` networks, right and with every bug.

    Returns
    -------
    dict with "right" (Counter of verdicts), "inconclusive_digits" (list of float), "failed_seeds" (list),
    "bugs" (dict bug -> Counter of "caught", "missed" (passed), "inconclusive", "mislocalised"), "misses"
    (list of (bug, seed, summary)), "hidden" (list of (bug, seed, digits the cost lost) of the inconclusive)
    """
    out = {"right": collections.Counter(), "inconclusive_digits": [], "failed_seeds": [],
           "bugs": collections.defaultdict(collections.Counter), "misses": [], "hidden": []}
    names = bug_names() if bugs else []
    for seed in range(n_networks):
        X, Y, parameters = draw_network(seed)
        report = _check(X, Y, parameters, "correct")
        out["right"][report.verdict] += 1
        if report.verdict == "inconclusive":
            out["inconclusive_digits"].append(report.noise.digits_lost if report.noise else float("nan"))
            out.setdefault("inconclusive_seeds", []).append(seed)
        if report.verdict == "failed":
            out["failed_seeds"].append((seed, report.summary()))
        for name in names:
            touched = _changed_blocks(X, Y, parameters, name)
            if not touched:  # the bug changes nothing on this network (e.g. every ReLU of a layer is off)
                out["bugs"][name]["no effect"] += 1
                continue
            bugged = _check(X, Y, parameters, name)
            if bugged.verdict == "inconclusive":  # the measured noise hides it: says so, with the digits lost
                out["bugs"][name]["inconclusive"] += 1
                out["hidden"].append((name, seed, bugged.noise.digits_lost if bugged.noise else float("nan")))
            elif bugged.verdict != "failed":
                out["bugs"][name]["missed"] += 1
                out["misses"].append((name, seed, bugged.summary()))
            elif set(bugged.failing_blocks()) != touched:
                out["bugs"][name]["mislocalised"] += 1
                out["misses"].append((name, seed, f"touched {sorted(touched)}: {bugged.summary()}"))
            else:
                out["bugs"][name]["caught"] += 1
        if (seed + 1) % 100 == 0:
            log(f"{seed + 1} networks: {dict(out['right'])}")
    return out


def lines_of(out, n_networks):
    """The result as text lines (list of str)."""
    lines = [f"{n_networks} random course-shaped networks (textbook cost, inputs N(0,1) x U(1,5), He init), "
             f"correct backward: " + ", ".join(f"{v} {k}" for k, v in sorted(out["right"].items()))]
    if out["inconclusive_digits"]:
        d = np.array(out["inconclusive_digits"])
        lines.append(f"  inconclusive ones: the cost lost {d.min():.0f} to {d.max():.0f} digits (median {np.median(d):.0f})")
    lines += [f"  FAILED seed {s}: {text}" for s, text in out["failed_seeds"]]
    for name, counts in out["bugs"].items():
        lines.append(f"  bug {name:<28} caught and localised {counts['caught']:>5}, "
                     f"missed (passed) {counts['missed']:>3}, inconclusive {counts['inconclusive']:>3}, "
                     f"wrong blocks {counts['mislocalised']:>3}, "
                     f"no effect on {counts['no effect']:>3} networks")
    if out["hidden"]:
        seeds = sorted({seed for _, seed, _ in out["hidden"]})
        digits = np.array([d for _, _, d in out["hidden"]])
        right = "inconclusive" if set(seeds) <= set(out.get("inconclusive_seeds", seeds)) else "some passed"
        lines.append(f"  bugs read inconclusive on networks {seeds} (the cost lost {np.nanmin(digits):.0f} to "
                     f"{np.nanmax(digits):.0f} digits there; the correct backward on them: {right})")
    passed = [m for m in out["misses"] if not m[2].startswith("touched")]  # the misses, then wrong blocks
    wrong_blocks = [m for m in out["misses"] if m[2].startswith("touched")]
    lines += [f"  {name} seed {seed}: {text}" for name, seed, text in (passed + wrong_blocks)[:30]]
    return lines


def main(argv=None):
    """Run and write ``benchmarks/results/random_networks.txt``; returns 1 when a right network failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=1000)
    parser.add_argument("--no-bugs", action="store_true", help="the correct backward only")
    args = parser.parse_args(argv)
    out = run(args.networks, bugs=not args.no_bugs)
    text = "\n".join(lines_of(out, args.networks))
    print(text)
    if args.networks >= 1000:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "random_networks.txt").write_text(text + "\n")
    return 1 if out["failed_seeds"] else 0


if __name__ == "__main__":
    sys.exit(main())
