"""The Gradescope bundle: its layout, and run_autograder run locally with /autograder redirected."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from autograder.bundle import build_bundle
from tests.test_autograder import assert_gradescope_schema
from tests.test_autograder_support import fast_options, submission_01

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


# ---------------------------------------------------------------------------------------------------
# Issue 12: one assignment per notebook or one for the course; uploads of several notebooks
# ---------------------------------------------------------------------------------------------------

MASTERS = ROOT / "notebooks" / "source"
NB01, NB02 = "01_gradient_check_1d", "02_gradient_check_nd"


def test_bundle_for_one_notebook_knows_its_assignment(tmp_path):
    """`bundle --notebooks 02` (make autograder-zip NB=02): run_autograder names 02, only 02's master ships;
    an unknown name is a usage error naming the known notebooks."""
    done = subprocess.run([sys.executable, "-m", "autograder", "bundle", "--notebooks", "02", "--out",
                           str(tmp_path / "a.zip")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        masters = [n for n in archive.namelist() if n.startswith("masters/")]
        run = archive.read("run_autograder").decode()
    assert masters == [f"masters/{NB02}.ipynb"]
    assert f'AUTOGRADER_NOTEBOOKS:-{NB02}' in run
    bad = subprocess.run([sys.executable, "-m", "autograder", "bundle", "--notebooks", "9", "--out",
                          str(tmp_path / "b.zip")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "matches no notebook" in bad.stderr and NB01 in bad.stderr


def test_upload_of_all_four_notebooks_grades_each_one(tmp_path):
    """Issue input: an upload of all four notebooks scored only the best one. A course-wide assignment
    grades each and sums them (one test per exercise, named by its notebook)."""
    from autograder.gradescope import grade_upload
    from autograder.specs import notebook_specs
    specs = notebook_specs()
    upload = tmp_path / "submission"
    upload.mkdir()
    for notebook in specs:
        shutil.copy(MASTERS / f"{notebook}.ipynb", upload / f"my_{notebook}.ipynb")
    results = grade_upload(upload, fast_options(wall=20.0), specs)
    assert_gradescope_schema(results)
    assert results["score"] == sum(s.max_score for s in specs.values())
    assert len(results["tests"]) == sum(len(s.exercises) for s in specs.values())
    assert {t["name"].split(":", 1)[0] for t in results["tests"]} == set(specs)


def test_notebook_of_another_assignment_scores_zero_with_where_to_submit(tmp_path):
    """Issue input: a solved notebook 01 uploaded to the assignment for 02 earned its points there. Now it
    scores 0 with a message naming both notebooks; 02's exercises read "not found"."""
    zip_path = build_bundle(tmp_path / "autograder.zip", notebooks=[NB02])
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    os.chmod(root / "source" / "run_autograder", 0o755)
    (root / "submission").mkdir()
    submission_01(root / "submission", "solved_01.ipynb")
    done = _run(root)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert_gradescope_schema(results)
    assert results["score"] == 0.0
    assert f"This is notebook {NB01}" in results["output"] and f"assignment for {NB01}" in results["output"]
    names = [t["name"] for t in results["tests"]]
    assert "solved_01.ipynb: not graded" in names
    assert any(n.startswith(f"{NB02}:") for n in names)


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid switch needs a root grader")
def test_gradescope_without_namespaces_cannot_read_or_write_the_grader():
    """Issue input: in a container refusing unshare, student code read the hidden tests and wrote into
    /autograder/source. With AUTOGRADER_NAMESPACES=0 (that container), it runs as an unprivileged uid and
    run_autograder has closed source/ to other users."""
    base = Path(tempfile.mkdtemp(prefix="ag-gradescope-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)  # reachable by other users: only run_autograder's chmod protects source/
        _, root = _unpack(base)
        for path in [root, *root.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() or path.name == "run_autograder" else 0o644)
        specs = root / "source" / "autograder" / "specs.py"
        spy = ("import os\n"
               f"try:\n    print('LEAK', open({str(specs)!r}).read())\n"
               "except OSError as e:\n    print('specs blocked', type(e).__name__)\n"
               f"try:\n    open({str(root / 'source' / 'pwned')!r}, 'w').write('x')\n"
               "except OSError as e:\n    print('write blocked', type(e).__name__)\n"
               "def forward_propagation(x, theta):\n    return theta * x\n")
        submission_01(root / "submission", "sub.ipynb", forward_propagation=spy)
        env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable,
                   AUTOGRADER_TIMEOUT="20", AUTOGRADER_NAMESPACES="0", AUTOGRADER_NOTEBOOKS=NB01)
        done = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        results = json.loads((root / "results" / "results.json").read_text())
        forward = next(t for t in results["tests"] if "[forward_propagation]" in t["name"])
        assert results["score"] == 4.0 and "without namespaces" in results["output"]
        assert "specs blocked PermissionError" in forward["output"] and "LEAK" not in forward["output"]
        assert "write blocked PermissionError" in forward["output"]
        assert not (root / "source" / "pwned").exists()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_links_and_unreadable_files_in_an_upload_are_their_own_tests(tmp_path):
    """A link in an upload (even to a master) is never followed: it is a 0-point test saying so, and the
    notebook next to it is graded normally."""
    from autograder.gradescope import grade_upload
    from autograder.specs import notebook_specs
    specs = notebook_specs()
    upload = tmp_path / "submission"
    upload.mkdir()
    (upload / "answer_key.ipynb").symlink_to(MASTERS / f"{NB02}.ipynb")
    (upload / "broken.ipynb").write_bytes(b"{ not json")
    submission_01(upload, "mine.ipynb")
    options = fast_options(wall=20.0)
    options.notebooks = [NB01, NB02]
    results = grade_upload(upload, options, specs)
    assert_gradescope_schema(results)
    tests = {t["name"]: t for t in results["tests"]}
    assert "symbolic link" in tests["answer_key.ipynb: not graded"]["output"]
    assert "JSON is broken" in tests["broken.ipynb: not graded"]["output"]
    assert results["score"] == 4.0  # notebook 01 in full; 02 only through a link: not found
    assert all(t["score"] == 0.0 for n, t in tests.items() if n.startswith(f"{NB02}:"))
