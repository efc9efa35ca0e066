"""The instructor widgets, used with mouse and keyboard in JupyterLab.

What the page shows after each interaction is compared with the widget's own logic run here, in the
test process (``explorer_state``, ``bug_hunt_view``: plain functions of the controls' values), so
"the verdict changed accordingly" means: it is exactly the verdict for the new position of the controls.
Every interaction waits for the redraw to settle (image and text stop changing, kernel idle).
"""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "notebooks" / "source"


def master(prefix):
    found = sorted(SOURCE.glob(f"{prefix}_*.ipynb"))
    assert found, f"notebooks/source/{prefix}_*.ipynb not found"
    return found[0]


def text_of(widget):
    """The visible text of an HTML widget (its content, not its empty label)."""
    content = widget.locator(".widget-html-content")
    return (content.first if content.count() else widget).inner_text().strip()


# ---------------------------------------------------------------------------------------------------
# Notebook 4: the epsilon explorer
# ---------------------------------------------------------------------------------------------------

def test_epsilon_explorer_slider_readout_and_dtype(open_copy):
    from course_utils.stepsize import MODELS, get_model
    from course_utils.widgets import EXPLORER_METHODS, explorer_state

    lab = open_copy(master("04"))
    lab.run_all()
    lab.assert_no_errors(" after Run All")
    slider, verdict, plot = lab.widget("eps-slider"), lab.widget("eps-verdict"), lab.widget("eps-plot")
    method, dtype, model = lab.widget("eps-method"), lab.widget("eps-dtype"), lab.widget("eps-model")
    for name, w in [("eps-slider", slider), ("eps-verdict", verdict), ("eps-plot", plot),
                    ("eps-method", method), ("eps-dtype", dtype), ("eps-model", model)]:
        assert w.count() == 1, f"no widget with CSS class {name} in notebook 4"

    controls = {"method": dict(EXPLORER_METHODS)[lab.chosen(method)],
                "model": {get_model(k).label: k for k in MODELS}[lab.chosen(model)]}
    assert lab.chosen(dtype) == "float64"

    def expected(eps, dtype_name="float64"):
        return explorer_state(eps, controls["method"], dtype_name, controls["model"])["verdict"]

    def view():
        return lab.image_digest(plot), text_of(verdict)

    def settle(before, what):
        after = lab.wait_settled(view, changed_from=before, what=what)
        lab.assert_no_errors(f" after {what}")
        assert after[0] != before[0], f"the plot image did not change after {what}"
        return after

    state = lab.wait_settled(view, what="the explorer's first plot")
    shown = re.match(r"ε = (\S+):", state[1])
    assert shown and float(shown.group(1)) == float(lab.readout_text(slider)), (state[1], lab.readout_text(slider))
    lab.screenshot("explorer-initial", show=plot)

    # Typing into the readout sets the exact value.
    lab.type_readout(slider, "1e-6")
    state = settle(state, "typing 1e-6 into the readout")
    assert float(lab.readout_text(slider)) == 1e-06
    assert state[1] == expected(1e-6)
    assert "round-off dominated" in state[1]
    lab.screenshot("explorer-typed-1e-6", show=plot)

    # The keyboard on the handle: 8 steps of a quarter decade, 1e-6 -> 1e-4, near the best step.
    lab.press_slider(slider, "ArrowRight", times=8)
    state = settle(state, "8 x ArrowRight on the slider handle")
    assert float(lab.readout_text(slider)) == 0.0001
    assert state[1] == expected(1e-4)
    assert "near the best step" in state[1] and "passes" in state[1]
    lab.screenshot("explorer-keyboard-1e-4", show=plot)

    lab.type_readout(slider, "1e-2")
    state = settle(state, "typing 1e-2 into the readout")
    assert state[1] == expected(1e-2)
    assert "truncation dominated" in state[1]
    float64_state = state
    lab.screenshot("explorer-typed-1e-2", show=plot)

    # float32 and back: the verdict follows the dtype, and comes back.
    lab.choose(dtype, "float32")
    state = settle(state, "switching dtype to float32")
    assert state[1] == expected(1e-2, "float32")
    assert "float32 cannot go below" in state[1]
    lab.screenshot("explorer-float32", show=plot)

    lab.choose(dtype, "float64")
    state = settle(state, "switching dtype back to float64")
    assert state[1] == float64_state[1] == expected(1e-2)
    assert float(lab.readout_text(slider)) == 0.01
    lab.screenshot("explorer-float64-again", show=plot)


# ---------------------------------------------------------------------------------------------------
# Notebook 3: the bug hunt
# ---------------------------------------------------------------------------------------------------

def test_bug_hunt_picker_updates_report_and_heatmap(open_copy):
    from course_utils.widgets import bug_hunt_view

    lab = open_copy(master("03"))
    lab.run_all()
    lab.assert_no_errors(" after Run All")
    picker, report, heatmap = lab.widget("bug-picker"), lab.widget("bug-report"), lab.widget("bug-heatmap")
    for name, w in [("bug-picker", picker), ("bug-report", report), ("bug-heatmap", heatmap)]:
        assert w.count() == 1, f"no widget with CSS class {name} in notebook 3"
    explanation = lab.widget("bug-explanation")

    def view():
        return lab.image_digest(heatmap), text_of(report)

    def settle(before, what):
        after = lab.wait_settled(view, changed_from=before, what=what)
        lab.assert_no_errors(f" after {what}")
        assert after[0] != before[0], f"the heatmap did not change after {what}"
        assert after[1] != before[1], f"the report did not change after {what}"
        return after

    state = lab.wait_settled(view, what="the bug hunt's first report")
    assert lab.chosen(picker) == "correct"
    assert bug_hunt_view("correct")["summary"] in state[1]
    correct = state
    lab.screenshot("bug-hunt-correct", show=heatmap)

    bug = "missing_1_over_m"
    lab.choose(picker, bug)
    state = settle(state, f"picking {bug}")
    expected = bug_hunt_view(bug)
    assert expected["summary"] in state[1], (expected["summary"], state[1][:300])
    assert "FAILED" in state[1] and "PASSED" not in state[1]
    assert bug in text_of(explanation)
    lab.screenshot(f"bug-hunt-{bug}", show=heatmap)

    bug2 = "relu_mask_from_A"
    lab.choose(picker, bug2)
    state = settle(state, f"picking {bug2}")
    assert bug_hunt_view(bug2)["summary"] in state[1]
    lab.screenshot(f"bug-hunt-{bug2}", show=heatmap)

    lab.choose(picker, "correct")
    state = settle(state, "picking correct again")
    assert state == correct, "going back to the correct pass did not restore its report and heatmap"
    lab.screenshot("bug-hunt-correct-again", show=heatmap)
