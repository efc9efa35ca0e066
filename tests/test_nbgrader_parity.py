"""nbgrader and our autograder give the same scores, because both ask the same judges (issue 15).

A real ``nbgrader`` round trip in a temporary course directory: ``generate_assignment`` on master 01
(whose hidden-test cells call ``judges.judge(..., cases="hidden", rng=judges.COURSE_SEED)``), two
submissions that never saw the hidden tests (a correct one, and one with catalogued mistakes in two
exercises), ``autograde`` (nbgrader restores the hidden tests from its gradebook), then the scores per
exercise read from nbgrader's gradebook are compared with ``python -m autograder grade --seed
COURSE_SEED`` on the same files. Where a mistake costs points, nbgrader's failing cell shows the same
catalogue hint the autograder's output gives.

Needs the ``nbgrader`` extra (``make test-slow`` installs it).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils import judges
from course_utils.mistakes import mistake

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_gradient_check_1d"
#: (exercise, the master's solution line, the student's line, the catalogued mistake it makes)
MISTAKES = (("forward_propagation", "J = theta * x", "J = theta + x", "forward_propagation.added"),
            ("gradient_check", "gradapprox = (J_plus - J_minus) / (2 * epsilon)",
             "gradapprox = (J_plus - J_minus) / epsilon", "gradient_check.divided_by_epsilon"))


def _run(args, cwd):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


def _submission(master, wrong=()):
    """The master as a student hands it in: hidden tests gone (students never see them), solutions
    written in, with the given (solution line, student line) replacements."""
    nb = nbformat.read(master, as_version=4)
    for cell in nb.cells:
        lines, hidden = [], False
        for line in cell.source.splitlines():
            marker = line.strip()
            if marker == "### BEGIN HIDDEN TESTS":
                hidden = True
            elif marker == "### END HIDDEN TESTS":
                hidden = False
            elif not hidden:
                for right, typo in wrong:
                    if marker == right:
                        line = line.replace(right, typo)
                lines.append(line)
        cell.source = "\n".join(lines)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _nbgrader_scores(course, student):
    """grade_id -> (score, max_score) and grade_id -> the text of the autograded test cell's outputs."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, "ps1", student)
        scores = {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}
    graded = nbformat.read(course / "autograded" / student / "ps1" / f"{NOTEBOOK}.ipynb", as_version=4)
    outputs = {}
    for cell in graded.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            outputs[grade_id] = "\n".join(str(o.get("evalue", "")) + str(o.get("text", "")) for o in cell.outputs)
    return scores, outputs


def _autograder_scores(path, results):
    """exercise -> (score, max_score, output, mistake ids) from ``python -m autograder grade``."""
    _run(["-m", "autograder", "grade", str(path), "--results", str(results), "--seed", str(judges.COURSE_SEED)],
         ROOT)
    found = {}
    for test in json.loads(results.read_text())["tests"]:
        exercise = re.search(r"\[(\w+)\]$", test["name"]).group(1)
        found[exercise] = (test["score"], test["max_score"], test["output"], tuple(test.get("mistake_ids", ())))
    return found


def test_nbgrader_and_the_autograder_agree_per_exercise(tmp_path):
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        pytest.fail("needs the nbgrader extra: pip install -e '.[nbgrader]' (make test-slow installs it)")
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "gc"\n'
                                               'c.ExecutePreprocessor.timeout = 300\n')
    master = ROOT / "notebooks" / "source" / f"{NOTEBOOK}.ipynb"
    nbformat.write(nbformat.read(master, as_version=4), course / "source" / "ps1" / f"{NOTEBOOK}.ipynb")
    _run(["-m", "nbgrader", "generate_assignment", "ps1", "--force"], course)
    submissions = {"right": _submission(master), "wrong": _submission(master, [m[1:3] for m in MISTAKES])}
    for student, nb in submissions.items():
        _run(["-m", "nbgrader", "db", "student", "add", student], course)
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
    _run(["-m", "nbgrader", "autograde", "ps1"], course)

    for student in submissions:
        nbgrader_scores, nbgrader_outputs = _nbgrader_scores(course, student)
        ours = _autograder_scores(course / "submitted" / student / "ps1" / f"{NOTEBOOK}.ipynb",
                                  tmp_path / f"{student}.json")
        assert set(nbgrader_scores) == {f"{exercise}_tests" for exercise in ours}, student
        for exercise, (score, max_score, output, ids) in ours.items():
            assert nbgrader_scores[f"{exercise}_tests"] == (score, max_score), (student, exercise, output)
        wrong = {m[0]: m[3] for m in MISTAKES} if student == "wrong" else {}
        for exercise, (score, max_score, output, ids) in ours.items():
            if exercise in wrong:  # the mistake costs its exercise's points, once, named the same way
                assert score == 0 and wrong[exercise] in ids, (exercise, output)
                hint = mistake(wrong[exercise]).hint
                assert hint in output and hint in nbgrader_outputs[f"{exercise}_tests"], exercise
            else:
                assert score == max_score > 0, (student, exercise, output)
