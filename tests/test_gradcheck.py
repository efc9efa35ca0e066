"""The checker's public behaviour: verdicts, localisation, kinks, precision, and its error messages."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.gradcheck import (
    GradCheckError,
    PrecisionWarning,
    check_gradients,
    default_epsilon,
    relative_difference,
)
from course_utils.models import backward_propagation_n, forward_propagation_n
from course_utils.testcases import gradient_check_n_test_case


@pytest.fixture
def case():
    X, Y, parameters = gradient_check_n_test_case()
    _, cache = forward_propagation_n(X, Y, parameters)
    gradients = backward_propagation_n(X, Y, cache)
    cost = lambda p: forward_propagation_n(X, Y, p)[0]
    return cost, parameters, gradients


def test_correct_backprop_passes_with_a_tiny_difference(case):
    cost, parameters, gradients = case
    report = check_gradients(cost, parameters, gradients)
    assert report.passed and report.verdict == "passed"
    assert report.relative_difference < 1e-8
    assert report.failing_blocks() == []
    assert report.analytic.shape == report.numeric.shape == (47,)


def test_classic_bug_pair_is_localised_with_exact_scale_differences(case):
    cost, parameters, gradients = case
    buggy = dict(gradients, dW2=2 * gradients["dW2"], db1=4 * gradients["db1"])
    report = check_gradients(cost, parameters, buggy)
    assert report.verdict == "failed"
    assert set(report.failing_blocks()) == {"W2", "b1"}
    assert {b.name for b in report.blocks[:2]} == {"W2", "b1"}  # ranked first
    # a scale bug dW <- k dW gives |k - 1| / (k + 1)
    assert report.block("W2").relative_difference == pytest.approx(1 / 3, rel=1e-6)
    assert report.block("b1").relative_difference == pytest.approx(3 / 5, rel=1e-6)
    assert report.relative_difference == pytest.approx(0.2851, abs=1e-4)
    assert all(e.label.startswith(("W2[", "b1[")) for e in report.worst)
    text = repr(report)
    assert "FAILED" in text and "W2" in text and "WRONG" in text
    assert "FAILED" in report._repr_html_() and "<table>" in report._repr_html_()


def test_parameters_and_gradients_are_never_modified(case):
    cost, parameters, gradients = case
    saved_p = {k: v.copy() for k, v in parameters.items()}
    saved_g = {k: v.copy() for k, v in gradients.items()}

    def vandal_cost(p):  # a cost that writes into what it is given
        value = cost(p)
        for v in p.values():
            v += 1.0
        return value

    check_gradients(vandal_cost, parameters, gradients)
    for k in saved_p:
        np.testing.assert_array_equal(parameters[k], saved_p[k])
    for k in saved_g:
        np.testing.assert_array_equal(gradients[k], saved_g[k])


def test_integer_parameters_are_converted_so_perturbations_do_not_vanish():
    parameters = {"w": np.array([1, 2, 3])}
    cost = lambda p: float(np.sum(p["w"] ** 2))
    report = check_gradients(cost, parameters, {"dw": np.array([2, 4, 6])})
    assert report.passed and report.dtype == np.float64
    np.testing.assert_allclose(report.numeric, [2, 4, 6], rtol=1e-8)


def test_float32_warns_and_uses_a_looser_threshold(case):
    cost, parameters, gradients = case
    p32 = {k: v.astype(np.float32) for k, v in parameters.items()}
    with pytest.warns(PrecisionWarning, match="float32"):
        report = check_gradients(cost, p32, gradients)
    assert report.dtype == np.float32 and report.threshold == 1e-3
    assert report.epsilon.min() > 1e-3  # steps near u^(1/3) = 5e-3 in float32


def test_default_epsilon_follows_the_dtype_and_scale():
    eps64 = default_epsilon(np.array([0.5, 10.0]))
    assert eps64[0] == pytest.approx(np.finfo(np.float64).eps ** (1 / 3))
    assert eps64[1] == pytest.approx(10 * eps64[0])
    assert 4e-3 < default_epsilon(np.zeros(1, np.float32))[0] < 6e-3
    assert default_epsilon(np.zeros(1), "forward")[0] == pytest.approx(np.sqrt(np.finfo(float).eps))
    with pytest.raises(GradCheckError, match="method must be one of"):
        default_epsilon(np.zeros(1), "backward")


def test_relative_difference_reads_zero_over_zero_as_agreement():
    assert relative_difference(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_difference([1.0], [3.0]) == pytest.approx(0.5)


def test_nan_in_gradients_is_named(case):
    cost, parameters, gradients = case
    bad = dict(gradients, dW2=gradients["dW2"].copy())
    bad["dW2"][1, 3] = np.nan
    with pytest.raises(GradCheckError, match=r"analytic gradients contains NaN at W2\[1, 3\]"):
        check_gradients(cost, parameters, bad)


def test_inf_in_parameters_is_named(case):
    cost, parameters, gradients = case
    bad = dict(parameters, b3=np.array([[np.inf]]))
    with pytest.raises(GradCheckError, match=r"parameters contains Inf at b3\[0, 0\]"):
        check_gradients(cost, bad, gradients)


def test_nan_cost_names_the_perturbed_entry():
    parameters = {"w": np.array([1.0, 0.0])}
    cost = lambda p: float(np.nan if p["w"][1] < 0 else p["w"] @ p["w"])  # undefined left of 0
    with pytest.raises(GradCheckError, match=r"cost is nan when w\[1\] was decreased"):
        check_gradients(cost, parameters, {"dw": np.array([2.0, 0.0])})


def test_nan_cost_at_the_start_is_explained():
    with pytest.raises(GradCheckError, match="at the unperturbed parameters"):
        check_gradients(lambda p: np.nan, {"w": np.ones(2)}, {"dw": np.ones(2)})


def test_cost_returning_an_array_is_explained():
    with pytest.raises(GradCheckError, match="must return one number"):
        check_gradients(lambda p: p["w"] * 2, {"w": np.ones(2)}, {"dw": np.ones(2)})


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="backward"), "method must be one of"),
    (dict(mode="sometimes"), "mode must be"),
    (dict(threshold=-1.0), "threshold must be a positive number"),
    (dict(epsilon=-1e-3), "epsilon must be a positive number"),
])
def test_bad_options_are_explained(case, kwargs, message):
    cost, parameters, gradients = case
    with pytest.raises(GradCheckError, match=message):
        check_gradients(cost, parameters, gradients, **kwargs)


def test_step_too_small_for_the_dtype_is_explained():
    p = {"w": np.array([1000.0], dtype=np.float32)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        with pytest.raises(GradCheckError, match="too small to change entry 0"):
            check_gradients(lambda q: float(q["w"][0] ** 2), p, {"dw": np.array([2000.0])}, epsilon=1e-6)


def test_complex_step_reaches_machine_precision(case):
    cost, parameters, gradients = case
    report = check_gradients(cost, parameters, gradients, method="complex")
    assert report.passed and report.relative_difference < 1e-12


def test_complex_step_needs_a_complex_cost():
    with pytest.raises(GradCheckError, match="carries complex numbers"):
        check_gradients(lambda p: float(np.real(np.sum(p["w"] ** 2))), {"w": np.ones(2)}, {"dw": 2 * np.ones(2)},
                        method="complex")


def test_forward_differences_pass_with_their_own_threshold(case):
    cost, parameters, gradients = case
    report = check_gradients(cost, parameters, gradients, method="forward")
    assert report.passed and report.threshold == 1e-5
    # n + 1, and the noise measurement (issue 14): a repeat and two 6-point tables (the first call also
    # evaluates the narrower table it may need)
    assert report.n_evaluations == 48 + report.noise.evaluations == 48 + 13


def test_crossed_kink_is_flagged_not_failed_and_a_smaller_step_clears_it():
    parameters = {"w": np.array([2e-6, 1.0, -0.5])}
    cost = lambda p: float(np.sum(np.maximum(p["w"], 0.0)))
    gradients = {"dw": np.array([1.0, 1.0, 0.0])}
    report = check_gradients(cost, parameters, gradients, epsilon=1e-5)
    assert [e.label for e in report.kinks] == ["w[0]"]
    assert report.passed and any("kink" in note for note in report.notes)
    smaller = check_gradients(cost, parameters, gradients, epsilon=1e-7)
    assert smaller.kinks == [] and smaller.passed and smaller.relative_difference < 1e-8


def test_a_real_bug_at_a_smooth_point_is_not_mistaken_for_a_kink():
    parameters = {"w": np.array([0.3, -1.2])}
    cost = lambda p: float(np.sum(np.sin(p["w"])))
    gradients = {"dw": np.cos(parameters["w"]) * np.array([1.0, 1.01])}
    report = check_gradients(cost, parameters, gradients, epsilon=1e-3)
    assert report.kinks == [] and not report.passed and report.worst[0].label == "w[1]"


def test_tiny_step_is_inconclusive_rather_than_a_false_alarm(case):
    cost, parameters, gradients = case
    report = check_gradients(cost, parameters, gradients, epsilon=1e-13)
    assert report.verdict == "inconclusive"
    assert any("larger epsilon" in note for note in report.notes)


def test_random_directions_detect_a_bug_with_2k_plus_1_evaluations(case):
    cost, parameters, gradients = case
    good = check_gradients(cost, parameters, gradients, mode="random", directions=8, rng=0)
    assert good.passed and good.n_evaluations == 17
    buggy = dict(gradients, db3=gradients["db3"] * 1.01)
    bad = check_gradients(cost, parameters, buggy, mode="random", directions=8, rng=0)
    assert not bad.passed
    assert any("probability" in note for note in bad.notes)


def test_random_directions_per_block_localise_the_bug(case):
    cost, parameters, gradients = case
    buggy = dict(gradients, dW1=gradients["dW1"].T.reshape(5, 4))  # entries shuffled, same norm
    report = check_gradients(cost, parameters, buggy, mode="random", per_block=True, directions=3, rng=1)
    assert report.failing_blocks() == ["W1"]
    assert report.n_evaluations == 2 * 3 * 6 + 1


smooth = st.floats(-2.0, 2.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(smooth, smooth, smooth), min_size=1, max_size=6), st.integers(0, 5), st.sampled_from([1e-3, -2e-3, 0.05]))
def test_random_smooth_functions_pass_and_perturbed_gradients_fail(terms, which, error):
    """J(w) = sum_i a_i sin(b_i w_i) + 0.5 (sum_i w_i)^2, with its exact gradient."""
    a, b, w = (np.array(col) for col in zip(*terms))
    a = a + np.sign(a) * 0.5 + (a == 0)  # keep every coefficient away from 0 so no gradient vanishes
    b = b + np.sign(b) * 0.5 + (b == 0)
    cost = lambda p: float(np.sum(a * np.sin(b * p["w"])) + 0.5 * np.sum(p["w"]) ** 2)
    grad = a * b * np.cos(b * w) + np.sum(w)
    assert check_gradients(cost, {"w": w}, {"dw": grad}).passed
    i = which % w.size
    wrong = grad.copy()
    wrong[i] += error * max(abs(grad[i]), 1.0)
    report = check_gradients(cost, {"w": w}, {"dw": wrong})
    assert report.verdict == "failed" and report.worst[0].label == f"w[{i}]"


def test_round_off_floor_follows_the_precision_the_cost_is_computed_in(case):
    """float32 parameters in a float64 computation have float64 round-off (the steps taken are exact
    float32 numbers); a cost computed in float32 has float32 round-off, and then the default step cannot
    resolve a 1e-3 threshold on this network, which the report says instead of guessing."""
    cost, parameters, gradients = case
    X, Y, _ = gradient_check_n_test_case()
    p32 = {k: v.astype(np.float32) for k, v in parameters.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        mixed = check_gradients(cost, p32, gradients)
        X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
        single = check_gradients(lambda p: forward_propagation_n(X32, Y32, p)[0], p32, gradients)
        wrong = check_gradients(lambda p: forward_propagation_n(X32, Y32, p)[0], p32,
                                dict(gradients, dW2=1.1 * gradients["dW2"]))
    assert mixed.passed and mixed.relative_difference < 1e-5
    assert single.verdict == "inconclusive"
    assert any("check in float64" in note for note in single.notes)
    assert wrong.verdict == "failed" and wrong.failing_blocks() == ["W2"]


# ---------------------------------------------------------------------------------------------------
# numerical_gradient: notebook 2's loop, in plain sight
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, tolerance", [("centered", 1e-8), ("forward", 1e-5), ("complex", 1e-13)])
def test_numerical_gradient_is_shaped_like_the_gradients_and_agrees_with_them(case, method, tolerance):
    from course_utils.gradcheck import numerical_gradient
    from course_utils.parameters import gradients_to_vector
    cost, parameters, gradients = case
    before = {k: v.copy() for k, v in parameters.items()}
    approx = numerical_gradient(cost, parameters, method=method)
    assert list(approx) == list(gradients)
    assert all(approx[k].shape == gradients[k].shape for k in gradients)
    assert relative_difference(gradients_to_vector(gradients, parameters),
                               gradients_to_vector(approx, parameters)) < tolerance
    assert all(np.array_equal(before[k], parameters[k]) for k in before)


def test_numerical_gradient_is_the_classic_loop_number_for_number(case):
    """With the classic step it computes exactly (J(theta + eps) - J(theta - eps)) / (2 eps) per entry."""
    import inspect

    from course_utils.gradcheck import numerical_gradient
    from course_utils.parameters import dictionary_to_vector, gradients_to_vector, vector_to_dictionary
    cost, parameters, gradients = case
    theta, _ = dictionary_to_vector(parameters)
    expected = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += 1e-7
        minus[i] -= 1e-7
        expected[i] = (cost(vector_to_dictionary(plus, parameters)) - cost(vector_to_dictionary(minus, parameters))) / 2e-7
    got = gradients_to_vector(numerical_gradient(cost, parameters, epsilon=1e-7), parameters)
    assert np.array_equal(got, expected)
    assert len(inspect.getsource(numerical_gradient).splitlines()) < 50  # docstring included; the loop is short
