r"""Student code for every catalogued mistake, and correct variants that differ from the masters.

The sources themselves live in ``autograder/demo_sources.py`` (the demo class of ``python -m autograder
demo-class`` writes them into notebooks; one copy serves both). ``WRONG`` maps a mistake id of
``course_utils.mistakes`` to one or more sources making that mistake; ``CORRECT`` maps
``<exercise>.correct_<n>`` to a source that is right but differs from the master. ``load(source,
exercise)`` executes a source in a namespace holding the globals the exercise's notebook provides and
returns the function.
"""

from autograder.demo_sources import (CORRECT, WRONG, _bp, _eps, _eps_master, _fixed, _fp, _gc, _gcn, _k,  # noqa: F401
                                     exercise_of, implementations)

__all__ = ["CORRECT", "WRONG", "exercise_of", "implementations", "load", "load_key", "notebook_globals"]


def notebook_globals(exercise):
    """The names a notebook's setup (and earlier) cells give an exercise cell: dict name -> object.

    Notebook 01 gets the library's ``forward_propagation`` / ``backward_propagation`` in place of the
    student's (as the graders substitute them); notebook 03 also gets the setup cell's X, Y, parameters.
    """
    import warnings

    import numpy as np

    names = {"np": np, "warnings": warnings, "__name__": "__main__"}
    if exercise in ("forward_propagation", "backward_propagation", "gradient_check"):
        from course_utils.models import backward_propagation, forward_propagation
        names.update(forward_propagation=forward_propagation, backward_propagation=backward_propagation)
    elif exercise == "gradient_check_n":
        from course_utils import models, parameters, testcases
        names.update(forward_propagation_n=models.forward_propagation_n,
                     backward_propagation_n=models.backward_propagation_n,
                     dictionary_to_vector=parameters.dictionary_to_vector,
                     vector_to_dictionary=parameters.vector_to_dictionary,
                     gradients_to_vector=parameters.gradients_to_vector,
                     gradient_check_n_test_case=testcases.gradient_check_n_test_case)
    elif exercise in ("k_from_report", "backward_propagation_fixed"):
        from course_utils import bugs, models, testcases
        X, Y, parameters = testcases.gradient_check_n_test_case()
        names.update(CATALOGUE=bugs.CATALOGUE, bug_names=bugs.bug_names, check_backward=bugs.check_backward,
                     correct=bugs.correct, inject=bugs.inject, scale_bug=bugs.scale_bug,
                     forward_propagation_n=models.forward_propagation_n,
                     backward_propagation_n=models.backward_propagation_n,
                     gradient_check_n_test_case=testcases.gradient_check_n_test_case,
                     X=X, Y=Y, parameters=parameters)
    return names


def load(source, exercise, **overrides):
    """Run an exercise cell's source in a fresh notebook namespace; return the function it defines.

    Parameters
    ----------
    source : str, the cell's code (a function definition)
    exercise : str, the exercise's function name
    **overrides : names to set in the namespace (e.g. an instrumented ``forward_propagation``)

    Returns
    -------
    function, whose ``__globals__`` is the namespace (probes replace names there)

    Raises
    ------
    KeyError if the source does not define ``exercise``.
    """
    namespace = notebook_globals(exercise)
    namespace.update(overrides)
    cell = f"<cell {exercise}>"
    exec(compile(source, cell, "exec"), namespace)
    function = namespace.get(exercise)
    if getattr(getattr(function, "__code__", None), "co_filename", None) != cell:
        # not defined by the cell: the name is missing, or still the library's (notebook 01 has both)
        raise KeyError(f"the cell does not define {exercise}")
    return function


def load_key(key, index=0, **overrides):
    """``load`` the ``index``-th source of a mistake id, or the correct variant ``key``."""
    source = CORRECT[key] if key in CORRECT else WRONG[key][index]
    return load(source, exercise_of(key), **overrides)
