"""Write the student version of every master: ``python -m tools.release [--check] [NAME ...]``.

For each ``notebooks/source/NN_name.ipynb`` it writes ``notebooks/NN_name.ipynb`` in which

* every solution region (``### BEGIN SOLUTION`` ... ``### END SOLUTION``) of a solution cell becomes
  ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` at the fence's indentation (markdown answers
  become ``YOUR ANSWER HERE``); the code around the fences (the ``def`` line, the ``return``) is kept;
* every hidden-test region (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``) is removed;
* outputs, execution counts and the stored widget state are cleared; all other metadata (nbgrader,
  course) is kept.

The same master always gives the same bytes. ``--check`` writes nothing: it exits with status 1 and
names every student notebook that differs from what the release would write now (or has no master).
"""

import argparse
import copy
import json
import sys
from pathlib import Path

import nbformat

from tools.nbbuild import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    REPO_ROOT,
    NotebookBuildError,
    find_regions,
    notebook_text,
    validate,
)

SOURCE_DIR = REPO_ROOT / "notebooks" / "source"
STUDENT_DIR = REPO_ROOT / "notebooks"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"


class ReleaseError(Exception):
    """A master cannot be released; the message names the file, the problem and the fix."""


def read_notebook(path):
    """Read and validate a notebook file, with an error that says what is wrong and how to fix it.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    nbformat.NotebookNode

    Raises
    ------
    ReleaseError if the file is missing, not JSON, not a valid nbformat 4 notebook, or lacks the course
    metadata / has malformed nbgrader metadata.
    """
    path = Path(path)
    fix = (f"rebuild it with `make notebooks` (or restore it with `git checkout -- {path}`)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReleaseError(f"{path}: no such notebook") from None
    except UnicodeDecodeError as exc:
        raise ReleaseError(f"{path} is not a notebook (not UTF-8 text: {exc}); {fix}") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{path} is corrupt: it is not valid JSON ({exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno}); {fix}") from None
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat's NotJSONError / ValidationError and friends
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReleaseError(f"{path} is not a valid Jupyter notebook ({first}); {fix}") from None
    try:
        validate(nb)
    except NotebookBuildError as exc:
        raise ReleaseError(f"{path}: {exc}\nfix the build script in notebooks/build/ and run `make notebooks`") from None
    return nb


def _replace_regions(source, begin, end, replacement, where):
    """``source`` with each fenced region (fences included) replaced by ``replacement(indent)`` lines."""
    lines = source.splitlines()
    out, last = [], 0
    for i_begin, i_end, indent in find_regions(source, begin, end, where):
        out.extend(lines[last:i_begin])
        out.extend(replacement(indent))
        last = i_end + 1
    out.extend(lines[last:])
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def student_version(master):
    """The student notebook of a master (a new notebook; the master is not modified).

    Parameters
    ----------
    master : nbformat.NotebookNode, validated

    Returns
    -------
    nbformat.NotebookNode
    """
    nb = copy.deepcopy(master)
    nb.metadata.pop("widgets", None)  # widget state belongs to the outputs, which are cleared
    for i, cell in enumerate(nb.cells):
        grader = cell.metadata.get("nbgrader", {})
        where = f"cell {i} ({grader.get('grade_id', cell.get('id', ''))})"
        if grader.get("solution"):
            if cell.cell_type == "code":
                stub = lambda indent: [indent + line for line in CODE_STUB]  # noqa: E731
            else:
                stub = lambda indent: [indent + MARKDOWN_STUB]  # noqa: E731
            cell.source = _replace_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION, stub, where)
        if grader.get("grade") and not grader.get("solution"):
            cell.source = _replace_regions(cell.source, BEGIN_HIDDEN, END_HIDDEN, lambda indent: [], where)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)  # timestamps of the master's run
    return nb


def student_path(master_path, out_dir=None):
    """Where the student version of ``master_path`` goes: same file name in ``out_dir``."""
    master_path = Path(master_path)
    return Path(out_dir or master_path.parent.parent) / master_path.name


def masters(source_dir=SOURCE_DIR, names=None):
    """Master notebook paths in ``source_dir``, sorted; ``names`` filters by prefix ("01") or full name."""
    paths = sorted(Path(source_dir).glob("[0-9][0-9]_*.ipynb"))
    if names:
        wanted = [n.removesuffix(".ipynb") for n in names]
        paths = [p for p in paths if any(p.stem == w or p.stem.startswith(w + "_") for w in wanted)]
        if not paths:
            raise ReleaseError(f"no master in {source_dir} matches {list(names)}")
    return paths


def release(source_dir=SOURCE_DIR, out_dir=None, names=None, check=False):
    """Write (or with ``check``, compare) the student version of every master.

    Parameters
    ----------
    source_dir : Path holding the masters NN_name.ipynb
    out_dir : Path for the student versions (default: the parent of ``source_dir``)
    names : optional list of notebook names or number prefixes to release
    check : bool, write nothing; report what differs

    Returns
    -------
    list of str: in check mode, one line per student notebook that is out of date, missing or orphaned
        (empty when everything matches); otherwise the paths written.
    """
    source_dir = Path(source_dir)
    out_dir = Path(out_dir) if out_dir else source_dir.parent
    report = []
    paths = masters(source_dir, names)
    for master_path in paths:
        text = notebook_text(student_version(read_notebook(master_path)))
        target = student_path(master_path, out_dir)
        if check:
            if not target.exists():
                report.append(f"{target}: missing (run `make release`)")
            elif target.read_bytes() != text.encode("utf-8"):
                report.append(f"{target}: differs from the release of {master_path} (run `make release`)")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
            report.append(str(target))
    if check and not names:
        released = {p.name for p in paths}
        for orphan in sorted(out_dir.glob("[0-9][0-9]_*.ipynb")):
            if orphan.name not in released:
                report.append(f"{orphan}: has no master in {source_dir} (delete it or add its build script)")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.release", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to release, e.g. 01 or 02_gradient_check_nd (default: all)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a student notebook is out of date")
    parser.add_argument("--source", default=str(SOURCE_DIR), help="directory of the masters")
    parser.add_argument("--out", default=None, help="directory of the student versions (default: the masters' parent)")
    args = parser.parse_args(argv)
    try:
        report = release(args.source, args.out, args.names or None, check=args.check)
    except (ReleaseError, NotebookBuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if report:
            print("student notebooks out of date:\n  " + "\n  ".join(report), file=sys.stderr)
            return 1
        print("student notebooks are up to date")
        return 0
    for path in report:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
