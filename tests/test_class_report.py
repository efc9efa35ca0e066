"""Issue 17: the class report (what did my class get wrong?), tested on the demo class and on hostile files.

What each test proves:

* on a demo class graded once by ``python -m autograder batch`` (12 files; the 60-file class of the issue
  is the slow test), every planted mistake is counted exactly, per exercise, with the ids the judges give
  (a group of mistakes that give the same numbers is named whole), and so are full marks, stubs, the
  time-out, the crash and the two broken files;
* mistakes.csv has one row per (submission, mistake id) with the catalogue's hint; the JSON's numbers are
  the page's; ``report`` rebuilds the same three files byte for byte; ``--anonymize`` leaves no word of
  any student's name in any of them (and the names are there without it, so the check can fail);
* the page's own structure: one h1, no skipped heading level, th with scope in every table, alt text on
  every image, a lang attribute, no external URL;
* hostile results folders (links, oversized files, forged ids and hints, markup in names and examples,
  a link where the report folder goes) are read safely; nothing is followed, executed or left unescaped.
"""

import csv
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder import class_report
from autograder.__main__ import main
from autograder.batch import results_name
from autograder.class_report import REPORT_FILES, REPORT_JSON, excerpt, pseudonymizer, solution_sources, write_report
from autograder.class_report_html import _RC, OKABE_ITO, OUTCOME_STYLE
from autograder.demo_class import MANIFEST, plan_class
from autograder.demo_sources import WRONG
from course_utils import judges
from course_utils.mistakes import mistake

ROOT = Path(__file__).resolve().parent.parent
FILES = REPORT_FILES
#: Seconds per exercise: the planted time-out waits this long; a right answer needs far less.
TIMEOUT = "10"


def _cli(*args):
    """``python -m autograder ARGS`` run in this process (the same ``main``, without a second interpreter's
    start-up); fails unless the exit status is 0."""
    assert main([str(a) for a in args]) == 0, args


#: The submission of the demo class renamed to the name of the report's own file (see ``_graded_class``).
CLASH = "class-report.ipynb"


def _graded_class(base, size, seed=0):
    """(manifest, results dir): a demo class written and graded through the CLI (report included).

    The first notebook with a planted mistake (and no name in its cells) is renamed ``class-report.ipynb``
    before grading, the one name whose results file could be the report's ``class-report.json``: every
    count below then also proves that it got its own results and was counted."""
    demo, results = base / "demo", base / "results"
    _cli("demo-class", str(demo), "--size", str(size), "--seed", str(seed))
    manifest = json.loads((demo / MANIFEST).read_text())
    renamed = next(s for s in manifest["submissions"] if s["kind"] == "notebook"
                   and any(w["planted"] == "mistake" for w in s["exercises"].values())
                   and not any(w.get("name_in_cell") for w in s["exercises"].values()))
    os.rename(demo / renamed["file"], demo / CLASH)
    renamed.update(file=CLASH, student="")  # no student name left in it
    _cli("batch", str(demo), "--results-dir", str(results), "--seed", "3", "--timeout", TIMEOUT, "--jobs", "2")
    return manifest, results


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A class of 12 (every kind of planted file) graded once for the whole module."""
    return _graded_class(tmp_path_factory.mktemp("class12"), 12)


def _load(results):
    out = results
    return (json.loads((out / "class-report.json").read_text()), (out / "class-report.html").read_text(),
            list(csv.DictReader((out / "mistakes.csv").open(encoding="utf-8"))))


def _expected_ids(key):
    return next((tuple(sorted(g)) for g in judges.GROUPS if key in g), (key,))


def assert_planted_counted(manifest, report):
    """Every planted mistake (and full mark, stub, time-out, crash, broken file) is counted exactly."""
    expected = {}
    for sub in manifest["submissions"]:
        for grade_id, what in sub.get("exercises", {}).items():
            counts = expected.setdefault(grade_id, {"mistakes": {}, "full": 0, "stub": 0, "timeout": [],
                                                    "crash": [], "graded": 0})
            counts["graded"] += 1
            if what["planted"] == "mistake":
                for i in _expected_ids(what["key"]):
                    counts["mistakes"][i] = counts["mistakes"].get(i, 0) + 1
            elif what["planted"] == "correct":
                counts["full"] += 1
            elif what["planted"] in ("timeout", "crash"):
                counts[what["planted"]].append(sub["file"])
            else:
                counts["stub"] += 1
    seen = {x["grade_id"]: x for nb in report["notebooks"] for x in nb["exercises"]}
    assert set(seen) == set(expected)
    for grade_id, want in expected.items():
        got = seen[grade_id]
        assert {m["id"]: m["count"] for m in got["mistakes"]} == want["mistakes"], grade_id
        assert got["full_marks"] == want["full"] and got["graded"] == want["graded"], grade_id
        assert got["outcomes"]["not_attempted"] == want["stub"], grade_id
        assert got["timed_out"] == sorted(want["timeout"]) and got["crashed"] == sorted(want["crash"]), grade_id
        assert got["outcomes"]["other"] == 0, grade_id  # nothing planted falls outside the catalogue
    broken = sorted(s["file"] for s in manifest["submissions"] if s["kind"] != "notebook")
    assert sorted(u["submission"] for u in report["ungraded"]) == broken
    assert report["submissions"] == {"files": manifest["size"], "graded": manifest["size"] - len(broken),
                                     "ungraded": len(broken)}


def test_every_planted_mistake_is_counted_exactly(graded):
    manifest, results = graded
    report, _, _ = _load(results)
    kinds = {s["kind"] for s in manifest["submissions"]}
    planted = {w["planted"] for s in manifest["submissions"] for w in s.get("exercises", {}).values()}
    assert kinds == {"notebook", "corrupt_json", "empty"} and {"timeout", "crash", "mistake", "correct"} <= planted
    assert_planted_counted(manifest, report)


def test_the_grader_writes_what_happened_to_each_exercise(graded):
    """Each test entry of a results file carries the grader's ``extra_data.outcome`` (Gradescope's place for
    a test's own data): the planted time-out and crash are named as such, not inferred from wording."""
    manifest, results = graded
    demo = results.parent / "demo"
    seen = set()
    for sub in (s for s in manifest["submissions"] if s["kind"] == "notebook"):
        data = json.loads((results / results_name(demo / sub["file"], demo)).read_text())
        tests = {t["name"].rsplit("[", 1)[1].rstrip("]"): t for t in data["tests"]}
        for grade_id, what in sub["exercises"].items():
            test, planted = tests[grade_id], what["planted"]
            outcome = test["extra_data"]["outcome"]
            seen.add(outcome)
            if planted == "mistake":  # judged wrong; a mistake that raises on some case is also a crash
                assert outcome in ("failed", "crash") and test["mistake_ids"], (sub["file"], grade_id, outcome)
            else:
                want = {"correct": "passed", "stub": "not_attempted", "timeout": "timeout", "crash": "crash"}[planted]
                assert outcome == want, (sub["file"], grade_id, outcome, test["output"][:300])
    assert {"passed", "failed", "timeout", "crash"} <= seen


def test_the_report_counts_the_graders_outcome_and_reads_old_files_by_their_wording(tmp_path):
    """With ``extra_data.outcome`` the report follows it (even against misleading wording); without it
    (results made before the grader wrote it, e.g. old Gradescope downloads) the wording decides."""
    folder = tmp_path / "r"
    folder.mkdir()
    said = "it raised ValueError; stopped after 3 s (the time limit)"  # wording that says both
    tests = [dict(_test_entry("forward_propagation", 0, 1, output=said), extra_data={"outcome": "timeout"}),
             dict(_test_entry("backward_propagation", 0, 1, output=said), extra_data={"outcome": "crash"}),
             dict(_test_entry("gradient_check", 0, 2, output=said), extra_data={"outcome": ["not", "a", "str"]})]
    (folder / "new.json").write_text(json.dumps({"score": 0.0, "tests": tests}))
    old = [_test_entry("forward_propagation", 0, 1, output="it raised KeyError"),
           _test_entry("backward_propagation", 0, 1, output="stopped after 3 s (the time limit)"),
           _test_entry("gradient_check", 0, 2, output="something else entirely")]
    (folder / "old.json").write_text(json.dumps({"score": 0.0, "tests": old}))
    (folder / "missing.json").write_text(json.dumps({"score": 0.0, "tests": [dict(
        _test_entry("forward_propagation", 0, 1, output="it raised X"), extra_data={"outcome": "missing"})]}))
    ex = {x["grade_id"]: x for x in write_report(folder)["notebooks"][0]["exercises"]}
    assert ex["forward_propagation"]["timed_out"] == ["new.ipynb"]
    assert ex["forward_propagation"]["crashed"] == ["old.ipynb"]
    assert ex["forward_propagation"]["outcomes"]["not_attempted"] == 1  # missing.ipynb: its cell was deleted
    assert ex["backward_propagation"]["crashed"] == ["new.ipynb"]
    assert ex["backward_propagation"]["timed_out"] == ["old.ipynb"]
    # an outcome that is not one of the grader's is ignored: the wording decides (the time limit is read first)
    assert ex["gradient_check"]["timed_out"] == ["new.ipynb"] and ex["gradient_check"]["outcomes"]["other"] == 1


def test_mistakes_csv_has_one_row_per_submission_and_mistake_with_its_hint(graded):
    manifest, results = graded
    _, _, rows = _load(results)
    want = sorted((s["file"], s["notebook"], grade_id, i) for s in manifest["submissions"]
                  for grade_id, w in s.get("exercises", {}).items() if w["planted"] == "mistake"
                  for i in _expected_ids(w["key"]))
    assert sorted((r["submission"], r["notebook"], r["exercise"], r["mistake_id"]) for r in rows) == want
    for row in rows:
        assert row["hint"] == mistake(row["mistake_id"]).hint and row["mistake"] == mistake(row["mistake_id"]).title


class _Page(HTMLParser):
    """What the tests read from the page: headings, tables, images, links, text of elements by id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.headings, self.imgs, self.urls, self.lang = [], [], [], [], None
        self.tables, self.counts, self._stack, self._row = [], {}, [], None
        self.text_by_class = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "img":
            self.imgs.append(attrs)
        for key in ("src", "href", "action", "data"):
            if attrs.get(key):
                self.urls.append(attrs[key])
        if tag == "table":
            self.tables.append([])
        if tag == "th" and self.tables:
            self.tables[-1].append(attrs.get("scope"))
        if tag == "tr":
            self._row = attrs.get("id")
        self._stack.append((tag, attrs.get("class"), self._row))

    def handle_endtag(self, tag):
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self._stack:
            tag, cls, row = self._stack[-1]
            if cls and row:
                self.counts[(row, cls)] = self.counts.get((row, cls), "") + data
            elif cls:
                self.text_by_class.setdefault(cls, []).append(data)


def _parse(text):
    page = _Page()
    page.feed(text)
    return page


def test_the_json_numbers_are_the_pages(graded):
    _, results = graded
    report, page_text, _ = _load(results)
    page = _parse(page_text)
    shown = 0
    for nb in report["notebooks"]:
        for x in nb["exercises"]:
            row = f"overview-{x['grade_id']}"
            assert int(page.counts[(row, "number graded")]) == x["graded"]
            assert int(page.counts[(row, "number full")]) == x["full_marks"]
            assert int(page.counts[(row, "number mistakes")]) == x["outcomes"]["mistake"]
            assert int(page.counts[(row, "number stopped")]) == x["outcomes"]["timeout"] + x["outcomes"]["crash"]
            assert int(page.counts[(row, "number other")]) == x["outcomes"]["other"]
            assert int(page.counts[(row, "number not-attempted")]) == x["outcomes"]["not_attempted"]
            assert sum(x["outcomes"].values()) == x["graded"]  # so every row of the table adds up
            rows = {}  # mistakes named together (the same numbers) share one row, under the first one's id
            for m in x["mistakes"]:
                lead = next(o["id"] for o in x["mistakes"] if o["id"] == m["id"] or m["id"] in o["named_with"])
                rows.setdefault(lead, set()).add(m["count"])
            for lead, counts in rows.items():
                assert int(page.counts[(f"mistake-{x['grade_id']}-{lead.replace('.', '-')}", "count")]) == max(counts)
                assert len(counts) == 1  # the judge names the whole group: every member counts the same
            shown += len(rows)
        for bug in nb.get("unfixed_bugs", []):
            assert int(page.counts[(f"bug-{bug['bug']}", "count")]) == bug["count"]
    shown_rows = [k for k in page.counts if k[0].startswith("mistake-") and k[1] == "count"]
    assert len(shown_rows) == shown
    assert page.text_by_class["ungraded-count"] == [str(report["submissions"]["ungraded"])]


def test_report_rebuilds_the_same_files(graded, tmp_path):
    _, results = graded
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    for name in FILES:
        (copy / name).unlink()
    _cli("report", str(copy))
    for name in FILES:
        assert (copy / name).read_bytes() == (results / name).read_bytes(), name


def _name_words(manifest):
    return {w.lower() for s in manifest["submissions"] for w in s["student"].split()}


def test_anonymize_leaves_no_name_anywhere_and_pseudonyms_are_stable(graded, tmp_path):
    manifest, results = graded
    words = _name_words(manifest)
    plain = " ".join((results / n).read_text().lower() for n in FILES)
    assert all(w in plain for w in words)  # the names are there without --anonymize
    assert any(w.get("name_in_cell") for s in manifest["submissions"] for w in s.get("exercises", {}).values())
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    write_report(copy, anonymize=True)
    texts = {n: (copy / n).read_text() for n in FILES}
    for name, text in texts.items():
        assert not [w for w in words if w in text.lower()], name
    report = json.loads(texts["class-report.json"])
    shown = ({u["submission"] for u in report["ungraded"]}
             | {r["submission"] for r in csv.DictReader(texts["mistakes.csv"].splitlines())})
    assert len(shown) == len({u["submission"] for u in report["ungraded"]}) + len(
        {r["submission"] for r in csv.DictReader((results / "mistakes.csv").open())})
    assert all(re.fullmatch(r"student-[0-9a-f]{8}", s) for s in shown)
    # stable: the key stays in the results folder, so every later report gives the same pseudonyms
    again, _ = pseudonymizer(copy, True)
    assert {again(s["file"]) for s in manifest["submissions"]} >= shown
    other = tmp_path / "other"
    other.mkdir()
    assert pseudonymizer(other, True)[0]("a.ipynb") != again("a.ipynb")  # a key per results folder


def assert_accessible(text):
    """The page's own structure: lang, one h1, no skipped heading level, th scope, alt text, no URL out."""
    page = _parse(text)
    assert page.lang == "en"
    assert page.headings.count(1) == 1 and page.headings[0] == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:])), page.headings
    assert page.tables and all(t and all(scope in ("col", "row") for scope in t) for t in page.tables)
    assert page.imgs and all((img.get("alt") or "").strip() for img in page.imgs)
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.imgs)
    outside = [u[:60] for u in page.urls if not u.startswith(("#", "data:"))]
    assert not outside, outside
    assert "<script" not in text.lower() and "@import" not in text and "url(" not in text


def test_the_page_passes_its_accessibility_check(graded):
    _, results = graded
    assert_accessible((results / "class-report.html").read_text())


def test_figures_are_colour_blind_safe_and_readable():
    """Every colour the figures use is an Okabe-Ito colour; every text size is 11 points or more."""
    assert all(colour in OKABE_ITO.values() for _, colour, _ in OUTCOME_STYLE.values())
    assert len({colour for _, colour, _ in OUTCOME_STYLE.values()}) == len(OUTCOME_STYLE)
    assert min(v for k, v in _RC.items() if k.endswith("size")) >= 11


# ---------------------------------------------------------------------------------------------------
# The demo class, the examples
# ---------------------------------------------------------------------------------------------------

def test_demo_class_is_drawn_from_its_seed_and_imports_nothing_from_tests(tmp_path):
    assert plan_class(30, 5) == plan_class(30, 5) and plan_class(30, 5) != plan_class(30, 6)
    _cli("demo-class", str(tmp_path / "a"), "--size", "9", "--seed", "1")
    _cli("demo-class", str(tmp_path / "b"), "--size", "9", "--seed", "1")
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(files) == 10 and MANIFEST in files
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    for module in ("demo_class.py", "demo_sources.py"):
        imported = re.findall(r"^\s*(?:from|import)\s+(\w+)", (ROOT / "autograder" / module).read_text(), re.M)
        assert imported and "tests" not in imported, (module, imported)


def test_an_example_is_the_students_own_lines():
    solutions = solution_sources(ROOT / "notebooks" / "source")
    assert excerpt(WRONG["gradient_check.sign_error"][0], solutions["gradient_check"], "gradient_check") == [
        "gradapprox = (J_minus - J_plus) / (2 * epsilon)"]
    assert excerpt(WRONG["forward_propagation.no_return"][0], solutions["forward_propagation"],
                   "forward_propagation") == ["(missing) return J"]
    fixed = excerpt(WRONG["backward_propagation_fixed.relu_mask_off_by_one"][0],
                    solutions["backward_propagation_fixed"], "backward_propagation_fixed")
    assert fixed == ["dZ2 = np.multiply(dA2, np.int64(Z3 > 0))"]
    long = "def optimal_epsilon(dtype):\n" + "".join(f"    x{i} = {i} * 'y' * 500\n" for i in range(50))
    cut = excerpt(long, solutions["optimal_epsilon"], "optimal_epsilon")
    assert len(cut) == class_report.MAX_EXAMPLE_LINES and cut[-1] == "... (46 more lines)"
    assert all(len(line) <= class_report.MAX_LINE_CHARS + 3 for line in cut)
    assert excerpt("def optimal_epsilon(:\n  nonsense(((", solutions["optimal_epsilon"], "optimal_epsilon")


# ---------------------------------------------------------------------------------------------------
# Hostile results folders (no grading: results files written by hand)
# ---------------------------------------------------------------------------------------------------

def _test_entry(grade_id, score, top, ids=(), output="", title="t"):
    return {"name": f"{title} [{grade_id}]", "score": score, "max_score": top, "status": "failed",
            "output": output, "visibility": "visible", "mistake_ids": list(ids)}


def write_results_folder(folder):
    """A results folder by hand: batch files (one with markup in its name and example), a Gradescope
    export folder, a link out of the folder, an oversized file, and forged ids and hints."""
    folder.mkdir(parents=True, exist_ok=True)
    ok = {"score": 4.0, "tests": [_test_entry("forward_propagation", 1, 1), _test_entry("backward_propagation", 1, 1),
                                  _test_entry("gradient_check", 2, 2)], "extra_data": {"notebook": "01_gradient_check_1d"}}
    evil = {"score": 0.0, "tests": [
        _test_entry("gradient_check", 0, 2, ["gradient_check.sign_error", "made.up_id"], title="<b>x</b>"),
        _test_entry("forward_propagation", 0, 1, [], output="it raised ValueError"),
        _test_entry("backward_propagation", 0, 1, [], output="stopped after 3 s (the time limit)"),
        _test_entry("gradient_check", 0, 2, ["gradient_check.sign_error"]),  # listed twice: counted once
        {"name": "[no_such_exercise]", "score": 1e308, "max_score": "x"}, "not a dict"],
        "extra_data": {"excerpts": {"gradient_check": ["<img src=x onerror=alert(1)>", "# a comment", 7]},
                       "hint": "<script>forged</script>"}}
    (folder / "ok.json").write_text(json.dumps(ok))
    (folder / "%3Cscript%3Ealert(1)%3C%2Fscript%3E.json").write_text(json.dumps(evil))
    (folder / "submission_42").mkdir()
    (folder / "submission_42" / "results.json").write_text(json.dumps(
        {"score": 0.0, "tests": [dict(_test_entry("optimal_epsilon", 0, 2, ["optimal_epsilon.tiny"]),
                                      name="04_choosing_epsilon: optimal_epsilon [optimal_epsilon]")]}))
    notebook = json.loads((ROOT / "notebooks" / "04_choosing_epsilon.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "optimal_epsilon":
            cell["source"] = WRONG["optimal_epsilon.tiny"][0]
    (folder / "submission_42" / "answer.ipynb").write_text(json.dumps(notebook))
    (folder.parent / "other.ipynb").write_text(json.dumps(notebook).replace("np.finfo(dtype).tiny", "OUTSIDE"))
    (folder / "submission_42" / "a_link.ipynb").symlink_to(folder.parent / "other.ipynb")  # sorted first, never read
    outside = folder.parent / "outside.json"
    outside.write_text(json.dumps(ok))
    (folder / "link.json").symlink_to(outside)
    (folder / "big.json").write_bytes(b" " * (class_report.MAX_RESULTS_BYTES + 1))
    (folder / "broken.json").write_text("[" * 100_000)
    return folder


def test_hostile_results_are_read_safely(tmp_path):
    folder = write_results_folder(tmp_path / "r")
    report = write_report(folder)
    page = (folder / "class-report.html").read_text()
    assert_accessible(page)
    assert "<script>" not in page and "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "forged" not in page and "made.up_id" not in page
    problems = {u["submission"]: u["problem"] for u in report["ungraded"]}
    assert set(problems) == {"link.ipynb", "big.ipynb", "broken.ipynb"}
    assert problems["link.ipynb"] == "a symbolic link, not read" and "larger than" in problems["big.ipynb"]
    assert problems["broken.ipynb"] == "not valid JSON"
    ex = {x["grade_id"]: x for nb in report["notebooks"] for x in nb["exercises"]}
    assert [m["id"] for m in ex["gradient_check"]["mistakes"]] == ["gradient_check.sign_error"]
    assert ex["gradient_check"]["mistakes"][0]["example"]["lines"][0] == "<img src=x onerror=alert(1)>"
    assert ex["forward_propagation"]["crashed"] == ["<script>alert(1)</script>.ipynb"]
    assert ex["backward_propagation"]["timed_out"] == ["<script>alert(1)</script>.ipynb"]
    tiny = ex["optimal_epsilon"]["mistakes"][0]  # the Gradescope folder, named by the folder
    assert tiny["count"] == 1 and tiny["example"] == {"submission": "submission_42",
                                                      "lines": ["u = float(np.finfo(dtype).tiny)"]}
    rows = list(csv.reader((folder / "mistakes.csv").open(encoding="utf-8")))
    assert sorted(r[:4] for r in rows[1:]) == [
        ["<script>alert(1)</script>.ipynb", "01_gradient_check_1d", "gradient_check", "gradient_check.sign_error"],
        ["submission_42", "04_choosing_epsilon", "optimal_epsilon", "optimal_epsilon.tiny"]]


def test_mistakes_named_together_are_one_row_on_the_page_and_one_bar(tmp_path):
    """Two mistakes a judge cannot tell apart (a ``judges.GROUPS`` entry) are named together: the JSON and
    the CSV count each id, the page shows one row (not two rows that look like twice the students), and
    the unfixed-bugs table says its count may hold the other one."""
    group = next(g for g in judges.GROUPS if g[0].startswith("backward_propagation_fixed."))
    folder = tmp_path / "r"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.json").write_text(json.dumps({"score": 0.0, "tests": [
            _test_entry("backward_propagation_fixed", 0, 2, list(group))]}))
    report = write_report(folder)
    (x,) = [x for nb in report["notebooks"] for x in nb["exercises"] if x["graded"]]
    assert {m["id"]: (m["count"], m["named_with"]) for m in x["mistakes"]} == {
        group[0]: (2, [group[1]]), group[1]: (2, [group[0]])}
    assert len(list(csv.reader((folder / "mistakes.csv").open(encoding="utf-8")))) == 1 + 4
    page = _parse((folder / "class-report.html").read_text())
    rows = {k[0]: v for k, v in page.counts.items() if k[0].startswith("mistake-") and k[1] == "count"}
    assert rows == {f"mistake-backward_propagation_fixed-{group[0].replace('.', '-')}": "2"}
    alike = [v for k, v in page.counts.items() if k[1] == "alike"]
    assert len(alike) == 2 and any(k[0] == "bug-relu_mask_from_A" for k in page.counts if k[1] == "alike")


def test_csv_cells_are_never_spreadsheet_formulas(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    entry = {"score": 0.0, "tests": [_test_entry("optimal_epsilon", 0, 2, ["optimal_epsilon.tiny"])]}
    (folder / "=HYPERLINK(1).json").write_text(json.dumps(entry))
    (folder / "+cmd.json").write_text(json.dumps(entry))
    write_report(folder)
    cells = [c for row in csv.reader((folder / "mistakes.csv").open(encoding="utf-8")) for c in row]
    assert "'=HYPERLINK(1).ipynb" in cells and "'+cmd.ipynb" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]


def test_links_where_the_report_goes_are_replaced_never_followed(tmp_path):
    """A link planted at each report file's name (to a file outside, and one dangling) is replaced by the
    report's file: the targets are untouched, nothing is created through a link, no temporary file stays."""
    folder = write_results_folder(tmp_path / "r")
    targets = {}
    for name in FILES:
        targets[name] = tmp_path / f"precious-{name}"
        targets[name].write_text("keep me")
        (folder / name).symlink_to(targets[name])
    os.unlink(folder / FILES[0])
    (folder / FILES[0]).symlink_to(tmp_path / "nowhere" / "made-through-a-link")  # dangling
    report = write_report(folder)
    assert all(t.read_text() == "keep me" for t in targets.values())
    assert not (tmp_path / "nowhere").exists()
    for name in FILES:
        assert not (folder / name).is_symlink() and (folder / name).is_file(), name
    assert json.loads((folder / REPORT_JSON).read_text()) == report
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_folder_where_a_report_file_goes_is_refused_with_nothing_written(tmp_path, capsys):
    folder = write_results_folder(tmp_path / "r")
    (folder / "class-report.html").mkdir()
    with pytest.raises(IsADirectoryError, match="move that folder away"):
        write_report(folder)
    assert not (folder / REPORT_JSON).exists() and not (folder / "mistakes.csv").exists()
    assert main(["report", str(folder)]) == 2
    assert "not written" in capsys.readouterr().err


def test_a_submission_named_class_report_has_its_own_results_and_is_counted(graded):
    """``class-report.ipynb`` (renamed in the graded class) is graded into ``class%2Dreport.json``; the
    report's ``class-report.json`` is not read as anybody's results; its mistakes are counted."""
    manifest, results = graded
    own = json.loads((results / "class%2Dreport.json").read_text())
    sub = next(s for s in manifest["submissions"] if s["file"] == CLASH)
    assert own["extra_data"]["notebook"] == sub["notebook"] and len(own["tests"]) == len(sub["exercises"])
    report, _, rows = _load(results)
    assert report["schema"] == "class-report/1"
    assert {r["submission"] for r in rows if r["submission"] == CLASH} == {CLASH}
    gradebook = {r["submission"] for r in csv.DictReader((results / "gradebook.csv").open(encoding="utf-8"))}
    assert CLASH in gradebook and len(gradebook) == manifest["size"] == report["submissions"]["files"]
    names = [r["name"] for r in class_report.read_results(results)]  # class-report.json is nobody's results
    assert len(names) == len(set(names)) == manifest["size"] and names.count(CLASH) == 1


# ---------------------------------------------------------------------------------------------------
# The class of 60
# ---------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_demo_class_of_60_is_counted_exactly(tmp_path):
    """`demo-class OUT --size 60 --seed 0`, graded by batch: every planted mistake counted exactly."""
    manifest, results = _graded_class(tmp_path, 60)
    report, page, rows = _load(results)
    assert manifest["size"] == 60 and report["submissions"]["files"] == 60
    assert_planted_counted(manifest, report)
    assert_accessible(page)
    assert len(rows) == sum(m["count"] for nb in report["notebooks"] for x in nb["exercises"] for m in x["mistakes"])


def test_batch_anonymize_names_no_one_even_in_the_problems(tmp_path, capsys):
    """`batch --anonymize` (here on files that cannot be graded: nothing runs) writes pseudonyms, and the
    problem messages, which quote the file name, lose its words."""
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "zebulon_quarrington.ipynb").write_bytes(b"")
    (folder / "Ottoline-Vexley.ipynb").write_text("{ not json")
    _cli("batch", folder, "--results-dir", tmp_path / "out", "--anonymize", "--timeout", TIMEOUT)
    texts = " ".join((tmp_path / "out" / n).read_text() for n in FILES).lower()
    assert not [w for w in ("zebulon", "quarrington", "ottoline", "vexley") if w in texts]
    report = json.loads((tmp_path / "out" / "class-report.json").read_text())
    assert len(report["ungraded"]) == 2 and report["anonymized"] is True
    assert all("[name]" in u["problem"] for u in report["ungraded"])
    assert "class report (2 submissions)" in capsys.readouterr().out


def test_an_empty_folder_and_a_partial_gradescope_result_give_a_page_without_warnings(tmp_path):
    """No results at all, then one Gradescope result holding one exercise of three: a page each, no
    matplotlib warning (an exercise nobody was graded on has an empty histogram, not a broken legend)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert write_report(tmp_path)["submissions"] == {"files": 0, "graded": 0, "ungraded": 0}
        (tmp_path / "s1").mkdir()
        (tmp_path / "s1" / "results.json").write_text(json.dumps({"tests": [
            dict(_test_entry("forward_propagation", 1, 1), name="01_gradient_check_1d: f [forward_propagation]")]}))
        report = write_report(tmp_path)
    graded = {x["grade_id"]: x["graded"] for x in report["notebooks"][0]["exercises"]}
    assert graded == {"forward_propagation": 1, "backward_propagation": 0, "gradient_check": 0}
    assert_accessible((tmp_path / "class-report.html").read_text())
