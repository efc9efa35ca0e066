"""Suite-wide settings: how `make test` spreads the tests over three processes (pytest-xdist).

`make test` runs ``pytest -n 3 --dist loadgroup`` over the tests and, with nbval, over the masters'
stored outputs: tests go to whichever worker is free, except groups that each stay on one worker because
they share something a second process would disturb, or would cost twice as much there
(``pytest_xdist_make_scheduler`` below schedules them; a group is decided by the file a test is in):

* ``browser`` (tests/browser, except the files in ``BROWSER_WITHOUT_LAB``): all browser tests run on one
  worker, in one JupyterLab server and one Chromium, one page loaded once (``tests/browser/conftest.py``).
  A browser test spends much of its time waiting for the page, so that worker leaves most of a core to
  the two others. Measured on 2
  cores: 4 min 19 s, against 4 min 34 s with the browser tests spread over three workers (three
  JupyterLabs and three Chromiums) and 4 min 55 s on two workers with one JupyterLab each;
* ``nbval-<notebook>`` (notebooks/source/*.ipynb, collected by nbval): a master's cells run in order in
  one kernel, so each master stays on one worker;
* ``module-<file>``: the tests of a file in ``MODULE_GROUPS`` whose module-scoped fixture executes
  notebooks, which each worker would otherwise do again (for cheaper fixtures, spreading the tests over
  the workers wins: measured, 5 min 36 s against 6 min 30 s for grouping every such file);
* ``autograder`` (tests/test_autograder*.py, tests/test_class_report.py): grading checks that nothing
  is left running under the sandbox's user ids, which a second grader running at the same time would
  falsify.
"""

import ast
import functools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STALLING_CLOCK = Path(__file__).resolve().parent / "stalling_clock"
STALLING_KERNEL = "stalling-clock"


def stalling_kernel_spec():
    """The kernelspec of a Jupyter kernel of this Python whose clock stalls (tests/stalling_clock).

    Its environment puts ``tests/stalling_clock`` first on ``PYTHONPATH`` (Python then imports its
    ``sitecustomize``, which stalls ``time.perf_counter`` in Jupyter kernels only) and names the inline
    backend, which is what ipykernel picks when ``MPLBACKEND`` is unset: the pytest process itself keeps
    ``MPLBACKEND=Agg``.
    """
    path = os.pathsep.join([str(STALLING_CLOCK)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (stalling clock)", "language": "python",
            "env": {"PYTHONPATH": path, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}}


def pytest_configure(config):
    """Install the ``stalling-clock`` kernelspec (``make test`` runs nbval with ``--nbval-kernel-name
    stalling-clock``) in a temporary Jupyter data folder, removed when the run ends."""
    home = Path(tempfile.mkdtemp(prefix="stalling-clock-kernel-"))
    spec = home / "kernels" / STALLING_KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(stalling_kernel_spec(), indent=1))
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(home)] + [p for p in [os.environ.get("JUPYTER_PATH")] if p])
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


def defines_a_module_fixture(path):
    """True when the test file ``path`` defines a module- or session-scoped fixture (read from its
    source: ``@pytest.fixture(scope="module")`` or ``"session"``)."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and any(
                        k.arg == "scope" and isinstance(k.value, ast.Constant) and k.value.value in ("module", "session")
                        for k in decorator.keywords):
                    return True
    return False


#: Files whose module-scoped fixture is expensive enough (a notebook run, a class graded) that building
#: it twice costs more than spreading the file's tests over both workers saves.
MODULE_GROUPS = ("test_notebooks", "test_bug_hunt_notebook")


#: Browser test files that open a page from disk in Chromium alone, without JupyterLab: they run on any
#: worker (a Chromium starts in a second or so), which keeps them off the browser worker's long queue.
BROWSER_WITHOUT_LAB = ("test_class_report",)


@functools.lru_cache(maxsize=None)
def group_of(path):
    """The group of a test file (a path relative to the repository or absolute), or None for a file
    whose tests may run on any worker, one by one."""
    path = Path(path)
    if path.suffix == ".ipynb":
        return f"nbval-{path.stem}"
    if "browser" in path.parts and path.name.startswith("test_"):
        return None if path.stem in BROWSER_WITHOUT_LAB else "browser"
    if path.name.startswith(("test_autograder", "test_class_report")):
        return "autograder"
    if path.stem in MODULE_GROUPS and defines_a_module_fixture(path if path.is_absolute() else ROOT / path):
        return f"module-{path.stem}"
    return None


def scope_of(nodeid):
    """What xdist schedules as one unit: the test's group, or the test alone."""
    return group_of(nodeid.split("::", 1)[0]) or nodeid


def pytest_xdist_make_scheduler(config, log):
    """With ``--dist loadgroup``: schedule by ``scope_of``, in collection order.

    xdist's own loadgroup reads ``xdist_group`` marks by appending "@group" to each test's node id,
    which pytest 9.2 no longer lets a plugin change (its node ids are structured): every test would be
    scheduled alone, a master's cells out of order. The groups here come from the file a test is in.
    """
    if config.getoption("dist", None) != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return scope_of(nodeid)

    config.option.loadscopereorder = False  # collection order (pytest_collection_modifyitems) decides
    return GroupScheduling(config, log)


#: What starts first, the longest kinds first: xdist hands out work in collection order, and a long test
#: or group that starts last keeps one worker busy while the other has nothing left to do.
START_ORDER = ("browser", "nbval-", "module-", "autograder")


def _start_rank(item):
    path = Path(str(item.path))
    group = group_of(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path) or ""
    return next((rank for rank, prefix in enumerate(START_ORDER) if group.startswith(prefix)), len(START_ORDER))


def pytest_collection_modifyitems(config, items):
    items.sort(key=_start_rank)  # stable: a master's cells keep their order
