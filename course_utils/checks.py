"""Student-facing checks for the notebook exercises: one public test per exercise.

Each ``*_test(target)`` hands the student's function to the exercise's judge
(``course_utils.judges.judge(exercise, target)``, the fixed public cases) and either prints the
verdict's one success line or raises ``ExerciseFailure`` with the verdict's message: what was seen,
the hint for the mistake it matches (from the catalogue in ``course_utils.mistakes``), and which of
the student's functions ran. The autograder and the nbgrader hidden tests ask the same judges, so the
three give the same advice. Nothing here computes an answer: the judges do, with the library's code.
"""

from course_utils import judges

__all__ = ["ExerciseFailure", "backward_propagation_test", "bug_hunt_test", "forward_propagation_test",
           "gradient_check_n_test", "gradient_check_test", "k_from_report_test", "optimal_epsilon_test"]


class ExerciseFailure(AssertionError):
    """A public test failed. Shown in Jupyter as its message alone, without a library traceback."""

    def _render_traceback_(self):  # IPython hook: what the notebook shows instead of a traceback
        return ["\x1b[31mExerciseFailure:\x1b[0m " + line if i == 0 else line
                for i, line in enumerate(str(self).splitlines())]


def _run(exercise, target):
    """Judge ``target`` on the public cases: print the success line, or raise ExerciseFailure."""
    verdict = judges.judge(exercise, target)
    if not verdict.passed:
        raise ExerciseFailure(verdict.message)
    print(verdict.message)


def _public_test(exercise, signature):
    """The public test of one exercise (a thin wrapper over its judge), with its docstring."""
    def test(target):
        _run(exercise, target)
    test.__name__ = test.__qualname__ = f"{exercise}_test"
    test.__doc__ = f"""Check the student's ``{signature}`` on the public cases of its judge.

    Parameters
    ----------
    target : callable, the student's {exercise} (the function itself, not its result)

    Returns
    -------
    None: prints one line starting with a check mark on success

    Raises
    ------
    ExerciseFailure with what was seen, a hint for the usual mistake it matches, and which of the
    student's functions ran.
    """
    return test


forward_propagation_test = _public_test("forward_propagation", "forward_propagation(x, theta)")
backward_propagation_test = _public_test("backward_propagation", "backward_propagation(x, theta)")
gradient_check_test = _public_test("gradient_check", "gradient_check(x, theta, epsilon=1e-7, print_msg=False)")
gradient_check_n_test = _public_test(
    "gradient_check_n", "gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False)")
k_from_report_test = _public_test("k_from_report", "k_from_report(report, name)")
optimal_epsilon_test = _public_test("optimal_epsilon", 'optimal_epsilon(dtype, method="centered", scale=1.0)')


def bug_hunt_test(target):
    """Check a fixed 3-layer backward pass ``target(X, Y, cache) -> gradients`` (notebook 3's bug hunt).

    Parameters
    ----------
    target : callable, the student's backward_propagation_fixed(X, Y, cache)

    Returns
    -------
    None: prints one line starting with a check mark on success

    Raises
    ------
    ExerciseFailure naming the wrong blocks and, when they are what a catalogued bug gives, that bug.
    """
    _run("backward_propagation_fixed", target)
