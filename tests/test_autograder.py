"""Autograder core: fair scores for correct and wrong solutions, results schema, CLI, batch, specs.

Hostile submissions are in ``test_autograder_hostile.py``; the Gradescope bundle in
``test_autograder_bundle.py``.
"""

import csv
import inspect
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.class_report import REPORT_FILES
from autograder.grading import OUTCOMES, grade_notebook
from course_utils import judges
from course_utils.mistakes import mistake
from autograder.specs import notebook_specs
from tests import student_solutions
from tests.test_autograder_support import (
    SETUP_02,
    fast_options,
    make_notebook,
    submission_01,
    write_notebook,
)

ROOT = Path(__file__).resolve().parent.parent
MASTERS = ROOT / "notebooks" / "source"
GRADESCOPE_TEST_KEYS = {"name", "score", "max_score", "status", "output", "visibility"}
#: Our own keys in every test entry: catalogued mistake ids, and extra_data (Gradescope's place for a
#: test's own data) with the grader's outcome.
OWN_TEST_KEYS = {"mistake_ids", "extra_data"}


def _source(function, name):
    """Source of a student solution from tests/student_solutions.py, renamed to the exercise's name."""
    return inspect.getsource(function).replace(f"def {function.__name__}(", f"def {name}(", 1)


def _helpers_source():
    return inspect.getsource(student_solutions._loop)


def _submission_02(tmp_path, function, name="sub02.ipynb"):
    answer = _helpers_source() + "\n\n" + _source(function, "gradient_check_n")
    nb = make_notebook("02_gradient_check_nd", SETUP_02, {"gradient_check_n": answer})
    return write_notebook(nb, tmp_path / name)


def _tests(results):
    return {t["name"].rsplit("[", 1)[1].rstrip("]"): t for t in results["tests"]}


def assert_gradescope_schema(results):
    """The results follow Gradescope's schema: score, execution_time, output, tests with their keys."""
    assert isinstance(results["score"], float)
    assert isinstance(results["execution_time"], float) and results["execution_time"] >= 0
    assert isinstance(results["output"], str) and results["output"]
    for test in results["tests"]:
        assert GRADESCOPE_TEST_KEYS <= set(test)
        assert test["status"] in ("passed", "failed")
        assert 0 <= test["score"] <= test["max_score"]
        assert isinstance(test["mistake_ids"], list) and all(isinstance(i, str) for i in test["mistake_ids"])
        assert test["mistake_ids"] == [] or test["status"] == "failed"
        assert OWN_TEST_KEYS <= set(test) and test["extra_data"]["outcome"] in OUTCOMES
        assert (test["extra_data"]["outcome"] == "passed") == (test["status"] == "passed")
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    json.dumps(results, allow_nan=False)  # strictly valid JSON


# ---------------------------------------------------------------------------------------------------
# Fair scores
# ---------------------------------------------------------------------------------------------------

def test_correct_submission_gets_full_marks_and_explains_the_sandbox(tmp_path):
    """A correct notebook 01 scores every point; the output says how student code was run."""
    results = grade_notebook(submission_01(tmp_path), fast_options(wall=10))
    assert_gradescope_schema(results)
    assert results["score"] == 4.0 == results["extra_data"]["max_score"]
    assert all(t["status"] == "passed" for t in results["tests"])
    assert "Student code ran in a separate process" in results["output"]


def test_master_solutions_score_full_and_student_stubs_score_zero():
    """The masters' own solutions pass the hidden tests; the released stubs score 0 with 'not implemented'."""
    for notebook_id, spec in notebook_specs().items():
        master = MASTERS / f"{notebook_id}.ipynb"
        student = ROOT / "notebooks" / f"{notebook_id}.ipynb"
        if not master.is_file():
            continue
        results = grade_notebook(master, fast_options(wall=15))
        assert results["score"] == spec.max_score, results
        stub = grade_notebook(student, fast_options(wall=15))
        assert stub["score"] == 0.0
        assert all("not implemented yet" in t["output"] for t in stub["tests"])


def test_points_agree_with_the_masters_tests_cells():
    """Each exercise's points equal the nbgrader points of its master's tests cell (<grade_id>_tests)."""
    checked = 0
    for notebook_id, spec in notebook_specs().items():
        master = MASTERS / f"{notebook_id}.ipynb"
        if not master.is_file():
            continue
        nb = nbformat.read(master, as_version=4)
        points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
                  for c in nb.cells if "nbgrader" in c.metadata}
        for exercise in spec.exercises:
            assert exercise.grade_id in points, f"{notebook_id} has no cell {exercise.grade_id}"
            assert points[f"{exercise.grade_id}_tests"] == exercise.points
            checked += 1
    assert checked >= 4  # notebooks 01 and 02 exist


def test_one_mistake_is_not_punished_twice(tmp_path):
    """A wrong forward_propagation costs its own point only: gradient_check is graded with the reference."""
    results = grade_notebook(submission_01(tmp_path, forward_propagation=(
        "def forward_propagation(x, theta):\n    return theta + x\n")), fast_options())
    tests = _tests(results)
    assert tests["forward_propagation"]["score"] == 0.0
    assert tests["forward_propagation"]["mistake_ids"] == ["forward_propagation.added"]
    assert mistake("forward_propagation.added").hint in tests["forward_propagation"]["output"]
    assert tests["gradient_check"]["mistake_ids"] == []
    assert tests["backward_propagation"]["score"] == 1.0
    assert tests["gradient_check"]["score"] == 2.0
    assert results["score"] == 3.0


@pytest.mark.parametrize("student, mistake_id", [
    (student_solutions.gradient_check_divided_by_epsilon, "gradient_check.divided_by_epsilon"),
    (student_solutions.gradient_check_plus_twice, "gradient_check.plus_twice"),
    (student_solutions.gradient_check_no_denominator, "gradient_check.no_denominator"),
])
def test_usual_mistakes_in_gradient_check_score_zero_with_their_hint(tmp_path, student, mistake_id):
    """Each usual mistake loses the exercise; the results name it by its stable id, with its hint."""
    results = grade_notebook(submission_01(tmp_path, gradient_check=_source(student, "gradient_check")),
                             fast_options())
    test = _tests(results)["gradient_check"]
    assert test["score"] == 0.0 and test["status"] == "failed"
    assert test["mistake_ids"] == [mistake_id]
    assert mistake(mistake_id).hint in test["output"]


def test_a_check_that_always_reports_a_tiny_difference_scores_zero(tmp_path):
    """Hidden tests with a deliberately wrong derivative (and recording costs) defeat a constant answer."""
    results = grade_notebook(submission_01(tmp_path, gradient_check=_source(
        student_solutions.gradient_check_always_tiny, "gradient_check")), fast_options())
    test = _tests(results)["gradient_check"]
    assert test["score"] == 0.0
    assert "forward_propagation was never called" in test["output"]


def test_hard_coded_answer_scores_zero(tmp_path):
    """Random hidden inputs defeat an answer copied from the notebook's example output, or one that knows
    every public case by heart."""
    for name, source in (("eight.ipynb", "def forward_propagation(x, theta):\n    return 8.0\n"),
                         ("known.ipynb", HARD_CODED)):
        results = grade_notebook(submission_01(tmp_path, name, forward_propagation=source), fast_options())
        assert _tests(results)["forward_propagation"]["score"] == 0.0


def test_calling_the_librarys_own_implementation_scores_zero(tmp_path):
    """forward_propagation that delegates to course_utils.models.forward_propagation gets 0 and says why."""
    source = ("from course_utils.models import forward_propagation as _f\n"
              "def forward_propagation(x, theta):\n    return _f(x, theta)\n")
    results = grade_notebook(submission_01(tmp_path, forward_propagation=source), fast_options())
    test = _tests(results)["forward_propagation"]
    assert test["score"] == 0.0
    assert "library's own version" in test["output"]
    assert results["score"] == 3.0  # the other exercises still use the reference freely


def test_gradient_check_n_correct_and_mistakes(tmp_path):
    """Notebook 02: the correct loop scores 3; forgetting np.copy, or comparing gradapprox with itself, 0."""
    good = grade_notebook(_submission_02(tmp_path, student_solutions.gradient_check_n), fast_options(wall=15))
    assert good["score"] == 3.0, good["tests"][0]["output"]
    assert good["tests"][0]["mistake_ids"] == []
    for function, mistake_id in [(student_solutions.gradient_check_n_forgot_copy, "gradient_check_n.forgot_copy"),
                                 (student_solutions.gradient_check_n_self, "gradient_check_n.self_comparison")]:
        bad = grade_notebook(_submission_02(tmp_path, function, f"{function.__name__}.ipynb"), fast_options(wall=15))
        assert bad["score"] == 0.0
        assert bad["tests"][0]["mistake_ids"] == [mistake_id]
        assert mistake(mistake_id).hint in bad["tests"][0]["output"]


def test_check_gradients_from_the_library_is_refused_in_gradient_check_n(tmp_path):
    """gradient_check_n built on course_utils.gradcheck.check_gradients scores 0 with the reason."""
    source = ("from course_utils.gradcheck import check_gradients\n"
              "def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):\n"
              "    report = check_gradients(lambda p: forward_propagation_n(X, Y, p)[0], parameters, gradients)\n"
              "    return float(report.difference)\n")
    nb = make_notebook("02_gradient_check_nd", SETUP_02, {"gradient_check_n": source})
    results = grade_notebook(write_notebook(nb, tmp_path / "lib.ipynb"), fast_options(wall=15))
    assert results["score"] == 0.0
    assert "check_gradients" in results["tests"][0]["output"]


#: A forward_propagation that knows the public cases' answers by heart and returns 0 elsewhere.
HARD_CODED = ("def forward_propagation(x, theta):\n"
              "    known = {(2.0, 4.0): 8.0, (-1.5, 2.0): -3.0, (0.25, -7.0): -1.75, (3.0, 0.0): 0.0,\n"
              "             (-4.0, -0.5): 2.0}\n"
              "    return known.get((x, theta), 0.0)\n")


def _hidden_only(seed):
    """The randomised cases (not the public ones) of forward_propagation for ``seed``."""
    return [c for c in judges.cases("forward_propagation", "hidden", seed) if not c.public]


def test_feedback_never_reveals_hidden_expected_values(tmp_path):
    """Failing on a randomised case, the feedback shows its inputs and the student's value, not the
    expected value (public cases' expected values are the notebook's own)."""
    results = grade_notebook(submission_01(tmp_path, forward_propagation=HARD_CODED), fast_options(seed=5))
    output = _tests(results)["forward_propagation"]["output"]
    first = _hidden_only(5)[0]
    x, theta = first.args
    assert first.label in output and "returned 0" in output
    assert "expected" not in output
    for case in _hidden_only(5):
        x, theta = case.args
        assert f"{theta * x:.4g}" not in output.replace(first.label, "")


def test_seed_makes_grading_reproducible_and_differs_between_seeds(tmp_path):
    """The same seed draws the same hidden inputs; another seed draws others."""
    path = submission_01(tmp_path, forward_propagation=HARD_CODED)
    a = grade_notebook(path, fast_options(seed=11))
    b = grade_notebook(path, fast_options(seed=11))
    c = grade_notebook(path, fast_options(seed=12))
    out = lambda r: _tests(r)["forward_propagation"]["output"]
    assert out(a) == out(b)
    assert out(a) != out(c)
    assert a["extra_data"]["seed"] == 11 and c["extra_data"]["seed"] == 12


# ---------------------------------------------------------------------------------------------------
# CLI and batch
# ---------------------------------------------------------------------------------------------------

def _cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_cli_grade_writes_results_prints_summary_and_exits_zero(tmp_path):
    """`python -m autograder grade` writes the results file and a short summary; exit 0 whatever the score."""
    path = submission_01(tmp_path, backward_propagation="def backward_propagation(x, theta):\n    return theta\n")
    done = _cli("grade", str(path), "--results", str(tmp_path / "out" / "r.json"), "--timeout", "5")
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "out" / "r.json").read_text())
    assert_gradescope_schema(results)
    assert results["score"] == 3.0
    assert "3/4" in done.stdout and "FAIL" in done.stdout


def test_cli_grade_on_garbage_still_writes_results(tmp_path):
    """A PNG named .ipynb: results written with a clear message, exit 0, no traceback."""
    path = tmp_path / "photo.ipynb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    done = _cli("grade", str(path), "--results", str(tmp_path / "r.json"))
    assert done.returncode == 0
    assert "Traceback" not in done.stdout + done.stderr
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["score"] == 0.0 and "not a notebook" in results["output"]


def test_cli_reports_an_unwritable_results_path(tmp_path):
    """When the results cannot be written the CLI says so and exits 2 (no traceback)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = _cli("grade", str(submission_01(tmp_path)), "--results", str(blocker / "r.json"), "--timeout", "5")
    assert done.returncode == 2
    assert "could not write" in done.stderr and "Traceback" not in done.stderr


def test_batch_grades_a_folder_in_parallel_with_a_gradebook(tmp_path):
    """Every notebook gets its own results; the CSV has one row each; a bad file affects only its row."""
    folder = tmp_path / "submissions"
    (folder / "bob").mkdir(parents=True)
    submission_01(folder, "alice.ipynb")
    submission_01(folder / "bob", "bob.ipynb", gradient_check=_source(
        student_solutions.gradient_check_divided_by_epsilon, "gradient_check"))
    (folder / "carol.ipynb").write_text("{ not json")
    (folder / "notes.txt").write_text("not a submission")
    out = tmp_path / "results"
    done = _cli("batch", str(folder), "--results-dir", str(out), "--jobs", "2", "--timeout", "5")
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in out.glob("*.json") if p.name not in REPORT_FILES)
    assert files == ["alice.json", "bob%2Fbob.json", "carol.json"]
    rows = {r["submission"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert set(rows) == {"alice.ipynb", "bob/bob.ipynb", "carol.ipynb"}
    assert rows["alice.ipynb"]["score"] == "4" and rows["bob/bob.ipynb"]["score"] == "2"
    assert rows["carol.ipynb"]["score"] == "0" and "JSON" in rows["carol.ipynb"]["problem"]
    for name in files:
        assert_gradescope_schema(json.loads((out / name).read_text()))


def _fenced_lines(source, begin, end):
    """The non-blank lines strictly inside every begin/end fence of a cell source."""
    inside, lines = False, []
    for line in source.splitlines():
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def test_release_ships_no_hidden_tests_and_no_grader(tmp_path):
    """`make release` output and the committed student notebooks hold no hidden test and no solution line."""
    from tools.release import release

    release(out_dir=tmp_path)
    released = sorted(tmp_path.glob("*.ipynb"))
    committed = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert released and committed, "no student notebooks"
    secrets = []
    for master in sorted(MASTERS.glob("*.ipynb")):
        cells = nbformat.read(master, as_version=4).cells
        fenced, public = [], []
        for cell in cells:
            hidden = _fenced_lines(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
            solution = _fenced_lines(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
            fenced += hidden + solution
            public += [line for line in cell.source.splitlines() if line.strip() not in hidden + solution]
        # what the master also shows outside the fences (prose, examples) is public on purpose
        public_text = "\n".join(public)
        secrets += [line for line in fenced if line not in public_text and len(line) > 20]
    assert len(secrets) > 10
    for path in released + committed:
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        for marker in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "autograder", "def notebook_specs("):
            assert marker not in text, f"{path.name} contains {marker!r}"
        leaked = [line for line in secrets if line in text]
        assert leaked == [], f"{path.name} contains hidden or solution lines: {leaked[:3]}"
    # the library that ships to students does not import the grader (mentioning it in prose is fine)
    for module in (ROOT / "course_utils").glob("*.py"):
        imports = [line.replace(",", " ").split() for line in module.read_text().splitlines()
                   if line.lstrip().startswith(("import ", "from "))]
        assert not [w for words in imports for w in words[1:] if w.split(".")[0] == "autograder"], module.name


# ---------------------------------------------------------------------------------------------------
# Notebooks 03 and 04
# ---------------------------------------------------------------------------------------------------

def _master_cell_source(notebook_id, grade_id):
    nb = nbformat.read(MASTERS / f"{notebook_id}.ipynb", as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _graded(tmp_path, notebook_id, answers, name="x.ipynb"):
    setup = _master_cell_source(notebook_id, "setup")
    nb = make_notebook(notebook_id, setup, answers)
    return grade_notebook(write_notebook(nb, tmp_path / name), fast_options(wall=15))


def test_bug_hunt_exercises_catch_an_inverted_factor_and_a_remaining_bug(tmp_path):
    """03: k_from_report returning 1/k, and a backward pass with dW2 still doubled, each score 0 with the reason."""
    k_wrong = ("def k_from_report(report, name):\n    r = report.block(name).relative_difference\n"
               "    return float((1 - r) / (1 + r))\n")
    fixed = _master_cell_source("03_bug_hunt", "backward_propagation_fixed")
    lines = fixed.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("dW2 ="))  # the master's dW2 line
    indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())]
    still_buggy = "\n".join(lines[:at + 1] + [indent + "dW2 = 2 * dW2"] + lines[at + 1:]) + "\n"
    results = _graded(tmp_path, "03_bug_hunt", {"k_from_report": k_wrong, "backward_propagation_fixed": still_buggy})
    tests = {t["name"].rsplit("[", 1)[1].rstrip("]"): t for t in results["tests"]}
    assert results["score"] == 0.0
    assert tests["k_from_report"]["mistake_ids"] == ["k_from_report.always_smaller_case"]
    assert mistake("k_from_report.always_smaller_case").hint in tests["k_from_report"]["output"]
    assert "dW2 x2" in tests["backward_propagation_fixed"]["output"]
    good = _graded(tmp_path, "03_bug_hunt", {"backward_propagation_fixed": fixed}, "good.ipynb")
    assert {t["name"].rsplit("[", 1)[1].rstrip("]"): t["score"] for t in good["tests"]} == {
        "k_from_report": 0.0, "backward_propagation_fixed": 2.0}


@pytest.mark.parametrize("body, mistake_id", [
    ("u = float(np.finfo(dtype).eps)\n    return float(u ** (1 / 2) * scale)",
     "optimal_epsilon.centered_not_recognised"),
    ("u = float(np.finfo(dtype).eps)\n    p = 1 / 3 if method == 'centered' else 1 / 2\n    return float(u ** p)",
     "optimal_epsilon.no_scale"),
    ("u = float(np.finfo(np.float64).eps)\n    p = 1 / 3 if method == 'centered' else 1 / 2\n"
     "    return float(u ** p * scale)", "optimal_epsilon.float64_eps_always"),
])
def test_optimal_epsilon_mistakes(tmp_path, body, mistake_id):
    """04: the wrong power, a forgotten scale, float64's epsilon for float32: each named by its id."""
    source = f"def optimal_epsilon(dtype, method='centered', scale=1.0):\n    {body}\n"
    results = _graded(tmp_path, "04_choosing_epsilon", {"optimal_epsilon": source})
    assert results["score"] == 0.0
    assert results["tests"][0]["mistake_ids"] == [mistake_id]
    assert mistake(mistake_id).hint in results["tests"][0]["output"]


def test_the_grader_uses_only_public_names_of_the_course_library():
    """autograder/ imports no private name (`_x`) of course_utils, reaches no `module._x` attribute of it,
    and names no `course_utils...:_x` function for the worker: the judges' public API is the contract."""
    import ast

    found = []
    for path in sorted((ROOT / "autograder").glob("*.py")):
        tree = ast.parse(path.read_text())
        modules = set()  # local names bound to course_utils modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils"):
                found += [f"{path.name}: from {node.module} import {a.name}" for a in node.names
                          if a.name.startswith("_")]
                modules.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.Import):
                modules.update((a.asname or a.name).split(".")[0] for a in node.names
                               if a.name.startswith("course_utils"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                    and isinstance(node.value, ast.Name) and node.value.id in modules:
                found.append(f"{path.name}: {node.value.id}.{node.attr}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "course_utils" in node.value \
                    and ":_" in node.value:
                found.append(f"{path.name}: {node.value!r}")
    assert found == []
