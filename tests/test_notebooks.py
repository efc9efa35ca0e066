"""The student notebooks, executed: stubs fail where they should, solutions pass, mistakes get their hint.

Every notebook runs in a real kernel (nbclient), in ``notebooks/`` as a student would run it. The solution
regions are found here by a parser of our own (not the release tool's), so the round trip is an
independent check that ``make release`` loses nothing.
"""

import contextlib
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from course_utils.mistakes import mistake
from tools.nbbuild import REPO_ROOT

SOURCE = REPO_ROOT / "notebooks" / "source"
STUDENT_DIR = REPO_ROOT / "notebooks"
NAMES = ["01_gradient_check_1d", "02_gradient_check_nd"]
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]


# --- helpers ------------------------------------------------------------------------------------------

def _regions(source, begin, end):
    """Lines of ``source`` between each ``begin``/``end`` fence pair (fences excluded), in order."""
    regions, current = [], None
    for line in source.splitlines():
        if line.strip() == begin:
            current = []
        elif line.strip() == end:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions


def _without_fences(source):
    """A master cell as the student should see it once solved: hidden tests dropped, fence lines dropped."""
    out, hidden = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == "### BEGIN HIDDEN TESTS":
            hidden = True
        elif marker == "### END HIDDEN TESTS":
            hidden = False
        elif not hidden and marker not in ("### BEGIN SOLUTION", "### END SOLUTION"):
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def _fill(source, bodies):
    """Replace the k-th two-line stub of ``source`` by ``bodies[k]`` (lines, re-indented to the stub's)."""
    lines, out, k, i = source.splitlines(), [], 0, 0
    while i < len(lines):
        if lines[i].strip() == STUB[0] and i + 1 < len(lines) and lines[i + 1].strip() == STUB[1]:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            body = textwrap.dedent("\n".join(bodies[k])).splitlines()
            out.extend(indent + line if line.strip() else "" for line in body)
            k += 1
            i += 2
        else:
            out.append(lines[i])
            i += 1
    assert k == len(bodies), f"found {k} stubs, expected {len(bodies)}"
    return "\n".join(out)


def _grader(cell):
    return cell.metadata.get("nbgrader", {})


def _student(name):
    return nbformat.read(STUDENT_DIR / f"{name}.ipynb", as_version=4)


def _master(name):
    return nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)


def _solved(name):
    """The student version with every stub replaced by the master's solution (matched by grade_id)."""
    student = _student(name)
    solutions = {_grader(c)["grade_id"]: _regions(c.source, "### BEGIN SOLUTION", "### END SOLUTION")
                 for c in _master(name).cells if _grader(c).get("solution")}
    for cell in student.cells:
        if _grader(cell).get("solution"):
            cell.source = _fill(cell.source, solutions[_grader(cell)["grade_id"]])
    return student


def _client(nb):
    return NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                          resources={"metadata": {"path": str(STUDENT_DIR)}})


def _errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.fixture(scope="module")
def stub_runs():
    """Each student version as released (stubs), executed top to bottom with errors allowed."""
    runs = {}
    for name in NAMES:
        nb = _student(name)
        _client(nb).execute()
        runs[name] = nb
    return runs


class Session:
    """A live kernel on a notebook (the solved student version, or one as released), which runs its cells
    in order, as far as a test needs them (``upto``), and then more cells on demand (``run``)."""

    def __init__(self, nb, stack):
        self.nb = nb
        self.client = _client(nb)
        stack.enter_context(self.client.setup_kernel())
        self.done = 0  # the notebook's cells before this index have run

    def upto(self, index=None):
        """Run the notebook's cells up to and including ``index`` (None: every cell); return the session."""
        index = len(self.nb.cells) - 1 if index is None else index
        for i in range(self.done, min(index + 1, len(self.nb.cells))):
            if self.nb.cells[i].cell_type == "code":
                self.client.execute_cell(self.nb.cells[i], i)
        self.done = max(self.done, index + 1)
        return self

    def run(self, source):
        cell = new_code_cell(source)
        self.nb.cells.append(cell)  # nbclient stores the executed cell at its index
        try:
            self.client.execute_cell(cell, len(self.nb.cells) - 1)
        finally:
            self.nb.cells.pop()  # keep the notebook itself as it was
        return cell


@pytest.fixture(scope="module")
def solved():
    """name -> Session on the solved student version (cells run on demand: ``Session.upto``)."""
    with contextlib.ExitStack() as stack:
        sessions = {}

        def get(name):
            if name not in sessions:
                sessions[name] = Session(_solved(name), stack)
            return sessions[name]

        yield get


# --- the released stubs -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_student_version_runs_cleanly_until_its_first_exercise_then_raises_not_implemented(stub_runs, name):
    cells = stub_runs[name].cells
    first_exercise = next(i for i, c in enumerate(cells) if _grader(c).get("solution"))
    first_error = next(i for i, c in enumerate(cells) if _errors(c))
    assert first_error == first_exercise, "a cell before the first exercise failed"
    assert _errors(cells[first_exercise])[0].ename == "NotImplementedError"
    assert all(c.execution_count for c in cells[:first_exercise] if c.cell_type == "code")


@pytest.mark.parametrize("name", NAMES)
def test_every_public_test_cell_on_a_stub_says_implement_it_first(stub_runs, name):
    graded = [c for c in stub_runs[name].cells if _grader(c).get("grade") and not _grader(c).get("solution")]
    assert graded
    for cell in graded:
        errors = _errors(cell)
        assert len(errors) == 1 and errors[0].ename == "ExerciseFailure", cell.source
        assert "is not implemented yet" in errors[0].evalue
        assert "raise NotImplementedError()" in errors[0].evalue  # it says what to replace
        # the judge's message alone (its lines), not a library traceback
        assert len(errors[0].traceback) == len(errors[0].evalue.splitlines())
        assert not any("Traceback" in line or "File " in line for line in errors[0].traceback)


@pytest.mark.parametrize("name", NAMES)
def test_stub_runs_fail_only_for_missing_code(stub_runs, name):
    for cell in stub_runs[name].cells:
        for error in _errors(cell):
            assert error.ename == "NotImplementedError" or "is not implemented yet" in error.evalue, \
                f"unexpected {error.ename}: {error.evalue}"


# --- the round trip -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_filling_the_stubs_with_the_masters_solutions_gives_back_the_master(name):
    solved_nb, master = _solved(name), _master(name)
    assert [c.source for c in solved_nb.cells] == [_without_fences(c.source) for c in master.cells]


@pytest.mark.parametrize("name", NAMES)
def test_solved_student_version_passes_every_public_test(solved, name):
    session = solved(name).upto()
    graded = [c for c in session.nb.cells if _grader(c).get("grade") and not _grader(c).get("solution")]
    assert graded
    for cell in session.nb.cells:
        assert not _errors(cell), f"{cell.source[:60]!r} failed: {_errors(cell)}"
    for cell in graded:
        assert _stdout(cell).startswith("\u2714"), _stdout(cell)


# --- wrong but plausible solutions get the matching hint ----------------------------------------------

GRADIENT_CHECK_BY_EPSILON = """
J_plus = forward_propagation(x, theta + epsilon)
J_minus = forward_propagation(x, theta - epsilon)
gradapprox = (J_plus - J_minus) / epsilon
grad = backward_propagation(x, theta)
difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
"""

GRADIENT_CHECK_NO_DENOMINATOR = """
gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
grad = backward_propagation(x, theta)
difference = float(np.linalg.norm(grad - gradapprox))
"""

LOOP = """
theta_plus = {copy}
theta_plus[i] = theta_plus[i] + epsilon
J_plus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, parameters))
theta_minus = {copy}
theta_minus[i] = theta_minus[i] - epsilon
J_minus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_minus, parameters))
gradapprox[i] = (J_plus[i] - J_minus[i]) / ({width})
"""

RELATIVE = """
difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
"""

NORM_OF_SUM = """
difference = float(np.linalg.norm(grad - gradapprox) / np.linalg.norm(grad + gradapprox))
"""

GOOD_LOOP = LOOP.format(copy="np.copy(parameters_values)", width="2 * epsilon")

K_ALWAYS_LARGER = """
if block.analytic_norm >= block.numeric_norm:
    k = (1 + r) / (1 - r)
else:
    k = (1 + r) / (1 - r)
"""

EPS_MAX_ONE = """
u = float(np.finfo(dtype).eps)
power = 1 / 3 if method == "centered" else 1 / 2
eps = u ** power * max(1.0, scale)
"""

#: (notebook, exercise, bodies, the catalogued mistake whose hint the public test must show)
WRONG = [
    ("01_gradient_check_1d", "forward_propagation", ["J = theta + x"], "forward_propagation.added"),
    ("01_gradient_check_1d", "backward_propagation", ["dtheta = theta"], "backward_propagation.returned_theta"),
    ("01_gradient_check_1d", "gradient_check", [GRADIENT_CHECK_BY_EPSILON], "gradient_check.divided_by_epsilon"),
    ("01_gradient_check_1d", "gradient_check", [GRADIENT_CHECK_NO_DENOMINATOR], "gradient_check.no_denominator"),
    ("02_gradient_check_nd", "gradient_check_n",
     [LOOP.format(copy="np.copy(parameters_values)", width="epsilon"), RELATIVE], "gradient_check_n.divided_by_epsilon"),
    ("02_gradient_check_nd", "gradient_check_n",
     [LOOP.format(copy="parameters_values", width="2 * epsilon"), RELATIVE], "gradient_check_n.forgot_copy"),
    ("02_gradient_check_nd", "gradient_check_n", [GOOD_LOOP, NORM_OF_SUM], "gradient_check_n.norm_of_sum"),
    ("03_bug_hunt", "k_from_report", [K_ALWAYS_LARGER], "k_from_report.always_larger_case"),
    ("04_choosing_epsilon", "optimal_epsilon", [EPS_MAX_ONE], "optimal_epsilon.max_one_scale"),
]


@pytest.mark.parametrize("name, grade_id, bodies, hint", WRONG,
                         ids=[w[3] for w in WRONG])
def test_a_plausible_mistake_fails_its_public_test_with_the_matching_hint(solved, name, grade_id, bodies, hint):
    session = solved(name)
    student = {_grader(c).get("grade_id"): c for c in _student(name).cells}
    cells = [c for c in session.nb.cells]
    index = next(i for i, c in enumerate(cells) if _grader(c).get("grade_id") == grade_id)
    test_index = next(i for i in range(index + 1, len(cells)) if _grader(cells[i]).get("grade"))
    test_cell = cells[test_index]
    session.upto(test_index)  # the notebook as the student has run it when they reach this test
    wrong = _fill(student[grade_id].source, [b.strip("\n").splitlines() for b in bodies])
    try:
        session.run(wrong)
        result = session.run(test_cell.source)
        errors = _errors(result)
        assert len(errors) == 1 and errors[0].ename == "ExerciseFailure", _stdout(result)
        assert mistake(hint).hint in errors[0].evalue, errors[0].evalue  # the catalogue's hint, via the judge
    finally:
        session.run(cells[index].source)  # put the right solution back for the next case
    assert _stdout(session.run(test_cell.source)).startswith("\u2714")
