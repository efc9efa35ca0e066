"""Suite-wide settings: how `make test` spreads the tests over two processes (pytest-xdist).

`make test` runs ``pytest -n 2 --dist loadgroup``: tests go to whichever worker is free, except two
groups that each stay on one worker because they share something a second process would disturb:

* ``browser-<file>`` (tests/browser): each browser test file stays on one worker, which starts one
  JupyterLab server and one Chromium for all the browser tests it runs;
* ``autograder`` (tests/test_autograder*.py, tests/test_class_report.py): grading checks that nothing is left running under the
  sandbox's user ids, which a second grader running at the same time would falsify.
"""

from pathlib import Path

import pytest

def group_of(path):
    """The xdist group of a test file, or None for a test that may run on any worker."""
    if "browser" in path.parts and path.name.startswith("test_"):
        return f"browser-{path.stem}"
    if path.name.startswith(("test_autograder", "test_class_report")):
        return "autograder"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        group = group_of(Path(str(item.path)))
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
