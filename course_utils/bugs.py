"""A catalogue of realistic backprop bugs, each a small named edit of the backward pass's lines.

Every bug here is a mistake people really make when they write the backward pass of the course's
network by hand. ``inject(name)`` returns a backward function with the signature of
``backward_propagation_n`` / ``mlp_backward`` (``backward(X, Y, cache) -> gradients``) that contains
that bug; ``inject(["a", "b"])`` combines several; ``correct`` (or ``inject("correct")``) has none.

How the bugs are built
----------------------
``BACKWARD`` is the backward pass of the L-layer network written out line by line (what
``models.mlp_backward`` computes, number for number), each line with a key ("dZ_L", "dZ", "dW", "db",
"dA", "l2", ...). A bug (``Bug``) is a few ``edits``: a key and the line(s) that replace that line (a key
"+return" inserts lines before the return instead). ``inject`` assembles the edited source and compiles
it, so the code a student reads (``source(name)``, or ``inject(name)??`` in a notebook) is the code that
runs. Bugs combine when they edit different lines. ``written_out`` shows the same bugs in the course's
3-layer code (notebook 3), and a test proves both compute the same gradients.

Shapes: X (n_0, m), Y (1, m), W_l (n_l, n_{l-1}), b_l (n_l, 1).
"""

import inspect
import linecache
import re
from dataclasses import dataclass, field

import numpy as np

from course_utils.gradcheck import check_gradients
from course_utils.models import (
    backward_propagation_n,
    check_network_inputs,
    count_layers,
    forward_propagation_n,
    initialize_mlp,
    mlp_forward,
)
from course_utils.parameters import ParameterError
from course_utils.testcases import gradient_check_n_test_case

__all__ = ["BACKWARD", "Bug", "BugError", "CATALOGUE", "DEFAULT_LAMBD", "bug_names", "bugs_lambd", "check_backward",
           "check_bugs", "correct", "inject", "layer_cache", "scale_bug", "source", "touched_blocks", "written_out",
           "written_out_bugs"]

#: L2 strength used to show the regularization bugs (the value of the course's regularization week).
DEFAULT_LAMBD = 0.7


class BugError(ValueError):
    """A bug name or bug specification that cannot be used; the message says what is valid."""


# ---------------------------------------------------------------------------------------------------
# The backward pass, line by line
# ---------------------------------------------------------------------------------------------------

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


def layer_cache(X, Y, cache):
    """The layers, labels and L2 strength of either kind of cache.

    Parameters
    ----------
    X : ndarray, shape (n_0, m)
    Y : ndarray, shape (1, m)
    cache : dict from ``mlp_forward``, or the tuple (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) from
        ``forward_propagation_n``

    Returns
    -------
    layers : list of L dicts A_prev, W, b, Z, A (layer l at index l - 1); Y : ndarray (1, m); lambd : float

    Raises
    ------
    BugError when the cache is neither.
    """
    if isinstance(cache, dict):
        return cache["layers"], cache["Y"], cache.get("lambd", 0.0)
    if not (isinstance(cache, tuple) and len(cache) == 12):
        raise BugError("cache must come from forward_propagation_n (a tuple of 12 arrays) or mlp_forward (a dict)")
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    layers = [{"A_prev": X, "W": W1, "b": b1, "Z": Z1, "A": A1}, {"A_prev": A1, "W": W2, "b": b2, "Z": Z2, "A": A2},
              {"A_prev": A2, "W": W3, "b": b3, "Z": Z3, "A": A3}]
    return layers, np.asarray(Y, dtype=np.float64).reshape(1, -1), 0.0


# ---------------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bug:
    """One catalogued mistake: a story and the edits that plant it.

    Attributes
    ----------
    name : str, the key for ``inject``
    title : str, one line: what the code does wrong
    why : str, why a person writes it
    spot : str, how the gradient check (and a careful reader) spots it
    edits : dict key -> str or tuple of str: the line(s) replacing the line ``key`` of ``BACKWARD``
        ("+key": inserted before it)
    lambd : float, the L2 strength the bug needs to show (0 for bugs that do not involve L2)
    """

    name: str
    title: str
    why: str
    spot: str
    edits: dict = field(repr=False, hash=False, compare=False)
    lambd: float = 0.0

    def describe(self):
        """Three short paragraphs: what, why people write it, how to spot it (str)."""
        return f"{self.name}: {self.title}\n  why: {self.why}\n  spot: {self.spot}"


_BUGS = [
    Bug(name='classic_dW2_db1',
        title='dW2 is doubled and db1 uses 4/m: the pair planted in the original assignment',
        why=('A stray `* 2` left from an experiment and a mistyped `4./m` for `1./m`: both are one '
             'character, both keep every shape right, and the network still trains (just worse).'),
        spot=('The report ranks b1 (relative difference 0.6 = |4-1|/(4+1)) and W2 (1/3 = |2-1|/(2+1)) '
              'first; every other block passes. A single block with a constant ratio is a scale bug.'),
        edits={'+return': ('    grads["dW2"] = grads["dW2"] * 2  # "1./m * ... * 2": a stray factor',
                    '    grads["db1"] = grads["db1"] * 4  # "4./m" instead of "1./m"')}),
    Bug(name='missing_1_over_m',
        title='dW and db are summed over the examples but never divided by m',
        why=('The cost is a mean, but the gradient formula was copied from a one-example derivation, '
             'where there is no m.'),
        spot=('Every block fails with the same relative difference (m-1)/(m+1): the whole gradient is '
              'm times too large. The analytic norms in the report are m times the numeric ones.'),
        edits={'dW': '        dW = dZ @ A_prev.T  # summed over the examples, never divided by m',
               'db': '        db = np.sum(dZ, axis=1, keepdims=True)  # never divided by m'}),
    Bug(name='bias_sum_all_axes',
        title='db = np.sum(dZ) / m: the sum forgot axis=1 and adds up all units too',
        why=('`np.sum(dZ, axis=1, keepdims=True)` is long to type; without the axis the result is a '
             '(1, 1) array that broadcasts silently into `b -= learning_rate * db`, so nothing ever '
             'complains.'),
        spot=('Only the hidden biases fail (at the output there is one unit, so the bug does nothing '
              'there); every entry of the wrong db is the same number.'),
        edits={'db': '        db = np.sum(dZ, keepdims=True) / m + np.zeros(b.shape)  # no axis=1: a (1, 1) sum, broadcast'}),
    Bug(name='relu_mask_off_by_one',
        title=('the last hidden layer takes its ReLU mask from the layer above (an off-by-one in the '
               'cache list)'),
        why=('Layer l lives at index l - 1 of the cache list; reading `caches[l]` gives the next '
             "layer's Z. Its shape is (1, m), which numpy broadcasts against (n, m) without an error."),
        spot=('The output layer passes, the last hidden layer and everything below it fail. Check '
              'which Z each mask is built from, and print shapes: a (1, m) mask at a hidden layer is '
              'the giveaway.'),
        edits={'dZ': '            dZ = dA * (layers[l]["Z"] > 0 if l == L - 1 else Z > 0)  # layers[l] is layer l + 1'}),
    Bug(name='relu_mask_from_A',
        title='the ReLU mask is built as (A >= 0) from the activation A instead of (Z > 0)',
        why=('With Z, `>=` and `>` differ only at exactly 0, so it feels harmless; but A = relu(Z) is '
             'never negative, so `A >= 0` is all ones and the mask does nothing.'),
        spot=('The output layer passes; all hidden layers fail, with the worst entries at dead units '
              '(Z < 0), where the correct gradient is exactly 0.'),
        edits={'dZ': '            dZ = dA * (A >= 0)  # A = relu(Z) is never negative: the mask lets everything through'}),
    Bug(name='relu_instead_of_derivative',
        title="dZ = dA * A: multiplies by relu(Z) instead of relu'(Z) = (Z > 0)",
        why=('relu and its derivative have the same zeros, and the cache holds A next to Z, so `dA * '
             'A` looks right at a glance.'),
        spot=('The output layer passes, hidden layers fail; the ratio analytic/numeric varies from '
              'entry to entry (it is scaled by the activations), unlike a scale bug.'),
        edits={'dZ': "            dZ = dA * A  # relu(Z) where relu'(Z) = (Z > 0) belongs"}),
    Bug(name='sigmoid_derivative_twice',
        title="dZ3 = (A3 - Y) * A3 * (1 - A3): the sigmoid's derivative applied twice",
        why=("A3 - Y is already the derivative with respect to Z3 (the sigmoid's derivative cancelled "
             "against the cross-entropy's); multiplying by s'(Z3) again follows the chain rule one "
             'step too far.'),
        spot=('Every block fails, because the error starts at the output and flows everywhere; the '
              'analytic gradient is too small by a factor A3 (1 - A3) <= 1/4 per example.'),
        edits={'dZ_L': "    dZ = (A_L - Y) * A_L * (1 - A_L)  # A_L - Y already includes the sigmoid's derivative"}),
    Bug(name='output_error_reversed',
        title='dZ3 = Y - A3: the output error with the wrong sign',
        why=("Y - A3 is the 'error' of the prediction, and it is also what gradient *ascent* on the "
             'log-likelihood uses; the derivative of the cost to minimise is A3 - Y.'),
        spot=('Every block fails with relative difference exactly 1 (the analytic gradient is the '
              'exact negative of the numeric one). Training with it makes the cost go up.'),
        edits={'dZ_L': '    dZ = Y - A_L  # the output error with the wrong sign'}),
    Bug(name='cross_entropy_sign',
        title=('dA3 = -(Y / A3 + (1 - Y) / (1 - A3)): a + where the derivative of log(1 - A3) needs a '
               '-'),
        why=('The derivative of log(1 - A) is -1 / (1 - A); the inner minus sign is easy to lose when '
             'the outer one is written first.'),
        spot=('Every block fails; the output gradient no longer vanishes when the prediction is '
              'perfect. Compare dZ3 with A3 - Y for one example.'),
        edits={'dZ_L': ('    dA_L = -(Y / A_L + (1 - Y) / (1 - A_L))  # should be -(Y / A_L - (1 - Y) / (1 - A_L))',
                    '    dZ = dA_L * A_L * (1 - A_L)')}),
    Bug(name='weight_grad_transposed',
        title='dW = (A_prev @ dZ.T).reshape(W.shape): the transposed gradient reshaped to fit',
        why=('A_prev @ dZ.T has shape (n_prev, n), which gives a shape error; `.reshape(W.shape)` '
             'makes the error go away but puts the numbers in the wrong places. (For a square W it is '
             'a plain transpose.)'),
        spot=('Only weight matrices with more than one row and column fail (a (1, n) row vector '
              'reshaped from (n, 1) is unchanged, so W3 passes). The block norms agree; the entries do'
              ' not.'),
        edits={'dW': '        dW = (A_prev @ dZ.T / m).reshape(W.shape)  # the transpose, "fixed" with reshape'}),
    Bug(name='db_before_relu',
        title='db of a hidden layer is summed from dA, before the ReLU mask, instead of from dZ',
        why=('The bias gradient is written right after dA arrives, before the line that applies the '
             'mask, so it uses the wrong variable.'),
        spot=('Only the hidden biases fail; their worst entries are at units that are dead for some '
              'examples.'),
        edits={'db': '        db = np.sum(dA if l < L else dZ, axis=1, keepdims=True) / m  # dA: before the ReLU mask'}),
    Bug(name='l2_gradient_dropped',
        title=('the cost includes the L2 term lambd/(2m) sum ||W||^2 but the gradient leaves out '
               'lambd/m W'),
        why=('Regularization was added to the cost function in one place and forgotten in the backward'
             ' pass in another. Without a gradient check nothing fails: the network just is not '
             'regularized.'),
        spot=('Every weight block fails and every bias block passes (biases are not in the penalty). '
              'Only visible when the check uses the regularized cost (lambd > 0).'),
        edits={'l2': '        # the cost has lambd / (2 m) ||W||^2, but its gradient lambd / m * W is missing here'},
        lambd=DEFAULT_LAMBD),
    Bug(name='l2_half_factor',
        title='the L2 gradient is lambd/(2m) W instead of lambd/m W',
        why=('The 1/2 in the cost is there to cancel the 2 from differentiating W^2; copying the '
             "cost's factor into the gradient keeps it."),
        spot='Every weight block fails, biases pass; the error grows with lambd and with |W|.',
        edits={'l2': "        dW = dW + lambd / (2 * m) * W  # kept the cost's 1/2"},
        lambd=DEFAULT_LAMBD),
    Bug(name='l2_on_biases',
        title='the L2 gradient lambd/m b is also added to the biases, which are not in the penalty',
        why=("A loop `for key in parameters: grads['d' + key] += lambd / m * parameters[key]` "
             'regularizes everything; the cost only penalises the weights.'),
        spot='Every bias block fails and every weight block passes; only visible with lambd > 0.',
        edits={'l2': ('        if lambd:',
                    '            dW = dW + lambd / m * W',
                    '        db = db + lambd / m * b  # decays the biases, which are not in the penalty')},
        lambd=DEFAULT_LAMBD),
]

#: name -> Bug, in teaching order.
CATALOGUE = {bug.name: bug for bug in _BUGS}


def bug_names():
    """Names of the catalogued bugs, in teaching order (list of str; ``"correct"`` is not among them).

    Returns
    -------
    list of str
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


def _lines(text):
    return list(text) if isinstance(text, tuple) else [text]


def source(bugs=(), name=None):
    """The source of the backward pass with the bug(s) planted: ``BACKWARD`` with their edits applied.

    Parameters
    ----------
    bugs : str, Bug, or list of them (as for ``inject``)
    name : str or None, the function's name (default: as ``inject`` names it)

    Returns
    -------
    str, a function definition (it uses ``np`` and ``layer_cache``)

    Raises
    ------
    BugError for an unknown bug, or two bugs that edit the same line.
    """
    resolved = _resolve(bugs)
    edited = {}
    for bug in resolved:
        for key in bug.edits:
            if key in edited and not key.startswith("+"):
                raise BugError(f"bugs {edited[key]!r} and {bug.name!r} both rewrite the line computing "
                               f"{key!r}; combine bugs that edit different lines")
            edited.setdefault(key, bug.name)
    lines = []
    for key, line in BACKWARD:
        for bug in resolved:
            lines += _lines(bug.edits.get("+" + key, ()))
        replaced = [bug.edits[key] for bug in resolved if key in bug.edits]
        lines += _lines(replaced[0]) if replaced else [line]
    text = "\n".join(lines) + "\n"
    return text.replace("{name}", name or _function_name(resolved), 1)


def _function_name(resolved):
    label = "_and_".join(b.name for b in resolved)
    return re.sub(r"\W", "_", f"backward_with_{label}".replace("-", "minus")) if resolved else "correct"


#: source text -> the function it defines (each edited source is compiled once)
_COMPILED = {}


def _compile(resolved):
    """The function ``source(resolved)`` defines, with its source registered for ``inspect`` and ``??``."""
    text = source(resolved)
    if text not in _COMPILED:
        filename = f"<course_utils.bugs: backward {len(_COMPILED)}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace = {"np": np, "layer_cache": layer_cache}
        exec(compile(text, filename, "exec"), namespace)
        _COMPILED[text] = namespace[_function_name(resolved)]
    function = _COMPILED[text]

    def backward(X, Y, cache):
        try:
            return function(X, Y, cache)
        except KeyError as missing:  # an edit names a block this network does not have
            owner = next((b.name for b in resolved if any(str(missing.args[0]) in str(e) for e in b.edits.values())),
                         "the bug")
            raise BugError(f"bug '{owner}' changes {missing.args[0]}, but this network only has "
                           f"{len(layer_cache(X, Y, cache)[0])} layers; use a network with more layers or another bug") from None

    backward.__name__ = backward.__qualname__ = function.__name__
    backward.__doc__ = ("Backward pass of the L-layer network with planted bug(s): "
                        + (", ".join(b.name for b in resolved) or "none") + ". Its code: bugs.source(...).")
    backward.__wrapped__ = function  # inspect.getsource(backward) shows the edited code
    backward.bugs = resolved
    return backward


def inject(bugs):
    """A backward function with the given bug(s) planted: the compiled ``source(bugs)``.

    Parameters
    ----------
    bugs : str, Bug, or list of them: catalogue names (see ``bug_names()``), ``scale_bug(...)``
        objects, or "correct" / [] for no bug

    Returns
    -------
    backward : callable ``backward(X, Y, cache) -> gradients`` with the signature of
        ``backward_propagation_n`` and ``mlp_backward``: X (n_0, m), Y (1, m), cache from either
        forward pass; gradients dict dW1 (n_1, n_0), db1 (n_1, 1), ..., dWL, dbL. The planted bugs
        are in its attribute ``bugs`` (tuple of Bug).

    Raises
    ------
    BugError naming the valid bugs when a name is unknown, or when two bugs edit the same line.
    """
    return _compile(_resolve(bugs))


#: The correct backward pass, compiled from ``BACKWARD`` like every buggy one (``mlp_backward``'s numbers).
correct = inject([])


def touched_blocks(bugs, parameters):
    """Blocks whose gradient the bug(s) make wrong on a network of these parameters' shapes.

    Found by running the bug(s) and the correct pass on four random networks of the same shapes (with
    the bugs' L2 strength) and comparing block by block.

    Parameters
    ----------
    bugs : str, Bug, or list of them (as for ``inject``)
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., WL, bL

    Returns
    -------
    list of str, in the parameters' order (e.g. ["b1", "W2"])

    Raises
    ------
    BugError (unknown bug, or a bug that needs more layers); ParameterError for a dict that is not a network.
    """
    resolved = _resolve(bugs)
    L = count_layers(parameters)
    sizes = [np.shape(parameters["W1"])[1]] + [np.shape(parameters[f"W{l}"])[0] for l in range(1, L + 1)]
    backward, touched = inject(resolved), set()
    for seed in range(4):  # a few random networks, so that no block looks right by accident (dead units)
        rng = np.random.default_rng(seed)
        random = initialize_mlp(sizes, rng)
        X, Y = rng.standard_normal((sizes[0], 64)), np.tile([[1.0, 0.0]], 32)
        _, cache = mlp_forward(X, Y, random, lambd=bugs_lambd(resolved))
        right, wrong = correct(X, Y, cache), backward(X, Y, cache)
        touched.update(name for name in parameters if not np.array_equal(right["d" + name], wrong["d" + name]))
    return [name for name in parameters if name in touched]


def bugs_lambd(bugs):
    """The L2 strength a check needs to show the bug(s): the largest ``lambd`` among them (float).

    Parameters
    ----------
    bugs : str, Bug, or list of them (as for ``inject``)

    Raises
    ------
    BugError for an unknown bug.
    """
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

    Raises
    ------
    ParameterError for partial inputs; BugError when backward is not a function.
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

def _taught_lines():
    """The lines of ``models.backward_propagation_n``, the course's written-out backward pass, as (key, line)
    pairs: "head" (the def line), "unpack", "m", "return", "blank<i>", and each gradient line keyed by the
    name it assigns ("dZ3", "dW3", ...). Its docstring is replaced by one line; bugs rewrite lines by key,
    so the code a bug plants is the code students read in ``backward_propagation_n??``."""
    lines = inspect.getsource(backward_propagation_n).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith('"""'))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip().endswith('"""'))
    pairs = [("head", lines[0].replace("backward_propagation_n", "{name}")),
             ("doc", '    """Gradients of the 3-layer network\'s cost (no L2 term), as in backward_propagation_n."""')]
    for i, line in enumerate(lines[end + 1:]):
        text = line.strip()
        key = (f"blank{i}" if not text else "return" if text.startswith("return") else
               "unpack" if text.startswith("(") else text.split("=")[0].strip())
        pairs.append((key, line))
    return pairs


#: For each bug that can be written into the 3-layer code: key -> replacement line(s), in the style of
#: ``backward_propagation_n``. Each rewrite computes what ``inject(name)`` computes on a 3-layer network.
_SOURCE_BUGS = {
    "classic_dW2_db1": {"dW2": "    dW2 = dZ2 @ A1.T / m * 2  # shape (n_2, n_1)",
                        "db1": "    db1 = np.sum(dZ1, axis=1, keepdims=True) * 4 / m  # shape (n_1, 1)"},
    "missing_1_over_m": {"dW3": "    dW3 = dZ3 @ A2.T  # shape (1, n_2)",
                         "db3": "    db3 = np.sum(dZ3, axis=1, keepdims=True)  # shape (1, 1)",
                         "dW2": "    dW2 = dZ2 @ A1.T  # shape (n_2, n_1)",
                         "db2": "    db2 = np.sum(dZ2, axis=1, keepdims=True)  # shape (n_2, 1)",
                         "dW1": "    dW1 = dZ1 @ X.T  # shape (n_1, n_0)",
                         "db1": "    db1 = np.sum(dZ1, axis=1, keepdims=True)  # shape (n_1, 1)"},
    "relu_mask_off_by_one": {"dZ2": "    dZ2 = dA2 * (Z3 > 0)  # the ReLU lets the gradient through where Z2 > 0"},
    "relu_mask_from_A": {"dZ2": "    dZ2 = dA2 * (A2 >= 0)  # the ReLU lets the gradient through where Z2 > 0",
                         "dZ1": "    dZ1 = dA1 * (A1 >= 0)"},
    "relu_instead_of_derivative": {"dZ2": "    dZ2 = dA2 * A2  # the ReLU lets the gradient through where Z2 > 0",
                                   "dZ1": "    dZ1 = dA1 * A1"},
    "sigmoid_derivative_twice": {"dZ3": "    dZ3 = (A3 - Y) * A3 * (1 - A3)  # shape (1, m)"},
    "output_error_reversed": {"dZ3": "    dZ3 = Y - A3  # shape (1, m)"},
    "cross_entropy_sign": {"dZ3": "    dA3 = -(Y / A3 + (1 - Y) / (1 - A3))\n    dZ3 = dA3 * A3 * (1 - A3)  # shape (1, m)"},
    "weight_grad_transposed": {"dW3": "    dW3 = (A2 @ dZ3.T / m).reshape(W3.shape)  # shape (1, n_2)",
                               "dW2": "    dW2 = (A1 @ dZ2.T / m).reshape(W2.shape)  # shape (n_2, n_1)",
                               "dW1": "    dW1 = (X @ dZ1.T / m).reshape(W1.shape)  # shape (n_1, n_0)"},
    "db_before_relu": {"db2": "    db2 = np.sum(dA2, axis=1, keepdims=True) / m  # shape (n_2, 1)",
                       "db1": "    db1 = np.sum(dA1, axis=1, keepdims=True) / m  # shape (n_1, 1)"},
}


def written_out_bugs():
    """Names of the bugs ``written_out`` can put into the 3-layer code (list of str, teaching order).

    Returns
    -------
    list of str
    """
    return [name for name in CATALOGUE if name in _SOURCE_BUGS]


def written_out(bugs=(), name="backward_propagation_n"):
    """Source code of the 3-layer backward pass, written out line by line, with the bug(s) planted.

    The code is ``models.backward_propagation_n``, the one students read (``dZ3 = A3 - Y``,
    ``dW3 = dZ3 @ A2.T / m``, ...), with the bugs' lines rewritten; it uses ``np`` and unpacks the tuple
    cache of ``forward_propagation_n``. Executed, it computes
    exactly what ``inject(bugs)`` computes on a 3-layer network without L2.

    Parameters
    ----------
    bugs : str or list of str, names from ``written_out_bugs()`` ([] for the correct code); two bugs may
        not rewrite the same line
    name : str, the function's name

    Returns
    -------
    str, a function definition

    Raises
    ------
    BugError for a bug that is not written out, two bugs that rewrite one line, or a bad name.
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
    for key, line in _taught_lines():
        for bug in resolved:
            line = _SOURCE_BUGS[bug.name].get(key, line)
        lines.append(line.format(name=name) if key == "head" else line)
    return "\n".join(lines) + "\n"
