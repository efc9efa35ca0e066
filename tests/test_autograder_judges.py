"""The autograder's hidden tests are the judges of ``course_utils.judges``: same verdicts, same mistake ids.

Each submission here is a master notebook (every exercise solved) with one exercise cell replaced by a
student's source from ``tests/student_mistakes`` (``WRONG``: one per catalogued mistake; ``CORRECT``:
right but unlike the master). What each test proves:

* a wrong implementation scores 0 on its exercise, its results entry names the catalogued mistake (or the
  group of mistakes that give the same numbers) in ``mistake_ids``, its output holds the catalogue's hint;
  every other exercise of the notebook still scores full (one mistake is never punished twice);
* a correct variant scores full, with ``mistake_ids == []``, even with the master's demo lines after the
  function (lines that need names made in other cells of the notebook, which the grader does not run);
* (slow) the same for every implementation, graded as one batch, and the public judge
  (``judges.judge(exercise, function)``: the notebook's own test) agrees with the grader's verdict and ids.
"""

import ast
import json
from pathlib import Path

import nbformat
import pytest

from autograder.batch import grade_directory
from autograder.grading import grade_notebook
from autograder.specs import notebook_specs
from course_utils import judges
from course_utils.mistakes import mistake
from tests import student_mistakes
from tests.test_autograder import assert_gradescope_schema
from tests.test_autograder_support import fast_options

ROOT = Path(__file__).resolve().parent.parent
MASTERS = ROOT / "notebooks" / "source"

#: One wrong implementation per exercise (each exercising a different part of the judges: a returned tuple,
#: a crash at theta = 0, evaluation points, a crash explained by a second call, a group of mistakes, a
#: library call, an operator precedence).
SAMPLE_WRONG = ("forward_propagation.returned_tuple", "backward_propagation.divided_by_theta",
                "gradient_check.forward_difference", "gradient_check_n.cost_cache_not_unpacked",
                "k_from_report.cases_swapped", "backward_propagation_fixed.calls_library",
                "optimal_epsilon.power_precedence")
SAMPLE_CORRECT = ("gradient_check_n.correct_1", "backward_propagation_fixed.correct_3")


def _where(exercise):
    """(notebook id, Exercise) of a graded exercise."""
    for notebook_id, spec in notebook_specs().items():
        for entry in spec.exercises:
            if entry.judge_name == exercise:
                return notebook_id, entry
    raise KeyError(exercise)


def _demo_lines(source, function):
    """The lines of a (trusted) master cell after the last statement that defines ``function``."""
    tree = ast.parse(source)
    last = max(i for i, s in enumerate(tree.body) if isinstance(s, ast.FunctionDef) and s.name == function)
    return "\n".join(source.splitlines()[tree.body[last].end_lineno:])


def submission(exercise, source, path, demo=False):
    """The master notebook of ``exercise`` with its cell replaced by ``source`` (and, with ``demo``, the
    master cell's own demo lines after it); returns the path written."""
    notebook_id, entry = _where(exercise)
    nb = nbformat.read(MASTERS / f"{notebook_id}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == entry.grade_id)
    cell.source = source + ("\n\n" + _demo_lines(cell.source, entry.function) if demo else "")
    nbformat.write(nb, str(path))
    return path


def _expected_ids(key):
    """The ids a verdict names for the mistake ``key``: its GROUPS entry when it has one."""
    return next((tuple(sorted(g)) for g in judges.GROUPS if key in g), (key,))


def _by_grade_id(results):
    return {t["name"].rsplit("[", 1)[1].rstrip("]"): t for t in results["tests"]}


def assert_graded_as(results, key):
    """The exercise of ``key`` scores as ``key`` says (0 with its ids and hint, or full); every other
    exercise of the notebook scores full with no mistake id. Returns the exercise's test entry."""
    exercise = student_mistakes.exercise_of(key)
    notebook_id, entry = _where(exercise)
    assert_gradescope_schema(results)
    tests = _by_grade_id(results)
    assert set(tests) == {e.grade_id for e in notebook_specs()[notebook_id].exercises}
    for grade_id, test in tests.items():
        if grade_id != entry.grade_id:
            assert test["score"] == test["max_score"] and test["mistake_ids"] == [], (key, grade_id, test["output"])
    test = tests[entry.grade_id]
    if key in student_mistakes.CORRECT:
        assert test["score"] == entry.points and test["mistake_ids"] == [], (key, test["output"])
        assert "NameError" not in test["output"] and "stopped" not in test["output"], test["output"]
    else:
        ids = _expected_ids(key)
        assert test["score"] == 0.0 and test["status"] == "failed", (key, test["output"])
        assert set(ids) <= set(test["mistake_ids"]), (key, test["mistake_ids"], test["output"])
        assert any(mistake(i).hint in test["output"] for i in ids), (key, test["output"])
    return test


@pytest.mark.parametrize("key", SAMPLE_WRONG)
def test_a_catalogued_mistake_scores_zero_with_its_id_and_hint(tmp_path, key):
    """One wrong implementation per exercise: 0 for it, named by id with its hint; the rest full."""
    path = submission(student_mistakes.exercise_of(key), student_mistakes.WRONG[key][0], tmp_path / "s.ipynb")
    assert_graded_as(grade_notebook(path, fast_options(seed=1, wall=15)), key)


@pytest.mark.parametrize("key", SAMPLE_CORRECT)
def test_a_correct_variant_with_the_masters_demo_lines_scores_full(tmp_path, key):
    """A right answer unlike the master scores full; the master's demo line after it (which needs
    `parameters` or `mystery_report` from other cells in 02 and 03) is not reported."""
    path = submission(student_mistakes.exercise_of(key), student_mistakes.CORRECT[key], tmp_path / "s.ipynb",
                      demo=True)
    test = assert_graded_as(grade_notebook(path, fast_options(seed=1, wall=15)), key)
    assert test["output"].startswith("\u2714")


def test_the_masters_get_no_note_about_their_demo_lines():
    """Issue 15's complaint: correct, full-score 02 and 03 read "your cell stopped ... NameError: name
    'parameters' is not defined". The demo lines after the function still run (their output is shown),
    but a name of the notebook that the grader does not run is not an error."""
    for notebook_id in ("02_gradient_check_nd", "03_bug_hunt"):
        results = grade_notebook(MASTERS / f"{notebook_id}.ipynb", fast_options(seed=2, wall=15))
        assert results["score"] == notebook_specs()[notebook_id].max_score
        for test in results["tests"]:
            assert "NameError" not in test["output"] and "stopped" not in test["output"], test["output"]
            assert "not defined" not in test["output"]


def test_demo_lines_run_one_by_one_and_only_other_failures_get_a_note(tmp_path):
    """After the function, each top-level statement runs on its own: a missing notebook name is silent,
    a helper defined after it still exists, and a demo that fails for another reason gets a note that
    says it costs nothing."""
    source = ("def forward_propagation(x, theta):\n    return helper(x, theta)\n\n"
              "print(forward_propagation(x_from_another_cell, 1.0))\n"
              "def helper(x, theta):\n    return theta * x\n")
    path = submission("forward_propagation", source, tmp_path / "a.ipynb")
    test = _by_grade_id(grade_notebook(path, fast_options(wall=15)))["forward_propagation"]
    assert test["score"] == 1.0 and "NameError" not in test["output"] and "Note" not in test["output"]
    broken = "def forward_propagation(x, theta):\n    return theta * x\n\nprint(forward_propagation(1.0))\n"
    test = _by_grade_id(grade_notebook(submission("forward_propagation", broken, tmp_path / "b.ipynb"),
                                       fast_options(wall=15)))["forward_propagation"]
    assert test["score"] == 1.0
    assert "Note (not graded)" in test["output"] and "TypeError" in test["output"]


def test_unreadable_observations_score_zero_with_a_message(tmp_path):
    """A function that rewrites the judge's collection in the worker (hostile data) cannot pass: what comes
    back is decided by judges.decide in the grader, and data it cannot read is 0 with a message."""
    source = ("import course_utils.judges as _j\n"
              "_j.collect = lambda exercise, function, cases, **k: tuple({'kind': 'number'} for _ in cases)\n"
              "def forward_propagation(x, theta):\n    return theta * x\n")
    path = submission("forward_propagation", source, tmp_path / "s.ipynb")
    test = _by_grade_id(grade_notebook(path, fast_options(wall=15)))["forward_propagation"]
    assert test["score"] == 0.0 and test["mistake_ids"] == []
    assert "could not read" in test["output"]


#: Sources of ``student_mistakes.WRONG`` that use a name their notebook never defines (03's setup does not
#: import ``backward_propagation_n``): in the notebook, as in the grader, they raise NameError (score 0)
#: before the mistake they stand for can be seen. (key, index) -> the name.
NOT_IN_THE_NOTEBOOK = {("backward_propagation_fixed.calls_library", 1): "backward_propagation_n"}


@pytest.mark.slow
def test_every_implementation_graded_in_one_batch_agrees_with_the_public_judge(tmp_path):
    """Every WRONG and CORRECT implementation, each as its own submission in one batch (2 jobs): graded
    as its key says, and the public judge (the notebook's test) gives the same verdict and ids."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    rows = {}
    for n, (key, index, source) in enumerate(student_mistakes.implementations()):
        path = submission(student_mistakes.exercise_of(key), source, folder / f"s{n:03d}.ipynb",
                          demo=key in student_mistakes.CORRECT)
        rows[path] = (key, index, source)
    graded = dict(grade_directory(folder, tmp_path / "out", fast_options(seed=7, wall=20), jobs=2))
    assert set(graded) == set(rows)
    problems = []
    for path, (key, index, source) in sorted(rows.items()):
        exercise = student_mistakes.exercise_of(key)
        if (key, index) in NOT_IN_THE_NOTEBOOK:
            test = _by_grade_id(graded[path])[_where(exercise)[1].grade_id]
            name = NOT_IN_THE_NOTEBOOK[key, index]
            if not (test["score"] == 0.0 and f"name '{name}' is not defined" in test["output"]):
                problems.append((key, index, "expected a NameError", test["output"][:300]))
            continue
        try:
            test = assert_graded_as(graded[path], key)
        except AssertionError as exc:
            problems.append((key, index, str(exc)[:400]))
            continue
        public = judges.judge(exercise, student_mistakes.load(source, exercise))
        if public.passed != (test["score"] > 0) or list(public.mistake_ids) != test["mistake_ids"]:
            problems.append((key, index, "public judge disagrees", public.mistake_ids, test["mistake_ids"]))
    assert problems == []
    assert json.loads((tmp_path / "out" / "s000.json").read_text())["tests"]


@pytest.mark.parametrize("forkserver, namespaces", [("0", "1"), ("1", "0"), ("0", "0")])
def test_every_start_path_gives_the_same_verdict(tmp_path, monkeypatch, forkserver, namespaces):
    """A fresh process per exercise (AUTOGRADER_FORKSERVER=0) and no namespaces (AUTOGRADER_NAMESPACES=0)
    collect the same observations: the same score, ids and feedback as the fork server with namespaces."""
    key = "gradient_check_n.cost_cache_not_unpacked"  # its judge calls the function a second time
    path = submission(student_mistakes.exercise_of(key), student_mistakes.WRONG[key][0], tmp_path / "s.ipynb")
    reference = grade_notebook(path, fast_options(seed=3, wall=15))
    monkeypatch.setenv("AUTOGRADER_FORKSERVER", forkserver)
    monkeypatch.setenv("AUTOGRADER_NAMESPACES", namespaces)
    results = grade_notebook(path, fast_options(seed=3, wall=15))
    test = assert_graded_as(results, key)
    first = reference["tests"][0]
    assert (test["score"], test["mistake_ids"]) == (first["score"], first["mistake_ids"])
    assert test["output"].split("\n")[:2] == first["output"].split("\n")[:2]


def test_a_right_but_wasteful_check_still_fits_the_result_channel(tmp_path):
    """A gradient_check_n that also evaluates the cost at theta 20 times per entry (about 2,000
    evaluations per case, which the judge records) is right: it scores full, its observations travel
    compressed and fill no channel."""
    key = "gradient_check_n.correct_1"
    wasteful = student_mistakes.CORRECT[key].replace(
        "    def cost_at(i, step):\n",
        "    def cost_at(i, step):\n"
        "        for _ in range(10):\n"
        "            forward_propagation_n(X, Y, vector_to_dictionary(parameters_values, parameters))\n")
    assert wasteful != student_mistakes.CORRECT[key]
    path = submission("gradient_check_n", wasteful, tmp_path / "s.ipynb")
    assert_graded_as(grade_notebook(path, fast_options(seed=4, wall=30)), key)
