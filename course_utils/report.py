"""What a gradient check found: the report ``check_gradients`` returns, and its text and HTML views.

A report has a verdict ("passed", "failed" or "inconclusive"), the course's global relative difference,
one ``BlockResult`` per parameter block (W1, b1, ...), the worst entries by name ("W2[1, 3]") and the
entries where the step crossed a ReLU kink. Per-entry results are stored once (``entry_failing``,
``entry_kinks``), so the views and the plots read them instead of re-deriving them; one status rule
(``GradCheckReport.status``) serves the text and the HTML view.
"""

import html
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BlockResult", "EntryResult", "GradCheckReport"]

#: The verdict as the headline shows it.
HEADLINES = {"passed": "PASSED", "failed": "FAILED", "inconclusive": "INCONCLUSIVE"}

#: Colour of the headline in the HTML view (the word itself carries the meaning too).
COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "inconclusive": "#9a6700"}


@dataclass
class BlockResult:
    """One parameter block (e.g. W2) of a report.

    relative_difference is the course's formula on the block; excess is the part of the discrepancy
    above the round-off floor, relative to the block's gradient size: the block fails when excess is
    above the threshold.
    """

    name: str
    shape: tuple
    relative_difference: float
    excess: float
    analytic_norm: float
    numeric_norm: float
    n_failing: int
    n_kinks: int
    passed: bool
    resolved: bool  # False when the block's gradient is below the round-off floor of the check


@dataclass
class EntryResult:
    """One entry of theta in a report."""

    index: int
    label: str  # e.g. "W2[1, 3]"
    analytic: float
    numeric: float
    relative_error: float  # |g - g_hat| / (|g| + |g_hat|), 0 when both are 0
    excess: float  # the part of |g - g_hat| above the round-off floor, relative to |g| + |g_hat|
    kink: bool
    finding: str = ""  # "wrong", "kink", "jump", "step too large", "noisy cost" or ""


@dataclass
class GradCheckReport:
    """What a gradient check found. Print it, display it in a notebook, or read its fields.

    Attributes
    ----------
    verdict : "passed", "failed" or "inconclusive"
    passed : bool, verdict == "passed"
    relative_difference : float, the course's global ||g - g_hat|| / (||g|| + ||g_hat||) at the step asked for
    threshold : float
    method, mode : str ("centered"/"forward"/"complex"; "full", "sparse" or "random")
    mode_reason : str, why the check ran in this mode (as asked, or chosen by mode="auto" and why)
    dtype : numpy dtype of the check
    epsilon : ndarray, shape (s,), the step of every checked entry (s = n in mode "full"), or (k,) (mode
        "random")
    indices : ndarray of int, shape (s,), the entries of theta checked (arange(n) in mode "full"); the
        per-entry arrays below are in this order
    blocks : list of BlockResult, ranked worst first (modes "full", "sparse"; per-block random checks)
    worst : list of EntryResult, the worst entries (modes "full", "sparse")
    kinks : list of EntryResult, entries where the step crossed a kink
    n_evaluations : int, calls of the cost function
    analytic, numeric : ndarray, shape (s,), the analytic gradient and the differences at the step asked for
        (modes "full", "sparse"), or the
        directional derivatives, shape (k,) (mode "random")
    entry_errors : ndarray, shape (s,), per-entry |g - g_hat| / (|g| + |g_hat|)
    entry_excess : ndarray, shape (s,), per-entry discrepancy above the round-off floor, relative to
        |g| + |g_hat|; an entry fails when this is above the threshold
    entry_failing : ndarray of bool, shape (s,), the entries that fail (above the threshold beyond
        round-off, kinks excluded)
    entry_kinks : ndarray of bool, shape (s,), the entries where the step crossed a kink
    layout : Layout of the parameters
    notes : list of str, things the reader should know (kinks, unresolved blocks, precision)
    counted_difference : float or None, the verdict's own number: the relative difference over the entries
        that count (kinks and jumps no step clears are set aside); None for the random-direction check
    n_set_aside : int, kink and jump entries left out of the verdict
    entry_findings : ndarray of str (s,), per entry: "wrong", "kink", "jump", "step too large", "noisy cost"
        or "" (modes "full", "sparse")
    noise : checker_noise.Noise or None, the cost's measured noise, repeatability and precision
    estimate : ndarray (s,), the numeric derivative the verdict used: ``numeric`` where the first step settled
        the entry, the second (Richardson) estimate elsewhere (modes "full", "sparse")
    directions : ndarray (k, n), the directions of a random check (None when too large to keep)
    """

    verdict: str
    relative_difference: float
    threshold: float
    method: str
    mode: str
    dtype: np.dtype
    epsilon: np.ndarray
    blocks: list
    worst: list
    kinks: list
    n_evaluations: int
    analytic: np.ndarray
    numeric: np.ndarray
    entry_errors: np.ndarray
    layout: object
    entry_excess: np.ndarray = None
    notes: list = field(default_factory=list)
    directions: np.ndarray = None
    indices: np.ndarray = None
    mode_reason: str = ""
    entry_failing: np.ndarray = None
    entry_kinks: np.ndarray = None
    counted_difference: float = None
    n_set_aside: int = 0
    entry_findings: np.ndarray = None
    noise: object = None
    estimate: np.ndarray = None

    @property
    def passed(self):
        """bool: the verdict is "passed"."""
        return self.verdict == "passed"

    def block(self, name):
        """The BlockResult of parameter ``name``.

        Raises
        ------
        KeyError naming the blocks there are.
        """
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(f"no block named {name!r}; blocks are {[b.name for b in self.blocks]}")

    def failing_blocks(self):
        """Names of the blocks that fail, worst first (list of str)."""
        return [b.name for b in self.blocks if not b.passed]

    @staticmethod
    def status(block):
        """The status of a block, as both views show it: "ok", "WRONG" or "below round-off floor", and
        the number of kinks (str)."""
        status = "ok" if block.passed else "WRONG"
        if block.passed and not block.resolved:
            status = "below round-off floor"
        if block.n_kinks:
            status += f" ({block.n_kinks} kink{'s' if block.n_kinks > 1 else ''})"
        return status

    def summary(self):
        """One line: verdict, global relative difference, threshold and where it fails (str)."""
        number = self.relative_difference if self.counted_difference is None else self.counted_difference
        aside = (f", {self.n_set_aside} kink entr{'ies' if self.n_set_aside > 1 else 'y'} set aside"
                 if self.n_set_aside else "")
        line = (f"Gradient check {HEADLINES[self.verdict]}: relative difference {number:.3e}{aside} "
                f"(threshold {self.threshold:.0e}, {self.method} differences, {self.mode} mode, "
                f"{self.dtype.name})")
        failing = self.failing_blocks()
        if failing:
            line += f"; wrong blocks: {', '.join(failing)}"
        if self.noise is not None and not self.noise.repeatable:
            line += "; the cost is not repeatable"
        return line

    def __repr__(self):
        lines = [self.summary()]
        if self.blocks:
            lines += ["", f"  {'block':<8}{'shape':<12}{'rel. diff':>12}{'|analytic|':>13}{'|numeric|':>13}"
                          f"{'failing':>9}  status"]
            lines += [f"  {b.name:<8}{str(b.shape):<12}{b.relative_difference:>12.3e}{b.analytic_norm:>13.3e}"
                      f"{b.numeric_norm:>13.3e}{b.n_failing:>9}  {self.status(b)}" for b in self.blocks]
        if self.worst:
            lines += ["", f"  worst entries{'':<6}{'analytic':>14}{'numeric':>14}{'rel. error':>12}"]
            lines += [f"  {e.label:<19}{e.analytic:>14.6e}{e.numeric:>14.6e}{e.relative_error:>12.3e}"
                      f"  {e.finding or ('kink' if e.kink else '')}".rstrip() for e in self.worst]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self):
        out = [f'<div class="gradcheck-report"><p style="color:{COLOURS[self.verdict]};font-weight:bold">'
               f"{html.escape(self.summary())}</p>"]
        if self.blocks:
            out.append('<table><tr><th>block</th><th>shape</th><th>relative difference</th>'
                       '<th>|analytic|</th><th>|numeric|</th><th>failing entries</th><th>status</th></tr>')
            for b in self.blocks:
                style = "" if b.passed else ' style="color:#cf222e;font-weight:bold"'
                out.append(f"<tr{style}><td>{html.escape(b.name)}</td><td>{b.shape}</td>"
                           f"<td>{b.relative_difference:.3e}</td><td>{b.analytic_norm:.3e}</td>"
                           f"<td>{b.numeric_norm:.3e}</td><td>{b.n_failing}</td><td>{self.status(b)}</td></tr>")
            out.append("</table>")
        if self.worst:
            out.append("<table><tr><th>worst entries</th><th>analytic</th><th>numeric</th>"
                       "<th>relative error</th><th></th></tr>")
            out += [f"<tr><td>{html.escape(e.label)}</td><td>{e.analytic:.6e}</td><td>{e.numeric:.6e}</td>"
                    f"<td>{e.relative_error:.3e}</td><td>{e.finding or ('kink' if e.kink else '')}</td></tr>" for e in self.worst]
            out.append("</table>")
        out += [f"<p>note: {html.escape(note)}</p>" for note in self.notes]
        out.append("</div>")
        return "".join(out)
