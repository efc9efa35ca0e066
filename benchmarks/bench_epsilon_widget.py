"""Benchmark: server time of one update of the epsilon explorer on the course's 3-layer net, as a ratio
against a baseline measured in the same process.

Baseline: the same update done plainly, i.e. the state at the new step and a full render of a fresh
figure of the same size (``plots.plot_error_vs_epsilon`` drawn and saved as PNG), which is what an
explorer without the blitting machinery would do on every move. Reported, each as a median:

* slider move (>= 10 moves): the state at the new step (one batched evaluation, the sweep from the
  cache), the current-step marks redrawn over the cached background, encoded as PNG;
* dropdown change to a panel seen before: the same, over that panel's cached background;
* dropdown change to a panel never seen: the sweep (~100 steps x 47 entries x 2 evaluations, one
  vectorised call) and a full render.

A ratio below 1 means the explorer is that many times cheaper than the plain redraw; it does not
depend on the machine's speed (both are measured here, now). Absolute times are printed too, for
reference only.

Run: ``.venv/bin/python -m benchmarks.bench_epsilon_widget [--moves N]`` (``make bench`` runs every
benchmark).
"""

import argparse
import io

import numpy as np

from benchmarks.widget_timing import median_lines, time_ms


def _plain_update(eps, cache):
    """The baseline: state at ``eps`` and a fresh figure rendered to PNG (bytes)."""
    from course_utils.epsilon_drawing import EPSILON_DPI
    from course_utils.plots import plot_error_vs_epsilon
    from course_utils.widgets import explorer_state

    state = explorer_state(eps, "centered", "float64", "net", cache=cache)
    buffer = io.BytesIO()
    plot_error_vs_epsilon(data=state).savefig(buffer, format="png", dpi=EPSILON_DPI)
    return buffer.getvalue()


def run(moves=20):
    """Measure the explorer's update times and the plain baseline.

    Parameters
    ----------
    moves : int >= 10, slider moves (and baseline renders) measured

    Returns
    -------
    dict kind -> list of float (milliseconds); "baseline" holds the plain full redraws
    """
    from course_utils.widgets import epsilon_explorer

    moves = max(10, int(moves))
    explorer = epsilon_explorer(model="net")
    controls = explorer.controls
    steps = np.logspace(-11, -1, moves)
    times = {"baseline": [time_ms(lambda v=v: _plain_update(float(v), explorer.cache)) for v in steps]}
    times["slider move"] = [time_ms(lambda v=v: setattr(controls["eps"], "value", float(v))) for v in steps]
    # one control at a time, each change lands on a panel not drawn before
    path = [("method", "forward"), ("dtype", "float32"), ("method", "complex"), ("dtype", "float64"),
            ("model", "net_stable"), ("method", "centered"), ("dtype", "float32"), ("method", "forward")]
    times["dropdown, new panel (sweep + full render)"] = [
        time_ms(lambda c=c, v=v: setattr(controls[c], "value", v)) for c, v in path]
    # walking the same path back revisits panels whose background is cached
    back = [("method", "centered"), ("dtype", "float64"), ("model", "net"), ("method", "complex")]
    times["dropdown, panel seen before"] = [
        time_ms(lambda c=c, v=v: setattr(controls[c], "value", v)) for _ in range(3) for c, v in back]
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_epsilon_widget")
    parser.add_argument("--moves", type=int, default=20, help="slider moves measured (at least 10)")
    parser.add_argument("--quick", action="store_true", help="10 moves (the minimum)")
    args, _ = parser.parse_known_args(argv)  # (make bench passes the same options to every benchmark)
    times = run(10 if args.quick else args.moves)
    print("\n".join(median_lines("epsilon explorer", "state + fresh figure rendered to PNG", times, "updates")))


if __name__ == "__main__":
    main()
