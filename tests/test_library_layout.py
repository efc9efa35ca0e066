"""The library's layout (issue 13): what a student reads is small and in plain sight, the machinery says so.

Checked with the ast module, on the source files: every module lists its public names in ``__all__``;
no function is longer than 60 lines; ``gradcheck.py`` stays under 400 lines; the machinery modules open
with a first line that tells a student they do not need them.
"""

import ast
import importlib
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parent.parent / "course_utils"
MODULES = sorted(p.stem for p in LIBRARY.glob("*.py") if p.stem != "__init__")
MACHINERY = ("checker_engine", "checker_judge", "checker_noise", "checker_random", "checker_progress", "fastcheck",
             "network", "stepsize_sweeps")
MAX_FUNCTION_LINES = 60


def tree(name):
    return ast.parse((LIBRARY / f"{name}.py").read_text())


@pytest.mark.parametrize("name", MODULES)
def test_every_module_lists_its_public_names_and_they_exist(name):
    module = importlib.import_module(f"course_utils.{name}")
    assert hasattr(module, "__all__"), f"course_utils/{name}.py has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names {missing}, which the module does not define"
    assert len(set(module.__all__)) == len(module.__all__)


@pytest.mark.parametrize("name", MODULES)
def test_no_function_is_longer_than_60_lines(name):
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree(name))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"course_utils/{name}.py: functions over {MAX_FUNCTION_LINES} lines (docstring included): {long}"


def test_the_checker_a_student_reads_is_small():
    lines = (LIBRARY / "gradcheck.py").read_text().count("\n")
    assert lines <= 400, f"gradcheck.py has {lines} lines"
    defined = {n.name for n in tree("gradcheck").body if isinstance(n, ast.FunctionDef)}
    assert {"numerical_gradient", "relative_difference", "default_epsilon", "check_gradients"} <= defined


@pytest.mark.parametrize("name", MACHINERY)
def test_machinery_modules_say_a_student_does_not_need_them(name):
    first = ast.get_docstring(tree(name)).splitlines()[0]
    assert "a student does not need this module" in first, first


def test_dead_code_stays_removed():
    from course_utils import fastcheck, layers
    assert not hasattr(layers, "sigmoid_backward") and not hasattr(fastcheck, "mlp_batched_cost")
