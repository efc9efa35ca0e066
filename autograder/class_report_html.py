"""Machinery: the class report's page and figures (HTML, matplotlib); a student does not need this module
to follow the course.

``render(report)`` turns the numbers of ``autograder.class_report.build_report`` into one self-contained
HTML page: figures are PNGs embedded as data URIs, the style sheet is inline, nothing is fetched, and
every text from a results file is escaped. The page's structure is checked by the tests: one ``h1``,
headings that never skip a level, a ``th`` with ``scope`` in every table, alt text on every figure, a
``lang`` attribute.

Figures are drawn with matplotlib's Agg canvas on ``Figure`` objects (no pyplot state), with text of at
least 11 points (readable printed or projected) and the Okabe-Ito colours (told apart by colour-blind
readers; outcomes also get hatching, for black-and-white printing).
"""

import base64
import html
import io

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["OKABE_ITO", "OUTCOME_STYLE", "render", "overview_png", "figure_png", "merged_mistakes"]

#: The Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2002).
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7"}
#: outcome -> (label, colour, hatch) in the exercise histograms and tables.
OUTCOME_STYLE = {"full": ("full marks", OKABE_ITO["green"], ""),
                 "mistake": ("catalogued mistake", OKABE_ITO["vermillion"], "//"),
                 "other": ("other wrong answer", OKABE_ITO["orange"], "\\\\"),
                 "timeout": ("timed out", OKABE_ITO["blue"], "xx"),
                 "crash": ("crashed", OKABE_ITO["purple"], ".."),
                 "not_attempted": ("not attempted", OKABE_ITO["sky_blue"], "--")}
#: Text sizes of the figures, in points (11 at least).
_RC = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 11,
       "ytick.labelsize": 11, "legend.fontsize": 11, "hatch.linewidth": 0.8}
#: Mistakes drawn in an exercise's bar chart (the table lists them all).
TOP_MISTAKES = 10

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 17px; line-height: 1.5;
       color: #111; max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 2rem; } h2 { font-size: 1.6rem; border-top: 2px solid #444; padding-top: .6rem; }
h3 { font-size: 1.3rem; } h4 { font-size: 1.1rem; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; width: 100%; table-layout: fixed; }
th, td, code { overflow-wrap: anywhere; } th[scope="col"] { overflow-wrap: normal; }
table.mistakes col.mistake { width: 28%; } table.mistakes col.count { width: 9rem; }
table.mistakes col.hint { width: 32%; }
table.bugs col.bug { width: 34%; } table.bugs col.count { width: 9rem; }
table.stopped col.what { width: 25%; } table.stopped col.count { width: 9rem; }
table.glance col.exercise { width: 28%; }
th, td { border: 1px solid #777; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.count, td.number { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
.alike { font-weight: normal; font-size: .92rem; color: #333; }
pre { background: #f4f4f4; border: 1px solid #ccc; padding: .4rem; margin: 0; white-space: pre-wrap; overflow-wrap: anywhere;
      font-size: .9rem; }
figure { margin: .8rem 0; } img { max-width: 100%; height: auto; }
figcaption { font-size: .95rem; color: #333; }
@media print { body { max-width: none; font-size: 12pt; } h2 { break-before: page; } figure, tr { break-inside: avoid; } }
"""


def _e(text):
    return html.escape(str(text), quote=True)


def figure_png(fig):
    """A matplotlib Figure as PNG bytes (no metadata, so the same figure gives the same bytes).

    Parameters
    ----------
    fig : matplotlib.figure.Figure

    Returns
    -------
    bytes

    Raises
    ------
    ValueError from matplotlib for a figure it cannot draw.
    """
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def _img(png, alt, caption):
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _share(count, total):
    return f"{count} of {total} ({100.0 * count / total:.0f}%)" if total else "none graded"


def _bar_figure(labels):
    """A Figure with one Axes for horizontal bars, its left margin sized for the longest label (a fixed
    layout: a constrained layout would draw every figure twice)."""
    height = 0.45 * max(len(labels), 1) + 1.3
    fig = Figure(figsize=(8.0, height))
    left = min(0.55, 0.03 + 0.0098 * _widest(labels))
    fig.subplots_adjust(left=left, right=0.95, bottom=0.8 / height, top=1 - 0.45 / height)
    fig.add_subplot()
    return fig


def merged_mistakes(mistakes):
    """An exercise's mistakes with the ones a judge names together (same numbers, ``named_with``) as one
    entry: the page and the figures show them once, since the same submissions are counted under each id.

    Parameters
    ----------
    mistakes : list of dict, an exercise's "mistakes" from ``build_report`` (most frequent first)

    Returns
    -------
    list of dict: "ids" (list of str), "titles", "count", "hint", "example" (the first kept, or None)

    Raises
    ------
    KeyError for entries that are not a report's mistakes.
    """
    merged, done = [], set()
    for m in mistakes:
        if m["id"] in done:
            continue
        group = [m] + [o for o in mistakes if o["id"] in m.get("named_with", ()) and o["id"] not in done]
        done.update(o["id"] for o in group)
        merged.append({"ids": [o["id"] for o in group], "titles": [o["title"] for o in group],
                       "count": max(o["count"] for o in group), "hint": m["hint"],
                       "example": next((o["example"] for o in group if o["example"]), None)})
    return merged


def _label(ids, short=False, sep=" or "):
    """How a (merged) mistake is named: its ids joined by ``sep`` (without the exercise when short)."""
    return sep.join(i.split(".", 1)[1] if short else i for i in ids)


def _widest(labels):
    """Characters of the longest line of any label (labels may hold line breaks)."""
    return max([len(line) for label in labels for line in str(label).split("\n")] + [4])


def _class_mistakes(report):
    """The ``TOP_MISTAKES`` most frequent mistakes of the whole class: list of (label, count)."""
    counts = [(_label(m["ids"], sep=" or\n"), m["count"]) for nb in report["notebooks"] for x in nb["exercises"]
              for m in merged_mistakes(x["mistakes"])]
    return sorted(counts, key=lambda item: (-item[1], item[0]))[:TOP_MISTAKES]


def _overview_figure(report):
    """Two panels, one above the other: full marks per exercise; the class's most frequent mistakes."""
    rows = [(f"{nb['notebook'][:2]} {x['function']}", x) for nb in report["notebooks"] for x in nb["exercises"]]
    top = _class_mistakes(report)
    labels = [label for label, _ in rows] + [i for i, _ in top]
    n = len(rows) + len(top)
    with matplotlib.rc_context(_RC):
        height = 0.42 * max(n, 2) + 2.6
        fig = Figure(figsize=(10.0, height))
        left = min(0.6, 0.04 + 0.0080 * _widest(labels))
        grid = fig.add_gridspec(2, 1, height_ratios=[max(len(rows), 1), max(len(top), 1)], hspace=0.3,
                                left=left, right=0.95, bottom=0.75 / height, top=1 - 0.45 / height)
        ax = fig.add_subplot(grid[0])
        shares = [100.0 * (x["full_marks_share"] or 0.0) for _, x in rows]
        ax.barh(range(len(rows)), shares, color=OKABE_ITO["green"], edgecolor="black")
        for i, (_, x) in enumerate(rows):
            ax.text(min(shares[i] + 1.5, 80), i, f"{x['full_marks']} of {x['graded']}", va="center")
        ax.set_yticks(range(len(rows)), [label for label, _ in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("submissions with full marks (%)")
        ax.set_title("Full marks per exercise")
        ax = fig.add_subplot(grid[1])
        ax.barh(range(len(top)), [c for _, c in top], color=OKABE_ITO["vermillion"], edgecolor="black", hatch="//")
        ax.set_yticks(range(len(top)), [i for i, _ in top])
        ax.invert_yaxis()
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("submissions")
        ax.set_title("Most frequent mistakes in the class")
        return figure_png(fig)


def overview_png(report):
    """The page's overview figure (full marks per exercise; the class's most frequent mistakes) as PNG bytes.

    Parameters
    ----------
    report : dict from ``build_report``

    Returns
    -------
    bytes (an empty class gives a figure with no bars)

    Raises
    ------
    KeyError for a dict that is not a class report.
    """
    return _overview_figure(report)


def _histogram(scores, top, title, stacked=None):
    """Bars at each whole score from 0 to ``top``; ``stacked``: outcome -> counts per score."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(8.0, 3.4))
        fig.subplots_adjust(left=0.1, right=0.68 if stacked else 0.97, bottom=0.17, top=0.89)
        ax = fig.add_subplot()
        xs = list(range(int(top) + 1))
        if stacked is None:
            ax.bar(xs, [scores.get(str(x), 0) for x in xs], color=OKABE_ITO["blue"], edgecolor="black")
        else:
            bottom = [0] * len(xs)
            for outcome, counts in stacked.items():
                label, colour, hatch = OUTCOME_STYLE[outcome]
                ax.bar(xs, counts, bottom=bottom, color=colour, hatch=hatch, edgecolor="black", label=label)
                bottom = [b + c for b, c in zip(bottom, counts)]
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.set_xticks(xs)
        ax.set_xlabel("score (points)")
        ax.set_ylabel("submissions")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(title)
        return figure_png(fig)


def _mistake_bars(exercise):
    shown = merged_mistakes(exercise["mistakes"])[:TOP_MISTAKES]
    labels = [_label(m["ids"], short=True, sep=" or\n") for m in shown]
    with matplotlib.rc_context(_RC):
        fig = _bar_figure(labels)
        ax = fig.axes[0]
        ax.barh(range(len(shown)), [m["count"] for m in shown], color=OKABE_ITO["vermillion"], edgecolor="black")
        ax.set_yticks(range(len(shown)), labels)
        ax.invert_yaxis()
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("submissions")
        ax.set_title(f"Most frequent mistakes in {exercise['function']}")
        return figure_png(fig)


def _exercise_stack(exercise, outcomes_by_score):
    return {o: outcomes_by_score.get(o, []) for o in OUTCOME_STYLE if exercise["outcomes"].get(o)}


def _outcomes_by_score(exercise):
    """outcome -> count per whole score (an exercise scores 0 or full: full marks sit at the top)."""
    top = int(exercise["max_score"])
    out = {}
    for outcome, count in exercise["outcomes"].items():
        column = [0] * (top + 1)
        column[top if outcome == "full" else 0] = count
        out[outcome] = column
    return out


def _mistake_table(exercise):
    rows = []
    for m in merged_mistakes(exercise["mistakes"]):
        example = m["example"]
        shown = (f"<pre>{_e(chr(10).join(example['lines']))}</pre><p>from {_e(example['submission'])}</p>"
                 if example else "<p>no example kept</p>")
        row_id = f"mistake-{exercise['grade_id']}-{m['ids'][0].replace('.', '-')}"
        named = " <em>or</em> ".join(f'<code title="{_e(i)}">{_e(i.split(".", 1)[1])}</code><br>{_e(t)}'
                                     for i, t in zip(m["ids"], m["titles"]))  # the caption names the exercise
        if len(m["ids"]) > 1:
            named += ('<br><span class="alike">(these give the same numbers on every case: the grader cannot '
                      "tell them apart, so it names both)</span>")
        rows.append(f'<tr id="{_e(row_id)}"><th scope="row">{named}</th>'
                    f'<td class="count">{m["count"]}</td><td>{_e(m["hint"])}</td><td>{shown}</td></tr>')
    fn = _e(exercise["function"])
    return (f'<table class="mistakes"><caption>Mistakes in {fn}, most frequent first (each id is {fn}.'
            f'&lt;name&gt; in mistakes.csv)</caption>'
            '<colgroup><col class="mistake"><col class="count"><col class="hint"><col class="example"></colgroup>'
            '<thead><tr><th scope="col">Mistake</th><th scope="col">Submissions</th>'
            '<th scope="col">Hint the student read</th><th scope="col">Example (the lines that showed it)</th>'
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _exercise_section(exercise):
    fn, n = exercise["function"], exercise["graded"]
    parts = [f'<section id="ex-{_e(exercise["grade_id"])}" class="exercise"><h3>Exercise {_e(fn)}</h3>',
             f'<p>{_e(exercise["title"])}. Graded: <span class="graded">{n}</span>; full marks: '
             f'<span class="full-marks">{_e(_share(exercise["full_marks"], n))}</span>.</p>']
    stack = _exercise_stack(exercise, _outcomes_by_score(exercise))
    described = "; ".join(f"{OUTCOME_STYLE[o][0]}: {exercise['outcomes'][o]}" for o in stack) or "none graded"
    parts.append(_img(_histogram(exercise["score_counts"], exercise["max_score"], f"Scores on {fn}", stack or None),
                      f"Histogram of the {n} scores on {fn} (0 to {exercise['max_score']:g} points), by outcome: "
                      f"{described}.", f"Scores on {fn}, coloured by what happened."))
    parts.append("<h4>Most frequent mistakes</h4>")
    if exercise["mistakes"]:
        top = merged_mistakes(exercise["mistakes"])[:TOP_MISTAKES]
        parts.append(_img(_mistake_bars(exercise), f"Bar chart of the most frequent mistakes in {fn}: "
                          + "; ".join(f"{_label(m['ids'])}, {m['count']}" for m in top) + ".",
                          f"Submissions per catalogued mistake in {fn} (the {len(top)} most frequent)."))
        parts.append(_mistake_table(exercise))
    else:
        parts.append("<p>No catalogued mistake was seen in this exercise.</p>")
    parts.append("<h4>Timed out or crashed</h4>")
    timed, crashed = exercise["timed_out"], exercise["crashed"]
    if timed or crashed:
        parts.append('<table class="stopped"><caption>Submissions stopped by the time limit or an error</caption>'
                     '<colgroup><col class="what"><col class="count"><col class="who"></colgroup><thead><tr>'
                     '<th scope="col">What happened</th><th scope="col">Submissions</th><th scope="col">Who</th>'
                     "</tr></thead><tbody>"
                     + "".join(f'<tr class="{cls}"><th scope="row">{label}</th><td class="count">{len(who)}</td>'
                               f"<td>{_e(', '.join(who)) or '-'}</td></tr>"
                               for cls, label, who in (("timeout", "timed out", timed), ("crash", "crashed", crashed)))
                     + "</tbody></table>")
    else:
        parts.append("<p>None timed out or crashed.</p>")
    parts.append("</section>")
    return "".join(parts)


def _unfixed_section(notebook):
    rows = "".join(f'<tr id="bug-{_e(b["bug"])}"><th scope="row"><code>{_e(b["bug"])}</code>'
                   f'{" (in the notebook&#8217;s buggy function)" if b["in_notebook"] else ""}</th>'
                   f'<td>{_e(b["title"])}'
                   + "".join(f'<br><span class="alike">or: {_e(t)} (the same numbers: the count holds both)</span>'
                             for t in b.get("or", ()))
                   + f'</td><td class="count">{b["count"]}</td></tr>'
                   for b in notebook["unfixed_bugs"])
    return ('<section id="unfixed-bugs"><h3>Catalogue bugs left unfixed</h3><p>Submissions whose '
            "backward_propagation_fixed still holds a bug of the bug catalogue (course_utils.bugs), as named by "
            "its mistake ids.</p><table class=\"bugs\"><caption>Bugs still present after the bug hunt</caption>"
            '<colgroup><col class="bug"><col class="what"><col class="count"></colgroup><thead><tr>'
            '<th scope="col">Bug</th><th scope="col">What it does</th><th scope="col">Submissions</th></tr>'
            "</thead><tbody>" + rows + "</tbody></table></section>")


def _notebook_section(notebook):
    nid, n = notebook["notebook"], notebook["submissions"]
    parts = [f'<section id="nb-{_e(nid)}" class="notebook"><h2>Notebook {_e(nid)}: {_e(notebook["title"])}</h2>',
             f"<p>{n} submissions; mean score {notebook['mean_score']:.2f} of {notebook['max_score']:g}; "
             f"full marks: {_e(_share(notebook['full_marks'], n))}.</p>"]
    counts = notebook["score_counts"]
    parts.append(_img(_histogram(counts, notebook["max_score"], f"Total scores on notebook {nid[:2]}"),
                      f"Histogram of the {n} total scores on notebook {nid}: "
                      + ", ".join(f"{v} scored {k}" for k, v in counts.items()) + ".",
                      f"Total scores on notebook {nid} (0 to {notebook['max_score']:g} points)."))
    parts.extend(_exercise_section(x) for x in notebook["exercises"])
    if "unfixed_bugs" in notebook:
        parts.append(_unfixed_section(notebook))
    parts.append("</section>")
    return "".join(parts)


def _overview(report):
    rows = "".join(f'<tr id="overview-{_e(x["grade_id"])}"><th scope="row">{_e(nb["notebook"][:2])} '
                   f'{_e(x["function"])}</th><td class="number graded">{x["graded"]}</td>'
                   f'<td class="number full">{x["full_marks"]}</td>'
                   f'<td class="number mistakes">{x["outcomes"]["mistake"]}</td>'
                   f'<td class="number other">{x["outcomes"]["other"]}</td>'
                   f'<td class="number stopped">{x["outcomes"]["timeout"] + x["outcomes"]["crash"]}</td>'
                   f'<td class="number not-attempted">{x["outcomes"]["not_attempted"]}</td></tr>'
                   for nb in report["notebooks"] for x in nb["exercises"])
    alt = ("Two bar charts. Full marks per exercise: " + "; ".join(
        f"{x['function']}, {x['full_marks']} of {x['graded']}" for nb in report["notebooks"] for x in nb["exercises"])
        + ". Most frequent mistakes in the class: " + "; ".join(f"{i}, {c}".replace("\n", " ")
                                                               for i, c in _class_mistakes(report)) + ".")
    return ('<section id="overview"><h2>Overview</h2>'
            + _img(overview_png(report), alt, "Above: the share of the graded submissions with full marks, per "
                   "exercise. Below: the mistakes made by the most submissions, over all exercises.")
            + '<table class="glance"><caption>Every exercise at a glance (each row adds up to its graded '
            'submissions)</caption><colgroup><col class="exercise"><col><col><col><col><col><col></colgroup>'
            '<thead><tr><th scope="col">Exercise</th><th scope="col">Graded</th><th scope="col">Full marks</th>'
            '<th scope="col">Catalogued mistake</th><th scope="col">Other wrong answer</th>'
            '<th scope="col">Timed out or crashed</th><th scope="col">Not attempted</th></tr></thead><tbody>'
            + rows + "</tbody></table></section>")


def _ungraded(report):
    if not report["ungraded"]:
        return '<section id="ungraded"><h2>Submissions that could not be graded</h2><p>None.</p></section>'
    rows = "".join(f'<tr><th scope="row">{_e(u["submission"])}</th><td>{_e(u["problem"])}</td></tr>'
                   for u in report["ungraded"])
    return ('<section id="ungraded"><h2>Submissions that could not be graded</h2><table><caption>Files with no '
            'graded exercise, and why</caption><thead><tr><th scope="col">Submission</th><th scope="col">Problem'
            "</th></tr></thead><tbody>" + rows + "</tbody></table></section>")


_ABOUT = ('<section id="about"><h2>How this report was made</h2><p>Each exercise was graded by its judge '
          "(course_utils.judges), which names the catalogued mistakes it recognises (course_utils.mistakes): "
          "a submission counts once per mistake it makes. Mistakes that give exactly the same numbers on every "
          "case cannot be told apart: the judge names them together, and the page shows them as one row (in "
          "class-report.json and mistakes.csv each keeps its own id). The hint is the one the student read. An example is the "
          "student's own lines that differ from the solution, cut short; with anonymised names, comments and "
          "the words of the file name are removed from it. <em>Other wrong answer</em>: the judge saw a wrong "
          "result that no catalogued mistake explains. <em>Timed out</em>, <em>crashed</em> and <em>not "
          "attempted</em> are what the grader recorded for the exercise (extra_data.outcome of each test in "
          "the results; results files written before it recorded them are read by the feedback's wording). "
          "Not attempted includes an exercise cell that was deleted. The same numbers are in class-report.json, and one row per "
          "mistake per submission in mistakes.csv.</p></section>")


def render(report):
    """The class report as one self-contained HTML page.

    Parameters
    ----------
    report : dict from ``autograder.class_report.build_report``

    Returns
    -------
    str, the page (UTF-8 text; no external resource, figures as data URIs)

    Raises
    ------
    KeyError for a dict that is not a class report.
    """
    subs = report["submissions"]
    names = "pseudonyms (anonymised)" if report["anonymized"] else "file names"
    nav = "".join(f'<li><a href="#nb-{_e(nb["notebook"])}">Notebook {_e(nb["notebook"])}</a></li>'
                  for nb in report["notebooks"])
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Class report: what did the class get wrong?</title><style>{_CSS}</style></head><body><main>"
            "<h1>Class report: what did the class get wrong?</h1>"
            f'<p class="summary">{subs["files"]} submissions: {subs["graded"]} graded, '
            f'<span class="ungraded-count">{subs["ungraded"]}</span> could not be graded. Submissions are '
            f"shown by their {names}.</p>"
            '<nav aria-label="Contents"><ul><li><a href="#overview">Overview</a></li>' + nav
            + '<li><a href="#ungraded">Submissions that could not be graded</a></li>'
            '<li><a href="#about">How this report was made</a></li></ul></nav>'
            + _overview(report) + "".join(_notebook_section(nb) for nb in report["notebooks"])
            + _ungraded(report) + _ABOUT + "</main></body></html>\n")
