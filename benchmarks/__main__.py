"""Run every benchmark: ``python -m benchmarks`` (what ``make bench`` does).

Every ``benchmarks/bench_*.py`` is run in turn, each in its own process (``python -m benchmarks.bench_x``,
from the repository root), so a new benchmark needs no registration: add a ``bench_<name>.py`` with an
``if __name__ == "__main__":`` entry point. Arguments after ``--`` are passed to every benchmark;
``python -m benchmarks NAME ...`` runs only the named ones (``gradcheck`` for ``bench_gradcheck.py``).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover():
    """Names of the benchmark modules, sorted (list of str, e.g. ["bench_epsilon_widget", "bench_gradcheck"])."""
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def main(argv):
    """Run the selected benchmarks; returns the number of benchmarks that failed (int)."""
    passthrough = argv[argv.index("--") + 1:] if "--" in argv else []
    chosen = argv[:argv.index("--")] if "--" in argv else argv
    names = discover()
    if chosen:
        unknown = [c for c in chosen if f"bench_{c}" not in names and c not in names]
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {unknown}; available: {', '.join(names)}")
        names = [n for n in names if n in chosen or n[len("bench_"):] in chosen]
    failed = 0
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        result = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *passthrough], cwd=HERE.parent)
        if result.returncode != 0:
            print(f"{name} failed with exit code {result.returncode}", flush=True)
            failed += 1
    return failed


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1:]) else 0)
