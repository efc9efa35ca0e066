"""The student bundle (``make student-bundle``): what students get, and nothing an instructor keeps.

* its files: the four student notebooks at the top, ``course_utils``, requirements that agree with
  ``pyproject.toml``, a student README and the licence, and nothing of the autograder, tools or tests;
* no line of any master's solution regions or hidden tests, in any file, the zip included;
* two builds give the same bytes;
* (slow) a fresh virtual environment made from its ``requirements.txt`` alone runs every student notebook
  up to its first exercise, which stops with the exercise's ``NotImplementedError`` and nothing earlier.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from tools.student_bundle import ZIP_TOP, bundle_contents, requirements, write_bundle

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "source"
MASTERS = sorted(SOURCE.glob("[0-9][0-9]_*.ipynb"))
FENCES = (("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder, zip_path = write_bundle(tmp_path_factory.mktemp("bundle") / "student")
    return folder, zip_path


def fenced_lines(master):
    """Every non-blank line inside a master's solution or hidden-test fences, stripped."""
    lines = set()
    for cell in nbformat.read(master, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if any(text.startswith(begin) for begin, _ in FENCES):
                inside = True
            elif any(text.startswith(end) for _, end in FENCES):
                inside = False
            elif inside and text:
                lines.add(text)
    return lines


# Lines a fence holds that are public by design, each with the reason. Everything else inside a fence
# must not appear anywhere in the bundle.
PUBLIC_BY_DESIGN = {
    "else:": "Python syntax, in every module",
    "m = X.shape[1]": "the number of examples, the first line of every layer of the library's network",
}

# The library's taught code (DESIGN.md section 2): a student who clicks into these from a notebook must
# land on the code the notebook teaches, so their lines are public whatever an exercise asks. Notebook
# 02 sends students to read the 3-layer network, whose backward pass is also what notebook 03's bug hunt
# restores; notebook 01's relative difference is the checker's own. Lines of these functions may appear
# in a solution; any other copy of a solution line in the bundle (a public test that carries a reference
# answer, a comment, a string) is a leak.
TAUGHT = {
    "course_utils.models": ("forward_propagation", "backward_propagation",
                            "forward_propagation_n", "backward_propagation_n"),
    "course_utils.gradcheck": ("relative_difference",),
}


def taught_lines():
    """Stripped lines of the source of every TAUGHT function (an unknown name is an error)."""
    import importlib
    import inspect

    lines = set()
    for module_name, names in TAUGHT.items():
        module = importlib.import_module(module_name)
        for name in names:
            lines.update(line.strip() for line in inspect.getsource(getattr(module, name)).splitlines())
    return lines


def public_text(student_notebooks):
    """What the student notebooks themselves show (their prose states each exercise's formulas)."""
    return "\n".join(data.decode("utf-8") for data in student_notebooks)


def test_the_bundle_holds_the_student_files_and_nothing_of_the_instructors(bundle):
    folder, zip_path = bundle
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    top = sorted(n for n in names if "/" not in n)
    assert top == sorted([m.name for m in MASTERS] + ["LICENSE", "README.md", "environment.yml", "requirements.txt"])
    assert {n.split("/")[0] for n in names if "/" in n} == {"course_utils"}
    library = {p.relative_to(ROOT).as_posix() for p in (ROOT / "course_utils").rglob("*.py")}
    assert {n for n in names if n.startswith("course_utils/")} == library
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == sorted(f"{ZIP_TOP}/{n}" for n in names)
        for name in names:
            assert archive.read(f"{ZIP_TOP}/{name}") == (folder / name).read_bytes(), name
    readme = (folder / "README.md").read_text()
    for needed in ("pip install -r requirements.txt", "jupyter lab", "Binder", "NotImplementedError", "submit"):
        assert needed in readme, needed
    assert "MIT License" in (folder / "LICENSE").read_text()


def test_student_notebooks_are_the_release_and_load_no_file_from_disk(bundle):
    folder, _ = bundle
    for master in MASTERS:
        student = (folder / master.name).read_text(encoding="utf-8")
        assert student == (ROOT / "notebooks" / master.name).read_text(encoding="utf-8")
        # Figures travel inside the notebooks as attachments: no path to an image folder is needed.
        for cell in nbformat.reads(student, as_version=4).cells:
            for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", cell.source):
                assert target.startswith("attachment:"), (master.name, target)


def test_requirements_and_environment_agree_with_pyproject(bundle):
    import yaml

    folder, _ = bundle
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["lab"]
    listed = [line for line in (folder / "requirements.txt").read_text().splitlines()
              if line and not line.startswith("#")]
    assert listed == wanted == requirements()
    env = yaml.safe_load((folder / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"] and "pip" in env["dependencies"]
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip == [wanted]


def test_no_line_of_any_solution_or_hidden_test_is_in_any_file_of_the_bundle(bundle):
    folder, zip_path = bundle
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    files["student.zip (inflated)"] = b"\n".join(
        zipfile.ZipFile(zip_path).read(n) for n in zipfile.ZipFile(zip_path).namelist())
    shown = public_text(data for name, data in files.items() if name.endswith(".ipynb"))
    secret = set().union(*(fenced_lines(m) for m in MASTERS))
    taught = taught_lines()
    assert len(secret) > 40  # the masters really have solutions and hidden tests to hide
    leaks = []
    for line in sorted(secret):
        if line in PUBLIC_BY_DESIGN or line in shown or line in taught:
            continue  # syntax, a formula the exercise's own text states, or the library's taught code
        needle = line.encode("utf-8")
        leaks += [f"{name}: {line}" for name, data in files.items() if needle in data]
    assert not leaks, "master solution / hidden-test lines found in the bundle:\n  " + "\n  ".join(leaks)


def test_two_builds_give_the_same_bytes(tmp_path):
    a_dir, a_zip = write_bundle(tmp_path / "a" / "student")
    b_dir, b_zip = write_bundle(tmp_path / "b" / "student")
    assert a_zip.read_bytes() == b_zip.read_bytes()
    assert [(n, d) for n, d in bundle_contents()] == [(n, d) for n, d in bundle_contents()]
    with zipfile.ZipFile(a_zip) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.namelist() == sorted(archive.namelist())


def test_make_student_bundle_command_writes_build_student(tmp_path):
    out = tmp_path / "student"
    result = subprocess.run([sys.executable, "-m", "tools.student_bundle", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert out.is_dir() and out.with_suffix(".zip").is_file()
    assert "wrote" in result.stdout


RUNNER = textwrap.dedent('''
    """Run each student notebook up to its first exercise; print one JSON line per notebook."""
    import json, sys
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    for path in sys.argv[1:]:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "."}})
        result = {"notebook": path, "errors_before": [], "stopped_at": None, "ename": None}
        with client.setup_kernel():
            probe = nbformat.v4.new_code_cell("import sys; print(sys.executable)")
            client.execute_cell(probe, 0)
            result["kernel_python"] = probe.outputs[0]["text"].strip()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                exercise = (cell.metadata.get("nbgrader") or {}).get("solution", False)
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as exc:
                    if exercise:
                        result["stopped_at"], result["ename"] = index, exc.ename
                    else:
                        result["errors_before"].append([index, exc.ename, str(exc.evalue)[:200]])
                    break
                if exercise:
                    result["stopped_at"] = index  # an exercise that ran without raising
                    break
        print(json.dumps(result), flush=True)
''')


@pytest.mark.slow
def test_a_fresh_environment_from_requirements_alone_runs_each_notebook_to_its_first_exercise(bundle, tmp_path):
    folder, zip_path = bundle
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(unpacked)
    course = unpacked / ZIP_TOP
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # No access to this repository: run from the unpacked copy, with nothing of ours on the path.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PATH"] = os.pathsep.join([str(env_dir / "bin"), env.get("PATH", "")])  # as `activate` does
    for name in ("JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR"):  # no user-level kernels
        env[name] = str(tmp_path / "jupyter" / name.lower())
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
                             cwd=course, env=env, capture_output=True, text=True, timeout=1800)
    assert install.returncode == 0, install.stderr[-3000:]
    where = subprocess.run([str(python), "-c", "import course_utils, os; print(os.path.realpath(course_utils.__file__))"],
                           cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert where.stdout.strip() == str((course / "course_utils" / "__init__.py").resolve()), where.stderr
    (tmp_path / "runner.py").write_text(RUNNER)
    run = subprocess.run([str(python), str(tmp_path / "runner.py"), *[m.name for m in MASTERS]],
                         cwd=course, env=env, capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, run.stderr[-3000:]
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [r["notebook"] for r in results] == [m.name for m in MASTERS]
    for r in results:
        assert Path(r["kernel_python"]).parent == python.parent, r  # the kernel ran in the fresh environment
        assert r["errors_before"] == [], r
        assert r["stopped_at"] is not None and r["ename"] == "NotImplementedError", r
