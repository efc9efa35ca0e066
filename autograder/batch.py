"""Grade a folder of submissions in parallel: one results file each and a CSV gradebook.

Each submission is graded by ``grade_notebook`` in its own worker thread with its own sandbox (student
code always runs in separate sandboxed processes), so one bad submission never affects another: its
failure is written to its own results file and its row of the gradebook.
"""

import csv
import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.grading import grade_notebook, write_results


def find_submissions(directory):
    """Every ``*.ipynb`` file under ``directory`` (recursively, checkpoints excluded), sorted.

    Returns
    -------
    list of Path
    """
    directory = Path(directory)
    return sorted(p for p in directory.rglob("*.ipynb")
                  if p.is_file() and ".ipynb_checkpoints" not in p.parts)


def results_name(path, directory):
    """File name of a submission's results: its relative path with separators replaced, + .json."""
    rel = Path(path).relative_to(directory).as_posix()
    return re.sub(r"[^A-Za-z0-9_.-]+", "__", rel[: -len(".ipynb")]) + ".json"


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

    def one(path):
        sandbox = options.sandbox()
        try:
            results = grade_notebook(path, options, sandbox=sandbox)
        finally:
            sandbox.close()
        write_results(results, results_dir / results_name(path, directory))
        if progress is not None:
            progress(path, results)
        return path, results

    with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        graded = list(pool.map(one, paths))
    write_gradebook(graded, directory, results_dir / "gradebook.csv")
    return graded


def write_gradebook(graded, directory, path):
    """CSV with one row per submission: file, notebook, score, max_score, one column per exercise, problem."""
    exercise_names = []
    for _, results in graded:
        for test in results.get("tests", []):
            if test["name"] not in exercise_names:
                exercise_names.append(test["name"])
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "notebook", "score", "max_score"] + exercise_names + ["problem"])
        for sub, results in graded:
            extra = results.get("extra_data", {})
            by_name = {t["name"]: t["score"] for t in results.get("tests", [])}
            problem = extra.get("error", "")
            writer.writerow([Path(sub).relative_to(directory).as_posix(), extra.get("notebook") or "",
                             f"{results['score']:g}", f"{extra.get('max_score', 0):g}"]
                            + [f"{by_name[n]:g}" if n in by_name else "" for n in exercise_names]
                            + [problem])
