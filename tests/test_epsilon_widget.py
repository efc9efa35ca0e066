"""The epsilon explorer without a browser: the pure state function reacts to every control, the widget
wires each control to it, redraws in place (one image, fixed height) and carries the CSS classes the
browser tests use."""

import base64
import html
import re

import ipywidgets as widgets
import numpy as np
import pytest

from course_utils import stepsize as S
from course_utils.widgets import EpsilonExplorer, epsilon_explorer, explorer_state


@pytest.fixture(scope="module")
def cache():
    return S.SweepCache()


BASE = dict(eps=1e-7, method="centered", dtype="float64", model="net")


def state(cache, **changes):
    return explorer_state(**{**BASE, **changes}, cache=cache)


def test_state_is_the_figure_data_of_the_controls(cache):
    st = state(cache)
    s = S.sweep("net", "centered", "float64")
    np.testing.assert_allclose(st["error"], s.error)
    assert st["current_eps"] == 1e-7
    assert st["current_error"] == pytest.approx(S.error_at("net", "centered", "float64", 1e-7))
    assert "round-off" in st["verdict"] and "fails the classic 1e-7" in st["verdict"]


def test_moving_the_slider_changes_the_marked_step_and_verdict_not_the_curve(cache):
    a, b = state(cache), state(cache, eps=1e-4)
    assert b["current_eps"] == 1e-4 and b["current_error"] < a["current_error"] / 100
    assert a["verdict"] != b["verdict"] and "passes" in b["verdict"]
    np.testing.assert_array_equal(a["error"], b["error"])  # the cached sweep is reused


def test_changing_the_method_changes_the_curve(cache):
    a, b, c = state(cache), state(cache, method="forward"), state(cache, method="complex")
    assert not np.allclose(a["error"][:97], b["error"])
    assert c["eps"][0] < 1e-19 and "no round-off growth" in c["verdict"]
    assert a["best_eps"] != b["best_eps"] and c["best_eps"] is None


def test_changing_the_dtype_changes_the_curve(cache):
    a, b = state(cache), state(cache, dtype="float32")
    assert b["measured_best_error"] > 1000 * a["measured_best_error"]
    assert b["dtype"] == "float32" and "float32" in b["title"] and "float32 cannot go below" in b["verdict"]


def test_changing_the_model_changes_the_curve(cache):
    a, b = state(cache), state(cache, model="sin")
    assert a["title"] != b["title"]
    assert not np.allclose(a["error"], b["error"])
    relu = state(cache, model="relu", method="complex")
    assert "does not apply" in relu["verdict"]


@pytest.mark.parametrize("changes, words", [
    (dict(eps=0.0), "eps must be a positive number"),
    (dict(eps="1e-7"), "eps must be a positive number"),
    (dict(method="central"), "method must be one of"),
    (dict(dtype="float16"), "dtype must be"),
    (dict(model="bert"), "model must be one of"),
])
def test_bad_state_names_the_problem(cache, changes, words):
    with pytest.raises(S.StepSizeError, match=words):
        state(cache, **changes)


def find(box, css):
    """The descendants of a widget carrying a CSS class."""
    out = []
    stack = [box]
    while stack:
        w = stack.pop()
        if css in getattr(w, "_dom_classes", ()):
            out.append(w)
        stack.extend(getattr(w, "children", ()))
    return out


@pytest.fixture(scope="module")
def explorer():
    return epsilon_explorer()


def test_widget_has_the_controls_and_css_classes(explorer):
    assert isinstance(explorer, EpsilonExplorer)
    for css in ("eps-slider", "eps-method", "eps-dtype", "eps-model", "eps-verdict", "eps-plot", "eps-plot-image"):
        assert len(find(explorer, css)) == 1 or css == "eps-plot-image", css
    assert "eps-explorer" in explorer._dom_classes
    slider = find(explorer, "eps-slider")[0]
    assert isinstance(slider, widgets.FloatLogSlider)
    assert (slider.base, slider.min, slider.max, slider.step) == (10, -12, 0, 0.25)  # the centered axis
    assert {v for _, v in find(explorer, "eps-method")[0].options} == set(S.METHODS)
    assert set(find(explorer, "eps-dtype")[0].options) == {"float64", "float32"}
    assert {v for _, v in find(explorer, "eps-model")[0].options} == set(S.MODELS)
    plot = find(explorer, "eps-plot")[0]
    assert isinstance(plot, widgets.Output) and plot.layout.width == "100%"  # as wide as the column
    assert explorer.layout.width == "100%" and explorer.image.layout.width == "100%"


def test_slider_spans_the_axis_of_the_method_shown(explorer):
    """The complex step's axis reaches 1e-20, and so does the slider; back on centered differences the
    step is brought back onto their axis (1e-12 ... 1), with one redraw showing it."""
    slider, method = explorer.controls["eps"], explorer.controls["method"]
    method.value = "complex"
    assert slider.min == pytest.approx(np.log10(explorer.state["eps"][0])) == pytest.approx(-20)
    slider.value = 1e-18
    assert explorer.state["current_eps"] == pytest.approx(1e-18)
    method.value = "centered"
    assert slider.min == pytest.approx(-12) and slider.value == pytest.approx(1e-12)
    assert explorer.state["method"] == "centered" and explorer.state["current_eps"] == pytest.approx(1e-12)
    slider.value = 1e-7


def test_verdict_keeps_numbers_whole_when_it_wraps(explorer):
    from course_utils.epsilon_explorer_machinery import verdict_html

    explorer.controls["dtype"].value = "float32"
    try:
        shown = find(explorer, "eps-verdict")[0].value
    finally:
        explorer.controls["dtype"].value = "float64"
    numbers = re.findall(r"\d\.\de-\d\d", explorer_state(1e-7, "centered", "float32", "net")["verdict"])
    assert len(numbers) >= 3
    for number in numbers:
        assert f"<span style='white-space:nowrap'>{number}</span>" in shown
    assert "&lt;b&gt;" in verdict_html("<b>")  # escaped


@pytest.mark.parametrize("control, value, field", [
    ("eps", 1e-4, "current_eps"), ("method", "forward", "method"),
    ("dtype", "float32", "dtype"), ("model", "exp", "model"),
])
def test_each_control_redraws_in_place(explorer, control, value, field):
    plot = find(explorer, "eps-plot")[0]
    before_png, before_state = explorer.png, explorer.state
    explorer.controls[control].value = value
    assert explorer.state[field] == (pytest.approx(value) if control == "eps" else value)
    assert explorer.state is not before_state
    assert explorer.png != before_png and explorer.png[:8] == b"\x89PNG\r\n\x1a\n"
    # the image widget in the plot Output shows the new PNG, and nothing is stacked
    assert len(plot.outputs) == 1
    shown = plot.outputs[0]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert shown == explorer.image.model_id and "eps-plot-image" in explorer.image._dom_classes
    assert explorer.image.value == explorer.png
    verdict = html.unescape(re.sub(r"<[^>]+>", "", find(explorer, "eps-verdict")[0].value))
    assert verdict == explorer.state["verdict"]  # the whole verdict, as text
    explorer.controls[control].value = {"eps": 1e-7, "method": "centered", "dtype": "float64", "model": "net"}[control]


def test_going_back_to_a_state_gives_the_same_picture(explorer):
    explorer.controls["eps"].value = 1e-6
    first = explorer.png
    explorer.controls["dtype"].value = "float32"
    explorer.controls["dtype"].value = "float64"
    assert explorer.png == first


def test_display_carries_a_static_png_for_github(explorer):
    bundle, metadata = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == explorer.png
    alt = metadata["image/png"]["alt"]  # what nbconvert writes as the still image's alt text
    assert explorer.state["title"] in alt and f"{explorer.state['current_eps']:.1e}" in alt


def test_unknown_model_fails_before_building_the_widget():
    with pytest.raises(S.StepSizeError, match="model must be one of"):
        epsilon_explorer(model="gpt")


def test_png_written_directly_decodes_to_the_canvas():
    from io import BytesIO

    from PIL import Image

    from course_utils.epsilon_explorer_machinery import rgba_png

    rgba = np.random.default_rng(0).integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    decoded = np.asarray(Image.open(BytesIO(rgba_png(rgba))))
    np.testing.assert_array_equal(decoded, rgba)
    with pytest.raises(ValueError, match="RGBA buffer"):
        rgba_png(np.zeros((4, 4, 3), np.uint8))


@pytest.mark.parametrize("name", ["epsilon_drawing", "epsilon_explorer_machinery"])
def test_machinery_modules_say_a_student_does_not_need_them(name):
    import importlib

    first = importlib.import_module(f"course_utils.{name}").__doc__.strip().splitlines()[0]
    assert "a student does not need this module" in first, first
