"""The classic gradient check, as the original assignment writes it: the baseline of the benchmark.

The per-entry loop is the course's own, ``gradcheck.numerical_gradient`` (one Python loop over the
entries of theta; for each, two full forward passes at theta + eps and theta - eps), followed by one
global relative difference. Kept here, outside the library, only to be timed.
"""

import numpy as np

from course_utils.gradcheck import numerical_gradient
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
    grad = gradients_to_vector(gradients, layout)  # shape (n, 1)
    if entries is None:
        gradapprox = gradients_to_vector(numerical_gradient(forward, parameters, epsilon), layout)  # shape (n, 1)
    else:  # the same loop over a parameter that holds only the sampled entries
        theta, _ = dictionary_to_vector(parameters)  # shape (n, 1)
        entries = np.asarray(entries)

        def forward_of_sample(sample):
            full = np.copy(theta)  # as the classic loop copies theta for every evaluation
            full[entries, 0] = sample["sample"]
            return forward(vector_to_dictionary(full, layout))

        gradapprox = numerical_gradient(forward_of_sample, {"sample": theta[entries, 0]}, epsilon)["dsample"]
        gradapprox = gradapprox.reshape(-1, 1)  # shape (k, 1)
        grad = grad[entries]
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = numerator / denominator
    return float(difference), gradapprox
