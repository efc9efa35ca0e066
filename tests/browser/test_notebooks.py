"""Every master notebook, used as a person uses it: open in JupyterLab, clear outputs, Run All.

Parametrized over ``notebooks/source/*.ipynb``, so a new notebook is covered the day it lands.
"""

from pathlib import Path

import nbformat
import pytest

from .harness import CELL, OUTPUT

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
MASTERS = sorted((REPO / "notebooks" / "source").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_master_notebooks_to_drive():
    assert MASTERS, "no notebooks/source/NN_*.ipynb found: the browser suite would check nothing"


@pytest.mark.parametrize("master", MASTERS, ids=[m.stem for m in MASTERS])
def test_master_runs_clean_in_jupyterlab(master, open_copy):
    lab = open_copy(master)
    lab.screenshot("opened")
    lab.clear_outputs()
    assert lab.page.locator(f"{CELL} {OUTPUT}").count() == 0
    lab.run_all()
    lab.screenshot("after-run-all")
    lab.assert_no_errors(" after Run All")
    lab.assert_all_cells_ran()
    lab.assert_rendered(master)
    # Run All produced what the master stores: every code cell with stored output shows output again.
    stored = nbformat.read(master, as_version=4).cells
    cells = lab.cells()
    silent = [i for i, c in enumerate(stored)
              if c.cell_type == "code" and c.get("outputs") and not cells[i]["mimes"]]
    assert not silent, f"{master.name}: cells {silent} have stored outputs but showed none after Run All"
