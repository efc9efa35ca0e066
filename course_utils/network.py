"""The generic L-layer network; machinery: a student does not need this module to follow the course.

The course's 3-layer net is written out line by line in ``models`` (``forward_propagation_n``,
``backward_propagation_n``). This module holds the same network for any number of layers, built from
``course_utils.layers``: (L-1) x [LINEAR -> RELU], then LINEAR -> SIGMOID, a mean cross-entropy cost and
an optional L2 term ``lambd / (2 m) * sum_l ||W_l||^2``. The bug catalogue, the fast checks and notebook
4's sweeps run on it; a test proves that for L = 3 it computes the written-out net bit for bit.

Shapes: X (n_0, m), Y (1, m), W_l (n_l, n_{l-1}), b_l (n_l, 1); m examples, one per column.
"""

import re

import numpy as np

from course_utils.activations import relu
from course_utils.layers import (
    cross_entropy_costs,
    cross_entropy_forward,
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    sigmoid_cross_entropy_backward,
    sigmoid_forward,
)
from course_utils.parameters import ParameterError

__all__ = ["check_network_inputs", "count_layers", "initialize_mlp", "mlp_backward", "mlp_costs", "mlp_forward"]


# ---------------------------------------------------------------------------------------------------
# The L-layer network
# ---------------------------------------------------------------------------------------------------

def count_layers(parameters):
    """Number of layers L of a parameter dictionary W1, b1, ..., WL, bL.

    Parameters
    ----------
    parameters : dict with keys "W1", "b1", ..., "WL", "bL"

    Returns
    -------
    L : int

    Raises
    ------
    ParameterError naming the missing or unexpected keys.
    """
    if not isinstance(parameters, dict):
        raise ParameterError(f"parameters must be a dict with keys W1, b1, W2, b2, ..., got {type(parameters).__name__}")
    numbers = [_plain_layer_number(k) for k in parameters]
    plain = None not in numbers
    if not plain:  # a key the plain reading does not take: the full pattern says which are wrong
        pattern = re.compile(r"^([Wb])([1-9][0-9]*)$")
        unexpected = [k for k in parameters if not (isinstance(k, str) and pattern.match(k))]
        if unexpected:
            raise ParameterError(f"parameters has keys {unexpected}; a network only has keys W1, b1, W2, b2, ...")
        numbers = [int(pattern.match(k).group(2)) for k in parameters]
    L = max(numbers, default=0)
    if L == 0:
        raise ParameterError("parameters is empty: a network needs at least W1 and b1")
    if plain and len(parameters) == 2 * L:  # 2 L distinct plain keys of layers 1..L: all there
        return L
    missing = [f"{p}{l}" for l in range(1, L + 1) for p in "Wb" if f"{p}{l}" not in parameters]
    if missing:
        raise ParameterError(f"parameters is missing {missing} (it has {sorted(parameters)})")
    return L


def _plain_layer_number(key):
    """The layer number of a key spelled exactly "W<l>" or "b<l>" (l >= 1, ASCII digits, no leading 0), else
    None (``count_layers`` then reads the key with its full pattern). A string test: no regex per call."""
    if type(key) is str and len(key) > 1 and key[0] in "Wb" and key[1] != "0":
        digits = key[1:]
        if digits.isascii() and digits.isdigit():
            return int(digits)
    return None


def _as_float(name, a):
    """Array ``a`` as float64 (complex kept), with a clear error for non-numeric input."""
    if type(a) is np.ndarray and a.dtype.kind in "fc":  # the common case, as the tests below decide it
        return a
    a = np.asarray(a)
    if np.iscomplexobj(a) or np.issubdtype(a.dtype, np.floating):
        return a
    if np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_:
        return a.astype(np.float64)
    raise ParameterError(f"{name} has dtype {a.dtype}; it must be a numeric array")


def check_network_inputs(X, Y, parameters, n_layers=None):
    """Validate the inputs of the network and return them in standard form.

    Parameters
    ----------
    X : array_like, shape (n_0, m)
    Y : array_like, shape (1, m) or (m,), labels in {0, 1}
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., WL (1, n_{L-1}), bL (1, 1)
    n_layers : int or None, the number of layers L the network must have (None: any)

    Returns
    -------
    X : ndarray (n_0, m), Y : ndarray (1, m), L : int

    Raises
    ------
    ParameterError naming the first inconsistent shape and what it should be.
    """
    L = count_layers(parameters)
    if n_layers is not None and L != n_layers:
        raise ParameterError(f"this is the course's {n_layers}-layer network, but parameters has {L} layers "
                             f"({sorted(parameters)}); use mlp_forward / mlp_backward for any number of layers")
    X = _as_float("X", X)
    Y = _as_float("Y", Y)
    if X.ndim != 2:
        raise ParameterError(f"X must have shape (n_features, m_examples), got {X.shape}")
    m = X.shape[1]
    if Y.ndim == 1:
        Y = Y.reshape(1, -1)
    if Y.shape != (1, m):
        raise ParameterError(f"Y must have shape (1, {m}) to match X's {m} examples, got {Y.shape}")
    n_prev = X.shape[0]
    for l in range(1, L + 1):
        W, b = np.shape(parameters[f"W{l}"]), np.shape(parameters[f"b{l}"])
        if len(W) != 2 or W[1] != n_prev:
            raise ParameterError(
                f"W{l} has shape {W} but must have shape (n_{l}, {n_prev}) to multiply the "
                f"{n_prev} rows of {'X' if l == 1 else f'A{l - 1}'}"
            )
        if b != (W[0], 1):
            raise ParameterError(f"b{l} has shape {b} but must have shape ({W[0]}, 1) to match W{l} {W}")
        n_prev = W[0]
    if n_prev != 1:
        raise ParameterError(f"W{L} must have one row (a single sigmoid output), got shape {np.shape(parameters[f'W{L}'])}")
    return X, Y, L


def mlp_forward(X, Y, parameters, lambd=0.0, stable_cost=False):
    """Forward pass and cost of the L-layer network.

    Parameters
    ----------
    X : ndarray, shape (n_0, m)
    Y : ndarray, shape (1, m) (or (m,))
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., WL (1, n_{L-1}), bL (1, 1)
    lambd : float, L2 regularization strength (0 for none)
    stable_cost : bool, compute the cross-entropy from the logits everywhere (see
        ``layers.cross_entropy_forward``); the default is the textbook formula the course derives

    Returns
    -------
    cost : float, mean cross-entropy plus lambd / (2 m) * sum_l ||W_l||_F^2
    cache : dict with "layers" (list of L dicts with "A_prev", "W", "b", "Z", "A", layer l at index
        l - 1), "Y" (1, m), "lambd" and "cost_cache"; everything ``mlp_backward`` needs.

    Raises
    ------
    ParameterError (from ``check_network_inputs``) when a key is missing or unexpected, when an array is
    not numeric, or when a shape does not fit the one before it (naming the array and the shape it needs).
    """
    X, Y, L = check_network_inputs(X, Y, parameters)
    m = X.shape[1]
    A = X  # shape (n_0, m)
    layers = []
    for l in range(1, L + 1):
        W = _as_float(f"W{l}", parameters[f"W{l}"])
        b = _as_float(f"b{l}", parameters[f"b{l}"])
        Z, _ = linear_forward(A, W, b)  # shape (n_l, m)
        A_next, _ = relu_forward(Z) if l < L else sigmoid_forward(Z)
        layers.append({"A_prev": A, "W": W, "b": b, "Z": Z, "A": A_next})
        A = A_next
    cost, cost_cache = cross_entropy_forward(layers[-1]["Z"], Y, stable=stable_cost)
    if lambd:
        cost = cost + lambd / (2 * m) * sum(np.sum(layer["W"] ** 2) for layer in layers)
    cache = {"layers": layers, "Y": Y, "lambd": lambd, "cost_cache": cost_cache}
    return cost, cache


def mlp_backward(X, Y, cache):
    """Backward pass of the L-layer network: gradients of the cost returned by ``mlp_forward``.

    Parameters
    ----------
    X : ndarray, shape (n_0, m) (unused beyond its shape; kept for the course's signature)
    Y : ndarray, shape (1, m) (or (m,))
    cache : dict from ``mlp_forward``

    Returns
    -------
    gradients : dict "dW1" (n_1, n_0), "db1" (n_1, 1), ..., "dWL", "dbL", in layer order

    Raises
    ------
    Nothing of its own: the cache is trusted as ``mlp_forward`` built it (a cache from elsewhere raises
    Python's KeyError for a missing entry, or numpy's ValueError for mismatched shapes).
    """
    layers = cache["layers"]
    L = len(layers)
    m = layers[0]["A_prev"].shape[1]
    lambd = cache["lambd"]
    grads = {}
    dZ = sigmoid_cross_entropy_backward(cache["cost_cache"])  # shape (1, m)
    for l in range(L, 0, -1):
        layer = layers[l - 1]
        if l < L:
            dZ = relu_backward(dA, layer["Z"])  # shape (n_l, m)
        dA, dW, db = linear_backward(dZ, (layer["A_prev"], layer["W"], layer["b"]))
        if lambd:
            dW = dW + lambd / m * layer["W"]
        grads[f"dW{l}"], grads[f"db{l}"] = dW, db
    return {k: grads[k] for l in range(1, L + 1) for k in (f"dW{l}", f"db{l}")}


def mlp_costs(X, Y, thetas, layout, lambd=0.0, stable_cost=False):
    """The cost of ``mlp_forward`` at k parameter vectors at once (the same operations, batched over k).

    Parameters
    ----------
    X : ndarray, shape (n_0, m); Y : ndarray, shape (1, m)
    thetas : ndarray, shape (k, n): parameter vectors in the layout's order (float64, float32 or complex;
        the cost is computed in that precision)
    layout : parameters.Layout of W1, b1, ..., WL, bL
    lambd, stable_cost : as in ``mlp_forward``

    Returns
    -------
    costs : ndarray, shape (k,)

    Raises
    ------
    Nothing of its own: the stack is trusted to hold ``layout.size`` columns (callers such as
    ``fastcheck.MLPBatchedCost.batched`` check its shape); otherwise numpy's ValueError from a reshape.
    """
    k = thetas.shape[0]
    real = thetas.real.dtype
    parts, shapes = layout.slices(), dict(zip(layout.names, layout.shapes))
    L = len(layout.names) // 2
    A = X.astype(real, copy=False)  # shape (n_0, m), broadcast over k
    squares = np.zeros(k) if lambd else None
    for l in range(1, L + 1):
        W = thetas[:, parts[f"W{l}"]].reshape((k,) + shapes[f"W{l}"])  # shape (k, n_l, n_{l-1})
        b = thetas[:, parts[f"b{l}"]].reshape((k,) + shapes[f"b{l}"])  # shape (k, n_l, 1)
        Z, _ = linear_forward(A, W, b)  # shape (k, n_l, m)
        if lambd:
            squares += np.sum(W.reshape(k, -1) ** 2, axis=1)
        A = relu(Z) if l < L else Z
    costs = cross_entropy_costs(A[:, 0, :], Y.astype(real, copy=False), stable_cost)  # shape (k,)
    if lambd:
        costs = costs + lambd / (2 * X.shape[1]) * squares
    return costs


def initialize_mlp(layer_sizes, rng, scale="he"):
    """Random parameters for an MLP with the given layer sizes.

    Parameters
    ----------
    layer_sizes : sequence of int [n_0, n_1, ..., n_L], n_L == 1
    rng : numpy.random.Generator (or an int seed)
    scale : "he" (sqrt(2 / n_{l-1}), the usual choice for ReLU) or a float standard deviation

    Returns
    -------
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., with small random biases so that no gradient is
        exactly zero by construction

    Raises
    ------
    ParameterError when layer_sizes is not [n_0, ..., 1] with positive sizes.
    """
    rng = np.random.default_rng(rng)
    sizes = [int(n) for n in layer_sizes]
    if len(sizes) < 2 or sizes[-1] != 1 or min(sizes) < 1:
        raise ParameterError(f"layer_sizes must be [n_0, ..., 1] with positive sizes, got {list(layer_sizes)}")
    parameters = {}
    for l in range(1, len(sizes)):
        std = np.sqrt(2.0 / sizes[l - 1]) if scale == "he" else float(scale)
        parameters[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l - 1])) * std
        parameters[f"b{l}"] = rng.standard_normal((sizes[l], 1)) * 0.1
    return parameters
