"""Benchmark: grading the demo class and building its class report (issue 17).

Measures
--------
* ``python -m autograder demo-class OUT --size 60 --seed 0`` then ``python -m autograder batch OUT
  --results-dir R --jobs 2`` (the grading, which includes the report): seconds, submissions per minute
  against the 300 per minute target of bench_autograder (the class holds a notebook that sleeps until its
  exercise's time limit, ``--timeout`` seconds, so the class cannot beat that);
* ``python -m autograder report R`` (a new process: interpreter start, imports, reading every results
  file, the figures, the page): seconds, against the issue's 30 s target; and the same with
  ``--anonymize``;
* the report's share of the batch: report seconds / batch seconds (both measured here, in one run).

Run: ``.venv/bin/python -m benchmarks.bench_class_report [--size 60] [--jobs 2] [--timeout 20] [--quick]``
(``make bench`` runs every benchmark; ``make bench BENCH=class_report`` this one). ``--quick``: a class
of 12. Prints one line per measurement with its ratio to the target.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.class_report import REPORT_JSON

ROOT = Path(__file__).resolve().parent.parent
TARGET_REPORT_SECONDS = 30.0
TARGET_PER_MINUTE = 300.0


def _run(*args):
    """Seconds a ``python -m autograder ARGS`` process takes (it must exit 0)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(workdir, size, jobs, timeout):
    """(batch seconds, report seconds, anonymised report seconds, report numbers) for a demo class.

    Returns
    -------
    tuple (float, float, float, dict)
    """
    demo, results = Path(workdir) / "demo", Path(workdir) / "results"
    _run("demo-class", demo, "--size", size, "--seed", 0)
    batch = _run("batch", demo, "--results-dir", results, "--jobs", jobs, "--timeout", timeout)
    report = _run("report", results)
    anonymized = _run("report", results, "--anonymize")
    numbers = json.loads((results / REPORT_JSON).read_text())
    return batch, report, anonymized, numbers


def main(argv=None):
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="a class of 12 instead of 60")
    args, _ = parser.parse_known_args(argv)  # `make bench` passes the same options to every benchmark
    if args.quick:
        args.size = min(args.size, 12)
    with tempfile.TemporaryDirectory() as workdir:
        batch, report, anonymized, numbers = measure(workdir, args.size, args.jobs, args.timeout)
    per_minute = 60.0 * args.size / batch
    counted = sum(m["count"] for nb in numbers["notebooks"] for x in nb["exercises"] for m in x["mistakes"])
    print(f"class report  demo class of {args.size} ({counted} mistakes counted, "
          f"{numbers['submissions']['ungraded']} files not gradable): batch --jobs {args.jobs} "
          f"{batch:6.1f} s, {per_minute:6.1f} submissions per minute   {TARGET_PER_MINUTE / per_minute:5.2f} x the "
          f"{TARGET_PER_MINUTE:g}/min target (lower is better; one file sleeps {args.timeout:g} s)")
    for label, seconds in (("report", report), ("report --anonymize", anonymized)):
        print(f"class report  {label:19s} {seconds:6.1f} s (new process)   {seconds / TARGET_REPORT_SECONDS:5.2f} x "
              f"the {TARGET_REPORT_SECONDS:g} s target; {seconds / batch:5.2f} x the batch's own time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
