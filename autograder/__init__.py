"""The course's autograder: fair, sandboxed grading of submitted notebooks.

``python -m autograder grade SUBMISSION.ipynb --results results.json`` grades one notebook;
``python -m autograder batch DIR --results-dir OUT --jobs N`` grades a folder; ``make autograder-zip``
builds the Gradescope bundle. Modules: ``notebook`` (reading submissions), ``specs`` (what each notebook's
hidden tests check), ``sandbox`` and ``_worker`` (running student code), ``wire`` (the plain-data format
between them), ``grading`` (judging and results), ``batch``, ``bundle``.

Importing this package does nothing else.
"""

__all__ = []
