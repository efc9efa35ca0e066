"""Build the Gradescope autograder bundle (``make autograder-zip``).

The zip holds what Gradescope expects at its root: ``setup.sh`` (run once when the image is built) and
``run_autograder`` (run for every submission), plus the grader (``autograder/``, whose ``specs.py`` holds
the hidden tests), the library (``course_utils/`` with ``pyproject.toml`` so that pip can install it) and
the master notebooks (``masters/``: their locked setup cells are run instead of the student's copies).
Gradescope unpacks it in ``/autograder/source``; the submission arrives in ``/autograder/submission`` and
the results must be written to ``/autograder/results/results.json``. ``run_autograder`` honours
``AUTOGRADER_ROOT`` (instead of ``/autograder``) and ``AUTOGRADER_PYTHON`` so that it can be tested
locally in a temporary directory.

A bundle is built for one assignment: the notebooks it covers are written into ``run_autograder``
(``--notebooks``) and only their masters are included; a notebook of another assignment in an upload
scores 0 with a message saying where it belongs. ``run_autograder`` closes ``source``, ``submission`` and
``results`` to other users before grading, so student code (run as an unprivileged uid) cannot read
the hidden tests or write into the grader even when the container refuses namespaces.
"""

import stat
import zipfile
from pathlib import Path

__all__ = ["SETUP_SH", "RUN_AUTOGRADER", "bundle_files", "build_bundle"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu base image).
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip util-linux >/dev/null
PY=python3
for candidate in python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null; then PY="$candidate"; break; fi
done
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y -qq python3.11 python3.11-venv >/dev/null
    PY=python3.11
fi
"$PY" -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --upgrade pip
/autograder/venv/bin/pip install --quiet /autograder/source "nbformat>=5.10,<6"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. It always leaves a results.json behind.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
NOTEBOOKS="${AUTOGRADER_NOTEBOOKS:-@NOTEBOOKS@}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
# student code runs as another uid: the grader, the hidden tests and the upload are closed to it
chmod go-rwx "$ROOT/source" "$ROOT/results" "$ROOT/submission" 2>/dev/null
cd "$ROOT/source" && "$PYTHON" -m autograder gradescope --root "$ROOT" --masters "$ROOT/source/masters" \\
    --timeout "${AUTOGRADER_TIMEOUT:-20}" ${NOTEBOOKS:+--notebooks "$NOTEBOOKS"}
if [ ! -s "$RESULTS" ]; then
    cat > "$RESULTS" <<'JSON'
{"score": 0.0, "execution_time": 0.0, "tests": [], "visibility": "visible",
 "output": "The autograder could not run on this submission. Please tell your instructor; your work is not lost."}
JSON
fi
exit 0
"""


def _add(archive, arcname, data, executable=False):
    info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    archive.writestr(info, data)


def bundle_files(root=PROJECT_ROOT, notebooks=None):
    """(path inside the zip, file on disk) of everything copied into the bundle, sorted.

    Parameters
    ----------
    root : Path, the project
    notebooks : list of notebook ids whose masters are included (None: all)

    Returns
    -------
    list of (str, Path)
    """
    root = Path(root)
    files = []
    for package in ("autograder", "course_utils"):
        for path in sorted((root / package).rglob("*.py")):
            files.append((path.relative_to(root).as_posix(), path))
    for name in ("pyproject.toml", "README.md"):
        if (root / name).is_file():
            files.append((name, root / name))
    for path in sorted((root / "notebooks" / "source").glob("*.ipynb")):
        if notebooks is None or path.stem in notebooks:
            files.append((f"masters/{path.name}", path))
            stub = root / "notebooks" / path.name  # the released version (public): unchanged cells are not run
            if stub.is_file():
                files.append((f"notebooks/{path.name}", stub))
    return files


def build_bundle(out, root=PROJECT_ROOT, notebooks=None):
    """Write the Gradescope zip (deterministic: fixed timestamps, sorted entries).

    Parameters
    ----------
    out : str or Path, the zip to write (its directory is created)
    root : Path, the project
    notebooks : list of full notebook ids the assignment covers (None: the whole course)

    Returns
    -------
    Path of the zip
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as archive:
        _add(archive, "setup.sh", SETUP_SH, executable=True)
        run = RUN_AUTOGRADER.replace("@NOTEBOOKS@", ",".join(notebooks or []))
        _add(archive, "run_autograder", run, executable=True)
        for arcname, path in bundle_files(root, notebooks):
            _add(archive, arcname, path.read_bytes())
    return out
