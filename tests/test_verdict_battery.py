"""The verdict battery (benchmarks/verdict_battery.py): every case's stated truth holds, checked without
any finite difference, and the battery covers what issue 14 asks for.

Nothing here runs a gradient checker: whether ours (or a peer) gets the cases right is measured by
``benchmarks/bench_verdicts.py`` and will be asserted with issue 14.
"""

import numpy as np
import pytest

from benchmarks.bench_verdicts import flat_parameters, layout, select_cases, unflatten
from benchmarks.verdict_battery import (
    CLEAR_DISAGREEMENT,
    FINDINGS,
    KINDS,
    OUTCOMES,
    block_relative_differences,
    build_battery,
    complex_step_gradient,
    course_test_case,
    textbook_cost,
    verify_case,
)


def _params():
    """One pytest param per case (the 10,000-entry cases marked slow: their truth takes seconds)."""
    return [pytest.param(c.name, id=c.name, marks=[pytest.mark.slow] if c.size > 5000 else [])
            for c in build_battery()]


@pytest.fixture(scope="module")
def battery():
    return {case.name: case for case in build_battery()}


@pytest.mark.parametrize("name", _params())
def test_stated_truth_holds_independently(battery, name):
    """The analytic gradient agrees with the complex-step / closed-form truth (a "pass" case) or differs
    from it by at least CLEAR_DISAGREEMENT in exactly the wrong blocks (a "fail" case); a cost said not to
    be repeatable gives two values at one point; a bad input is what it says."""
    ok, detail = verify_case(battery[name])
    assert ok, f"{name}: {detail}"


def test_battery_size_and_coverage(battery):
    """At least 45 cases, every kind tag used with both a right and (where a gradient can be wrong) a wrong
    gradient, every finding category expected somewhere."""
    cases = list(battery.values())
    assert len(cases) >= 45
    assert {c.kind for c in cases} == set(KINDS)
    assert {c.finding for c in cases} - {None} == set(FINDINGS)
    for kind in KINDS:
        truths = {c.truth for c in cases if c.kind == kind}
        assert truths == {"pass", "fail"}, f"kind {kind} has only {truths}"


def test_cases_are_well_formed(battery):
    """Truth, accepted outcomes, findings and wrong blocks are consistent with each case's parameters."""
    for c in battery.values():
        assert c.truth in ("pass", "fail") and c.kind in KINDS and (c.finding is None or c.finding in FINDINGS)
        assert c.accept and set(c.accept) <= set(OUTCOMES), c.name
        assert set(c.wrong_blocks) <= set(c.parameters), c.name
        assert {"d" + k for k in c.parameters} == set(c.gradients), c.name
        if c.truth == "fail" and c.verify != "repeat":
            assert c.wrong_blocks and "pass" not in c.accept, c.name
        if c.truth == "pass":
            assert "fail" not in c.accept, c.name
        assert all(np.issubdtype(np.asarray(v).dtype, np.floating) for v in c.parameters.values()), c.name


def test_costs_return_one_number_and_leave_the_parameters_alone(battery):
    """Every cost (but the one returning a tuple on purpose) gives a finite Python float and does not modify
    the arrays it is given."""
    for c in battery.values():
        given = {k: np.copy(v) for k, v in c.parameters.items()}
        value = c.cost(given)
        for k in given:
            np.testing.assert_array_equal(given[k], c.parameters[k])
        if c.verify == "tuple":
            assert isinstance(value, tuple)
        else:
            assert isinstance(value, float) and np.isfinite(value), c.name


def test_battery_is_reproducible():
    """Two builds give the same parameters and gradients, number for number (fixed seeds, no global state)."""
    first, second = build_battery(), build_battery()
    assert [c.name for c in first] == [c.name for c in second]
    for a, b in zip(first, second):
        for k in a.parameters:
            np.testing.assert_array_equal(a.parameters[k], b.parameters[k])
            np.testing.assert_array_equal(a.gradients["d" + k], b.gradients["d" + k])


def test_verify_case_rejects_a_planted_error():
    """The independent check has teeth: a right case with one block 1% off, or a wrong case given the
    truth, no longer verifies."""
    battery = {case.name: case for case in build_battery()}  # fresh: the cases are modified below
    right = battery["course_right"]
    right.gradients = {**right.gradients, "db2": right.gradients["db2"] * 1.01}
    assert not verify_case(right)[0]
    wrong = battery["course_dW2_x2"]
    wrong.gradients = wrong.truth_gradients()
    assert not verify_case(wrong)[0]
    assert CLEAR_DISAGREEMENT >= 1e-3


def test_complex_step_matches_closed_forms():
    """Complex step on J = sum sin(w) v^2 and on the stable cross-entropy gives the closed forms."""
    rng = np.random.default_rng(0)
    p = {"w": rng.standard_normal(4), "v": rng.standard_normal(4)}
    g = complex_step_gradient(lambda q: np.sum(np.sin(q["w"]) * q["v"] ** 2), p)
    np.testing.assert_allclose(g["dw"], np.cos(p["w"]) * p["v"] ** 2, rtol=1e-14)
    np.testing.assert_allclose(g["dv"], 2 * np.sin(p["w"]) * p["v"], rtol=1e-14)
    rel = block_relative_differences({"dw": g["dw"] * 2}, {"dw": g["dw"]})
    assert rel["w"] == pytest.approx(1 / 3)  # a scale bug k gives |k - 1| / (k + 1)


def test_textbook_cost_is_the_course_cost():
    """The battery's textbook cost is the original assignment's on its test case (about 0.5 at the seed
    parameters: the same three transactions and network)."""
    X, Y, p = course_test_case()
    Z1 = np.maximum(p["W1"] @ X + p["b1"], 0)
    Z2 = np.maximum(p["W2"] @ Z1 + p["b2"], 0)
    A3 = 1 / (1 + np.exp(-(p["W3"] @ Z2 + p["b3"])))
    expected = float(np.sum(-Y * np.log(A3) - (1 - Y) * np.log(1 - A3)) / 3)
    assert textbook_cost(X, Y, p) == pytest.approx(expected, rel=1e-15)


def test_bench_flattening_round_trips_and_quick_covers_every_kind(battery):
    """The peers' flat vector gives back every block in its shape and dtype; --quick keeps a right and a
    wrong case of every kind that has cases below 1,000 entries."""
    for c in battery.values():
        back = unflatten(layout(c.parameters), flat_parameters(c))
        for k, v in c.parameters.items():
            assert back[k].dtype == v.dtype and back[k].shape == v.shape
            np.testing.assert_array_equal(back[k], v)
    quick = select_cases(list(battery.values()), quick=True)
    assert {(c.kind, c.truth) for c in quick} == {(c.kind, c.truth) for c in battery.values() if c.size < 1000}
