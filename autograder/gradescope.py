"""Grade one Gradescope upload: every notebook in it that belongs to the assignment, summed.

An assignment covers one notebook (``make autograder-zip NB=02``) or several (the whole course when no
notebook is named). ``grade_upload`` grades each ``*.ipynb`` of the upload (links never followed, at most
``MAX_FILES``): the tests of every notebook of the assignment are listed (one per exercise; a notebook
of the assignment missing from the upload shows its exercises at 0 with "not found"), and a notebook
that belongs to another assignment, or that cannot be read, gets its own 0-point test saying why.
"""

import time
from pathlib import Path

from autograder.batch import find_submissions
from autograder.grading import grade_notebook
from autograder.notebook import printable

__all__ = ["MAX_FILES", "resolve_notebooks", "grade_upload"]

#: Notebooks of one upload that are graded (the rest are listed as not graded).
MAX_FILES = 12


def resolve_notebooks(names, specs):
    """Full notebook ids from names or prefixes (``"02"`` -> ``"02_gradient_check_nd"``).

    Parameters
    ----------
    names : iterable of str (comma-separated lists allowed), or None / empty for every notebook
    specs : dict notebook_id -> NotebookSpec

    Returns
    -------
    list of str, in the course's order

    Raises
    ------
    ValueError naming an unknown or ambiguous name and the known ids.
    """
    wanted = [n.strip() for name in (names or []) for n in str(name).split(",") if n.strip()]
    if not wanted:
        return sorted(specs)
    chosen = []
    for name in wanted:
        hits = [nid for nid in specs if nid == name] or [nid for nid in specs if nid.startswith(name)]
        if len(hits) != 1:
            problem = "matches no notebook" if not hits else f"matches {len(hits)} notebooks"
            raise ValueError(f"{name!r} {problem}; the course's notebooks are: {', '.join(sorted(specs))}")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return sorted(chosen)


def _file_test(path, results):
    """A 0-point test for a file that was not graded for this assignment (foreign, unreadable)."""
    return {"name": f"{printable(Path(path).name)}: not graded", "score": 0.0, "max_score": 0.0,
            "status": "failed", "output": results.get("output", ""), "visibility": "visible", "mistake_ids": [],
            "extra_data": {"outcome": "failed"}}


def _missing_tests(spec):
    message = (f"No notebook {spec.notebook_id} ({spec.title}) was found in your upload: upload the .ipynb "
               f"file of {spec.notebook_id} with your answers.")
    return [{"name": f"{spec.notebook_id}: {e.title} [{e.grade_id}]", "score": 0.0, "max_score": float(e.points),
             "status": "failed", "output": message, "visibility": "visible", "mistake_ids": [],
             "extra_data": {"outcome": "missing"}} for e in spec.exercises]


def grade_upload(submission_dir, options, specs):
    """Results (Gradescope's schema) for every notebook of an upload, restricted to ``options.notebooks``.

    Parameters
    ----------
    submission_dir : Path, Gradescope's ``/autograder/submission``
    options : autograder.grading.Options, with ``notebooks`` set (None: every notebook of ``specs``)
    specs : dict notebook_id -> NotebookSpec

    Returns
    -------
    dict
    """
    start = time.monotonic()
    allowed = list(options.notebooks) if options.notebooks is not None else sorted(specs)
    paths = find_submissions(submission_dir) if Path(submission_dir).is_dir() else []
    if not paths:
        return {"score": 0.0, "execution_time": 0.0, "tests": [], "visibility": "visible",
                "output": "No .ipynb file was found in your submission: upload the notebook file itself."}
    best, extra_tests, lines = {}, [], []
    for path in paths[:MAX_FILES]:
        results = grade_notebook(path, options)
        notebook = results.get("extra_data", {}).get("notebook")
        if notebook in allowed and results.get("tests"):
            if notebook not in best or results["score"] > best[notebook][1]["score"]:
                if notebook in best:
                    lines.append(f"{printable(best[notebook][0].name)} and {printable(path.name)} are both "
                                 f"{notebook}; the better one is counted.")
                best[notebook] = (path, results)
        else:
            extra_tests.append(_file_test(path, results))
    for path in paths[MAX_FILES:]:
        extra_tests.append(_file_test(path, {"output": f"Not graded: an upload may hold at most {MAX_FILES} "
                                                       f"notebooks."}))
    return _combine(allowed, specs, best, extra_tests, lines, time.monotonic() - start)


def _combine(allowed, specs, best, extra_tests, lines, seconds):
    tests, score, summary = [], 0.0, []
    for notebook in allowed:
        if notebook in best:
            path, results = best[notebook]
            summary.append(f"{printable(path.name)}: {results['output']}")
            for test in results["tests"]:
                tests.append(dict(test, name=f"{notebook}: {test['name']}"))
            score += results["score"]
        elif notebook in specs:
            tests.extend(_missing_tests(specs[notebook]))
            summary.append(f"{notebook}: not found in your upload (0 points).")
    tests.extend(extra_tests)
    for test in extra_tests:
        summary.append(f"{test['name']}: {test['output']}")
    max_score = sum(specs[n].max_score for n in allowed if n in specs)
    header = f"Score {score:g} / {max_score:g} for {', '.join(allowed)}."
    return {"score": float(score), "execution_time": round(seconds, 3), "output_format": "text",
            "output": "\n\n".join([header] + lines + summary), "stdout_visibility": "hidden",
            "visibility": "visible", "tests": tests,
            "extra_data": {"notebooks": allowed, "max_score": max_score}}
