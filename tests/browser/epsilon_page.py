"""Notebook 04 in JupyterLab beyond a clean Run All: the ε explorer used with mouse and keyboard, and the
layout a student (1280x800) and a projector (1920x1080) see. ``tests/browser/test_notebooks.py`` calls
``after_run`` on the same page as the master's Run All, so the notebook runs once for all of them.

* The explorer: what the page shows after each interaction (typing into the readout, the keyboard on
  the slider's handle, the dtype) is exactly the verdict ``explorer_state`` (the widget's own logic,
  run here in the test process) gives for the new position of the controls.
* At each size (the window is resized; nothing runs again): no control of the explorer is clipped
  (each one's content fits its box, scrollWidth <= clientWidth, and the box stays inside the explorer);
  the explorer's plot fills the output column (at 1920 too: no fixed 890 px picture); every figure's
  text is at least 11 px on screen (the smallest font of notebook 4's figures is ``min(EPSILON_FONTS)``
  pt, i.e. ``pt * EPSILON_DPI / 72`` px in the PNG, scaled by the image's rendered width over its
  natural width); the verdict never breaks a number across lines, and a longer verdict does not move
  the plot.
* The slider reaches the complex step's 1e-20.

Every interaction waits for the view to settle (image and text stop changing, kernel idle).
"""

import re

from tests.browser.harness import LAYOUT_SIZES, MIN_TEXT_PX

__all__ = ["before_run", "after_run"]

MEASURE_CONTROLS = """explorer => {
  const box = explorer.getBoundingClientRect();
  const picked = explorer.querySelectorAll(
      '.widget-slider, .widget-dropdown, .eps-verdict, .widget-label, select, .widget-readout');
  return [...picked].filter(el => el.getBoundingClientRect().width > 0).map(el => {
    const r = el.getBoundingClientRect();
    return {what: el.className.toString().split(' ').filter(c => c.startsWith('eps-') || c.startsWith('widget-'))
                    .join(' ') || el.tagName, scroll: el.scrollWidth, client: el.clientWidth,
            left: r.left, right: r.right, boxLeft: box.left, boxRight: box.right};
  });
}"""

MEASURE_IMAGES = """sel => [...document.querySelectorAll(sel)].map(img => {
  const out = img.closest('.jp-OutputArea-output');
  return {natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
          column: out ? out.getBoundingClientRect().width : 0,
          explorer: !!img.closest('.eps-explorer'), alt: img.getAttribute('alt') || ''};
})"""

MEASURE_VERDICT = """verdict => {
  const spans = [...verdict.querySelectorAll('span')];
  const style = getComputedStyle(verdict.querySelector('div') || verdict);
  return {broken: spans.filter(s => s.getClientRects().length > 1).map(s => s.textContent),
          numbers: spans.length, height: verdict.getBoundingClientRect().height,
          line: parseFloat(style.lineHeight)};
}"""


def before_run(lab):
    """Nothing to check on the stored master beyond what every master gets."""


def after_run(lab):
    """The explorer, the layout at both sizes, then the complex step's 1e-20 (see the module's docstring)."""
    state = check_explorer(lab)
    state = check_layout(lab, state)
    check_complex_step_range(lab, state)


def view_of(lab):
    plot, verdict = lab.widget("eps-plot"), lab.widget("eps-verdict")
    return lambda: (lab.image_digest(plot), lab.html_text(verdict))


def check_explorer(lab):
    """Typing, the keyboard and the dtype: each view is the one ``explorer_state`` gives."""
    from course_utils.stepsize import MODELS, get_model
    from course_utils.widgets import EXPLORER_METHODS, explorer_state

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

    view = view_of(lab)

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
    return state


def check_controls(lab, label):
    explorer = lab.widget("eps-explorer")
    controls = explorer.evaluate(MEASURE_CONTROLS)
    assert len(controls) >= 8, f"{label}: found only {controls}"
    clipped = [c for c in controls if c["scroll"] > c["client"] + 1]
    outside = [c for c in controls if c["right"] > c["boxRight"] + 1 or c["left"] < c["boxLeft"] - 1]
    assert not clipped, f"{label}: explorer controls whose content is clipped: {clipped}"
    assert not outside, f"{label}: explorer controls sticking out of the explorer: {outside}"


def check_images(lab, label):
    from course_utils.epsilon_drawing import EPSILON_DPI, EPSILON_FONTS

    images = lab.page.evaluate(MEASURE_IMAGES, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img")
    assert len(images) >= 6, f"{label}: expected the 5 figures of notebook 4 and the explorer's plot: {images}"
    font_px = min(EPSILON_FONTS.values()) * EPSILON_DPI / 72  # smallest text, in the PNG's pixels
    for image in images:
        assert image["natural"] > 0, f"{label}: an image did not load: {image}"
        on_screen = font_px * image["shown"] / image["natural"]
        assert on_screen >= MIN_TEXT_PX, f"{label}: figure text {on_screen:.1f} px on screen: {image}"
        assert image["shown"] >= 0.95 * image["column"] - 40, f"{label}: a figure does not fill its column: {image}"
    explorer = [i for i in images if i["explorer"]]
    assert len(explorer) == 1 and explorer[0]["shown"] >= 0.97 * explorer[0]["column"] - 20, \
        f"{label}: the explorer's plot does not fill the column: {explorer}"
    return images


def check_verdict(lab, label):
    verdict = lab.widget("eps-verdict").evaluate(MEASURE_VERDICT)
    assert verdict["numbers"] >= 2 and not verdict["broken"], f"{label}: numbers broken across lines: {verdict}"
    assert verdict["height"] <= 2 * verdict["line"] + 8, f"{label}: the verdict takes more than two lines: {verdict}"


def stacked_figure(lab):
    """The image of the cell that draws the float64 and float32 curves together."""
    return lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").filter(
        has_text='dtypes=("float64", "float32")').locator("img").first


def check_layout(lab, state):
    """Both sizes: controls, figures and verdict; at each, the other dtype must not move the plot."""
    plot, dtype = lab.widget("eps-plot"), lab.widget("eps-dtype")
    view = view_of(lab)
    for width, height in LAYOUT_SIZES:
        label = f"{width}x{height}"
        lab.page.set_viewport_size({"width": width, "height": height})
        lab.wait_settled(lambda: [i["shown"] for i in lab.page.evaluate(MEASURE_IMAGES, ".eps-explorer img")],
                         what=f"the layout at {label}")
        check_controls(lab, label)
        images = check_images(lab, label)
        check_verdict(lab, label)
        lab.screenshot(f"float32-figure-{label}", show=stacked_figure(lab))
        lab.screenshot(f"explorer-{label}", show=plot)
        # a longer verdict (float32) neither breaks numbers nor moves the plot down
        explorer = lab.widget("eps-explorer")  # (offsets inside it: choosing may scroll the page)
        top = plot.bounding_box()["y"] - explorer.bounding_box()["y"]
        lab.choose(dtype, "float32" if lab.chosen(dtype) == "float64" else "float64")
        state = lab.wait_settled(view, changed_from=state, what=f"switching the dtype at {label}")
        check_verdict(lab, label + ", other dtype")
        moved = plot.bounding_box()["y"] - explorer.bounding_box()["y"] - top
        assert abs(moved) <= 1, f"{label}: the plot moved {moved:+.0f} px when the verdict changed"
        lab.screenshot(f"explorer-{lab.chosen(dtype)}-{label}", show=plot)
        assert min(i["shown"] for i in images) > 0
    return state


def check_complex_step_range(lab, state):
    """The slider covers the complex step's axis, down to 1e-20."""
    plot, slider = lab.widget("eps-plot"), lab.widget("eps-slider")
    view = view_of(lab)
    lab.choose(lab.widget("eps-method"), "complex step")
    state = lab.wait_settled(view, changed_from=state, what="switching to the complex step")
    lab.type_readout(slider, "1e-20")
    state = lab.wait_settled(view, changed_from=state, what="typing 1e-20 into the readout")
    assert float(lab.readout_text(slider)) == 1e-20
    assert re.match(r"ε = 1\.0e-20:", state[1]), state[1]
    lab.assert_no_errors(" after the layout checks")
    lab.screenshot("explorer-complex-1e-20", show=plot)
