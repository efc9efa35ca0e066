"""environment.yml (conda / Binder) must parse and list the same packages, with the same ranges, as
pyproject.toml's runtime dependencies and the `lab` and `test` extras (what `make lab` and `make test`
install)."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _requirements(items):
    out = {}
    for item in items:
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", item)
        out[match.group(1).lower().replace("_", "-")] = match.group(2).replace(" ", "")
    return out


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _requirements(project["dependencies"] + project["optional-dependencies"]["lab"]
                           + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "pip" in deps
    pip_lists = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one '- pip:' list"
    pip_items = [p for p in pip_lists[0] if not p.startswith("-e")]
    assert "-e ." in pip_lists[0], "Binder must install course_utils itself (-e .)"
    assert _requirements(pip_items) == wanted


def test_requires_python_matches_environment():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
