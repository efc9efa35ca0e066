"""The course's models, written out as the notebooks teach them: the 1-D model J(theta) = theta * x and
the fraud-detection network (4 -> 5 -> 3 -> 1: LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID with a
mean cross-entropy cost), under the names students expect: ``forward_propagation_n`` /
``backward_propagation_n``, with the classic tuple cache.

The same network for any number of layers (with an L2 term) is ``course_utils.network`` (``mlp_forward``,
``mlp_backward``, ``mlp_costs``, ``initialize_mlp``), re-exported here; the bug catalogue and the fast
checks run on it.

Shapes: X (n_0, m), Y (1, m), W_l (n_l, n_{l-1}), b_l (n_l, 1); m examples, one per column.
"""

import numpy as np

from course_utils.activations import relu, sigmoid, softplus
from course_utils.network import (
    check_network_inputs,
    count_layers,
    initialize_mlp,
    mlp_backward,
    mlp_costs,
    mlp_forward,
)

__all__ = ["backward_propagation", "backward_propagation_n", "check_network_inputs", "count_layers",
           "forward_propagation", "forward_propagation_n", "initialize_mlp", "mlp_backward", "mlp_costs",
           "mlp_forward"]


# ---------------------------------------------------------------------------------------------------
# The 1-D model
# ---------------------------------------------------------------------------------------------------

def forward_propagation(x, theta):
    """Cost of the 1-D model, J(theta) = theta * x.

    Parameters
    ----------
    x : float (or ndarray of any shape, elementwise)
    theta : float (or ndarray broadcastable with x)

    Returns
    -------
    J : float (or ndarray): theta * x

    Raises
    ------
    numpy's errors for values that do not multiply; nothing of its own.
    """
    return theta * x


def backward_propagation(x, theta):
    """Derivative of the 1-D model with respect to theta, dJ/dtheta = x.

    Parameters
    ----------
    x : float (or ndarray)
    theta : float (unused: the derivative of a linear function does not depend on theta)

    Returns
    -------
    dtheta : float (or ndarray): x

    Raises
    ------
    Nothing: it returns x as given.
    """
    return x


# ---------------------------------------------------------------------------------------------------
# The course's 3-layer network, written out
# ---------------------------------------------------------------------------------------------------

def forward_propagation_n(X, Y, parameters):
    """Forward pass and cost of the fraud-detection network, LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID.

    The course's 3-layer network written out line by line, as notebook 2's tables describe it. (The
    same computation for any number of layers is ``mlp_forward``; a test proves both give the same
    numbers, bit for bit.)

    Parameters
    ----------
    X : ndarray, shape (n_0, m): transaction features, one column per transaction (n_0 = 4 in the course)
    Y : ndarray, shape (1, m): 1 for fraud, 0 otherwise
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), W2 (n_2, n_1), b2 (n_2, 1), W3 (1, n_2), b3 (1, 1)
        (the course's sizes are n_1 = 5, n_2 = 3; any sizes work)

    Returns
    -------
    cost : float, the mean cross-entropy -1/m sum_t [Y log A3 + (1 - Y) log(1 - A3)]
    cache : tuple (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3), what ``backward_propagation_n`` needs

    Raises
    ------
    ParameterError naming the first inconsistent shape, or when the network does not have 3 layers.
    """
    X, Y, _ = check_network_inputs(X, Y, parameters, n_layers=3)
    m = X.shape[1]
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]

    Z1 = W1 @ X + b1  # shape (n_1, m)
    A1 = relu(Z1)
    Z2 = W2 @ A1 + b2  # shape (n_2, m)
    A2 = relu(Z2)
    Z3 = W3 @ A2 + b3  # shape (1, m)
    A3 = sigmoid(Z3)

    with np.errstate(divide="ignore", invalid="ignore"):
        losses = -Y * np.log(A3) - (1 - Y) * np.log(1 - A3)  # shape (1, m)
    if not np.isfinite(losses).all():  # A3 rounded to exactly 0 or 1: the same loss, from the logits
        losses = np.where(np.isfinite(losses), losses, softplus(Z3) - Y * Z3)
    cost = np.sum(losses) / m

    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return cost, cache


def backward_propagation_n(X, Y, cache):
    """Correct gradients of the fraud-detection network's cost, written out line by line.

    Parameters
    ----------
    X : ndarray, shape (n_0, m)
    Y : ndarray, shape (1, m)
    cache : tuple (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) from ``forward_propagation_n``

    Returns
    -------
    gradients : dict dW1 (n_1, n_0), db1 (n_1, 1), dW2 (n_2, n_1), db2 (n_2, 1), dW3 (1, n_2), db3 (1, 1)

    Raises
    ------
    ValueError when the cache is not the 12-tuple of ``forward_propagation_n``.
    """
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    m = X.shape[1]

    dZ3 = A3 - Y  # shape (1, m)
    dW3 = dZ3 @ A2.T / m  # shape (1, n_2)
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m  # shape (1, 1)

    dA2 = W3.T @ dZ3  # shape (n_2, m)
    dZ2 = dA2 * (Z2 > 0)  # the ReLU lets the gradient through where Z2 > 0
    dW2 = dZ2 @ A1.T / m  # shape (n_2, n_1)
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m  # shape (n_2, 1)

    dA1 = W2.T @ dZ2  # shape (n_1, m)
    dZ1 = dA1 * (Z1 > 0)
    dW1 = dZ1 @ X.T / m  # shape (n_1, n_0)
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m  # shape (n_1, 1)

    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}
