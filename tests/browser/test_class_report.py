"""Issue 17: the class report opened in a real browser (Chromium, a file:// page, no JupyterLab).

The report is built from a results folder written by hand (no grading: see
``tests/test_class_report.write_results_folder``) plus one graded-looking submission per notebook, so
every section is there. What it proves: the page opens from disk with nothing fetched, every section
(overview, each notebook, each exercise, the unfixed bugs of notebook 03, the ungraded files, how it was
made) is found and visible, every embedded figure decoded (natural width > 0) with its alt text, and
at 1280 px no table, example or figure is wider than the page's column.
"""

import json

import pytest

from autograder.class_report import REPORT_HTML, write_report
from autograder.specs import notebook_specs
from course_utils.mistakes import mistakes_for
from tests.test_class_report import _test_entry, write_results_folder

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    """(report numbers, path of class-report.html) for a hand-written results folder."""
    folder = write_results_folder(tmp_path_factory.mktemp("class") / "results")
    for notebook_id, spec in notebook_specs().items():  # one submission per notebook, each with a mistake
        # the longest mistake id of each exercise, with an example: the widest a table row gets
        longest = {e.grade_id: max(mistakes_for(e.function), key=lambda m: len(m.id)).id for e in spec.exercises}
        tests = [_test_entry(e.grade_id, 0, e.points, [longest[e.grade_id]]) for e in spec.exercises]
        lines = ["dZ3 = (A3 - Y) * A3 * (1 - A3)  # shape (1, m): the sigmoid's derivative applied twice"] * 4
        name = f"maximilien_gallagher_resubmitted_{notebook_id}.json"  # a long name: one word in the page
        (folder / name).write_text(json.dumps({"score": 0.0, "tests": tests, "extra_data": {
            "excerpts": {e.grade_id: lines for e in spec.exercises}}}))
    report = write_report(folder)
    return report, folder / REPORT_HTML


def test_every_section_is_found_and_every_figure_loaded(report_page, chromium):
    report, path = report_page
    sections = ["#overview", "#ungraded", "#about", "#unfixed-bugs"]
    sections += [f"#nb-{nb['notebook']}" for nb in report["notebooks"]]
    sections += [f"#ex-{x['grade_id']}" for nb in report["notebooks"] for x in nb["exercises"]]
    assert len(report["notebooks"]) == len(notebook_specs())
    # the session's Chromium (tests/browser/conftest.py): a second Playwright in this process would fail
    context = chromium.new_context()
    try:
        page = context.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        for selector in sections:
            assert page.locator(selector).count() == 1, selector
            assert page.locator(selector).first.is_visible(), selector
        loaded = page.evaluate("() => [...document.images].map(i => [i.complete, i.naturalWidth, i.alt])")
        # the overview, a histogram per notebook, and per exercise a histogram and the mistakes' bars
        assert len(loaded) == 1 + len(report["notebooks"]) + 2 * (len(sections) - 4 - len(report["notebooks"]))
        assert all(done and width > 0 and alt.strip() for done, width, alt in loaded), loaded
        assert page.locator("h1").count() == 1
        # at 1280 px nothing sticks out of the text column (a long mistake id once pushed the examples off)
        page.set_viewport_size({"width": 1280, "height": 900})
        wide = page.evaluate("() => { const main = document.querySelector('main').getBoundingClientRect();"
                             " return [...document.querySelectorAll('table, pre, img')]"
                             ".filter(e => e.getBoundingClientRect().right > main.right + 1)"
                             ".map(e => e.tagName + ' ' + (e.closest('[id]') || {}).id); }")
        assert wide == [], wide
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert all(u.startswith(("file://", "data:")) for u in requests), requests
    finally:
        context.close()
