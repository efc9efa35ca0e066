"""Timing shared by the widget benchmarks (bench_epsilon_widget, bench_widgets): one update timed in
milliseconds, and the medians reported as ratios against a baseline measured in the same process."""

import statistics
import time

__all__ = ["median_lines", "time_ms"]


def time_ms(action):
    """Milliseconds ``action()`` takes (one call, wall clock)."""
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000.0


def median_lines(widget, baseline_label, times, noun):
    """Lines reporting each kind's median as a ratio to the median of ``times["baseline"]``.

    Parameters
    ----------
    widget : str, the widget's name, at the start of every line
    baseline_label : str, what the baseline measures
    times : dict kind -> list of ms, with the key "baseline"
    noun : str, what one measurement is ("picks", "updates")

    Returns
    -------
    list of str

    Raises
    ------
    KeyError without a "baseline"; statistics.StatisticsError for an empty list
    """
    kinds = {kind: values for kind, values in times.items() if kind != "baseline"}
    baseline = statistics.median(times["baseline"])
    width = max(map(len, kinds), default=0)
    lines = [f"{widget}, baseline: {baseline_label}, median {baseline:7.1f} ms"]
    for kind, values in kinds.items():
        median = statistics.median(values)
        lines.append(f"{widget}, {kind:<{width}} median {median:7.1f} ms over {len(values):3d} {noun} "
                     f"= {median / baseline:.3f} x the baseline")
    return lines
