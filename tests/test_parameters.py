"""Parameters <-> vectors: exact round trips for any shapes (hypothesis), labels, and error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_utils.parameters import (
    Layout,
    ParameterError,
    dictionary_to_vector,
    gradients_to_vector,
    layout_of,
    vector_to_dictionary,
)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e300, max_value=1e300)


@st.composite
def parameter_dicts(draw):
    n_blocks = draw(st.integers(1, 5))
    names = draw(st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,4}", fullmatch=True),
                          min_size=n_blocks, max_size=n_blocks, unique=True))
    return {name: draw(hnp.arrays(np.float64, draw(shapes), elements=finite)) for name in names}


@settings(max_examples=150, deadline=None)
@given(parameter_dicts())
def test_round_trip_is_exact_for_any_shapes(parameters):
    theta, keys = dictionary_to_vector(parameters)
    n = sum(v.size for v in parameters.values())
    assert theta.shape == (n, 1) and len(keys) == n
    back = vector_to_dictionary(theta, layout_of(parameters))
    assert list(back) == list(parameters)
    for name in parameters:
        assert back[name].shape == parameters[name].shape
        np.testing.assert_array_equal(back[name], parameters[name])  # bit-exact, NaN-free by construction
    # a flat (n,) vector and the parameters dict itself work as inputs too
    back2 = vector_to_dictionary(theta.ravel(), parameters)
    for name in parameters:
        np.testing.assert_array_equal(back2[name], parameters[name])


@settings(max_examples=100, deadline=None)
@given(parameter_dicts())
def test_gradients_vector_follows_the_parameter_order_whatever_the_dict_order(parameters):
    gradients = {"d" + k: v * 2 + 1 for k, v in reversed(list(parameters.items()))}
    grad = gradients_to_vector(gradients, parameters)
    theta, _ = dictionary_to_vector(parameters)
    np.testing.assert_array_equal(grad, theta * 2 + 1)


def test_keys_name_every_entry_and_locate_inverts_label():
    parameters = {"W1": np.zeros((2, 3)), "b1": np.zeros((2, 1)), "W2": np.zeros((1, 2))}
    theta, keys = dictionary_to_vector(parameters)
    assert keys[:4] == ["W1[0, 0]", "W1[0, 1]", "W1[0, 2]", "W1[1, 0]"]
    assert keys[6] == "b1[0, 0]" and keys[-1] == "W2[0, 1]"
    layout = layout_of(parameters)
    for i, key in enumerate(keys):
        name, index = layout.locate(i)
        assert key == f"{name}[{', '.join(map(str, index))}]" == layout.label(i)
    assert list(layout.block_index()) == [0] * 6 + [1] * 2 + [2] * 2
    with pytest.raises(IndexError, match="outside theta"):
        layout.locate(10)


def test_vectors_are_copies_not_views():
    parameters = {"W": np.arange(6.0).reshape(2, 3)}
    theta, _ = dictionary_to_vector(parameters)
    theta[0] = 100.0
    assert parameters["W"][0, 0] == 0.0
    back = vector_to_dictionary(theta, parameters)
    theta[1] = -5.0
    assert back["W"][0, 1] == 1.0


def test_missing_gradient_is_named():
    parameters = {"W1": np.zeros((2, 2)), "b1": np.zeros((2, 1))}
    with pytest.raises(ParameterError, match=r"missing \['db1'\]"):
        gradients_to_vector({"dW1": np.zeros((2, 2))}, parameters)


def test_extra_gradient_key_is_named_with_the_fix():
    parameters = {"W1": np.zeros((2, 2))}
    with pytest.raises(ParameterError, match=r"\['dA1'\].*drop intermediate values"):
        gradients_to_vector({"dW1": np.zeros((2, 2)), "dA1": np.zeros((2, 3))}, parameters)


def test_gradient_shape_mismatch_is_named():
    parameters = {"W1": np.zeros((2, 3))}
    with pytest.raises(ParameterError, match=r"'dW1' has shape \(3, 2\) but parameter 'W1' has shape \(2, 3\)"):
        gradients_to_vector({"dW1": np.zeros((3, 2))}, parameters)


def test_wrong_theta_length_and_shape_are_explained():
    layout = Layout(("W",), ((2, 2),))
    with pytest.raises(ParameterError, match="has 3 entries but the layout"):
        vector_to_dictionary(np.zeros((3, 1)), layout)
    with pytest.raises(ParameterError, match=r"shape \(n, 1\) or \(n,\)"):
        vector_to_dictionary(np.zeros((2, 2)), layout)


@pytest.mark.parametrize("bad, message", [
    ([1, 2], "must be a dict"),
    ({}, "empty dict"),
    ({"W": np.array(["a", "b"])}, "dtype <U1; it must be a numeric array"),
    ({1: np.zeros(2)}, "names must be strings"),
])
def test_bad_parameter_dicts_are_explained(bad, message):
    with pytest.raises(ParameterError, match=message):
        dictionary_to_vector(bad)


def test_layout_argument_must_be_layout_or_dict():
    with pytest.raises(ParameterError, match="layout must be a Layout"):
        vector_to_dictionary(np.zeros(2), [2])
