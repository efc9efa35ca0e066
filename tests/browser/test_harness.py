"""The harness itself, on tiny notebooks written here: it sees plots change, and it reports breaks.

These are the suite's own proof that it can fail: a notebook with a cell that raises, and a widget
whose callback raises, must be reported as errors by the same checks the course notebooks pass.
"""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .harness import BrowserTestError

pytestmark = pytest.mark.browser

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

WIDGET_CELL = '''
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

slider = widgets.FloatLogSlider(value=1e-6, base=10, min=-12, max=0, step=1, description="eps")
slider.add_class("eps-slider")
verdict = widgets.HTML()
verdict.add_class("eps-verdict")
plot = widgets.Output()
plot.add_class("eps-plot")

def redraw(change=None):
    with plot:
        {break_here}
        plot.clear_output(wait=True)
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.axvline(np.log10(slider.value))
        ax.set_xlim(-12, 0)
        plt.show()
    verdict.value = f"eps = {{slider.value:.0e}}: " + ("round-off" if slider.value < 1e-6 else "truncation")

slider.observe(redraw, names="value")
redraw()
display(widgets.VBox([slider, verdict, plot]))
'''


def write(lab_server, name, cells):
    """Write a notebook under the server root; return (path relative to root, absolute path)."""
    nb = new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC})
    path = lab_server.root / "selftest" / name
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    return path.relative_to(lab_server.root).as_posix(), path


def test_harness_reports_a_cell_that_raises(lab, lab_server):
    rel, path = write(lab_server, "broken_cell.ipynb", [
        new_code_cell("x = 1"),
        new_code_cell("raise ValueError('deliberate break in a cell')"),
        new_code_cell("def f(:\n    pass"),
    ])
    lab.open(rel)
    lab.run_all()
    errors = lab.errors()
    assert any(e.startswith("cell 1:") and "deliberate break in a cell" in e for e in errors), errors
    with pytest.raises(BrowserTestError, match="deliberate break in a cell"):
        lab.assert_no_errors()
    # Run All stops at the error: the harness says the cells after it never ran.
    with pytest.raises(BrowserTestError, match=r"code cells \[2\] did not run"):
        lab.assert_all_cells_ran()


def test_harness_moves_a_slider_waits_for_each_plot_and_reports_a_callback_that_raises(lab, lab_server):
    """The slider moved by keyboard and by typing, each redraw waited for until it settles; then the
    deliberate break the issue asks for: the same slider's callback raises once eps > 1e-4 (one notebook
    for both, so the page and the kernel start once)."""
    broken = "if slider.value > 1e-4: raise RuntimeError('deliberate break in a widget callback')"
    rel, _ = write(lab_server, "broken_widget.ipynb", [new_code_cell(WIDGET_CELL.format(break_here=broken))])
    lab.open(rel)
    lab.run_all()
    lab.assert_no_errors()                                  # fine until the slider passes 1e-4
    slider, plot, verdict = lab.widget("eps-slider"), lab.widget("eps-plot"), lab.widget("eps-verdict")
    src0 = lab.wait_settled(lambda: lab.image_digest(plot), what="first plot")
    assert verdict.inner_text().startswith("eps = 1e-06: truncation")

    lab.press_slider(slider, "ArrowLeft", times=3)         # 1e-6 -> 1e-9, one redraw per key
    src1 = lab.wait_settled(lambda: lab.image_digest(plot), changed_from=src0, what="plot after ArrowLeft")
    assert float(lab.readout_text(slider)) == pytest.approx(1e-9)
    assert verdict.inner_text().startswith("eps = 1e-09: round-off")

    lab.type_readout(slider, "1e-5")
    lab.wait_settled(lambda: lab.image_digest(plot), changed_from=src1, what="plot after typing 1e-5")
    assert verdict.inner_text().startswith("eps = 1e-05: truncation")
    lab.screenshot("after-slider")
    lab.assert_no_errors()

    lab.press_slider(slider, "ArrowRight", times=3)        # 1e-5 -> 1e-2: every redraw above 1e-4 raises
    lab.wait_idle()
    lab.screenshot("after-broken-callback")
    with pytest.raises(BrowserTestError, match="deliberate break in a widget callback"):
        lab.assert_no_errors(" after moving the slider")
    # The traceback is shown where the person looks: inside the widget's plot area.
    assert "deliberate break in a widget callback" in plot.inner_text()


def test_harness_sees_a_clean_run_then_a_callback_error_that_only_the_log_console_sees(lab, lab_server):
    """A clean notebook (an inline plot, printed text, a widget) runs clean and its plot is seen; then an
    observer that raises outside any Output widget leaves no trace in the notebook (JupyterLab puts it in
    its Log Console), and the harness reads it off the kernel websocket and fails right away."""
    rel, _ = write(lab_server, "broken_observer.ipynb", [
        new_markdown_cell("# clean until the slider moves"),
        new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);\nplt.show()"),
        new_code_cell("print('hello from the kernel')"),
        new_code_cell(WIDGET_CELL.format(break_here="pass")),
        new_code_cell("def broken(change):\n"
                      "    if change['new'] > 1e-4:\n"
                      "        raise RuntimeError('deliberate break outside any Output')\n"
                      "slider.observe(broken, names='value')"),
    ])
    lab.open(rel)
    lab.run_all()
    lab.screenshot("after-run-all")
    lab.assert_all_cells_ran()
    lab.assert_no_errors()
    cells = lab.cells()
    assert any(i["loaded"] for i in cells[1]["images"]), cells[1]
    assert "hello from the kernel" in cells[2]["text"]
    slider, plot = lab.widget("eps-slider"), lab.widget("eps-plot")
    before = lab.wait_settled(lambda: lab.image_digest(plot), what="first plot")
    lab.type_readout(slider, "1e-2")
    with pytest.raises(BrowserTestError, match=r"(?s)kernel raised.*deliberate break outside any Output"):
        lab.wait_settled(lambda: lab.image_digest(plot), changed_from=before, what="plot after typing 1e-2")
    lab.wait_idle()
    assert not any("deliberate break" in text for text in (c["text"] for c in lab.cells())), \
        "the notebook itself shows nothing: only the kernel websocket carries this error"
    with pytest.raises(BrowserTestError, match="comm_msg: RuntimeError: deliberate break outside any Output"):
        lab.assert_no_errors(" after typing into the readout")


def test_a_missing_chromium_is_named_with_how_to_install_it(monkeypatch):
    """What the skip (or, with REQUIRE_BROWSER=1, the failure) says when Chromium is not installed."""
    from . import harness

    assert harness.browser_missing_reason() is None          # here, everything is installed
    monkeypatch.setattr(harness, "CHROMIUM", "/nonexistent/chromium")
    reason = harness.browser_missing_reason()
    assert "/nonexistent/chromium" in reason and "apt-get install -y chromium" in reason
    assert "REQUIRE_BROWSER=1" in reason
