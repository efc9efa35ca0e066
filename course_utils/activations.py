"""Activation functions and their derivatives.

Every function works elementwise on an array of any shape and returns an array of the same shape.
"""

import numpy as np

__all__ = ["relu", "relu_derivative", "sigmoid", "sigmoid_derivative", "softplus"]


def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), computed without overflow.

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    s : ndarray, same shape as ``z``, values in [0, 1].

    Raises
    ------
    numpy's TypeError for input that is not an array of numbers; nothing of its own.

    Notes
    -----
    The textbook formula overflows in ``exp(-z)`` for z < -709 (float64) and warns. With
    e = exp(-|z|), which never overflows, sigmoid is 1 / (1 + e) for z >= 0 (the textbook formula
    itself) and e / (1 + e) for z < 0.
    """
    z = np.asarray(z)
    if np.iscomplexobj(z):
        # complex-step differentiation: logaddexp has no complex version; the plain formula is analytic.
        return 1.0 / (1.0 + np.exp(-z))
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z):
    """Derivative of the sigmoid, s(z) * (1 - s(z)).

    Parameters
    ----------
    z : array_like, any shape (pre-activation)

    Returns
    -------
    ds : ndarray, same shape as ``z``.

    Raises
    ------
    numpy's TypeError for input that is not an array of numbers; nothing of its own.
    """
    s = sigmoid(z)
    return s * (1 - s)


def relu(z):
    """Rectified linear unit, max(0, z).

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    a : ndarray, same shape and dtype as ``z``.

    Raises
    ------
    numpy's TypeError for input that is not an array of numbers; nothing of its own.
    """
    z = np.asarray(z)
    return np.maximum(z, 0).astype(z.dtype, copy=False)


def relu_derivative(z):
    """Derivative of relu: 1 where z > 0, else 0 (the value at the kink z = 0 is taken as 0).

    Parameters
    ----------
    z : array_like, any shape (pre-activation)

    Returns
    -------
    d : ndarray of the float dtype of ``z`` (float64 for integer input), same shape, entries 0 or 1.

    Raises
    ------
    numpy's TypeError for input that is not an array of numbers; nothing of its own.
    """
    z = np.asarray(z)
    dtype = z.dtype if np.issubdtype(z.dtype, np.floating) else np.float64
    return (z > 0).astype(dtype)


def softplus(z):
    """log(1 + exp(z)), without overflow for real z; the plain (analytic) formula for complex z.

    Parameters
    ----------
    z : array_like, any shape (real or complex)

    Returns
    -------
    ndarray, the same shape

    Raises
    ------
    numpy's TypeError for input that is not an array of numbers; nothing of its own.
    """
    if np.iscomplexobj(z):
        return np.log1p(np.exp(z))
    return np.logaddexp(0, z)
