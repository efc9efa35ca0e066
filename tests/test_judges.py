"""The judges of issue 15 (course_utils/judges.py): one verdict per exercise for the public test, the
autograder and nbgrader.

What the tests prove:

* every wrong implementation of tests/student_mistakes.py fails the public judge and the hidden judge,
  and both name exactly its catalogued mistake (or its whole documented group), with that mistake's
  hint, never another's; the autograder's split path (collect in the worker, plain data over the wire,
  decide in the grader) gives the same verdict as the one-process judge nbgrader uses;
* every correct variant, and the masters' own solutions from notebooks/source, pass the public judge
  and the hidden judge for several seeds;
* public cases are fixed, hidden cases follow the seed; student exceptions become verdicts; the
  notebook's names and the library are restored; bad calls raise JudgeError;
* the judges' reference values agree with the independent references kept in tests/mistake_probes.py;
* the module is readable: __all__, numpy-doc docstrings with Raises, no function over 60 lines, no clock.
"""

import ast
import dataclasses
import inspect
import json
import math
import pathlib
import re

import numpy as np
import pytest

from autograder import wire
from course_utils import judges
from course_utils.mistakes import EXERCISES, MISTAKES, mistake
from tests import mistake_probes as references
from tests import student_mistakes as students

ROOT = pathlib.Path(__file__).resolve().parent.parent
WRONG = [(key, i) for key, sources in students.WRONG.items() for i in range(len(sources))]
SEEDS = (0, 1, 2)


def _expected_ids(key):
    """The ids a verdict must name for a mistake: the mistake, or its whole documented group."""
    return next((tuple(sorted(g)) for g in judges.GROUPS if key in g), (key,))


def _over_the_wire(observations):
    """What the grader receives from the sandboxed worker: the observations encoded and decoded."""
    return [wire.decode(json.loads(json.dumps(wire.encode(o)))) for o in observations]


# ---------------------------------------------------------------------------------------------------
# Every mistake: failed by all three graders, named, with its own hint
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,index", WRONG, ids=[f"{k}[{i}]" for k, i in WRONG])
def test_every_mistake_fails_everywhere_and_is_named_with_its_hint(key, index):
    exercise = students.exercise_of(key)
    function = students.load_key(key, index)
    expected = _expected_ids(key)
    public = judges.judge(exercise, function, cases="public")
    seed = WRONG.index((key, index)) % 5
    cases = judges.cases(exercise, "hidden", seed)
    observations = judges.collect(exercise, function, cases)
    nbgrader = judges.decide(exercise, cases, observations)
    autograder = judges.decide(exercise, cases, _over_the_wire(observations))
    assert autograder == nbgrader
    for verdict in (public, nbgrader):
        assert not verdict.passed
        assert tuple(sorted(verdict.mistake_ids)) == expected, (verdict.mistake_ids, verdict.seen)
        assert verdict.hint in {mistake(i).hint for i in expected}, verdict.hint
        assert verdict.seen and verdict.used and verdict.cases == len(cases if verdict is nbgrader else
                                                                      judges.cases(exercise))


def test_no_hint_is_shared_with_a_mistake_of_the_same_exercise_outside_its_group():
    """A hint quoted for one mistake cannot be read as blaming another mistake of that exercise."""
    for exercise in EXERCISES:
        by_hint = {}
        for m in (m for m in MISTAKES if m.exercise == exercise):
            by_hint.setdefault(m.hint, []).append(m.id)
        for ids in by_hint.values():
            assert len(ids) == 1 or tuple(sorted(ids)) in judges.GROUPS, ids


def test_the_groups_are_the_mistakes_that_behave_alike():
    assert {tuple(sorted(g)) for g in judges.GROUPS} == {tuple(sorted(g)) for g in references.SAME_BEHAVIOUR}
    for group in judges.GROUPS:
        assert len({mistake(i).hint for i in group}) == 1, group


def test_the_issues_examples_are_seen_directly():
    """Each behaviour the issue says today's tests miss is named from what the code did."""
    cases = {
        "gradient_check.forward_difference": "evaluated at theta+1eps, theta",
        "gradient_check.sign_error": "returned 1, expected below 1e-07; with dJ/dtheta = -1*x",
        "gradient_check.plus_twice": "theta+1eps, theta+1eps",
        "gradient_check.perturbed_x": "with x moved",
        "gradient_check.ignored_epsilon": "the same step 1e-07",
        "gradient_check.prints_when_quiet": "printed",
        "gradient_check_n.unrestored_perturbation": "moved several entries at once",
        "gradient_check_n.cost_cache_not_unpacked": "returned the cost alone",
        "backward_propagation_fixed.calls_library": "called the library's",
        "backward_propagation_fixed.db3_missing_1_over_m": "db3 x3 (= m)",
    }
    for key, evidence in cases.items():
        verdict = judges.judge(students.exercise_of(key), students.load_key(key))
        assert evidence in verdict.seen, (key, verdict.seen)
    unpack = judges.judge("gradient_check_n", students.load_key("gradient_check_n.cost_cache_not_unpacked"))
    assert "J_plus[i], _ = forward_propagation_n" in unpack.hint


def test_every_way_of_calling_the_library_backward_is_named():
    for index in range(len(students.WRONG["backward_propagation_fixed.calls_library"])):
        function = students.load_key("backward_propagation_fixed.calls_library", index)
        verdict = judges.judge("backward_propagation_fixed", function)
        assert verdict.mistake_ids == ("backward_propagation_fixed.calls_library",), index


# ---------------------------------------------------------------------------------------------------
# Every correct solution passes everywhere
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(students.CORRECT))
def test_every_correct_variant_passes_public_and_hidden_cases(key):
    exercise, function = students.exercise_of(key), students.load_key(key)
    verdict = judges.judge(exercise, function)
    assert verdict.passed and verdict.mistake_ids == () and verdict.hint == "", verdict.seen
    for seed in SEEDS:
        verdict = judges.judge(exercise, function, cases="hidden", rng=seed)
        assert verdict.passed, (seed, verdict.seen, verdict.hint)


def _master_functions():
    """(exercise, source of its function) from the masters' solution cells (demo lines left out)."""
    found = []
    for path in sorted((ROOT / "notebooks" / "source").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            name = meta.get("grade_id")
            if meta.get("solution") and name in EXERCISES:
                tree = ast.parse("".join(cell["source"]))
                keep = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                        or (isinstance(n, ast.FunctionDef) and n.name == name)]
                found.append((name, ast.unparse(ast.Module(body=keep, type_ignores=[]))))
    return found


MASTERS = _master_functions()


def test_every_exercise_has_a_master_solution():
    assert sorted(name for name, _ in MASTERS) == sorted(EXERCISES)


@pytest.mark.parametrize("exercise,source", MASTERS, ids=[name for name, _ in MASTERS])
def test_the_masters_solutions_pass(exercise, source):
    function = students.load(source, exercise)
    assert judges.judge(exercise, function).passed
    verdict = judges.judge(exercise, function, cases="hidden", rng=SEEDS[-1])
    assert verdict.passed, verdict.message


def test_a_module_level_solution_passes_and_its_module_is_restored():
    from tests import student_solutions
    before = dict(vars(student_solutions))
    assert judges.judge("gradient_check", student_solutions.gradient_check).passed
    assert vars(student_solutions) == before


# ---------------------------------------------------------------------------------------------------
# Cases: public ones fixed, hidden ones drawn from the seed
# ---------------------------------------------------------------------------------------------------

def _fingerprint(cases):
    return repr([(c.label, c.setup, c.public, json.dumps(wire.encode(c.args))) for c in cases])


@pytest.mark.parametrize("exercise", EXERCISES)
def test_public_cases_are_fixed_and_hidden_cases_follow_the_seed(exercise):
    public = judges.cases(exercise)
    assert _fingerprint(public) == _fingerprint(judges.cases(exercise, "public"))
    assert all(c.public for c in public)
    one, again, other = (judges.cases(exercise, "hidden", s) for s in (1, 1, 2))
    assert _fingerprint(one) == _fingerprint(again) != _fingerprint(other)
    assert _fingerprint(one[:len(public)]) == _fingerprint(public)  # hidden = public + randomised
    assert len(one) > len(public) and not any(c.public for c in one[len(public):])
    assert _fingerprint(judges.cases(exercise, "hidden", np.random.default_rng(1))) == _fingerprint(one)


def test_public_verdicts_are_deterministic():
    function = students.load_key("gradient_check_n.copied_once")
    assert judges.judge("gradient_check_n", function) == judges.judge("gradient_check_n", function)


# ---------------------------------------------------------------------------------------------------
# Student errors become verdicts; the notebook and the library are left as they were
# ---------------------------------------------------------------------------------------------------

def test_a_stub_and_a_crash_are_verdicts_not_tracebacks():
    stub = students.load("def gradient_check(x, theta, epsilon=1e-7, print_msg=False):\n"
                         "    raise NotImplementedError()\n", "gradient_check")
    verdict = judges.judge("gradient_check", stub)
    assert not verdict.passed and "not implemented yet" in verdict.hint and verdict.mistake_ids == ()
    crash = students.load("def optimal_epsilon(dtype, method='centered', scale=1.0):\n"
                          "    return np.finfo(dtype).eps ** (1 / 3) * scale[0]\n", "optimal_epsilon")
    verdict = judges.judge("optimal_epsilon", crash, cases="hidden", rng=0)
    assert not verdict.passed and "raised TypeError" in verdict.seen
    verdict = judges.judge("forward_propagation", 42)
    assert not verdict.passed and "Pass the function itself" in verdict.hint


def test_the_notebook_names_and_the_library_are_restored():
    import course_utils.bugs
    import course_utils.models

    function = students.load_key("gradient_check_n.correct_1")
    before = dict(function.__globals__)
    judges.judge("gradient_check_n", function, cases="hidden", rng=0)
    assert function.__globals__ == before
    library = (course_utils.bugs.correct, course_utils.bugs.inject, course_utils.models.backward_propagation_n)
    for index in range(len(students.WRONG["backward_propagation_fixed.calls_library"])):
        judges.judge("backward_propagation_fixed", students.load_key("backward_propagation_fixed.calls_library", index))
    assert (course_utils.bugs.correct, course_utils.bugs.inject, course_utils.models.backward_propagation_n) == library


def test_the_message_says_which_functions_were_used():
    verdict = judges.judge("gradient_check", students.load_key("gradient_check.sign_error"))
    assert "not yours" in verdict.used and "forward_propagation" in verdict.used and verdict.used in verdict.message
    used = judges.judge("gradient_check_n", students.load_key("gradient_check_n.correct_1")).used
    assert "forward_propagation_n" in used


def test_bad_calls_raise_judge_errors():
    with pytest.raises(judges.JudgeError, match="exercises are"):
        judges.judge("gradient_check_m", print)
    with pytest.raises(judges.JudgeError, match="public"):
        judges.cases("gradient_check", "secret")
    with pytest.raises(judges.JudgeError, match="rng"):
        judges.judge("gradient_check", print, cases="hidden")
    with pytest.raises(judges.JudgeError, match="fit"):
        judges.decide("optimal_epsilon", judges.cases("optimal_epsilon"), [{"kind": "number"}])
    with pytest.raises(dataclasses.FrozenInstanceError):
        judges.judge("optimal_epsilon", students.load_key("optimal_epsilon.correct_1")).passed = False


# ---------------------------------------------------------------------------------------------------
# The judges' references against the independent ones of the tests
# ---------------------------------------------------------------------------------------------------

def test_the_judges_references_agree_with_the_independent_ones():
    for case in judges.cases("gradient_check_n", "hidden", 4):
        parameters, gradients, X, Y = case.args[:4]
        epsilon = case.args[4] if len(case.args) > 4 else 1e-7
        judged = judges._gcn_predictions(case)[None][0]
        independent = references._centered_difference(X, Y, parameters, gradients, epsilon)
        if case.setup["right"]:  # round-off only: the textbook cost (the library's) is noisier than the stable one
            assert judged < 1e-6 and independent < 1e-6, case.label
        else:
            assert math.isclose(judged, independent, rel_tol=1e-4), case.label
    for case in judges.cases("backward_propagation_fixed", "hidden", 4):
        X, Y, cache = case.args
        parameters = dict(zip(("W1", "b1", "W2", "b2", "W3", "b3"), (cache[i] for i in (2, 3, 6, 7, 10, 11))))
        right = references.network_gradients(X, Y, parameters)
        variant = judges._backward_variant(*case.args)
        assert all(np.allclose(variant[k], right[k], rtol=1e-10, atol=1e-14) for k in right), case.label
    for case in judges.cases("optimal_epsilon", "hidden", 4):
        name, method, scale = case.args
        expected = float(np.finfo(name).eps) ** (1 / 3 if method == "centered" else 1 / 2) * scale
        # the judge takes the library's default_epsilon, whose float32 root is computed in float32
        assert math.isclose(judges._eps_predictions(case)[None], expected, rel_tol=1e-12 if name == "float64" else 1e-6)


# ---------------------------------------------------------------------------------------------------
# The module
# ---------------------------------------------------------------------------------------------------

def test_module_exports_docstrings_and_size():
    assert set(judges.__all__) == {"COURSE_SEED", "GROUPS", "Case", "JudgeError", "Verdict", "cases", "collect", "decide", "judge"}
    for name in ("cases", "collect", "decide", "judge"):
        doc = getattr(judges, name).__doc__
        assert all(section in doc for section in ("Parameters", "Returns", "Raises")), name
    source = inspect.getsource(judges)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno - node.lineno + 1 <= 60, node.name
    assert "import time" not in source and "perf_counter" not in source and "datetime" not in source
    assert "tests" not in {n.split(".")[0] for n in _imported_modules(source)}


def _imported_modules(source):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module or ""


# ---------------------------------------------------------------------------------------------------
# Mistakes outside the catalogue: failed, and no catalogued mistake is blamed
# ---------------------------------------------------------------------------------------------------

UNCATALOGUED = {
    "gradient_check": students._gc("""
        J_plus, J_minus = forward_propagation(x, theta + 2 * epsilon), forward_propagation(x, theta - 2 * epsilon)
        gradapprox = (J_plus - J_minus) / (4 * epsilon)
        grad = backward_propagation(x, theta)
        difference = float(abs(grad - gradapprox) / (abs(grad) + abs(gradapprox))) * 2
        """),
    "gradient_check_n": students._gcn(("range(num_parameters)", "range(1, num_parameters)")),
    "gradient_check_n#half_step": students._gcn(("+ epsilon\n", "+ epsilon / 2\n"), ("- epsilon\n", "- epsilon / 2\n"),
                                                ("(2 * epsilon)", "epsilon")),
    "backward_propagation_fixed": students._fixed(("dW3 = 1. / m * np.dot(dZ3, A2.T)",
                                                   "dW3 = 1. / m * np.dot(A2, dZ3.T)")),
    "optimal_epsilon": students._eps_master(u="np.finfo(float).eps", eps="u ** power"),
    "k_from_report": students._k("k = round((1 + r) / (1 - r) if block.analytic_norm >= block.numeric_norm "
                                 "else (1 - r) / (1 + r), 1)"),
    "forward_propagation": students._fp("return theta * x + 1"),
    "backward_propagation": students._bp("return 2 * x"),
}


@pytest.mark.parametrize("name", sorted(UNCATALOGUED))
def test_a_mistake_outside_the_catalogue_fails_without_blaming_a_catalogued_one(name):
    exercise = name.split("#")[0]
    function = students.load(UNCATALOGUED[name], exercise)
    for verdict in (judges.judge(exercise, function), judges.judge(exercise, function, cases="hidden", rng=3)):
        assert not verdict.passed and verdict.mistake_ids == (), (verdict.mistake_ids, verdict.seen)
        assert verdict.hint not in {m.hint for m in MISTAKES} and verdict.seen, verdict.hint
        assert 1 <= len(re.findall(r"[.!?](?:\s+[A-Z`(]|$)", verdict.hint)) <= 2, verdict.hint


def test_the_library_pieces_can_be_handed_in():
    from course_utils import models
    calls = []

    def forward(X, Y, parameters):
        calls.append(1)
        return models.forward_propagation_n(X, Y, parameters)
    function = students.load_key("gradient_check_n.correct_1")
    assert judges.judge("gradient_check_n", function, library={"forward_propagation_n": forward}).passed and calls


def test_what_a_student_function_prints_is_kept_up_to_a_bound():
    """A function printing in a loop cannot fill the judge's memory: stdout is capped while it is written."""
    from course_utils.judges import _call

    def chatty():
        for _ in range(200_000):
            print("x" * 100)
        return 1.0

    observed = _call(chatty, ())
    assert observed["kind"] == "number" and len(observed["stdout"]) == 2000
