"""Fast checks: batched evaluation agrees with the plain loop, chunking is invisible, progress bars appear
only on long checks, sparse / random / auto modes, and detection of every catalogued bug."""

import time

import numpy as np
import pytest

from course_utils import checker_progress, gradcheck
from course_utils.bugs import bug_names, bugs_lambd, inject, touched_blocks
from course_utils.fastcheck import MLPBatchedCost, check_mlp_gradients
from course_utils.checker_judge import ROUNDOFF_FACTOR
from course_utils.checker_random import draw_direction, miss_probability
from course_utils.gradcheck import GradCheckError, check_gradients
from course_utils.models import backward_propagation_n, forward_propagation_n, initialize_mlp, mlp_backward, mlp_forward
from course_utils.parameters import layout_of, vector_to_dictionary
from course_utils.testcases import gradient_check_n_test_case


def make_net(sizes, m, seed, lambd=0.0):
    """A random network, data, its correct gradients and its plain cost."""
    rng = np.random.default_rng(seed)
    parameters = initialize_mlp(sizes, rng)
    X = rng.standard_normal((sizes[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(float)
    _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
    gradients = mlp_backward(X, Y, cache)
    cost = lambda p: mlp_forward(X, Y, p, lambd=lambd)[0]
    return X, Y, parameters, gradients, cost


def floor_of(report, J0):
    """The checker's own round-off floor of every checked entry, shape (s,)."""
    return ROUNDOFF_FACTOR * np.finfo(float).eps * abs(J0) / report.epsilon


# ---------------------------------------------------------------------------------------------------
# The batched evaluator against the plain forward pass
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes,lambd,stable", [([4, 5, 3, 1], 0.0, False), ([3, 7, 5, 4, 1], 0.7, False),
                                                ([6, 1], 0.3, True), ([5, 6, 1], 0.0, True)])
@pytest.mark.parametrize("dense_max,linear", [(0, True), (0, False), (10_000, True)])  # dense_max 0: structured
@pytest.mark.parametrize("scale", [1e-6, 1e-3, 0.3])  # steps that flip no ReLU, a few, many
def test_every_batched_evaluation_equals_the_forward_pass(sizes, lambd, stable, dense_max, linear, scale):
    X, Y, parameters, _, _ = make_net(sizes, 9, seed=len(sizes), lambd=lambd)
    f = MLPBatchedCost(X, Y, parameters, lambd=lambd, stable_cost=stable, dense_max=dense_max, linear=linear)
    rng = np.random.default_rng(0)
    n = f.layout.size
    plain = lambda theta: mlp_forward(X, Y, vector_to_dictionary(theta, f.layout), lambd=lambd,
                                      stable_cost=stable)[0]
    tol = 1e3 * np.finfo(float).eps * abs(f.cost0)
    assert f.cost0 == pytest.approx(plain(f.theta), abs=tol)

    indices = rng.integers(0, n, size=40)
    deltas = rng.standard_normal(40) * scale
    expected = [plain(f.theta + d * np.eye(n)[i]) for i, d in zip(indices, deltas)]
    np.testing.assert_allclose(f.entry_costs(indices, deltas), expected, rtol=0, atol=tol)  # one entry each

    thetas = f.theta + rng.standard_normal((5, n)) * 1e-2
    np.testing.assert_allclose(f.batched(thetas), [plain(t) for t in thetas], rtol=0, atol=tol)

    V = rng.standard_normal((3, n))
    blocks = {name: V[:, sl].reshape((3,) + shape) for (name, sl), shape in zip(f.layout.slices().items(), f.layout.shapes)}
    plus, minus = f.direction_costs(blocks, 1e-3)
    np.testing.assert_allclose(plus, [plain(f.theta + 1e-3 * v) for v in V], rtol=0, atol=tol)
    np.testing.assert_allclose(minus, [plain(f.theta - 1e-3 * v) for v in V], rtol=0, atol=tol)


@pytest.mark.parametrize("seed,sizes", [(0, [4, 5, 3, 1]), (1, [3, 6, 4, 1]), (2, [5, 4, 4, 3, 1])])
@pytest.mark.parametrize("lambd", [0.0, 0.7])
def test_vectorised_check_agrees_with_the_loop_entry_by_entry(seed, sizes, lambd):
    """Every numeric derivative agrees with the plain loop's within the round-off floor of the step."""
    X, Y, parameters, gradients, cost = make_net(sizes, 11, seed, lambd)
    loop = check_gradients(cost, parameters, gradients, progress=False)
    for batched in (MLPBatchedCost(X, Y, parameters, lambd=lambd, dense_max=0),  # structured
                    MLPBatchedCost(X, Y, parameters, lambd=lambd),  # dense stacks
                    lambda thetas: np.array([cost(vector_to_dictionary(t, layout_of(parameters))) for t in thetas])):
        fast = check_gradients(cost, parameters, gradients, batched_cost=batched, progress=False)
        J0 = cost(parameters)
        assert np.all(np.abs(fast.numeric - loop.numeric) <= floor_of(loop, J0))
        assert fast.verdict == loop.verdict == "passed"
        # 2s + 1, plus the noise measurement (issue 14: a repeat and a 6-point table, more when it is flat)
        assert fast.n_evaluations == loop.n_evaluations == 2 * loop.indices.size + 1 + loop.noise.evaluations
        assert {b.name for b in fast.blocks} == {b.name for b in loop.blocks}


def test_linear_regions_never_hide_a_crossed_kink():
    """A step across a ReLU kink is propagated, not extrapolated: the kink report matches the loop's."""
    X, Y, parameters, gradients, cost = make_net([4, 6, 5, 1], 6, seed=16)
    _, cache = mlp_forward(X, Y, parameters)
    Z1 = cache["layers"][0]["Z"]
    i, t = np.unravel_index(np.argmin(np.abs(Z1)), Z1.shape)
    parameters = dict(parameters, b1=parameters["b1"].copy())
    parameters["b1"][i, 0] -= Z1[i, t] - 1e-9  # unit i of layer 1 now sits 1e-9 from its kink on example t
    _, cache = mlp_forward(X, Y, parameters)
    gradients = mlp_backward(X, Y, cache)
    loop = check_gradients(cost, parameters, gradients, progress=False)
    fast = check_gradients(cost, parameters, gradients, batched_cost=MLPBatchedCost(X, Y, parameters, dense_max=0),
                           progress=False)
    assert [e.label for e in loop.kinks] == [e.label for e in fast.kinks] and loop.kinks
    assert np.all(np.abs(fast.numeric - loop.numeric) <= floor_of(loop, cost(parameters)))


def test_vectorised_check_finds_the_same_wrong_entries_as_the_loop():
    X, Y, parameters, gradients, cost = make_net([4, 5, 3, 1], 7, seed=4)
    wrong = dict(gradients, dW2=gradients["dW2"].copy())
    wrong["dW2"][1, 3] *= 1.5
    loop = check_gradients(cost, parameters, wrong, progress=False)
    fast = check_mlp_gradients(X, Y, parameters, wrong, progress=False)
    assert loop.verdict == fast.verdict == "failed"
    assert loop.worst[0].label == fast.worst[0].label == "W2[1, 3]"
    assert loop.failing_blocks() == fast.failing_blocks() == ["W2"]


def test_classic_test_case_gives_the_same_report_both_ways():
    X, Y, parameters = gradient_check_n_test_case()
    _, cache = forward_propagation_n(X, Y, parameters)
    gradients = backward_propagation_n(X, Y, cache)
    loop = check_gradients(lambda p: forward_propagation_n(X, Y, p)[0], parameters, gradients, progress=False)
    fast = check_mlp_gradients(X, Y, parameters, gradients, progress=False)
    assert fast.passed and loop.passed
    assert fast.relative_difference == pytest.approx(loop.relative_difference, rel=1e-3)


# ---------------------------------------------------------------------------------------------------
# Chunking
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64, 10_000])
def test_chunk_size_does_not_change_the_answer(chunk_size):
    X, Y, parameters, gradients, cost = make_net([5, 6, 4, 1], 8, seed=5)
    reference = check_mlp_gradients(X, Y, parameters, gradients, progress=False, chunk_size=3)
    J0 = cost(parameters)
    for max_bytes in (1, 10**9):  # the evaluator's own memory budget: one slice at a time, or all at once
        f = MLPBatchedCost(X, Y, parameters, dense_max=0, max_bytes=max_bytes)
        report = check_gradients(None, parameters, gradients, batched_cost=f, chunk_size=chunk_size, progress=False)
        assert np.all(np.abs(report.numeric - reference.numeric) <= floor_of(reference, J0) / 10)
        assert report.verdict == reference.verdict and report.n_evaluations == reference.n_evaluations


@pytest.mark.parametrize("chunk_size", [1, 5, 48])
def test_chunk_size_does_not_change_a_random_direction_check(chunk_size):
    X, Y, parameters, gradients, cost = make_net([5, 6, 4, 1], 8, seed=6)
    f = MLPBatchedCost(X, Y, parameters)
    reference = check_gradients(cost, parameters, gradients, mode="random", directions=12, rng=3, progress=False)
    report = check_gradients(None, parameters, gradients, batched_cost=f, mode="random", directions=12, rng=3,
                             chunk_size=chunk_size, progress=False)
    np.testing.assert_array_equal(report.directions, reference.directions)  # the same draws
    np.testing.assert_allclose(report.analytic, reference.analytic, rtol=1e-12)
    floor = ROUNDOFF_FACTOR * np.finfo(float).eps * abs(cost(parameters)) / reference.epsilon
    assert np.all(np.abs(report.numeric - reference.numeric) <= floor)
    assert report.n_evaluations == reference.n_evaluations == 2 * 12 + 1  # a clear pass: no noise table


# ---------------------------------------------------------------------------------------------------
# Progress bar
# ---------------------------------------------------------------------------------------------------

def test_a_small_check_shows_no_bar_however_slow_and_a_big_one_does(capsys, monkeypatch):
    X, Y, parameters, gradients, cost = make_net([4, 5, 3, 1], 5, seed=7)

    def slow_cost(p):  # a stalled machine: every evaluation takes 20 ms, 94 of them about 2 s
        time.sleep(0.02)
        return cost(p)

    report = check_gradients(slow_cost, parameters, gradients)
    assert report.passed
    assert capsys.readouterr().err == ""  # the rule counts work, so a slow machine shows no bar
    # The same check counted as big (the threshold lowered to its own work) shows one: 2n steps.
    n = (report.n_evaluations - report.noise.evaluations) // 2
    monkeypatch.setattr(checker_progress, "PROGRESS_MIN_WORK", 2 * n * n)
    check_gradients(cost, parameters, gradients)
    err = capsys.readouterr().err
    assert "gradient check" in err and f"/{2 * n} [" in err
    monkeypatch.setattr(checker_progress, "PROGRESS_MIN_WORK", 2 * n * n + 1)
    check_gradients(cost, parameters, gradients)
    assert capsys.readouterr().err == ""


def test_progress_can_be_forced_on_or_off(capsys):
    X, Y, parameters, gradients, cost = make_net([4, 5, 3, 1], 5, seed=8)
    check_gradients(cost, parameters, gradients, progress=True)
    assert "gradient check" in capsys.readouterr().err
    check_gradients(cost, parameters, gradients, mode="random", progress=True)
    assert "random-direction check" in capsys.readouterr().err
    slow = lambda p: (time.sleep(0.015), cost(p))[1]
    check_gradients(slow, parameters, gradients, progress=False)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------------------------------
# Sparse, random and auto modes
# ---------------------------------------------------------------------------------------------------

def test_sparse_mode_samples_every_block_and_catches_a_bias_bug():
    X, Y, parameters, gradients, cost = make_net([20, 30, 10, 1], 6, seed=9)
    report = check_gradients(cost, parameters, gradients, mode="sparse", samples=5, rng=0, progress=False)
    layout = layout_of(parameters)
    owners = layout.block_index()[report.indices]
    per_block = np.bincount(owners, minlength=len(layout.names))
    assert list(per_block) == [min(5, size) for size in layout.sizes]  # every block, b3 (one entry) too
    assert report.passed and report.mode == "sparse" and (report.n_evaluations ==
                                                             2 * report.indices.size + 1 + report.noise.evaluations)
    assert report.indices.size == len(np.unique(report.indices))

    wrong = dict(gradients, db3=gradients["db3"] * 1.01)  # the one-entry output bias
    bad = check_gradients(cost, parameters, wrong, mode="sparse", samples=5, rng=0, progress=False)
    assert bad.failing_blocks() == ["b3"] and bad.worst[0].label == "b3[0, 0]"
    assert any("(1 - f)^s" in note for note in bad.notes)


def test_auto_mode_checks_small_models_in_full_and_large_ones_by_random_directions():
    X, Y, parameters, gradients, cost = make_net([4, 5, 3, 1], 5, seed=10)
    small = check_gradients(cost, parameters, gradients, mode="auto", progress=False)
    assert small.mode == "full" and "47 entries" in small.mode_reason

    w = np.linspace(-1, 1, gradcheck.AUTO_FULL_PLAIN + 1)
    a = np.random.default_rng(0).standard_normal(w.size)
    quad = lambda p: float(a @ p["w"] + 0.5 * p["w"] @ p["w"] / w.size + np.sum(p["v"] ** 3))
    params = {"w": w, "v": np.array([0.5, -0.3])}
    big = check_gradients(quad, params, {"dw": a + w / w.size, "dv": 3 * params["v"] ** 2}, mode="auto",
                          directions=4, rng=0, progress=False)
    assert big.mode == "random" and "per block" in big.mode_reason and str(w.size + 2) in big.mode_reason
    assert big.passed and {b.name for b in big.blocks} == {"w", "v"}
    assert big.n_evaluations == 2 * 4 * 2 + 1

    X, Y, parameters, gradients, cost = make_net([40, 80, 60, 1], 4, seed=11)  # 8221 entries
    with_batched = check_mlp_gradients(X, Y, parameters, gradients, mode="auto", progress=False)
    assert with_batched.mode == "full" and "batched" not in with_batched.mode_reason
    without = check_gradients(cost, parameters, gradients, mode="auto", rng=0, progress=False)
    assert without.mode == "random" and "plain cost" in without.mode_reason


def test_random_mode_on_the_fast_path_equals_the_plain_loop():
    X, Y, parameters, gradients, cost = make_net([6, 8, 5, 1], 10, seed=12)
    plain = check_gradients(cost, parameters, gradients, mode="random", per_block=True, directions=3, rng=5,
                            progress=False)
    fast = check_mlp_gradients(X, Y, parameters, gradients, mode="random", per_block=True, directions=3, rng=5,
                               progress=False)
    np.testing.assert_allclose(fast.analytic, plain.analytic, rtol=1e-12)
    floor = ROUNDOFF_FACTOR * np.finfo(float).eps * abs(cost(parameters)) / plain.epsilon
    assert np.all(np.abs(fast.numeric - plain.numeric) <= floor)
    assert fast.passed and plain.passed and fast.n_evaluations == plain.n_evaluations == 2 * 3 * 6 + 1


def direction(generator, layout, members, distribution="gaussian"):
    """A drawn direction as one vector (n,)."""
    blocks, scale = draw_direction(generator, layout, members, distribution)
    return scale * np.concatenate([v.reshape(-1) for v in blocks]).astype(np.float64)


@pytest.mark.parametrize("distribution", ["gaussian", "rademacher"])
def test_directions_have_the_stated_distribution(distribution):
    """Entries of a direction have variance 1/n inside its group and are exactly 0 outside."""
    layout = layout_of({"W": np.zeros((30, 40)), "b": np.zeros((30, 1))})
    gen = np.random.default_rng(0)
    whole = direction(gen, layout, [0, 1], distribution)
    assert abs(np.var(whole) * whole.size - 1) < 0.15 and abs(np.mean(whole)) < 4 / whole.size
    if distribution == "rademacher":
        assert np.allclose(np.abs(whole), 1 / np.sqrt(whole.size))
    only_b = direction(gen, layout, [1], distribution)
    assert np.all(only_b[:1200] == 0) and abs(np.var(only_b[1200:]) * 30 - 1) < 0.8


@pytest.mark.parametrize("distribution", ["gaussian", "rademacher"])
@pytest.mark.parametrize("error", ["spike", "pair", "dense"])
def test_the_stated_detection_guarantee_holds(error, distribution):
    """P(|D.v| < d |D| / sqrt(n)) is at most the stated per-direction bound, for any error D, including
    the worst cases of a single wrong entry and of two opposite ones."""
    layout = layout_of({"W": np.zeros((10, 20)), "b": np.zeros((10, 1))})
    n = layout.size
    rng = np.random.default_rng(1)
    D = {"spike": np.eye(n)[0], "pair": np.eye(n)[0] - np.eye(n)[1], "dense": rng.standard_normal(n)}[error]
    gens = np.random.default_rng(2).spawn(4000)
    seen = np.array([direction(g, layout, [0, 1], distribution) @ D for g in gens])
    d = 0.25
    missed = np.mean(np.abs(seen) < d * np.linalg.norm(D) / np.sqrt(n))
    bound = miss_probability(1, d, distribution)
    assert missed <= bound + 3 * np.sqrt(bound * (1 - bound) / len(gens))
    if distribution == "gaussian":
        assert bound == pytest.approx(np.sqrt(2 / np.pi) * d)
        assert missed >= bound - 0.05  # tight for Gaussian directions: P(|z| < d) ~ 0.8 d
    assert miss_probability(16, d, distribution) == pytest.approx(bound ** 16)


def test_random_report_states_its_guarantee_and_keeps_only_small_direction_sets():
    X, Y, parameters, gradients, cost = make_net([4, 5, 3, 1], 5, seed=13)
    report = check_gradients(cost, parameters, gradients, mode="random", directions=8, rng=0, progress=False)
    assert f"{miss_probability(8):.0e}" in report.notes[0] and "Normal(0, |D|^2/n)" in report.notes[0]
    assert report.directions.shape == (8, 47)
    signs = check_gradients(cost, parameters, gradients, mode="random", directions=8, rng=0, progress=False,
                            distribution="rademacher")
    assert signs.passed and f"{miss_probability(8, 0.25, 'rademacher'):.0e}" in signs.notes[0]
    assert np.allclose(np.abs(signs.directions), 1 / np.sqrt(47))
    with pytest.raises(GradCheckError, match="distribution must be"):
        check_gradients(cost, parameters, gradients, mode="random", distribution="uniform")


# ---------------------------------------------------------------------------------------------------
# Detection of every catalogued bug
# ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bug_net():
    rng = np.random.default_rng(3)
    sizes, m = [6, 8, 5, 1], 12
    parameters = initialize_mlp(sizes, rng)
    X = rng.standard_normal((sizes[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(float)
    return X, Y, parameters


@pytest.mark.parametrize("name", bug_names())
def test_random_and_sparse_modes_detect_every_catalogued_bug(bug_net, name):
    X, Y, parameters = bug_net
    lambd = bugs_lambd(name)
    _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
    buggy = inject(name)(X, Y, cache)
    for seed in range(3):
        for distribution in ("gaussian", "rademacher"):
            random = check_mlp_gradients(X, Y, parameters, buggy, lambd=lambd, mode="random", directions=16,
                                         rng=seed, progress=False, distribution=distribution)
            assert random.verdict == "failed", (name, seed, distribution)
        per_block = check_mlp_gradients(X, Y, parameters, buggy, lambd=lambd, mode="random", per_block=True,
                                        directions=4, rng=seed, progress=False)
        assert sorted(per_block.failing_blocks()) == sorted(touched_blocks(name, parameters)), (name, seed)
        sparse = check_mlp_gradients(X, Y, parameters, buggy, lambd=lambd, mode="sparse", samples=4, rng=seed,
                                     progress=False)
        assert sparse.verdict == "failed", (name, seed)


def test_correct_backprop_passes_the_fast_modes(bug_net):
    X, Y, parameters = bug_net
    for lambd in (0.0, 0.7):
        _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
        gradients = inject("correct")(X, Y, cache)
        for kwargs in (dict(mode="random"), dict(mode="random", per_block=True), dict(mode="sparse", samples=4),
                       dict(mode="full")):
            report = check_mlp_gradients(X, Y, parameters, gradients, lambd=lambd, rng=0, progress=False, **kwargs)
            assert report.passed, (lambd, kwargs, report)


# ---------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------

def test_bad_batched_costs_are_explained():
    X, Y, parameters, gradients, cost = make_net([4, 5, 3, 1], 5, seed=14)
    other = {k: v + 1 for k, v in parameters.items()}
    with pytest.raises(GradCheckError, match="built at other parameters"):
        check_gradients(cost, parameters, gradients, batched_cost=MLPBatchedCost(X, Y, other))
    with pytest.raises(GradCheckError, match="same data, parameters and lambd"):
        check_gradients(cost, parameters, gradients, batched_cost=MLPBatchedCost(X, Y, parameters, lambd=0.5))
    with pytest.raises(GradCheckError, match=r"one cost per parameter vector, shape \(1,\), got shape \(3,\)"):
        check_gradients(None, parameters, gradients, batched_cost=lambda thetas: np.zeros(3), chunk_size=1000)
    nan_at_b3 = lambda thetas: np.where(thetas[:, -1] > parameters["b3"][0, 0], np.nan, 1.0)
    with pytest.raises(GradCheckError, match=r"cost is nan when b3\[0, 0\] was increased"):
        check_gradients(None, parameters, gradients, batched_cost=nan_at_b3)
    with pytest.raises(GradCheckError, match="cost is None"):
        check_gradients(None, parameters, gradients)


@pytest.mark.parametrize("kwargs,message", [
    (dict(progress="yes"), "progress must be"),
    (dict(chunk_size=0), "chunk_size must be"),
    (dict(mode="sparse", samples=0), "samples must be"),
    (dict(batched_cost=3), "batched_cost must be"),
])
def test_bad_fast_options_are_explained(kwargs, message):
    X, Y, parameters, gradients, cost = make_net([4, 5, 3, 1], 5, seed=15)
    with pytest.raises(GradCheckError, match=message):
        check_gradients(cost, parameters, gradients, **kwargs)
