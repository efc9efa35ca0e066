"""Machinery of the bug catalogue; a student does not need this module: edits applied, compiled and checked.

The catalogue itself, each bug a named rewrite of lines of the backward pass, is ``course_utils.bugs``, which
re-exports the public functions here. This module does the plumbing behind it: it resolves bug names
(``resolve``), applies a bug's edits to keyed lines (``apply_edits``, ``source``, ``written_out``), compiles the
result into a function whose source ``inspect`` and ``??`` can show (``inject``, ``compile_backward``), finds
the blocks a backward pass gets wrong on random networks (``touched_blocks``) and runs the gradient checker on
a backward pass (``check_backward``, ``check_bugs``). It reads the catalogue from ``bugs`` when first called
(``bugs`` imports this module, so not at the top).

Shapes: X (n_0, m), Y (1, m), W_l (n_l, n_{l-1}), b_l (n_l, 1).
"""

import inspect
import linecache
import re

import numpy as np

from course_utils.fastcheck import check_mlp_gradients
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

__all__ = ["BugError", "apply_edits", "blocks_changed", "bugs_lambd", "check_backward", "check_bugs",
           "compile_backward", "function_name", "inject", "layer_cache", "resolve", "source", "taught_lines",
           "touched_blocks", "written_out", "written_out_bugs"]


class BugError(ValueError):
    """A bug name or bug specification that cannot be used; the message says what is valid."""


def _catalogue():
    """The module ``course_utils.bugs`` (the catalogue's data), imported when first needed: it imports this one."""
    from course_utils import bugs
    return bugs



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


def _lines(text):
    return list(text) if isinstance(text, tuple) else [text]


def apply_edits(pairs, rewrites, name):
    """The source of a function whose keyed lines are rewritten.

    Parameters
    ----------
    pairs : sequence of (key, line): the function, its first line holding "{name}" where the name goes
    rewrites : list of (bug name, dict key -> str or tuple of str): the line(s) replacing the line ``key``;
        a key "+key" inserts its lines before that line instead
    name : str, the function's name

    Returns
    -------
    str, the function definition

    Raises
    ------
    BugError when two bugs rewrite the same line.
    """
    owner = {}
    for bug, edits in rewrites:
        for key in edits:
            if key in owner and not key.startswith("+"):
                raise BugError(f"bugs {owner[key]!r} and {bug!r} both rewrite the line computing {key!r}; "
                               f"combine bugs that edit different lines")
            owner.setdefault(key, bug)
    lines = []
    for key, line in pairs:
        for _, edits in rewrites:
            lines += _lines(edits.get("+" + key, ()))
        replaced = [edits[key] for _, edits in rewrites if key in edits]
        lines += _lines(replaced[0]) if replaced else [line]
    return ("\n".join(lines) + "\n").replace("{name}", name, 1)


def function_name(names):
    """A valid function name for a backward pass with the named bugs planted.

    Parameters
    ----------
    names : list of str, the bugs' names

    Returns
    -------
    str, e.g. "backward_with_classic_dW2_db1" ("correct" for no bug)

    Raises
    ------
    Nothing: any characters that are not valid in a name become "_".
    """
    label = "_and_".join(names)
    return re.sub(r"\W", "_", f"backward_with_{label}".replace("-", "minus")) if names else "correct"


#: source text -> the function it defines (each edited source is compiled once)
_COMPILED = {}


def compile_backward(text, resolved):
    """The function ``text`` defines, with its source registered for ``inspect`` and ``??``.

    Parameters
    ----------
    text : str, a function definition named ``function_name`` of the bugs' names, using ``np`` and ``layer_cache``
    resolved : tuple of Bug, the bugs planted in it (kept in the attribute ``bugs``)

    Returns
    -------
    backward : callable ``backward(X, Y, cache) -> gradients``

    Raises
    ------
    BugError, when called, for a bug that edits a block the network does not have.
    """
    if text not in _COMPILED:
        filename = f"<course_utils.bugs: backward {len(_COMPILED)}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace = {"np": np, "layer_cache": layer_cache}
        exec(compile(text, filename, "exec"), namespace)
        _COMPILED[text] = namespace[function_name([b.name for b in resolved])]
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


def taught_lines(function):
    """The lines of a written-out backward pass (``models.backward_propagation_n``) as (key, line) pairs.

    Keys: "head" (the def line, its name replaced by "{name}"), "doc" (one line in place of the docstring),
    "unpack", "return", "blank<i>", and each gradient line keyed by the name it assigns ("dZ3", "dW3", ...).

    Parameters
    ----------
    function : a function whose body after its docstring has one statement per line

    Returns
    -------
    list of (str, str)

    Raises
    ------
    StopIteration when the function has no docstring.
    """
    lines = inspect.getsource(function).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith('"""'))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip().endswith('"""'))
    pairs = [("head", lines[0].replace(function.__name__, "{name}")),
             ("doc", '    """Gradients of the 3-layer network\'s cost (no L2 term), as in backward_propagation_n."""')]
    for i, line in enumerate(lines[end + 1:]):
        text = line.strip()
        key = (f"blank{i}" if not text else "return" if text.startswith("return") else
               "unpack" if text.startswith("(") else text.split("=")[0].strip())
        pairs.append((key, line))
    return pairs


def blocks_changed(backward, reference, parameters, lambd):
    """Blocks whose gradient ``backward`` gets differently from ``reference`` on networks of these shapes.

    Runs both on four random networks of the parameters' shapes (with L2 strength ``lambd``), so that no
    block looks right by accident (a dead unit), and compares block by block, exactly.

    Parameters
    ----------
    backward, reference : callables ``backward(X, Y, cache) -> gradients`` taking ``mlp_forward``'s cache
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., WL, bL (only the shapes are used)
    lambd : float

    Returns
    -------
    list of str, in the parameters' order (e.g. ["b1", "W2"])

    Raises
    ------
    BugError from a backward pass that edits a block the network lacks; ParameterError for a dict that is
    not a network.
    """
    L = count_layers(parameters)
    sizes = [np.shape(parameters["W1"])[1]] + [np.shape(parameters[f"W{l}"])[0] for l in range(1, L + 1)]
    touched = set()
    for seed in range(4):
        rng = np.random.default_rng(seed)
        random = initialize_mlp(sizes, rng)
        X, Y = rng.standard_normal((sizes[0], 64)), np.tile([[1.0, 0.0]], 32)
        _, cache = mlp_forward(X, Y, random, lambd=lambd)
        right, wrong = reference(X, Y, cache), backward(X, Y, cache)
        touched.update(name for name in parameters if not np.array_equal(right["d" + name], wrong["d" + name]))
    return [name for name in parameters if name in touched]


def check_backward(backward, X=None, Y=None, parameters=None, lambd=0.0, **check_kwargs):
    """Run the gradient checker on a backward function, against the network's (regularized) cost.

    The cost is evaluated by the network's fast evaluator (``fastcheck.check_mlp_gradients``: one forward
    pass reused for every perturbed entry, kinks propagated exactly), about 20 times faster than a forward
    pass per evaluation on the catalogue's checks, with the same verdicts; the complex step, and parameters
    that are not float64, go through ``mlp_forward`` once per evaluation.

    Parameters
    ----------
    backward : callable ``backward(X, Y, cache) -> gradients`` (e.g. from ``bugs.inject``); the cache is the
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
    if check_kwargs.get("method", "centered") != "complex" and all(
            np.asarray(value).dtype == np.float64 for value in parameters.values()):
        # the network's fast evaluator (fastcheck.MLPBatchedCost): the same cost, evaluated by reusing one
        # forward pass; a complex step or other dtypes go through the plain cost below
        return check_mlp_gradients(X, Y, parameters, gradients, lambd=lambd, **check_kwargs)
    return check_gradients(lambda p: mlp_forward(X, Y, p, lambd=lambd)[0], parameters, gradients,
                           **check_kwargs)


def written_out_bugs():
    """Names of the bugs ``written_out`` can put into the 3-layer code, in teaching order.

    Returns
    -------
    list of str

    Raises
    ------
    Nothing: the catalogue is fixed.
    """
    return [name for name, bug in _catalogue().CATALOGUE.items() if bug.written]


def resolve(bugs):
    """The bugs named: a tuple of ``bugs.Bug`` from a name, a Bug, or a list of them ("correct" means no bug).

    Parameters
    ----------
    bugs : str, Bug, or list of them: catalogue names (see ``bugs.bug_names()``), ``bugs.scale_bug(...)``
        objects, or "correct" / [] / None for no bug

    Returns
    -------
    tuple of Bug

    Raises
    ------
    BugError naming the valid bugs for an unknown name, a bug listed twice or something that is no bug.
    """
    Bug, CATALOGUE = _catalogue().Bug, _catalogue().CATALOGUE
    try:
        items = [bugs] if isinstance(bugs, (str, Bug)) else list(bugs or [])
    except TypeError:
        raise BugError(f"bugs must be a name, a Bug, or a list of them, got {type(bugs).__name__}") from None
    out = []
    for item in items:
        if isinstance(item, Bug) or (isinstance(item, str) and item in CATALOGUE):
            out.append(item if isinstance(item, Bug) else CATALOGUE[item])
        elif item != "correct":
            raise BugError(f"unknown bug {item!r}; valid names are 'correct' and {', '.join(CATALOGUE)} "
                           f"(or a scale_bug('W2', k))")
    names = [b.name for b in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BugError(f"bug {twice[0]!r} is listed twice; list each bug once")
    return tuple(out)


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
    resolved = resolve(bugs)
    pairs = [(b.name, b.edits) for b in resolved]
    return apply_edits(_catalogue().BACKWARD, pairs, name or function_name([b.name for b in resolved]))


def inject(bugs):
    """A backward function with the given bug(s) planted: the compiled ``source(bugs)``.

    Parameters
    ----------
    bugs : str, Bug, or list of them: catalogue names (see ``bug_names()``), ``scale_bug(...)`` objects,
        or "correct" / [] for no bug

    Returns
    -------
    backward : callable ``backward(X, Y, cache) -> gradients`` with the signature of ``backward_propagation_n``
        and ``mlp_backward``: X (n_0, m), Y (1, m), cache from either forward pass; gradients dict dW1 (n_1, n_0),
        db1 (n_1, 1), ..., dWL, dbL. The planted bugs are in its attribute ``bugs`` (tuple of Bug).

    Raises
    ------
    BugError naming the valid bugs when a name is unknown, or when two bugs edit the same line.
    """
    resolved = resolve(bugs)
    return compile_backward(source(resolved), resolved)


def written_out(bugs=(), name="backward_propagation_n"):
    """Source code of the 3-layer backward pass, written out line by line, with the bug(s) planted.

    The code is ``models.backward_propagation_n``, the one students read (``dZ3 = A3 - Y``, ``dW3 = dZ3 @ A2.T / m``,
    ...), with the bugs' ``written`` lines in place; it uses ``np`` and unpacks the tuple cache of
    ``forward_propagation_n``. Executed, it computes exactly what ``inject(bugs)`` computes on a 3-layer network
    without L2.

    Parameters
    ----------
    bugs : str or list of str, names from ``written_out_bugs()`` ([] for the correct code)
    name : str, the function's name

    Returns
    -------
    str, a function definition

    Raises
    ------
    BugError for a bug that is not written out, two bugs that rewrite one line, or a bad name.
    """
    resolved = resolve(bugs)
    if not name.isidentifier():
        raise BugError(f"name must be a Python identifier, got {name!r}")
    missing = [b.name for b in resolved if not b.written]
    if missing:
        raise BugError(f"bug {missing[0]!r} is not written out as code; choose from {', '.join(written_out_bugs())}")
    return apply_edits(taught_lines(backward_propagation_n), [(b.name, b.written) for b in resolved], name)


def bugs_lambd(bugs):
    """The L2 strength a check needs to show the bug(s): the largest ``lambd`` among them (float).

    Parameters
    ----------
    bugs : str, Bug, or list of them (as for ``inject``)

    Raises
    ------
    BugError for an unknown bug.
    """
    return max((b.lambd for b in resolve(bugs)), default=0.0)


def touched_blocks(bugs, parameters):
    """Blocks whose gradient the bug(s) make wrong on a network of these parameters' shapes.

    Parameters
    ----------
    bugs : str, Bug, or list of them (as for ``inject``)
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., WL, bL

    Returns
    -------
    list of str, in the parameters' order (e.g. ["b1", "W2"]): the blocks where the bugged pass and ``correct``
    differ on four random networks of these shapes (with the bugs' L2 strength)

    Raises
    ------
    BugError (unknown bug, or a bug that needs more layers); ParameterError for a dict that is not a network.
    """
    resolved = resolve(bugs)
    return blocks_changed(inject(resolved), _catalogue().correct, parameters, bugs_lambd(resolved))


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

    Raises
    ------
    BugError for an unknown bug; what ``check_backward`` raises.
    """
    lambd = bugs_lambd(bugs) if lambd is None else lambd
    return check_backward(inject(bugs), X, Y, parameters, lambd=lambd, **check_kwargs)
