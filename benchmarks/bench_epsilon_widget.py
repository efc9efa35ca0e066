"""Benchmark: server time of one update of the epsilon explorer on the course's 3-layer net.

The budget is 100 ms per update. Reported for the three kinds of update:

* slider move: the state at the new step (one batched evaluation, the sweep comes from the cache) and a
  redraw of the current-step marks over the cached background, encoded as PNG;
* dropdown change to a panel seen before: the same, over that panel's cached background;
* dropdown change to a panel never seen: the sweep (~100 steps x 47 entries x 2 evaluations, one
  vectorised call) and a full render of the figure.

Run: ``.venv/bin/python benchmarks/bench_epsilon_widget.py`` (``make bench`` runs every benchmark).
Prints one line per kind: median time in ms and its ratio to the 100 ms budget.
"""

import statistics
import time

import numpy as np

BUDGET_MS = 100.0


def _time_ms(action):
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000.0


def run(repeats=30):
    """Measure the explorer's update times.

    Returns
    -------
    dict kind -> list of float (milliseconds)
    """
    from course_utils.widgets import epsilon_explorer

    explorer = epsilon_explorer(model="net")
    controls = explorer.controls
    steps = np.logspace(-11, -1, repeats)
    times = {"slider move": [_time_ms(lambda v=v: setattr(controls["eps"], "value", float(v))) for v in steps]}
    # one control at a time, each change lands on a panel not drawn before
    path = [("method", "forward"), ("dtype", "float32"), ("method", "complex"), ("dtype", "float64"),
            ("model", "net_stable"), ("method", "centered"), ("dtype", "float32"), ("method", "forward")]
    times["dropdown, new panel (sweep + full render)"] = [
        _time_ms(lambda c=c, v=v: setattr(controls[c], "value", v)) for c, v in path]
    # walking the same path back revisits panels whose background is cached
    back = [("method", "centered"), ("dtype", "float64"), ("model", "net"), ("method", "complex")]
    times["dropdown, panel seen before"] = [
        _time_ms(lambda c=c, v=v: setattr(controls[c], "value", v)) for _ in range(3) for c, v in back]
    return times


def main():
    for kind, values in run().items():
        median = statistics.median(values)
        print(f"epsilon explorer, {kind:<42} median {median:7.1f} ms over {len(values):3d} updates "
              f"= {median / BUDGET_MS:.2f} x the {BUDGET_MS:.0f} ms budget")


if __name__ == "__main__":
    main()
