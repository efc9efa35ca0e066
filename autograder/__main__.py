"""Command line: ``python -m autograder grade|batch|report|demo-class|gradescope|bundle``.

grade SUBMISSION.ipynb --results results.json
    Grade one notebook; write its results (Gradescope's schema) and print a short summary.
batch DIR --results-dir OUT [--jobs N] [--anonymize]
    Grade every notebook under DIR; one results file each plus OUT/gradebook.csv, then the class report
    in OUT itself (OUT/class-report.html, OUT/class-report.json, OUT/mistakes.csv).
report OUT [--anonymize] [--figure PNG]
    Rebuild the class report in OUT from the results in OUT (a batch's results, or Gradescope results.json
    files one folder each; see autograder.class_report); --figure also saves the overview figure.
demo-class OUT [--size 60] [--seed 0]
    Write a synthetic class (notebooks with catalogued mistakes, correct ones, broken files) into OUT,
    and what was planted into OUT/.planted.json.
gradescope [--root /autograder] [--notebooks 02,03]
    What the Gradescope bundle's run_autograder calls: grades every notebook of ROOT/submission that
    belongs to the assignment (--notebooks; default: every notebook), sums them, and always writes
    ROOT/results/results.json.
bundle --out build/autograder.zip [--notebooks 02]
    Build the Gradescope autograder zip for one assignment (``make autograder-zip NB=02``; without
    --notebooks the assignment covers the whole course).

Exit status: 0 whenever results were written (whatever the score), 2 on a usage error or when the
results could not be written.
"""

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]

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
    _write_report(args.results_dir, args.anonymize, None)  # results were written: exit 0 even if the report was not
    return 0


def _write_report(results_dir, anonymize, figure):
    from autograder.class_report import REPORT_CSV, REPORT_HTML, REPORT_JSON, write_report
    start = time.monotonic()
    try:
        report = write_report(results_dir, anonymize=anonymize, figure=figure)
    except (OSError, ValueError) as exc:
        print(f"error: the class report was not written: {exc}", file=sys.stderr)
        return 2
    out = Path(results_dir)
    print(f"class report ({report['submissions']['files']} submissions) in {time.monotonic() - start:.1f} s: "
          f"{out / REPORT_HTML}, {out / REPORT_JSON}, {out / REPORT_CSV}")
    return 0


def _report(args):
    return _write_report(args.results_dir, args.anonymize, args.figure)


def _demo_class(args):
    from autograder.demo_class import MANIFEST, write_class
    try:
        manifest = write_class(args.out, size=args.size, seed=args.seed)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(manifest['submissions'])} submissions to {args.out} (what was planted: "
          f"{Path(args.out) / MANIFEST}); grade them with: python -m autograder batch {args.out} "
          f"--results-dir RESULTS")
    return 0


def _gradescope(args):
    from autograder.gradescope import grade_upload, resolve_notebooks
    from autograder.specs import notebook_specs
    root = Path(args.root)
    results_path = root / "results" / "results.json"
    options = _options(args)
    options.private_paths = [root / "submission", root / "results"]
    specs = notebook_specs()
    try:
        options.notebooks = resolve_notebooks([args.notebooks] if args.notebooks else None, specs)
        results = grade_upload(root / "submission", options, specs)
    except Exception as exc:  # results are always written
        results = {"score": 0.0, "execution_time": 0.0, "tests": [], "visibility": "visible",
                   "output": f"The autograder failed ({type(exc).__name__}: {str(exc)[:300]}). Please tell "
                             f"your instructor; your work is not lost."}
    try:
        write_results(results, results_path)
    except OSError as exc:
        print(f"error: could not write {results_path}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"score {results['score']:g}; results in {results_path}")
    return 0


def _bundle(args):
    from autograder.bundle import build_bundle  # only the instructor's build needs zipfile & co
    from autograder.gradescope import resolve_notebooks
    from autograder.specs import notebook_specs
    try:
        notebooks = resolve_notebooks([args.notebooks] if args.notebooks else None, notebook_specs())
    except ValueError as exc:
        print(f"error: --notebooks {exc}", file=sys.stderr)
        return 2
    path = build_bundle(args.out, notebooks=notebooks if args.notebooks else None)
    print(f"wrote {path} (assignment: {', '.join(notebooks)})")
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
    p.add_argument("--anonymize", action="store_true", help="pseudonyms instead of names in the class report")
    _add_common(p)
    p = sub.add_parser("report", help="rebuild the class report from the results in a folder")
    p.add_argument("results_dir")
    p.add_argument("--anonymize", action="store_true", help="pseudonyms instead of names")
    p.add_argument("--figure", default=None, help="also save the overview figure as this PNG")
    p = sub.add_parser("demo-class", help="write a synthetic class of submissions")
    p.add_argument("out")
    p.add_argument("--size", type=int, default=60, help="number of files (default 60)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    p = sub.add_parser("gradescope", help="grade /autograder/submission (inside Gradescope)")
    p.add_argument("--root", default="/autograder")
    p.add_argument("--notebooks", default=None, help="notebooks of this assignment, e.g. 02 or 01,02 "
                                                     "(default: every notebook)")
    _add_common(p)
    p = sub.add_parser("bundle", help="build the Gradescope autograder zip")
    p.add_argument("--out", default="build/autograder.zip")
    p.add_argument("--notebooks", default=None, help="notebooks the assignment covers, e.g. 02 "
                                                     "(default: the whole course)")
    args = parser.parse_args(argv)
    handler = {"grade": _grade, "batch": _batch, "report": _report, "demo-class": _demo_class,
               "gradescope": _gradescope, "bundle": _bundle}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
