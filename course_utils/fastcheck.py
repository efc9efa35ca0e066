"""Machinery of the gradient checker; a student does not need this module: the network's fast evaluator.

The classic check evaluates the cost twice per parameter, each time with a full forward pass. This module
evaluates the network's cost at *many* perturbed parameter vectors at once, and exploits the structure of
the network for perturbations of single entries:

* a perturbation ``delta`` of ``W_l[i, j]`` (or ``b_l[i]``) leaves every layer below l unchanged, and
  changes only row i of ``Z_l``, by ``delta * A_{l-1}[j, :]`` (by ``delta`` for the bias);
* so only row i of ``A_l`` changes, and ``Z_{l+1}`` changes by the rank-1 term
  ``W_{l+1}[:, i] (outer) dA_l[i, :]``; only the layers above need full matrix products.

The cached activations of one forward pass are reused for every entry, and a chunk of entries is
propagated together, stacked along an axis, in one matrix product per layer.

Going further, the layers above l are linear maps and ReLUs, so the output logits are an *exactly*
linear function of Z_l[i, t] as long as no ReLU changes side: ZL[t] + G_l[i, t] * dZ[t], with
G_l = dZL / dZ_l from one backward pass at theta. A conservative radius per unit and example (its own
margin |Z_l[i, t]| and the smallest margin of every layer above, divided by a bound on the gain) tells
when a step provably flips nothing; then an entry costs O(m) operations (the cross-entropy itself is
evaluated exactly, not linearised). Steps that may flip a ReLU (near a kink) are propagated as above, so
kinks are seen exactly as the plain loop sees them. Tests compare every path with full forward passes.

``MLPBatchedCost`` implements the evaluator interface of ``check_gradients(..., batched_cost=...)``
(``checker_engine.BatchedCost``). It starts from one forward pass of ``models.mlp_forward`` (the
network's own code) and offers three evaluations, all returning costs shaped (k,):

* ``batched(thetas)``: the cost at k full parameter vectors, shape (k, n) (generic, no structure used);
* ``entry_costs(indices, deltas)``: the cost at theta + deltas[j] * e_{indices[j]} (structured);
* ``direction_costs(blocks, step, centered=True)``: the costs at theta + step * v and theta - step * v for k directions
  given block by block (used by the random-direction check; never builds (k, n) parameter stacks).

Shapes: X (n_0, m), Y (1, m), W_l (n_l, n_{l-1}), b_l (n_l, 1), theta (n,).
"""

import numpy as np

from course_utils.activations import relu
from course_utils.checker_engine import BatchedCost
from course_utils.gradcheck import check_gradients
from course_utils.layers import cross_entropy_costs
from course_utils.models import mlp_costs, mlp_forward
from course_utils.parameters import ParameterError, layout_of

__all__ = ["MLPBatchedCost", "check_mlp_gradients"]

#: Memory budget of one batched evaluation (bytes of the largest intermediate array).
DEFAULT_MAX_BYTES = 64 * 2**20

#: Up to this many parameters, ``entry_costs`` stacks whole perturbed vectors and runs one batched forward
#: pass (a few array operations in all); above, it propagates each block's perturbations from its layer up
#: (fewer operations per entry, but a few array operations per block).
DENSE_MAX_PARAMETERS = 2_000


class MLPBatchedCost(BatchedCost):
    """The cost of the L-layer network (``models.mlp_forward``) at many parameter vectors at once.

    Build it at the parameters you check: it caches one forward pass there.

    Parameters
    ----------
    X : ndarray, shape (n_0, m)
    Y : ndarray, shape (1, m) (or (m,))
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., WL (1, n_{L-1}), bL (1, 1)
    lambd : float, L2 strength (as in ``mlp_forward``)
    stable_cost : bool, as in ``mlp_forward``
    max_bytes : int, memory budget of the largest intermediate array of one evaluation; larger batches
        are split into pieces that fit
    dense_max : int, networks with at most this many parameters evaluate single-entry perturbations as
        whole stacked vectors (fewer array operations); larger ones layer by layer (fewer flops)
    linear : bool, use the exact piecewise linearity of the ReLU layers (see ``entry_costs``) for entries
        whose step provably flips no ReLU; False always propagates the change layer by layer

    Attributes
    ----------
    layout : Layout of the parameters; theta : ndarray (n,), the point of the cached pass;
    cost0 : float, the cost there; m : int, number of examples
    """

    def __init__(self, X, Y, parameters, lambd=0.0, stable_cost=False, max_bytes=DEFAULT_MAX_BYTES,
                 dense_max=DENSE_MAX_PARAMETERS, linear=True):
        cost, cache = mlp_forward(X, Y, parameters, lambd=lambd, stable_cost=stable_cost)  # the network's own pass
        self._layers = cache["layers"]  # layer l at index l - 1: A_prev, W, b, Z, A (what the evaluations reuse)
        X, Y, L = self._layers[0]["A_prev"], cache["Y"], len(self._layers)  # validated: X (n_0, m), Y (1, m)
        if np.iscomplexobj(X) or any(np.iscomplexobj(layer["W"]) or np.iscomplexobj(layer["b"]) for layer in self._layers):
            raise ParameterError("MLPBatchedCost works with real parameters; use the plain check for method='complex'")
        self.X, self.Y, self.L, self.m = X, Y, L, X.shape[1]
        self.lambd, self.stable = float(lambd), bool(stable_cost)
        self.max_bytes, self.dense_max, self.linear = int(max_bytes), int(dense_max), bool(linear)
        # ||W_l||^2 of every layer (only the L2 term needs them)
        self._squares = [float(np.sum(layer["W"] ** 2)) for layer in self._layers] if lambd else []
        self.cost0 = float(cost)
        self.layout = layout_of(parameters)
        self.theta = np.concatenate([np.asarray(parameters[k], dtype=np.float64).reshape(-1)
                                     for k in self.layout.names])  # shape (n,)
        self._WX = None  # W_1 X, shape (n_1, m), computed when a direction check first needs it
        self._regions = None  # (gains, radius) of the linear regions, computed when first needed
        # Where every block of theta lives: (layer number l, "W" or "b", start offset, stop offset).
        starts = self.layout.starts
        self._blocks = [(int(name[1:]), name[0], starts[b], starts[b + 1]) for b, name in enumerate(self.layout.names)]
        self._starts = np.array(starts[:-1])  # shape (B,)
        self._widest = max(layer["W"].shape[0] for layer in self._layers)  # widest layer
        # vectors per piece of ``batched`` (a (k, n) stack and the widest (k, n_l, m) activations fit max_bytes)
        self._dense_piece = max(1, self.max_bytes // (8 * (self.layout.size + self._widest * self.m)))

    # -----------------------------------------------------------------------------------------------
    # helpers
    # -----------------------------------------------------------------------------------------------

    def _linear_regions(self):
        """Per hidden unit and example: how the logit moves with Z_l[i, t], and how far it may move.

        Above layer l the network is a composition of linear maps and ReLUs, so as long as no ReLU changes
        side the output logit is an exactly linear function of Z_l[i, t]: ZL[t] + G_l[i, t] * dZ[t]. The
        radius R_l[i, t] is a conservative bound on |dZ[t]| that keeps every ReLU on its side: the unit's
        own margin |Z_l[i, t]|, and for every hidden layer u above, its smallest margin min_v |Z_u[v, t]|
        divided by a bound on the gain from (l, i) to layer u (max_v |W_{l+1}[v, i]| times the inf-norms
        of the weight matrices in between).

        Returns
        -------
        gains : list of L ndarrays, layer l at index l - 1, shape (n_l, m): G_l = dZL / dZ_l per example
        radius : list of L ndarrays (n_l, m) (inf at the output layer, which has no ReLU)
        """
        layers, L, m = self._layers, self.L, self.m
        gains = [None] * L
        gains[L - 1] = np.ones((1, m))
        for l in range(L - 1, 0, -1):
            gains[l - 1] = (layers[l - 1]["Z"] > 0) * (layers[l]["W"].T @ gains[l])  # shape (n_l, m)
        radius = [None] * L
        radius[L - 1] = np.full((1, m), np.inf)
        for l in range(1, L):
            r = np.abs(layers[l - 1]["Z"])  # own margin, shape (n_l, m)
            gain = np.max(np.abs(layers[l]["W"]), axis=0)  # shape (n_l,): bound on |dZ_{l+1}| per |dZ_l[i]|
            for u in range(l + 1, L):  # hidden layers above (each with a ReLU)
                margin = np.min(np.abs(layers[u - 1]["Z"]), axis=0)  # shape (m,)
                with np.errstate(divide="ignore", invalid="ignore"):
                    r = np.minimum(r, np.where(gain[:, None] > 0, margin[None, :] / gain[:, None], np.inf))
                gain = gain * np.max(np.sum(np.abs(layers[u]["W"]), axis=1))  # times ||W_{u+1}||_inf
            radius[l - 1] = r
        return gains, radius

    def _l2(self, extra):
        """L2 term lambd / (2 m) * (sum_l ||W_l||^2 + extra); extra broadcasts (k,)."""
        if not self.lambd:
            return 0.0
        return self.lambd / (2 * self.m) * (sum(self._squares) + extra)

    def _batch_limit(self, width):
        """How many (width, m) float64 slices fit in the memory budget (at least 1)."""
        return max(1, self.max_bytes // (8 * max(width, 1) * self.m))

    def _propagate(self, l, Z):
        """Cost from a stack of pre-activations of layer l.

        Parameters
        ----------
        l : int, the layer of Z (1..L)
        Z : ndarray, shape (n_l, k, m): k perturbed versions of Z_l

        Returns
        -------
        ZL : ndarray, shape (k, m): the output logits
        """
        n_l, k, m = Z.shape
        for upper in range(l + 1, self.L + 1):
            layer = self._layers[upper - 1]
            A = relu(Z).reshape(n_l, k * m)  # shape (n_{upper-1}, k m)
            Z = (layer["W"] @ A).reshape(-1, k, m) + layer["b"][:, :, None]  # shape (n_upper, k, m)
            n_l = Z.shape[0]
        return Z[0]  # shape (k, m)

    # -----------------------------------------------------------------------------------------------
    # the three evaluations
    # -----------------------------------------------------------------------------------------------

    def batched(self, thetas):
        """Costs at k full parameter vectors (no structure used beyond batching).

        Parameters
        ----------
        thetas : ndarray, shape (k, n)

        Returns
        -------
        costs : ndarray, shape (k,)
        """
        thetas = np.asarray(thetas)
        if thetas.ndim != 2 or thetas.shape[1] != self.layout.size:
            raise ParameterError(f"thetas must have shape (k, {self.layout.size}), got {thetas.shape}")
        k = thetas.shape[0]
        step = self._dense_piece  # vectors per piece
        if k <= step:
            return self._batched(thetas)
        out = np.empty(k)
        for start in range(0, k, step):
            out[start:start + step] = self._batched(thetas[start:start + step])
        return out

    def _batched(self, thetas):
        return mlp_costs(self.X, self.Y, thetas, self.layout, self.lambd, self.stable)  # shape (k,)

    def entry_costs(self, indices, deltas):
        """Costs at theta + deltas[j] * e_{indices[j]}, one entry perturbed per evaluation.

        Small networks (at most ``dense_max`` parameters) stack whole perturbed vectors. Larger ones use
        the structure: a step of W_l[i, j] changes row i of Z_l by delta * A_{l-1}[j, :]. When it provably
        flips no ReLU, the logits move exactly linearly, ZL + G_l[i, :] * dZ (see ``_linear_regions``):
        O(m) work. Otherwise the change is propagated: row i of A_l, a rank-1 update of Z_{l+1}, then full
        products above. Both agree with a full forward pass within round-off.

        Parameters
        ----------
        indices : ndarray of int, shape (k,): entries of theta
        deltas : ndarray, shape (k,): the step added to each (the step actually taken in the dtype)

        Returns
        -------
        costs : ndarray, shape (k,)
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        deltas = np.asarray(deltas, dtype=np.float64).reshape(-1)
        if indices.shape != deltas.shape:
            raise ParameterError(f"indices {indices.shape} and deltas {deltas.shape} must have the same shape")
        if indices.size and (indices.min() < 0 or indices.max() >= self.layout.size):
            raise ParameterError(f"indices must lie in [0, {self.layout.size}), got {indices.min()}..{indices.max()}")
        if self.layout.size <= self.dense_max:
            thetas = np.repeat(self.theta[None, :], indices.size, axis=0)  # shape (k, n)
            thetas[np.arange(indices.size), indices] += deltas
            return self.batched(thetas) if indices.size > self._dense_piece else self._batched(thetas)
        out = np.empty(indices.size)
        block_of = np.searchsorted(self._starts, indices, side="right") - 1  # shape (k,)
        for b in np.unique(block_of):
            where = np.flatnonzero(block_of == b)
            l, kind, start, _ = self._blocks[b]
            width = max((self._layers[u - 1]["W"].shape[0] for u in range(l + 1, self.L + 1)), default=1)
            step = self._batch_limit(width)
            for s in range(0, where.size, step):
                w = where[s:s + step]
                out[w] = self._entry_block(l, kind, indices[w] - start, deltas[w])
        return out

    def _entry_block(self, l, kind, offsets, deltas):
        """Costs for perturbations of entries of one block (W_l or b_l), given by offsets in the block.

        offsets (k,) int, deltas (k,) float64 -> costs (k,)."""
        layer = self._layers[l - 1]
        n_l, n_prev = layer["W"].shape
        if kind == "W":
            rows, cols = np.divmod(offsets, n_prev)  # shapes (k,)
            dZ = deltas[:, None] * layer["A_prev"][cols, :]  # shape (k, m)
        else:
            rows = offsets
            dZ = np.broadcast_to(deltas[:, None], (deltas.size, self.m))  # shape (k, m)
        if l == self.L:  # the output layer has one unit, so rows == 0
            ZL = layer["Z"][rows, :] + dZ  # shape (k, m): the perturbed row of Z_L
        else:
            ZL = self._logits(l, rows, dZ)  # shape (k, m)
        costs = cross_entropy_costs(ZL, self.Y, self.stable)  # shape (k,)
        if not self.lambd:
            return costs
        l2 = 2 * layer["W"][rows, cols] * deltas + deltas ** 2 if kind == "W" else np.zeros(deltas.size)  # (k,)
        return costs + self._l2(l2)  # l2: the change of ||W_l||^2

    def _logits(self, l, rows, dZ):
        """Output logits (k, m) when rows ``rows`` (k,) of Z_l (a hidden layer, l < L) move by dZ (k, m)."""
        if self.linear and self._regions is None:
            gains, radius = self._linear_regions()
            self._regions = gains, [0.5 * r for r in radius]  # half the radius leaves room for round-off
        gains, half_radius = self._regions if self.linear else (None, None)
        # Steps that provably flip no ReLU: exactly linear. The rest is propagated layer by layer.
        safe = (np.all(np.abs(dZ) < half_radius[l - 1][rows, :], axis=1) if self.linear
                else np.zeros(rows.size, dtype=bool))  # shape (k,)
        if self.linear and safe.all():  # the common case: no boolean indexing
            return self._layers[-1]["Z"][0] + gains[l - 1][rows, :] * dZ
        ZL = np.empty(dZ.shape)  # shape (k, m)
        if safe.any():
            ZL[safe] = self._layers[-1]["Z"][0] + gains[l - 1][rows[safe], :] * dZ[safe]
        rest = ~safe
        layer, upper = self._layers[l - 1], self._layers[l]
        Z_row = layer["Z"][rows[rest], :] + dZ[rest]  # shape (r, m): the perturbed rows of Z_l
        dA = relu(Z_row) - layer["A"][rows[rest], :]  # shape (r, m): change of row i of A_l
        # Z_{l+1} + W_{l+1}[:, i] (outer) dA: shape (n_{l+1}, r, m)
        Z = upper["Z"][:, None, :] + upper["W"][:, rows[rest]][:, :, None] * dA[None, :, :]
        ZL[rest] = self._propagate(l + 1, Z)
        return ZL

    def direction_costs(self, blocks, step, centered=True):
        """Costs at theta + step * v and theta - step * v for k directions v (both sides, always).

        Uses (W + s V) A = W A + s V A: the product with the unperturbed weights is shared by both signs.

        Parameters
        ----------
        blocks : dict name -> ndarray of shape (k,) + the parameter's shape: the directions, block by block
            (float32 or float64; products with them are computed in float64)
        step : float, or ndarray (k,): the step along each direction
        centered : bool, unused (the minus side costs almost nothing more: it shares W A)

        Returns
        -------
        plus, minus : ndarrays, shape (k,)
        """
        k = next(iter(blocks.values())).shape[0]
        m = self.m
        step = np.broadcast_to(np.asarray(step, dtype=np.float64), (k,))  # shape (k,)
        sign = np.concatenate([np.ones(m), -np.ones(m)])  # shape (2m,): + columns, then - columns
        signed = step[:, None, None] * sign  # shape (k, 1, 2m)
        A = None  # shape (k, n_{l-1}, 2m) once perturbed
        squares = np.zeros((k, 2))  # change of sum_l ||W_l||^2 for +, -
        for l in range(1, self.L + 1):
            layer = self._layers[l - 1]
            V = np.asarray(blocks[f"W{l}"], dtype=np.float64)  # shape (k, n_l, n_{l-1})
            vb = np.asarray(blocks[f"b{l}"], dtype=np.float64)  # shape (k, n_l, 1)
            if A is None:
                if self._WX is None:
                    self._WX = layer["W"] @ self.X  # shape (n_1, m)
                VA = (V.reshape(-1, V.shape[2]) @ self.X).reshape(k, -1, m)  # shape (k, n_l, m)
                VA = np.concatenate([VA, VA], axis=2)  # shape (k, n_l, 2m)
                WA = np.concatenate([self._WX, self._WX], axis=1)[None]  # W_1 X, shape (1, n_1, 2m)
            else:
                VA = V @ A  # shape (k, n_l, 2m)
                WA = layer["W"] @ A  # shape (k, n_l, 2m)
            Z = WA + layer["b"] + signed * (VA + vb)  # shape (k, n_l, 2m)
            if self.lambd:
                cross = np.einsum("kij,ij->k", V, layer["W"])  # W . V, shape (k,)
                vv = np.einsum("kij,kij->k", V, V)  # ||V||^2, shape (k,)
                squares += np.stack([2 * step * cross, -2 * step * cross], axis=1) + (step ** 2 * vv)[:, None]  # (k, 2)
            A = relu(Z) if l < self.L else Z
        ZL = A[:, 0, :]  # shape (k, 2m)
        costs = np.stack([cross_entropy_costs(ZL[:, :m], self.Y, self.stable),
                          cross_entropy_costs(ZL[:, m:], self.Y, self.stable)], axis=1)  # shape (k, 2)
        if self.lambd:
            costs = costs + self._l2(squares)
        return costs[:, 0], costs[:, 1]

    def __call__(self, thetas):
        """Same as ``batched``: costs at k parameter vectors, thetas of shape (k, n) -> (k,)."""
        return self.batched(thetas)


def check_mlp_gradients(X, Y, parameters, gradients, lambd=0.0, stable_cost=False, **check_kwargs):
    """Fast gradient check of the L-layer network's gradients (``check_gradients`` with ``MLPBatchedCost``).

    Parameters
    ----------
    X : ndarray, shape (n_0, m)
    Y : ndarray, shape (1, m)
    parameters : dict W1 (n_1, n_0), b1 (n_1, 1), ..., WL (1, n_{L-1}), bL (1, 1)
    gradients : dict dW1, db1, ... of the parameters' shapes (the analytic gradients to check)
    lambd, stable_cost : as in ``models.mlp_forward``
    **check_kwargs : passed to ``gradcheck.check_gradients`` (mode, epsilon, threshold, progress, ...)

    Returns
    -------
    GradCheckReport

    Raises
    ------
    ParameterError when X, Y or the parameters do not form the network (from ``network.check_network_inputs``),
    or when they are complex (the fast evaluator works with real parameters).
    OptionError (a TypeError) for an unknown keyword in ``check_kwargs``; GradCheckError for invalid option
    values, gradients that do not match the parameters, or a cost that is not finite at a perturbed point.
    """
    batched = MLPBatchedCost(X, Y, parameters, lambd=lambd, stable_cost=stable_cost)
    return check_gradients(None, parameters, gradients, batched_cost=batched, **check_kwargs)
