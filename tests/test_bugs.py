"""Tests of the bug catalogue: every bug is caught and localised by the checker, the correct pass is not.

Two independent views of "where a bug is": (1) the gradient the bug produces, compared entry for entry
with the reference ``models.mlp_backward`` (which blocks differ at all), and (2) the gradient checker's
report (which blocks fail, and in what order). The tests require both to name the same blocks.
"""

import numpy as np
import pytest

from course_utils.bugs import (
    CATALOGUE,
    DEFAULT_LAMBD,
    Bug,
    BugError,
    bug_names,
    bugs_lambd,
    check_backward,
    check_bugs,
    correct,
    inject,
    scale_bug,
    touched_blocks,
    written_out,
    written_out_bugs,
    source,
    BACKWARD,
)
from course_utils.gradcheck import check_gradients
from course_utils.mistakes import mistake
from course_utils.models import forward_propagation_n, initialize_mlp, mlp_backward, mlp_forward
from course_utils.testcases import gradient_check_n_test_case

SEEDS = range(20)
LARGER_MLP = [6, 8, 7, 5, 1]  # 4 layers, distinct hidden widths > 1, 165 parameters


def random_case(seed, sizes=LARGER_MLP, m=10):
    """(X (n_0, m), Y (1, m), parameters) of a random network, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    parameters = initialize_mlp(sizes, rng)
    X = rng.standard_normal((sizes[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(float)
    return X, Y, parameters


def gradients_of(backward, X, Y, parameters, lambd):
    _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
    return backward(X, Y, cache)


# ---------------------------------------------------------------------------------------------------
# The catalogue itself
# ---------------------------------------------------------------------------------------------------

def test_catalogue_has_at_least_12_documented_bugs():
    names = bug_names()
    assert len(names) >= 12
    assert len(set(names)) == len(names)
    assert "correct" not in names
    for bug in CATALOGUE.values():
        # each entry explains what, why and how to spot it, in sentences rather than placeholders
        assert len(bug.title) > 20 and len(bug.why) > 40 and len(bug.spot) > 40, bug.name
        assert bug.name in bug.describe() and bug.why in bug.describe()


def test_catalogue_includes_l2_bugs_that_need_a_regularized_cost():
    l2 = [b for b in CATALOGUE.values() if b.lambd > 0]
    assert len(l2) >= 2
    assert bugs_lambd([b.name for b in l2]) == DEFAULT_LAMBD
    assert bugs_lambd("classic_dW2_db1") == 0.0


@pytest.mark.parametrize("lambd", [0.0, DEFAULT_LAMBD])
def test_correct_equals_the_reference_backward(lambd):
    """``correct`` and inject("correct") / inject([]) reproduce models.mlp_backward exactly."""
    for X, Y, parameters in [gradient_check_n_test_case(), random_case(0)]:
        _, cache = mlp_forward(X, Y, parameters, lambd=lambd)
        want = mlp_backward(X, Y, cache)
        for backward in (correct, inject("correct"), inject([])):
            got = backward(X, Y, cache)
            assert list(got) == list(want)
            for key in want:
                np.testing.assert_array_equal(got[key], want[key])


@pytest.mark.parametrize("name", bug_names())
def test_bug_changes_exactly_the_blocks_it_claims(name):
    """Independent of the checker: the buggy gradient differs from the reference in the touched blocks
    and is bit-for-bit the reference everywhere else, on the test case and a larger network."""
    lambd = CATALOGUE[name].lambd
    for X, Y, parameters in [gradient_check_n_test_case(), random_case(1)]:
        want = gradients_of(mlp_backward, X, Y, parameters, lambd)
        got = gradients_of(inject(name), X, Y, parameters, lambd)
        touched = touched_blocks(name, parameters)
        assert touched, f"{name} claims to touch no block"
        assert list(got) == list(want)
        for block in parameters:
            key = "d" + block
            assert got[key].shape == want[key].shape, f"{name} changed the shape of {key}"
            if block in touched:
                assert not np.allclose(got[key], want[key]), f"{name} should change {key}"
            else:
                np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name} should not change {key}")


@pytest.mark.parametrize("name", bug_names())
def test_injected_backward_does_not_modify_the_cache(name):
    X, Y, parameters = gradient_check_n_test_case()
    _, cache = mlp_forward(X, Y, parameters, lambd=DEFAULT_LAMBD)
    before = [{k: v.copy() for k, v in layer.items()} for layer in cache["layers"]]
    inject(name)(X, Y, cache)
    for layer, saved in zip(cache["layers"], before):
        for k in saved:
            np.testing.assert_array_equal(layer[k], saved[k])


def test_what_inject_runs_is_the_edited_source_students_read():
    """inspect (and ``??`` in a notebook) shows the compiled, edited lines; bugs editing one line refuse to combine."""
    import inspect
    shown = inspect.getsource(inject("relu_mask_from_A"))
    assert "dZ = dA * (A >= 0)" in shown and "dZ = dA * (Z > 0)" not in shown
    assert shown == source("relu_mask_from_A")
    assert 'grads["dW2"] = grads["dW2"] * 2' in source(["classic_dW2_db1", "l2_on_biases"])
    with pytest.raises(BugError, match="both rewrite"):
        inject(["relu_mask_from_A", "relu_instead_of_derivative"])
    assert all(set(bug.edits) <= {key for key, _ in BACKWARD} | {"+" + key for key, _ in BACKWARD}
               for bug in CATALOGUE.values())


# ---------------------------------------------------------------------------------------------------
# Detection and localisation by the checker
# ---------------------------------------------------------------------------------------------------

def assert_caught_and_localised(report, touched, what):
    """The check fails, exactly the touched blocks fail, and they are ranked before every other block."""
    assert report.verdict == "failed", f"{what}: not detected ({report.summary()})"
    assert set(report.failing_blocks()) == set(touched), f"{what}: {report.summary()} but touched {touched}"
    ranked = [b.name for b in report.blocks]
    assert set(ranked[:len(touched)]) == set(touched), f"{what}: ranking {ranked}, touched {touched}"
    for b in report.blocks[:len(touched)]:
        assert b.relative_difference > 10 * report.threshold, f"{what}: {b.name} barely fails"


@pytest.mark.parametrize("name", bug_names())
def test_every_bug_is_caught_on_the_course_test_case(name):
    X, Y, parameters = gradient_check_n_test_case()
    report = check_bugs(name)  # default settings: default epsilon, threshold and method
    assert_caught_and_localised(report, touched_blocks(name, parameters), name)


@pytest.mark.parametrize("name", bug_names())
def test_every_bug_is_caught_on_20_random_larger_networks(name):
    for seed in SEEDS:
        X, Y, parameters = random_case(seed)
        report = check_bugs(name, X, Y, parameters)
        assert_caught_and_localised(report, touched_blocks(name, parameters), f"{name}, seed {seed}")


@pytest.mark.parametrize("lambd", [0.0, DEFAULT_LAMBD])
def test_correct_backward_passes_on_the_same_networks(lambd):
    """No false alarms: the correct pass passes on the test case and every seed (kinks, if the step
    crosses one, are flagged in report.kinks and kept out of the verdict)."""
    cases = [gradient_check_n_test_case()] + [random_case(seed) for seed in SEEDS]
    for i, (X, Y, parameters) in enumerate(cases):
        report = check_backward(correct, X, Y, parameters, lambd=lambd)
        assert report.verdict == "passed", f"case {i}: {report.summary()}"
        assert report.failing_blocks() == []
        failing_entries = (report.entry_excess > report.threshold) & ~np.isin(
            np.arange(report.layout.size), [k.index for k in report.kinks])
        assert not failing_entries.any()


def test_l2_bugs_need_the_regularized_cost():
    """Without lambd the L2 bugs are not bugs at all, which is why the catalogue records lambd."""
    for bug in (b for b in CATALOGUE.values() if b.lambd > 0):
        assert check_bugs(bug.name, lambd=0.0).verdict == "passed", bug.name
        assert check_bugs(bug.name).verdict == "failed", bug.name


def test_classic_pair_numbers():
    report = check_bugs("classic_dW2_db1")
    assert f"{report.relative_difference:.3e}" == "2.851e-01"
    assert [b.name for b in report.blocks[:2]] == ["b1", "W2"]
    assert report.block("b1").relative_difference == pytest.approx(0.6, rel=1e-7)
    assert report.block("W2").relative_difference == pytest.approx(1 / 3, rel=1e-7)


def test_combinations_are_caught_together():
    names = ["classic_dW2_db1", "l2_on_biases", "weight_grad_transposed"]
    X, Y, parameters = gradient_check_n_test_case()
    touched = touched_blocks(names, parameters)
    assert set(touched) == {"W1", "W2", "b1", "b2", "b3"}
    report = check_bugs(names)
    assert_caught_and_localised(report, touched, "combination")
    assert inject(names).bugs == tuple(CATALOGUE[n] for n in names)


# ---------------------------------------------------------------------------------------------------
# Scale bugs: the block difference is |k - 1| / (k + 1)
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("block", ["W1", "b2", "W3"])
@pytest.mark.parametrize("k", [0.1, 0.5, 1.5, 2.0, 3.0, 10.0])
def test_scale_bug_identity_and_reading_k_back(block, k):
    X, Y, parameters = gradient_check_n_test_case()
    report = check_bugs(scale_bug(block, k))
    r = report.block(block).relative_difference
    assert r == pytest.approx(abs(k - 1) / (k + 1), rel=1e-6, abs=1e-9)
    assert report.failing_blocks() == [block]
    b = report.block(block)
    k_back = (1 + r) / (1 - r) if b.analytic_norm > b.numeric_norm else (1 - r) / (1 + r)
    assert k_back == pytest.approx(k, rel=1e-5)


# ---------------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------------

def test_unknown_bug_lists_the_valid_names():
    with pytest.raises(BugError) as info:
        inject("no_such_bug")
    message = str(info.value)
    assert "no_such_bug" in message
    for name in bug_names():
        assert name in message


@pytest.mark.parametrize("bad, words", [
    (["classic_dW2_db1", "classic_dW2_db1"], "twice"),
    (42, "list"),
    ([3.5], "unknown bug"),
])
def test_bad_bug_specifications(bad, words):
    with pytest.raises(BugError, match=words):
        inject(bad)


@pytest.mark.parametrize("block, k, words", [
    ("W2", 1.0, "changes nothing"), ("W2", float("nan"), "finite"), ("Z2", 2.0, "parameter"),
    ("W2", "two", "number"),
])
def test_bad_scale_bugs(block, k, words):
    with pytest.raises(BugError, match=words):
        scale_bug(block, k)


def test_bug_on_a_block_the_network_lacks_says_so():
    X, Y, parameters = random_case(0, sizes=[3, 1])
    with pytest.raises(BugError, match="W2"):
        gradients_of(inject("classic_dW2_db1"), X, Y, parameters, 0.0)


def test_check_backward_rejects_partial_inputs_and_non_functions():
    X, Y, parameters = gradient_check_n_test_case()
    with pytest.raises(ValueError, match="together"):
        check_backward(correct, X, Y)
    with pytest.raises(BugError, match="inject"):
        check_backward("correct", X, Y, parameters)
    assert isinstance(scale_bug("W1", 2), Bug)


# ---------------------------------------------------------------------------------------------------
# Bugs written out as code (the notebook's exercise)
# ---------------------------------------------------------------------------------------------------

def compile_written_out(bugs):
    namespace = {"np": np}
    exec(written_out(bugs, name="backward_under_test"), namespace)
    return namespace["backward_under_test"]


@pytest.mark.parametrize("bugs", [[]] + [[name] for name in written_out_bugs()]
                         + [["db_before_relu", "relu_mask_off_by_one"]])
def test_written_out_code_computes_what_inject_computes(bugs):
    """The code students read is the same bug as the catalogue's, on the test case and another 3-layer net."""
    backward = compile_written_out(bugs)
    for X, Y, parameters in [gradient_check_n_test_case(), random_case(3, sizes=[3, 6, 4, 1], m=7)]:
        want = gradients_of(inject(bugs), X, Y, parameters, 0.0)
        got = backward(X, Y, forward_propagation_n(X, Y, parameters)[1])  # the tuple cache students know
        assert list(got) == list(want)
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-10, atol=1e-15, err_msg=f"{bugs} {key}")


def test_written_out_covers_most_of_the_catalogue_and_refuses_the_rest():
    assert len(written_out_bugs()) >= 10
    assert "classic_dW2_db1" in written_out_bugs()
    assert "dW2 = dZ2 @ A1.T / m * 2" in written_out("classic_dW2_db1")
    missing = next(n for n in bug_names() if n not in written_out_bugs())
    with pytest.raises(BugError, match="not written out"):
        written_out(missing)
    with pytest.raises(BugError, match="both rewrite"):
        written_out(["classic_dW2_db1", "weight_grad_transposed"])
    with pytest.raises(BugError, match="identifier"):
        written_out([], name="not a name")


# ---------------------------------------------------------------------------------------------------
# The notebook's graded check: bug_hunt_test
# ---------------------------------------------------------------------------------------------------

def test_bug_hunt_test_passes_the_fixed_code(capsys):
    from course_utils.checks import bug_hunt_test
    bug_hunt_test(compile_written_out([]))
    assert capsys.readouterr().out.startswith("\u2714 backward_propagation_fixed passed")


@pytest.mark.parametrize("name", written_out_bugs())
def test_bug_hunt_test_rejects_each_written_out_bug_and_names_the_blocks(name):
    from course_utils.checks import ExerciseFailure, bug_hunt_test
    with pytest.raises(ExerciseFailure) as info:
        bug_hunt_test(compile_written_out([name]))
    message = str(info.value)
    X, Y, parameters = gradient_check_n_test_case()
    for block in touched_blocks(name, parameters):
        assert f"d{block} " in message, f"{name}: d{block} not named in {message}"
    # the judge recognises the planted bug by its catalogued mistake's hint (the sign of the cross-entropy
    # is not in the student mistake catalogue: named blocks only)
    expected = {"classic_dW2_db1": "classic_scale_bugs", "relu_mask_from_A": "relu_mask_from_activation",
                "cross_entropy_sign": None}.get(name, name)
    if expected:
        assert mistake(f"backward_propagation_fixed.{expected}").hint in message


def test_bug_hunt_test_does_not_blame_a_bug_that_would_break_blocks_the_student_got_right():
    """A mask built from A gives the same db as summing dA, but it would also break every dW: a student
    who already fixed the mask (only db_before_relu left) must not be told to fix it again."""
    from course_utils.checks import ExerciseFailure, bug_hunt_test
    with pytest.raises(ExerciseFailure) as info:
        bug_hunt_test(compile_written_out(["db_before_relu"]))
    message = str(info.value)
    assert mistake("backward_propagation_fixed.db_before_relu").hint in message
    assert mistake("backward_propagation_fixed.relu_mask_from_activation").hint not in message


def test_bug_hunt_test_explains_stubs_and_wrong_return_values():
    from course_utils.checks import ExerciseFailure, bug_hunt_test

    def stub(X, Y, cache):
        raise NotImplementedError()

    def returns_list(X, Y, cache):
        return [1, 2]

    fixed = compile_written_out([])

    def misses_db3(X, Y, cache):  # written out (calling the library's backward pass is its own mistake)
        return {k: v for k, v in fixed(X, Y, cache).items() if k != "db3"}

    for target, words in ((stub, "not implemented"), (returns_list, "not a dict of gradients"),
                          (misses_db3, "returned the keys")):
        with pytest.raises(ExerciseFailure, match=words):
            bug_hunt_test(target)


@pytest.mark.parametrize("k", [1e6, -2.5, 0.5, 1e-7])
def test_scale_bugs_with_any_factor_compile_to_a_named_function(k):
    backward = inject(scale_bug("W2", k))
    assert backward.__name__.isidentifier()
    assert check_bugs(scale_bug("W2", k)).failing_blocks() == ["W2"]


def test_the_machinery_finds_the_catalogue_whichever_module_is_imported_first():
    """bug_machinery reads the catalogue from bugs when first called (bugs imports it): a fresh interpreter
    that imports the machinery first still injects, and bugs re-exports the same functions."""
    import subprocess
    import sys
    code = ("import course_utils.bug_machinery as m\n"
            "print(m.inject('classic_dW2_db1').__name__)\n"
            "import course_utils.bugs as b\n"
            "print(b.inject is m.inject, b.check_backward is m.check_backward)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["backward_with_classic_dW2_db1", "True", "True"]


@pytest.mark.parametrize("name", ["correct"] + bug_names())
def test_check_backward_fast_evaluator_agrees_with_a_forward_pass_per_evaluation(name):
    """check_backward evaluates the cost with the network's fast evaluator; a forward pass per
    evaluation (the plain cost) gives the same verdict, the same failing blocks and kinks, and the same
    relative differences up to round-off, on the test case and on a larger network."""
    lambd = bugs_lambd(name)
    for X, Y, parameters in [gradient_check_n_test_case(), random_case(7)]:
        fast = check_backward(inject(name), X, Y, parameters, lambd=lambd)
        plain = check_gradients(lambda p: mlp_forward(X, Y, p, lambd=lambd)[0], parameters,
                                gradients_of(inject(name), X, Y, parameters, lambd))
        assert (fast.verdict, fast.failing_blocks()) == (plain.verdict, plain.failing_blocks()), name
        assert [k.label for k in fast.kinks] == [k.label for k in plain.kinks], name
        assert fast.relative_difference == pytest.approx(plain.relative_difference, rel=1e-6, abs=1e-12), name


def test_check_backward_takes_the_complex_step_through_the_plain_cost():
    report = check_backward(inject("missing_1_over_m"), method="complex")
    assert report.verdict == "failed" and report.failing_blocks()
