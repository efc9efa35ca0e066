"""The network's cost takes shortcuts for speed (issue 14's 400x target); they must not change a single bit.

``layers.cross_entropy_costs`` takes one logarithm per entry when the labels are 0/1 and no output saturates,
and picks the sigmoid's branch with ``np.maximum``; ``network.count_layers`` reads plain keys without its
regular expression. Each is compared here with the general formula / the full pattern, written out in the
test as the code read before the shortcuts: same bits, same errors.
"""

import numpy as np
import pytest

from course_utils.activations import softplus
from course_utils.layers import cross_entropy_costs
from course_utils.network import count_layers
from course_utils.parameters import ParameterError


def general_costs(ZL, Y):
    """The textbook mean cross-entropy of each row, both logarithms everywhere, the logits form where the
    textbook loss is not finite (the formula before the shortcut), shape (k,)."""
    e = np.exp(-np.abs(ZL))
    A = np.where(ZL >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = -Y * np.log(A) - (1 - Y) * np.log(1 - A)
    losses = np.where(np.isfinite(losses), losses, softplus(ZL) - Y * ZL)
    return np.add.reduce(losses, axis=-1) / ZL.shape[-1]


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("labels", ["binary", "all zero", "soft"])
def test_cross_entropy_costs_equal_the_general_formula_bit_for_bit(dtype, labels):
    rng = np.random.default_rng(3)
    ZL = (rng.standard_normal((40, 12)) * np.array([0.1, 1, 3, 10, 30, 36, 37, 40, 100, 1, 1, 1])).astype(dtype)
    ZL[0, :4] = [0.0, -0.0, 1e-30, -1e-30]  # the sigmoid's branch point
    ZL[1, :] = -50.0  # a row whose every output is ~0: with Y = 0 every loss is exactly 0
    Y = {"binary": (rng.random((1, 12)) > 0.5) * 1.0, "all zero": np.zeros((1, 12)),
         "soft": rng.random((1, 12))}[labels]
    with np.errstate(over="ignore"):
        expected = general_costs(ZL, Y)
        assert same_bits(cross_entropy_costs(ZL, Y), expected)
        assert same_bits(cross_entropy_costs(ZL, Y.reshape(-1)), expected)  # labels of shape (m,)
    saturated = ZL.copy()
    saturated[2, 0], saturated[3, 1] = 800.0 if dtype == np.float64 else 60.0, -800.0 if dtype == np.float64 else -60.0
    with np.errstate(over="ignore"):
        assert same_bits(cross_entropy_costs(saturated, Y), general_costs(saturated, Y))  # the logits form there


@pytest.mark.parametrize("keys, words", [
    (["W1", "b1", "W2"], "missing ['b2']"),
    (["W1\n", "b1"], "missing ['W1']"),  # the full pattern's $ accepts a final newline: read as before
    (["W01", "b01"], "has keys ['W01', 'b01']"),
    (["W\u0661", "b1"], "has keys ['W\u0661']"),  # a non-ASCII digit is not a layer number
    (["W1", "b1", "x"], "has keys ['x']"),
    (["W1", "b1", "W3", "b3"], "missing ['W2', 'b2']"),
])
def test_count_layers_reads_odd_keys_as_its_full_pattern_does(keys, words):
    with pytest.raises(ParameterError) as info:
        count_layers(dict.fromkeys(keys, 0.0))
    assert words in str(info.value)


def test_count_layers_counts_plain_keys():
    assert count_layers({"W1": 0, "b1": 0, "W2": 0, "b2": 0, "W3": 0, "b3": 0}) == 3
    assert count_layers({f"{p}{l}": 0 for l in range(1, 12) for p in "bW"}) == 11
