"""Grade a folder of submissions in parallel: one results file each and a CSV gradebook.

Each submission is graded by ``grade_notebook`` in its own worker thread with its own sandbox (student
code always runs in separate sandboxed processes), so one bad submission never affects another: its
failure is written to its own results file and its row of the gradebook.

Every file named ``*.ipynb`` gets its own row, whatever it is: links are never followed (a link is
reported as such, it is not graded), FIFOs and devices are not opened, names that are not valid UTF-8
are shown with ``\\xNN`` escapes, and results file names are an injective escaping of the path (two
submissions never share a results file). Gradebook cells that a spreadsheet would run as a formula are
neutralised.

Each failed exercise that names a catalogued mistake also keeps, in its results file, the few lines of
the student's cell that differ from the solution (``extra_data.excerpts``, cut short): the class report
(``autograder.class_report``) shows them as examples, and can be rebuilt from the results alone.
"""

import contextlib
import csv
import dataclasses
import hashlib
import os
import stat
import traceback
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.class_report import REPORT_STEM, add_excerpts, solution_sources
from autograder.grading import DEFAULT_MASTERS, grade_notebook, write_results
from autograder.notebook import printable
from autograder.sandbox import unshare_available

__all__ = ["find_submissions", "results_name", "grade_directory", "write_gradebook", "spreadsheet_safe"]

#: Longest results file name before the escaped path is cut and a hash of the full path appended.
MAX_NAME = 200
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def find_submissions(directory):
    """Every entry named ``*.ipynb`` under ``directory`` (links and special files included, links never
    followed, checkpoints excluded), sorted by path.

    Returns
    -------
    list of Path
    """
    directory = Path(directory)
    found = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
        entries = list(files) + [d for d in dirs if os.path.islink(os.path.join(root, d))]
        for name in entries:
            if name.endswith(".ipynb"):
                found.append(Path(root) / name)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
    return sorted(found, key=lambda p: os.fsencode(p))


def results_name(path, directory):
    """File name of a submission's results: its relative path, percent-escaped (injective), + .json.

    ``a b.ipynb`` -> ``a%20b.json``, ``a__b.ipynb`` -> ``a__b.json``, ``sub/x.ipynb`` -> ``sub%2Fx.json``;
    undecodable bytes are escaped too. A name longer than ``MAX_NAME`` is cut and a hash of the whole
    path appended. ``class-report.ipynb`` (any case) -> ``class%2Dreport.json``: the class report's own
    ``class-report.json`` is written in the same folder, and no submission's results may ever be it.

    Parameters
    ----------
    path : Path, a submission under ``directory``
    directory : Path, the folder of submissions

    Returns
    -------
    str, a file name (never hidden, never a report file of ``autograder.class_report``)

    Raises
    ------
    ValueError if ``path`` is not under ``directory``.
    """
    rel = os.fsencode(Path(path).relative_to(directory))
    stem = rel[: -len(b".ipynb")] if rel.endswith(b".ipynb") else rel
    name = urllib.parse.quote(stem, safe="-_.")
    if name.startswith("."):
        name = "%2E" + name[1:]  # never a hidden file, never "." or ".."
    if name.lower() == REPORT_STEM:
        name = name.replace("-", "%2D")  # quote never writes %2D, so this stays injective
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 20] + "-" + hashlib.sha256(rel).hexdigest()[:16]
    return name + ".json"


def spreadsheet_safe(text):
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @`` (or tab, CR...) gets a ``'`` before it.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    text = str(text)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _failure_results(path, exc):
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:500]
    return {"score": 0.0, "execution_time": 0.0, "tests": [], "visibility": "visible",
            "output": f"The grader failed on this submission ({detail}); please tell your instructor.",
            "extra_data": {"error": detail, "notebook": None}}


@contextlib.contextmanager
def _private(paths, needed):
    """While grading without namespaces as root: the folders are closed to other users, then restored."""
    saved = []
    try:
        if needed:
            for path in paths:
                with contextlib.suppress(OSError):
                    mode = stat.S_IMODE(os.stat(path, follow_symlinks=False).st_mode)
                    if mode & 0o077:
                        os.chmod(path, mode & 0o700, follow_symlinks=False)
                        saved.append((path, mode))
        yield
    finally:
        for path, mode in saved:
            with contextlib.suppress(OSError):
                os.chmod(path, mode, follow_symlinks=False)


def grade_directory(directory, results_dir, options, jobs=2, progress=None):
    """Grade every notebook of ``directory``; write one results file each and ``gradebook.csv``.

    Parameters
    ----------
    directory : str or Path
    results_dir : str or Path, created if needed
    options : autograder.grading.Options
    jobs : int, submissions graded at the same time
    progress : callable (path, results) or None, called after each submission

    Returns
    -------
    list of (Path, dict): each submission with its results, in sorted order
    """
    directory, results_dir = Path(directory), Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    paths = find_submissions(directory)
    options = dataclasses.replace(options, private_paths=list(options.private_paths) + [directory, results_dir])
    without_namespaces = os.geteuid() == 0 and (options.isolate is False or not unshare_available())
    solutions = solution_sources(options.masters if options.masters is not None else DEFAULT_MASTERS)

    def one(path):
        try:
            sandbox = options.sandbox()
            try:
                results = grade_notebook(path, options, sandbox=sandbox)
            finally:
                sandbox.close()
        except Exception as exc:  # a row is always written
            results = _failure_results(path, exc)
        with contextlib.suppress(Exception):  # examples for the class report; never costs a row
            add_excerpts(results, path, solutions)
        try:
            write_results(results, results_dir / results_name(path, directory))
        except OSError as exc:
            results.setdefault("extra_data", {})["error"] = f"results file not written: {exc.strerror}"
        if progress is not None:
            with contextlib.suppress(Exception):
                progress(path, results)
        return path, results

    with _private([directory, results_dir], without_namespaces):
        with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
            graded = list(pool.map(one, paths))
    write_gradebook(graded, directory, results_dir / "gradebook.csv")
    return graded


def write_gradebook(graded, directory, path):
    """CSV with one row per submission: file, notebook, score, max_score, one column per exercise, problem.

    Text cells are printable UTF-8 (undecodable bytes of file names as ``\\xNN``), bounded, and
    neutralised for spreadsheets (``spreadsheet_safe``).
    """
    exercise_names = []
    for _, results in graded:
        for test in results.get("tests", []):
            if test["name"] not in exercise_names:
                exercise_names.append(test["name"])
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "notebook", "score", "max_score"]
                        + [spreadsheet_safe(n) for n in exercise_names] + ["problem"])
        for sub, results in graded:
            extra = results.get("extra_data", {})
            by_name = {t["name"]: t["score"] for t in results.get("tests", [])}
            rel = printable(os.fsencode(Path(sub).relative_to(directory)), 400)
            writer.writerow([spreadsheet_safe(rel), spreadsheet_safe(printable(extra.get("notebook") or "")),
                             f"{results['score']:g}", f"{extra.get('max_score', 0):g}"]
                            + [f"{by_name[n]:g}" if n in by_name else "" for n in exercise_names]
                            + [spreadsheet_safe(printable(extra.get("error", ""), 500))])
    os.replace(tmp, path)
