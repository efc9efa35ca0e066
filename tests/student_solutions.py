"""Student solutions for the exercises, correct and with the usual mistakes (used by the tests).

Written as a student would write them in the notebooks: they look up ``forward_propagation``,
``backward_propagation``, ``forward_propagation_n`` and the vector helpers as globals of this module.
"""

import numpy as np

from course_utils.models import backward_propagation, forward_propagation, forward_propagation_n  # noqa: F401
from course_utils.parameters import dictionary_to_vector, gradients_to_vector, vector_to_dictionary  # noqa: F401


def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    J_plus = forward_propagation(x, theta + epsilon)
    J_minus = forward_propagation(x, theta - epsilon)
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    difference = np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
    return float(difference)


def gradient_check_divided_by_epsilon(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / epsilon
    grad = backward_propagation(x, theta)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def gradient_check_plus_twice(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta + epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def gradient_check_no_denominator(x, theta, epsilon=1e-7, print_msg=False):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return float(np.linalg.norm(grad - gradapprox))


def gradient_check_always_tiny(x, theta, epsilon=1e-7, print_msg=False):
    return 1e-12


def gradient_check_returns_array(x, theta, epsilon=1e-7, print_msg=False):
    return np.array([gradient_check(x, theta, epsilon)])


def _loop(parameters, X, Y, epsilon, copy=True, denominator=2.0, minus_sign=-1.0):
    parameters_values, _ = dictionary_to_vector(parameters)
    num_parameters = parameters_values.shape[0]
    gradapprox = np.zeros((num_parameters, 1))
    for i in range(num_parameters):
        thetaplus = np.copy(parameters_values) if copy else parameters_values
        thetaplus[i] = thetaplus[i] + epsilon
        J_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(thetaplus, parameters))
        thetaminus = np.copy(parameters_values) if copy else parameters_values
        thetaminus[i] = thetaminus[i] + minus_sign * epsilon
        J_minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(thetaminus, parameters))
        gradapprox[i] = (J_plus - J_minus) / (denominator * epsilon)
    return gradapprox


def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    grad = gradients_to_vector(gradients, parameters)
    gradapprox = _loop(parameters, X, Y, epsilon)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def gradient_check_n_divided_by_epsilon(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    grad = gradients_to_vector(gradients, parameters)
    gradapprox = _loop(parameters, X, Y, epsilon, denominator=1.0)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def gradient_check_n_forgot_copy(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    grad = gradients_to_vector(gradients, parameters)
    gradapprox = _loop(parameters, X, Y, epsilon, copy=False)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def gradient_check_n_plus_twice(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    grad = gradients_to_vector(gradients, parameters)
    gradapprox = _loop(parameters, X, Y, epsilon, minus_sign=1.0)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def gradient_check_n_norm_of_sum(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    grad = gradients_to_vector(gradients, parameters)
    gradapprox = _loop(parameters, X, Y, epsilon)
    return float(np.linalg.norm(grad - gradapprox) / np.linalg.norm(grad + gradapprox))


def gradient_check_n_self(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    gradapprox = _loop(parameters, X, Y, epsilon)
    return float(np.linalg.norm(gradapprox - gradapprox) / (2 * np.linalg.norm(gradapprox)))
