"""A synthetic class for the class report: ``python -m autograder demo-class OUT --size 60 --seed 0``.

Machinery: it makes fake submissions for demonstrations and tests; a student does not need this module
to follow the course.

Every submission is a released student notebook (``notebooks/*.ipynb``) whose exercise cells are filled
in: with the master's solution or a correct variant, with a catalogued wrong implementation
(``autograder.demo_sources.WRONG``, so the mistake id is known in advance), or left as the released stub.
A few files are broken on purpose: a file that is not JSON, an empty file, a notebook whose exercise
sleeps past any time limit, and one whose exercise crashes (an error the catalogue does not name). Some
students write their name in a comment of a wrong cell, so that ``--anonymize`` has something to strip.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same size and seed give the same files,
byte for byte. What was planted goes to ``OUT/.planted.json`` (not a notebook, so ``batch`` ignores it):
one entry per file with its kind, notebook, and per exercise what it holds.
"""

import json
from pathlib import Path

import numpy as np

from autograder.demo_sources import CORRECT, WRONG, exercise_of
from autograder.specs import notebook_specs

__all__ = ["MANIFEST", "NOT_IN_THE_NOTEBOOK", "plan_class", "write_class"]

ROOT = Path(__file__).resolve().parent.parent
#: Name of the file that says what was planted (inside OUT, never graded: it is not a notebook).
MANIFEST = ".planted.json"
#: (mistake id, index) of the sources that use a name their notebook never defines: in a notebook they
#: raise NameError before the mistake shows, so the demo never plants them.
NOT_IN_THE_NOTEBOOK = {("backward_propagation_fixed.calls_library", 1)}

#: Invented names (no real student): first and last names the anonymisation test looks for.
FIRST_NAMES = ("Aurelio", "Brisane", "Calloway", "Delphine", "Ezequiel", "Fiorella", "Gideon", "Honorine",
               "Ignatius", "Jessamy", "Kasimir", "Leocadia", "Maximilien", "Nerissa", "Octavian", "Perpetua")
LAST_NAMES = ("Abernathy", "Blackwood", "Castellano", "Drummond", "Espinosa", "Fairweather", "Gallagher",
              "Hargreaves", "Iglesias", "Jablonski", "Kowalczyk", "Lindqvist", "Montgomery", "Nakashima",
              "Ostrowski", "Pemberton")

#: Probabilities of what an exercise cell holds (the rest of the mass is a catalogued mistake).
P_CORRECT, P_STUB, P_NAME_COMMENT = 0.4, 0.05, 0.3

#: The broken files planted in any class of at least ``MIN_SIZE_FOR_BROKEN`` files.
BROKEN = ("corrupt_json", "empty", "timeout", "crash")
MIN_SIZE_FOR_BROKEN = 8
#: The notebook and exercise of the planted time-out and crash, and their cells.
TIMEOUT_AT = ("04_choosing_epsilon", "optimal_epsilon")
CRASH_AT = ("01_gradient_check_1d", "backward_propagation")
TIMEOUT_SOURCE = ('def optimal_epsilon(dtype, method="centered", scale=1.0):\n'
                  "    import time\n"
                  "    time.sleep(10 ** 6)  # waits for a result that never comes\n"
                  "    return 1e-5 * scale\n")
CRASH_SOURCE = ("def backward_propagation(x, theta):\n"
                "    rates = {}\n"
                "    return rates[theta] * x  # a KeyError on every call\n")


def _weights(n, rng):
    """Zipf-like weights over a random order of ``n`` items: a few mistakes are common, most are rare."""
    order = rng.permutation(n)
    weights = 1.0 / (1.0 + order)
    return weights / weights.sum()


def _draw_exercise(exercise, weights, rng):
    """What one exercise cell holds: a dict with "planted" ("correct", "stub" or "mistake"), and "key" and
    "index" for a mistake or a correct variant ("master" for the master's own cell)."""
    roll = rng.random()
    if roll < P_CORRECT:
        variants = ["master"] + sorted(k for k in CORRECT if exercise_of(k) == exercise)
        return {"planted": "correct", "key": variants[int(rng.integers(len(variants)))], "index": 0}
    if roll < P_CORRECT + P_STUB:
        return {"planted": "stub"}
    keys = sorted(k for k in WRONG if exercise_of(k) == exercise)
    key = keys[int(rng.choice(len(keys), p=weights[exercise]))]
    indices = [i for i in range(len(WRONG[key])) if (key, i) not in NOT_IN_THE_NOTEBOOK]
    return {"planted": "mistake", "key": key, "index": indices[int(rng.integers(len(indices)))],
            "name_in_cell": bool(rng.random() < P_NAME_COMMENT)}


def plan_class(size=60, seed=0):
    """What each synthetic submission holds, drawn from ``seed`` (no file is written).

    Parameters
    ----------
    size : int, number of files (notebooks and broken files), at least 1 and at most 256
    seed : int, seed of ``numpy.random.default_rng``

    Returns
    -------
    list of dict, one per file: "file" (a name such as "delphine_drummond.ipynb"), "student" (the invented
    name), "kind" ("notebook", "corrupt_json" or "empty"), and for a notebook "notebook" (its id) and
    "exercises" (grade_id -> what its cell holds: "planted" is "correct", "stub", "mistake", "timeout"
    or "crash"; a mistake has its "key" (the mistake id) and "index" among ``WRONG[key]``)

    Raises
    ------
    ValueError if ``size`` is not between 1 and 256 (there are 256 invented names).
    """
    size = int(size)
    if not 1 <= size <= len(FIRST_NAMES) * len(LAST_NAMES):
        raise ValueError(f"--size must be between 1 and {len(FIRST_NAMES) * len(LAST_NAMES)}, got {size}")
    rng = np.random.default_rng(seed)
    specs = notebook_specs()
    picks = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), size=size, replace=False)
    students = [(FIRST_NAMES[p // len(LAST_NAMES)], LAST_NAMES[p % len(LAST_NAMES)]) for p in picks]
    weights = {e.judge_name: _weights(sum(1 for k in WRONG if exercise_of(k) == e.judge_name), rng)
               for spec in specs.values() for e in spec.exercises}
    broken = list(BROKEN) if size >= MIN_SIZE_FOR_BROKEN else []
    plan = []
    for n, (first, last) in enumerate(students):
        entry = {"file": f"{first.lower()}_{last.lower()}.ipynb", "student": f"{first} {last}"}
        kind = broken[n] if n < len(broken) else "notebook"
        if kind in ("corrupt_json", "empty"):
            plan.append(dict(entry, kind=kind))
            continue
        notebook_id = {"timeout": TIMEOUT_AT[0], "crash": CRASH_AT[0]}.get(kind)
        notebook_id = notebook_id or sorted(specs)[int(rng.integers(len(specs)))]
        exercises = {}
        for exercise in specs[notebook_id].exercises:
            if (notebook_id, exercise.function) in (TIMEOUT_AT, CRASH_AT) and kind in ("timeout", "crash"):
                exercises[exercise.grade_id] = {"planted": kind}
            else:
                exercises[exercise.grade_id] = _draw_exercise(exercise.judge_name, weights, rng)
        plan.append(dict(entry, kind="notebook", notebook=notebook_id, exercises=exercises))
    return plan


def _cell_source(grade_id, what, student, master_cells):
    """The source an exercise cell gets for one planted entry (None: keep the released stub)."""
    planted = what["planted"]
    if planted == "stub":
        return None
    if planted == "timeout":
        return TIMEOUT_SOURCE
    if planted == "crash":
        return CRASH_SOURCE
    if planted == "correct":
        return master_cells[grade_id] if what["key"] == "master" else CORRECT[what["key"]]
    source = WRONG[what["key"]][what["index"]]
    if what.get("name_in_cell"):
        head, _, body = source.partition("\n")
        source = f"{head}\n    # {student}'s answer\n{body}"
    return source


def _fill(notebook, sources):
    """A copy of a notebook (dict) with the cells of ``sources`` (grade_id -> source) replaced."""
    notebook = json.loads(json.dumps(notebook))
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in sources and sources[grade_id] is not None:
            cell["source"] = sources[grade_id]
            cell["outputs"], cell["execution_count"] = [], None
    return notebook


def _solution_cells(path):
    """grade_id -> source of a master notebook's solution cells."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in notebook["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


def write_class(out, size=60, seed=0, notebooks=ROOT / "notebooks"):
    """Write the synthetic class into ``out`` and the manifest ``out/.planted.json``.

    Parameters
    ----------
    out : str or Path, created if needed; files of an earlier class with the same names are replaced
    size : int, number of files (see ``plan_class``)
    seed : int
    notebooks : Path, the folder of released student notebooks (with ``source/`` holding the masters)

    Returns
    -------
    dict, the manifest: "seed", "size", "submissions" (the list of ``plan_class``)

    Raises
    ------
    ValueError for a bad size; FileNotFoundError when the student notebooks or masters are missing
    (``make notebooks`` writes them).
    """
    out, notebooks = Path(out), Path(notebooks)
    plan = plan_class(size, seed)
    out.mkdir(parents=True, exist_ok=True)
    released, masters = {}, {}
    for notebook_id in notebook_specs():
        released[notebook_id] = json.loads((notebooks / f"{notebook_id}.ipynb").read_text(encoding="utf-8"))
        masters[notebook_id] = _solution_cells(notebooks / "source" / f"{notebook_id}.ipynb")
    for entry in plan:
        path = out / entry["file"]
        if entry["kind"] == "empty":
            path.write_bytes(b"")
        elif entry["kind"] == "corrupt_json":
            path.write_text('{"cells": [{"cell_type": "code", "source": "def forward_pro', encoding="utf-8")
        else:
            nid = entry["notebook"]
            sources = {g: _cell_source(g, what, entry["student"], masters[nid])
                       for g, what in entry["exercises"].items()}
            path.write_text(json.dumps(_fill(released[nid], sources), indent=1) + "\n", encoding="utf-8")
    manifest = {"seed": int(seed), "size": int(size), "submissions": plan}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest
