"""The release tool: student versions lose the solutions and hidden tests, nothing else; deterministic."""

import shutil
import subprocess
import sys

import nbformat
import pytest

from tools.nbbuild import REPO_ROOT, exercise, md, notebook, notebook_text, setup, tests, write_notebook
from tools.release import ReleaseError, main, read_notebook, release, student_version

SOURCE = REPO_ROOT / "notebooks" / "source"
STUDENT_DIR = REPO_ROOT / "notebooks"


def _master():
    nb = notebook("07_demo", [
        md("# Demo"),
        setup("import numpy as np", "setup"),
        exercise('''
        def f(x):
            """Double x."""
            y = 0
            ### BEGIN SOLUTION
            y = 2 * x
            ### END SOLUTION
            return y

        def g(xs):
            out = []
            for x in xs:
                ### BEGIN SOLUTION
                out.append(x + 1)
                ### END SOLUTION
            return out

        print(f(2))
        ''', "f_and_g"),
        tests("""
        assert f(1) == 2
        ### BEGIN HIDDEN TESTS
        assert f(3) == 6
        ### END HIDDEN TESTS
        print("public part done")
        """, "f_tests", points=2),
    ])
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    nb.cells[1].execution_count = 4
    nb.cells[2].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def _python(*args, cwd=REPO_ROOT):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


# --- what a student version is ------------------------------------------------------------------------

def test_solution_regions_become_stubs_at_their_indentation_keeping_the_code_around_them():
    student = student_version(_master())
    assert student.cells[2].source == (
        'def f(x):\n    """Double x."""\n    y = 0\n'
        "    # YOUR CODE HERE\n    raise NotImplementedError()\n    return y\n\n"
        "def g(xs):\n    out = []\n    for x in xs:\n"
        "        # YOUR CODE HERE\n        raise NotImplementedError()\n    return out\n\n"
        "print(f(2))")


def test_hidden_tests_are_removed_and_public_tests_kept():
    student = student_version(_master())
    assert student.cells[3].source == 'assert f(1) == 2\nprint("public part done")'


def test_outputs_counts_timing_and_widget_state_are_cleared_metadata_kept():
    master = _master()
    student = student_version(master)
    for m, s in zip(master.cells, student.cells):
        assert s.metadata.get("nbgrader") == m.metadata.get("nbgrader")
        assert s.id == m.id
        if s.cell_type == "code":
            assert s.outputs == [] and s.execution_count is None
        assert "execution" not in s.metadata
    assert "widgets" not in student.metadata
    assert student.metadata.course == {"notebook": "07_demo"}
    # the master itself is untouched
    assert master.cells[1].outputs and "### BEGIN SOLUTION" in master.cells[2].source


def test_markdown_answers_become_your_answer_here():
    cell = md("Because\n### BEGIN SOLUTION\nthe step is 2 eps wide.\n### END SOLUTION")
    cell.metadata.nbgrader = {"schema_version": 3, "grade": True, "solution": True, "locked": False,
                              "grade_id": "why", "points": 1}
    student = student_version(notebook("07_demo", [cell]))
    assert student.cells[0].source == "Because\nYOUR ANSWER HERE"


@pytest.mark.parametrize("path", sorted(SOURCE.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_committed_student_versions_contain_no_solution_and_no_output(path):
    master = nbformat.read(path, as_version=4)
    student = nbformat.read(STUDENT_DIR / path.name, as_version=4)
    text = (STUDENT_DIR / path.name).read_text(encoding="utf-8")
    assert "### BEGIN" not in text and "### END" not in text
    assert len(student.cells) == len(master.cells)
    stubs = sum(c.source.count("raise NotImplementedError()") for c in student.cells if c.cell_type == "code")
    regions = sum(c.source.count("### BEGIN SOLUTION") for c in master.cells)
    assert stubs == regions > 0
    assert all(not c.outputs and c.execution_count is None for c in student.cells if c.cell_type == "code")


# --- determinism and --check --------------------------------------------------------------------------

def test_release_is_deterministic_and_matches_the_committed_student_versions(tmp_path):
    first = release(SOURCE, tmp_path / "a")
    second = release(SOURCE, tmp_path / "b")
    assert len(first) == len(second) >= 2
    for a in first:
        name = a.rsplit("/", 1)[-1]
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() == (STUDENT_DIR / name).read_bytes()


def test_check_passes_on_the_committed_files():
    result = _python("-m", "tools.release", "--check")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def _copy_tree(tmp_path):
    source = tmp_path / "notebooks" / "source"
    shutil.copytree(SOURCE, source)
    for path in STUDENT_DIR.glob("[0-9][0-9]_*.ipynb"):
        shutil.copy(path, tmp_path / "notebooks" / path.name)
    return source


def test_check_names_changed_missing_and_orphaned_student_notebooks(tmp_path, capsys):
    source = _copy_tree(tmp_path)
    out = tmp_path / "notebooks"
    changed = out / "01_gradient_check_1d.ipynb"
    changed.write_text(changed.read_text(encoding="utf-8").replace("YOUR CODE HERE", "my answer"), encoding="utf-8")
    (out / "02_gradient_check_nd.ipynb").unlink()
    shutil.copy(changed, out / "99_leftover.ipynb")
    assert main(["--check", "--source", str(source)]) == 1
    stderr = capsys.readouterr().err
    assert "01_gradient_check_1d.ipynb: differs" in stderr
    assert "02_gradient_check_nd.ipynb: missing" in stderr
    assert "99_leftover.ipynb: has no master" in stderr
    # and the release repairs the first two
    assert main(["--source", str(source)]) == 0
    (out / "99_leftover.ipynb").unlink()
    assert main(["--check", "--source", str(source)]) == 0


def test_release_of_one_notebook_by_number(tmp_path):
    written = release(SOURCE, tmp_path, names=["02"])
    assert [p.rsplit("/", 1)[-1] for p in written] == ["02_gradient_check_nd.ipynb"]
    with pytest.raises(ReleaseError, match="no master"):
        release(SOURCE, tmp_path, names=["42"])


# --- bad input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    ('{"cells": [{"cell_type": "code", "source": "x = ', "is corrupt: it is not valid JSON"),
    ('{"hello": "world"}', "is not a valid Jupyter notebook"),
    ("", "is corrupt: it is not valid JSON"),
])
def test_a_corrupt_master_gives_a_clear_error_naming_file_and_fix(tmp_path, capsys, content, message):
    source = tmp_path / "notebooks" / "source"
    source.mkdir(parents=True)
    (source / "05_broken.ipynb").write_text(content, encoding="utf-8")
    assert main(["--source", str(source)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: ") and "05_broken.ipynb" in stderr and message in stderr
    assert "make notebooks" in stderr
    assert not (tmp_path / "notebooks" / "05_broken.ipynb").exists()


def test_a_master_without_course_metadata_is_refused(tmp_path):
    nb = _master()
    del nb.metadata["course"]
    path = tmp_path / "source" / "07_demo.ipynb"
    write_notebook(nb, path)
    with pytest.raises(ReleaseError, match="metadata.course"):
        read_notebook(path)


def test_a_master_with_duplicate_grade_ids_is_refused(tmp_path):
    nb = _master()
    nb.cells[3].metadata.nbgrader["grade_id"] = "f_and_g"
    path = tmp_path / "source" / "07_demo.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(notebook_text(nb), encoding="utf-8")
    with pytest.raises(ReleaseError, match="grade_id 'f_and_g' is already used"):
        read_notebook(path)
