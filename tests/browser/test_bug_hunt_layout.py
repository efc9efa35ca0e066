"""The bug-hunt widget and the report figure laid out in JupyterLab at 1280x800 and at 1920x1080.

One small notebook (the widget and one ``plot_report`` figure, as notebook 03 shows them) runs once;
the page is then resized, and at each size the test measures the page itself:

* no control is clipped: each control's box and its <select> fit their content (scrollWidth <=
  clientWidth), and the dropdown is wide enough for its longest entry plus the arrow;
* the explanation and every row of the report (the block table and the worst-entries table) are
  fully visible, or inside a box that scrolls;
* figure text is at least 11 px on screen: the smallest font of the figure (pt, at the figure's dpi)
  scaled by the image's rendered / natural width;
* a pick that needs a new check shows the busy state before the new report (recorded in the page by a
  MutationObserver, so it does not depend on how fast the machine is);
* notebook 03's master, opened without running it, shows a picture where the widget is, not
  ``VBox(children=...)``.

Screenshots at both sizes go to the harness's screenshot folder.
"""

import shutil
from pathlib import Path

import nbformat
import pytest

from tests.browser.harness import wait_until

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SIZES = [(1280, 800), (1920, 1080)]
MIN_TEXT_PX = 11.0

SOURCE = [
    "%matplotlib inline\nfrom course_utils.bugs import check_bugs\nfrom course_utils.plots import plot_report\n"
    "from course_utils.widgets import bug_hunt_widget",
    "# no background precompute here: the test's picks are computed on demand (less CPU for the test)\n"
    "hunt = bug_hunt_widget(precompute=False)\nhunt",
    "plot_report(check_bugs('classic_dW2_db1'))",
]

CLIPPED_JS = """root => {
  const out = [];
  for (const css of ['bug-picker', 'bug-combo', 'bug-explanation', 'bug-report', 'bug-status']) {
    const box = root.querySelector('.' + css);
    if (!box) { out.push(css + ': missing'); continue; }
    for (const el of [box, ...box.querySelectorAll('select')]) {
      if (el.scrollWidth > el.clientWidth + 1)
        out.push(`${css} ${el.tagName}: scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`);
    }
  }
  const select = root.querySelector('.bug-picker select');
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = getComputedStyle(select).font;
  const widest = Math.max(...[...select.options].map(o => ctx.measureText(o.text).width));
  if (select.clientWidth < widest + 24)  // the arrow and the padding need about 24 px
    out.push(`bug-picker select: ${select.clientWidth} px for an entry of ${widest.toFixed(0)} px and the arrow`);
  return out;
}"""

HIDDEN_ROWS_JS = """root => {
  const out = [];
  for (const css of ['bug-report', 'bug-explanation']) {
    const box = root.querySelector('.' + css);
    const style = getComputedStyle(box);
    const scrolls = ['auto', 'scroll'].includes(style.overflowY);
    if (!scrolls && box.scrollHeight > box.clientHeight + 1)
      out.push(`${css}: content ${box.scrollHeight} px in a box of ${box.clientHeight} px that does not scroll`);
  }
  const rows = [...root.querySelectorAll('.bug-report tr')];
  if (rows.length < 12) out.push(`only ${rows.length} report rows (6 blocks, 5 worst entries, 2 headers)`);
  return out;
}"""

# records, in page order, when the widget turned busy and when its report text changed
OBSERVE_JS = """root => {
  window.__bugHuntEvents = [];
  const report = root.querySelector('.bug-report');
  new MutationObserver(() => {
    if (root.classList.contains('bug-busy')) window.__bugHuntEvents.push('busy');
  }).observe(root, {attributes: true, attributeFilter: ['class']});
  new MutationObserver(() => window.__bugHuntEvents.push('report'))
    .observe(report, {childList: true, subtree: true, characterData: true});
}"""


def smallest_text_px(lab, img, fontsize_pt, dpi):
    """Rendered size in px of a ``fontsize_pt`` font in ``img`` drawn at ``dpi``."""
    natural, shown = img.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().width]")
    assert natural > 0, "the image is not loaded"
    return fontsize_pt / 72.0 * dpi * shown / natural


def check_layout(lab, size):
    from course_utils.figure_machinery import FIGURE_DPI, REPORT_FONTS

    lab.page.set_viewport_size({"width": size[0], "height": size[1]})
    hunt = lab.widget("bug-hunt")
    wait_until(lambda: hunt.evaluate("el => el.getBoundingClientRect().width") <= size[0], timeout=30,
               message="the widget to take the new width")
    assert hunt.evaluate(CLIPPED_JS) == [], f"at {size}"
    assert hunt.evaluate(HIDDEN_ROWS_JS) == [], f"at {size}"
    assert "spot:" in lab.widget("bug-explanation").inner_text()
    smallest = min(REPORT_FONTS.values())
    widget_img = lab.widget("bug-heatmap")
    assert smallest_text_px(lab, widget_img, smallest, FIGURE_DPI) >= MIN_TEXT_PX, f"widget figure at {size}"
    inline_img = lab.page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output img").first
    assert smallest_text_px(lab, inline_img, smallest, FIGURE_DPI) >= MIN_TEXT_PX, f"report figure at {size}"
    column = lab.page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output").first
    filled = inline_img.evaluate("i => i.getBoundingClientRect().width") / column.evaluate(
        "c => c.getBoundingClientRect().width")
    assert filled > 0.9, f"the report figure fills {filled:.0%} of its column at {size}"
    lab.screenshot(f"bug-hunt-{size[0]}x{size[1]}-controls", show=hunt)
    lab.screenshot(f"bug-hunt-{size[0]}x{size[1]}-widget-figure", show=widget_img)
    lab.screenshot(f"bug-hunt-{size[0]}x{size[1]}-report-figure", show=inline_img)


def test_bug_hunt_layout_at_laptop_and_projector_sizes(lab, lab_server):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in SOURCE])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab_server.root / "notebooks" / "bug_hunt_layout.ipynb")
    lab.page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    lab.open("notebooks/bug_hunt_layout.ipynb")
    lab.run_all()
    lab.assert_no_errors(" after Run All")
    report = lab.widget("bug-report")
    wait_until(lambda: "PASSED" in report.inner_text() and lab.widget("bug-heatmap").evaluate(
        "i => i.complete && i.naturalWidth > 0"), timeout=120, message="the widget's first report")

    # a pick that needs a new check (a combination: never precomputed): busy state first, then the report
    from course_utils.widgets import bug_hunt_view

    hunt = lab.widget("bug-hunt")
    lab.choose(lab.widget("bug-picker"), "classic_dW2_db1")
    wait_until(lambda: "wrong blocks: b1, W2" in report.inner_text(), timeout=120, message="the first bug's report")
    lab.wait_idle(what="the first pick to finish")
    hunt.evaluate(OBSERVE_JS)
    lab.widget("bug-combo").locator("select").first.select_option(label="l2_on_biases")
    expected = bug_hunt_view(["classic_dW2_db1", "l2_on_biases"])["summary"]
    wait_until(lambda: expected in report.inner_text(), timeout=120, message="the combined report")
    lab.wait_idle(what="the pick to finish")
    events = lab.page.evaluate("() => window.__bugHuntEvents")
    assert "busy" in events and "report" in events, events
    assert events.index("busy") < events.index("report"), f"the report changed before the busy state: {events}"
    assert "bug-busy" not in (hunt.get_attribute("class") or "")

    for size in SIZES:
        check_layout(lab, size)

    # the master as stored (not run): the widget's output is a picture
    shutil.copyfile(REPO / "notebooks" / "source" / "03_bug_hunt.ipynb",
                    lab_server.root / "notebooks" / "03_bug_hunt__unrun.ipynb")
    lab.open("notebooks/03_bug_hunt__unrun.ipynb")
    cell = lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").filter(
        has_text="bug_hunt_widget()").last
    cell.scroll_into_view_if_needed()
    wait_until(lambda: cell.locator(".jp-OutputArea-output img").count() > 0 and cell.locator(
        ".jp-OutputArea-output img").first.evaluate("i => i.complete && i.naturalWidth > 0"), timeout=60,
        message="a picture in the un-run master's widget output")
    assert "VBox(children" not in cell.inner_text()
    lab.screenshot("bug-hunt-master-not-run", show=cell)
