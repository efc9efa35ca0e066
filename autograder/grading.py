"""Grade one submitted notebook: find its cells, run each exercise in the sandbox, judge, report.

``grade_notebook(path, options)`` never raises for a bad submission: whatever the file holds, it returns
a results dictionary in Gradescope's schema (``score``, ``execution_time``, ``output``, ``tests``...);
each test also carries ``mistake_ids``, the catalogued mistakes its judge named, and
``extra_data.outcome``, what happened to the exercise (one of ``OUTCOMES``, decided here where the grade
is: the class report counts time-outs and crashes from it, not from the feedback's wording).

An exercise is decided by its judge (``course_utils.judges``): the sandboxed worker builds the hidden
cases from the submission's seed and sends back what the student's function did on each
(``judges.collect``); this process rebuilds the same cases and calls ``judges.decide`` on the decoded
observations. Nothing the worker sends is trusted beyond what the wire format and ``decide`` validate.
"""

import json
import os
import secrets
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from course_utils import judges

from autograder.notebook import MAX_ID_CHARS, SubmissionError, load_submission, printable, shorten, strip_magics
from autograder.sandbox import MAX_EVENT_BYTES, Limits, Sandbox, _default_hide
from autograder.specs import notebook_specs
from autograder.wire import WireError, decode

__all__ = ["OUTCOMES", "Options", "grade_notebook", "summary_line", "write_results", "foreign_notebook_results"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MASTERS = PROJECT_ROOT / "notebooks" / "source"
#: The released student notebooks: an exercise cell identical to its released stub is not run.
DEFAULT_STUBS = PROJECT_ROOT / "notebooks"
_MASTER_CACHE = {}  # (path, mtime, size) -> (setup sources, {grade_id: source}), read once per process
_MASTER_LOCK = threading.Lock()
#: What happened to one exercise, as written in each test entry's ``extra_data.outcome``:
#: passed (full marks); failed (judged wrong, or right only by calling the library's own version; the
#: named mistakes are in ``mistake_ids``); not_attempted (the released stub, or the function still
#: raises NotImplementedError); missing (no cell for the exercise in the notebook); timeout (stopped at the
#: wall-clock or CPU time limit); crash (the student's code raised, exited, was killed by a signal, or broke
#: the grader's channel); grader_error (the grader's own failure: not the student's fault).
OUTCOMES = ("passed", "failed", "not_attempted", "missing", "timeout", "crash", "grader_error")


@dataclass
class Options:
    """How to grade.

    Attributes
    ----------
    limits : Limits, per exercise
    isolate : bool or None, see ``Sandbox`` (None: whenever possible)
    seed : int or None, seed of the hidden cases (None: fresh randomness for every submission)
    masters : Path or None, directory of master notebooks whose locked setup cells are used instead of
        the submission's (None: the repository's notebooks/source when present)
    specs : dict notebook_id -> NotebookSpec (None: ``notebook_specs()``)
    private_paths : list of paths hidden from student code besides the project (the folder of
        submissions, the results directory)
    notebooks : list of notebook ids this assignment grades, or None for every notebook of ``specs``
        (a notebook of another assignment scores 0 with a message saying where it belongs)
    """

    limits: Limits = field(default_factory=Limits)
    isolate: object = None
    seed: object = None
    masters: object = None
    specs: object = None
    private_paths: list = field(default_factory=list)
    notebooks: object = None

    def sandbox(self, extra=()):
        """A Sandbox with these limits that also hides ``private_paths`` and ``extra`` (submissions, results)."""
        private = [str(p) for p in list(self.private_paths) + list(extra)]
        return Sandbox(self.limits, isolate=self.isolate, hide=_default_hide() + private)


def _test(name, score, max_score, output, mistake_ids=(), outcome="failed"):
    """One Gradescope test entry; ``mistake_ids`` (our key, ignored by Gradescope) are the stable ids of
    the catalogued mistakes the judge saw (``course_utils.mistakes``; empty when passed or not judged);
    ``outcome`` (one of ``OUTCOMES``) goes in the entry's ``extra_data``, the place Gradescope's results
    specification gives a test for data of its own."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}: use one of {', '.join(OUTCOMES)}")
    return {"name": name, "score": float(score), "max_score": float(max_score),
            "status": "passed" if score >= max_score and max_score > 0 else "failed",
            "output": output, "visibility": "visible", "mistake_ids": list(mistake_ids),
            "extra_data": {"outcome": outcome}}


def _results(score, tests, output, seconds, extra=None):
    results = {"score": float(score), "execution_time": round(float(seconds), 3), "output": output,
               "output_format": "text", "stdout_visibility": "hidden", "visibility": "visible",
               "tests": tests}
    if extra:
        results["extra_data"] = extra
    return results


def _holds_work_of(submission, spec):
    """True when every exercise of ``spec`` has its cell (by grade_id or by its def line)."""
    return all(submission.cell_defining(e.function) or submission.cells_with_grade_id(e.grade_id)
               for e in spec.exercises)


def _holds_none_of(submission, spec):
    """True when no exercise of ``spec`` has a cell in the submission."""
    return not any(submission.cell_defining(e.function) or submission.cells_with_grade_id(e.grade_id)
                   for e in spec.exercises)


def _identify(submission, specs):
    """(NotebookSpec or None, note, wrong) for a submission: by its metadata, else by the functions it
    defines; ``wrong`` is the spec whose work a notebook labelled as another one actually holds."""
    matches = [spec for spec in specs.values() if _holds_work_of(submission, spec)]
    labelled = specs.get(submission.notebook_id)
    if labelled is not None:
        others = [m for m in matches if m is not labelled]
        if others and _holds_none_of(submission, labelled):
            return labelled, None, others[0]
        return labelled, None, None
    if len(matches) == 1:
        reason = ("its metadata names no course notebook" if submission.notebook_id is None
                  else f"its metadata names an unknown notebook {shorten(submission.notebook_id, 2 * MAX_ID_CHARS)}")
        return matches[0], (f"Note: {reason}; it was recognised as {matches[0].notebook_id} from the functions "
                            f"it defines."), None
    return None, None, None


def _master_setup(notebook_id, masters):
    """Sources of the master's locked setup cells, or None when the master is not available."""
    if masters is None:
        return None
    entry = _cached_notebook(Path(masters) / f"{notebook_id}.ipynb")
    return list(entry[0]) if entry is not None else None


def _cached_notebook(path):
    """(setup sources, {grade_id: source}) of a notebook of ours, read once per grader process; or None."""
    try:
        info = path.stat()
    except OSError:
        return None
    key = (str(path), info.st_mtime_ns, info.st_size)
    with _MASTER_LOCK:
        if key in _MASTER_CACHE:
            return _MASTER_CACHE[key]
    try:
        notebook = load_submission(path)
    except SubmissionError:
        return None
    entry = ([(c.grade_id or f"setup-{c.index}", c.source) for c in notebook.setup_cells()],
             {c.grade_id: c.source for c in notebook.cells if c.grade_id})
    with _MASTER_LOCK:
        _MASTER_CACHE[key] = entry
    return entry


def _is_untouched_stub(notebook_id, exercise, cell):
    """True when the cell is exactly the released stub (it raises NotImplementedError: no need to run it)."""
    entry = _cached_notebook(DEFAULT_STUBS / f"{notebook_id}.ipynb") if DEFAULT_STUBS.is_dir() else None
    return entry is not None and entry[1].get(exercise.grade_id) == cell.source


def _exercise_cell(submission, exercise):
    """(Cell or None, note) for an exercise: by grade_id; last duplicate; else the cell defining it."""
    cells = submission.cells_with_grade_id(exercise.grade_id)
    if len(cells) == 1:
        return cells[0], None
    if len(cells) > 1:
        where = ", ".join(str(c.index + 1) for c in cells)
        return cells[-1], (f"Note: cells {where} all carry grade_id {exercise.grade_id!r} (a copied cell?); "
                           f"the last one, cell {cells[-1].index + 1}, was graded.")
    cell = submission.cell_defining(exercise.function)
    if cell is not None:
        return cell, (f"Note: the cell with grade_id {exercise.grade_id!r} was deleted or lost its metadata; "
                      f"cell {cell.index + 1}, which defines {exercise.function}, was graded instead.")
    return None, None


def _error_text(error):
    """Student-facing text of an error event from the worker."""
    if not isinstance(error, dict):
        return "an error the grader could not read"
    kind = str(error.get("type", "Error"))[:80]
    message = str(error.get("message", ""))[:500]
    line = error.get("line")
    where = f" (line {line} of the cell)" if isinstance(line, int) else ""
    if kind == "NotImplementedError":
        return "it is not implemented yet (the cell still raises NotImplementedError)"
    if kind == "SystemExit":
        return f"it called sys.exit() or exit(){where}; a graded function must return its result"
    if kind == "MemoryError":
        return f"it ran out of memory{where} (the limit is the sandbox's memory limit)"
    if kind == "SyntaxError" or kind == "IndentationError":
        return f"{kind}{where}: {message}"
    return f"it raised {kind}{where}: {message}"


def _error_outcome(error):
    """The outcome of an error event from the worker: not_attempted for NotImplementedError, else crash."""
    kind = error.get("type") if isinstance(error, dict) else None
    return "not_attempted" if kind == "NotImplementedError" else "crash"


def _imported_modules(source):
    """Top-level module names of the ``import`` / ``from ... import`` lines of a (trusted) cell."""
    names = []
    for line in source.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "from" and not words[1].startswith("."):
            names.append(words[1])
        elif words[:1] == ["import"]:
            for part in line.strip()[len("import"):].split(","):
                name = part.split()[0] if part.split() else ""
                if name.replace(".", "").isidentifier():
                    names.append(name)
    return names


#: Modules the judges import when they build cases or collect (preloaded by the fork server).
_JUDGE_MODULES = ("course_utils.judges", "course_utils.models", "course_utils.parameters",
                  "course_utils.testcases", "course_utils.bugs", "course_utils.gradcheck")
#: The judges' memos are plain dicts: one decision at a time in a grader process (batch runs threads).
_JUDGE_LOCK = threading.Lock()
#: Longest verdict message copied into the feedback (characters).
MAX_VERDICT_CHARS = 4000


def _request(spec, exercise, cell, setup_sources, seed, trusted_setup=False):
    """The worker request for one exercise: setup cells, the student's cell, the judge and its seed, and
    the modules a fork server may import beforehand (only from the grader's data and the masters)."""
    references = {e.function: e.reference for e in spec.exercises if e is not exercise and e.reference}
    references.update(exercise.helpers)
    cells = [{"label": label, "source": strip_magics(src)} for label, src in setup_sources]
    cells.append({"label": exercise.grade_id, "source": strip_magics(cell.source), "graded": True})
    refs = list(references.values()) + list(exercise.forbidden)
    preload = {r.partition(":")[0] for r in refs if isinstance(r, str) and r} | set(_JUDGE_MODULES)
    if trusted_setup:
        preload.update(m for _, src in setup_sources for m in _imported_modules(src))
    return {"cells": cells, "function": exercise.function, "references": references,
            "forbidden": list(exercise.forbidden), "judge": {"exercise": exercise.judge_name, "seed": int(seed)},
            "preload": sorted(preload), "warm": [exercise.judge_name]}


def _cell_lines(events, exercise):
    """Feedback lines for the cells that raised (the student's cell, or a setup cell), and for demo lines
    after the function that failed for another reason than a name of the notebook missing here."""
    lines = []
    defined = any(e.get("event") == "function" and e.get("ok") for e in events)
    for event in (e for e in events if e.get("event") == "cell" and not e.get("ok")):
        label = event.get("label")
        if label == exercise.grade_id and defined:
            lines.append(f"Note: run on its own, your cell stopped after defining {exercise.function}: "
                         f"{_error_text(event.get('error'))}. The grader runs only the setup cells and this "
                         f"cell, so names made in other cells are missing here; this costs nothing by itself.")
        elif label == exercise.grade_id:
            lines.append(f"Your cell stopped with an error: {_error_text(event.get('error'))}.")
        else:
            lines.append(f"The notebook's setup cell {shorten(label)} failed: {_error_text(event.get('error'))}.")
    demo = next((e for e in events if e.get("event") == "demo" and e.get("context") is not True), None)
    if demo is not None:
        lines.append(f"Note (not graded): a line after {exercise.function} in its cell (its demo) stopped: "
                     f"{_error_text(demo.get('error'))}. The function itself was graded.")
    return lines


def _hidden_cases(exercise, seed):
    """The judge's hidden cases for ``seed`` (the same ones the worker built)."""
    with _JUDGE_LOCK:
        return judges.cases(exercise.judge_name, "hidden", int(seed))


def _observations(exercise, cases, events, result, sandbox):
    """(observations, problem, used_library, crash): the decoded observation of every case, or the
    student-facing problem that stops the judging, as (text, outcome) (a case that never came back, a
    forged or oversized one); ``used_library``: the exercise's forbidden functions the worker saw called
    (other names are ignored); ``crash``: the first case's error the worker described (label, error dict),
    for feedback."""
    found = [e for e in events if e.get("event") == "observation"]
    used = sorted({n for e in found if isinstance(e.get("used_library"), list)
                   for n in e["used_library"] if isinstance(n, str) and n in exercise.forbidden})
    by_index = {}
    for event in found:
        index = event.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(cases) \
                or index in by_index:
            return None, ("The grader received results it did not ask for (something wrote into its result "
                          "channel), so this exercise scores 0.", "crash"), used, None
        by_index[index] = event
    observations, crash = [], None
    for index, case in enumerate(cases):
        event = by_index.get(index)
        if event is None:
            text, outcome = _abnormal_end(result, sandbox, "during this test")
            return None, (f"{case.label}: {text}.", outcome), used, crash
        if event.get("too_large"):
            return None, (f"{case.label}: your function's call produced more data than the grader reads (did "
                          f"it evaluate the cost thousands of times, or print a lot?), so this exercise scores "
                          f"0.", "failed"), used, crash
        if isinstance(event.get("error"), dict) and crash is None:
            crash = (case.label, event["error"])
        if not event.get("ok"):
            return None, (f"{case.label}: {_error_text(event.get('error'))}.", _error_outcome(event.get("error"))), \
                used, crash
        try:
            observations.append(decode(event.get("data")))
        except (WireError, TypeError, ValueError, RecursionError):
            return None, (f"{case.label}: the grader could not read what came back from your function (was "
                          f"the grader's result channel or the course library changed?), so this exercise "
                          f"scores 0.", "crash"), used, crash
    return observations, None, used, crash


def _verdict(exercise, cases, observations):
    """(Verdict or None, problem): ``judges.decide`` on the decoded observations; anything it cannot read
    (hostile data) is a problem (text, outcome) scored 0, never an exception."""
    try:
        with _JUDGE_LOCK:
            return judges.decide(exercise.judge_name, cases, observations), None
    except judges.JudgeError as exc:
        detail = shorten(str(exc), 200)
        return None, (f"The grader could not read what your function's calls produced ({detail}); this happens "
                      f"when code changes the grader's channel or the course library while it runs. This "
                      f"exercise scores 0.", "crash")
    except Exception as exc:  # a judge must never crash the grader on odd data
        return None, (f"The grader could not judge what your function's calls produced ({type(exc).__name__}); "
                      f"this exercise scores 0. Please tell your instructor.", "grader_error")


def _bounded(text, limit=MAX_VERDICT_CHARS):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + " ... (cut)"


def _run_exercise(spec, exercise, submission, setup_sources, sandbox, seed, trusted_setup=False):
    """Grade one exercise; return (score, output text, mistake ids, outcome), outcome one of ``OUTCOMES``."""
    cell, note = _exercise_cell(submission, exercise)
    notes = [note] if note else []
    if cell is None:
        return 0.0, (f"No cell with grade_id {exercise.grade_id!r} and no cell defining "
                     f"`def {exercise.function}(` was found: was the exercise cell deleted? Restore it "
                     f"(copy it from a fresh copy of the notebook) and write your answer in it."), [], "missing"
    if _is_untouched_stub(spec.notebook_id, exercise, cell):
        return 0.0, "\n".join(notes + [f"{exercise.function} is not implemented yet (the cell is unchanged from "
                                        f"the released notebook: it still raises NotImplementedError)."]), [], \
            "not_attempted"
    cases = _hidden_cases(exercise, seed)
    result = sandbox.run(_request(spec, exercise, cell, setup_sources, seed, trusted_setup))
    lines = _cell_lines(result.events, exercise)
    verdict, used_library, head, outcome = _judge_run(exercise, cases, result, sandbox, lines)
    passed = verdict is not None and verdict.passed
    score = float(exercise.points) if passed and not used_library else 0.0
    if used_library:
        names = ", ".join(n.replace(":", ".") for n in used_library)
        if passed:  # right results, but not its own: no check mark for it
            head = [f"\u2718 Your {exercise.function} gives the right results by calling {names}."]
            outcome = "failed"
        lines.append(f"Your {exercise.function} calls {names}, the library's own version of this exercise, "
                     f"so it scores 0. Write the computation yourself.")
    failed = sorted(f"{k} ({v})" for k, v in result.protections.items() if isinstance(v, str) and v.startswith("failed"))
    if failed:
        lines.append("Grader note: some sandbox protections could not be applied: " + "; ".join(failed))
    if result.student_output.strip():
        lines.append("What your code printed (not graded):\n" + _indent(result.student_output))
    ids = list(verdict.mistake_ids) if verdict is not None and not verdict.passed else []
    return score, "\n".join(notes + head + lines), ids, outcome


def _judge_run(exercise, cases, result, sandbox, lines):
    """(verdict or None, used_library, head lines, outcome) for the worker's run of one exercise; the
    feedback of a run that stopped before a verdict is appended to ``lines``."""
    events = result.events
    function_event = next((e for e in events if e.get("event") == "function"), None)
    if function_event is None:
        text, outcome = _abnormal_end(result, sandbox, "before your function could be tested")
        lines.append(text)
        return None, [], [], outcome
    if not function_event.get("ok"):
        kind = function_event.get("kind")
        lines.append(f"After running your cell there is no function named `{exercise.function}`"
                     + (f" (the name holds a {shorten(str(kind), 40)})" if kind not in (None, "missing") else "")
                     + ". Keep the `def` line of the exercise unchanged.")
        stopped = next((e for e in events if e.get("event") == "cell" and not e.get("ok")), None)
        return None, [], [], _error_outcome(stopped.get("error")) if stopped is not None else "failed"
    observations, problem, used_library, crash = _observations(exercise, cases, events, result, sandbox)
    verdict = None
    if problem is None:
        verdict, problem = _verdict(exercise, cases, observations)
    head, outcome = ([problem[0]], problem[1]) if problem is not None else ([_bounded(verdict.message)], None)
    if verdict is not None and verdict.passed:
        return verdict, used_library, head, "passed"
    if crash is not None and crash[1].get("type") != "NotImplementedError":
        head.append(f"Where it crashed: in {crash[0]}, {_error_text(crash[1])}.")
    if outcome is None:  # judged wrong: a case that raised makes it a crash
        outcome = _error_outcome(crash[1]) if crash is not None else "failed"
    return verdict, used_library, head, outcome


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines()[:40])


_CRASH_SIGNALS = {signal.SIGSEGV: "segmentation fault", signal.SIGBUS: "bus error",
                  signal.SIGILL: "illegal instruction", signal.SIGFPE: "arithmetic fault",
                  signal.SIGABRT: "abort"}


def _signal_text(signal_number, limits, when):
    """Student-facing reason for a worker killed by a signal."""
    if signal_number in (signal.SIGKILL, signal.SIGXCPU):
        return (f"your code was stopped {when}: it used more than {limits.cpu_seconds} s of CPU time "
                f"or more than {limits.memory_mb} MB of memory. Is there an endless loop, a huge array, or "
                f"processes started and left running?")
    if signal_number == signal.SIGXFSZ:
        return f"your code was stopped {when}: it wrote more than {limits.file_mb} MB of output"
    if signal_number in _CRASH_SIGNALS:
        return (f"the Python interpreter crashed {when} ({_CRASH_SIGNALS[signal_number]}), often from very "
                f"deep recursion or ctypes; make the recursion a loop (or shallower) and do not use ctypes")
    try:
        name = signal.Signals(signal_number).name
    except ValueError:
        name = f"signal {signal_number}"
    return (f"your code was stopped {when} by {name} (signal {signal_number}): does it send signals to "
            f"its own process (os.kill)?")


def _abnormal_end(result, sandbox, when):
    """(student-facing reason why the worker stopped early, outcome): the outcome is timeout for the wall
    clock and for the kill at the CPU limit (SIGKILL/SIGXCPU; the reason also names the memory limit, which
    the same signal can mean), grader_error when the grader could not start the worker, else crash."""
    limits = sandbox.limits
    if result.status == "timeout":
        return (f"your code was stopped {when} after {limits.wall_seconds:g} s (the time limit). Is there an "
                f"infinite loop, or a very slow computation?"), "timeout"
    if result.status == "no-start":
        return "the grader could not start a process for your code (an error on the grader's side)", "grader_error"
    if getattr(result, "channel_full", False):
        return (f"your code wrote more than {MAX_EVENT_BYTES // 2**20} MB into the grader's result channel (a "
                f"file descriptor it does not own), so the grader stopped listening; print with print() only"), "crash"
    code = result.returncode
    ready = any(e.get("event") == "ready" for e in result.events)
    number = -code if isinstance(code, int) and code < 0 else (
        code - 128 if isinstance(code, int) and code > 128 and ready else None)  # a shell-style status: 128 + signal
    if number is not None:
        outcome = "timeout" if number in (signal.SIGKILL, signal.SIGXCPU) else "crash"
        return _signal_text(number, limits, when), outcome
    if not ready:
        return (f"the process running your code ended {when} before it was ready (exit code {code}); "
                f"this is an error on the grader's side: {result.stderr.strip()[-300:]}"), "grader_error"
    return (f"the process running your code ended {when} (exit code {code}). Does your code call "
            f"os._exit(), exit() or quit(), or kill its own process?"), "crash"


def grade_notebook(path, options=None, sandbox=None):
    """Grade one submission and return its results (Gradescope's schema); never raises for bad input.

    Parameters
    ----------
    path : str or Path, the submitted notebook
    options : Options (default: Options())
    sandbox : Sandbox to reuse (default: a new one from options, closed afterwards)

    Returns
    -------
    dict with "score", "execution_time", "output", "tests" (one per exercise: "name", "score",
    "max_score", "status", "output", "visibility", "mistake_ids", and "extra_data" {"outcome": one of
    ``OUTCOMES``}) and "extra_data" ("notebook", "max_score", "seed")
    """
    options = options or Options()
    start = time.monotonic()
    own_sandbox = sandbox is None
    try:
        if own_sandbox:
            sandbox = options.sandbox(extra=[Path(path).resolve().parent])  # other files next to it
        return _grade(Path(path), options, sandbox, start)
    except Exception as exc:  # the last line of defence: a results file is always written
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return _results(0.0, [], f"The grader failed on this submission because of an internal error "
                                 f"({detail}). Please tell your instructor; your work is not lost.",
                        time.monotonic() - start, {"error": detail})
    finally:
        if own_sandbox and sandbox is not None:
            sandbox.close()


def _zero_results(spec, message, seconds, extra):
    """Results of a notebook whose exercises are not in it: every exercise 0 points with ``message``."""
    tests = [_test(f"{e.title} [{e.grade_id}]", 0.0, e.points, message, outcome="missing") for e in spec.exercises]
    return _results(0.0, tests, message, seconds, dict(extra, max_score=spec.max_score))


def foreign_notebook_results(spec, allowed, specs, seconds=0.0):
    """Results for a notebook that belongs to another assignment: 0 points and where to submit it.

    Parameters
    ----------
    spec : NotebookSpec, what the notebook is
    allowed : list of notebook ids graded by this assignment
    specs : dict notebook_id -> NotebookSpec

    Returns
    -------
    dict (Gradescope's schema)
    """
    wanted = ", ".join(f"{n} ({specs[n].title})" if n in specs else n for n in allowed)
    message = (f"This is notebook {spec.notebook_id} ({spec.title}), but this assignment grades {wanted}. "
               f"It scores 0 here: submit it to the assignment for {spec.notebook_id}, and submit "
               f"{'one of these notebooks' if len(allowed) > 1 else 'that notebook'} here.")
    return _results(0.0, [], message, seconds, {"notebook": spec.notebook_id, "max_score": 0.0,
                                                 "error": "notebook of another assignment"})


def _unrecognised(submission, specs, start):
    known = ", ".join(sorted(specs))
    label = ("names no course notebook" if submission.notebook_id is None
             else f"names {shorten(submission.notebook_id, 2 * MAX_ID_CHARS)}")
    message = (f"This notebook could not be recognised as one of the course's notebooks ({known}): its "
               f"metadata {label} and it does not hold the exercises of any of them. Submit the notebook "
               f"you downloaded from the course, with your answers in it.")
    return _results(0.0, [], message, time.monotonic() - start,
                    {"error": "unknown notebook", "notebook": submission.notebook_id})


def _grade(path, options, sandbox, start):
    specs = options.specs if options.specs is not None else notebook_specs()
    try:
        submission = load_submission(path)
    except SubmissionError as exc:
        return _results(0.0, [], f"This submission could not be graded: {exc}", time.monotonic() - start,
                        {"error": str(exc), "notebook": None})
    spec, note, wrong = _identify(submission, specs)
    if spec is None:
        return _unrecognised(submission, specs, start)
    if options.notebooks is not None and spec.notebook_id not in options.notebooks:
        return foreign_notebook_results(spec, list(options.notebooks), specs, time.monotonic() - start)
    if wrong is not None:
        message = (f"This notebook is labelled {spec.notebook_id} ({spec.title}), but it holds the exercises "
                   f"of {wrong.notebook_id} ({wrong.title}) and none of {spec.notebook_id}'s: was the wrong "
                   f"file submitted, or the work done in the wrong notebook? Submit {spec.notebook_id} with "
                   f"your answers in it.")
        return _zero_results(spec, message, time.monotonic() - start,
                             {"notebook": spec.notebook_id, "error": "work of another notebook"})
    return _grade_spec(submission, spec, note, options, sandbox, start)


def _grade_spec(submission, spec, note, options, sandbox, start):
    """Run every exercise of ``spec`` on ``submission`` and assemble the results."""
    seed = options.seed if options.seed is not None else secrets.randbits(63)
    masters = options.masters if options.masters is not None else (DEFAULT_MASTERS if DEFAULT_MASTERS.is_dir() else None)
    setup_sources = _master_setup(spec.notebook_id, masters)
    trusted = setup_sources is not None
    if setup_sources is None:
        setup_sources = [(c.grade_id or f"setup-{c.index}", c.source) for c in submission.setup_cells()]
    tests, score = [], 0.0
    for exercise in spec.exercises:
        points, output, ids, outcome = _run_exercise(spec, exercise, submission, setup_sources, sandbox, seed, trusted)
        score += points
        tests.append(_test(f"{exercise.title} [{exercise.grade_id}]", points, exercise.points, output, ids, outcome))
    summary = [f"{spec.notebook_id} ({spec.title}): {score:g} / {spec.max_score:g} points."]
    summary.extend(submission.notes)
    if note:
        summary.append(note)
    summary.append(sandbox.describe())
    return _results(score, tests, "\n".join(summary), time.monotonic() - start,
                    {"notebook": spec.notebook_id, "max_score": spec.max_score, "seed": seed})


def summary_line(path, results):
    """One human line for a results dict, e.g. ``sub.ipynb: 3/4 (forward 1/1 ...)``."""
    extra = results.get("extra_data", {})
    parts = [f"{printable(Path(path).name)}: {results['score']:g}/{extra.get('max_score', 0):g}"]
    for test in results.get("tests", []):
        mark = "ok" if test["status"] == "passed" else "FAIL"
        parts.append(f"  {mark:4} {test['score']:g}/{test['max_score']:g}  {test['name']}")
    if not results.get("tests"):
        parts.append("  " + results.get("output", "").splitlines()[0] if results.get("output") else "")
    return "\n".join(parts)


def write_results(results, path):
    """Write a results dict as JSON (atomically: a temporary file renamed into place).

    Parameters
    ----------
    results : dict
    path : str or Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
