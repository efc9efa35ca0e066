"""The behaviour corpus of the gradient checker: today's reports on a fixed set of checks, kept as JSON.

Recorded once, before the library was reorganised (issue 13), so that the reorganised checker can be
compared against it report by report (``tests/test_corpus.py``). The corpus is the course's test case
(also moved next to a ReLU kink) and 20 random networks, each with the correct backward pass, every
catalogued bug and one scale bug, in every mode ("full", "sparse", "random", "random" per block,
"auto"), through the plain cost and through the network's batched evaluator; plus the other
difference methods on the test case.

Record (only when the behaviour is *meant* to change, and say so in the commit):
``.venv/bin/python -m tests.corpus``.
"""

import json
import warnings
from pathlib import Path

import numpy as np

from course_utils.bugs import BugError, bug_names, bugs_lambd, inject, scale_bug
from course_utils.fastcheck import check_mlp_gradients
from course_utils.gradcheck import check_gradients
from course_utils.models import initialize_mlp, mlp_forward
from course_utils.testcases import gradient_check_n_test_case

PATH = Path(__file__).resolve().parent / "data" / "gradcheck_corpus.json"

#: (mode, extra keyword arguments of check_gradients)
MODES = [("full", {}), ("sparse", {"samples": 3, "rng": 7}), ("random", {"directions": 4, "rng": 7}),
         ("random_per_block", {"mode": "random", "per_block": True, "directions": 2, "rng": 7}),
         ("auto", {"directions": 3, "rng": 7})]


def networks():
    """(name, X, Y, parameters): the test case, the test case next to a kink, and 20 random networks."""
    X, Y, parameters = gradient_check_n_test_case()
    out = [("test_case", X, Y, parameters)]
    _, cache = mlp_forward(X, Y, parameters)
    near_kink = {k: v.copy() for k, v in parameters.items()}
    near_kink["b1"][0, 0] -= cache["layers"][0]["Z"][0, 0] - 2e-6  # Z1[0, 0] is now 2e-6
    out.append(("test_case_near_kink", X, Y, near_kink))
    for seed in range(20):
        rng = np.random.default_rng(1000 + seed)
        L = int(rng.integers(2, 5))
        sizes = [int(rng.integers(2, 6))] + [int(rng.integers(1, 6)) for _ in range(L - 1)] + [1]
        m = int(rng.integers(2, 7))
        params = initialize_mlp(sizes, rng)
        Xr = rng.standard_normal((sizes[0], m))
        Yr = (rng.random((1, m)) > 0.5).astype(float)
        out.append((f"random_{seed}_{'-'.join(map(str, sizes))}_m{m}", Xr, Yr, params))
    return out


def summarise(report):
    """The parts of a report the corpus keeps: verdict, blocks, named worst entries, kinks, notes."""
    return {
        "verdict": report.verdict, "mode": report.mode, "relative_difference": report.relative_difference,
        "threshold": report.threshold, "n_evaluations": report.n_evaluations, "mode_reason": report.mode_reason,
        "blocks": [[b.name, b.relative_difference, b.excess, b.analytic_norm, b.numeric_norm, b.n_failing,
                    b.n_kinks, b.passed, b.resolved] for b in report.blocks],
        "worst": [[e.label, e.analytic, e.numeric, e.relative_error, e.excess, e.kink] for e in report.worst],
        "kinks": [e.label for e in report.kinks],
        "notes": list(report.notes),
    }


def remembered(cost):
    """``cost`` (parameters dict -> float), computed once per distinct point.

    The network's cost is a pure function of the parameters, and the corpus checks the same network with
    every bug and mode, which evaluate it at mostly the same points: each point's cost is computed once
    and then given back, the same float. ``check_gradients`` still calls the cost at every evaluation (its
    counts are part of each report); only the repeated forward passes are saved (the corpus: about 9 in 10).
    """
    seen = {}

    def remembered_cost(parameters):
        key = b"".join(np.ascontiguousarray(v).tobytes() for v in parameters.values())
        if key not in seen:
            seen[key] = cost(parameters)
        return seen[key]

    return remembered_cost


def run_one(X, Y, parameters, bug, evaluator, kwargs, costs):
    """The summary of one check, or the error it raised (type and message).

    ``costs`` (a dict) keeps this network's ``remembered`` plain cost per L2 strength, from check to check."""
    lambd = bugs_lambd(bug)
    if lambd not in costs:
        costs[lambd] = remembered(lambda p: mlp_forward(X, Y, p, lambd=lambd)[0])
    try:
        _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
        gradients = inject(bug)(X, Y, cache)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if evaluator == "plain":
                report = check_gradients(costs[lambd], parameters, gradients, progress=False, **kwargs)
            else:
                report = check_mlp_gradients(X, Y, parameters, gradients, lambd=lambd, progress=False, **kwargs)
    except (BugError, ValueError) as error:
        return {"error": f"{type(error).__name__}: {error}"}
    return summarise(report)


def cases():
    """Every check of the corpus: (key, X, Y, parameters, bug, evaluator, kwargs)."""
    out = []
    bugs = ["correct"] + bug_names() + ["scale_W1_by_3"]
    for name, X, Y, parameters in networks():
        for bug in bugs:
            planted = scale_bug("W1", 3.0) if bug == "scale_W1_by_3" else bug
            for mode, extra in MODES:
                kwargs = {"mode": mode, **extra} if "mode" not in extra else dict(extra)
                for evaluator in ("plain", "batched"):
                    out.append((f"{name}|{bug}|{mode}|{evaluator}", X, Y, parameters, planted, evaluator, kwargs))
    X, Y, parameters = gradient_check_n_test_case()
    for bug in ("correct", "classic_dW2_db1"):
        for method in ("forward", "centered"):
            for epsilon in (None, 1e-7, 1e-3):
                kwargs = {"method": method, "epsilon": epsilon}
                out.append((f"test_case|{bug}|{method}|eps={epsilon}", X, Y, parameters, bug, "plain", kwargs))
    return out


def compute():
    """key -> summary of every check of the corpus (each network's plain costs ``remembered`` across its
    checks; the key's first part names the network, i.e. its X and Y)."""
    costs = {}
    return {key: run_one(X, Y, p, bug, evaluator, kwargs, costs.setdefault(key.split("|")[0], {}))
            for key, X, Y, p, bug, evaluator, kwargs in cases()}


def _short(x):
    """Floats with 13 significant digits (enough for a comparison at rtol 1e-9), everything else as is."""
    if isinstance(x, float):
        return float(f"{x:.13g}")
    if isinstance(x, list):
        return [_short(v) for v in x]
    if isinstance(x, dict):
        return {k: _short(v) for k, v in x.items()}
    return x


def pack(corpus):
    """The JSON form: floats shortened, notes and mode reasons stored once in a table and referred to by number."""
    texts = {}

    def number(text):
        return texts.setdefault(text, len(texts))

    packed = {}
    for key, summary in corpus.items():
        summary = _short(summary)
        if "notes" in summary:
            summary["notes"] = [number(t) for t in summary["notes"]]
            summary["mode_reason"] = number(summary["mode_reason"])
        packed[key] = summary
    return {"texts": list(texts), "reports": packed}


def load():
    """key -> summary as ``compute`` returns it (floats shortened), from the stored corpus."""
    stored = json.loads(PATH.read_text())
    texts = stored["texts"]
    out = {}
    for key, summary in stored["reports"].items():
        if "notes" in summary:
            summary["notes"] = [texts[i] for i in summary["notes"]]
            summary["mode_reason"] = texts[summary["mode_reason"]]
        out[key] = summary
    return out


def main():
    corpus = compute()
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(json.dumps(pack(corpus), separators=(",", ":")))
    print(f"{len(corpus)} reports written to {PATH} ({PATH.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
