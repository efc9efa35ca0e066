"""The classic gradient check, written plainly as the original assignment writes it: the baseline.

One Python loop over the entries of theta; for each, two full forward passes (theta + eps and
theta - eps), then one global relative difference. Kept here, outside the library, only to be timed.
"""

import numpy as np

from course_utils.parameters import dictionary_to_vector, gradients_to_vector, layout_of, vector_to_dictionary


def gradient_check_classic(forward, parameters, gradients, epsilon=1e-7, entries=None):
    """The original assignment's ``gradient_check_n``, for any ``forward(parameters) -> cost``.

    Parameters
    ----------
    forward : callable, parameters dict -> float cost (e.g. ``lambda p: forward_propagation_n(X, Y, p)[0]``)
    parameters : dict name -> ndarray
    gradients : dict "d" + name -> ndarray of the parameter's shape
    epsilon : float, the step
    entries : None for every entry, or ndarray of int (k,): only these entries (to time a sample of a
        model too large to loop over in full)

    Returns
    -------
    difference : float, ||grad - gradapprox|| / (||grad|| + ||gradapprox||) over the entries looped over
    gradapprox : ndarray, shape (k, 1)
    """
    layout = layout_of(parameters)
    parameters_values, _ = dictionary_to_vector(parameters)  # shape (n, 1)
    grad = gradients_to_vector(gradients, layout)  # shape (n, 1)
    entries = np.arange(parameters_values.shape[0]) if entries is None else np.asarray(entries)
    num_parameters = entries.shape[0]
    J_plus = np.zeros((num_parameters, 1))
    J_minus = np.zeros((num_parameters, 1))
    gradapprox = np.zeros((num_parameters, 1))

    for k, i in enumerate(entries):
        thetaplus = np.copy(parameters_values)
        thetaplus[i][0] = thetaplus[i][0] + epsilon
        J_plus[k] = forward(vector_to_dictionary(thetaplus, layout))

        thetaminus = np.copy(parameters_values)
        thetaminus[i][0] = thetaminus[i][0] - epsilon
        J_minus[k] = forward(vector_to_dictionary(thetaminus, layout))

        gradapprox[k] = (J_plus[k] - J_minus[k]) / (2 * epsilon)

    grad = grad[entries]
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = numerator / denominator
    return float(difference), gradapprox
