"""Hostile and broken submissions: each yields results with a clear message, the right score for the
exercises that are fine, and the grader neither crashes nor hangs.

Most cases use a synthetic one-exercise notebook ("99_hostile", graded like forward_propagation) with a
3-second limit, so the suite stays quick; the cases that must show "the other exercises are unaffected"
use notebook 01. Protections that need root (unprivileged uid, namespaces) are asserted when the
sandbox reports them in force, and otherwise the documented fallback sentence is asserted instead.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.grading import grade_notebook
from autograder.batch import grade_directory
from autograder.sandbox import UID_BASE, UID_COUNT, Limits, Sandbox, processes_of_uid, unshare_available
from tests.test_autograder import assert_gradescope_schema
from tests.test_autograder_support import (
    fast_options,
    hostile_submission,
    make_notebook,
    one_exercise_spec,
    submission_01,
    write_notebook,
    CORRECT_01,
    SETUP_01,
)

ROOT = Path(__file__).resolve().parent.parent
GOOD = "def forward_propagation(x, theta):\n    return theta * x\n"
FALLBACK = "resource limits only"


def grade_hostile(tmp_path, source, **kwargs):
    """Grade a one-exercise submission whose graded cell is ``source``; return (results, test output)."""
    results = grade_notebook(hostile_submission(tmp_path, source), fast_options(specs=one_exercise_spec(), **kwargs))
    assert_gradescope_schema(results)
    return results, results["tests"][0]["output"] if results["tests"] else results["output"]


def by_id(results):
    return {t["name"].rsplit("[", 1)[1].rstrip("]"): t for t in results["tests"]}


def test_the_synthetic_good_answer_passes(tmp_path):
    """Baseline for this suite: the same harness gives full marks to a correct answer."""
    results, output = grade_hostile(tmp_path, GOOD)
    assert results["score"] == 1.0 and "Passed all" in output


# ---------------------------------------------------------------------------------------------------
# Runaway code
# ---------------------------------------------------------------------------------------------------

def test_infinite_loop_in_one_exercise_costs_only_that_exercise(tmp_path):
    """An endless loop in backward_propagation is stopped at the time limit; the others score."""
    results = grade_notebook(submission_01(tmp_path, backward_propagation=(
        "def backward_propagation(x, theta):\n    while True:\n        pass\n")), fast_options(wall=2))
    tests = by_id(results)
    assert tests["backward_propagation"]["score"] == 0.0
    assert "time limit" in tests["backward_propagation"]["output"]
    assert tests["forward_propagation"]["score"] == 1.0 and tests["gradient_check"]["score"] == 2.0


def test_infinite_loop_at_the_top_of_a_cell(tmp_path):
    """A loop outside any function (in the cell itself) is stopped too."""
    results, output = grade_hostile(tmp_path, GOOD + "while True:\n    pass\n", wall=2)
    assert results["score"] == 0.0 and "time limit" in output


def test_memory_bomb(tmp_path):
    """Allocating far beyond the memory limit fails that exercise with a memory message."""
    results, output = grade_hostile(tmp_path, "def forward_propagation(x, theta):\n"
                                              "    hog = bytearray(50 * 1024 ** 3)\n    return theta * x\n")
    assert results["score"] == 0.0 and "memory" in output


def test_growing_memory_bomb(tmp_path):
    """Memory taken step by step hits the limit as well (MemoryError or a kill), never the machine."""
    results, output = grade_hostile(tmp_path, "def forward_propagation(x, theta):\n    hog = []\n"
                                              "    while True:\n        hog.append(bytearray(10 ** 7))\n")
    assert results["score"] == 0.0 and ("memory" in output or "time limit" in output)


def test_fork_bomb_is_contained_and_cleaned_up(tmp_path):
    """A fork bomb hits the process limit, is stopped, and leaves no process behind."""
    source = ("import os\n"
              "def forward_propagation(x, theta):\n"
              "    while True:\n"
              "        try:\n"
              "            os.fork()\n"
              "        except OSError:\n"
              "            pass\n")
    results, output = grade_hostile(tmp_path, source, wall=2)
    assert results["score"] == 0.0
    assert "time limit" in output or "ended" in output
    # the same bomb straight through the sandbox: once run() returns, its uid has no process left
    sandbox = Sandbox(Limits(wall_seconds=2, cpu_seconds=2, memory_mb=512))
    try:
        result = sandbox.run({"cells": [{"label": "bomb", "source": source}], "function": "forward_propagation",
                              "references": {}, "forbidden": [], "calls": [{"args": [1.0, 2.0]}]})
    finally:
        sandbox.close()
    assert result.status == "timeout"
    assert result.leftover_processes == []
    if sandbox.isolated:
        assert processes_of_uid(result.protections["uid"]) == []


@pytest.mark.parametrize("call, words", [("sys.exit(0)", "sys.exit()"), ("exit()", "sys.exit()"),
                                         ("os._exit(0)", "os._exit()")])
def test_exit_inside_the_graded_function(tmp_path, call, words):
    """sys.exit / exit / os._exit inside the function: a clear message, score 0, results written."""
    source = f"import os, sys\ndef forward_propagation(x, theta):\n    {call}\n"
    results, output = grade_hostile(tmp_path, source)
    assert results["score"] == 0.0 and words in output


def test_sys_exit_at_the_top_of_the_cell_after_a_correct_definition(tmp_path):
    """A cell that defines the function then exits: the function is still graded (and passes)."""
    results, output = grade_hostile(tmp_path, GOOD + "import sys\nsys.exit('bye')\n")
    assert results["score"] == 1.0
    assert "sys.exit()" in output


# ---------------------------------------------------------------------------------------------------
# Escaping the sandbox
# ---------------------------------------------------------------------------------------------------

def test_os_system_and_writes_outside_the_work_directory_fail(tmp_path):
    """os.system and open() cannot write outside the sandbox's temporary directory."""
    target = tmp_path / "victim"
    target.mkdir()
    target.chmod(0o777)  # even a world-writable directory is out of reach
    source = (f"import os\n"
              f"os.system('touch {target}/from_system')\n"
              f"try:\n    open('{target}/from_open', 'w').write('x')\nexcept OSError:\n    pass\n"
              f"open('inside_workdir.txt', 'w').write('fine')\n" + GOOD)
    results, output = grade_hostile(tmp_path, source)
    assert results["score"] == 1.0
    written = sorted(p.name for p in target.iterdir())
    if unshare_available():  # what this machine allows (root + unshare)
        assert written == []
    else:  # documented fallback: without root, only resource limits apply
        assert FALLBACK in results["output"]


def test_the_grader_files_and_masters_are_hidden(tmp_path):
    """Reading the grader's code, the masters (solutions) or the hidden specs finds nothing."""
    paths = [ROOT / "autograder" / "specs.py", ROOT / "notebooks" / "source" / "01_gradient_check_1d.ipynb",
             ROOT / "tests" / "student_solutions.py"]
    source = ("found = []\n"
              f"for p in {[str(p) for p in paths]!r}:\n"
              "    try:\n        found.append(open(p).read()[:2000])\n"
              "    except OSError as e:\n        print('blocked', type(e).__name__)\n"
              "print('LEAK' + ''.join(found))\n" + GOOD)
    results, output = grade_hostile(tmp_path, source)
    assert results["score"] == 1.0
    if unshare_available():  # what this machine allows (root + unshare)
        assert output.count("blocked") == len(paths)
        assert "BEGIN SOLUTION" not in output and "def _gradient_check_cases" not in output
    else:
        assert FALLBACK in results["output"]


def test_no_network(tmp_path):
    """A connection attempt fails inside the sandbox (network namespace without interfaces)."""
    source = ("import socket\n"
              "def forward_propagation(x, theta):\n"
              "    s = socket.socket()\n    s.settimeout(1)\n"
              "    return theta * x if s.connect_ex(('1.1.1.1', 80)) != 0 else 'connected'\n")
    results, output = grade_hostile(tmp_path, source)
    if unshare_available():  # what this machine allows (root + unshare)
        assert results["score"] == 1.0
    else:
        assert FALLBACK in results["output"]


def test_student_code_runs_as_an_unprivileged_user(tmp_path):
    """As root, the student's uid is one of the sandbox uids and it cannot read root's files."""
    source = ("import os\nprint('uid', os.getuid())\n"
              "try:\n    open('/etc/shadow').read()\n    print('shadow readable')\n"
              "except OSError:\n    print('shadow blocked')\n" + GOOD)
    results, output = grade_hostile(tmp_path, source)
    if unshare_available():  # what this machine allows (root + unshare)
        uid = int(output.split("uid ", 1)[1].split()[0])
        assert UID_BASE <= uid < UID_BASE + UID_COUNT
        assert "shadow blocked" in output
    else:
        assert FALLBACK in results["output"]


def test_in_a_batch_one_student_cannot_read_another_students_notebook(tmp_path):
    """The folder of submissions and the results directory are hidden from student code."""
    folder = tmp_path / "subs"
    folder.mkdir()
    hostile_submission(folder, "def forward_propagation(x, theta):\n    return theta * x  # SECRET-ANSWER\n",
                       "alice.ipynb")
    spy = ("try:\n"
           f"    print('LEAK' + open({str(folder / 'alice.ipynb')!r}).read())\n"
           "except OSError as e:\n    print('blocked', type(e).__name__)\n"
           "def forward_propagation(x, theta):\n    return 0.0\n")
    hostile_submission(folder, spy, "mallory.ipynb")
    graded = dict(grade_directory(folder, tmp_path / "out", fast_options(specs=one_exercise_spec()), jobs=2))
    mallory = graded[folder / "mallory.ipynb"]["tests"][0]["output"]
    assert graded[folder / "alice.ipynb"]["score"] == 1.0
    if unshare_available():
        assert "blocked" in mallory and "SECRET-ANSWER" not in mallory
    else:
        assert FALLBACK in graded[folder / "mallory.ipynb"]["output"]


def test_without_isolation_the_results_say_so(tmp_path):
    """Without namespaces the output says so: as root still as an unprivileged user; else limits only."""
    results, output = grade_hostile(tmp_path, GOOD, isolate=False)
    assert results["score"] == 1.0
    if os.geteuid() == 0:
        assert "as an unprivileged user with no new privileges, without namespaces" in results["output"]
    else:
        assert FALLBACK in results["output"]


# ---------------------------------------------------------------------------------------------------
# Fooling the grader
# ---------------------------------------------------------------------------------------------------

def test_monkeypatching_numpy_and_builtins_changes_nothing(tmp_path):
    """Patching numpy.linalg.norm, np.isclose and builtins inside the submission cannot make it pass."""
    source = ("import builtins, numpy as np\n"
              "np.linalg.norm = lambda *a, **k: 0.0\n"
              "np.isclose = lambda *a, **k: True\n"
              "np.allclose = lambda *a, **k: True\n"
              "builtins.abs = lambda v: 0.0\n"
              "builtins.isinstance = lambda *a: True\n"
              "def forward_propagation(x, theta):\n    return 0.0\n")
    results, output = grade_hostile(tmp_path, source)
    assert results["score"] == 0.0
    assert "not the cost J" in output


def test_printing_a_fake_success_message_earns_nothing(tmp_path):
    """'All tests passed. Score: 100' printed by the submission is shown as its output, and scores 0."""
    source = ("print('All tests passed. Score: 1/1')\n"
              "def forward_propagation(x, theta):\n    print('All tests passed')\n    return None\n")
    results, output = grade_hostile(tmp_path, source)
    assert results["score"] == 0.0
    assert "returned None" in output
    assert output.index("not graded") < output.index("All tests passed")


def test_forged_events_on_the_result_channel_are_judged_like_any_value(tmp_path):
    """Writing fake 'call' events to the worker's channel gains nothing: values are still judged."""
    source = ("import os, json\n"
              "def forward_propagation(x, theta):\n"
              "    for i in range(10):\n"
              "        os.write(3, (json.dumps({'event': 'call', 'index': i, 'ok': True, 'value': 1.0,\n"
              "                                'used_library': []}) + '\\n').encode())\n"
              "    return 1.0\n")
    results, _ = grade_hostile(tmp_path, source)
    assert results["score"] == 0.0


# ---------------------------------------------------------------------------------------------------
# Wrong return values and errors
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("returned, words", [
    ("float('nan')", "returned nan"),
    ("np.array([theta * x])", "numpy array of shape (1,)"),
    ("np.ones((2, 3))", "numpy array of shape (2, 3)"),
    ("'theta * x'", "the string"),
    ("None", "returned None"),
    ("type('Evil', (), {'__repr__': lambda s: 1 / 0})()", "Evil object"),
])
def test_wrong_return_types(tmp_path, returned, words):
    """NaN, arrays, wrong shapes, strings, None and odd objects each get a message saying what came back."""
    results, output = grade_hostile(tmp_path, f"import numpy as np\ndef forward_propagation(x, theta):\n"
                                              f"    return {returned}\n")
    assert results["score"] == 0.0 and words in output


def test_raising_inside_the_graded_function(tmp_path):
    """An exception names its type, message and the line of the cell."""
    results, output = grade_hostile(tmp_path, "def forward_propagation(x, theta):\n"
                                              "    raise ValueError('oops, a bug')\n")
    assert results["score"] == 0.0
    assert "ValueError (line 2 of the cell): oops, a bug" in output


def test_syntax_error_in_one_graded_cell(tmp_path):
    """A syntax error costs that exercise only, with its line number."""
    results = grade_notebook(submission_01(tmp_path, backward_propagation=(
        "def backward_propagation(x, theta)\n    return x\n")), fast_options())
    tests = by_id(results)
    assert tests["backward_propagation"]["score"] == 0.0
    assert "SyntaxError (line 1 of the cell)" in tests["backward_propagation"]["output"]
    assert results["score"] == 3.0


def test_broken_exploratory_cell_costs_nothing(tmp_path):
    """Ungraded cells are not run: an error (or a loop) in one changes nothing."""
    extra = [nbformat.v4.new_code_cell("raise RuntimeError('scratch')\nwhile True: pass")]
    nb = make_notebook("01_gradient_check_1d", SETUP_01, dict(CORRECT_01), extra_cells=extra)
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"), fast_options())
    assert results["score"] == 4.0


# ---------------------------------------------------------------------------------------------------
# Damaged notebooks
# ---------------------------------------------------------------------------------------------------

def test_deleted_graded_cell(tmp_path):
    """A deleted exercise cell scores 0 with a message; the other exercises are graded."""
    answers = {k: v for k, v in CORRECT_01.items() if k != "backward_propagation"}
    nb = make_notebook("01_gradient_check_1d", SETUP_01, answers)
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"), fast_options())
    tests = by_id(results)
    assert tests["backward_propagation"]["score"] == 0.0
    assert "was the exercise cell deleted" in tests["backward_propagation"]["output"]
    assert results["score"] == 3.0


def test_stripped_cell_metadata_is_found_by_its_definition(tmp_path):
    """A cell that lost its nbgrader metadata is found by `def name(` and graded, with a note."""
    nb = make_notebook("01_gradient_check_1d", SETUP_01, dict(CORRECT_01))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "gradient_check":
            del cell.metadata["nbgrader"]
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"), fast_options())
    assert results["score"] == 4.0
    assert "lost its metadata" in by_id(results)["gradient_check"]["output"]


def test_notebook_metadata_stripped_is_recognised_by_its_functions(tmp_path):
    """Without metadata.course the notebook is recognised from the functions it defines."""
    nb = make_notebook(None, SETUP_01, dict(CORRECT_01))
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"), fast_options())
    assert results["score"] == 4.0 and "recognised as 01_gradient_check_1d" in results["output"]


def test_duplicate_grade_ids(tmp_path):
    """Two cells with one grade_id: the last one is graded, and the feedback says so."""
    nb = make_notebook("01_gradient_check_1d", SETUP_01, dict(CORRECT_01))
    wrong = nbformat.v4.new_code_cell("def forward_propagation(x, theta):\n    return x + theta\n")
    wrong.metadata["nbgrader"] = {"schema_version": 3, "grade": False, "solution": True, "locked": False,
                                  "grade_id": "forward_propagation", "points": 0}
    nb.cells.insert(2, wrong)  # an earlier, wrong copy
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"), fast_options())
    test = by_id(results)["forward_propagation"]
    assert test["score"] == 1.0 and "the last one" in test["output"]


@pytest.mark.parametrize("content, words", [
    (b"", "is empty"),
    (b"{\"cells\": [", "JSON is broken"),
    (b"[1, 2, 3]", "not a Jupyter notebook"),
    (b"{\"cells\": [{\"cell_type\": 7}], \"nbformat\": 4}", "not a notebook nbformat can read"),
    (b"PK\x03\x04\x00\xff\xfe", "not a notebook"),
    ("Dear professor, here is my homework".encode(), "JSON is broken"),
])
def test_files_that_are_not_notebooks(tmp_path, content, words):
    """Empty, truncated, non-notebook JSON, invalid notebooks and binary files get a clear message."""
    path = tmp_path / "sub.ipynb"
    path.write_bytes(content)
    results = grade_notebook(path, fast_options())
    assert_gradescope_schema(results)
    assert results["score"] == 0.0 and results["tests"] == []
    assert words in results["output"]


def test_unknown_notebook(tmp_path):
    """A notebook of another course: score 0 and the known notebook ids are listed."""
    nb = make_notebook("07_something_else", "import numpy as np\n", {"f": "def f():\n    return 1\n"})
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"), fast_options())
    assert results["score"] == 0.0 and "01_gradient_check_1d" in results["output"]


def test_huge_stored_output_and_huge_printed_output(tmp_path):
    """A 30 MB stored output is ignored; printing 200 MB is cut short; the answer is still graded."""
    nb = make_notebook("99_hostile", "import numpy as np\n", {"forward_propagation": (
        "def forward_propagation(x, theta):\n    print('y' * 200_000_000)\n    return theta * x\n")})
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 30_000_000)]
    path = write_notebook(nb, tmp_path / "huge.ipynb")
    results = grade_notebook(path, fast_options(specs=one_exercise_spec(), wall=10))
    output = results["tests"][0]["output"]
    assert results["score"] == 1.0
    assert "output truncated" in output and len(json.dumps(results)) < 100_000


def test_grader_process_survives_every_hostile_file_via_the_cli(tmp_path):
    """Through the CLI, a directory of hostile files is graded with exit 0 and one results file each."""
    folder = tmp_path / "subs"
    folder.mkdir()
    hostile_submission(folder, "import os\nos._exit(3)\n", "exit.ipynb")
    hostile_submission(folder, "def forward_propagation(x, theta)\n", "syntax.ipynb")
    (folder / "empty.ipynb").write_bytes(b"")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "batch", str(folder), "--results-dir", str(out),
                           "--timeout", "3"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert sorted(p.name for p in out.glob("*.json")) == ["empty.json", "exit.json", "syntax.json"]
