"""Cell constructors and checks for authoring notebook masters with nbformat.

A build script (``notebooks/build/NN_name.py``) writes::

    from tools.nbbuild import code, exercise, md, notebook, setup, tests

    def build():
        return notebook("01_gradient_check_1d", [
            md("# Title ..."),
            setup("import numpy as np", grade_id="setup"),
            exercise('''def f(x):
        ### BEGIN SOLUTION
        y = 2 * x
        ### END SOLUTION
        return y''', grade_id="f"),
            tests("f_test(f)", grade_id="f_tests", points=1),
        ])

Cell kinds and their nbgrader metadata (``metadata.nbgrader``, schema_version 3)
-------------------------------------------------------------------------------
=========  =======  ========  ======  ==========================================================
kind       grade    solution  locked  meaning
=========  =======  ========  ======  ==========================================================
md, code   (none)   (none)    (none)  prose and ordinary code the student may run or change
setup      False    False     True    imports and data the rest of the notebook relies on
exercise   False    True      False   the student's answer (True/True when given points: graded
                                      by hand, nbgrader's "manually graded answer")
tests      True     False     True    public tests, optional hidden tests for the autograder
=========  =======  ========  ======  ==========================================================

Every nbgrader cell has ``grade_id`` (unique in its notebook, also used as the cell id) and ``points``.
The notebook's ``metadata.course = {"notebook": "NN_name"}`` tells the autograder which notebook a
submission is.
"""

import base64
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGES_DIR = REPO_ROOT / "images"

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"

NBGRADER_SCHEMA = 3
NOTEBOOK_ID = re.compile(r"^[0-9]{2}_[a-z0-9_]+$")
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # also a valid nbformat cell id
IMAGE_LINK = re.compile(r"!\[([^\]]*)\]\(images/([A-Za-z0-9_.-]+\.png)\)")

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class NotebookBuildError(ValueError):
    """A master notebook is malformed; the message names the cell and the fix."""


# ---------------------------------------------------------------------------------------------------
# Cell constructors
# ---------------------------------------------------------------------------------------------------

def _dedent(text):
    """Strip the common indentation and the leading/trailing blank lines of a triple-quoted string."""
    lines = text.strip("\n").splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines).rstrip()


def _nbgrader(grade_id, *, grade, solution, locked, points=0):
    if not isinstance(grade_id, str) or not GRADE_ID.match(grade_id):
        raise NotebookBuildError(f"grade_id {grade_id!r} is not valid: use 1-64 letters, digits, '-' or '_'")
    if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
        raise NotebookBuildError(f"points of {grade_id!r} must be a number >= 0, got {points!r}")
    return {"schema_version": NBGRADER_SCHEMA, "grade": grade, "solution": solution, "locked": locked,
            "grade_id": grade_id, "points": points}


def embed_images(text, images_dir=None):
    """Markdown ``text`` with every ``![alt](images/NAME.png)`` turned into a cell attachment.

    Parameters
    ----------
    text : str, markdown
    images_dir : Path, where NAME.png is read from (default: the repository's ``images/``)

    Returns
    -------
    text : str, with links rewritten to ``attachment:NAME.png``
    attachments : dict NAME.png -> {"image/png": base64 str} (empty when there is no image)
    """
    images_dir = Path(images_dir or IMAGES_DIR)
    attachments = {}

    def replace(match):
        alt, name = match.group(1), match.group(2)
        path = images_dir / name
        if not path.is_file():
            raise NotebookBuildError(f"the markdown links to images/{name}, which does not exist; "
                                     f"draw the figures first with `make figures`")
        attachments[name] = {"image/png": base64.b64encode(path.read_bytes()).decode("ascii")}
        return f"![{alt}](attachment:{name})"

    return IMAGE_LINK.sub(replace, text), attachments


def md(text):
    """A markdown cell; ``![alt](images/x.png)`` links are embedded as attachments."""
    source, attachments = embed_images(_dedent(text))
    cell = new_markdown_cell(source)
    if attachments:
        cell.attachments = attachments
    return cell


def code(src):
    """A plain code cell (no nbgrader metadata): examples the student runs and may change."""
    return new_code_cell(_dedent(src))


def setup(src, grade_id):
    """A locked code cell that the rest of the notebook relies on (imports, data)."""
    cell = new_code_cell(_dedent(src))
    cell.metadata.nbgrader = _nbgrader(grade_id, grade=False, solution=False, locked=True)
    return cell


def exercise(src, grade_id, points=0):
    """The student's answer cell: ``src`` holds the solution between BEGIN/END SOLUTION fences.

    With ``points=0`` (the default) it is an autograded answer: the points live on the ``tests`` cell
    that checks it. With ``points > 0`` it is graded itself (by hand, nbgrader's grade=True, solution=True).
    """
    source = _dedent(src)
    if BEGIN_SOLUTION not in source:
        raise NotebookBuildError(f"exercise {grade_id!r} has no {BEGIN_SOLUTION!r} / {END_SOLUTION!r} region; "
                                 f"fence the part of the answer the student must write")
    cell = new_code_cell(source)
    cell.metadata.nbgrader = _nbgrader(grade_id, grade=points > 0, solution=True, locked=False, points=points)
    return cell


def tests(src, grade_id, points):
    """A locked, graded test cell; code between BEGIN/END HIDDEN TESTS never reaches students."""
    cell = new_code_cell(_dedent(src))
    cell.metadata.nbgrader = _nbgrader(grade_id, grade=True, solution=False, locked=True, points=points)
    return cell


tests.__test__ = False  # not a pytest test, even when a test module imports it by this name




# ---------------------------------------------------------------------------------------------------
# Fenced regions
# ---------------------------------------------------------------------------------------------------

def find_regions(source, begin, end, where="cell"):
    """Line ranges of the fenced regions of ``source``.

    Parameters
    ----------
    source : str
    begin, end : str, the fence markers (each must be alone on its line, indentation allowed)
    where : str, how to name the cell in error messages

    Returns
    -------
    list of (i_begin, i_end, indent): line numbers of the two fence lines and the begin line's indentation

    Raises
    ------
    NotebookBuildError on a nested, unclosed or unopened fence.
    """
    regions, opened = [], None
    for i, line in enumerate(source.splitlines()):
        stripped = line.strip()
        if stripped == begin:
            if opened is not None:
                raise NotebookBuildError(f"{where}: {begin!r} on line {i + 1} opens a region inside the one "
                                         f"opened on line {opened[0] + 1}; close it with {end!r} first")
            opened = (i, line[: len(line) - len(line.lstrip())])
        elif stripped == end:
            if opened is None:
                raise NotebookBuildError(f"{where}: {end!r} on line {i + 1} closes no region; "
                                         f"add {begin!r} before it")
            regions.append((opened[0], i, opened[1]))
            opened = None
        elif begin in line or end in line:
            raise NotebookBuildError(f"{where}: line {i + 1} has a fence marker with other text; "
                                     f"put {begin!r} / {end!r} alone on their lines")
    if opened is not None:
        raise NotebookBuildError(f"{where}: {begin!r} on line {opened[0] + 1} is never closed; "
                                 f"add {end!r} after the solution")
    return regions


# ---------------------------------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------------------------------

def notebook(notebook_id, cells):
    """A master notebook from its cells: course metadata, kernelspec, deterministic cell ids; validated.

    Parameters
    ----------
    notebook_id : str, "NN_name", the file name without ``.ipynb``
    cells : list of cells from the constructors above

    Returns
    -------
    nbformat.NotebookNode (v4.5), without outputs
    """
    nb = new_notebook(cells=list(cells))
    nb.metadata.kernelspec = dict(KERNELSPEC)
    nb.metadata.language_info = {"name": "python"}
    nb.metadata.course = {"notebook": notebook_id}
    for i, cell in enumerate(nb.cells):
        grader = cell.metadata.get("nbgrader")
        cell.id = grader["grade_id"] if grader else f"{cell.cell_type[:2]}-{i:03d}"
    return validate(nb)


def validate(nb):
    """Check a master (or student) notebook's course and nbgrader metadata; return it unchanged.

    Raises
    ------
    NotebookBuildError listing every problem found, each with the cell it is in.
    """
    problems = []
    course = nb.get("metadata", {}).get("course")
    if not isinstance(course, dict) or not isinstance(course.get("notebook"), str) \
            or not NOTEBOOK_ID.match(course["notebook"]):
        problems.append(f"metadata.course must be {{'notebook': 'NN_name'}}, got {course!r}")
    seen_grade_ids, seen_ids = {}, {}
    for i, cell in enumerate(nb.cells):
        where = f"cell {i}"
        cid = cell.get("id")
        if cid is not None:
            if cid in seen_ids:
                problems.append(f"{where}: cell id {cid!r} is also the id of cell {seen_ids[cid]}")
            seen_ids[cid] = i
        grader = cell.get("metadata", {}).get("nbgrader")
        source = cell.get("source", "")
        if grader is None:
            for marker in (BEGIN_SOLUTION, BEGIN_HIDDEN):
                if marker in source:
                    problems.append(f"{where}: contains {marker!r} but has no nbgrader metadata; "
                                    f"build it with exercise() or tests()")
            continue
        where = f"cell {i} ({grader.get('grade_id', 'no grade_id')})"
        missing = [k for k in ("schema_version", "grade", "solution", "locked", "grade_id", "points")
                   if k not in grader]
        if missing:
            problems.append(f"{where}: nbgrader metadata lacks {missing}")
            continue
        if grader["schema_version"] != NBGRADER_SCHEMA:
            problems.append(f"{where}: nbgrader schema_version is {grader['schema_version']}, expected 3")
        for key in ("grade", "solution", "locked"):
            if not isinstance(grader[key], bool):
                problems.append(f"{where}: nbgrader {key} must be true or false, got {grader[key]!r}")
        gid = grader["grade_id"]
        if not isinstance(gid, str) or not GRADE_ID.match(gid):
            problems.append(f"{where}: grade_id {gid!r} must be 1-64 letters, digits, '-' or '_'")
        elif gid in seen_grade_ids:
            problems.append(f"{where}: grade_id {gid!r} is already used by cell {seen_grade_ids[gid]}; "
                            f"grade_ids must be unique in a notebook")
        else:
            seen_grade_ids[gid] = i
        if grader["grade"] and not (isinstance(grader["points"], (int, float)) and grader["points"] > 0):
            problems.append(f"{where}: a graded cell needs points > 0, got {grader['points']!r}")
        if grader["solution"] and grader["locked"]:
            problems.append(f"{where}: a solution cell cannot be locked")
        try:
            solutions = find_regions(source, BEGIN_SOLUTION, END_SOLUTION, where)
            hidden = find_regions(source, BEGIN_HIDDEN, END_HIDDEN, where)
        except NotebookBuildError as exc:
            problems.append(str(exc))
            continue
        if solutions and not grader["solution"]:
            problems.append(f"{where}: has a solution region but nbgrader solution is false")
        if hidden and not (grader["grade"] and not grader["solution"]):
            problems.append(f"{where}: hidden tests belong in a tests() cell (graded, not a solution)")
    if problems:
        raise NotebookBuildError("invalid notebook:\n  " + "\n  ".join(problems))
    return nb


def notebook_text(nb):
    """The file content of a notebook: nbformat's JSON (sorted keys), ending with one newline."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def write_notebook(nb, path):
    """Write ``nb`` to ``path`` deterministically (same notebook -> same bytes); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(notebook_text(nb), encoding="utf-8", newline="\n")
    return path
