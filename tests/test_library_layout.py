"""The library's layout (issue 13): what a student reads is small and in plain sight, the machinery says so.

Checked with the ast module, on the source files: every module lists its public names in ``__all__``; no
function is longer than 60 lines; every public function has a numpy-doc docstring with a Raises section;
``gradcheck.py`` stays under 400 lines. Machinery is found by what a module says of itself, not by a list
kept here: the first line of its docstring says a student does not need it (instructor-side modules, such
as the judges, say "students do not need this module" in their opening docstring). The plain modules a
notebook imports, read from the notebooks' build scripts, total at most 2,000 lines.
"""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "course_utils"
MODULES = sorted(p.stem for p in LIBRARY.glob("*.py") if p.stem != "__init__")
MAX_FUNCTION_LINES = 60
MAX_PLAIN_LINES = 2_000
MACHINERY_LINE = "a student does not need this module"
INSTRUCTOR_SIDE = "students do not need this module"


def tree(name):
    return ast.parse((LIBRARY / f"{name}.py").read_text())


def docstring(name):
    return ast.get_docstring(tree(name)) or ""


def is_machinery(name):
    """The module's first docstring line says a student does not need it."""
    return MACHINERY_LINE in docstring(name).splitlines()[0]


def is_instructor_side(name):
    """The module's docstring says it is for instructors ("students do not need this module")."""
    return INSTRUCTOR_SIDE in docstring(name)


def lines_of(name):
    return len((LIBRARY / f"{name}.py").read_text().splitlines())


def notebook_imports():
    """The course_utils modules the notebooks import, read from their build scripts (set of str)."""
    found = set()
    for script in sorted((ROOT / "notebooks" / "build").glob("*.py")):
        text = script.read_text()
        found.update(re.findall(r"from course_utils\.(\w+) import", text))
        found.update(re.findall(r"import course_utils\.(\w+)", text))
        for names in re.findall(r"from course_utils import ([\w, ]+)", text):
            found.update(n.strip() for n in names.split(","))
    return found & set(MODULES)


MACHINERY = sorted(name for name in MODULES if is_machinery(name))

@pytest.mark.parametrize("name", MODULES + ["__init__"])
def test_every_module_lists_its_public_names_and_they_exist(name):
    module = importlib.import_module("course_utils" if name == "__init__" else f"course_utils.{name}")
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


@pytest.mark.parametrize("name", MODULES)
def test_every_public_function_has_a_numpy_doc_docstring_with_raises(name):
    """Each function a module lists in ``__all__`` (and defines) has numpy-doc sections and says what it raises."""
    module = importlib.import_module(f"course_utils.{name}")
    lacking = []
    for public in module.__all__:
        function = getattr(module, public)
        if not inspect.isfunction(function) or function.__module__ != module.__name__:
            continue  # classes, constants, and names a module re-exports from another (checked there)
        doc = inspect.getdoc(function) or ""
        sections = set(re.findall(r"^(\w+)\n-{3,}$", doc, flags=re.M))
        if "Raises" not in sections or not sections & {"Parameters", "Returns"}:
            lacking.append(public)
    assert not lacking, (f"course_utils/{name}.py: public functions without numpy-doc Parameters/Returns and "
                         f"Raises sections: {lacking}")


def test_the_checker_a_student_reads_is_small():
    lines = (LIBRARY / "gradcheck.py").read_text().count("\n")
    assert lines <= 400, f"gradcheck.py has {lines} lines"
    defined = {n.name for n in tree("gradcheck").body if isinstance(n, ast.FunctionDef)}
    assert {"numerical_gradient", "relative_difference", "default_epsilon", "check_gradients"} <= defined


def test_check_gradients_asks_a_student_for_few_settings_and_names_the_valid_options():
    from course_utils.checker_options import CheckOptions, OptionError
    from course_utils.gradcheck import check_gradients
    signature = inspect.signature(check_gradients)
    named = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    assert len(named) <= 7, f"check_gradients has {len(named)} named parameters: {list(signature.parameters)}"
    with pytest.raises(OptionError) as info:  # an unknown option is refused before any evaluation
        check_gradients(lambda p: 0.0, {"w": [1.0]}, {"dw": [0.0]}, n_wrost=3)
    assert isinstance(info.value, TypeError) and "n_wrost" in str(info.value)
    for option in CheckOptions.__dataclass_fields__:
        assert option in str(info.value), f"the error does not list the valid option {option!r}"


def test_machinery_is_found_by_what_it_says_of_itself():
    """The checker's, the bug catalogue's and notebook 4's machinery modules declare themselves; the modules a
    student is sent to do not."""
    assert {"checker_engine", "checker_judge", "checker_noise", "checker_options", "checker_random",
            "checker_progress", "fastcheck", "network", "bug_machinery", "stepsize_sweeps"} <= set(MACHINERY)
    plain = {"gradcheck", "models", "parameters", "bugs", "stepsize", "report", "testcases"}
    assert not plain & set(MACHINERY), f"plain modules that call themselves machinery: {plain & set(MACHINERY)}"


@pytest.mark.parametrize("name", MACHINERY)
def test_machinery_is_not_what_a_notebook_imports(name):
    """A notebook sends students to plain modules; machinery reaches them only through those."""
    assert name not in notebook_imports(), f"a notebook imports the machinery module {name}"


def test_the_plain_modules_a_notebook_imports_total_at_most_2000_lines():
    imported = notebook_imports()
    assert {"gradcheck", "models", "bugs", "stepsize"} <= imported, imported  # the build scripts were read
    plain = sorted(n for n in imported if not is_machinery(n) and not is_instructor_side(n))
    sizes = {name: lines_of(name) for name in plain}
    total = sum(sizes.values())
    assert total <= MAX_PLAIN_LINES, f"{total} lines in the plain modules notebooks import: {sizes}"


def test_dead_code_stays_removed():
    from course_utils import fastcheck, layers
    assert not hasattr(layers, "sigmoid_backward") and not hasattr(fastcheck, "mlp_batched_cost")
