"""What did my class get wrong? The class report gathered from graded submissions.

``python -m autograder batch SUBMISSIONS --results-dir R`` grades a class and then writes, in ``R`` itself
(beside the results files and ``gradebook.csv``):

* ``mistakes.csv``: one row per (submission, notebook, exercise, catalogued mistake), with the hint shown;
* ``class-report.html``: one self-contained page (figures embedded as data URIs, nothing fetched);
* ``class-report.json``: the same numbers for scripts.

No submission's results can be one of these files: results files are ``R/<escaped name>.json``, and the
one name that would clash, ``class-report.ipynb``, is escaped as ``class%2Dreport.json``
(``autograder.batch.results_name``); ``report`` never reads ``R/class-report.json`` as results.

``python -m autograder report R [--anonymize]`` rebuilds them from results already in ``R``:

* every regular file ``R/*.json`` is a results file of ``batch`` (its name, percent-decoded, is the
  submission's path: ``sub%2Fx.json`` is ``sub/x.ipynb``);
* every regular file ``R/<folder>/results.json`` is a results file downloaded from Gradescope (the
  export's one folder per submission; the folder's name is the submission's name); the notebooks
  submitted, when they sit beside it in that folder, give the examples.

Every input is hostile: files are read without following links (a link is listed as not read, never
opened), only regular files, at most ``MAX_RESULTS_BYTES`` each and ``MAX_FILES`` in all; only known
exercises and catalogued mistake ids count (the hint shown is always the catalogue's own); every text
taken from a file is bounded and made printable, and the page escapes all of it. Nothing is executed:
the student's lines in the examples are text cut from the exercise cell when ``batch`` graded it (kept
in the results under ``extra_data.excerpts``), or from a notebook beside a Gradescope results.json.

Names: the report shows the submission's file name, or with ``anonymize`` a stable pseudonym
("student-" and 8 hex digits of an HMAC-SHA256 of the name under a random key kept in ``R/.class-report-
key``: the same name gets the same pseudonym in every report made from ``R``, and a list of names cannot
be hashed to find who is who). Anonymised examples lose their comments and every word of the
submission's file name.
"""

import ast
import contextlib
import csv
import hashlib
import hmac
import io
import json
import math
import os
import re
import secrets
import stat
import textwrap
import urllib.parse
from pathlib import Path

from course_utils.mistakes import MISTAKES

from autograder.notebook import printable
from autograder.specs import notebook_specs

__all__ = ["REPORT_JSON", "REPORT_HTML", "REPORT_CSV", "REPORT_FILES", "REPORT_STEM", "MAX_RESULTS_BYTES", "MAX_FILES", "UNFIXED_BUGS", "NOTEBOOK_BUGS", "excerpt",
           "solution_sources", "add_excerpts", "read_results", "pseudonymizer", "build_report",
           "mistake_rows", "write_report"]

#: The report's files, written in the results folder ``R`` itself.
REPORT_JSON, REPORT_HTML, REPORT_CSV = "class-report.json", "class-report.html", "mistakes.csv"
REPORT_FILES = (REPORT_CSV, REPORT_HTML, REPORT_JSON)
#: The one submission stem whose results file would be ``REPORT_JSON`` (compared without case, for
#: case-insensitive file systems); ``batch.results_name`` escapes its hyphen instead.
REPORT_STEM = "class-report"
#: Largest results file read (bytes), and most files read from one folder.
MAX_RESULTS_BYTES = 16 * 2**20
MAX_FILES = 20_000
#: Bounds on what is kept from a file: characters of a test's output searched, of a name, of a problem.
MAX_OUTPUT_CHARS, MAX_NAME_CHARS, MAX_PROBLEM_CHARS = 4000, 200, 300
#: An example is at most this many lines of at most this many characters.
MAX_EXAMPLE_LINES, MAX_LINE_CHARS = 6, 120
#: Longest cell parsed to find the exercise's function (longer cells are cut line by line instead).
MAX_PARSE_CHARS = 100_000
KEY_FILE = ".class-report-key"
#: Most notebooks read beside a Gradescope folder's results.json (for examples).
MAX_FOLDER_NOTEBOOKS = 10
#: Mistake ids of backward_propagation_fixed that mean a bug of ``course_utils.bugs.CATALOGUE`` was left in.
UNFIXED_BUGS = {
    "backward_propagation_fixed.classic_scale_bugs": "classic_dW2_db1",
    "backward_propagation_fixed.missing_1_over_m": "missing_1_over_m",
    "backward_propagation_fixed.bias_sum_all_axes": "bias_sum_all_axes",
    "backward_propagation_fixed.relu_mask_off_by_one": "relu_mask_off_by_one",
    "backward_propagation_fixed.relu_mask_from_activation": "relu_mask_from_A",
    "backward_propagation_fixed.relu_instead_of_derivative": "relu_instead_of_derivative",
    "backward_propagation_fixed.sigmoid_derivative_twice": "sigmoid_derivative_twice",
    "backward_propagation_fixed.output_error_reversed": "output_error_reversed",
    "backward_propagation_fixed.weight_grad_transposed": "weight_grad_transposed",
    "backward_propagation_fixed.db_before_relu": "db_before_relu",
}
#: The bugs notebook 03's backward_propagation_buggy holds (the ones the student is asked to fix).
NOTEBOOK_BUGS = ("relu_mask_from_A", "db_before_relu")
#: Outcomes of one exercise of one submission, in the order the report lists them.
OUTCOMES = ("full", "mistake", "other", "timeout", "crash", "not_attempted")
#: The grader's outcome of a test (its ``extra_data.outcome``) -> the report's (a catalogued mistake
#: counts as "mistake" whatever the grader's outcome: a verdict named it).
GRADER_OUTCOMES = {"passed": "full", "failed": "other", "not_attempted": "not_attempted",
                   "missing": "not_attempted", "timeout": "timeout", "crash": "crash", "grader_error": "other"}
_IGNORED_LINES = {"", "### BEGIN SOLUTION", "### END SOLUTION", "# YOUR CODE HERE", "raise NotImplementedError()"}


# ---------------------------------------------------------------------------------------------------
# Examples: the student's lines that differ from the solution (cut when batch grades)
# ---------------------------------------------------------------------------------------------------

def _function_lines(source, function):
    """The lines of the last top-level ``def function`` of a cell, docstring left out (all lines when
    the cell does not parse or is too long to parse)."""
    lines = source.splitlines()
    if len(source) > MAX_PARSE_CHARS:
        return lines[:2000]
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return lines[:2000]
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function]
    if not defs:
        return lines[:2000]
    node, skip = defs[-1], set()
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
            and isinstance(first.value.value, str):
        skip = set(range(first.lineno - 1, first.end_lineno))
    return [lines[i] for i in range(node.lineno - 1, min(node.end_lineno, len(lines))) if i not in skip]


def _norm(line):
    return " ".join(line.split())


def excerpt(source, solutions, function):
    """The student's lines that show a mistake: the lines of the exercise's function that no known
    solution has (or, when every line is in a solution, the lines of the closest one that are missing).

    Parameters
    ----------
    source : str, the submission's exercise cell (hostile text: parsed, never run)
    solutions : list of str, right answers to the same exercise (the master's cell first; correct
        variants in other styles make fewer lines look suspicious)
    function : str, the exercise's function name

    Returns
    -------
    list of str, at most ``MAX_EXAMPLE_LINES`` lines of at most ``MAX_LINE_CHARS`` characters, common
    indentation removed; missing lines read ``(missing) <line>``; ``[]`` when nothing differs

    Raises
    ------
    Nothing for any text: a cell that does not parse is compared line by line.
    """
    mine = _function_lines(str(source), function)
    references = [_function_lines(str(s), function) for s in solutions]
    known = {_norm(line) for lines in references for line in lines} | _IGNORED_LINES
    added = [line for line in mine if _norm(line) not in known]
    if added:
        shown = textwrap.dedent("\n".join(line.expandtabs(4) for line in added[:MAX_EXAMPLE_LINES])).splitlines()
        if len(added) > MAX_EXAMPLE_LINES:
            more = len(added) - (MAX_EXAMPLE_LINES - 1)
            shown = shown[:MAX_EXAMPLE_LINES - 1] + [f"... ({more} more lines)"]
    else:
        present = {_norm(line) for line in mine}
        missing = [[line.strip() for line in lines if _norm(line) not in present | _IGNORED_LINES]
                   for lines in references] or [[]]
        shown = [f"(missing) {line}" for line in min(missing, key=len)][:MAX_EXAMPLE_LINES]
    return [printable(line, MAX_LINE_CHARS) for line in shown]


def solution_sources(masters):
    """grade_id -> right answers to the exercise: the master's cell, then the catalogue's correct variants
    (``autograder.demo_sources.CORRECT``).

    Parameters
    ----------
    masters : str or Path, the folder of master notebooks (``notebooks/source``)

    Returns
    -------
    dict str -> list of str (a missing or unreadable master only leaves out its cells)

    Raises
    ------
    Nothing: an unreadable master gives no entries.
    """
    from autograder.demo_sources import CORRECT, exercise_of
    from autograder.notebook import SubmissionError, load_submission
    sources = {}
    for notebook_id, spec in notebook_specs().items():
        try:
            notebook = load_submission(Path(masters) / f"{notebook_id}.ipynb")
        except SubmissionError:
            continue
        for exercise in spec.exercises:
            cells = notebook.cells_with_grade_id(exercise.grade_id)
            if cells:
                sources[exercise.grade_id] = [cells[-1].source] + [
                    src for key, src in sorted(CORRECT.items()) if exercise_of(key) == exercise.function]
    return sources


def _excerpts(notebooks, grade_ids, solutions):
    """grade_id -> example lines, from the first of ``notebooks`` (loaded Submissions) holding each cell."""
    by_grade_id = {e.grade_id: e for spec in notebook_specs().values() for e in spec.exercises}
    excerpts = {}
    for grade_id in grade_ids:
        exercise = by_grade_id.get(grade_id)
        if exercise is None or grade_id not in solutions:
            continue
        for notebook in notebooks:
            cells = notebook.cells_with_grade_id(grade_id)
            cell = cells[-1] if cells else notebook.cell_defining(exercise.function)
            if cell is not None:
                excerpts[grade_id] = excerpt(cell.source, solutions[grade_id], exercise.function)
                break
    return excerpts


def add_excerpts(results, path, solutions):
    """Put the example lines of every failed exercise with a catalogued mistake into
    ``results["extra_data"]["excerpts"]`` (grade_id -> list of str).

    Parameters
    ----------
    results : dict, the submission's results (changed in place)
    path : Path, the submission (read with the grader's bounded reader; never run)
    solutions : dict grade_id -> list of right answers (``solution_sources``)

    Returns
    -------
    dict, ``results``

    Raises
    ------
    Nothing: a submission that cannot be read again gets no excerpts.
    """
    from autograder.notebook import SubmissionError, load_submission
    wanted = [_grade_id(t.get("name", "")) for t in results.get("tests", []) if t.get("mistake_ids")]
    if not wanted:
        return results
    try:
        submission = load_submission(path)
    except (SubmissionError, OSError):
        return results
    excerpts = _excerpts([submission], wanted, solutions)
    if excerpts:
        results.setdefault("extra_data", {})["excerpts"] = excerpts
    return results


def _folder_excerpts(record, folder, solutions):
    """Examples for a Gradescope folder's record from the notebooks beside its results.json (at most
    ``MAX_FOLDER_NOTEBOOKS``, links never followed, read by the grader's bounded reader)."""
    from autograder.notebook import SubmissionError, load_submission
    wanted = [t["grade_id"] for t in record["tests"] if t["mistake_ids"] and not t["excerpt"]]
    if not wanted:
        return
    notebooks = []
    with os.scandir(folder) as entries:
        paths = sorted(e.path for e in entries if e.name.endswith(".ipynb") and e.is_file(follow_symlinks=False))
    for path in paths[:MAX_FOLDER_NOTEBOOKS]:
        try:
            notebooks.append(load_submission(path))
        except (SubmissionError, OSError):
            continue
    found = _excerpts(notebooks, wanted, solutions)
    for test in record["tests"]:
        if test["grade_id"] in found and not test["excerpt"]:
            test["excerpt"] = found[test["grade_id"]]


# ---------------------------------------------------------------------------------------------------
# Reading results (hostile files)
# ---------------------------------------------------------------------------------------------------

def _grade_id(name):
    """The grade_id in a test name "title [grade_id]" (Gradescope: "notebook: title [grade_id]")."""
    name = str(name)
    if name.endswith("]") and "[" in name:
        return name[name.rindex("[") + 1:-1]
    return None


def _read_bounded(path):
    """(bytes or None, problem): a regular file's bytes, never through a link, never more than the cap."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return None, "a symbolic link, not read" if os.path.islink(path) else f"not readable ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file, not read"
        if info.st_size > MAX_RESULTS_BYTES:
            return None, f"larger than {MAX_RESULTS_BYTES // 2**20} MB, not read"
        chunks, size = [], 0
        while size <= MAX_RESULTS_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_RESULTS_BYTES:
            return None, f"larger than {MAX_RESULTS_BYTES // 2**20} MB, not read"
        return b"".join(chunks), None
    finally:
        os.close(fd)


def _results_files(results_dir):
    """(submission name, path) of every results file of ``results_dir`` (see the module's docstring),
    sorted; links are included (and later refused), never followed."""
    found = []
    with os.scandir(results_dir) as entries:
        for entry in entries:
            if len(found) > MAX_FILES:
                break
            if entry.name.startswith(".") or entry.name.lower() == REPORT_JSON:
                continue  # hidden files (the key, temporary files) and the report's own numbers
            if entry.name.endswith(".json") and not entry.is_dir(follow_symlinks=False):
                name = urllib.parse.unquote(entry.name[:-len(".json")], errors="surrogateescape") + ".ipynb"
                found.append((name, Path(entry.path)))
            elif entry.is_dir(follow_symlinks=False):
                inner = Path(entry.path) / "results.json"
                if os.path.lexists(inner):
                    found.append((entry.name, inner))
    return sorted(found, key=lambda item: os.fsencode(item[0]))[:MAX_FILES]


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) else None


def _lines(value):
    """A list of bounded printable lines from an untrusted value (anything else: [])."""
    if not isinstance(value, list):
        return []
    return [printable(v, MAX_LINE_CHARS) for v in value[:MAX_EXAMPLE_LINES + 1] if isinstance(v, str)]


def _record(name, data, exercises):
    """A submission's results reduced to what the report counts (untrusted ``data``)."""
    record = {"name": printable(name, MAX_NAME_CHARS), "tests": [], "problem": None}
    if not isinstance(data, dict):
        record["problem"] = "the results file does not hold a results object"
        return record
    extra = data.get("extra_data") if isinstance(data.get("extra_data"), dict) else {}
    excerpts = extra.get("excerpts") if isinstance(extra.get("excerpts"), dict) else {}
    tests = data.get("tests") if isinstance(data.get("tests"), list) else []
    known_ids = {m.id for m in MISTAKES}
    for test in tests[:100]:
        if not isinstance(test, dict):
            continue
        grade_id = _grade_id(test.get("name", ""))
        score, top = _number(test.get("score")), _number(test.get("max_score"))
        if grade_id not in exercises or score is None or top is None or top <= 0 \
                or any(t["grade_id"] == grade_id for t in record["tests"]):  # an exercise counts once
            continue
        ids = test.get("mistake_ids") if isinstance(test.get("mistake_ids"), list) else []
        output = test.get("output") if isinstance(test.get("output"), str) else ""
        own = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
        outcome = own.get("outcome") if isinstance(own.get("outcome"), str) \
            and own["outcome"] in GRADER_OUTCOMES else None
        record["tests"].append({"grade_id": grade_id, "score": min(max(score, 0.0), top), "max_score": top,
                                "mistake_ids": sorted({i for i in ids if isinstance(i, str) and i in known_ids}),
                                "outcome": outcome, "outcome_text": output[:MAX_OUTPUT_CHARS],
                                "excerpt": _lines(excerpts.get(grade_id))})
    if not record["tests"]:
        problem = extra.get("error") or (data.get("output") if isinstance(data.get("output"), str) else "")
        record["problem"] = printable(str(problem).strip().split("\n")[0] or "no graded exercise",
                                      MAX_PROBLEM_CHARS)
    return record


def read_results(results_dir):
    """Every submission's results in ``results_dir``, reduced to what the report needs.

    Parameters
    ----------
    results_dir : str or Path

    Returns
    -------
    list of dict, sorted by name: "name" (printable, bounded), "tests" (list of dicts "grade_id",
    "score", "max_score", "mistake_ids" (catalogued ids only), "outcome" (the grader's, one of
    ``autograder.grading.OUTCOMES``, or None when the file has none), "outcome_text", "excerpt"), "problem"
    (str or None: why nothing of it could be counted)

    Raises
    ------
    NotADirectoryError if ``results_dir`` is not a directory (the folder given is trusted; links inside it
    are not followed).
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise NotADirectoryError(f"{results_dir} is not a directory: give the --results-dir of a batch, or a "
                                 f"folder of Gradescope results (one folder per submission)")
    exercises = {e.grade_id for spec in notebook_specs().values() for e in spec.exercises}
    records, solutions = [], None
    for name, path in _results_files(results_dir):
        raw, problem = _read_bounded(path)
        if raw is None:
            records.append({"name": printable(name, MAX_NAME_CHARS), "tests": [], "problem": problem})
            continue
        try:
            data = json.loads(raw.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            records.append({"name": printable(name, MAX_NAME_CHARS), "tests": [], "problem": "not valid JSON"})
            continue
        records.append(_record(name, data, exercises))
        if path.parent != results_dir:  # a Gradescope folder: the submitted notebooks may sit beside
            if solutions is None:
                from autograder.grading import DEFAULT_MASTERS
                solutions = solution_sources(DEFAULT_MASTERS)
            _folder_excerpts(records[-1], path.parent, solutions)
    return records


# ---------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------

def _key(results_dir):
    """The random key of the pseudonyms, kept in ``results_dir/.class-report-key`` (made on first use)."""
    path = Path(results_dir) / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raw, problem = _read_bounded(path)
        if raw is None or not 32 <= len(raw.strip()) <= 256:
            raise ValueError(f"{path} is not a key file ({problem or 'wrong size'}); remove it to make a new "
                             f"one (the pseudonyms then change)") from None
        return raw.strip()
    with os.fdopen(fd, "wb") as handle:
        key = secrets.token_hex(32).encode()
        handle.write(key + b"\n")
    return key


def _name_words(name):
    """The words of a submission's name worth hiding (3 letters or more, not the extension)."""
    words = re.split(r"[^0-9A-Za-z\u00C0-\uFFFF]+", str(name))
    return sorted({w for w in words if len(w) >= 3 and w.lower() not in ("ipynb", "json", "results")},
                  key=len, reverse=True)


def _without_comment(line):
    """A line of code without its ``#`` comment (quotes are respected, approximately)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i].rstrip()
    return line


def pseudonymizer(results_dir, anonymize):
    """(name -> shown name, (name, text) -> scrubbed text) for a report.

    Parameters
    ----------
    results_dir : str or Path, where the pseudonyms' key lives (``.class-report-key``, made if missing)
    anonymize : bool; False gives the names and texts unchanged

    Returns
    -------
    (callable, callable)

    Raises
    ------
    ValueError if the key file exists but is not one (a link, empty, too large).
    """
    if not anonymize:
        return (lambda name: name), (lambda name, text: text)
    key = _key(results_dir)

    def shown(name):
        raw = str(name).encode("utf-8", errors="surrogateescape")
        return "student-" + hmac.new(key, raw, hashlib.sha256).hexdigest()[:8]

    def scrub(name, text):
        for word in _name_words(name):
            text = re.sub(re.escape(word), "[name]", text, flags=re.IGNORECASE)
        return text

    return shown, scrub


# ---------------------------------------------------------------------------------------------------
# The numbers
# ---------------------------------------------------------------------------------------------------

def _outcome(test):
    """One of ``OUTCOMES`` for a test entry of ``read_results``: from the grader's own outcome, or, for
    results files made before the grader wrote one (e.g. Gradescope results downloaded from an older
    autograder), from the feedback's wording."""
    if test["score"] >= test["max_score"]:
        return "full"
    grader = GRADER_OUTCOMES.get(test["outcome"]) if test["outcome"] is not None else None
    if grader is None:  # a results file made before the grader wrote its outcome
        grader = _outcome_from_wording(test["outcome_text"])
    if grader == "not_attempted":
        return grader
    if test["mistake_ids"]:
        return "mistake"
    return "other" if grader == "full" else grader  # "passed" with less than full marks: inconsistent


def _outcome_from_wording(text):
    """The fallback for results files without ``extra_data.outcome`` (written before the grader wrote it):
    the outcome read from the grader's feedback wording of that time. Keep it for those files only."""
    if "not implemented yet" in text:
        return "not_attempted"
    if "(the time limit)" in text or "s of CPU time" in text:
        return "timeout"
    if any(m in text for m in (" raised ", "crashed", "stopped with an error", "process running your code ended",
                               "stopped during this test by", "stopped before")):
        return "crash"
    return "other"


def _score_counts(scores, top):
    """{"0": n, "1": n, ...}: how many scores fall on each whole point from 0 to ``top`` (rounded down)."""
    counts = {str(p): 0 for p in range(int(math.floor(top)) + 1)}
    for score in scores:
        counts[str(min(int(math.floor(score + 1e-9)), int(math.floor(top))))] += 1
    return counts


def _example(record, test, shown, scrub, anonymize):
    lines = test["excerpt"]
    if anonymize:
        lines = [_without_comment(line) for line in lines]
        lines = [scrub(record["name"], line) for line in lines if line.strip()]
    return {"submission": shown(record["name"]), "lines": lines} if lines else None


def _exercise_numbers(exercise, graded, shown, scrub, anonymize):
    """The report's numbers for one exercise: graded is a list of (record, test)."""
    catalogue = {m.id: m for m in MISTAKES}
    outcomes = {o: [] for o in OUTCOMES}
    counts, examples = {}, {}
    for record, test in graded:
        outcomes[_outcome(test)].append(shown(record["name"]))
        for mistake_id in test["mistake_ids"]:
            counts[mistake_id] = counts.get(mistake_id, 0) + 1
            if mistake_id not in examples:
                found = _example(record, test, shown, scrub, anonymize)
                if found:
                    examples[mistake_id] = found
    order = sorted(counts, key=lambda i: (-counts[i], i))
    full = len(outcomes["full"])
    from course_utils.judges import GROUPS  # mistakes a judge cannot tell apart are named together

    def named_with(i):
        return sorted(j for g in GROUPS if i in g for j in g if j != i and j in counts)
    return {"grade_id": exercise.grade_id, "function": exercise.function, "title": exercise.title,
            "max_score": float(exercise.points), "graded": len(graded),
            "score_counts": _score_counts([t["score"] for _, t in graded], exercise.points),
            "full_marks": full, "full_marks_share": round(full / len(graded), 4) if graded else None,
            "outcomes": {o: len(outcomes[o]) for o in OUTCOMES},
            "mistakes": [{"id": i, "title": catalogue[i].title, "count": counts[i], "hint": catalogue[i].hint,
                          "example": examples.get(i), "named_with": named_with(i)} for i in order],
            "timed_out": sorted(outcomes["timeout"]), "crashed": sorted(outcomes["crash"])}


def _unfixed(exercise_numbers):
    """Notebook 03: how many submissions left each catalogue bug in backward_propagation_fixed."""
    from course_utils.bugs import CATALOGUE
    counts = {}
    for entry in exercise_numbers["mistakes"]:
        bug = UNFIXED_BUGS.get(entry["id"])
        if bug is not None:
            counts[bug] = counts.get(bug, 0) + entry["count"]  # one id per bug: a group is counted once
    from course_utils.judges import GROUPS
    catalogue = {m.id: m for m in MISTAKES}
    ids = {bug: i for i, bug in UNFIXED_BUGS.items()}
    alike = {bug: [catalogue[j].title for g in GROUPS if ids[bug] in g for j in g if j != ids[bug]]
             for bug in ids}  # mistakes that give the same numbers: the count may hold them too
    return [{"bug": bug, "title": CATALOGUE[bug].title, "in_notebook": bug in NOTEBOOK_BUGS,
             "count": counts.get(bug, 0), "or": alike[bug]}
            for bug in sorted(set(UNFIXED_BUGS.values()), key=lambda b: (-counts.get(b, 0), b not in NOTEBOOK_BUGS, b))]


def build_report(records, shown, scrub, anonymize=False):
    """The class report's numbers (what ``class-report.json`` holds and the page shows).

    Parameters
    ----------
    records : list of dict from ``read_results``
    shown, scrub : callables from ``pseudonymizer``
    anonymize : bool, whether names are pseudonyms (comments are then removed from the examples)

    Returns
    -------
    dict: "schema", "anonymized", "submissions" (counts), "ungraded" (list of {"submission",
    "problem"}), "notebooks" (list per notebook: "notebook", "title", "max_score", "submissions",
    "score_counts", "mean_score", "full_marks", "full_marks_share", "exercises" (see the page; each
    mistake counted under its own id, with "named_with": the ids the judge names together with it because
    they give the same numbers), and for notebook 03 "unfixed_bugs" (each with "or": the titles of
    mistakes that give the same numbers, which its count may hold))

    Raises
    ------
    Nothing for any records.
    """
    specs = notebook_specs()
    notebooks = []
    for notebook_id, spec in specs.items():
        ids = {e.grade_id for e in spec.exercises}
        mine = [(r, [t for t in r["tests"] if t["grade_id"] in ids]) for r in records]
        mine = [(r, tests) for r, tests in mine if tests]
        if not mine:
            continue
        totals = [sum(t["score"] for t in tests) for _, tests in mine]
        exercises = [_exercise_numbers(e, [(r, t) for r, tests in mine for t in tests if t["grade_id"] == e.grade_id],
                                       shown, scrub, anonymize) for e in spec.exercises]
        full = sum(1 for total in totals if total >= spec.max_score)
        entry = {"notebook": notebook_id, "title": spec.title, "max_score": spec.max_score,
                 "submissions": len(mine), "score_counts": _score_counts(totals, spec.max_score),
                 "mean_score": round(sum(totals) / len(totals), 4), "full_marks": full,
                 "full_marks_share": round(full / len(mine), 4), "exercises": exercises}
        fixed = [x for x in exercises if x["function"] == "backward_propagation_fixed"]
        if fixed:
            entry["unfixed_bugs"] = _unfixed(fixed[0])
        notebooks.append(entry)
    ungraded = [{"submission": shown(r["name"]), "problem": scrub(r["name"], r["problem"])}
                for r in records if not r["tests"]]
    return {"schema": "class-report/1", "anonymized": bool(anonymize),
            "submissions": {"files": len(records), "graded": len(records) - len(ungraded),
                            "ungraded": len(ungraded)},
            "ungraded": sorted(ungraded, key=lambda u: u["submission"]), "notebooks": notebooks}


def mistake_rows(records, shown):
    """Rows of ``mistakes.csv``: (submission, notebook, exercise, mistake id, title, hint), sorted.

    Parameters
    ----------
    records : list of dict from ``read_results``
    shown : callable from ``pseudonymizer``

    Returns
    -------
    list of tuple of str

    Raises
    ------
    Nothing for any records.
    """
    where = {e.grade_id: (nid, e.function) for nid, spec in notebook_specs().items() for e in spec.exercises}
    catalogue = {m.id: m for m in MISTAKES}
    rows = []
    for record in records:
        for test in record["tests"]:
            if test["score"] >= test["max_score"]:
                continue
            notebook_id, function = where[test["grade_id"]]
            for mistake_id in test["mistake_ids"]:
                m = catalogue[mistake_id]
                rows.append((shown(record["name"]), notebook_id, function, mistake_id, m.title, m.hint))
    return sorted(rows)


# ---------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------

def _write(path, text):
    """Write a file atomically, never through a link: a new temporary file (hidden, unique name, created
    with O_EXCL | O_NOFOLLOW) renamed over ``path``; a link at ``path`` is replaced, its target untouched."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _csv_text(rows):
    from autograder.batch import spreadsheet_safe
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", "notebook", "exercise", "mistake_id", "mistake", "hint"])
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue()


def write_report(results_dir, anonymize=False, figure=None):
    """Read the results of ``results_dir`` and write the report's three files in it (``REPORT_FILES``).

    Parameters
    ----------
    results_dir : str or Path, a batch's --results-dir or a folder of Gradescope results
    anonymize : bool, pseudonyms instead of names (see the module's docstring)
    figure : str or Path or None, also save the page's overview figure there as a PNG

    Returns
    -------
    dict, the report's numbers (as written to class-report.json)

    Raises
    ------
    NotADirectoryError for a results folder that is not one; IsADirectoryError when a report file's name
    in it is taken by a folder (nothing is written then); ValueError for a broken key file. A link at a
    report file's name is replaced by the file, never followed.
    """
    from autograder.class_report_html import overview_png, render
    results_dir = Path(results_dir)
    records = read_results(results_dir)
    shown, scrub = pseudonymizer(results_dir, anonymize)
    report = build_report(records, shown, scrub, anonymize)
    for name in REPORT_FILES:
        path = results_dir / name
        if path.is_dir() and not path.is_symlink():
            raise IsADirectoryError(f"{path} is a folder, where the class report writes its file {name}: "
                                    f"move that folder away and run the report again")
    _write(results_dir / REPORT_CSV, _csv_text(mistake_rows(records, shown)))
    _write(results_dir / REPORT_JSON, json.dumps(report, indent=1, allow_nan=False) + "\n")
    _write(results_dir / REPORT_HTML, render(report))
    if figure is not None:
        Path(figure).write_bytes(overview_png(report))
    return report
