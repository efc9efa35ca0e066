"""Build, execute and release the notebooks: ``python -m tools.notebooks [NAME ...]`` (``make notebooks``).

For every build script ``notebooks/build/NN_name.py`` (or only those named, e.g. ``01``):

1. call its ``build()`` and check the master (metadata, grade_ids, fences);
2. write it to ``notebooks/source/NN_name.ipynb`` and execute it in place with nbclient, in
   ``notebooks/source`` as working directory, storing outputs and widget state;
3. write its student version with ``tools.release``.

``--no-execute`` writes the masters without running them (quick check of a build script).
"""

import argparse
import hashlib
import importlib.util
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tools.nbbuild import REPO_ROOT, NotebookBuildError, validate, write_notebook
from tools.release import SOURCE_DIR, ReleaseError, release

BUILD_DIR = REPO_ROOT / "notebooks" / "build"
TIMEOUT = 600  # seconds per cell


def build_scripts(build_dir=BUILD_DIR, names=None):
    """Build script paths ``NN_name.py`` in ``build_dir``, sorted; ``names`` filters by prefix or name."""
    paths = sorted(Path(build_dir).glob("[0-9][0-9]_*.py"))
    if names:
        wanted = [n.removesuffix(".py").removesuffix(".ipynb") for n in names]
        paths = [p for p in paths if any(p.stem == w or p.stem.startswith(w + "_") for w in wanted)]
        if not paths:
            raise NotebookBuildError(f"no build script in {build_dir} matches {list(names)}")
    return paths


def build_master(script):
    """The master notebook built by ``script`` (a path to ``NN_name.py`` with a ``build()``), validated.

    Returns
    -------
    nbformat.NotebookNode without outputs
    """
    script = Path(script)
    spec = importlib.util.spec_from_file_location(f"_notebook_build_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "build", None)):
        raise NotebookBuildError(f"{script} has no build() function returning the master notebook")
    nb = validate(module.build())
    if nb.metadata.course["notebook"] != script.stem:
        raise NotebookBuildError(f"{script} builds notebook {nb.metadata.course['notebook']!r}; "
                                 f"the id must equal the script's name {script.stem!r}")
    return nb


def execute(nb, cwd, timeout=TIMEOUT):
    """Execute ``nb`` in place (outputs and widget state stored) with the working directory ``cwd``.

    Consecutive stream outputs of a cell are merged, so no stored output depends on when the kernel
    happened to flush.

    Raises
    ------
    NotebookBuildError naming the failing cell when a cell raises: a master must run cleanly.
    """
    # coalesce_streams: how a cell's prints are cut into stream messages depends on when the kernel
    # flushes (timing); merged, the stored output is the same on any machine.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            record_timing=False, coalesce_streams=True, resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        raise NotebookBuildError(f"a cell of {nb.metadata.course['notebook']} failed while executing the master; "
                                 f"fix its build script:\n{exc}") from None
    return nb


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def stable_widget_ids(nb):
    """Replace the random widget model ids of an executed notebook by ids derived from the notebook's
    name and the order the models were stored in, so re-executing an unchanged master rewrites the
    same file (no diff churn in git) while every reference between models and outputs still matches.

    Parameters
    ----------
    nb : NotebookNode, executed, with widget state stored in ``metadata.widgets``

    Returns
    -------
    NotebookNode, a new notebook (``nb`` itself is not changed)
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return nb
    name = nb.metadata.get("course", {}).get("notebook", "notebook")
    mapping = {old: hashlib.sha1(f"{name}:{i}".encode()).hexdigest()[:32] for i, old in enumerate(state)}
    text = nbformat.writes(nb)
    for old, new in mapping.items():
        text = text.replace(old, new)
    return nbformat.reads(text, as_version=4)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.notebooks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to build, e.g. 01 (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="write the masters without executing them")
    args = parser.parse_args(argv)
    try:
        scripts = build_scripts(BUILD_DIR, args.names or None)
        for script in scripts:
            nb = build_master(script)
            target = SOURCE_DIR / f"{script.stem}.ipynb"
            if not args.no_execute:
                print(f"executing {script.stem} ...", flush=True)
                nb = stable_widget_ids(execute(nb, SOURCE_DIR))
            write_notebook(nb, target)
            print(f"wrote {target}")
        for path in release(SOURCE_DIR, names=[s.stem for s in scripts]):
            print(f"wrote {path}")
    except (NotebookBuildError, ReleaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
