"""The course's autograder: fair, sandboxed grading of submitted notebooks.

``python -m autograder grade SUBMISSION.ipynb --results results.json`` grades one notebook;
``python -m autograder batch DIR --results-dir OUT --jobs N`` grades a folder; ``make autograder-zip``
builds the Gradescope bundle. Modules: ``notebook`` (reading submissions), ``specs`` (each notebook's
exercises, points and library pieces), ``sandbox`` and ``_worker`` (running student code and collecting
what it does on the judges' hidden cases), ``wire`` (the plain-data format between them), ``grading``
(deciding with ``course_utils.judges`` and writing results), ``batch``, ``bundle``.

Importing this package does nothing else.
"""

__all__ = []
