"""The instructor's bug-hunt widget, tested without a browser: set a control, read what it shows.

What the asserts prove: each view names and localises its bugs; the explanation is rendered HTML with
every part of the catalogue's text; a pick shows the busy state before the check runs (and not when
the view is ready); the background precompute gives the same views as a direct computation and stops
with the widget; the display bundle carries a still image for viewers without widgets.
"""

import pytest

from course_utils.bugs import CATALOGUE, DEFAULT_LAMBD, bug_names, touched_blocks
from course_utils.testcases import gradient_check_n_test_case
from course_utils.bug_hunt_machinery import ViewCache, busy_html, markdown_inline
from course_utils.widgets import bug_hunt_view, bug_hunt_widget

PNG = b"\x89PNG"


def find(widget, css_class):
    """The one descendant of ``widget`` carrying ``css_class``."""
    found = []
    stack = [widget]
    while stack:
        w = stack.pop()
        if css_class in getattr(w, "_dom_classes", ()):
            found.append(w)
        stack.extend(getattr(w, "children", ()))
    assert len(found) == 1, f"{len(found)} widgets with class {css_class}"
    return found[0]


@pytest.fixture(scope="module")
def widget():
    w = bug_hunt_widget(precompute=False)  # every view computed on demand: the tests see each pick happen
    yield w
    w.close()


def test_view_of_one_bug_names_and_localises_it():
    view = bug_hunt_view("classic_dW2_db1")
    assert view["names"] == ("classic_dW2_db1",)
    assert view["lambd"] == 0.0
    assert view["report"].failing_blocks() == ["b1", "W2"]
    assert sorted(view["touched"]) == ["W2", "b1"]
    assert "2.851e-01" in view["summary"]
    assert set(view["heatmaps"]) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    assert CATALOGUE["classic_dW2_db1"].title.split(":")[0] in view["explanation"]


def test_view_of_the_correct_pass_and_of_an_l2_bug():
    correct = bug_hunt_view([])
    assert correct["names"] == () and correct["report"].passed
    assert "no bug" in correct["explanation"]
    l2 = bug_hunt_view(["l2_gradient_dropped"])
    assert l2["lambd"] == DEFAULT_LAMBD and "lambd = 0.7" in l2["explanation"]
    assert sorted(l2["report"].failing_blocks()) == ["W1", "W2", "W3"]


def test_widget_has_stable_css_classes(widget):
    for css_class in ("bug-hunt", "bug-picker", "bug-combo", "bug-status", "bug-explanation", "bug-report",
                      "bug-heatmap"):
        find(widget, css_class)
    assert "bug-hunt" in widget._dom_classes
    assert find(widget, "bug-picker").options[0] == "correct"
    assert list(find(widget, "bug-picker").options[1:]) == bug_names()


def test_choosing_a_bug_redraws_report_and_heatmap(widget):
    picker, report, heatmap = find(widget, "bug-picker"), find(widget, "bug-report"), find(widget, "bug-heatmap")
    widget.select("correct")
    assert "PASSED" in report.value
    before_html, before_png = report.value, heatmap.value
    assert before_png[:4] == PNG
    picker.value = "relu_mask_from_A"  # what a click in the dropdown does
    assert widget.view["names"] == ("relu_mask_from_A",)
    assert report.value != before_html and "FAILED" in report.value and "WRONG" in report.value
    assert heatmap.value != before_png and heatmap.value[:4] == PNG
    assert "relu_mask_from_A" in find(widget, "bug-explanation").value
    picker.value = "correct"
    assert report.value == before_html and heatmap.value == before_png  # back where we started


def test_multi_select_combines_bugs(widget):
    widget.select("classic_dW2_db1")
    single = set(widget.view["report"].failing_blocks())
    find(widget, "bug-combo").value = ("l2_on_biases",)
    assert widget.view["names"] == ("classic_dW2_db1", "l2_on_biases")
    assert set(widget.view["report"].failing_blocks()) == single | {"b1", "b2", "b3"}
    shown = find(widget, "bug-report").value.split("wrong blocks:")[1].split("<")[0]
    assert {name.strip() for name in shown.split(",")} == single | {"b1", "b2", "b3"}
    widget.select(["classic_dW2_db1", "l2_on_biases", "classic_dW2_db1"])  # duplicates are dropped
    assert widget.view["names"] == ("classic_dW2_db1", "l2_on_biases")


def test_every_bug_view_localises_it():
    _, _, parameters = gradient_check_n_test_case()
    for name in bug_names():
        view = bug_hunt_view(name)
        assert view["names"] == (name,)
        assert set(view["report"].failing_blocks()) == set(touched_blocks(name, parameters)), name


def test_the_explanation_is_rendered_html_with_every_part_of_the_text():
    view = bug_hunt_view(["weight_grad_transposed", "l2_on_biases"])
    text = view["explanation"]
    assert "`" not in text and "<code>" in text  # markdown code spans rendered, no raw backticks
    for name in view["names"]:
        assert markdown_inline(CATALOGUE[name].spot) in text  # the whole spot line of both bugs
        assert markdown_inline(CATALOGUE[name].why) in text
    assert "lambd = 0.7" in text
    assert markdown_inline("a `b` **c** <d>") == "a <code>b</code> <b>c</b> &lt;d&gt;"


def test_a_pick_shows_the_busy_state_before_the_check_runs(widget):
    status, report = find(widget, "bug-status"), find(widget, "bug-report")
    seen = []
    status.observe(lambda change: seen.append(("status", change["new"])), names="value")
    report.observe(lambda change: seen.append(("report", change["new"])), names="value")
    widget.select("correct")
    seen.clear()
    widget.select("db_before_relu")  # not computed yet
    assert seen[0] == ("status", busy_html(("db_before_relu",)))  # first thing sent: "checking ..."
    assert [kind for kind, _ in seen] == ["status", "report", "status"]  # then the report, then the all-clear
    assert "bug-busy" not in widget._dom_classes
    seen.clear()
    widget.select("correct")  # computed before: no busy state at all
    assert [kind for kind, _ in seen] == ["report"]


def test_background_precompute_gives_the_same_views_and_stops_with_the_widget():
    names = ["relu_mask_off_by_one", "bias_sum_all_axes"]
    w = bug_hunt_widget(precompute=names)
    assert w.cache.wait(timeout=600)  # a condition (the thread ended), not a sleep
    assert all(w.cache.ready((n,)) for n in names)
    for name in names:
        view, _, png = w.cache.get((name,))
        assert view["report"].failing_blocks() == bug_hunt_view(name)["report"].failing_blocks()
        assert png[:4] == PNG
    assert len({w.cache.get((n,))[2] for n in names}) == 2  # a different picture for every bug
    w.close()
    assert not w.cache.thread.is_alive()
    everything = bug_hunt_widget(precompute=True)
    everything.close()  # stops the precompute after at most the view in progress
    assert everything.cache.wait(timeout=600) and not everything.cache.thread.is_alive()


def test_view_cache_computes_each_key_once_whatever_the_order():
    calls = []
    cache = ViewCache(lambda key: calls.append(key) or len(calls))
    cache.start([("a",), ("b",)])
    first = cache.get(("b",))
    assert cache.wait(timeout=60)
    assert sorted(calls) == [("a",), ("b",)] and cache.get(("b",)) == first


def test_the_display_bundle_carries_a_still_image(widget):
    widget.select("classic_dW2_db1")
    data, metadata = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("Bug-hunt widget") and "FAILED" in data["text/plain"]
    import base64
    assert base64.b64decode(data["image/png"]) == widget.png and widget.png[:4] == PNG
    assert metadata["image/png"]["alt"] == data["text/plain"]


def test_bugs_that_cannot_be_combined_are_explained_not_raised(widget):
    widget.select("classic_dW2_db1")
    before = find(widget, "bug-report").value
    widget.select(["missing_1_over_m", "weight_grad_transposed"])  # both rewrite the line computing dW
    assert "both rewrite the line" in find(widget, "bug-status").value
    assert find(widget, "bug-report").value == before and "bug-busy" not in widget._dom_classes


def test_select_rejects_unknown_bugs(widget):
    with pytest.raises(ValueError, match="choose from correct, classic_dW2_db1"):
        widget.select("no_such_bug")
