"""What the grader checks in each notebook: exercises, points, the library pieces each run gets, and which
judge decides.

Adding a notebook is data entry: write its exercises as ``Exercise(...)`` entries (grade_id of the
solution cell, function name, points, the library functions substituted for the *other* exercises, the
library's own versions of *this* exercise, and the judge of ``course_utils.judges`` that decides it),
then add a ``NotebookSpec`` to ``notebook_specs()``.

The hidden tests are the judges' hidden cases: ``course_utils.judges.cases(judge, "hidden", seed)`` (the
public test's fixed cases plus cases drawn from the submission's seed). The sandboxed worker builds them
before any student code runs and calls ``judges.collect`` on them; the grader rebuilds the same cases and
calls ``judges.decide`` on what came back (see ``autograder.grading``). So the public test, nbgrader's
hidden tests and this grader give one verdict, naming the same catalogued mistakes
(``course_utils.mistakes``).
"""

from dataclasses import dataclass, field

__all__ = ["Exercise", "NotebookSpec", "notebook_specs"]


@dataclass
class Exercise:
    """A graded function of a notebook.

    Attributes
    ----------
    grade_id : str, nbgrader grade_id of the solution cell
    function : str, the name the cell must define
    points : float
    title : str
    reference : str or None, "module:attr" of the library version, substituted when *another* exercise
        calls this function
    forbidden : tuple of "module:attr": the library's own implementations of this exercise; a
        submission whose function calls one of them scores zero for it
    helpers : dict name -> "module:attr", library helpers set as globals before and after the cells
    judge : str or None, the exercise's name in ``course_utils.judges`` (None: ``function``)
    """

    grade_id: str
    function: str
    points: float
    title: str
    reference: object = None
    forbidden: tuple = ()
    helpers: dict = field(default_factory=dict)
    judge: object = None

    @property
    def judge_name(self):
        """str: the judge that decides this exercise."""
        return self.judge or self.function


@dataclass
class NotebookSpec:
    """The graded exercises of one notebook (``metadata.course.notebook``)."""

    notebook_id: str
    title: str
    exercises: tuple

    @property
    def max_score(self):
        """float: sum of the exercises' points."""
        return float(sum(e.points for e in self.exercises))


_N_HELPERS = {"forward_propagation_n": "course_utils.models:forward_propagation_n",
              "backward_propagation_n": "course_utils.models:backward_propagation_n",
              "dictionary_to_vector": "course_utils.parameters:dictionary_to_vector",
              "vector_to_dictionary": "course_utils.parameters:vector_to_dictionary",
              "gradients_to_vector": "course_utils.parameters:gradients_to_vector"}

#: The library's checkers: a gradient_check(_n) that hands its work to one of them scores 0.
_CHECKERS = ("course_utils.gradcheck:check_gradients", "course_utils.gradcheck:numerical_gradient")


def notebook_specs():
    """Every gradable notebook, by notebook id.

    Returns
    -------
    dict notebook_id -> NotebookSpec
    """
    specs = [
        NotebookSpec("01_gradient_check_1d", "Gradient checking in one dimension", (
            Exercise("forward_propagation", "forward_propagation", 1, "forward_propagation: the cost J = theta * x",
                     reference="course_utils.models:forward_propagation",
                     forbidden=("course_utils.models:forward_propagation",)),
            Exercise("backward_propagation", "backward_propagation", 1,
                     "backward_propagation: the derivative dJ/dtheta",
                     reference="course_utils.models:backward_propagation",
                     forbidden=("course_utils.models:backward_propagation",)),
            Exercise("gradient_check", "gradient_check", 2, "gradient_check: the 1-D check", forbidden=_CHECKERS),
        )),
        NotebookSpec("02_gradient_check_nd", "Gradient checking a 3-layer network", (
            Exercise("gradient_check_n", "gradient_check_n", 3, "gradient_check_n: the N-dimensional check",
                     forbidden=_CHECKERS, helpers=_N_HELPERS),
        )),
        NotebookSpec("03_bug_hunt", "The bug hunt", (
            Exercise("k_from_report", "k_from_report", 1, "k_from_report: the factor of a scale bug"),
            Exercise("backward_propagation_fixed", "backward_propagation_fixed", 2,
                     "backward_propagation_fixed: the repaired backward pass",
                     forbidden=("course_utils.models:backward_propagation_n", "course_utils.models:mlp_backward",
                                "course_utils.bugs:correct", "course_utils.bugs:inject")),
        )),
        NotebookSpec("04_choosing_epsilon", "Choosing epsilon", (
            Exercise("optimal_epsilon", "optimal_epsilon", 2, "optimal_epsilon: the step for a dtype and method",
                     forbidden=("course_utils.stepsize:rule_of_thumb_epsilon",
                                "course_utils.gradcheck:default_epsilon")),
        )),
    ]
    return {spec.notebook_id: spec for spec in specs}
