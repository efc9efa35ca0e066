"""Loaded first by every pytest process of this suite (``-p tests.quick_imports`` in pyproject's addopts),
before the plugins that import nbformat (nbval).

jsonschema, under nbformat, imports the optional IRI checker rfc3987-syntax when it is installed, which
builds its grammars at import: about 2 s of CPU in every process (the main one and each xdist worker).
No notebook schema uses that format, so it is left unloaded here, as ``autograder/notebook.py`` does
for the grader.
"""

import sys

__all__ = []

sys.modules.setdefault("rfc3987_syntax", None)
