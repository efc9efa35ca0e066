"""Machinery of the gradient checker; a student does not need this module: the progress bar.

A tqdm bar over a check's work (``tqdm.auto`` draws an ipywidget bar in a notebook and a text bar, with
the time left, in a terminal). With ``progress=None`` the bar appears when the work, counted as cost
evaluations times parameters, reaches ``PROGRESS_MIN_WORK``: the rule counts work, never time, so the same
check shows a bar (or none) on every machine, however busy.
"""

from tqdm.auto import tqdm

__all__ = ["PROGRESS_MIN_WORK", "Progress"]

#: With ``progress=None`` a bar appears when a check's work, counted as cost evaluations times
#: parameters, reaches this many. The rule counts work, never time, so the same check shows a bar (or
#: none) on every machine, however busy: a plain-loop check of about 100k parameters or a random-direction
#: check of about 1M. The course's own checks (the 47-parameter test case: 94 x 47 = 4,418) never show one.
PROGRESS_MIN_WORK = 20_000_000


class Progress:
    """A tqdm bar over a check's work: always (True), never (False), or (None) when the work
    (evaluations x parameters) reaches PROGRESS_MIN_WORK.

    Parameters
    ----------
    total : int, the evaluations the check will make
    progress : True, False or None (validated by the caller)
    desc : str, the bar's label
    n_parameters : int, the parameters of the model
    """

    def __init__(self, total, progress, desc, n_parameters):
        self.total, self.desc = int(total), desc
        self.bar = None
        if progress or (progress is None and self.total * int(n_parameters) >= PROGRESS_MIN_WORK):
            self.bar = tqdm(total=self.total, desc=self.desc, unit="evals", leave=False)

    def advance(self, n):
        """Count ``n`` more evaluations done."""
        if self.bar is not None:
            self.bar.update(n)

    def close(self):
        """Remove the bar (if any)."""
        if self.bar is not None:
            self.bar.close()
