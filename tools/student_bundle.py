"""Write the course as students get it: ``python -m tools.student_bundle`` (``make student-bundle``).

Instructors keep this repository (masters with solutions, hidden tests, the autograder). Students get
``build/student/`` and the same files zipped as ``build/student.zip`` (one top folder,
``gradcheck-course/``):

* the four student notebooks at the top level, made from the masters by ``tools.release`` (solutions
  stubbed, hidden tests removed, outputs cleared; figures travel inside them as attachments);
* ``course_utils/``, the library the notebooks import (its ``.py`` files only);
* ``requirements.txt`` (pip) and ``environment.yml`` (conda / Binder), both made from ``pyproject.toml``
  (the runtime dependencies and the ``lab`` extra), so the three never disagree;
* a short ``README.md`` for students and the ``LICENSE``.

Nothing of ``autograder/``, ``tools/``, ``tests/``, ``benchmarks/`` or ``notebooks/source/`` goes in.
The same repository always gives the same bytes: files are written in sorted order and the zip has
fixed timestamps and permissions.
"""

import argparse
import io
import shutil
import stat
import sys
import tomllib
import zipfile
from pathlib import Path

from tools.nbbuild import REPO_ROOT, notebook_text
from tools.release import SOURCE_DIR, ReleaseError, masters, read_notebook, student_version

__all__ = ["BUNDLE_DIR", "ZIP_TOP", "bundle_contents", "requirements", "write_bundle", "main"]

BUNDLE_DIR = REPO_ROOT / "build" / "student"
ZIP_TOP = "gradcheck-course"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: no build time leaks in

STUDENT_README = """\
# Gradient checking, step by step

Four notebooks that teach you to prove a backpropagation implementation right: compare its gradients
with centered finite differences of the cost, `(J(θ+ε) − J(θ−ε)) / 2ε`, find the entry where they
disagree, and choose the step ε that makes the comparison trustworthy.

| notebook | what you learn |
|---|---|
| `01_gradient_check_1d` | the derivative as a limit and your first gradient check, on `J(θ) = θx` |
| `02_gradient_check_nd` | a 3-layer network, flattening its parameters, the per-entry check |
| `03_bug_hunt` | realistic backprop bugs, how the check finds *where* they are, false alarms at ReLU kinks |
| `04_choosing_epsilon` | truncation versus round-off, the best step in float64 and float32, complex step |

## Open the course

On your computer (Python 3.11 or newer):

```bash
python3 -m venv .venv
source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt
jupyter lab
```

then open `01_gradient_check_1d.ipynb` in the browser tab that appears. Keep the notebooks next to the
`course_utils/` folder: they import it.

Online: put this folder in a repository and open it on Binder (mybinder.org); `environment.yml` tells
Binder what to install.

## How the exercises and tests work

Each exercise is a code cell that reads `# YOUR CODE HERE` and `raise NotImplementedError()`: replace
those two lines with your code. The cell after it runs a test. A passing test prints a line starting
with ✔; a failing one says what it saw and, for the usual mistakes, what to change. Until you write an
exercise, its test says it is not implemented yet, and cells that need it say so in one line.
`course_utils/` is the library the notebooks call: read it whenever a notebook sends you there.

## How to submit

Save the notebook (File → Save), then hand in the `.ipynb` file itself, as your instructor asks (an
upload to Gradescope or to your course's JupyterHub). Hand in the notebook, not a PDF or a copy with a
new name, and do not delete or add exercise cells: the grader finds your work by them. The grader runs
each exercise with its own inputs, so make your function work for any input, not only the ones in the
notebook.

## Licence

MIT; see `LICENSE`.
"""


def requirements(root=REPO_ROOT):
    """The packages a student needs: ``pyproject.toml``'s runtime dependencies and its ``lab`` extra.

    Parameters
    ----------
    root : Path, the project

    Returns
    -------
    list of str, requirement specifiers in pyproject's order (e.g. ``"numpy>=1.26,<3"``)

    Raises
    ------
    KeyError if pyproject.toml has no ``[project]`` dependencies or no ``lab`` extra.
    """
    project = tomllib.loads((Path(root) / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["dependencies"]) + list(project["optional-dependencies"]["lab"])


def _environment_yml(specs):
    pip_lines = "".join(f"      - {spec}\n" for spec in specs)
    return ("# Conda / Binder environment for the course (made from the same list as requirements.txt).\n"
            "name: gradcheck-course\nchannels:\n  - conda-forge\ndependencies:\n"
            "  - python=3.11\n  - pip\n  - pip:\n" + pip_lines)


def bundle_contents(root=REPO_ROOT, source_dir=SOURCE_DIR):
    """Every file of the bundle: (path inside the bundle, bytes), sorted by path.

    Parameters
    ----------
    root : Path, the project (course_utils, pyproject.toml and LICENSE are read from it)
    source_dir : Path of the masters

    Returns
    -------
    list of (str, bytes)

    Raises
    ------
    ReleaseError if a master cannot be released (the message names the file and the fix);
    FileNotFoundError if LICENSE or course_utils is missing.
    """
    root = Path(root)
    files = {}
    for master in masters(source_dir):
        files[master.name] = notebook_text(student_version(read_notebook(master))).encode("utf-8")
    for path in sorted((root / "course_utils").rglob("*.py")):
        files[path.relative_to(root).as_posix()] = path.read_bytes()
    if not any(name.startswith("course_utils/") for name in files):
        raise FileNotFoundError(f"no course_utils/*.py under {root}")
    specs = requirements(root)
    files["requirements.txt"] = ("# pip install -r requirements.txt  (Python 3.11 or newer)\n"
                                 + "".join(f"{spec}\n" for spec in specs)).encode("utf-8")
    files["environment.yml"] = _environment_yml(specs).encode("utf-8")
    files["README.md"] = STUDENT_README.encode("utf-8")
    files["LICENSE"] = (root / "LICENSE").read_bytes()
    return sorted(files.items())


def _zip(contents):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents:
            info = zipfile.ZipInfo(f"{ZIP_TOP}/{name}", date_time=ZIP_DATE)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def write_bundle(out_dir=BUNDLE_DIR, root=REPO_ROOT, source_dir=SOURCE_DIR):
    """Write the bundle folder ``out_dir`` (replaced whole) and ``out_dir`` + ``.zip`` beside it.

    Parameters
    ----------
    out_dir : Path of the folder to write (default ``build/student``)
    root : Path, the project
    source_dir : Path of the masters

    Returns
    -------
    (Path of the folder, Path of the zip)

    Raises
    ------
    ReleaseError, FileNotFoundError: see ``bundle_contents``.
    """
    out_dir = Path(out_dir)
    contents = bundle_contents(root, source_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for name, data in contents:
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    zip_path = out_dir.with_suffix(".zip")
    zip_path.write_bytes(_zip(contents))
    return out_dir, zip_path


def main(argv=None):
    """Command line: ``python -m tools.student_bundle [--out DIR]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.student_bundle", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(BUNDLE_DIR), help="folder to write (the zip goes beside it)")
    args = parser.parse_args(argv)
    try:
        folder, zip_path = write_bundle(Path(args.out))
    except (ReleaseError, FileNotFoundError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    count = sum(1 for p in folder.rglob("*") if p.is_file())
    print(f"wrote {folder}/ ({count} files) and {zip_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
