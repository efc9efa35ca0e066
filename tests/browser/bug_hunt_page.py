"""Notebook 03 in JupyterLab beyond a clean Run All: the bug-hunt widget used with the mouse, and its
layout at 1280x800 (a laptop) and 1920x1080 (a projector). ``tests/browser/test_notebooks.py`` calls
these on the same page as the master's Run All, so the notebook runs once for all of them.

``before_run`` (the master as stored, not run yet)
    the widget's stored output is a picture, not ``VBox(children=...)``.

``after_run`` (after Run All)
    * the picker: every pick shows exactly the report and heatmap that ``bug_hunt_view`` (the widget's
      own logic, run here in the test process) gives for it, and going back to "correct" restores the
      first view;
    * a pick that needs a new check (a combination: never precomputed) shows the busy state before the
      new report (recorded in the page by a MutationObserver, so it does not depend on how fast the
      machine is);
    * at each size: no control is clipped (each control's box and its <select> fit their content,
      scrollWidth <= clientWidth, and the dropdown is wide enough for its longest entry plus the arrow);
      the explanation and every row of the report are fully visible, or inside a box that scrolls;
      figure text is at least 11 px on screen (the smallest font of the figure, in pt at the figure's
      dpi, scaled by the image's rendered / natural width), in the widget and in the notebook's
      ``plot_report`` figure, which fills its column.

Every interaction waits for the view to settle (image and text stop changing, kernel idle).
"""

from tests.browser.harness import LAYOUT_SIZES, MIN_TEXT_PX, wait_until

__all__ = ["before_run", "after_run"]

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


def widget_cell(lab):
    """The notebook cell that shows the bug-hunt widget."""
    return lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").filter(
        has_text="bug_hunt_widget()").last


def before_run(lab):
    """The master as stored: a picture where the widget is, not ``VBox(children=...)``."""
    cell = widget_cell(lab)
    cell.scroll_into_view_if_needed()
    image = cell.locator(".jp-OutputArea-output img")
    wait_until(lambda: image.count() > 0 and image.first.evaluate("i => i.complete && i.naturalWidth > 0"),
               timeout=60, message="a picture in the un-run master's widget output")
    assert "VBox(children" not in cell.inner_text()
    lab.screenshot("bug-hunt-master-not-run", show=cell)


def after_run(lab):
    """The picker, the busy state, then the layout at both sizes (see the module's docstring)."""
    check_picker(lab)
    check_busy_state_before_a_new_report(lab)
    for size in LAYOUT_SIZES:
        check_layout(lab, size)


def check_picker(lab):
    from course_utils.widgets import bug_hunt_view

    picker, report, heatmap = lab.widget("bug-picker"), lab.widget("bug-report"), lab.widget("bug-heatmap")
    for name, w in [("bug-picker", picker), ("bug-report", report), ("bug-heatmap", heatmap)]:
        assert w.count() == 1, f"no widget with CSS class {name} in notebook 3"
    explanation = lab.widget("bug-explanation")

    def view():
        return lab.image_digest(heatmap), lab.html_text(report)

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
    assert bug in lab.html_text(explanation)
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


def check_busy_state_before_a_new_report(lab):
    """A combination of two bugs is never precomputed: the widget shows busy first, then its report."""
    from course_utils.widgets import bug_hunt_view

    hunt, report = lab.widget("bug-hunt"), lab.widget("bug-report")
    lab.choose(lab.widget("bug-picker"), "classic_dW2_db1")
    wait_until(lambda: "wrong blocks: b1, W2" in report.inner_text(), timeout=120, message="the first bug's report")
    lab.wait_idle(what="the first pick to finish")
    hunt.evaluate(OBSERVE_JS)
    lab.widget("bug-combo").locator("select").first.select_option(label="l2_on_biases")
    expected = bug_hunt_view(["classic_dW2_db1", "l2_on_biases"])["summary"]
    wait_until(lambda: expected in report.inner_text(), timeout=120, message="the combined report")
    lab.wait_idle(what="the pick to finish")
    lab.assert_no_errors(" after picking a combination")
    events = lab.page.evaluate("() => window.__bugHuntEvents")
    assert "busy" in events and "report" in events, events
    assert events.index("busy") < events.index("report"), f"the report changed before the busy state: {events}"
    assert "bug-busy" not in (hunt.get_attribute("class") or "")


def smallest_text_px(img, fontsize_pt, dpi):
    """Rendered size in px of a ``fontsize_pt`` font in ``img`` drawn at ``dpi``."""
    natural, shown = img.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().width]")
    assert natural > 0, "the image is not loaded"
    return fontsize_pt / 72.0 * dpi * shown / natural


def report_figure_cell(lab):
    """The first cell of the notebook that shows a ``plot_report`` figure."""
    return lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").filter(
        has_text="plot_report(").filter(has=lab.page.locator(".jp-OutputArea-output img")).first


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
    assert smallest_text_px(widget_img, smallest, FIGURE_DPI) >= MIN_TEXT_PX, f"widget figure at {size}"
    cell = report_figure_cell(lab)
    inline_img = cell.locator(".jp-OutputArea-output img").first
    assert smallest_text_px(inline_img, smallest, FIGURE_DPI) >= MIN_TEXT_PX, f"report figure at {size}"
    column = cell.locator(".jp-OutputArea-output").filter(has=lab.page.locator("img")).first
    filled = inline_img.evaluate("i => i.getBoundingClientRect().width") / column.evaluate(
        "c => c.getBoundingClientRect().width")
    assert filled > 0.9, f"the report figure fills {filled:.0%} of its column at {size}"
    lab.screenshot(f"bug-hunt-{size[0]}x{size[1]}-controls", show=hunt)
    lab.screenshot(f"bug-hunt-{size[0]}x{size[1]}-widget-figure", show=widget_img)
    lab.screenshot(f"bug-hunt-{size[0]}x{size[1]}-report-figure", show=inline_img)
