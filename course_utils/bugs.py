"""The bug catalogue: realistic backprop mistakes, each a small named rewrite of lines of the backward pass.

Every bug here is a mistake people really make when they write the backward pass by hand. A ``Bug`` is a
story (``title``, ``why``, ``spot``) and the lines it rewrites, found by key: ``edits`` rewrites
``BACKWARD``, the L-layer backward pass below (what ``models.mlp_backward`` computes, number for number),
and ``written`` rewrites the course's 3-layer code ``models.backward_propagation_n`` (notebook 3) the same
way. A key "+key" inserts lines before the line ``key`` instead of replacing it.

``inject(name)`` compiles the edited ``BACKWARD`` into ``backward(X, Y, cache) -> gradients``, so the code you
read (``source(name)``, or ``inject(name)??`` in a notebook) is the code that runs; ``inject(["a", "b"])``
combines bugs that edit different lines; ``correct`` has no bug. ``written_out(name)`` is the 3-layer code
with the bug, and a test proves both compute the same gradients. Applying, compiling and checking the
edits is machinery, in ``bug_machinery``.

Shapes: X (n_0, m), Y (1, m), W_l (n_l, n_{l-1}), b_l (n_l, 1).
"""

from dataclasses import dataclass, field

import numpy as np

from course_utils.bug_machinery import (  # the machinery that applies, compiles and checks the edits
    BugError,
    bugs_lambd,
    check_backward,
    check_bugs,
    inject,
    layer_cache,
    source,
    touched_blocks,
    written_out,
    written_out_bugs,
)

__all__ = ["BACKWARD", "Bug", "BugError", "CATALOGUE", "DEFAULT_LAMBD", "bug_names", "bugs_lambd", "check_backward",
           "check_bugs", "correct", "inject", "layer_cache", "scale_bug", "source", "touched_blocks", "written_out",
           "written_out_bugs"]

#: L2 strength used to show the regularization bugs (the value of the course's regularization week).
DEFAULT_LAMBD = 0.7

#: The correct backward pass of the L-layer network, as (key, line) pairs; a bug edits lines by key.
BACKWARD = (
    ("head", "def {name}(X, Y, cache):"),
    ("doc", '    """Gradients of the L-layer network\'s cost (see course_utils.bugs). X (n_0, m), Y (1, m)."""'),
    ("unpack", "    layers, Y, lambd = layer_cache(X, Y, cache)  # one dict per layer: A_prev, W, b, Z, A"),
    ("sizes", "    L, m = len(layers), X.shape[1]"),
    ("grads", "    grads = {}"),
    ("A_L", '    A_L = layers[L - 1]["A"]  # the output sigmoid(Z_L), shape (1, m)'),
    ("dZ_L", "    dZ = A_L - Y  # shape (1, m)"),
    ("loop", "    for l in range(L, 0, -1):"),
    ("layer", '        A_prev, W, b, Z, A = (layers[l - 1][key] for key in ("A_prev", "W", "b", "Z", "A"))'),
    ("hidden", "        if l < L:"),
    ("dZ", "            dZ = dA * (Z > 0)  # the ReLU lets the gradient through where Z > 0, shape (n_l, m)"),
    ("dW", "        dW = dZ @ A_prev.T / m  # shape (n_l, n_{l-1})"),
    ("db", "        db = np.sum(dZ, axis=1, keepdims=True) / m  # shape (n_l, 1)"),
    ("dA", "        dA = W.T @ dZ  # shape (n_{l-1}, m): what flows to the layer below"),
    ("l2", "        if lambd:\n            dW = dW + lambd / m * W  # the gradient of the L2 term lambd / (2 m) ||W||^2"),
    ("store", '        grads[f"dW{l}"], grads[f"db{l}"] = dW, db'),
    ("return", '    return {key: grads[key] for l in range(1, L + 1) for key in (f"dW{l}", f"db{l}")}'),
)


@dataclass(frozen=True)
class Bug:
    """One catalogued mistake: a story and the lines it rewrites.

    Attributes
    ----------
    name : str, the key for ``inject``
    title : str, one line: what the code does wrong
    why : str, why a person writes it
    spot : str, how the gradient check (and a careful reader) spots it
    edits : dict key -> str or tuple of str: the line(s) replacing the line ``key`` of ``BACKWARD``
        ("+key": inserted before it)
    written : dict key -> str, or None: the same bug in ``backward_propagation_n``'s lines, keyed by the
        name a line assigns ("dZ3", "dW2", ...); None when it is not written out for notebook 3
    lambd : float, the L2 strength the bug needs to show (0 for bugs that do not involve L2)
    """

    name: str
    title: str
    why: str
    spot: str
    edits: dict = field(repr=False, hash=False, compare=False)
    written: dict = field(default=None, repr=False, hash=False, compare=False)
    lambd: float = 0.0

    def describe(self):
        """Three short paragraphs: what, why people write it, how to spot it (str)."""
        return f"{self.name}: {self.title}\n  why: {self.why}\n  spot: {self.spot}"


_BUGS = [
    Bug(name="classic_dW2_db1",
        title="dW2 is doubled and db1 uses 4/m: the pair planted in the original assignment",
        why="A stray `* 2` left from an experiment and a mistyped `4./m` for `1./m`: both are one character, both "
            "keep every shape right, and the network still trains (just worse).",
        spot="The report ranks b1 (relative difference 0.6 = |4-1|/(4+1)) and W2 (1/3 = |2-1|/(2+1)) first; every "
             "other block passes. A single block with a constant ratio is a scale bug.",
        edits={"+return": ('    grads["dW2"] = grads["dW2"] * 2  # "1./m * ... * 2": a stray factor',
                           '    grads["db1"] = grads["db1"] * 4  # "4./m" instead of "1./m"')},
        written={"dW2": "    dW2 = dZ2 @ A1.T / m * 2  # shape (n_2, n_1)",
                 "db1": "    db1 = np.sum(dZ1, axis=1, keepdims=True) * 4 / m  # shape (n_1, 1)"}),
    Bug(name="missing_1_over_m",
        title="dW and db are summed over the examples but never divided by m",
        why="The cost is a mean, but the gradient formula was copied from a one-example derivation, where there is "
            "no m.",
        spot="Every block fails with the same relative difference (m-1)/(m+1): the whole gradient is m times too "
             "large. The analytic norms in the report are m times the numeric ones.",
        edits={"dW": "        dW = dZ @ A_prev.T  # summed over the examples, never divided by m",
               "db": "        db = np.sum(dZ, axis=1, keepdims=True)  # never divided by m"},
        written={"dW3": "    dW3 = dZ3 @ A2.T  # shape (1, n_2)",
                 "db3": "    db3 = np.sum(dZ3, axis=1, keepdims=True)  # shape (1, 1)",
                 "dW2": "    dW2 = dZ2 @ A1.T  # shape (n_2, n_1)",
                 "db2": "    db2 = np.sum(dZ2, axis=1, keepdims=True)  # shape (n_2, 1)",
                 "dW1": "    dW1 = dZ1 @ X.T  # shape (n_1, n_0)",
                 "db1": "    db1 = np.sum(dZ1, axis=1, keepdims=True)  # shape (n_1, 1)"}),
    Bug(name="bias_sum_all_axes",
        title="db = np.sum(dZ) / m: the sum forgot axis=1 and adds up all units too",
        why="`np.sum(dZ, axis=1, keepdims=True)` is long to type; without the axis the result is a (1, 1) array that "
            "broadcasts silently into `b -= learning_rate * db`, so nothing ever complains.",
        spot="Only the hidden biases fail (at the output there is one unit, so the bug does nothing there); every "
             "entry of the wrong db is the same number.",
        edits={"db": "        db = np.sum(dZ, keepdims=True) / m + np.zeros(b.shape)  # no axis=1: a (1, 1) sum, broadcast"}),
    Bug(name="relu_mask_off_by_one",
        title="the last hidden layer takes its ReLU mask from the layer above (an off-by-one in the cache list)",
        why="Layer l lives at index l - 1 of the cache list; reading `caches[l]` gives the next layer's Z. Its shape "
            "is (1, m), which numpy broadcasts against (n, m) without an error.",
        spot="The output layer passes, the last hidden layer and everything below it fail. Check which Z each mask "
             "is built from, and print shapes: a (1, m) mask at a hidden layer is the giveaway.",
        edits={"dZ": '            dZ = dA * (layers[l]["Z"] > 0 if l == L - 1 else Z > 0)  # layers[l] is layer l + 1'},
        written={"dZ2": "    dZ2 = dA2 * (Z3 > 0)  # the ReLU lets the gradient through where Z2 > 0"}),
    Bug(name="relu_mask_from_A",
        title="the ReLU mask is built as (A >= 0) from the activation A instead of (Z > 0)",
        why="With Z, `>=` and `>` differ only at exactly 0, so it feels harmless; but A = relu(Z) is never negative, "
            "so `A >= 0` is all ones and the mask does nothing.",
        spot="The output layer passes; all hidden layers fail, with the worst entries at dead units (Z < 0), where "
             "the correct gradient is exactly 0.",
        edits={"dZ": "            dZ = dA * (A >= 0)  # A = relu(Z) is never negative: the mask lets everything through"},
        written={"dZ2": "    dZ2 = dA2 * (A2 >= 0)  # the ReLU lets the gradient through where Z2 > 0",
                 "dZ1": "    dZ1 = dA1 * (A1 >= 0)"}),
    Bug(name="relu_instead_of_derivative",
        title="dZ = dA * A: multiplies by relu(Z) instead of relu'(Z) = (Z > 0)",
        why="relu and its derivative have the same zeros, and the cache holds A next to Z, so `dA * A` looks right "
            "at a glance.",
        spot="The output layer passes, hidden layers fail; the ratio analytic/numeric varies from entry to entry (it "
             "is scaled by the activations), unlike a scale bug.",
        edits={"dZ": "            dZ = dA * A  # relu(Z) where relu'(Z) = (Z > 0) belongs"},
        written={"dZ2": "    dZ2 = dA2 * A2  # the ReLU lets the gradient through where Z2 > 0",
                 "dZ1": "    dZ1 = dA1 * A1"}),
    Bug(name="sigmoid_derivative_twice",
        title="dZ3 = (A3 - Y) * A3 * (1 - A3): the sigmoid's derivative applied twice",
        why="A3 - Y is already the derivative with respect to Z3 (the sigmoid's derivative cancelled against the "
            "cross-entropy's); multiplying by s'(Z3) again follows the chain rule one step too far.",
        spot="Every block fails, because the error starts at the output and flows everywhere; the analytic gradient "
             "is too small by a factor A3 (1 - A3) <= 1/4 per example.",
        edits={"dZ_L": "    dZ = (A_L - Y) * A_L * (1 - A_L)  # A_L - Y already includes the sigmoid's derivative"},
        written={"dZ3": "    dZ3 = (A3 - Y) * A3 * (1 - A3)  # shape (1, m)"}),
    Bug(name="output_error_reversed",
        title="dZ3 = Y - A3: the output error with the wrong sign",
        why="Y - A3 is the 'error' of the prediction, and it is also what gradient *ascent* on the log-likelihood "
            "uses; the derivative of the cost to minimise is A3 - Y.",
        spot="Every block fails with relative difference exactly 1 (the analytic gradient is the exact negative of "
             "the numeric one). Training with it makes the cost go up.",
        edits={"dZ_L": "    dZ = Y - A_L  # the output error with the wrong sign"},
        written={"dZ3": "    dZ3 = Y - A3  # shape (1, m)"}),
    Bug(name="cross_entropy_sign",
        title="dA3 = -(Y / A3 + (1 - Y) / (1 - A3)): a + where the derivative of log(1 - A3) needs a -",
        why="The derivative of log(1 - A) is -1 / (1 - A); the inner minus sign is easy to lose when the outer one "
            "is written first.",
        spot="Every block fails; the output gradient no longer vanishes when the prediction is perfect. Compare dZ3 "
             "with A3 - Y for one example.",
        edits={"dZ_L": ("    dA_L = -(Y / A_L + (1 - Y) / (1 - A_L))  # should be -(Y / A_L - (1 - Y) / (1 - A_L))",
                        "    dZ = dA_L * A_L * (1 - A_L)")},
        written={"dZ3": ("    dA3 = -(Y / A3 + (1 - Y) / (1 - A3))",
                         "    dZ3 = dA3 * A3 * (1 - A3)  # shape (1, m)")}),
    Bug(name="weight_grad_transposed",
        title="dW = (A_prev @ dZ.T).reshape(W.shape): the transposed gradient reshaped to fit",
        why="A_prev @ dZ.T has shape (n_prev, n), which gives a shape error; `.reshape(W.shape)` makes the error go "
            "away but puts the numbers in the wrong places. (For a square W it is a plain transpose.)",
        spot="Only weight matrices with more than one row and column fail (a (1, n) row vector reshaped from (n, 1) "
             "is unchanged, so W3 passes). The block norms agree; the entries do not.",
        edits={"dW": '        dW = (A_prev @ dZ.T / m).reshape(W.shape)  # the transpose, "fixed" with reshape'},
        written={"dW3": "    dW3 = (A2 @ dZ3.T / m).reshape(W3.shape)  # shape (1, n_2)",
                 "dW2": "    dW2 = (A1 @ dZ2.T / m).reshape(W2.shape)  # shape (n_2, n_1)",
                 "dW1": "    dW1 = (X @ dZ1.T / m).reshape(W1.shape)  # shape (n_1, n_0)"}),
    Bug(name="db_before_relu",
        title="db of a hidden layer is summed from dA, before the ReLU mask, instead of from dZ",
        why="The bias gradient is written right after dA arrives, before the line that applies the mask, so it uses "
            "the wrong variable.",
        spot="Only the hidden biases fail; their worst entries are at units that are dead for some examples.",
        edits={"db": "        db = np.sum(dA if l < L else dZ, axis=1, keepdims=True) / m  # dA: before the ReLU mask"},
        written={"db2": "    db2 = np.sum(dA2, axis=1, keepdims=True) / m  # shape (n_2, 1)",
                 "db1": "    db1 = np.sum(dA1, axis=1, keepdims=True) / m  # shape (n_1, 1)"}),
    Bug(name="l2_gradient_dropped",
        title="the cost includes the L2 term lambd/(2m) sum ||W||^2 but the gradient leaves out lambd/m W",
        why="Regularization was added to the cost function in one place and forgotten in the backward pass in "
            "another. Without a gradient check nothing fails: the network just is not regularized.",
        spot="Every weight block fails and every bias block passes (biases are not in the penalty). Only visible "
             "when the check uses the regularized cost (lambd > 0).",
        edits={"l2": "        # the cost has lambd / (2 m) ||W||^2, but its gradient lambd / m * W is missing here"},
        lambd=DEFAULT_LAMBD),
    Bug(name="l2_half_factor",
        title="the L2 gradient is lambd/(2m) W instead of lambd/m W",
        why="The 1/2 in the cost is there to cancel the 2 from differentiating W^2; copying the cost's factor into "
            "the gradient keeps it.",
        spot="Every weight block fails, biases pass; the error grows with lambd and with |W|.",
        edits={"l2": "        dW = dW + lambd / (2 * m) * W  # kept the cost's 1/2"},
        lambd=DEFAULT_LAMBD),
    Bug(name="l2_on_biases",
        title="the L2 gradient lambd/m b is also added to the biases, which are not in the penalty",
        why="A loop `for key in parameters: grads['d' + key] += lambd / m * parameters[key]` regularizes everything; "
            "the cost only penalises the weights.",
        spot="Every bias block fails and every weight block passes; only visible with lambd > 0.",
        edits={"l2": ("        if lambd:",
                      "            dW = dW + lambd / m * W",
                      "        db = db + lambd / m * b  # decays the biases, which are not in the penalty")},
        lambd=DEFAULT_LAMBD),
]

#: name -> Bug, in teaching order.
CATALOGUE = {bug.name: bug for bug in _BUGS}


def bug_names():
    """Names of the catalogued bugs, in teaching order (``"correct"`` is not among them).

    Returns
    -------
    list of str

    Raises
    ------
    Nothing: the catalogue is fixed.
    """
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

    Raises
    ------
    BugError for a block that is not a parameter name, or a factor that is not a finite number other than 1.
    """
    if not isinstance(block, str) or not block[:1] in ("W", "b") or not block[1:].isdigit():
        raise BugError(f"block must name a parameter such as 'W2' or 'b1', got {block!r}")
    try:
        k = float(k)
    except (TypeError, ValueError):
        raise BugError(f"k must be a number, got {k!r}") from None
    if not np.isfinite(k) or k == 1.0:
        raise BugError(f"k must be a finite number other than 1 (k = 1 changes nothing), got {k!r}")
    return Bug(name=f"scale_{block}_by_{k:g}", title=f"d{block} is multiplied by {k:g}",
               why="A leftover factor (a learning rate, a 2 from a derivative, an m) on one line.",
               spot=f"Only {block} fails, with relative difference |k - 1| / (k + 1); read k back as "
                    f"(1 + r) / (1 - r) when the analytic norm is the larger one.",
               edits={"+return": f'    grads["d{block}"] = grads["d{block}"] * {k!r}  # a leftover factor'})


#: The correct backward pass, compiled from ``BACKWARD`` like every buggy one (``mlp_backward``'s numbers).
correct = inject([])
