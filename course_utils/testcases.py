"""Fixed test cases, reproducible number for number with the classic assignment's."""

import numpy as np

__all__ = ["gradient_check_n_test_case"]


def gradient_check_n_test_case():
    """The classic 3-layer test case: 3 transactions with 4 features and the network's parameters.

    Built exactly as the original assignment builds it: the legacy generator seeded with 1, then
    ``X = randn(4, 3)``, ``Y = [1, 1, 0]``, then W1 (5, 4), b1 (5, 1), W2 (3, 5), b2 (3, 1), W3 (1, 3),
    b3 (1, 1), each drawn with ``randn`` in that order. A private ``np.random.RandomState(1)`` draws the
    same numbers as ``np.random.seed(1)`` followed by ``np.random.randn``, without touching numpy's
    global random state.

    Returns
    -------
    X : ndarray, shape (4, 3)
    Y : ndarray, shape (1, 3), labels [[1, 1, 0]]
    parameters : dict W1 (5, 4), b1 (5, 1), W2 (3, 5), b2 (3, 1), W3 (1, 3), b3 (1, 1)

    Raises
    ------
    Nothing: the case is fixed.
    """
    rs = np.random.RandomState(1)
    X = rs.randn(4, 3)
    Y = np.array([[1, 1, 0]])
    parameters = {}
    for name, shape in [("W1", (5, 4)), ("b1", (5, 1)), ("W2", (3, 5)), ("b2", (3, 1)),
                        ("W3", (1, 3)), ("b3", (1, 1))]:
        parameters[name] = rs.randn(*shape)
    return X, Y, parameters
