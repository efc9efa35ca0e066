"""A catalogue of realistic backprop bugs, to inject on purpose and catch with the gradient checker.

Every bug here is a mistake people really make when they write the backward pass of the course's
network by hand. ``inject(name)`` returns a backward function with the signature of
``backward_propagation_n`` / ``mlp_backward`` (``backward(X, Y, cache) -> gradients``) that contains
that bug; ``inject(["a", "b"])`` combines several; ``correct`` (or ``inject("correct")``) has none.

How the bugs are built
----------------------
The backward pass is one generic loop over the layers (``backward_from_pieces``) that calls five small
*pieces*, each following the layer contract of ``course_utils.layers``:

* ``output(cost_cache) -> dZ_L``: derivative of the cost with respect to the output logits, shape (1, m);
* ``activation(dA, l, layers) -> dZ_l``: ReLU backward of hidden layer l, shapes (n_l, m);
* ``linear(dZ, layer, l, dA) -> (dA_prev, dW, db)``: affine backward of layer l (``dA`` is the
  gradient that arrived at the layer's output before the activation, None at the output layer);
* ``regularize(dW, db, layer, lambd, m) -> (dW, db)``: adds the L2 term's gradient;
* ``finish(gradients) -> gradients``: the finished dictionary (slips made on whole blocks).

A bug replaces or wraps exactly one piece, so a bug is a few lines and bugs combine by composition.

Shapes: X (n_0, m), Y (1, m), W_l (n_l, n_{l-1}), b_l (n_l, 1); ``layer_sizes`` = [n_0, ..., n_L].
"""

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from course_utils.activations import sigmoid
from course_utils.gradcheck import check_gradients
from course_utils.layers import linear_backward, relu_backward, sigmoid_cross_entropy_backward
from course_utils.models import check_network_inputs, count_layers, forward_propagation_n, mlp_forward
from course_utils.parameters import ParameterError
from course_utils.testcases import gradient_check_n_test_case

__all__ = ["Bug", "BugError", "CATALOGUE", "DEFAULT_LAMBD", "Pieces", "backward_from_pieces", "bug_names",
           "bugs_lambd", "check_backward", "check_bugs", "correct", "inject", "layer_cache", "scale_bug",
           "touched_blocks", "written_out", "written_out_bugs"]

#: L2 strength used to show the regularization bugs (the value of the course's regularization week).
DEFAULT_LAMBD = 0.7


class BugError(ValueError):
    """A bug name or bug specification that cannot be used; the message says what is valid."""


# ---------------------------------------------------------------------------------------------------
# The pieces of a backward pass, and the generic loop
# ---------------------------------------------------------------------------------------------------

def _correct_output(cost_cache):
    """dZ_L = sigmoid(Z_L) - Y, shape (1, m)."""
    return sigmoid_cross_entropy_backward(cost_cache)


def _correct_activation(dA, l, layers):
    """ReLU backward of hidden layer l: dZ_l = dA_l * (Z_l > 0), shape (n_l, m)."""
    return relu_backward(dA, layers[l - 1]["Z"])


def _correct_linear(dZ, layer, l, dA):
    """Affine backward of layer l with the 1/m of the mean cost: (dA_prev (n_{l-1}, m), dW, db)."""
    return linear_backward(dZ, (layer["A_prev"], layer["W"], layer["b"]))


def _correct_regularize(dW, db, layer, lambd, m):
    """Gradient of lambd / (2 m) * ||W||^2 is lambd / m * W; biases are not regularized."""
    if lambd:
        dW = dW + lambd / m * layer["W"]
    return dW, db


def _identity(gradients):
    return gradients


@dataclass(frozen=True)
class Pieces:
    """The five replaceable pieces of a backward pass (see the module docstring for their contracts)."""

    output: Callable = _correct_output
    activation: Callable = _correct_activation
    linear: Callable = _correct_linear
    regularize: Callable = _correct_regularize
    finish: Callable = _identity


def layer_cache(X, Y, cache):
    """The cache of ``mlp_forward`` (a dict of layers) for either kind of cache.

    Parameters
    ----------
    X : ndarray, shape (n_0, m)
    Y : ndarray, shape (1, m)
    cache : dict from ``mlp_forward``, or the tuple (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) from
        ``forward_propagation_n``

    Returns
    -------
    dict with "layers" (one dict A_prev, W, b, Z, A per layer), "cost_cache" (Z_L, Y) and "lambd"

    Raises
    ------
    BugError when the cache is neither.
    """
    if isinstance(cache, dict):
        return cache
    if not (isinstance(cache, tuple) and len(cache) == 12):
        raise BugError("cache must come from forward_propagation_n (a tuple of 12 arrays) or mlp_forward (a dict)")
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    layers = [{"A_prev": X, "W": W1, "b": b1, "Z": Z1, "A": A1}, {"A_prev": A1, "W": W2, "b": b2, "Z": Z2, "A": A2},
              {"A_prev": A2, "W": W3, "b": b3, "Z": Z3, "A": A3}]
    return {"layers": layers, "cost_cache": (Z3, np.asarray(Y).reshape(1, -1)), "lambd": 0.0}


def backward_from_pieces(pieces, X, Y, cache):
    """Backward pass of the L-layer network assembled from ``pieces``.

    Parameters
    ----------
    pieces : Pieces
    X : ndarray, shape (n_0, m) (only its shape is used, as in ``mlp_backward``)
    Y : ndarray, shape (1, m)
    cache : dict from ``mlp_forward`` ("layers", "cost_cache", "lambd"), or the tuple of
        ``forward_propagation_n``

    Returns
    -------
    gradients : dict dW1 (n_1, n_0), db1 (n_1, 1), ..., dWL (1, n_{L-1}), dbL (1, 1), in layer order
    """
    cache = layer_cache(X, Y, cache)
    layers = cache["layers"]
    L = len(layers)
    m = layers[0]["A_prev"].shape[1]
    lambd = cache.get("lambd", 0.0)
    grads = {}
    dA = None
    dZ = pieces.output(cache["cost_cache"])  # shape (1, m)
    for l in range(L, 0, -1):
        layer = layers[l - 1]
        if l < L:
            dZ = pieces.activation(dA, l, layers)  # shape (n_l, m)
        dA_prev, dW, db = pieces.linear(dZ, layer, l, dA)
        dW, db = pieces.regularize(dW, db, layer, lambd, m)
        grads[f"dW{l}"], grads[f"db{l}"] = dW, db
        dA = dA_prev  # shape (n_{l-1}, m)
    ordered = {k: grads[k] for l in range(1, L + 1) for k in (f"dW{l}", f"db{l}")}
    return pieces.finish(ordered)


def correct(X, Y, cache):
    """The correct backward pass, built from the same pieces as every buggy one.

    Parameters
    ----------
    X : ndarray, shape (n_0, m)
    Y : ndarray, shape (1, m)
    cache : dict from ``mlp_forward``, or the tuple of ``forward_propagation_n``

    Returns
    -------
    gradients : dict dW1 (n_1, n_0), db1 (n_1, 1), ..., dWL, dbL
    """
    return backward_from_pieces(Pieces(), X, Y, cache)


# ---------------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bug:
    """One catalogued mistake.

    Attributes
    ----------
    name : str, the key for ``inject``
    title : str, one line: what the code does wrong
    why : str, why a person writes it
    spot : str, how the gradient check (and a careful reader) spots it
    apply : callable Pieces -> Pieces, plants the bug
    touches : callable layer_sizes [n_0, ..., n_L] -> tuple of block names ("W2", "b1", ...) whose
        gradient the bug makes wrong on that network
    lambd : float, the L2 strength the bug needs to show (0 for bugs that do not involve L2)
    """

    name: str
    title: str
    why: str
    spot: str
    apply: Callable = field(repr=False)
    touches: Callable = field(repr=False)
    lambd: float = 0.0

    def describe(self):
        """Three short paragraphs: what, why people write it, how to spot it (str)."""
        return f"{self.name}: {self.title}\n  why: {self.why}\n  spot: {self.spot}"


def _all_blocks(sizes):
    return tuple(f"{p}{l}" for l in range(1, len(sizes)) for p in "Wb")


def _all_weights(sizes):
    return tuple(f"W{l}" for l in range(1, len(sizes)))


def _all_biases(sizes):
    return tuple(f"b{l}" for l in range(1, len(sizes)))


def _hidden_and_below(sizes):
    """Blocks of layers 1 .. L-1: everything a wrong dZ at the last hidden layer flows into."""
    return tuple(f"{p}{l}" for l in range(1, len(sizes) - 1) for p in "Wb")


def _block(gradients, key, bug):
    if key not in gradients:
        raise BugError(f"bug '{bug}' changes {key}, but this network only has {list(gradients)}; "
                       f"use a network with more layers or another bug")
    return gradients[key]


# --- the original assignment's pair ------------------------------------------------------------------

def _classic_finish(finish):
    def buggy(gradients):
        gradients = dict(finish(gradients))
        gradients["dW2"] = _block(gradients, "dW2", "classic_dW2_db1") * 2  # "1./m * ... * 2"
        gradients["db1"] = _block(gradients, "db1", "classic_dW2_db1") * 4  # "4./m" instead of "1./m"
        return gradients
    return buggy


# --- the output layer --------------------------------------------------------------------------------

def _reversed_output(output):
    def buggy(cost_cache):
        ZL, Y = cost_cache
        return Y - sigmoid(ZL)  # dZ3 = Y - A3
    return buggy


def _sigmoid_twice_output(output):
    def buggy(cost_cache):
        ZL, _ = cost_cache
        A = sigmoid(ZL)
        return output(cost_cache) * A * (1 - A)  # (A3 - Y) already includes the sigmoid's derivative
    return buggy


def _cross_entropy_sign_output(output):
    def buggy(cost_cache):
        ZL, Y = cost_cache
        A = sigmoid(ZL)  # shape (1, m)
        dA = -(Y / A + (1 - Y) / (1 - A))  # should be -(Y / A - (1 - Y) / (1 - A))
        return dA * A * (1 - A)
    return buggy


# --- ReLU backward -----------------------------------------------------------------------------------

def _mask_from_A_geq(activation):
    def buggy(dA, l, layers):
        A = layers[l - 1]["A"]
        return dA * (A >= 0)  # A = relu(Z) is never negative: this mask lets everything through
    return buggy


def _mask_off_by_one(activation):
    def buggy(dA, l, layers):
        L = len(layers)
        if l == L - 1:
            return dA * (layers[l]["Z"] > 0)  # layers[l] is layer l + 1; its (1, m) mask broadcasts
        return activation(dA, l, layers)
    return buggy


def _relu_as_derivative(activation):
    def buggy(dA, l, layers):
        return dA * layers[l - 1]["A"]  # relu(Z) where relu'(Z) belongs
    return buggy


# --- the affine layer --------------------------------------------------------------------------------

def _no_one_over_m(linear):
    def buggy(dZ, layer, l, dA):
        dA_prev, dW, db = linear(dZ, layer, l, dA)
        m = dZ.shape[1]
        return dA_prev, dW * m, db * m  # sums over the examples, never divides by m
    return buggy


def _bias_all_axes(linear):
    def buggy(dZ, layer, l, dA):
        dA_prev, dW, _ = linear(dZ, layer, l, dA)
        m = dZ.shape[1]
        db = np.sum(dZ, keepdims=True) / m  # no axis: sums units *and* examples, shape (1, 1)
        return dA_prev, dW, np.broadcast_to(db, layer["b"].shape).copy()  # as `b -= lr * db` would
    return buggy


def _weight_transposed(linear):
    def buggy(dZ, layer, l, dA):
        dA_prev, dW, db = linear(dZ, layer, l, dA)
        m = dZ.shape[1]
        dW_T = layer["A_prev"] @ dZ.T / m  # shape (n_{l-1}, n_l): the transpose of dW
        return dA_prev, dW_T.reshape(layer["W"].shape), db  # "fixed" the shape error with reshape
    return buggy


def _db_before_relu(linear):
    def buggy(dZ, layer, l, dA):
        dA_prev, dW, db = linear(dZ, layer, l, dA)
        if dA is not None:
            db = np.sum(dA, axis=1, keepdims=True) / dZ.shape[1]  # dA: before the ReLU mask
        return dA_prev, dW, db
    return buggy


# --- L2 regularization -------------------------------------------------------------------------------

def _no_l2(regularize):
    def buggy(dW, db, layer, lambd, m):
        return dW, db  # the cost has the L2 term, the gradient forgot it
    return buggy


def _l2_half(regularize):
    def buggy(dW, db, layer, lambd, m):
        return dW + lambd / (2 * m) * layer["W"], db  # kept the cost's 1/2
    return buggy


def _l2_on_bias(regularize):
    def buggy(dW, db, layer, lambd, m):
        dW, db = regularize(dW, db, layer, lambd, m)
        return dW, db + lambd / m * layer["b"]  # decays the biases, which are not in the penalty
    return buggy


def _on(piece, wrapper):
    """A Pieces -> Pieces function that wraps one named piece."""
    def apply(pieces):
        return replace(pieces, **{piece: wrapper(getattr(pieces, piece))})
    return apply


_BUGS = [
    Bug("classic_dW2_db1",
        "dW2 is doubled and db1 uses 4/m: the pair planted in the original assignment",
        "A stray `* 2` left from an experiment and a mistyped `4./m` for `1./m`: both are one "
        "character, both keep every shape right, and the network still trains (just worse).",
        "The report ranks b1 (relative difference 0.6 = |4-1|/(4+1)) and W2 (1/3 = |2-1|/(2+1)) first; "
        "every other block passes. A single block with a constant ratio is a scale bug.",
        _on("finish", _classic_finish), lambda s: ("W2", "b1")),
    Bug("missing_1_over_m",
        "dW and db are summed over the examples but never divided by m",
        "The cost is a mean, but the gradient formula was copied from a one-example derivation, "
        "where there is no m.",
        f"Every block fails with the same relative difference (m-1)/(m+1): the whole gradient is m "
        f"times too large. The analytic norms in the report are m times the numeric ones.",
        _on("linear", _no_one_over_m), _all_blocks),
    Bug("bias_sum_all_axes",
        "db = np.sum(dZ) / m: the sum forgot axis=1 and adds up all units too",
        "`np.sum(dZ, axis=1, keepdims=True)` is long to type; without the axis the result is a (1, 1) "
        "array that broadcasts silently into `b -= learning_rate * db`, so nothing ever complains.",
        "Only the hidden biases fail (at the output there is one unit, so the bug does nothing there); "
        "every entry of the wrong db is the same number.",
        _on("linear", _bias_all_axes), lambda s: tuple(f"b{l}" for l in range(1, len(s)) if s[l] > 1)),
    Bug("relu_mask_off_by_one",
        "the last hidden layer takes its ReLU mask from the layer above (an off-by-one in the cache list)",
        "Layer l lives at index l - 1 of the cache list; reading `caches[l]` gives the next layer's Z. "
        "Its shape is (1, m), which numpy broadcasts against (n, m) without an error.",
        "The output layer passes, the last hidden layer and everything below it fail. Check which Z "
        "each mask is built from, and print shapes: a (1, m) mask at a hidden layer is the giveaway.",
        _on("activation", _mask_off_by_one), _hidden_and_below),
    Bug("relu_mask_from_A",
        "the ReLU mask is built as (A >= 0) from the activation A instead of (Z > 0)",
        "With Z, `>=` and `>` differ only at exactly 0, so it feels harmless; but A = relu(Z) is never "
        "negative, so `A >= 0` is all ones and the mask does nothing.",
        "The output layer passes; all hidden layers fail, with the worst entries at dead units (Z < 0), "
        "where the correct gradient is exactly 0.",
        _on("activation", _mask_from_A_geq), _hidden_and_below),
    Bug("relu_instead_of_derivative",
        "dZ = dA * A: multiplies by relu(Z) instead of relu'(Z) = (Z > 0)",
        "relu and its derivative have the same zeros, and the cache holds A next to Z, so "
        "`dA * A` looks right at a glance.",
        "The output layer passes, hidden layers fail; the ratio analytic/numeric varies from entry to "
        "entry (it is scaled by the activations), unlike a scale bug.",
        _on("activation", _relu_as_derivative), _hidden_and_below),
    Bug("sigmoid_derivative_twice",
        "dZ3 = (A3 - Y) * A3 * (1 - A3): the sigmoid's derivative applied twice",
        "A3 - Y is already the derivative with respect to Z3 (the sigmoid's derivative cancelled "
        "against the cross-entropy's); multiplying by s'(Z3) again follows the chain rule one step too far.",
        "Every block fails, because the error starts at the output and flows everywhere; the analytic "
        "gradient is too small by a factor A3 (1 - A3) <= 1/4 per example.",
        _on("output", _sigmoid_twice_output), _all_blocks),
    Bug("output_error_reversed",
        "dZ3 = Y - A3: the output error with the wrong sign",
        "Y - A3 is the 'error' of the prediction, and it is also what gradient *ascent* on the "
        "log-likelihood uses; the derivative of the cost to minimise is A3 - Y.",
        "Every block fails with relative difference exactly 1 (the analytic gradient is the exact "
        "negative of the numeric one). Training with it makes the cost go up.",
        _on("output", _reversed_output), _all_blocks),
    Bug("cross_entropy_sign",
        "dA3 = -(Y / A3 + (1 - Y) / (1 - A3)): a + where the derivative of log(1 - A3) needs a -",
        "The derivative of log(1 - A) is -1 / (1 - A); the inner minus sign is easy to lose when the "
        "outer one is written first.",
        "Every block fails; the output gradient no longer vanishes when the prediction is perfect. "
        "Compare dZ3 with A3 - Y for one example.",
        _on("output", _cross_entropy_sign_output), _all_blocks),
    Bug("weight_grad_transposed",
        "dW = (A_prev @ dZ.T).reshape(W.shape): the transposed gradient reshaped to fit",
        "A_prev @ dZ.T has shape (n_prev, n), which gives a shape error; `.reshape(W.shape)` makes the "
        "error go away but puts the numbers in the wrong places. (For a square W it is a plain transpose.)",
        "Only weight matrices with more than one row and column fail (a (1, n) row vector reshaped "
        "from (n, 1) is unchanged, so W3 passes). The block norms agree; the entries do not.",
        _on("linear", _weight_transposed),
        lambda s: tuple(f"W{l}" for l in range(1, len(s)) if s[l] > 1 and s[l - 1] > 1)),
    Bug("db_before_relu",
        "db of a hidden layer is summed from dA, before the ReLU mask, instead of from dZ",
        "The bias gradient is written right after dA arrives, before the line that applies the mask, "
        "so it uses the wrong variable.",
        "Only the hidden biases fail; their worst entries are at units that are dead for some examples.",
        _on("linear", _db_before_relu), lambda s: tuple(f"b{l}" for l in range(1, len(s) - 1))),
    Bug("l2_gradient_dropped",
        "the cost includes the L2 term lambd/(2m) sum ||W||^2 but the gradient leaves out lambd/m W",
        "Regularization was added to the cost function in one place and forgotten in the backward pass "
        "in another. Without a gradient check nothing fails: the network just is not regularized.",
        "Every weight block fails and every bias block passes (biases are not in the penalty). Only "
        "visible when the check uses the regularized cost (lambd > 0).",
        _on("regularize", _no_l2), _all_weights, DEFAULT_LAMBD),
    Bug("l2_half_factor",
        "the L2 gradient is lambd/(2m) W instead of lambd/m W",
        "The 1/2 in the cost is there to cancel the 2 from differentiating W^2; copying the cost's "
        "factor into the gradient keeps it.",
        "Every weight block fails, biases pass; the error grows with lambd and with |W|.",
        _on("regularize", _l2_half), _all_weights, DEFAULT_LAMBD),
    Bug("l2_on_biases",
        "the L2 gradient lambd/m b is also added to the biases, which are not in the penalty",
        "A loop `for key in parameters: grads['d' + key] += lambd / m * parameters[key]` regularizes "
        "everything; the cost only penalises the weights.",
        "Every bias block fails and every weight block passes; only visible with lambd > 0.",
        _on("regularize", _l2_on_bias), _all_biases, DEFAULT_LAMBD),
]

#: name -> Bug, in teaching order.
CATALOGUE = {bug.name: bug for bug in _BUGS}


def bug_names():
    """Names of the catalogued bugs, in teaching order (list of str; ``"correct"`` is not among them)."""
    return list(CATALOGUE)


def scale_bug(block, k):
    """A scale bug ``d<block> <- k * d<block>``: the block's relative difference is |k - 1| / (k + 1).

    Parameters
    ----------
    block : str, a parameter name such as "W2" or "b1"
    k : float, the factor, any finite k != 1 (the identity |k - 1| / (k + 1) holds for k > 0)

    Returns
    -------
    Bug, usable with ``inject`` alone or combined with catalogue names.
    """
    if not isinstance(block, str) or not block[:1] in ("W", "b") or not block[1:].isdigit():
        raise BugError(f"block must name a parameter such as 'W2' or 'b1', got {block!r}")
    try:
        k = float(k)
    except (TypeError, ValueError):
        raise BugError(f"k must be a number, got {k!r}") from None
    if not np.isfinite(k) or k == 1.0:
        raise BugError(f"k must be a finite number other than 1 (k = 1 changes nothing), got {k!r}")
    key = "d" + block
    name = f"scale_{block}_by_{k:g}"

    def wrap(finish):
        def buggy(gradients):
            gradients = dict(finish(gradients))
            gradients[key] = _block(gradients, key, name) * k
            return gradients
        return buggy

    return Bug(name, f"d{block} is multiplied by {k:g}",
               "A leftover factor (a learning rate, a 2 from a derivative, an m) on one line.",
               f"Only {block} fails, with relative difference |k - 1| / (k + 1); read k back as "
               f"(1 + r) / (1 - r) when the analytic norm is the larger one.",
               _on("finish", wrap), lambda s: (block,))


def _resolve(bugs):
    """A tuple of Bug from a name, a Bug, or a list of them ("correct" means no bug)."""
    if isinstance(bugs, (str, Bug)):
        bugs = [bugs]
    if bugs is None:
        bugs = []
    try:
        items = list(bugs)
    except TypeError:
        raise BugError(f"bugs must be a name, a Bug, or a list of them, got {type(bugs).__name__}") from None
    out = []
    for item in items:
        if isinstance(item, Bug):
            out.append(item)
        elif item == "correct":
            continue
        elif isinstance(item, str) and item in CATALOGUE:
            out.append(CATALOGUE[item])
        else:
            raise BugError(f"unknown bug {item!r}; valid names are 'correct' and {', '.join(CATALOGUE)} "
                           f"(or a scale_bug('W2', k))")
    names = [b.name for b in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BugError(f"bug {duplicates[0]!r} is listed twice; list each bug once")
    return tuple(out)


def inject(bugs):
    """A backward function with the given bug(s) planted.

    Parameters
    ----------
    bugs : str, Bug, or list of them: catalogue names (see ``bug_names()``), ``scale_bug(...)``
        objects, or "correct" / [] for no bug

    Returns
    -------
    backward : callable ``backward(X, Y, cache) -> gradients`` with the signature of
        ``backward_propagation_n`` and ``mlp_backward``: X (n_0, m), Y (1, m), cache from
        ``mlp_forward``; gradients dict dW1 (n_1, n_0), db1 (n_1, 1), ..., dWL, dbL. The planted bugs
        are in its attribute ``bugs`` (tuple of Bug).

    Raises
    ------
    BugError naming the valid bugs when a name is unknown.
    """
    resolved = _resolve(bugs)
    pieces = Pieces()
    for bug in resolved:
        pieces = bug.apply(pieces)

    def backward(X, Y, cache):
        return backward_from_pieces(pieces, X, Y, cache)

    label = "+".join(b.name for b in resolved) or "correct"
    backward.__name__ = backward.__qualname__ = f"backward_with_{label.replace('+', '_and_')}" if resolved else "correct"
    backward.__doc__ = ("Backward pass of the L-layer network with planted bug(s): "
                        + (", ".join(b.name for b in resolved) or "none") + ".")
    backward.bugs = resolved
    return backward


def touched_blocks(bugs, parameters):
    """Blocks whose gradient the bug(s) make wrong on a network with these parameters.

    Parameters
    ----------
    bugs : str, Bug, or list of them (as for ``inject``)
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., WL, bL

    Returns
    -------
    list of str, in the parameters' order (e.g. ["b1", "W2"])
    """
    resolved = _resolve(bugs)
    W = [np.shape(parameters[f"W{l}"]) for l in range(1, count_layers(parameters) + 1)]
    sizes = [W[0][1]] + [w[0] for w in W]
    touched = set()
    for bug in resolved:
        touched.update(bug.touches(sizes))
    return [name for name in parameters if name in touched]


def bugs_lambd(bugs):
    """The L2 strength a check needs to show the bug(s): the largest ``lambd`` among them (float)."""
    return max((b.lambd for b in _resolve(bugs)), default=0.0)


def check_backward(backward, X=None, Y=None, parameters=None, lambd=0.0, **check_kwargs):
    """Run the gradient checker on a backward function, against the network's (regularized) cost.

    Parameters
    ----------
    backward : callable ``backward(X, Y, cache) -> gradients`` (e.g. from ``inject``); the cache is the
        tuple of ``forward_propagation_n`` for a 3-layer network without L2, else the dict of ``mlp_forward``
    X : ndarray, shape (n_0, m); default: the course's test case (with Y and parameters)
    Y : ndarray, shape (1, m)
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., WL, bL
    lambd : float, L2 strength of the cost (and of the cache handed to ``backward``)
    **check_kwargs : passed to ``check_gradients`` (epsilon, threshold, method, ...)

    Returns
    -------
    GradCheckReport
    """
    if X is None and Y is None and parameters is None:
        X, Y, parameters = gradient_check_n_test_case()
    if X is None or Y is None or parameters is None:
        raise ParameterError("pass X, Y and parameters together, or none of them for the course's test case")
    if not callable(backward):
        raise BugError(f"backward must be a function backward(X, Y, cache), got {type(backward).__name__}; "
                       f"build one with inject(name)")
    X, Y, L = check_network_inputs(X, Y, parameters)
    if L == 3 and not lambd:  # the course's network: the cache students know, a tuple
        _, cache = forward_propagation_n(X, Y, parameters)
    else:
        _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
    gradients = backward(X, Y, cache)
    return check_gradients(lambda p: mlp_forward(X, Y, p, lambd=lambd)[0], parameters, gradients,
                           **check_kwargs)


def check_bugs(bugs, X=None, Y=None, parameters=None, lambd=None, **check_kwargs):
    """Inject the bug(s) and check the resulting backward pass (default: on the course's test case).

    Parameters
    ----------
    bugs : str, Bug, or list of them (as for ``inject``)
    X, Y, parameters : the network and data (see ``check_backward``); default the course's test case
    lambd : float or None; None uses ``bugs_lambd(bugs)`` (0.7 when an L2 bug is present, else 0)
    **check_kwargs : passed to ``check_gradients``

    Returns
    -------
    GradCheckReport
    """
    if lambd is None:
        lambd = bugs_lambd(bugs)
    return check_backward(inject(bugs), X, Y, parameters, lambd=lambd, **check_kwargs)


# ---------------------------------------------------------------------------------------------------
# Bugs written out as code: the course's 3-layer backward pass, line by line
# ---------------------------------------------------------------------------------------------------

#: The correct 3-layer backward pass (no L2 term), as (key, line) pairs; bugs rewrite lines by key.
_SOURCE = [
    ("head", "def {name}(X, Y, cache):"),
    ("doc", '    """Gradients of the 3-layer network\'s cost (no L2 term). X (n_0, m), Y (1, m), cache from'),
    ("doc2", '    forward_propagation_n; returns dW1 (n_1, n_0), db1 (n_1, 1), ..., dW3 (1, n_2), db3 (1, 1)."""'),
    ("unpack", "    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache"),
    ("m", "    m = X.shape[1]"),
    ("blank1", ""),
    ("dZ3", "    dZ3 = A3 - Y  # shape (1, m)"),
    ("dW3", "    dW3 = 1. / m * np.dot(dZ3, A2.T)"),
    ("db3", "    db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)"),
    ("blank2", ""),
    ("dA2", "    dA2 = np.dot(W3.T, dZ3)  # shape (n_2, m)"),
    ("dZ2", "    dZ2 = np.multiply(dA2, np.int64(Z2 > 0))"),
    ("dW2", "    dW2 = 1. / m * np.dot(dZ2, A1.T)"),
    ("db2", "    db2 = 1. / m * np.sum(dZ2, axis=1, keepdims=True)"),
    ("blank3", ""),
    ("dA1", "    dA1 = np.dot(W2.T, dZ2)  # shape (n_1, m)"),
    ("dZ1", "    dZ1 = np.multiply(dA1, np.int64(Z1 > 0))"),
    ("dW1", "    dW1 = 1. / m * np.dot(dZ1, X.T)"),
    ("db1", "    db1 = 1. / m * np.sum(dZ1, axis=1, keepdims=True)"),
    ("blank4", ""),
    ("return", '    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}'),
]

#: For each bug that can be written into the 3-layer code: key -> replacement line(s). Each rewrite
#: reproduces exactly what ``inject(name)`` computes on a 3-layer network.
_SOURCE_BUGS = {
    "classic_dW2_db1": {"dW2": "    dW2 = 1. / m * np.dot(dZ2, A1.T) * 2",
                        "db1": "    db1 = 4. / m * np.sum(dZ1, axis=1, keepdims=True)"},
    "missing_1_over_m": {"dW3": "    dW3 = np.dot(dZ3, A2.T)", "db3": "    db3 = np.sum(dZ3, axis=1, keepdims=True)",
                         "dW2": "    dW2 = np.dot(dZ2, A1.T)", "db2": "    db2 = np.sum(dZ2, axis=1, keepdims=True)",
                         "dW1": "    dW1 = np.dot(dZ1, X.T)", "db1": "    db1 = np.sum(dZ1, axis=1, keepdims=True)"},
    "relu_mask_off_by_one": {"dZ2": "    dZ2 = np.multiply(dA2, np.int64(Z3 > 0))"},
    "relu_mask_from_A": {"dZ2": "    dZ2 = np.multiply(dA2, np.int64(A2 >= 0))",
                         "dZ1": "    dZ1 = np.multiply(dA1, np.int64(A1 >= 0))"},
    "relu_instead_of_derivative": {"dZ2": "    dZ2 = np.multiply(dA2, A2)", "dZ1": "    dZ1 = np.multiply(dA1, A1)"},
    "sigmoid_derivative_twice": {"dZ3": "    dZ3 = (A3 - Y) * A3 * (1 - A3)  # shape (1, m)"},
    "output_error_reversed": {"dZ3": "    dZ3 = Y - A3  # shape (1, m)"},
    "cross_entropy_sign": {"dZ3": "    dA3 = -(Y / A3 + (1 - Y) / (1 - A3))\n    dZ3 = dA3 * A3 * (1 - A3)  # shape (1, m)"},
    "weight_grad_transposed": {"dW3": "    dW3 = 1. / m * np.dot(A2, dZ3.T).reshape(W3.shape)",
                               "dW2": "    dW2 = 1. / m * np.dot(A1, dZ2.T).reshape(W2.shape)",
                               "dW1": "    dW1 = 1. / m * np.dot(X, dZ1.T).reshape(W1.shape)"},
    "db_before_relu": {"db2": "    db2 = 1. / m * np.sum(dA2, axis=1, keepdims=True)",
                       "db1": "    db1 = 1. / m * np.sum(dA1, axis=1, keepdims=True)"},
}


def written_out_bugs():
    """Names of the bugs ``written_out`` can put into the 3-layer code (list of str, teaching order)."""
    return [name for name in CATALOGUE if name in _SOURCE_BUGS]


def written_out(bugs=(), name="backward_propagation_n"):
    """Source code of the 3-layer backward pass, written out line by line, with the bug(s) planted.

    The code is the one students know (``dZ3 = A3 - Y``, ``dW3 = 1. / m * np.dot(dZ3, A2.T)``, ...); it
    uses ``np`` and unpacks the tuple cache of ``forward_propagation_n``. Executed, it computes
    exactly what ``inject(bugs)`` computes on a 3-layer network without L2.

    Parameters
    ----------
    bugs : str or list of str, names from ``written_out_bugs()`` ([] for the correct code); two bugs may
        not rewrite the same line
    name : str, the function's name

    Returns
    -------
    str, a function definition
    """
    resolved = _resolve(bugs)
    if not name.isidentifier():
        raise BugError(f"name must be a Python identifier, got {name!r}")
    rewritten = {}
    for bug in resolved:
        if bug.name not in _SOURCE_BUGS:
            raise BugError(f"bug {bug.name!r} is not written out as code; choose from {', '.join(written_out_bugs())}")
        for key, line in _SOURCE_BUGS[bug.name].items():
            if key in rewritten:
                raise BugError(f"bugs {rewritten[key]!r} and {bug.name!r} both rewrite the line computing {key}; "
                               f"combine bugs that touch different lines")
            rewritten[key] = bug.name
    lines = []
    for key, line in _SOURCE:
        for bug in resolved:
            line = _SOURCE_BUGS[bug.name].get(key, line)
        lines.append(line.format(name=name) if key == "head" else line)
    return "\n".join(lines) + "\n"
