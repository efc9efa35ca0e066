"""Suite-wide settings: how `make test` spreads the tests over two processes (pytest-xdist).

`make test` runs ``pytest -n 2 --dist loadgroup``: tests go to whichever worker is free, except two
groups that each stay on one worker because they share something a second process would disturb:

* ``browser`` (tests/browser): one JupyterLab server and one Chromium for the whole group;
* ``autograder`` (tests/test_autograder*.py): grading checks that nothing is left running under the
  sandbox's user ids, which a second grader running at the same time would falsify.
"""

from pathlib import Path

import pytest

GROUPS = {"browser": lambda path: "browser" in path.parts,
          "autograder": lambda path: path.name.startswith("test_autograder")}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.path))
        for group, belongs in GROUPS.items():
            if belongs(path):
                item.add_marker(pytest.mark.xdist_group(group))
                break
