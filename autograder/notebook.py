"""Read a submitted notebook defensively and find its graded and setup cells.

A submission may be anything: an empty file, a PNG renamed ``.ipynb``, JSON that is not a notebook, a
notebook whose metadata was stripped or whose cells were deleted or duplicated, a link, a FIFO, a file of
900,000 tiny cells or of 100 MB. ``load_submission`` either returns a ``Submission`` or raises
``SubmissionError`` with a message written for the student. Every step on the file's bytes is bounded
before it starts: the size (``MAX_BYTES``), the number of JSON values (estimated by counting separators,
one linear pass, before parsing), the number of cells and the amount of code; the scans of cell sources
are single linear passes (no regular expression runs on student text).
"""

import json
import os
import stat
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

# jsonschema (under nbformat) imports the optional IRI checker rfc3987-syntax when it is installed, which
# compiles a grammar at import (seconds); the notebook schema never uses that format, so it is not loaded.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402

__all__ = ["MAX_BYTES", "MAX_CELLS", "MAX_CODE_CHARS", "MAX_ID_CHARS", "Cell", "Submission", "SubmissionError",
           "load_submission", "strip_magics", "defined_functions", "shorten", "printable"]

#: Submissions larger than this are refused (notebooks with many stored plots stay far below).
MAX_BYTES = 100 * 1024 * 1024
#: At most this many JSON values (objects, arrays, list items) are parsed (a notebook of the course: ~2,000).
MAX_JSON_ITEMS = 1_000_000
MAX_CELLS = 2_000
#: Code of all code cells together (the course's notebooks hold under 100 KB).
MAX_CODE_CHARS = 4 * 1024 * 1024
#: Longest notebook id or grade_id kept as it is (longer ones are cut, and never match).
MAX_ID_CHARS = 120

_BINARY = ((b"\x89PNG", "a PNG image"), (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a zip archive"),
           (b"\x1f\x8b", "a gzip archive"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"))


class SubmissionError(ValueError):
    """The file cannot be graded; the message says why in a student's words."""


def shorten(value, limit=MAX_ID_CHARS):
    """A bounded, printable repr of a value taken from a submission (for messages and gradebooks).

    Parameters
    ----------
    value : object, usually a str from the notebook's metadata
    limit : int, characters kept

    Returns
    -------
    str
    """
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"... ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit + 2 else text[:limit] + "..."


def printable(text, limit=200):
    """``text`` (a file name, maybe with undecodable bytes) as printable UTF-8, bounded.

    Bytes that are not UTF-8 (kept by Python as surrogates) appear as ``\\xNN``; control characters as
    ``?``. Never raises.

    Parameters
    ----------
    text : str or bytes
    limit : int, characters kept

    Returns
    -------
    str
    """
    if isinstance(text, bytes):
        raw = text
    else:
        raw = str(text).encode("utf-8", errors="surrogateescape")
    out = raw[: limit * 4].decode("utf-8", errors="backslashreplace")
    out = "".join(ch if ch.isprintable() else "?" for ch in out[:limit])
    return out if len(raw) <= limit else out + "..."


@dataclass
class Cell:
    """A code cell of a submission.

    Attributes
    ----------
    index : int, position in the notebook (0-based)
    source : str
    grade_id : str or None, from ``metadata.nbgrader`` (cut to ``MAX_ID_CHARS``)
    nbgrader : dict, the nbgrader metadata ({} when absent)
    defines : frozenset of str, names of the functions the cell defines at the start of a line
    """

    index: int
    source: str
    grade_id: object
    nbgrader: dict
    defines: frozenset = frozenset()

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
    notebook_id : str or None, from ``metadata.course.notebook`` (cut to ``MAX_ID_CHARS``)
    cells : list of Cell (code cells only)
    notes : list of str, what was repaired while reading (shown to the student)
    """

    path: Path
    notebook_id: object
    cells: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def cells_with_grade_id(self, grade_id):
        """list of Cell carrying this grade_id (more than one when a cell was duplicated)."""
        return [c for c in self.cells if c.grade_id == grade_id]

    def setup_cells(self):
        """list of Cell: the locked setup cells, in notebook order."""
        return [c for c in self.cells if c.is_setup]

    def cell_defining(self, function):
        """The last code cell (any metadata) whose source defines ``def function(``, or None."""
        found = [c for c in self.cells if function in c.defines]
        return found[-1] if found else None


def defined_functions(source):
    """Names of the functions defined by ``def name(`` lines of ``source`` (one linear pass).

    Parameters
    ----------
    source : str

    Returns
    -------
    frozenset of str
    """
    names, pos, n = set(), source.find("def"), len(source)
    while pos >= 0:
        start = source.rfind("\n", 0, pos) + 1
        end = source.find("\n", pos)
        end = n if end < 0 else end
        head = source[start:end].lstrip(" \t")
        if head.startswith("def") and head[3:4] in (" ", "\t"):
            rest = head[3:].lstrip(" \t")
            k = 0
            while k < len(rest) and (rest[k].isalnum() or rest[k] == "_"):
                k += 1
            if k and rest[k:].lstrip(" \t").startswith("("):
                names.add(rest[:k])
        pos = source.find("def", end)
    return frozenset(names)


def _read_bytes(path, max_bytes):
    """The file's bytes: never through a link, never blocking on a FIFO, only a regular file, bounded."""
    name = path.name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if os.path.islink(path):
            raise SubmissionError(f"{name} is a symbolic link, not a notebook: submit the .ipynb file "
                                  f"itself") from None
        raise SubmissionError(f"the submission {name} cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError(f"{name} is not a regular file (a folder, a pipe or a device): submit "
                                  f"the .ipynb file itself")
        if info.st_size == 0:
            raise SubmissionError(f"{name} is empty (0 bytes): save the notebook in Jupyter "
                                  f"(File > Save) and submit the .ipynb file again")
        if info.st_size > max_bytes:
            raise SubmissionError(_too_large(name, info.st_size, max_bytes))
        raw = bytearray(info.st_size + 1)  # one buffer, filled in place (no second copy)
        view, filled = memoryview(raw), 0
        while filled < len(raw):
            count = os.readv(fd, [view[filled:]])
            if count == 0:
                break
            filled += count
        view.release()
        del raw[filled:]
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise SubmissionError(_too_large(name, len(raw), max_bytes))
    return raw


def _too_large(name, size, max_bytes):
    return (f"{name} is {size / 2**20:.0f} MB, more than the {max_bytes / 2**20:.0f} MB allowed: clear the "
            f"outputs (Edit > Clear Outputs of All Cells), save, resubmit")


def _decode(raw, name, notes):
    """Text of the notebook; a few stray non-UTF-8 bytes are replaced (with a note), binary files refused."""
    for magic, kind in _BINARY:
        if raw.startswith(magic):
            raise SubmissionError(f"{name} is not a notebook: it is {kind}. Submit the .ipynb file you "
                                  f"worked on in Jupyter (File > Download in JupyterLab).")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SubmissionError(f"{name} was saved as UTF-16 text by another editor; Jupyter notebooks are "
                              f"UTF-8. Open the original in Jupyter, save it there, and resubmit.")
    if raw.startswith(b"\xef\xbb\xbf"):
        del raw[:3]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not raw.lstrip()[:1] == b"{":
            raise SubmissionError(f"{name} is not a notebook: it is not text (is it an image, a PDF or a "
                                  f"zip file?). Submit the .ipynb file you worked on in Jupyter.") from None
        notes.append(f"Note: {name} contains bytes that are not UTF-8 (the first at byte {exc.start:,}), as "
                     f"when a file is edited with another program; they were replaced by '\ufffd'. Save "
                     f"the notebook from Jupyter to avoid this.")
        return raw.decode("utf-8", errors="replace")


def _check_items(raw, name):
    """Refuse a file with too many JSON values, from one counting pass over its bytes (before decoding)."""
    items = raw.count(b",") + raw.count(b"{") + raw.count(b"[")
    if items > MAX_JSON_ITEMS:
        raise SubmissionError(f"{name} holds about {items:,} JSON values, far more than a notebook of this "
                              f"course ({MAX_JSON_ITEMS:,} at most): was data pasted into it or generated? "
                              f"Clear the outputs, delete the extra cells, save and resubmit.")


def _parse(text, name):
    """The notebook's JSON (its number of values already bounded by ``_check_items``)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise SubmissionError(f"{name} is not a valid notebook: its JSON is broken{where}. Was it "
                              f"edited outside Jupyter? Download it again from Jupyter and resubmit.") from None


def _as_v4(data, text, name):
    """An nbformat-4 NotebookNode from parsed JSON (nbformat 3 converted), validated, with bounded cells."""
    if not isinstance(data, dict):
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (it has no list of cells)")
    version = data.get("nbformat")
    if version == 3 and isinstance(data.get("worksheets"), list):
        cells = [c for w in data["worksheets"] if isinstance(w, dict) for c in (w.get("cells") or [])]
    elif isinstance(data.get("cells"), list):
        cells = data["cells"]
    elif isinstance(version, int) and version < 3:
        raise SubmissionError(f"{name} is an old notebook (nbformat {version}) that the grader cannot read: "
                              f"open it in a current Jupyter, save it (File > Save Notebook) and resubmit.")
    else:
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (it has no list of cells)")
    if len(cells) > MAX_CELLS:
        raise SubmissionError(f"{name} has {len(cells):,} cells, more than the {MAX_CELLS:,} allowed: "
                              f"delete the extra cells, save and resubmit.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if version == 3:  # nbformat's reader joins v3's line lists, then converts and validates
                nb = nbformat.reads(text, as_version=4)
            else:  # outputs are never graded: dropped first, so validation time is bounded by the code
                for cell in cells:
                    if isinstance(cell, dict) and cell.get("cell_type") == "code":
                        cell["outputs"] = []
                    if isinstance(cell, dict):
                        cell.pop("attachments", None)
                nb = nbformat.from_dict(data)
            nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        raise SubmissionError(f"{name} is not a notebook nbformat can read ({type(exc).__name__}); "
                              f"download it again from Jupyter") from None
    return nb


def _cells(nb, name):
    """Code cells of a validated notebook, with their (bounded) nbgrader metadata."""
    cells, code = [], 0
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        if not isinstance(source, str):
            continue
        code += len(source)
        if code > MAX_CODE_CHARS:
            raise SubmissionError(f"{name} holds more than {MAX_CODE_CHARS // 2**20} MB of code, far more than "
                                  f"the exercises need: was data pasted into a code cell? Remove it and resubmit.")
        meta = cell.get("metadata", {})
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        nbg = dict(nbg) if isinstance(nbg, dict) else {}
        grade_id = nbg.get("grade_id") if isinstance(nbg.get("grade_id"), str) else None
        if grade_id is not None and len(grade_id) > MAX_ID_CHARS:
            grade_id = grade_id[:MAX_ID_CHARS] + "..."
        cells.append(Cell(index, source, grade_id, nbg, defined_functions(source)))
    return cells


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
    SubmissionError naming the problem (missing, a link, not a regular file, empty, too large, binary,
    not JSON, not a notebook, too many values, cells or code) and what to do.
    """
    path = Path(path)
    name = printable(path.name)
    notes = []
    raw = _read_bytes(path, max_bytes)
    _check_items(raw, name)
    text = _decode(raw, name, notes)
    del raw
    nb = _as_v4(_parse(text, name), text, name)
    del text
    metadata = nb.get("metadata", {}) if isinstance(nb.get("metadata"), dict) else {}
    course = metadata.get("course")
    notebook_id = course.get("notebook") if isinstance(course, dict) else None
    if not isinstance(notebook_id, str):
        notebook_id = None
    elif len(notebook_id) > MAX_ID_CHARS:  # never matches a course notebook; only its start is shown
        notebook_id = f"{notebook_id[:MAX_ID_CHARS]}... ({len(notebook_id):,} characters)"
    return Submission(path, notebook_id, _cells(nb, name), notes)


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
        body = line.lstrip()
        if body[:1] in ("%", "!"):
            lines.append(f"{line[:len(line) - len(body)]}pass  # {body}")
        else:
            lines.append(line)
    return "\n".join(lines)
