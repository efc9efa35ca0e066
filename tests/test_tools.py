"""Notebook authoring tools: nbgrader metadata, validation, image attachments, figures, stale masters."""

import base64
import importlib.util
import re
from pathlib import Path

import matplotlib.image
import nbformat
import numpy as np
import pytest

from tools import figures
from tools.nbbuild import (
    IMAGES_DIR,
    REPO_ROOT,
    NotebookBuildError,
    code,
    exercise,
    md,
    notebook,
    setup,
    tests,
    validate,
)

SOURCE = REPO_ROOT / "notebooks" / "source"
BUILD = REPO_ROOT / "notebooks" / "build"
MASTERS = sorted(SOURCE.glob("[0-9][0-9]_*.ipynb"))
STUDENTS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION = "def f(x):\n    ### BEGIN SOLUTION\n    y = 2 * x\n    ### END SOLUTION\n    return y"


def test_there_are_masters_and_student_versions_for_notebooks_1_and_2():
    names = {p.name for p in MASTERS}
    assert {"01_gradient_check_1d.ipynb", "02_gradient_check_nd.ipynb"} <= names
    assert names == {p.name for p in STUDENTS}


# --- cell constructors --------------------------------------------------------------------------------

def test_cell_constructors_write_nbgrader_schema_3_metadata():
    assert setup("import numpy", "setup").metadata.nbgrader == {
        "schema_version": 3, "grade": False, "solution": False, "locked": True, "grade_id": "setup", "points": 0}
    assert exercise(SOLUTION, "f").metadata.nbgrader == {
        "schema_version": 3, "grade": False, "solution": True, "locked": False, "grade_id": "f", "points": 0}
    assert tests("assert f(1) == 2", "f_tests", points=2).metadata.nbgrader == {
        "schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": "f_tests", "points": 2}
    # an exercise with points is graded itself (nbgrader's manually graded answer)
    assert exercise(SOLUTION, "g", points=1).metadata.nbgrader["grade"] is True
    assert "nbgrader" not in code("x = 1").metadata and "nbgrader" not in md("# t").metadata


def test_constructors_dedent_triple_quoted_sources():
    cell = code("""
        for i in range(2):
            print(i)
        """)
    assert cell.source == "for i in range(2):\n    print(i)"


def test_exercise_without_solution_fence_is_refused():
    with pytest.raises(NotebookBuildError, match="BEGIN SOLUTION"):
        exercise("def f(x):\n    return x", "f")


@pytest.mark.parametrize("grade_id", ["has space", "", "é", "x" * 65])
def test_invalid_grade_ids_are_refused(grade_id):
    with pytest.raises(NotebookBuildError, match="grade_id"):
        setup("import numpy", grade_id)


def test_notebook_sets_course_id_and_deterministic_cell_ids():
    nb = notebook("07_demo", [md("# Demo"), setup("import numpy", "setup"), exercise(SOLUTION, "f"),
                               tests("assert f(1) == 2", "f_tests", 1)])
    assert nb.metadata.course == {"notebook": "07_demo"}
    assert [c.id for c in nb.cells] == ["ma-000", "setup", "f", "f_tests"]
    nbformat.validate(nb)  # a valid nbformat 4.5 notebook
    assert nbformat.writes(nb) == nbformat.writes(notebook("07_demo", [
        md("# Demo"), setup("import numpy", "setup"), exercise(SOLUTION, "f"), tests("assert f(1) == 2", "f_tests", 1)]))


def test_duplicate_grade_ids_are_refused():
    with pytest.raises(NotebookBuildError, match="'f' is already used by cell 0"):
        notebook("07_demo", [exercise(SOLUTION, "f"), tests("assert f(1) == 2", "f", 1)])


@pytest.mark.parametrize("cells, message", [
    ([exercise("def f():\n    ### BEGIN SOLUTION\n    pass", "f")], "never closed"),
    ([exercise("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION", "f")], "inside the one"),
    ([exercise("### BEGIN SOLUTION\nx = 1  ### END SOLUTION", "f")], "alone on their lines"),
    ([code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")], "no nbgrader metadata"),
    ([tests("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "t", 1)], "nbgrader solution is false"),
    ([tests("assert True", "t", 0)], "points > 0"),
    ([exercise("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", "f")],
     "hidden tests belong in a tests"),
])
def test_malformed_masters_are_refused_with_the_reason(cells, message):
    with pytest.raises(NotebookBuildError, match=re.escape(message)):
        notebook("07_demo", cells)


def test_validate_requires_the_course_notebook_id():
    nb = notebook("07_demo", [md("# Demo")])
    del nb.metadata["course"]
    with pytest.raises(NotebookBuildError, match="metadata.course"):
        validate(nb)


def test_markdown_images_become_attachments_with_the_file_bytes():
    cell = md("![the model](images/model_1d.png)")
    assert cell.source == "![the model](attachment:model_1d.png)"
    data = base64.b64decode(cell.attachments["model_1d.png"]["image/png"])
    assert data == (IMAGES_DIR / "model_1d.png").read_bytes()


def test_a_missing_image_names_the_fix():
    with pytest.raises(NotebookBuildError, match="make figures"):
        md("![x](images/no_such_figure.png)")


# --- the committed masters ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", MASTERS + STUDENTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_committed_notebooks_have_valid_metadata_and_unique_grade_ids(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    validate(nb)
    assert nb.metadata.course["notebook"] == path.stem
    grade_ids = [c.metadata.nbgrader["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(grade_ids) == len(set(grade_ids)) and grade_ids
    kinds = [(c.metadata.nbgrader["solution"], c.metadata.nbgrader["grade"])
             for c in nb.cells if "nbgrader" in c.metadata]
    # every exercise is followed by its graded test cell before the next exercise
    for k, (solution, _) in enumerate(kinds):
        if solution:
            assert k + 1 < len(kinds) and kinds[k + 1] == (False, True), f"exercise {grade_ids[k]} has no test cell"


@pytest.mark.parametrize("path", MASTERS + STUDENTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_figure_is_embedded_and_matches_images_dir(path):
    nb = nbformat.read(path, as_version=4)
    shown = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        assert not re.search(r"\]\((\.\./)*images/", cell.source), "image links must be attachments"
        for name in re.findall(r"\(attachment:([^)]+)\)", cell.source):
            data = base64.b64decode(cell.attachments[name]["image/png"])
            assert data == (IMAGES_DIR / name).read_bytes(), f"{name} is stale: run `make notebooks`"
            shown += 1
    if path.stem in ("01_gradient_check_1d", "02_gradient_check_nd"):  # the notebooks with diagrams
        assert shown >= 1


def _load_build(script):
    spec = importlib.util.spec_from_file_location(f"_test_build_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


@pytest.mark.parametrize("script", sorted(BUILD.glob("[0-9][0-9]_*.py")), ids=lambda p: p.stem)
def test_masters_are_up_to_date_with_their_build_scripts(script):
    built = _load_build(script)
    stored = nbformat.read(SOURCE / f"{script.stem}.ipynb", as_version=4)
    assert [(c.cell_type, c.id, c.source, c.metadata.get("nbgrader"), c.get("attachments"))
            for c in built.cells] == \
           [(c.cell_type, c.id, c.source, c.metadata.get("nbgrader"), c.get("attachments"))
            for c in stored.cells], f"run `make notebooks NB={script.stem[:2]}`"
    # a master carries real outputs: every code cell was executed
    assert all(c.execution_count for c in stored.cells if c.cell_type == "code")


# --- figures ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(figures.FIGURES))
def test_figures_are_drawn_deterministically_and_match_the_committed_images(name, tmp_path):
    first = figures.save(figures.FIGURES[name](), tmp_path / "a.png").read_bytes()
    second = figures.save(figures.FIGURES[name](), tmp_path / "b.png").read_bytes()
    assert first == second
    drawn = matplotlib.image.imread(tmp_path / "a.png")
    committed = matplotlib.image.imread(IMAGES_DIR / name)
    assert drawn.shape == committed.shape, f"images/{name} is stale: run `make figures`"
    assert np.mean(np.abs(drawn - committed)) < 0.01, f"images/{name} is stale: run `make figures`"
    assert drawn[..., :3].std() > 0.05  # not a blank canvas


def test_figures_command_writes_every_image(tmp_path):
    assert figures.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == sorted(figures.FIGURES)


# --- nbval sanitizers ---------------------------------------------------------------------------------

def _sanitize(text):
    import configparser
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO_ROOT / "tests" / "nbval_sanitize.cfg", encoding="utf-8")
    assert config.sections(), "no sanitizer sections"
    for section in config.sections():
        text = re.sub(config[section]["regex"], config[section]["replace"], text)
    return text


@pytest.mark.parametrize("a, b", [
    ("<function f at 0x7f3a2c1b5e50>", "<function f at 0x55d1c0ffee00>"),
    ("<Figure size 640x480 with 1 Axes>", "<Figure size 1280x960 with 1 Axes>"),
    ("difference = 1.191e-07", "difference = 1.187e-07"),
    ("rel. error 9.939e-08  4.645e-10", "rel. error 9.941e-08  4.611e-10"),
])
def test_sanitizers_hide_what_changes_between_runs(a, b):
    assert a != b and _sanitize(a) == _sanitize(b)


@pytest.mark.parametrize("a, b", [
    ("difference = 2.851e-01", "difference = 2.852e-01"),  # a bug's size is compared
    ("relative difference 3.5e-05", "relative difference 3.6e-05"),
    ("<Figure size 640x480 with 1 Axes>", "<Figure size 640x480 with 2 Axes>"),
    ("passed 7 tests", "passed 8 tests"),
    # No output may depend on the machine's speed, so a timing or a progress bar is never hidden: one in
    # a stored output fails nbval instead of passing on a fast machine and not on a slow one.
    ("took 1.23 s", "took 0.98 s"),
    ("gradient check: 1%|1 | 1/94 [00:00<?, ?evals/s]", "gradient check: 2%|2 | 2/94 [00:01<01:10, 1.3evals/s]"),
])
def test_sanitizers_keep_what_the_notebooks_teach(a, b):
    assert _sanitize(a) != _sanitize(b)


# --- the build driver ---------------------------------------------------------------------------------

def test_build_master_checks_the_script_and_the_notebook_id(tmp_path):
    from tools.notebooks import build_master, build_scripts

    good = tmp_path / "07_demo.py"
    good.write_text("from tools.nbbuild import md, notebook\n"
                    "def build():\n    return notebook('07_demo', [md('# Demo')])\n", encoding="utf-8")
    assert build_master(good).metadata.course == {"notebook": "07_demo"}
    wrong_id = tmp_path / "08_other.py"
    wrong_id.write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(NotebookBuildError, match="must equal the script's name '08_other'"):
        build_master(wrong_id)
    no_build = tmp_path / "09_empty.py"
    no_build.write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(NotebookBuildError, match="has no build"):
        build_master(no_build)
    assert [p.name for p in build_scripts(tmp_path, ["07"])] == ["07_demo.py"]
    with pytest.raises(NotebookBuildError, match="no build script"):
        build_scripts(tmp_path, ["42"])


def test_stable_widget_ids_are_deterministic_and_keep_references():
    from tools.notebooks import WIDGET_STATE, stable_widget_ids

    def executed(ids):
        nb = nbformat.v4.new_notebook()
        nb.metadata["course"] = {"notebook": "99_demo"}
        box, slider = ids
        nb.metadata["widgets"] = {WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {
            box: {"model_name": "VBoxModel", "state": {"children": [f"IPY_MODEL_{slider}"]}},
            slider: {"model_name": "FloatSliderModel", "state": {"value": 1.0}}}}}
        cell = nbformat.v4.new_code_cell("w", id="widget-cell")
        cell.outputs = [nbformat.v4.new_output("execute_result", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": box, "version_major": 2, "version_minor": 0},
            "text/plain": "VBox()"}, execution_count=1)]
        nb.cells.append(cell)
        return nb

    first = stable_widget_ids(executed(["a" * 32, "b" * 32]))
    second = stable_widget_ids(executed(["c" * 32, "d" * 32]))  # another run: other random ids
    assert nbformat.writes(first) == nbformat.writes(second)
    state = first.metadata["widgets"][WIDGET_STATE]["state"]
    box, slider = list(state)
    assert "a" * 32 not in nbformat.writes(first)
    assert state[box]["state"]["children"] == [f"IPY_MODEL_{slider}"]
    view = first.cells[0].outputs[0]["data"]["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == box


def test_executed_masters_store_a_cell_s_prints_as_one_stream_whenever_the_kernel_flushed():
    """How prints are cut into stream messages depends on the kernel's flush timing; the stored output
    must not (a flush between two prints is what a slow machine does at random)."""
    from nbformat.v4 import new_code_cell, new_notebook

    from tools.notebooks import execute

    nb = new_notebook(cells=[new_code_cell("import sys\nprint('a')\nsys.stdout.flush()\nprint('b')")],
                      metadata={"course": {"notebook": "07_demo"}})
    outputs = execute(nb, REPO_ROOT).cells[0].outputs
    assert [(o.output_type, o.name, o.text) for o in outputs] == [("stream", "stdout", "a\nb\n")]
