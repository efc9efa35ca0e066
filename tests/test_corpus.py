"""The reorganised checker reproduces the reports recorded before issue 13 (``tests/corpus.py``).

Every verdict, block (name, order, differences, failing and kink counts), named worst entry, kink and
note of 3,532 checks must be unchanged: strings and booleans exactly, numbers to round-off.
"""

import math

import pytest

from tests import corpus

RTOL, ATOL = 1e-9, 1e-13


def same(recorded, now, path):
    """Compare two summaries recursively; return the first difference as a string, or None."""
    if isinstance(recorded, float) or isinstance(now, float):
        if isinstance(recorded, bool) or isinstance(now, bool):
            return None if recorded == now else f"{path}: {recorded!r} != {now!r}"
        if math.isinf(recorded) or math.isinf(now):
            return None if recorded == now else f"{path}: {recorded!r} != {now!r}"
        return None if math.isclose(recorded, now, rel_tol=RTOL, abs_tol=ATOL) else f"{path}: {recorded!r} != {now!r}"
    if isinstance(recorded, list) and isinstance(now, list):
        if len(recorded) != len(now):
            return f"{path}: {len(recorded)} items recorded, {len(now)} now ({recorded!r} vs {now!r})"
        for i, (a, b) in enumerate(zip(recorded, now)):
            found = same(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(recorded, dict) and isinstance(now, dict):
        if set(recorded) != set(now):
            return f"{path}: keys {sorted(recorded)} != {sorted(now)}"
        for k in recorded:
            found = same(recorded[k], now[k], f"{path}.{k}")
            if found:
                return found
        return None
    return None if recorded == now else f"{path}: {recorded!r} != {now!r}"


@pytest.fixture(scope="module")
def recorded():
    return corpus.load()


def test_the_corpus_covers_every_bug_mode_and_evaluator(recorded):
    keys = [k.split("|") for k in recorded]
    assert len({k[0] for k in keys}) == 22  # the test case, near a kink, 20 random networks
    assert {k[2] for k in keys} >= {m for m, _ in corpus.MODES}
    assert {"plain", "batched"} <= {k[3] for k in keys if len(k) == 4}


def test_every_report_of_the_corpus_is_unchanged(recorded):
    packed = corpus.pack(corpus.compute())
    now, texts = packed["reports"], packed["texts"]
    assert set(now) == set(recorded)
    differences = []
    for key, summary in now.items():
        if "notes" in summary:
            summary = dict(summary, notes=[texts[i] for i in summary["notes"]], mode_reason=texts[summary["mode_reason"]])
        found = same(recorded[key], summary, key)
        if found:
            differences.append(found)
    assert not differences, f"{len(differences)} reports changed, e.g.\n" + "\n".join(differences[:10])
