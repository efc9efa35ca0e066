"""Step-size sweeps: the vectorised sweep against plain per-entry loops, the shape of the error curve
(slopes fitted from the data), the error model's predicted optimum against the measured one, the complex
step (flat on smooth models, wrong on a non-analytic ReLU), float32, kinks, and input errors."""

import numpy as np
import pytest

from course_utils import stepsize as S
from course_utils.gradcheck import default_epsilon
from course_utils.models import forward_propagation_n, mlp_forward
from course_utils.parameters import dictionary_to_vector, gradients_to_vector, vector_to_dictionary
from course_utils.models import backward_propagation_n
from course_utils.testcases import gradient_check_n_test_case


def loop_relative_difference(eps, dtype=np.float64, direction=None):
    """The classic per-entry loop (or one direction), written out with the model's own forward pass."""
    X, Y, parameters = gradient_check_n_test_case()
    theta, _ = dictionary_to_vector(parameters)
    theta = theta.reshape(-1).astype(dtype)
    Xd, Yd = X.astype(dtype), Y.astype(dtype)
    p64 = vector_to_dictionary(theta.astype(np.float64), parameters)
    _, cache = forward_propagation_n(X, Y, p64)
    grad = gradients_to_vector(backward_propagation_n(X, Y, cache), parameters).reshape(-1)
    cost = lambda t: mlp_forward(Xd, Yd, vector_to_dictionary(t, parameters))[0]
    if direction is not None:
        plus, minus = theta + (eps * direction).astype(dtype), theta - (eps * direction).astype(dtype)
        approx = np.array([(cost(plus) - cost(minus)) / (2 * eps)])
        grad = np.array([direction @ grad])
    else:
        approx = np.empty(theta.size)
        for i in range(theta.size):
            plus, minus = theta.copy(), theta.copy()
            plus[i] += dtype(eps)
            minus[i] -= dtype(eps)
            approx[i] = float(cost(plus) - cost(minus)) / (2 * eps)
    return np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx))


@pytest.mark.parametrize("eps", [1e-7, 6e-6, 1e-4, 1e-2])
def test_vectorised_sweep_equals_the_plain_loop_on_the_course_test_case(eps):
    # The batched forward pass must compute the same numbers as the loop the students write.
    swept = S.error_at("net", "centered", "float64", eps)
    assert swept == pytest.approx(loop_relative_difference(eps), rel=1e-6)


def test_the_classic_step_is_three_orders_above_the_best_on_the_course_test_case():
    at_classic = S.error_at("net", "centered", "float64", 1e-7)
    at_1e4 = S.error_at("net", "centered", "float64", 1e-4)
    assert 5e-8 < at_classic < 5e-7  # round-off dominated
    assert at_1e4 < at_classic / 100


def test_the_stable_cost_has_a_lower_roundoff_floor():
    textbook = S.error_at("net", "centered", "float64", 1e-7)
    stable = S.error_at("net_stable", "centered", "float64", 1e-7)
    assert stable < textbook / 20
    s, t = S.fit_error_model(S.sweep("net_stable")), S.fit_error_model(S.sweep("net"))
    assert s.C2 < t.C2 / 20  # the round-off constant, not the truncation constant, changed
    assert s.C1 == pytest.approx(t.C1, rel=0.05)


def test_float32_sweep_equals_the_plain_float32_loop():
    for eps in (1e-3, 3e-2):
        swept = S.error_at("net", "centered", "float32", eps)
        assert swept == pytest.approx(loop_relative_difference(eps, np.float32), rel=1e-3)


def test_direction_mode_matches_a_written_out_directional_derivative_and_costs_two_evaluations():
    eps = np.logspace(-8, -2, 7)
    s = S.sweep("net", "centered", "float64", eps, mode="direction", seed=3)
    assert s.n_evaluations == 2 * eps.size
    v = S.random_direction(47, seed=3)
    assert np.linalg.norm(v) == pytest.approx(1.0)
    for e, err in zip(eps, s.error):
        assert err == pytest.approx(loop_relative_difference(e, direction=v), rel=1e-6, abs=1e-16)


@pytest.mark.parametrize("model", ["sin", "exp", "net", "net_stable"])
def test_centered_slopes_fitted_from_the_data_are_2_and_minus_1(model):
    slopes = S.region_slopes(S.sweep(model, "centered", "float64"))
    assert slopes["truncation"] == pytest.approx(2.0, abs=0.15)
    assert slopes["roundoff"] == pytest.approx(-1.0, abs=0.2)


@pytest.mark.parametrize("model", ["sin", "exp"])
def test_forward_slopes_fitted_from_the_data_are_1_and_minus_1(model):
    slopes = S.region_slopes(S.sweep(model, "forward", "float64"))
    assert slopes["truncation"] == pytest.approx(1.0, abs=0.1)
    assert slopes["roundoff"] == pytest.approx(-1.0, abs=0.25)


@pytest.mark.parametrize("model", ["sin", "exp", "relu", "net", "net_stable"])
@pytest.mark.parametrize("method", ["centered", "forward"])
def test_measured_optimum_is_within_10x_of_the_predicted_one_in_float64(model, method):
    s = S.sweep(model, method, "float64")
    predicted = S.fit_error_model(s).best_epsilon
    measured, _ = S.measured_best(s)
    assert predicted is not None
    assert 0.1 < measured / predicted < 10


@pytest.mark.parametrize("model", ["sin", "exp", "net_stable"])
def test_predicted_optimum_follows_the_rule_of_thumb_for_well_scaled_costs(model):
    for method, dtype in [("centered", "float64"), ("forward", "float64"), ("centered", "float32")]:
        cache = S.SweepCache()
        predicted = cache.error_model(model, method, dtype).best_epsilon
        rule = S.rule_of_thumb_epsilon(dtype, method, S.get_model(model).scale)
        assert 0.1 < predicted / rule < 10, (method, dtype)


def test_rule_of_thumb_agrees_with_the_checkers_default_step():
    for dtype in ("float64", "float32"):
        for method in ("centered", "forward"):
            assert S.rule_of_thumb_epsilon(dtype, method, 3.0) == pytest.approx(
                default_epsilon(np.array([3.0]), method, dtype)[0])
    assert S.rule_of_thumb_epsilon("float64") == pytest.approx(np.finfo(np.float64).eps ** (1 / 3))
    assert S.rule_of_thumb_epsilon("float32", "forward") == pytest.approx(np.sqrt(np.finfo(np.float32).eps))


@pytest.mark.parametrize("model", ["sin", "exp", "net", "net_stable", "linear"])
def test_complex_step_is_flat_at_machine_precision_down_to_1e_20_on_smooth_models(model):
    s = S.sweep(model, "complex", "float64")
    assert s.eps[0] == pytest.approx(1e-20)
    small = s.eps <= 1e-7
    assert np.all(s.error[small] < 1e-13)
    # where real-step differences are ruined by round-off, the complex step is not
    assert S.error_at(model, "centered", "float64", 1e-12) > 100 * s.error[small].max() or model == "linear"


def test_complex_step_fails_on_a_relu_written_with_abs():
    s = S.sweep("relu", "complex", "float64")
    assert not S.get_model("relu").complex_analytic
    assert np.all(s.error[s.eps <= 1e-3] > 0.1)
    assert not S.fit_error_model(s).applies
    # the same function is fine with real steps: it is only the complex step that fails
    assert S.error_at("relu", "centered", "float64", 1e-5) < 1e-9


def test_linear_model_has_no_truncation_error():
    s = S.sweep("linear", "centered", "float64")
    em = S.fit_error_model(s)
    assert em.C1 == 0 and em.best_epsilon is None
    assert S.error_at("linear", "centered", "float64", 1.0) == 0.0
    assert S.region_slopes(s)["roundoff"] == pytest.approx(-1.0, abs=0.2)


def test_float32_cannot_reach_the_classic_threshold():
    s = S.sweep("net", "centered", "float32")
    assert s.error.min() > 1e-5  # no step passes 1e-7, not even 1e-5
    _, best = S.measured_best(s)
    assert best < 1e-2  # a float32 tolerance of 1e-2 does pass at a good step
    assert S.measured_best(s)[0] > 100 * S.measured_best(S.sweep("net"))[0]


def test_kink_step_is_where_a_perturbation_first_flips_a_relu():
    s = S.sweep("net", "centered", "float64")
    kink = S.kink_step(s)
    assert kink is not None and 1e-3 < kink < 1
    X, Y, parameters = gradient_check_n_test_case()
    theta, _ = dictionary_to_vector(parameters)
    theta = theta.reshape(-1)

    def patterns(eps):
        out = []
        for i in range(theta.size):
            for sign in (1, -1):
                t = theta.copy()
                t[i] += sign * eps
                cache = mlp_forward(X, Y, vector_to_dictionary(t, parameters))[1]
                out.append(tuple(np.concatenate([(layer["Z"] > 0).ravel() for layer in cache["layers"][:-1]])))
        return out

    base = tuple(np.concatenate([(layer["Z"] > 0).ravel() for layer in mlp_forward(X, Y, parameters)[1]["layers"][:-1]]))
    assert all(p == base for p in patterns(kink / 1.5))  # below the detected step nothing crosses 0
    assert any(p != base for p in patterns(kink))  # at it, some perturbation flips a ReLU
    assert S.kink_step(S.sweep("sin", "centered", "float64")) is None


def test_cache_computes_each_sweep_once_and_uses_float64_truncation_for_float32():
    cache = S.SweepCache()
    a = cache.get("exp", "centered", "float32")
    assert cache.get("exp", "centered", np.float32) is a
    em = cache.error_model("exp", "centered", "float32")
    assert em.C1 == pytest.approx(S.fit_error_model(cache.get("exp", "centered", "float64")).C1)
    assert em.u == pytest.approx(np.finfo(np.float32).eps)


@pytest.mark.parametrize("call, words", [
    (lambda: S.sweep("net", "central"), "method must be one of"),
    (lambda: S.sweep("net", "centered", "float16"), "dtype must be"),
    (lambda: S.sweep("net", "centered", "float64", [-1e-3]), "positive"),
    (lambda: S.sweep("net", "centered", "float64", mode="sparse"), "mode must be"),
    (lambda: S.sweep("resnet"), "model must be one of"),
    (lambda: S.finite_differences("sin", "centered", "float64", [1e-3], np.eye(2)), "directions must have shape"),
    (lambda: S.fit_slope([1e-3, 1e-2], [1.0, 2.0], 1e-4, 1), "usable points"),
])
def test_bad_input_names_the_problem(call, words):
    with pytest.raises(S.StepSizeError, match=words):
        call()


# --- the student-facing check of notebook 4 (course_utils.checks.optimal_epsilon_test) -------------

def _student(power_centered=1 / 3, power_forward=1 / 2, u_of=lambda d: np.finfo(d).eps, use_scale=True):
    def optimal_epsilon(dtype, method="centered", scale=1.0):
        p = power_centered if method == "centered" else power_forward
        return float(u_of(dtype) ** p * (scale if use_scale else 1.0))
    return optimal_epsilon


def test_optimal_epsilon_check_passes_a_right_answer(capsys):
    from course_utils.checks import optimal_epsilon_test
    optimal_epsilon_test(_student())
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("student, mistake_id", [
    (_student(power_centered=1 / 2), "optimal_epsilon.centered_not_recognised"),
    (_student(power_forward=1 / 3), "optimal_epsilon.method_ignored"),
    (_student(u_of=lambda d: np.finfo(np.float64).eps), "optimal_epsilon.float64_eps_always"),
    (_student(use_scale=False), "optimal_epsilon.no_scale"),
    (_student(u_of=lambda d: np.finfo(d).resolution), "optimal_epsilon.resolution"),
])
def test_optimal_epsilon_check_names_the_usual_mistakes(student, mistake_id):
    """The public test is the judge: it fails with the catalogue's hint for the mistake."""
    from course_utils.checks import ExerciseFailure, optimal_epsilon_test
    from course_utils.mistakes import mistake
    with pytest.raises(ExerciseFailure) as info:
        optimal_epsilon_test(student)
    assert mistake(mistake_id).hint in str(info.value)
