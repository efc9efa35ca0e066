"""Notebook 03 (bug hunt): the master is up to date and carries its outputs; the student version, solved
with the master's solutions, runs clean; as released, its graded cells fail with the "not implemented"
message; the hidden bugs are the catalogue's and the checker localises them.

nbval (``make test``) compares the master's stored outputs; the release round trip of every master is
in ``test_release.py``. Notebook helpers (solution parser, kernel client) are shared with
``test_notebooks.py``.
"""

import contextlib
import importlib.util

import numpy as np
import pytest

from course_utils.bugs import check_backward, touched_blocks, written_out
from course_utils.testcases import gradient_check_n_test_case
from tests.test_notebooks import Session, _client, _errors, _grader, _master, _solved, _stdout, _student
from tools.nbbuild import REPO_ROOT
from tools.notebooks import build_master

NAME = "03_bug_hunt"
SCRIPT = REPO_ROOT / "notebooks" / "build" / f"{NAME}.py"


def _build_module():
    spec = importlib.util.spec_from_file_location("_build_03", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(nb, needle):
    """The one code cell whose source contains ``needle``."""
    found = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert len(found) == 1, f"{len(found)} cells contain {needle!r}"
    return found[0]


@pytest.fixture(scope="module")
def solved_run():
    nb = _solved(NAME)
    _client(nb).execute()
    return nb


@pytest.fixture(scope="module")
def stub_run():
    """The student version as released, run as far as its last graded cell (what the tests read)."""
    nb = _student(NAME)
    with contextlib.ExitStack() as stack:
        Session(nb, stack).upto(max(i for i, c in enumerate(nb.cells) if _grader(c).get("grade")))
    return nb


def test_master_matches_its_build_script():
    built = build_master(SCRIPT)
    stored = _master(NAME)
    assert [c.source for c in built.cells] == [c.source for c in stored.cells], \
        "notebooks/source/03_bug_hunt.ipynb is stale: run `make notebooks NB=03`"


def test_master_carries_real_outputs():
    nb = _master(NAME)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count, f"cell never executed: {cell.source[:60]!r}"
        if any(word in cell.source for word in ("print(", "plot_report(", "bug_hunt_widget()")):
            assert cell.outputs, f"cell without outputs: {cell.source[:60]!r}"
        assert not _errors(cell), f"cell raised: {cell.source[:60]!r}"
    plots = [c for c in nb.cells if c.cell_type == "code" and "plot_report(" in c.source]
    assert len(plots) == 3
    for cell in plots:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), "a report plot has no picture"
    widget = _cell(nb, "bug_hunt_widget()")
    assert widget.source.startswith("# NBVAL_IGNORE_OUTPUT")
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in widget.outputs)
    # the kink section's stored numbers: a false alarm flagged, then cleared two ways
    assert "kinks at: W1[0, 0]" in _stdout(_cell(nb, "kinks at:"))
    summary = _stdout(_cell(nb, "smaller_step = "))
    assert "epsilon = 1e-7             passed  kinks: 0" in summary
    assert "another point              passed  kinks: 0" in summary
    assert "a real bug at the kink's point: failed" in summary
    # a viewer without widgets (un-run notebook, nbconvert, GitHub) sees the widget's picture, not VBox(...)
    still = next(o for o in widget.outputs if "image/png" in o.get("data", {}))
    assert still["data"]["text/plain"].startswith("Bug-hunt widget")


def test_every_image_and_figure_has_alt_text():
    """Markdown images carry their alt text; figure outputs carry it in their image/png metadata (the
    IPython convention nbconvert's classic template reads) and as their text/plain; the classic HTML
    export then has no image without alt. (nbconvert's lab template and JupyterLab 4 do not read the
    metadata yet: their <img> gets no alt from any output field.)"""
    import re

    from nbconvert import HTMLExporter

    nb = _master(NAME)
    markdown_alts = [alt for c in nb.cells if c.cell_type == "markdown" for alt in re.findall(r"!\[([^\]]*)\]", c.source)]
    assert all(alt.strip() for alt in markdown_alts)
    pngs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 4  # three report figures and the widget's still image
    for output in pngs:
        alt = output["metadata"]["image/png"]["alt"]
        assert alt.strip() and output["data"]["text/plain"] == alt
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    assert "No description has been provided" not in html
    assert html.count("<img alt=") >= 3  # the report figures (the widget shows from its stored state)


def test_hidden_bugs_are_from_the_catalogue_and_localised():
    module = _build_module()
    hidden = module.hidden_bugs()
    assert len(hidden) == module.N_HIDDEN and set(hidden) <= set(module.HIDDEN_POOL)
    assert module.hidden_bugs() == hidden  # the fixed seed gives the same draw every time
    student = _student(NAME)
    source = _cell(student, "def backward_propagation_buggy").source
    assert source.strip() == written_out(hidden, name="backward_propagation_buggy").strip()
    namespace = {"np": np}
    exec(source, namespace)
    report = check_backward(namespace["backward_propagation_buggy"])
    _, _, parameters = gradient_check_n_test_case()
    assert set(report.failing_blocks()) == set(touched_blocks(list(hidden), parameters))


def test_solved_student_version_runs_clean_and_passes_its_tests(solved_run):
    for cell in solved_run.cells:
        if cell.cell_type == "code":
            assert not _errors(cell), f"{cell.source[:80]!r} raised {_errors(cell)[0].get('ename')}"
    graded = [c for c in solved_run.cells if _grader(c).get("grade")]
    assert len(graded) == 2
    for cell in graded:
        assert _stdout(cell).startswith("\u2714"), _stdout(cell)
    assert "PASSED" in _stdout(_cell(solved_run, "def backward_propagation_fixed"))


def test_released_stubs_fail_with_a_clear_message(stub_run):
    graded = [c for c in stub_run.cells if _grader(c).get("grade")]
    for cell in graded:
        errors = _errors(cell)
        assert errors, f"a graded cell passed without an answer: {cell.source[:60]!r}"
    fixed_tests = _cell(stub_run, "bug_hunt_test(backward_propagation_fixed)")
    error = _errors(fixed_tests)[0]
    assert error["ename"] == "ExerciseFailure"
    assert "not implemented yet" in error["evalue"]
    # the parts before the exercises work without any answer: the hunt can start
    assert "FAILED" in _stdout(_cell(stub_run, "buggy_report = check_backward"))
