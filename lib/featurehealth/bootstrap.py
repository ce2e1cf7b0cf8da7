"""Paired block bootstrap of PR-AUC differences: whether one scorer ranks the positives higher than
another beyond the noise of the days scored.

Two stages use it on the same rows of two scorers: the registry's promotion comparison (new model
against the model in use, :func:`featurehealth.registry.compare_on_holdout`) and the evaluation of a
model beside its naive baselines (:func:`featurehealth.model.evaluate`).
"""

from __future__ import annotations

import numpy as np

#: Resamples behind a PR-AUC difference's interval: its percentiles moved by about 0.001 between two
#: seeds on the default profile's holdout, and a year's (13,000 feature-days) takes under a second on
#: the 2-core machine, busy with other work.
BOOTSTRAP_RESAMPLES = 1000
#: Cells (resamples x positive rows) scored at once: bounds the memory a large holdout takes (a few
#: arrays of 8 MB), while few, large matrix products keep the threads of BLAS busy rather than waiting.
_RESAMPLE_CELLS = 1_000_000


def resampled_average_precision(y: np.ndarray, scores: np.ndarray, groups: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average precision (PR-AUC, as scikit-learn's ``average_precision_score``) of ``scores`` in
    resamples that draw each group of rows a number of times.

    Parameters
    ----------
    y, scores : ndarray
        Labels (0/1, at least one 1) and scores of n rows.
    groups : ndarray
        Each row's group, 0 .. g-1 (a day, or the row itself).
    counts : ndarray
        Shape (k, g): how many times each resample draws each group.

    Returns
    -------
    ndarray
        k values; nan where a resample draws no positive.
    """
    order = np.argsort(-scores, kind="stable")
    y, scores, groups = y[order], scores[order], groups[order]
    # Tied scores are one threshold; only thresholds holding a positive add to the sum, so the
    # curve is read there alone, as per-group counts at or above each (no per-row matrix).
    threshold = np.r_[0, np.cumsum(np.diff(scores) != 0)]
    steps = np.unique(threshold[y == 1])
    first_step = np.searchsorted(steps, threshold)
    n_groups = counts.shape[1]

    def at_steps(rows: np.ndarray) -> np.ndarray:
        cells = np.bincount(first_step[rows] * n_groups + groups[rows], minlength=(len(steps) + 1) * n_groups)
        return np.cumsum(cells.reshape(len(steps) + 1, n_groups)[:-1], axis=0).astype(float)

    # In floats: numpy multiplies integer matrices without BLAS, many times slower.
    drawn = counts.astype(float)
    true = drawn @ at_steps(y == 1).T
    flagged = drawn @ at_steps(np.ones(len(y), dtype=bool)).T
    precision = np.divide(true, flagged, out=np.zeros(true.shape), where=flagged > 0)
    gained = np.diff(true, axis=1, prepend=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (gained * precision).sum(axis=1) / true[:, -1]


def circular_block_draws(n_days: int, *, block_days: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How many times each of ``n_days`` consecutive days is drawn, per resample of a circular block bootstrap.

    A resample joins blocks of ``block_days`` consecutive days (the last day followed by the
    first), starting at random days, until it holds ``n_days`` days: days whose labels share the
    same days ahead are drawn together, not taken for independent evidence.

    Parameters
    ----------
    n_days : int
        Consecutive days scored, in date order.
    block_days : int
        Days per block (at least 1; 1 is the plain bootstrap of days, more than ``n_days`` is cut to it).
    resamples : int
        Resamples drawn.
    rng : numpy.random.Generator
        The draws' source.

    Returns
    -------
    ndarray
        Shape (resamples, n_days); each row sums to ``n_days``.

    Raises
    ------
    ValueError
        If ``block_days`` is not a whole number >= 1.
    """
    if isinstance(block_days, bool) or not isinstance(block_days, (int, np.integer)) or block_days < 1:
        raise ValueError(f"block_days must be a whole number >= 1; got {block_days!r}.")
    block = min(int(block_days), n_days)
    starts = rng.integers(0, n_days, size=(resamples, -(-n_days // block)))
    drawn = ((starts[:, :, None] + np.arange(block)) % n_days).reshape(resamples, -1)[:, :n_days]
    offsets = np.arange(resamples)[:, None] * n_days
    return np.bincount((drawn + offsets).ravel(), minlength=resamples * n_days).reshape(resamples, n_days)


def pr_auc_difference_interval(
    y: np.ndarray, scores: np.ndarray, other_scores: np.ndarray, days: np.ndarray, *,
    block_days: int, seed: int, resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float]:
    """95 % paired bootstrap interval of the PR-AUC difference (``scores`` - ``other_scores``), resampling runs of whole days.

    A drawn day brings both scorers' scores of all its feature-days: a day hard for both moves
    both PR-AUCs, so only where the scorers disagree widens the interval, and the feature-days of
    one day, which share its conditions, are not taken for independent evidence; nor are
    neighbouring days, whose targets look at the same days ahead, when ``block_days`` is the
    horizon (:func:`circular_block_draws`). Resamples without a positive, where PR-AUC is
    undefined, are left out.

    Parameters
    ----------
    y, scores, other_scores : ndarray
        Labels (both classes present) and both scorers' scores of the same rows (a new model and the
        model in use, or a model and a naive baseline).
    days : ndarray
        Each row's day; the days are consecutive.
    block_days : int
        Consecutive days drawn together (the horizon).
    seed : int
        Seed of the draws (``model.random_state``): the same inputs give the same interval.
    resamples : int
        Resamples drawn.
    """
    uniques, codes = np.unique(days, return_inverse=True)
    n_days = len(uniques)
    rng = np.random.default_rng(seed)
    block = max(1, _RESAMPLE_CELLS // max(int(y.sum()), 1))
    differences = []
    for start in range(0, resamples, block):
        counts = circular_block_draws(n_days, block_days=block_days, resamples=min(block, resamples - start), rng=rng)
        differences.append(resampled_average_precision(y, scores, codes, counts)
                           - resampled_average_precision(y, other_scores, codes, counts))
    low, high = np.nanpercentile(np.concatenate(differences), [2.5, 97.5])
    return float(low), float(high)
