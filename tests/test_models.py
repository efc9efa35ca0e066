"""Models: forward pass against a written-out formula, backward pass against complex-step derivatives
(an independent reference, exact to machine precision and with no subtraction), input validation."""

import warnings

import numpy as np
import pytest

from course_utils.models import (
    backward_propagation,
    backward_propagation_n,
    check_network_inputs,
    count_layers,
    forward_propagation,
    forward_propagation_n,
    initialize_mlp,
    mlp_backward,
    mlp_forward,
)
from course_utils.parameters import ParameterError, dictionary_to_vector, gradients_to_vector, vector_to_dictionary
from course_utils.testcases import gradient_check_n_test_case


def complex_step_gradient(X, Y, parameters, lambd=0.0, h=1e-30):
    """dJ/dtheta_i = Im J(theta + i h e_i) / h, entry by entry (independent of the code under test's backward)."""
    theta, _ = dictionary_to_vector(parameters)
    theta = theta.ravel().astype(complex)
    grad = np.empty(theta.size)
    for i in range(theta.size):
        t = theta.copy()
        t[i] += 1j * h
        grad[i] = np.imag(mlp_forward(X, Y, vector_to_dictionary(t, parameters), lambd=lambd)[0]) / h
    return grad


def test_1d_model():
    assert forward_propagation(2.0, 4.0) == 8.0
    assert backward_propagation(-3.0, 10.0) == -3.0


def test_3_layer_forward_matches_the_written_out_formula():
    X, Y, p = gradient_check_n_test_case()
    relu = lambda z: np.maximum(z, 0)
    A1 = relu(p["W1"] @ X + p["b1"])
    A2 = relu(p["W2"] @ A1 + p["b2"])
    A3 = 1 / (1 + np.exp(-(p["W3"] @ A2 + p["b3"])))
    expected = -np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3))
    cost, cache = forward_propagation_n(X, Y, p)
    assert cost == pytest.approx(expected, rel=1e-13)
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    assert (Z1.shape, Z2.shape, Z3.shape) == ((5, 3), (3, 3), (1, 3))
    assert W2 is p["W2"] and b3 is p["b3"]


@pytest.mark.parametrize("sizes, lambd, seed", [([4, 5, 3, 1], 0.0, 0), ([3, 7, 1], 0.7, 1),
                                                ([6, 4, 4, 3, 1], 0.1, 2), ([2, 1], 0.0, 3)])
def test_backward_matches_complex_step(sizes, lambd, seed):
    rng = np.random.default_rng(seed)
    parameters = initialize_mlp(sizes, rng)
    X = rng.standard_normal((sizes[0], 5))
    Y = (rng.random((1, 5)) > 0.5).astype(float)
    _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
    grad = gradients_to_vector(mlp_backward(X, Y, cache), parameters).ravel()
    np.testing.assert_allclose(grad, complex_step_gradient(X, Y, parameters, lambd), rtol=1e-10, atol=1e-13)


def test_backward_propagation_n_is_the_correct_3_layer_gradient():
    X, Y, p = gradient_check_n_test_case()
    _, cache = forward_propagation_n(X, Y, p)
    grads = backward_propagation_n(X, Y, cache)
    assert list(grads) == ["dW1", "db1", "dW2", "db2", "dW3", "db3"]
    np.testing.assert_allclose(gradients_to_vector(grads, p).ravel(), complex_step_gradient(X, Y, p),
                               rtol=1e-10, atol=1e-13)


def test_textbook_and_stable_cost_agree_and_saturation_stays_finite():
    X, Y, p = gradient_check_n_test_case()
    a = mlp_forward(X, Y, p)[0]
    b = mlp_forward(X, Y, p, stable_cost=True)[0]
    assert a == pytest.approx(b, rel=1e-12)
    big = dict(p, b3=np.array([[800.0]]))  # sigmoid saturates to exactly 1 for the label-0 example
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log(0), overflow or invalid-value warning may escape
        cost = mlp_forward(X, Y, big)[0]
    assert np.isfinite(cost) and cost > 100


def test_integer_inputs_are_converted():
    X, Y, p = gradient_check_n_test_case()
    cost_int = mlp_forward(np.round(X * 10).astype(int), Y.astype(int), p)[0]
    cost_float = mlp_forward(np.round(X * 10), Y.astype(float), p)[0]
    assert cost_int == cost_float


def test_y_may_be_one_dimensional():
    X, Y, p = gradient_check_n_test_case()
    assert mlp_forward(X, Y.ravel(), p)[0] == mlp_forward(X, Y, p)[0]


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p.pop("b2"), r"missing \['b2'\]"),
    (lambda p: p.update(W9x=np.zeros(1)), "keys W1, b1, W2, b2"),
    (lambda p: p.update(W2=np.zeros((3, 4))), r"W2 has shape \(3, 4\) but must have shape \(n_2, 5\)"),
    (lambda p: p.update(b1=np.zeros((5,))), r"b1 has shape \(5,\) but must have shape \(5, 1\)"),
    (lambda p: p.update(W3=np.zeros((2, 3)), b3=np.zeros((2, 1))), "one row"),
])
def test_network_input_errors_name_the_problem(mutate, message):
    X, Y, p = gradient_check_n_test_case()
    mutate(p)
    with pytest.raises(ParameterError, match=message):
        forward_propagation_n(X, Y, p)


def test_x_and_y_shape_errors():
    X, Y, p = gradient_check_n_test_case()
    with pytest.raises(ParameterError, match=r"Y must have shape \(1, 3\)"):
        check_network_inputs(X, np.zeros((1, 4)), p)
    with pytest.raises(ParameterError, match="X must have shape"):
        check_network_inputs(X.ravel(), Y, p)
    with pytest.raises(ParameterError, match="must be a dict"):
        count_layers([1, 2])


def test_initialize_mlp_is_reproducible_and_validates():
    a = initialize_mlp([4, 3, 1], 5)
    b = initialize_mlp([4, 3, 1], np.random.default_rng(5))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert a["W1"].shape == (3, 4) and a["b2"].shape == (1, 1)
    with pytest.raises(ParameterError, match="layer_sizes"):
        initialize_mlp([4, 3, 2], 0)


# ---------------------------------------------------------------------------------------------------
# The taught code and the generic network are the same computation, bit for bit
# ---------------------------------------------------------------------------------------------------

def _random_3_layer_cases():
    yield gradient_check_n_test_case()
    for seed in range(20):
        rng = np.random.default_rng(seed)
        sizes = [int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.integers(1, 7)), 1]
        m = int(rng.integers(1, 9))
        parameters = initialize_mlp(sizes, rng)
        X = rng.standard_normal((sizes[0], m)) * 3
        Y = (rng.random((1, m)) > 0.5).astype(float)
        yield X, Y, parameters


@pytest.mark.parametrize("case", list(_random_3_layer_cases()), ids=lambda c: "x".join(map(str, c[0].shape)))
def test_written_out_network_equals_the_generic_network_bit_for_bit(case):
    """forward_propagation_n / backward_propagation_n (the code students read) and mlp_forward /
    mlp_backward (the code the catalogue and the fast checks use) give identical floats."""
    X, Y, parameters = case
    cost, cache = forward_propagation_n(X, Y, parameters)
    generic_cost, generic_cache = mlp_forward(X, Y, parameters)
    assert cost == generic_cost
    written = backward_propagation_n(X, Y, cache)
    generic = mlp_backward(X, Y, generic_cache)
    assert list(written) == list(generic)
    for key in generic:
        assert written[key].shape == generic[key].shape
        assert np.array_equal(written[key], generic[key]), key
    for position, layer in zip((0, 4, 8), generic_cache["layers"]):
        assert np.array_equal(cache[position], layer["Z"]) and np.array_equal(cache[position + 1], layer["A"])


def test_saturated_written_out_cost_is_the_generic_cost():
    X, Y, parameters = gradient_check_n_test_case()
    parameters = dict(parameters, b3=np.array([[60.0]]))  # A3 rounds to exactly 1
    assert forward_propagation_n(X, Y, parameters)[0] == mlp_forward(X, Y, parameters)[0]
    assert np.isfinite(forward_propagation_n(X, Y, parameters)[0])


def test_the_source_students_read_shows_the_three_layers_and_the_cost():
    import inspect
    forward = inspect.getsource(forward_propagation_n)
    for line in ("Z1 = W1 @ X + b1", "A1 = relu(Z1)", "Z2 = W2 @ A1 + b2", "A2 = relu(Z2)", "Z3 = W3 @ A2 + b3",
                 "A3 = sigmoid(Z3)", "np.log(A3)", "cost = np.sum(losses) / m",
                 "cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)"):
        assert line in forward, line
    backward = inspect.getsource(backward_propagation_n)
    for line in ("(Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache", "dZ3 = A3 - Y", "dW3 = dZ3 @ A2.T / m",
                 "dZ2 = dA2 * (Z2 > 0)", "dW1 = dZ1 @ X.T / m", "db1 = np.sum(dZ1, axis=1, keepdims=True) / m"):
        assert line in backward, line


def test_forward_propagation_n_is_the_3_layer_network():
    X, Y, parameters = gradient_check_n_test_case()
    two = initialize_mlp([4, 3, 1], 0)
    with pytest.raises(ParameterError, match="3-layer network"):
        forward_propagation_n(X, Y, two)
