"""Tooling that builds the course notebooks: one master per notebook, two versions of it.

How the notebooks are built
---------------------------
1. ``notebooks/build/NN_name.py`` authors one notebook in code. Its ``build()`` returns the master
   (an nbformat NotebookNode without outputs) made from the cell constructors of ``tools.nbbuild``:
   ``md`` (prose), ``code`` (plain code), ``setup`` (locked code), ``exercise`` (a solution cell whose
   answer sits between ``### BEGIN SOLUTION`` / ``### END SOLUTION``) and ``tests`` (a locked, graded
   cell; instructor-only code between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``).
   Graded cells carry nbgrader metadata (schema_version 3), so an nbgrader course can adopt the masters.
2. ``python -m tools.notebooks`` (``make notebooks``) builds every master into
   ``notebooks/source/NN_name.ipynb``, executes it in place with nbclient (outputs and widget state are
   stored; nbval compares them in ``make test``), then runs the release. ``--only 01`` does one notebook.
3. ``python -m tools.release`` (``make release``) writes the student versions ``notebooks/NN_name.ipynb``:
   solutions become ``# YOUR CODE HERE`` + ``raise NotImplementedError()``, hidden tests disappear,
   outputs and execution counts are cleared, metadata is kept. The output is byte-for-byte
   deterministic; ``--check`` exits non-zero and names every student file that is out of date.
4. ``python -m tools.figures`` (``make figures``) draws the diagrams in ``images/`` with matplotlib.

Figures in notebooks
--------------------
Markdown written as ``![alt text](images/name.png)`` in a build script is embedded in the cell as a
notebook *attachment* (``attachment:name.png``) at build time. Both versions therefore show every figure
wherever they are opened (JupyterLab started in ``notebooks/`` cannot serve ``../images``; a student who
downloads one notebook keeps its figures). After ``make figures``, run ``make notebooks`` to re-embed.
"""
