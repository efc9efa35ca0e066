"""Student-facing checks for the notebook exercises: one public test per exercise.

Each ``*_test(target)`` hands the student's function to the exercise's judge
(``course_utils.judges.judge(exercise, target)``, the fixed public cases) and either prints the
verdict's one success line or raises ``ExerciseFailure`` with the verdict's message: what was seen,
the hint for the mistake it matches (from the catalogue in ``course_utils.mistakes``), and which of
the student's functions ran. The autograder and the nbgrader hidden tests ask the same judges, so the
three give the same advice. Nothing here computes an answer: the judges do, with the library's code.

``needs_exercise`` guards a demo cell that calls an exercise the student may not have written yet: the
stub's ``NotImplementedError`` becomes one printed line naming the exercise to do first.
"""

import os
import sysconfig

from course_utils import judges

__all__ = ["ExerciseFailure", "backward_propagation_test", "bug_hunt_test", "forward_propagation_test",
           "gradient_check_n_test", "gradient_check_test", "k_from_report_test", "needs_exercise",
           "optimal_epsilon_test"]


class ExerciseFailure(AssertionError):
    """A public test failed. Shown in Jupyter as its message alone, without a library traceback."""

    def _render_traceback_(self):  # IPython hook: what the notebook shows instead of a traceback
        return ["\x1b[31mExerciseFailure:\x1b[0m " + line if i == 0 else line
                for i, line in enumerate(str(self).splitlines())]


def _run(exercise, target):
    """Judge ``target`` on the public cases: print the success line, or raise ExerciseFailure (for an
    exercise not written yet, a stub, its one line, like the cells that need the exercise)."""
    verdict = judges.judge(exercise, target)
    if not verdict.passed:
        stub = verdict.seen.endswith("raised NotImplementedError")
        raise ExerciseFailure(verdict.hint if stub else verdict.message)
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


def _library_dirs():
    """Folders whose code is not a student's: this package, the standard library, installed packages."""
    paths = sysconfig.get_paths()
    dirs = {os.path.dirname(os.path.abspath(__file__))}
    dirs.update(os.path.abspath(paths[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths)
    return tuple(d + os.sep for d in dirs)


def _raised_by_student(traceback):
    """True when the innermost frame of ``traceback`` is outside the library (a notebook cell's stub)."""
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    filename = os.path.abspath(traceback.tb_frame.f_code.co_filename)
    return not filename.startswith(_library_dirs())


class needs_exercise:  # noqa: N801 (lower case: it reads as a phrase in a ``with`` line)
    """Context manager for a demo cell that needs an exercise: a stub's error becomes one friendly line.

    ``with needs_exercise("Exercise 2 (gradient_check_n)"): ...`` runs the block; when a student's
    stub raises ``NotImplementedError`` inside it, the block stops, one line naming the exercise is
    printed, and the error is swallowed. Any other error (and a NotImplementedError raised by library
    code) goes through unchanged. After the block, ``missing`` says whether it stopped for a stub, so a
    cell can go on with the library's version (e.g. to still show its figure).

    Parameters
    ----------
    exercise : str, what to do first, e.g. "Exercise 2 (gradient_check_n)"

    Attributes
    ----------
    missing : bool, True when the block stopped because the exercise is not written yet

    Raises
    ------
    TypeError when ``exercise`` is not a non-empty string. Errors raised inside the block pass through,
    except a student's NotImplementedError.
    """

    def __init__(self, exercise):
        if not isinstance(exercise, str) or not exercise.strip():
            raise TypeError(f"needs_exercise takes the exercise's name as a string, e.g. "
                            f'needs_exercise("Exercise 1 (forward_propagation)"); got {exercise!r}')
        self.exercise = exercise.strip()
        self.missing = False

    def message(self):
        """The one line printed when the exercise is missing (str)."""
        return (f"\u23f8 {self.exercise} is not written yet: replace `raise NotImplementedError()` in its cell "
                f"with your code, run that cell, then run this one again.")

    def __enter__(self):
        self.missing = False
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None or not issubclass(kind, NotImplementedError) or not _raised_by_student(traceback):
            return False
        self.missing = True
        print(self.message())
        return True
