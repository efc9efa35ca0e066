"""Student-facing checks: each public test is its exercise's judge on the public cases.

What the asserts prove: a right solution prints exactly the judge's one success line (which names the
student's function that ran); every catalogued mistake raises ExerciseFailure whose message is the
judge's (the catalogue hint included); a failure renders in IPython without a library traceback; and
checks.py carries no reference answer of its own (it is small and imports only the judges).
"""

import ast
import inspect

import pytest

from course_utils import checks, judges
from course_utils.checks import ExerciseFailure
from course_utils.mistakes import EXERCISES, mistake
from tests import student_mistakes as students

TESTS = {"forward_propagation": checks.forward_propagation_test,
         "backward_propagation": checks.backward_propagation_test,
         "gradient_check": checks.gradient_check_test,
         "gradient_check_n": checks.gradient_check_n_test,
         "k_from_report": checks.k_from_report_test,
         "backward_propagation_fixed": checks.bug_hunt_test,
         "optimal_epsilon": checks.optimal_epsilon_test}


def test_every_exercise_has_a_public_test():
    assert set(TESTS) == set(EXERCISES)
    assert all(name in checks.__all__ for name in ("k_from_report_test", "optimal_epsilon_test", "bug_hunt_test"))


@pytest.mark.parametrize("key", sorted(students.CORRECT))
def test_a_right_solution_prints_the_judges_success_line(key, capsys):
    exercise = students.exercise_of(key)
    TESTS[exercise](students.load_key(key))
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("\u2714") and "passed" in out[0]
    assert f"Ran your {exercise}" in out[0]  # says which of the student's functions it used


# one wrong implementation per catalogued mistake (the judges' own tests cover every variant)
@pytest.mark.parametrize("key", sorted(students.WRONG))
def test_a_catalogued_mistake_fails_with_the_judges_message_and_hint(key):
    exercise = students.exercise_of(key)
    function = students.load_key(key)
    with pytest.raises(ExerciseFailure) as info:
        TESTS[exercise](function)
    verdict = judges.judge(exercise, students.load_key(key))
    assert str(info.value) == verdict.message
    assert mistake(key).hint in str(info.value) or any(key in group for group in judges.GROUPS)
    assert f"Ran your {exercise}" in str(info.value)


def test_a_stub_gets_the_implement_it_first_message():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for exercise, test in TESTS.items():
        if exercise == "gradient_check" or exercise == "gradient_check_n":
            continue  # their judges first read the signature; a stub with the right one is below
        with pytest.raises(ExerciseFailure, match="is not implemented yet: replace `raise NotImplementedError"):
            test(stub)

    def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
        raise NotImplementedError()
    with pytest.raises(ExerciseFailure, match="is not implemented yet"):
        checks.gradient_check_test(gradient_check)


def test_not_a_function_is_explained():
    with pytest.raises(ExerciseFailure, match="Pass the function itself"):
        checks.forward_propagation_test(3.0)


def test_failure_renders_without_a_library_traceback_in_ipython():
    with pytest.raises(ExerciseFailure) as info:
        checks.forward_propagation_test(lambda x, theta: theta + x)
    rendered = info.value._render_traceback_()
    assert "ExerciseFailure" in rendered[0] and not any("Traceback" in line for line in rendered)
    assert len(rendered) == len(str(info.value).splitlines())


def test_checks_is_a_thin_layer_over_the_judges():
    source = inspect.getsource(checks)
    assert len(source.splitlines()) < 200
    imported = {alias.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)
                for alias in node.names} | {alias.name for node in ast.walk(ast.parse(source))
                                            if isinstance(node, ast.Import) for alias in node.names}
    assert imported == {"judges", "os", "sysconfig"}  # the standard library: needs_exercise tells stubs apart
    for name, test in TESTS.items():
        assert test.__doc__ and "Raises" in test.__doc__, name


def test_the_readmes_catalogue_table_counts_the_catalogue():
    """README's "The mistake catalogue" table: one row per exercise, with its number of mistakes."""
    import re
    from pathlib import Path

    from course_utils.mistakes import MISTAKES, mistakes_for
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### The mistake catalogue", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| \d\d \| `(\w+)` \| (\d+) \|", section, flags=re.M))
    assert rows == {exercise: str(len(mistakes_for(exercise))) for exercise in EXERCISES}
    assert f"All {len(MISTAKES)}:" in section
    for group in judges.GROUPS:
        assert all(f"`{member}`" in section for member in group)


def test_needs_exercise_turns_a_students_stub_into_one_line(capsys):
    def gradient_check_n(*args):  # a student's stub, as the student notebook ships it
        raise NotImplementedError()
    reached = []
    with checks.needs_exercise("Exercise 2 (gradient_check_n)") as guard:
        gradient_check_n()
        reached.append("after the stub")  # the block stops at the stub
    out = capsys.readouterr().out.splitlines()
    assert guard.missing and reached == []
    assert out == [guard.message()] and "Exercise 2 (gradient_check_n)" in out[0]


def test_needs_exercise_lets_other_errors_and_library_stubs_through(capsys):
    import logging
    with checks.needs_exercise("Exercise 1 (forward_propagation)") as guard:
        value = 1 + 1
    assert value == 2 and not guard.missing
    with pytest.raises(ValueError, match="a real bug"):
        with checks.needs_exercise("Exercise 1 (forward_propagation)"):
            raise ValueError("a real bug")
    # a NotImplementedError raised inside the standard library is not a student's stub
    with pytest.raises(NotImplementedError):
        with checks.needs_exercise("Exercise 1 (forward_propagation)"):
            logging.Handler().emit(None)
    assert capsys.readouterr().out == ""
    with pytest.raises(TypeError, match="exercise's name"):
        checks.needs_exercise(None)


def test_a_stubs_failure_renders_as_one_line():
    def k_from_report(report, name):
        raise NotImplementedError()
    with pytest.raises(ExerciseFailure) as info:
        checks.k_from_report_test(k_from_report)
    rendered = info.value._render_traceback_()
    assert len(rendered) == 1 and "k_from_report is not implemented yet" in rendered[0]
    assert str(info.value) == judges.judge("k_from_report", k_from_report).hint
