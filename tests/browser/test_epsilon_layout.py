"""Notebook 4 as a student (1280x800) and a projector (1920x1080) see it: the layout, not only that
things render (issue 16).

One page: the explorer's cell runs once (the figures are the master's stored
outputs), then the window is resized (nothing runs again). At each size:

* no control of the ε explorer is clipped: each one's content fits its box (scrollWidth <= clientWidth)
  and the box stays inside the explorer;
* the explorer's plot fills the output column (at 1920 too: no fixed 890 px picture);
* every figure's text is at least 11 px on screen: the smallest font of notebook 4's figures is
  ``min(EPSILON_FONTS)`` pt, i.e. ``pt * EPSILON_DPI / 72`` px in the PNG, scaled by the image's rendered
  width over its natural width;
* the verdict never breaks a number across lines, and a longer verdict does not move the plot.

Then the slider reaches the complex step's 1e-20. Screenshots of both sizes are saved.
"""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SIZES = [(1280, 800), (1920, 1080)]
MIN_TEXT_PX = 11.0

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


def master(prefix):
    found = sorted((REPO / "notebooks" / "source").glob(f"{prefix}_*.ipynb"))
    assert found, f"notebooks/source/{prefix}_*.ipynb not found"
    return found[0]


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


def test_notebook_4_layout_at_1280_and_1920(open_copy):
    import nbformat

    path = master("04")
    cells = nbformat.read(path, as_version=4).cells
    widget, stacked = (next(i for i, c in enumerate(cells) if c.cell_type == "code" and key in c.source)
                       for key in ("epsilon_explorer()", 'dtypes=("float64", "float32")'))
    lab = open_copy(path)
    lab.page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    lab.run_cell(widget)  # it imports what it needs; the figures show the master's stored outputs
    lab.assert_no_errors(" after running the explorer's cell")
    plot, verdict, dtype = lab.widget("eps-plot"), lab.widget("eps-verdict"), lab.widget("eps-dtype")

    def view():
        return lab.image_digest(plot), verdict.inner_text()

    state = lab.wait_settled(view, what="the explorer's first plot")
    for width, height in SIZES:
        label = f"{width}x{height}"
        lab.page.set_viewport_size({"width": width, "height": height})
        lab.wait_settled(lambda: [i["shown"] for i in lab.page.evaluate(MEASURE_IMAGES, ".eps-explorer img")],
                         what=f"the layout at {label}")
        check_controls(lab, label)
        images = check_images(lab, label)
        check_verdict(lab, label)
        lab.screenshot(f"float32-figure-{label}", show=lab.cell(stacked).locator("img").first)
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

    # the slider covers the complex step's axis, down to 1e-20
    lab.choose(lab.widget("eps-method"), "complex step")
    state = lab.wait_settled(view, changed_from=state, what="switching to the complex step")
    slider = lab.widget("eps-slider")
    lab.type_readout(slider, "1e-20")
    state = lab.wait_settled(view, changed_from=state, what="typing 1e-20 into the readout")
    assert float(lab.readout_text(slider)) == 1e-20
    assert re.match(r"ε = 1\.0e-20:", state[1]), state[1]
    lab.assert_no_errors(" after the layout checks")
    lab.screenshot("explorer-complex-1e-20", show=plot)
