"""Layers with one contract: ``forward(...) -> (out, cache)`` and ``backward(dout, cache) -> grads``.

Shapes use n_prev (units in the layer below), n (units in this layer) and m (examples, one per column).
Gradients flowing backward are *per example*: the 1/m of the mean cost is applied once, where the
parameter gradients are formed (``linear_backward``), as in the course's formulas.
"""

import numpy as np

from course_utils.activations import relu, relu_derivative, sigmoid, softplus

__all__ = ["cross_entropy_costs", "cross_entropy_forward", "linear_backward", "linear_forward", "relu_backward", "relu_forward",
           "sigmoid_cross_entropy_backward", "sigmoid_forward"]


def linear_forward(A_prev, W, b):
    """Affine layer Z = W @ A_prev + b.

    Parameters
    ----------
    A_prev : ndarray, shape (n_prev, m)
    W : ndarray, shape (n, n_prev)
    b : ndarray, shape (n, 1)

    Returns
    -------
    Z : ndarray, shape (n, m)
    cache : tuple (A_prev, W, b)

    Raises
    ------
    numpy's ValueError when the shapes do not match as documented; nothing of its own.
    """
    Z = W @ A_prev + b  # shape (n, m)
    return Z, (A_prev, W, b)


def linear_backward(dZ, cache):
    """Gradients of the mean cost through an affine layer.

    Parameters
    ----------
    dZ : ndarray, shape (n, m): per-example derivative of the cost with respect to Z
    cache : tuple (A_prev (n_prev, m), W (n, n_prev), b (n, 1)) from ``linear_forward``

    Returns
    -------
    dA_prev : ndarray, shape (n_prev, m), per example
    dW : ndarray, shape (n, n_prev), averaged over the m examples
    db : ndarray, shape (n, 1), averaged over the m examples

    Raises
    ------
    numpy's ValueError when the shapes do not match as documented; nothing of its own.
    """
    A_prev, W, _ = cache
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m  # shape (n, n_prev)
    db = np.sum(dZ, axis=1, keepdims=True) / m  # shape (n, 1)
    dA_prev = W.T @ dZ  # shape (n_prev, m)
    return dA_prev, dW, db


def relu_forward(Z):
    """ReLU activation.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    A : ndarray, shape (n, m)
    cache : Z

    Raises
    ------
    numpy's TypeError for input that is not an array of numbers; nothing of its own.
    """
    return relu(Z), Z


def relu_backward(dA, cache):
    """Backward pass of ReLU: dZ = dA where Z > 0, else 0.

    Parameters
    ----------
    dA : ndarray, shape (n, m)
    cache : Z, ndarray of shape (n, m) from ``relu_forward``

    Returns
    -------
    dZ : ndarray, shape (n, m)

    Raises
    ------
    numpy's ValueError when the shapes do not match as documented; nothing of its own.
    """
    return dA * relu_derivative(np.real(cache))


def sigmoid_forward(Z):
    """Sigmoid activation.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    A : ndarray, shape (n, m)
    cache : Z

    Raises
    ------
    numpy's TypeError for input that is not an array of numbers; nothing of its own.
    """
    return sigmoid(Z), Z


def cross_entropy_forward(ZL, Y, stable=False):
    """Mean binary cross-entropy of A = sigmoid(ZL) against labels Y.

    Parameters
    ----------
    ZL : ndarray, shape (1, m): pre-activation of the sigmoid output unit
    Y : ndarray, shape (1, m): labels in {0, 1}
    stable : bool
        False (default): the textbook formula -[Y log A + (1 - Y) log(1 - A)], the one the course
        derives. Entries where A saturates to exactly 0 or 1 (where the formula would give log(0)) are
        computed from the logits instead, so the cost is always finite.
        True: the algebraically equal form softplus(ZL) - Y * ZL everywhere. It avoids the cancellation
        in 1 - A and so has a lower round-off floor; notebook 4 compares the two.

    Returns
    -------
    cost : float, the mean over the m examples
    cache : tuple (ZL, Y)

    Raises
    ------
    numpy's ValueError when the shapes do not match as documented; nothing of its own.
    """
    m = ZL.shape[1]
    if stable:
        losses = softplus(ZL) - Y * ZL  # shape (1, m)
    else:
        A = sigmoid(ZL)  # shape (1, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            losses = -Y * np.log(A) - (1 - Y) * np.log(1 - A)
        finite = np.isfinite(losses)
        if not finite.all():  # A saturated to exactly 0 or 1: the logits form there
            losses = np.where(finite, losses, softplus(ZL) - Y * ZL)
    cost = np.sum(losses) / m
    return cost, (ZL, Y)


def cross_entropy_costs(ZL, Y, stable=False):
    """Mean cross-entropy of many output rows at once, the same formula as ``cross_entropy_forward``.

    Parameters
    ----------
    ZL : ndarray, shape (k, m): output logits of k networks (or k perturbed versions of one)
    Y : ndarray, shape (1, m): labels
    stable : bool, the logits form softplus(Z) - Y Z everywhere (else the textbook formula, with the
        logits form only where the textbook one is not finite)

    Returns
    -------
    costs : ndarray, shape (k,)

    Raises
    ------
    numpy's ValueError when the shapes do not match as documented; nothing of its own.
    """
    m = ZL.shape[-1]
    if stable:
        losses = softplus(ZL) - Y * ZL  # shape (k, m)
        return np.add.reduce(losses, axis=-1) / m
    if type(ZL) is np.ndarray and ZL.dtype.kind == "f":  # activations.sigmoid's values, without its checks
        e = np.abs(ZL)  # shape (k, m); in place below: fewer fresh (k, m) arrays to allocate
        np.exp(np.negative(e, out=e), out=e)  # exp(-|ZL|)
        # 1 / (1 + e) where ZL >= 0, else e / (1 + e): max(e, 1) = 1 and max(e, 0) = e, as 0 <= e <= 1
        A = np.maximum(e, ZL >= 0)  # shape (k, m); np.where's branches cost more
        A /= np.add(e, 1.0, out=e)
    else:
        A = sigmoid(ZL)  # shape (k, m)
    costs = _binary_label_costs(A, Y)
    if costs is not None:
        return costs
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = -Y * np.log(A) - (1 - Y) * np.log(1 - A)  # shape (k, m)
    sums = np.add.reduce(losses, axis=-1)  # shape (k,): non-finite wherever a loss is
    if np.isfinite(sums).all():
        return sums / m
    saturated = ~np.isfinite(losses)  # where A is exactly 0 or 1 (rare): the logits form there
    if saturated.any():
        losses = np.where(saturated, softplus(ZL) - Y * ZL, losses)
    return np.add.reduce(losses, axis=-1) / m


def _binary_label_costs(A, Y):
    """The textbook mean cross-entropy with one logarithm per entry, when every label is 0 or 1 and no
    output saturates (else None: the caller's general formula).

    Then -Y log A - (1 - Y) log(1 - A) is exactly -log A (Y = 1) or -log(1 - A) (Y = 0): the other term is
    a zero times a finite number. |(1 - Y) - A| picks the one argument exactly, in A's precision.

    A : ndarray (k, m), sigmoid outputs; Y : labels (1, m). Returns ndarray (k,) or None.
    """
    if type(Y) is not np.ndarray or Y.dtype.kind not in "fiu" or A.dtype.kind != "f":
        return None
    if not ((Y == 0) | (Y == 1)).all():
        return None
    picked = np.subtract((1 - Y).astype(A.dtype), A)  # shape (k, m)
    np.abs(picked, out=picked)  # A where Y = 1, 1 - A where Y = 0
    if not picked.max() < 1:  # A saturated to 0 or 1 makes picked 1 (or 0, an infinite sum, below)
        return None
    with np.errstate(divide="ignore"):
        losses = np.log(picked, out=picked).astype(np.result_type(Y, A), copy=False)  # shape (k, m)
    np.subtract(0.0, losses, out=losses)  # 0.0 - x, not -x: no loss of -0.0
    sums = np.add.reduce(losses, axis=-1)  # shape (k,)
    return sums / A.shape[-1] if np.isfinite(sums).all() else None


def sigmoid_cross_entropy_backward(cache):
    """Per-example derivative of the cross-entropy with respect to the logits: dZL = sigmoid(ZL) - Y.

    Parameters
    ----------
    cache : tuple (ZL (1, m), Y (1, m)) from ``cross_entropy_forward``

    Returns
    -------
    dZL : ndarray, shape (1, m)

    Raises
    ------
    numpy's ValueError when the shapes do not match as documented; nothing of its own.
    """
    ZL, Y = cache
    return sigmoid(ZL) - Y
