"""Activations: values against direct formulas, derivatives against finite differences, no overflow."""

import warnings

import numpy as np
import pytest

from course_utils.activations import relu, relu_derivative, sigmoid, sigmoid_derivative


def test_sigmoid_matches_textbook_formula_where_it_is_safe():
    z = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-14, atol=1e-300)


def test_sigmoid_has_no_overflow_warning_and_saturates_correctly():
    z = np.array([-1e4, -800.0, -710.0, 0.0, 710.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow) fails the test
        s = sigmoid(z)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    assert np.all(np.diff(s) >= 0)  # monotone


def test_sigmoid_keeps_float32_and_converts_integers():
    assert sigmoid(np.zeros(3, dtype=np.float32)).dtype == np.float32
    out = sigmoid(np.array([0, 1, -1]))
    assert out.dtype == np.float64 and out[0] == 0.5


def test_sigmoid_accepts_complex_for_complex_step():
    z, h = 0.3, 1e-20
    assert np.imag(sigmoid(np.array(z + 1j * h))) / h == pytest.approx(float(sigmoid_derivative(z)), rel=1e-14)


@pytest.mark.parametrize("z", [-3.0, -0.5, 0.2, 4.0])
def test_sigmoid_derivative_matches_centered_difference(z):
    h = 1e-5
    numeric = (sigmoid(z + h) - sigmoid(z - h)) / (2 * h)
    assert float(sigmoid_derivative(z)) == pytest.approx(float(numeric), rel=1e-8)


def test_relu_and_its_derivative():
    z = np.array([[-2.0, 0.0, 3.5]])
    np.testing.assert_array_equal(relu(z), [[0.0, 0.0, 3.5]])
    np.testing.assert_array_equal(relu_derivative(z), [[0.0, 0.0, 1.0]])  # 0 at the kink by convention
    assert relu_derivative(np.array([1, -1])).dtype == np.float64
