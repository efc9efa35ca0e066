"""The Gradescope bundle: its layout, and run_autograder run locally with /autograder redirected."""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from autograder.bundle import build_bundle
from tests.test_autograder import assert_gradescope_schema
from tests.test_autograder_support import submission_01

ROOT = Path(__file__).resolve().parent.parent


def _unpack(tmp_path):
    """Build the zip and lay it out as Gradescope does: ROOT/source, ROOT/submission, ROOT/results."""
    zip_path = build_bundle(tmp_path / "autograder.zip")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()}
    for name, mode in modes.items():
        os.chmod(root / "source" / name, mode)
    (root / "submission").mkdir()
    return zip_path, root


def _run(root, timeout=120):
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable, AUTOGRADER_TIMEOUT="5")
    return subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_bundle_layout_and_executables(tmp_path):
    """setup.sh and run_autograder at the root (executable), the grader with its hidden tests, the masters."""
    zip_path = build_bundle(tmp_path / "a.zip")
    with zipfile.ZipFile(zip_path) as archive:
        infos = {i.filename: i for i in archive.infolist()}
    for name in ("setup.sh", "run_autograder"):
        assert (infos[name].external_attr >> 16) & stat.S_IXUSR, f"{name} is not executable"
    assert "autograder/specs.py" in infos and "autograder/_worker.py" in infos
    assert "course_utils/models.py" in infos and "pyproject.toml" in infos
    assert "masters/01_gradient_check_1d.ipynb" in infos
    # deterministic: the same tree gives the same bytes
    assert build_bundle(tmp_path / "b.zip").read_bytes() == zip_path.read_bytes()


def test_run_autograder_grades_the_submission(tmp_path):
    """run_autograder reads ROOT/submission and writes ROOT/results/results.json in Gradescope's schema."""
    _, root = _unpack(tmp_path)
    submission_01(root / "submission", "my_notebook.ipynb",
                  backward_propagation="def backward_propagation(x, theta):\n    return theta\n")
    done = _run(root)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert_gradescope_schema(results)
    assert results["score"] == 3.0
    assert {t["status"] for t in results["tests"]} == {"passed", "failed"}


def test_run_autograder_always_writes_results(tmp_path):
    """No notebook in the submission, or a grader that cannot even start: results.json is still written."""
    _, root = _unpack(tmp_path)
    (root / "submission" / "essay.txt").write_text("no notebook here")
    done = _run(root)
    assert done.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0.0 and "No .ipynb file" in results["output"]
    shutil.rmtree(root / "source" / "autograder")  # a broken bundle: python -m autograder fails
    done = _run(root)
    assert done.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0.0 and "could not run" in results["output"]
