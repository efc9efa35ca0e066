"""Every master notebook, used as a person uses it: open in JupyterLab, clear outputs, Run All.

Parametrized over ``notebooks/source/*.ipynb``, so a new notebook is covered the day it lands. A master
with widgets also gets them used, and its layout measured, on the same page after its Run All (one run
of the notebook for all of it): notebook 03 in ``bug_hunt_page``, notebook 04 in ``epsilon_page``.
"""

from pathlib import Path

import nbformat
import pytest

from . import bug_hunt_page, epsilon_page
from .harness import CELL, OUTPUT

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
MASTERS = sorted((REPO / "notebooks" / "source").glob("[0-9][0-9]_*.ipynb"))

#: What a master's widgets do beyond rendering, checked before (``before_run``, the stored master) and
#: after (``after_run``) its Run All, keyed by the master's number.
INTERACTIVE = {"03": bug_hunt_page, "04": epsilon_page}


def test_there_are_master_notebooks_to_drive():
    assert MASTERS, "no notebooks/source/NN_*.ipynb found: the browser suite would check nothing"


def test_every_interactive_check_has_its_master():
    numbers = {m.name[:2] for m in MASTERS}
    assert set(INTERACTIVE) <= numbers, f"checks for masters that do not exist: {set(INTERACTIVE) - numbers}"


@pytest.mark.parametrize("master", MASTERS, ids=[m.stem for m in MASTERS])
def test_master_runs_clean_in_jupyterlab(master, open_copy):
    interactive = INTERACTIVE.get(master.name[:2])
    lab = open_copy(master)
    lab.screenshot("opened")
    if interactive:
        interactive.before_run(lab)
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
    if interactive:
        interactive.after_run(lab)
        lab.assert_no_errors(" after using the widgets")
