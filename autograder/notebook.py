"""Read a submitted notebook defensively and find its graded and setup cells.

A submission may be anything: an empty file, a PNG renamed ``.ipynb``, JSON that is not a notebook, a
notebook whose metadata was stripped or whose cells were deleted or duplicated. ``load_submission``
either returns a ``Submission`` or raises ``SubmissionError`` with a message written for the student.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

#: Submissions larger than this are refused (notebooks with many stored plots stay far below).
MAX_BYTES = 100 * 1024 * 1024

_MAGIC = re.compile(r"^(\s*)([%!].*)$")


class SubmissionError(ValueError):
    """The file cannot be graded; the message says why in a student's words."""


@dataclass
class Cell:
    """A code cell of a submission.

    Attributes
    ----------
    index : int, position in the notebook (0-based)
    source : str
    grade_id : str or None, from ``metadata.nbgrader``
    nbgrader : dict, the nbgrader metadata ({} when absent)
    """

    index: int
    source: str
    grade_id: object
    nbgrader: dict

    @property
    def is_setup(self):
        """True for a locked cell that is neither graded nor a solution (imports and data)."""
        g = self.nbgrader
        return bool(g.get("locked")) and not g.get("grade") and not g.get("solution")


@dataclass
class Submission:
    """A readable notebook.

    Attributes
    ----------
    path : Path
    notebook_id : str or None, from ``metadata.course.notebook``
    cells : list of Cell (code cells only)
    """

    path: Path
    notebook_id: object
    cells: list = field(default_factory=list)

    def cells_with_grade_id(self, grade_id):
        """list of Cell carrying this grade_id (more than one when a cell was duplicated)."""
        return [c for c in self.cells if c.grade_id == grade_id]

    def setup_cells(self):
        """list of Cell: the locked setup cells, in notebook order."""
        return [c for c in self.cells if c.is_setup]

    def cell_defining(self, function):
        """The last code cell (any metadata) whose source defines ``def function(``, or None."""
        pattern = re.compile(rf"^\s*def\s+{re.escape(function)}\s*\(", re.MULTILINE)
        found = [c for c in self.cells if pattern.search(c.source)]
        return found[-1] if found else None


def load_submission(path, max_bytes=MAX_BYTES):
    """Read and check a submitted notebook.

    Parameters
    ----------
    path : str or Path
    max_bytes : int, larger files are refused

    Returns
    -------
    Submission

    Raises
    ------
    SubmissionError naming the problem (missing, empty, too large, not JSON, not a notebook).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SubmissionError(f"the submission {path.name} cannot be read ({exc.strerror})") from None
    if not path.is_file():
        raise SubmissionError(f"{path.name} is not a file")
    if size == 0:
        raise SubmissionError(f"{path.name} is empty (0 bytes): save the notebook in Jupyter "
                              f"(File > Save) and submit the .ipynb file again")
    if size > max_bytes:
        raise SubmissionError(f"{path.name} is {size / 2**20:.0f} MB, more than the {max_bytes / 2**20:.0f} MB "
                              f"allowed: clear the outputs (Edit > Clear Outputs of All Cells), save, resubmit")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name} is not a notebook: it is not text (is it an image, a PDF or a "
                              f"zip file?). Submit the .ipynb file you worked on in Jupyter.") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise SubmissionError(f"{path.name} is not a valid notebook: its JSON is broken{where}. Was it "
                              f"edited outside Jupyter? Download it again from Jupyter and resubmit.") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook (it has no list of cells)")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        raise SubmissionError(f"{path.name} is not a notebook nbformat can read "
                              f"({type(exc).__name__}); download it again from Jupyter") from None
    metadata = nb.get("metadata", {}) if isinstance(nb.get("metadata"), dict) else {}
    course = metadata.get("course")
    notebook_id = course.get("notebook") if isinstance(course, dict) else None
    if not isinstance(notebook_id, str):
        notebook_id = None
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        if not isinstance(source, str):
            continue
        meta = cell.get("metadata", {})
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        nbg = dict(nbg) if isinstance(nbg, dict) else {}
        grade_id = nbg.get("grade_id") if isinstance(nbg.get("grade_id"), str) else None
        cells.append(Cell(index, source, grade_id, nbg))
    return Submission(path, notebook_id, cells)


def strip_magics(source):
    """Cell source with IPython magics and shell escapes (``%...``, ``!...``) commented out.

    Parameters
    ----------
    source : str

    Returns
    -------
    str, same number of lines (so error line numbers still match the notebook)
    """
    lines = []
    for line in source.splitlines():
        match = _MAGIC.match(line)
        lines.append(f"{match.group(1)}pass  # {match.group(2)}" if match else line)
    return "\n".join(lines)
