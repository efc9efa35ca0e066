"""The student path: open the generated student notebook 1, solve the first exercise, pass its test."""

import re
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
STUDENT_01 = sorted((REPO / "notebooks").glob("01_*.ipynb"))
MASTER_01 = sorted((REPO / "notebooks" / "source").glob("01_*.ipynb"))
SUCCESS = re.compile(r"^✔", re.MULTILINE)


def first_exercise(student, master):
    """Index of the first exercise cell (a stub), its master solution, and the index of its test cell."""
    for index, cell in enumerate(student.cells):
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and grading.get("solution") and "NotImplementedError" in cell.source:
            solution = master.cells[index].source
            assert master.cells[index].metadata["nbgrader"]["grade_id"] == grading["grade_id"]
            solution = "\n".join(line for line in solution.splitlines()
                                 if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
            tests = next(i for i in range(index + 1, len(student.cells))
                         if student.cells[i].metadata.get("nbgrader", {}).get("grade"))
            return index, solution, tests
    raise AssertionError("the student notebook has no exercise stub (`raise NotImplementedError()`)")


def test_student_solves_the_first_exercise_of_notebook_1(open_copy):
    assert STUDENT_01 and MASTER_01, "notebooks/01_*.ipynb (student) or notebooks/source/01_*.ipynb missing"
    student = nbformat.read(STUDENT_01[0], as_version=4)
    master = nbformat.read(MASTER_01[0], as_version=4)
    exercise, solution, tests = first_exercise(student, master)

    lab = open_copy(STUDENT_01[0])
    # A student's first Run All stops at the stub, which says what to do; the test cell never runs.
    lab.run_all()
    lab.screenshot("student-run-all-stub")
    errors = lab.errors()
    assert any(e.startswith(f"cell {exercise}:") and "NotImplementedError" in e for e in errors), errors
    assert not SUCCESS.search(lab.cells()[tests]["text"])

    lab.replace_cell_source(exercise, solution)
    lab.screenshot("student-typed-solution")
    ran = lab.run_cell(exercise)
    assert not lab.errors([ran]), lab.errors([ran])
    result = lab.run_cell(tests)
    lab.screenshot("student-test-passed")
    assert not lab.errors([result]), lab.errors([result])
    assert SUCCESS.search(result["text"]), f"no line starting with ✔ in the test cell's output: {result['text']!r}"
