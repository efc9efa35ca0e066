"""Suite-wide settings: how `make test` spreads the tests over two processes (pytest-xdist).

`make test` runs ``pytest -n 2 --dist loadgroup`` over the tests and, with nbval, over the masters'
stored outputs: tests go to whichever worker is free, except groups that each stay on one worker because
they share something a second process would disturb:

* ``browser-<file>`` (tests/browser): each browser test file stays on one worker, which starts one
  JupyterLab server and one Chromium for all the browser tests it runs;
* ``nbval-<notebook>`` (notebooks/source/*.ipynb, collected by nbval): a master's cells run in order in
  one kernel, so each master stays on one worker;
* ``module-<file>``: the tests of a file that share a module-scoped fixture of that file (a notebook
  executed once, a battery computed once), which each worker would otherwise build again;
* ``autograder`` (tests/test_autograder*.py, tests/test_class_report.py): grading checks that nothing
  is left running under the sandbox's user ids, which a second grader running at the same time would
  falsify.
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

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


def group_of(path):
    """The xdist group of a test file, or None for a test that may run on any worker."""
    if path.suffix == ".ipynb":
        return f"nbval-{path.stem}"
    if "browser" in path.parts and path.name.startswith("test_"):
        return f"browser-{path.stem}"
    if path.name.startswith(("test_autograder", "test_class_report")):
        return "autograder"
    return None


def shares_a_module_fixture(item):
    """True when ``item`` uses a module- or session-scoped fixture defined in its own test file.

    Such a fixture (a notebook run once, a battery of checks computed once) is built once per worker
    that runs any test of the file: the file's tests stay on one worker, so it is built once in all.
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    module_id = item.nodeid.split("::", 1)[0]
    for name in item.fixturenames:
        for definition in info.name2fixturedefs.get(name, ()):
            if definition.scope in ("module", "session") and definition.baseid == module_id:
                return True
    return False


def group_of_item(item):
    """The xdist group of a collected test: its file's (``group_of``), or ``module-<file>`` for a file
    whose tests share a module-scoped fixture, or None."""
    path = Path(str(item.path))
    group = group_of(path)
    if group is None and shares_a_module_fixture(item):
        group = f"module-{path.stem}"
    return group


#: Groups start first, the longest kinds first: xdist hands out work in collection order, and a long
#: group that starts last keeps one worker busy while the other has nothing left to do.
GROUP_ORDER = ("browser-", "nbval-", "module-", "autograder")


def _start_rank(group):
    group = group or ""
    return next((rank for rank, prefix in enumerate(GROUP_ORDER) if group.startswith(prefix)), len(GROUP_ORDER))


def pytest_collection_modifyitems(config, items):
    groups = {}
    for item in items:
        groups[item.nodeid] = group = group_of_item(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: _start_rank(groups[item.nodeid]))  # stable: a master's cells keep their order
