"""Helpers shared by the autograder tests (synthetic submissions), and tests of the wire format.

Submissions are built with nbformat using the course's conventions: ``metadata.course.notebook`` names
the notebook, graded cells carry nbgrader metadata (schema_version 3) with their ``grade_id``.
"""

import math
import json
import inspect

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.grading import Options
from autograder.sandbox import Limits
from autograder.specs import NotebookSpec, notebook_specs
from autograder.wire import Opaque, WireError, decode, encode
from tests import student_solutions

SETUP_01 = "import numpy as np\n"
SETUP_02 = ("import numpy as np\n"
            "from course_utils.models import backward_propagation_n, forward_propagation_n\n"
            "from course_utils.parameters import dictionary_to_vector, gradients_to_vector, vector_to_dictionary\n")

CORRECT_01 = {
    "forward_propagation": "def forward_propagation(x, theta):\n    return theta * x\n",
    "backward_propagation": "def backward_propagation(x, theta):\n    return x\n",
    "gradient_check": inspect.getsource(student_solutions.gradient_check),
}


def nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=0):
    """nbgrader cell metadata as the course's tools write it."""
    return {"schema_version": 3, "grade": grade, "solution": solution, "locked": locked,
            "grade_id": grade_id, "points": points}


def make_notebook(notebook_id, setup_source, answers, extra_cells=()):
    """A submission: setup cell, then one solution cell per (grade_id, source) and its tests cell.

    Parameters
    ----------
    notebook_id : str or None (None: no course metadata at all)
    setup_source : str
    answers : dict grade_id -> source of the solution cell
    extra_cells : cells appended at the end

    Returns
    -------
    nbformat.NotebookNode
    """
    cells = [new_markdown_cell("# A notebook")]
    setup = new_code_cell(setup_source)
    setup.metadata["nbgrader"] = nbgrader("setup", locked=True)
    cells.append(setup)
    for grade_id, source in answers.items():
        cell = new_code_cell(source)
        cell.metadata["nbgrader"] = nbgrader(grade_id, solution=True)
        cells.append(cell)
        tests = new_code_cell(f"{grade_id}_test({grade_id})")
        tests.metadata["nbgrader"] = nbgrader(f"{grade_id}_tests", grade=True, locked=True, points=1)
        cells.append(tests)
    cells.extend(extra_cells)
    nb = new_notebook(cells=cells)
    if notebook_id is not None:
        nb.metadata["course"] = {"notebook": notebook_id}
    return nb


def write_notebook(nb, path):
    """Write ``nb`` to ``path``; return the path."""
    nbformat.write(nb, str(path))
    return path


def submission_01(tmp_path, name="sub.ipynb", **overrides):
    """A notebook-01 submission with correct answers except those given in ``overrides``."""
    answers = dict(CORRECT_01, **overrides)
    return write_notebook(make_notebook("01_gradient_check_1d", SETUP_01, answers), tmp_path / name)


def fast_options(seed=0, wall=3.0, **kwargs):
    """Options with short limits so that hostile submissions stay quick in tests."""
    return Options(limits=Limits(wall_seconds=wall, cpu_seconds=int(math.ceil(wall)), memory_mb=768),
                   seed=seed, **kwargs)


def one_exercise_spec():
    """A synthetic one-exercise notebook ("99_hostile": forward_propagation) for the hostile suite."""
    real = notebook_specs()["01_gradient_check_1d"].exercises[0]
    spec = NotebookSpec("99_hostile", "A synthetic notebook", (real,))
    return {"99_hostile": spec}


def hostile_submission(tmp_path, source, name="hostile.ipynb"):
    """A "99_hostile" submission whose only graded cell is ``source``."""
    nb = make_notebook("99_hostile", "import numpy as np\n", {"forward_propagation": source})
    return write_notebook(nb, tmp_path / name)


def test_wire_round_trip_keeps_values_and_dtypes():
    """Arrays (with their dtype, shape and non-finite entries), scalars and containers survive the trip."""
    value = {"W1": np.array([[1.5, np.nan], [np.inf, -2.0]]), "n": np.int64(3), "t": (1, "a", None),
             "l": [np.float32(0.5), True, -np.inf], "Y": np.array([[1, 1, 0]])}
    back = decode(json.loads(json.dumps(encode(value))))
    assert back["W1"].dtype == np.float64 and back["W1"].shape == (2, 2)
    assert np.array_equal(back["W1"], value["W1"], equal_nan=True)
    assert back["Y"].dtype == value["Y"].dtype and np.array_equal(back["Y"], value["Y"])
    assert back["n"] == 3 and isinstance(back["n"], np.int64)
    assert back["t"] == (1, "a", None)
    assert back["l"][0] == np.float32(0.5) and back["l"][1] is True and back["l"][2] == -np.inf


@pytest.mark.parametrize("bad", [
    [1, 2],                                                     # a bare list is not in the format
    {"__ndarray__": {"dtype": "object", "shape": [1], "data": [1]}},   # object arrays are refused
    {"__ndarray__": {"dtype": "float64", "shape": [3], "data": [1.0]}},  # data does not match shape
    {"__float__": "1e999x"},
    {"__ndarray__": {"dtype": "float64", "shape": [1], "data": ["os.system"]}},
    {"__pickle__": "gASV"},
])
def test_wire_refuses_malformed_data(bad):
    """Whatever the (untrusted) worker sends, decode rebuilds plain data or raises WireError."""
    with pytest.raises(WireError):
        decode(bad)


def test_wire_keeps_unknown_objects_as_descriptions():
    """A non-plain object returned by student code arrives as an Opaque description, never as itself."""
    back = decode({"__object__": {"type": "Evil", "repr": "<Evil>"}})
    assert back == Opaque("Evil", "<Evil>")
    with pytest.raises(TypeError):
        encode(object())


def test_worker_arrays_arrive_as_bytes_compressed_when_large():
    """The worker sends number arrays as base64 bytes (zlib-compressed when large: a judge's evaluation
    points repeat a lot); the grader rebuilds them exactly, dtype and shape included."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("worker_under_test", Path(__file__).resolve().parent.parent
                                                  / "autograder" / "_worker.py")
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    points = np.tile(np.linspace(-1.0, 1.0, 47), (2000, 1))
    for value in (points, np.array([np.nan, -np.inf, 1e-300]), np.arange(6, dtype=np.int32).reshape(2, 3),
                  np.zeros((0, 4)), np.array([True, False])):
        wire_form = json.loads(json.dumps(worker.encode(value)))
        back = decode(wire_form)
        assert back.dtype == value.dtype and back.shape == value.shape
        assert np.array_equal(back, value, equal_nan=value.dtype.kind == "f")
    assert "zb64" in worker.encode(points)["__ndarray__"] and len(json.dumps(worker.encode(points))) < 50_000


def test_wire_refuses_array_bytes_that_do_not_fit_their_shape():
    """Bytes of the wrong size, text that is not base64, and a zlib bomb (100 MB of zeros claimed to be a
    few entries, or more entries than allowed) are refused before anything large is built."""
    import base64
    import zlib

    good = base64.b64encode(np.arange(4.0).tobytes()).decode()
    bomb = base64.b64encode(zlib.compress(b"\0" * 10 ** 8)).decode()
    for spec in ({"dtype": "float64", "shape": [5], "b64": good}, {"dtype": "float64", "shape": [4], "b64": "!!!!"},
                 {"dtype": "bool", "shape": [32], "b64": good}, {"dtype": "float64", "shape": [10], "zb64": bomb},
                 {"dtype": "float64", "shape": [12_500_000], "zb64": bomb},
                 {"dtype": "float64", "shape": [4], "zb64": base64.b64encode(zlib.compress(b"\0" * 40)).decode()}):
        with pytest.raises(WireError):
            decode({"__ndarray__": spec})
    assert np.array_equal(decode({"__ndarray__": {"dtype": "float64", "shape": [2, 2], "b64": good}}),
                          np.arange(4.0).reshape(2, 2))
