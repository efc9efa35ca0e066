"""The benchmark's baseline is the classic check, and the runner finds every benchmark script."""

import numpy as np
import pytest

from benchmarks.__main__ import discover
from benchmarks.classic import gradient_check_classic
from course_utils.gradcheck import check_gradients
from course_utils.models import backward_propagation_n, forward_propagation_n
from course_utils.testcases import gradient_check_n_test_case


def test_classic_baseline_reproduces_the_original_assignment_number():
    """At epsilon = 1e-7 the original assignment reports a difference of about 1e-7 for correct backprop;
    the baseline computes the same centered differences as our checker at that step."""
    X, Y, parameters = gradient_check_n_test_case()
    _, cache = forward_propagation_n(X, Y, parameters)
    gradients = backward_propagation_n(X, Y, cache)
    cost = lambda p: forward_propagation_n(X, Y, p)[0]
    difference, gradapprox = gradient_check_classic(cost, parameters, gradients, epsilon=1e-7)
    assert 1e-8 < difference < 1e-6
    ours = check_gradients(cost, parameters, gradients, epsilon=1e-7, progress=False)
    np.testing.assert_allclose(gradapprox[:, 0], ours.numeric, rtol=0, atol=1e-8)
    assert difference == pytest.approx(ours.relative_difference, rel=1e-2)

    sample = np.array([3, 20, 46])
    part, approx = gradient_check_classic(cost, parameters, gradients, epsilon=1e-7, entries=sample)
    np.testing.assert_array_equal(approx[:, 0], gradapprox[sample, 0])  # a sample loops over those entries only


def test_runner_discovers_every_benchmark_script():
    names = discover()
    assert "bench_gradcheck" in names and all(n.startswith("bench_") for n in names)
