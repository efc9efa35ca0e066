"""Command line: ``python -m autograder grade|batch|gradescope|bundle``.

grade SUBMISSION.ipynb --results results.json
    Grade one notebook; write its results (Gradescope's schema) and print a short summary.
batch DIR --results-dir OUT [--jobs N]
    Grade every notebook under DIR; one results file each plus OUT/gradebook.csv.
gradescope [--root /autograder]
    What the Gradescope bundle's run_autograder calls: grades ROOT/submission/*.ipynb and always writes
    ROOT/results/results.json.
bundle --out build/autograder.zip
    Build the Gradescope autograder zip (``make autograder-zip``).

Exit status: 0 whenever results were written (whatever the score), 2 on a usage error or when the
results could not be written.
"""

import argparse
import sys
import time
from pathlib import Path

from autograder.batch import grade_directory
from autograder.grading import Options, grade_notebook, summary_line, write_results
from autograder.sandbox import Limits


def _options(args):
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, int(round(args.timeout))),
                    memory_mb=args.memory_mb)
    isolate = {"auto": None, "on": True, "off": False}[args.isolate]
    return Options(limits=limits, isolate=isolate, seed=args.seed,
                   masters=Path(args.masters) if args.masters else None)


def _add_common(parser):
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per exercise (wall and CPU)")
    parser.add_argument("--memory-mb", type=int, default=1024, help="memory limit per exercise")
    parser.add_argument("--seed", type=int, default=None, help="seed of the hidden cases (default: random)")
    parser.add_argument("--masters", default=None, help="directory of master notebooks (setup cells)")
    parser.add_argument("--isolate", choices=["auto", "on", "off"], default="auto",
                        help="namespaces + unprivileged user (auto: when running as root)")


def _grade(args):
    options = _options(args)
    options.private_paths = [Path(args.submission).resolve().parent, Path(args.results).resolve().parent]
    results = grade_notebook(args.submission, options)
    try:
        write_results(results, args.results)
    except OSError as exc:
        print(f"error: could not write {args.results}: {exc.strerror}", file=sys.stderr)
        return 2
    print(summary_line(args.submission, results))
    return 0


def _batch(args):
    directory = Path(args.directory)
    if not directory.is_dir():
        print(f"error: {directory} is not a directory", file=sys.stderr)
        return 2
    options = _options(args)
    start = time.monotonic()
    graded = grade_directory(directory, args.results_dir, options, jobs=args.jobs,
                             progress=lambda path, results: print(summary_line(path, results).splitlines()[0],
                                                                  flush=True))
    seconds = time.monotonic() - start
    print(f"{len(graded)} submissions in {seconds:.1f} s; gradebook: {Path(args.results_dir) / 'gradebook.csv'}")
    return 0


def _gradescope(args):
    root = Path(args.root)
    results_path = root / "results" / "results.json"
    options = _options(args)
    options.private_paths = [root / "submission", root / "results"]
    submissions = sorted((root / "submission").glob("**/*.ipynb")) if (root / "submission").is_dir() else []
    if not submissions:
        results = {"score": 0.0, "execution_time": 0.0, "tests": [], "visibility": "visible",
                   "output": "No .ipynb file was found in your submission: upload the notebook file itself."}
    else:
        graded = [grade_notebook(path, options) for path in submissions[:5]]
        results = max(graded, key=lambda r: (bool(r.get("tests")), r["score"]))
        if len(submissions) > 1:
            results["output"] = (f"Your submission holds {len(submissions)} notebooks; the best graded one "
                                 f"is reported.\n" + results["output"])
    try:
        write_results(results, results_path)
    except OSError as exc:
        print(f"error: could not write {results_path}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"score {results['score']:g}; results in {results_path}")
    return 0


def _bundle(args):
    from autograder.bundle import build_bundle  # only the instructor's build needs zipfile & co
    path = build_bundle(args.out)
    print(f"wrote {path}")
    return 0


def main(argv=None):
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("grade", help="grade one notebook")
    p.add_argument("submission")
    p.add_argument("--results", required=True, help="where to write the results JSON")
    _add_common(p)
    p = sub.add_parser("batch", help="grade every notebook of a directory")
    p.add_argument("directory")
    p.add_argument("--results-dir", required=True)
    p.add_argument("--jobs", type=int, default=2)
    _add_common(p)
    p = sub.add_parser("gradescope", help="grade /autograder/submission (inside Gradescope)")
    p.add_argument("--root", default="/autograder")
    _add_common(p)
    p = sub.add_parser("bundle", help="build the Gradescope autograder zip")
    p.add_argument("--out", default="build/autograder.zip")
    args = parser.parse_args(argv)
    handler = {"grade": _grade, "batch": _batch, "gradescope": _gradescope, "bundle": _bundle}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
