"""The instructor's bug-hunt widget, tested without a browser: set a control, read what it shows."""

import pytest

from course_utils.bugs import CATALOGUE, DEFAULT_LAMBD, bug_names, touched_blocks
from course_utils.testcases import gradient_check_n_test_case
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
    return bug_hunt_widget()


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
    for css_class in ("bug-hunt", "bug-picker", "bug-combo", "bug-explanation", "bug-report", "bug-heatmap"):
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


def test_every_bug_can_be_injected_live(widget):
    _, _, parameters = gradient_check_n_test_case()
    picker = find(widget, "bug-picker")
    find(widget, "bug-combo").value = ()
    seen = set()
    for name in bug_names():
        picker.value = name
        report = widget.view["report"]
        assert widget.view["names"] == (name,)
        assert set(report.failing_blocks()) == set(touched_blocks(name, parameters)), name
        seen.add(find(widget, "bug-heatmap").value)
    assert len(seen) == len(bug_names())  # a different picture for every bug


def test_select_rejects_unknown_bugs(widget):
    with pytest.raises(ValueError, match="choose from correct, classic_dW2_db1"):
        widget.select("no_such_bug")
