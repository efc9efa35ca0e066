"""Student-facing checks: correct solutions get one success line; each usual mistake gets its own hint."""

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import ExerciseFailure
from tests import student_solutions as s


def test_correct_solutions_print_one_success_line(capsys):
    checks.forward_propagation_test(lambda x, theta: theta * x)
    checks.backward_propagation_test(lambda x, theta: x)
    checks.gradient_check_test(s.gradient_check)
    checks.gradient_check_n_test(s.gradient_check_n)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("\u2714") and "passed" in line for line in lines)


@pytest.mark.parametrize("target, hint", [
    (lambda x, theta: theta + x, "You added x and theta"),
    (lambda x, theta: x, "You returned one of the inputs"),
    (lambda x, theta: np.array([theta * x]), "returned a numpy array of shape (1,)"),
    (lambda x, theta: None, "forget the `return` statement"),
])
def test_forward_propagation_mistakes(target, hint):
    with pytest.raises(ExerciseFailure) as info:
        checks.forward_propagation_test(target)
    assert hint in str(info.value)


@pytest.mark.parametrize("target, hint", [
    (lambda x, theta: theta, "You returned theta"),
    (lambda x, theta: theta * x, "You returned J itself"),
    (lambda x, theta: "x", "returned str"),
])
def test_backward_propagation_mistakes(target, hint):
    with pytest.raises(ExerciseFailure) as info:
        checks.backward_propagation_test(target)
    assert hint in str(info.value)


@pytest.mark.parametrize("target, hint", [
    (s.gradient_check_divided_by_epsilon, "divide J_plus - J_minus by 2 * epsilon"),
    (s.gradient_check_plus_twice, "used theta + epsilon twice"),
    (s.gradient_check_no_denominator, "You returned the norm of the difference"),
    (s.gradient_check_always_tiny, "so it would miss that bug"),
    (s.gradient_check_returns_array, "returned a numpy array of shape (1,)"),
])
def test_gradient_check_mistakes(target, hint):
    with pytest.raises(ExerciseFailure) as info:
        checks.gradient_check_test(target)
    assert hint in str(info.value)


@pytest.mark.parametrize("target, hint", [
    (s.gradient_check_n_divided_by_epsilon, "divide J_plus - J_minus by 2 * epsilon"),
    (s.gradient_check_n_forgot_copy, "does not copy an array"),
    (s.gradient_check_n_plus_twice, "used theta + epsilon twice"),
    (s.gradient_check_n_norm_of_sum, "not the norm of the sum"),
    (s.gradient_check_n_self, "not with itself"),
])
def test_gradient_check_n_mistakes(target, hint):
    with pytest.raises(ExerciseFailure) as info:
        checks.gradient_check_n_test(target)
    assert hint in str(info.value)


def test_a_stub_gets_the_implement_it_first_message():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for test in (checks.forward_propagation_test, checks.backward_propagation_test,
                 checks.gradient_check_test, checks.gradient_check_n_test):
        with pytest.raises(ExerciseFailure, match="is not implemented yet: replace `raise NotImplementedError"):
            test(stub)


def test_a_crash_is_reported_briefly_with_its_cause():
    def broken(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
        return parameters["W9"]
    with pytest.raises(ExerciseFailure, match=r"raised KeyError: 'W9'"):
        checks.gradient_check_n_test(broken)


def test_mutating_the_callers_parameters_is_caught():
    def mutating(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
        parameters["W1"] += 1.0
        return 0.0
    with pytest.raises(ExerciseFailure, match="changed the caller's parameters\\['W1'\\]"):
        checks.gradient_check_n_test(mutating)


def test_not_a_function_is_explained():
    with pytest.raises(ExerciseFailure, match="expected a function"):
        checks.forward_propagation_test(3.0)


def test_notebook_globals_are_restored_after_a_check():
    namespace = s.gradient_check.__globals__
    before = namespace["backward_propagation"]
    checks.gradient_check_test(s.gradient_check)
    assert namespace["backward_propagation"] is before


def test_failure_renders_without_a_library_traceback_in_ipython():
    try:
        checks.gradient_check_test(s.gradient_check_plus_twice)
    except ExerciseFailure as failure:
        rendered = failure._render_traceback_()
    assert len(rendered) == 1 and "ExerciseFailure" in rendered[0] and "Traceback" not in rendered[0]
