"""The catalogue of student mistakes (course_utils.mistakes) and the student code making each mistake
(tests/student_mistakes.py); the judges that see them are tested in tests/test_judges.py.

What the tests prove:

* the catalogue is well formed: unique, stable-looking ids prefixed by their exercise, every exercise
  covered, every mistake the issue names present, lookups that fail loudly;
* every catalogued mistake has student code, and every piece of student code belongs to the catalogue;
* every correct variant gives the right answer against references written *here*, on random inputs;
* mistakes that behave alike share their hint, and the issue's look-alike pairs get different verdicts.
"""

import dataclasses
import inspect
import math
import re
import zlib

import numpy as np
import pytest

from course_utils import mistakes as catalogue
from course_utils.mistakes import EXERCISES, MISTAKES, Mistake, MistakeError, mistake, mistakes_for
from tests import mistake_probes as probes
from tests import student_mistakes as students

SIGNATURES = {
    "forward_propagation": ["x", "theta"],
    "backward_propagation": ["x", "theta"],
    "gradient_check": ["x", "theta", "epsilon", "print_msg"],
    "gradient_check_n": ["parameters", "gradients", "X", "Y", "epsilon", "print_msg"],
    "k_from_report": ["report", "name"],
    "backward_propagation_fixed": ["X", "Y", "cache"],
    "optimal_epsilon": ["dtype", "method", "scale"],
}

#: Every mistake the text of issue 15 names, by id.
NAMED_IN_ISSUE = [
    "gradient_check.forward_difference", "gradient_check.ignored_epsilon", "gradient_check.prints_when_quiet",
    "gradient_check.difference_of_norms", "gradient_check.norm_of_sum", "gradient_check.sign_error",
    "gradient_check.plus_twice", "gradient_check.perturbed_x", "gradient_check.returned_gradapprox",
    "gradient_check_n.unrestored_perturbation", "gradient_check_n.ignored_epsilon",
    "gradient_check_n.last_entry_skipped", "gradient_check_n.copied_once", "gradient_check_n.all_entries_perturbed",
    "gradient_check_n.other_key_order", "gradient_check_n.cost_cache_not_unpacked",
    "forward_propagation.squared_input", "backward_propagation.returned_zero",
    "k_from_report.cases_swapped", "k_from_report.returned_r", "k_from_report.negated",
    "backward_propagation_fixed.calls_library", "backward_propagation_fixed.db3_missing_1_over_m",
    "optimal_epsilon.max_one_scale", "optimal_epsilon.half_eps", "optimal_epsilon.constant_step",
    "optimal_epsilon.power_precedence",
]

#: The ids as first released: the class report counts mistakes by id, so none may be renamed or dropped
#: (new ids may be added).
RELEASED_IDS = {
    "forward_propagation": (
        "added", "returned_x", "returned_theta", "squared_input", "squared_cost", "no_return",
        "printed_not_returned", "returned_tuple"),
    "backward_propagation": (
        "returned_theta", "returned_cost", "returned_zero", "returned_one", "negated", "divided_by_theta",
        "no_return"),
    "gradient_check": (
        "forward_difference", "backward_difference", "one_sided_half", "divided_by_epsilon",
        "missing_parentheses", "divided_then_multiplied", "plus_twice", "minus_twice", "sign_error",
        "perturbed_x", "returned_gradapprox", "no_denominator", "grad_only_denominator", "norm_of_sum",
        "difference_of_norms", "ignored_epsilon", "prints_when_quiet", "returns_verdict", "self_comparison",
        "grad_at_perturbed_theta", "theta_passed_unperturbed", "old_signature", "returned_array"),
    "gradient_check_n": (
        "forgot_copy", "copied_once", "unrestored_perturbation", "all_entries_perturbed",
        "last_entry_skipped", "other_key_order", "gradients_in_dict_order", "cost_cache_not_unpacked",
        "divided_by_epsilon", "plus_twice", "sign_error", "forward_difference", "no_denominator",
        "grad_only_denominator", "norm_of_sum", "difference_of_norms", "ignored_epsilon",
        "prints_when_quiet", "self_comparison", "parameters_left_changed", "old_signature",
        "old_helper_calls", "shape_broadcast", "returned_gradapprox", "gradapprox_overwritten"),
    "k_from_report": (
        "cases_swapped", "norm_ratio_inverted", "always_larger_case", "always_smaller_case", "returned_r",
        "negated", "missing_parentheses", "global_difference", "ignored_name"),
    "backward_propagation_fixed": (
        "calls_library", "relu_mask_from_activation", "relu_mask_dropped", "db_before_relu",
        "weight_grad_transposed", "relu_mask_off_by_one", "db3_missing_1_over_m", "missing_1_over_m",
        "bias_sum_all_axes", "relu_instead_of_derivative", "output_error_reversed",
        "sigmoid_derivative_twice", "cache_unpacked_out_of_order", "classic_scale_bugs"),
    "optimal_epsilon": (
        "max_one_scale", "half_eps", "constant_step", "power_precedence", "floor_division", "roots_swapped",
        "method_ignored", "centered_not_recognised", "float64_eps_always", "no_scale", "resolution", "tiny",
        "u_itself", "divided_by_scale", "scale_inside_root"),
}


# ---------------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------------

def test_ids_are_unique_snake_case_and_prefixed_by_their_exercise():
    ids = [m.id for m in MISTAKES]
    assert len(ids) == len(set(ids)), "a mistake id appears twice"
    for m in MISTAKES:
        assert re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", m.id), m.id
        assert m.id.split(".")[0] == m.exercise and m.exercise in EXERCISES, m.id


def test_released_ids_are_never_renamed_or_dropped():
    ids = {m.id for m in MISTAKES}
    released = {f"{exercise}.{what}" for exercise, whats in RELEASED_IDS.items() for what in whats}
    assert sorted(released - ids) == []


def test_every_exercise_has_mistakes_and_the_catalogue_is_large_enough():
    assert isinstance(MISTAKES, tuple) and len(MISTAKES) >= 55
    for exercise in EXERCISES:
        assert len(mistakes_for(exercise)) >= 5, exercise
    assert sum(len(mistakes_for(e)) for e in EXERCISES) == len(MISTAKES)


def test_every_field_is_filled_and_hints_are_one_or_two_sentences():
    for m in MISTAKES:
        for field in dataclasses.fields(Mistake):
            value = getattr(m, field.name)
            assert isinstance(value, str) and value.strip() == value and value, (m.id, field.name)
        sentences = re.findall(r"[.!?](?:\s+[A-Z`(]|$)", m.hint)
        assert 1 <= len(sentences) <= 2, f"{m.id}: {m.hint}"
        assert len(m.hint) <= 260, m.id


def test_every_mistake_named_in_the_issue_is_catalogued():
    ids = {m.id for m in MISTAKES}
    assert [i for i in NAMED_IN_ISSUE if i not in ids] == []


def test_lookups_and_their_errors():
    assert mistake("gradient_check.sign_error").exercise == "gradient_check"
    assert mistakes_for("k_from_report")[0] is next(m for m in MISTAKES if m.exercise == "k_from_report")
    with pytest.raises(MistakeError, match="gradient_check.sign_error"):
        mistake("gradient_check.no_such_mistake")  # the message lists the exercise's ids
    with pytest.raises(MistakeError, match="exercises are"):
        mistake("nonsense")
    with pytest.raises(MistakeError, match="unknown exercise"):
        mistakes_for("gradient_check_m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        MISTAKES[0].hint = "changed"


def test_module_exports_and_functions_are_documented():
    assert set(catalogue.__all__) == {"EXERCISES", "MISTAKES", "Mistake", "MistakeError", "mistake", "mistakes_for"}
    for name in ("mistake", "mistakes_for"):
        doc = getattr(catalogue, name).__doc__
        assert "Parameters" in doc and "Returns" in doc and "Raises" in doc, name


# ---------------------------------------------------------------------------------------------------
# The student code
# ---------------------------------------------------------------------------------------------------

def test_every_mistake_has_student_code_and_all_code_is_catalogued():
    assert set(students.WRONG) == {m.id for m in MISTAKES}
    assert all(len(sources) >= 1 for sources in students.WRONG.values())


def test_there_are_enough_correct_variants():
    assert len(students.CORRECT) >= 20
    for key in students.CORRECT:
        assert re.fullmatch(r"[a-z_]+\.correct_\d+", key) and key.split(".")[0] in EXERCISES, key
    for exercise in EXERCISES:
        assert sum(k.startswith(exercise + ".") for k in students.CORRECT) >= 2, exercise


@pytest.mark.parametrize("key,index,source", students.implementations(),
                         ids=[f"{k}[{i}]" for k, i, _ in students.implementations()])
def test_every_source_defines_the_exercise_with_its_signature(key, index, source):
    function = students.load(source, students.exercise_of(key))
    expected = SIGNATURES[students.exercise_of(key)]
    if key.endswith(".old_signature"):  # the mistake is the signature itself
        expected = [p for p in expected if p != "print_msg"]
    assert list(inspect.signature(function).parameters) == expected


def test_load_fails_when_the_cell_does_not_define_the_exercise():
    with pytest.raises(KeyError):
        students.load("def something_else(x, theta):\n    return x\n", "forward_propagation")


# ---------------------------------------------------------------------------------------------------
# Correct variants against independent references
# ---------------------------------------------------------------------------------------------------

def _ref_relative(g, g_hat):
    g, g_hat = np.ravel(g).astype(float), np.ravel(g_hat).astype(float)
    return float(np.linalg.norm(g - g_hat) / (np.linalg.norm(g) + np.linalg.norm(g_hat)))


def _ref_network(rng, sizes, m):
    parameters = {}
    for l in range(1, 4):
        parameters[f"W{l}"] = rng.normal(size=(sizes[l], sizes[l - 1])) / math.sqrt(sizes[l - 1])
        parameters[f"b{l}"] = rng.normal(size=(sizes[l], 1)) * 0.2
    X = rng.normal(size=(sizes[0], m))
    Y = rng.integers(0, 2, size=(1, m)).astype(float)
    return X, Y, parameters


def _ref_forward(X, Y, parameters):
    """The 3-layer network's forward pass, in the textbook's words (a reference for the tests)."""
    A, cache = X, []
    for l in range(1, 4):
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        Z = np.dot(W, A) + b
        A = np.where(Z > 0, Z, 0.0) if l < 3 else 1.0 / (1.0 + np.exp(-Z))
        cache += [Z, A, W, b]
    cost = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    return cost, tuple(cache)


def _ref_backward(X, Y, cache):
    """Gradients of _ref_forward's cost, example by example (slow on purpose: a different route)."""
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    m = X.shape[1]
    grads = {k: np.zeros_like(v) for k, v in (("dW1", W1), ("db1", b1), ("dW2", W2), ("db2", b2),
                                              ("dW3", W3), ("db3", b3))}
    for j in range(m):
        d3 = A3[:, [j]] - Y[:, [j]]
        d2 = (W3.T @ d3) * (Z2[:, [j]] > 0)
        d1 = (W2.T @ d2) * (Z1[:, [j]] > 0)
        for l, d, below in ((1, d1, X[:, [j]]), (2, d2, A1[:, [j]]), (3, d3, A2[:, [j]])):
            grads[f"dW{l}"] += d @ below.T / m
            grads[f"db{l}"] += d / m
    return grads


def _ref_gradient_check_n(X, Y, parameters, gradients, epsilon):
    names = list(parameters)
    theta = np.concatenate([parameters[k].ravel() for k in names])
    grad = np.concatenate([gradients["d" + k].ravel() for k in names])
    sizes = np.cumsum([0] + [parameters[k].size for k in names])

    def cost(t):
        return _ref_forward(X, Y, {k: t[a:b].reshape(parameters[k].shape)
                                   for k, a, b in zip(names, sizes, sizes[1:])})[0]
    steps = np.eye(theta.size) * epsilon
    approx = np.array([(cost(theta + s) - cost(theta - s)) / (2 * epsilon) for s in steps])
    return _ref_relative(grad, approx)


def _check_1d(function, exercise, rng):
    for _ in range(6):
        x, theta = rng.uniform(-5, 5), rng.uniform(-5, 5)
        expected = theta * x if exercise == "forward_propagation" else x
        got = function(x, theta)
        assert isinstance(got, (float, np.floating)) and math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-15)


def _check_gradient_check(function, rng):
    for _ in range(6):
        x, theta, epsilon = rng.uniform(0.5, 3), rng.uniform(-2, 2), 10 ** rng.uniform(-5, -2)
        k = rng.choice([1.0, rng.uniform(-3, 3)])
        forward = lambda x, theta: np.sin(theta) * x  # noqa: E731 (a curved cost; the notebook's parameter names)
        backward = lambda x, theta, k=k: k * np.cos(theta) * x  # noqa: E731
        with probes.replaced_globals(function, forward_propagation=forward, backward_propagation=backward):
            got = function(x, theta, epsilon, False)
        approx = (np.sin(theta + epsilon) * x - np.sin(theta - epsilon) * x) / (2 * epsilon)
        expected = _ref_relative(backward(x, theta), approx)
        assert isinstance(got, (float, np.floating)) and math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-11)


def _check_gradient_check_n(function, rng):
    for sizes, m in (((4, 5, 3, 1), 3), ((3, 2, 4, 1), 6), ((2, 3, 3, 1), 4)):
        X, Y, parameters = _ref_network(rng, sizes, m)
        right = _ref_backward(X, Y, _ref_forward(X, Y, parameters)[1])
        epsilon = 10 ** rng.uniform(-6, -3)
        scaled = {k: v * rng.choice([1.0, 2.0, -1.0]) for k, v in right.items()}
        for gradients in (right, scaled):
            with probes.replaced_globals(function, forward_propagation_n=_ref_forward):
                got = function(parameters, gradients, X, Y, epsilon, False)
            expected = _ref_gradient_check_n(X, Y, parameters, gradients, epsilon)
            assert isinstance(got, (float, np.floating))
            assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9), (got, expected)


def _check_k_from_report(function, rng):
    from course_utils.bugs import check_backward, inject, scale_bug
    for _ in range(4):
        block = str(rng.choice(["W1", "b1", "W2", "b2", "W3", "b3"]))
        k = float(rng.choice([rng.uniform(0.1, 0.9), rng.uniform(1.1, 9.0)]))
        got = function(check_backward(inject(scale_bug(block, k))), block)
        assert math.isclose(got, k, rel_tol=1e-5), (block, k, got)


def _check_fixed(function, rng):
    for sizes, m in (((4, 5, 3, 1), 3), ((3, 6, 2, 1), 8)):
        X, Y, parameters = _ref_network(rng, sizes, m)
        cache = _ref_forward(X, Y, parameters)[1]
        got, right = function(X, Y, cache), _ref_backward(X, Y, cache)
        assert set(got) == set(right)
        for key in right:
            np.testing.assert_allclose(got[key], right[key], rtol=1e-9, atol=1e-12, err_msg=key)


def _check_optimal_epsilon(function, rng):
    unit = {"float64": 2.0 ** -52, "float32": 2.0 ** -23}
    for _ in range(6):
        name = str(rng.choice(["float64", "float32"]))
        method = str(rng.choice(["centered", "forward"]))
        scale = float(10 ** rng.uniform(-3, 3))
        dtype = name if rng.random() < 0.5 else np.dtype(name).type
        expected = unit[name] ** (1 / 3 if method == "centered" else 1 / 2) * scale
        assert math.isclose(function(dtype, method, scale), expected, rel_tol=1e-6)


CHECKS = {"forward_propagation": lambda f, rng: _check_1d(f, "forward_propagation", rng),
          "backward_propagation": lambda f, rng: _check_1d(f, "backward_propagation", rng),
          "gradient_check": _check_gradient_check, "gradient_check_n": _check_gradient_check_n,
          "k_from_report": _check_k_from_report, "backward_propagation_fixed": _check_fixed,
          "optimal_epsilon": _check_optimal_epsilon}


@pytest.mark.parametrize("key", sorted(students.CORRECT))
def test_correct_variant_matches_an_independent_reference(key):
    exercise = students.exercise_of(key)
    CHECKS[exercise](students.load_key(key), np.random.default_rng(zlib.crc32(key.encode())))


def test_the_references_agree_with_the_masters_solution_on_the_course_case():
    """The test's own network and the probes' network compute the same cost and gradients."""
    X, Y, parameters = probes._course_case()
    cost, cache = _ref_forward(X, Y, parameters)
    assert math.isclose(cost, probes.network_cost(X, Y, parameters), rel_tol=1e-12)
    ref, other = _ref_backward(X, Y, cache), probes.network_gradients(X, Y, parameters)
    for key in ref:
        np.testing.assert_allclose(ref[key], other[key], rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------------------------------------
# Mistakes that look alike
# ---------------------------------------------------------------------------------------------------

def test_mistakes_that_behave_alike_share_their_hint():
    """No hint may blame a mistake the student did not make: where the numbers cannot tell two mistakes
    apart, their hints are the same text."""
    for group in probes.SAME_BEHAVIOUR:
        assert len({mistake(i).hint for i in group}) == 1, group


def test_the_issues_pairs_are_told_apart():
    """Pairs the issue says today's tests confuse get different verdicts from the judges."""
    from course_utils import judges

    def verdict(key):
        return judges.judge(students.exercise_of(key), students.load_key(key))
    for a, b in (("gradient_check.sign_error", "gradient_check.plus_twice"),
                 ("gradient_check.forward_difference", "gradient_check.backward_difference"),
                 ("gradient_check_n.forgot_copy", "gradient_check_n.divided_by_epsilon"),
                 ("gradient_check_n.unrestored_perturbation", "gradient_check_n.parameters_left_changed"),
                 ("gradient_check.missing_parentheses", "gradient_check.divided_then_multiplied")):
        assert verdict(a).mistake_ids == (a,) and verdict(b).mistake_ids == (b,), (a, b)
    seen = verdict("gradient_check.difference_of_norms").seen  # a negative derivative looks right to it
    assert seen.startswith("with dJ/dtheta = -1*x: gradient_check(") and seen.endswith("expected 1"), seen
    assert "db3 x3 (= m)" in verdict("backward_propagation_fixed.db3_missing_1_over_m").seen


def test_run_captures_stdout_and_exceptions():
    result = probes.run(lambda: print("hello") or 1 / 0)
    assert result.stdout == "hello\n" and isinstance(result.error, ZeroDivisionError) and result.value is None
