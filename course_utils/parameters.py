"""Parameters <-> one flat vector, for any set of named arrays.

A gradient check perturbs one number at a time, so it wants every parameter in one vector ``theta``.
This module flattens a dictionary of arrays into that vector and back. The *layout* (ordered names and
shapes) is read from the dictionary itself; nothing here knows how many layers a network has.

Conventions
-----------
* ``parameters``: dict name -> ndarray, e.g. ``{"W1": (5, 4), "b1": (5, 1), ...}``.
* ``gradients``: dict ``"d" + name`` -> ndarray of the same shape, e.g. ``{"dW1": (5, 4), ...}``.
* ``theta``: column vector of shape (n, 1), n = total number of entries, in the layout's order
  (each array flattened in C order). Functions that take ``theta`` also accept shape (n,).
"""

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from math import prod

import numpy as np

__all__ = ["Layout", "NUMERIC_KINDS", "ParameterError", "dictionary_to_vector", "gradients_to_vector",
           "layout_of", "vector_to_dictionary"]


class ParameterError(ValueError):
    """A parameter or gradient dictionary that cannot be used as given; the message says how to fix it."""


@dataclass(frozen=True)
class Layout:
    """Ordered names and shapes of a parameter dictionary.

    Attributes
    ----------
    names : tuple of str, length B (one per parameter block)
    shapes : tuple of tuple of int, length B
    """

    names: tuple
    shapes: tuple

    def __post_init__(self):
        # Derived data, computed once: a Layout is immutable.
        sizes = tuple(prod(s) for s in self.shapes)
        object.__setattr__(self, "_sizes", sizes)
        object.__setattr__(self, "_starts", (0,) + tuple(accumulate(sizes)))

    @property
    def sizes(self):
        """tuple of int, length B: number of entries of each block."""
        return self._sizes

    @property
    def size(self):
        """int: total number of entries n."""
        return self._starts[-1]

    @property
    def starts(self):
        """tuple of int, length B + 1: where each block starts in theta, then n."""
        return self._starts

    def slices(self):
        """dict name -> slice of theta holding that block (a new dict on every call)."""
        starts = self.starts
        return {name: slice(starts[b], starts[b + 1]) for b, name in enumerate(self.names)}

    def block_index(self):
        """ndarray of int, shape (n,): the block number (index into ``names``) of every entry."""
        return np.repeat(np.arange(len(self.names)), self.sizes)

    def locate(self, i):
        """Name and index of entry ``i`` of theta, e.g. ``("W2", (1, 3))``."""
        i = int(i)
        if not 0 <= i < self.size:
            raise IndexError(f"entry {i} is outside theta, which has {self.size} entries")
        b = bisect_right(self._starts, i) - 1  # the block holding entry i
        rest, index = i - self._starts[b], []
        for d in reversed(self.shapes[b]):  # unravel in C order
            rest, r = divmod(rest, d)
            index.append(r)
        return self.names[b], tuple(reversed(index))

    def label(self, i):
        """Readable name of entry ``i``, e.g. ``"W2[1, 3]"``."""
        return _label(*self.locate(i))

    def labels(self):
        """list of str, length n: the label of every entry in order."""
        return [_label(name, index) for name, shape in zip(self.names, self.shapes) for index in np.ndindex(*shape)]


def _label(name, index):
    """``"W2[1, 3]"`` for block ``"W2"`` and index ``(1, 3)``."""
    return f"{name}[{', '.join(map(str, index))}]"


#: dtype kinds of numbers and booleans (what np.issubdtype(dtype, np.number) or bool accepts; "m" is timedelta).
NUMERIC_KINDS = "biufcm"


def _check_parameters(parameters):
    """Raise ParameterError unless ``parameters`` is a non-empty dict of numeric arrays."""
    if not isinstance(parameters, dict):
        raise ParameterError(f"parameters must be a dict mapping names such as 'W1' to numpy arrays, "
                             f"got {type(parameters).__name__}")
    if not parameters:
        raise ParameterError("parameters is an empty dict: there is nothing to check")
    for name, value in parameters.items():
        if not isinstance(name, str):
            raise ParameterError(f"parameter names must be strings, got {name!r}")
        dtype = value.dtype if isinstance(value, np.ndarray) else np.asarray(value).dtype
        if dtype.kind not in NUMERIC_KINDS:
            raise ParameterError(f"parameter '{name}' has dtype {dtype}; it must be a numeric array")


def layout_of(parameters):
    """Layout (names in dictionary order, shapes) of a parameter dictionary.

    Parameters
    ----------
    parameters : dict name -> array_like

    Returns
    -------
    Layout

    Raises
    ------
    ParameterError when parameters is not a non-empty dict of numeric arrays with string names.
    """
    _check_parameters(parameters)
    names = tuple(parameters)
    shapes = tuple(tuple(map(int, np.shape(parameters[k]))) for k in names)
    return Layout(names, shapes)


def _as_layout(layout):
    """Accept a Layout or a parameter dictionary (whose shapes are used)."""
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, dict):
        return layout_of(layout)
    raise ParameterError(f"layout must be a Layout (from layout_of(parameters)) or the parameters dict itself, "
                         f"got {type(layout).__name__}")


def dictionary_to_vector(parameters):
    """Flatten a parameter dictionary into one column vector.

    Parameters
    ----------
    parameters : dict name -> ndarray of any shape

    Returns
    -------
    theta : ndarray, shape (n, 1), a new array (never a view of the parameters)
    keys : list of str, length n: the label of every entry, e.g. ``"W2[1, 3]"``

    Raises
    ------
    ParameterError when parameters is not a non-empty dict of numeric arrays with string names.
    """
    layout = layout_of(parameters)
    parts = [np.asarray(parameters[name]).reshape(-1) for name in layout.names]
    theta = np.concatenate(parts).reshape(-1, 1).copy()
    return theta, layout.labels()


def vector_to_dictionary(theta, layout):
    """Unflatten a vector into a parameter dictionary (inverse of ``dictionary_to_vector``).

    Parameters
    ----------
    theta : ndarray, shape (n, 1) or (n,)
    layout : Layout, or the parameters dict whose names and shapes to use

    Returns
    -------
    parameters : dict name -> ndarray of the layout's shape (new arrays, not views of theta)

    Raises
    ------
    ParameterError when theta is not a vector of the layout's size.
    """
    layout = _as_layout(layout)
    theta = np.asarray(theta)
    if theta.ndim == 2 and theta.shape[1] == 1:
        theta = theta[:, 0]
    if theta.ndim != 1:
        raise ParameterError(f"theta must have shape (n, 1) or (n,), got {theta.shape}; flatten it with "
                             f"theta.reshape(-1, 1)")
    if theta.shape[0] != layout.size:
        raise ParameterError(f"theta has {theta.shape[0]} entries but the layout "
                             f"{dict(zip(layout.names, layout.shapes))} needs {layout.size}; build theta with "
                             f"dictionary_to_vector on the same parameters")
    return {name: theta[sl].reshape(shape).copy()
            for (name, sl), shape in zip(layout.slices().items(), layout.shapes)}


def gradients_to_vector(gradients, layout):
    """Flatten a gradient dictionary into one column vector in the layout's order.

    Each parameter ``name`` is matched with the gradient ``"d" + name`` (``W1`` <-> ``dW1``).

    Parameters
    ----------
    gradients : dict ``"d" + name`` -> ndarray of the parameter's shape
    layout : Layout, or the parameters dict the gradients belong to

    Returns
    -------
    grad : ndarray, shape (n, 1), a new array

    Raises
    ------
    ParameterError
        if a gradient is missing, a key matches no parameter, or a shape differs from its parameter's.
    """
    layout = _as_layout(layout)
    if not isinstance(gradients, dict):
        raise ParameterError(f"gradients must be a dict such as {{'dW1': ..., 'db1': ...}}, "
                             f"got {type(gradients).__name__}")
    wanted = ["d" + name for name in layout.names]
    missing = [k for k in wanted if k not in gradients]
    if missing:
        raise ParameterError(f"gradients is missing {missing}: every parameter needs a gradient named 'd' + its "
                             f"name (have {sorted(gradients)})")
    extra = [k for k in gradients if k not in wanted] if len(gradients) != len(wanted) else []
    if extra:
        raise ParameterError(f"gradients has keys {extra} that match no parameter (parameters are "
                             f"{list(layout.names)}); keep only the parameter gradients ('d' + name) and drop "
                             f"intermediate values such as dA or dZ")
    parts = []
    for key, shape in zip(wanted, layout.shapes):
        g = np.asarray(gradients[key])
        if g.shape != shape:
            raise ParameterError(f"gradient '{key}' has shape {g.shape} but parameter '{key[1:]}' has shape "
                                 f"{shape}; a gradient must have exactly its parameter's shape")
        parts.append(g.reshape(-1))
    return np.concatenate(parts).reshape(-1, 1).copy()
