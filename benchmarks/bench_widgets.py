"""Benchmark: server time of a new pick in the bug-hunt widget (notebook 03), as a ratio against a
baseline measured in the same process.

Baseline: what a pick costs without the widget's machinery, i.e. ``bug_hunt_view`` (the check) and a
fresh ``plot_report`` figure saved as PNG, for the picked bug. Reported, each as a median over at least
10 picks:

* pick of a precomputed bug: the widget has finished its background precompute (waited for as a
  condition: the thread ended), so a pick only sends the report HTML, the explanation and the PNG;
* pick of a combination never seen: the busy state, the check and the figure, drawn with the layout
  computed once (``LayoutReuse``) and fast PNG compression.

A ratio below 1 means a pick is that many times cheaper than the plain recompute; the ratio does not
depend on the machine's speed (both are measured here, now). Absolute times are printed for reference.
The issue's target is at most 200 ms for a new pick on a quiet machine.

Run: ``.venv/bin/python -m benchmarks.bench_widgets [--picks N] [--quick]`` (``make bench`` runs every
benchmark).
"""

import argparse

from benchmarks.widget_timing import median_lines, time_ms


def _plain_pick(names):
    """The baseline: the check and a fresh report figure rendered to PNG (bytes)."""
    from course_utils.figure_machinery import FIGURE_DPI, figure_png
    from course_utils.plots import plot_report
    from course_utils.widgets import bug_hunt_view

    return figure_png(plot_report(bug_hunt_view(list(names))["report"]), FIGURE_DPI)


def _compatible(*names):
    """True when the bugs ``names`` can be planted together (they rewrite different lines)."""
    from course_utils.bugs import BugError, inject

    try:
        inject(list(names))
    except BugError:
        return False
    return True


def run(picks=14):
    """Measure picks in the bug-hunt widget and the plain baseline.

    Parameters
    ----------
    picks : int >= 10, picks measured of each kind

    Returns
    -------
    dict kind -> list of float (milliseconds); "baseline" holds the plain recomputes
    """
    from course_utils.bugs import bug_names
    from course_utils.widgets import bug_hunt_widget

    picks = max(10, int(picks))
    names = bug_names()
    singles = [names[i % len(names)] for i in range(picks)]
    if singles[0] == "correct" or len(singles) > 1 and singles[0] == singles[-1]:
        singles = singles[1:] + singles[:1]
    times = {"baseline": [time_ms(lambda n=n: _plain_pick((n,))) for n in singles]}
    widget = bug_hunt_widget(precompute=True)
    if not widget.cache.wait(timeout=3600):
        raise RuntimeError("the bug-hunt precompute did not finish")
    times["pick, bug precomputed"] = [time_ms(lambda n=n: widget.select(n)) for n in singles]
    combos = [(a, b) for a in names for b in ("l2_on_biases", "weight_grad_transposed", "db_before_relu")
              if a != b and _compatible(a, b)][:picks]
    times["pick, combination never seen"] = [time_ms(lambda c=c: widget.select(list(c))) for c in combos]
    widget.close()
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_widgets")
    parser.add_argument("--picks", type=int, default=14, help="picks measured of each kind (at least 10)")
    parser.add_argument("--quick", action="store_true", help="10 picks (the minimum)")
    args, _ = parser.parse_known_args(argv)  # (make bench passes the same options to every benchmark)
    times = run(10 if args.quick else args.picks)
    print("\n".join(median_lines("bug-hunt widget", "check + fresh report figure rendered to PNG", times, "picks")))


if __name__ == "__main__":
    main()
