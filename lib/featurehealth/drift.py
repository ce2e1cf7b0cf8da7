"""Drift monitoring: a reference window against the current window, per feature and metric.

The shape follows NannyML: :func:`fit_reference` learns everything a comparison needs from the
reference window once (summary statistics, the reference sample and PSI bin edges fixed there);
:func:`calculate_drift` compares one current window (a chunk) with it. :func:`monitor` plans the
windows, runs one comparison per daily evaluation and applies the persistence rule.

Unit of observation. The value of a metric on one feature-day; a cell's sample size is the number
of days with a value in the window.

Weekly seasonality. Every window is a whole number of weeks, so both sides hold the same mix of
weekdays and a purely weekly pattern cannot move the distribution of a cell.

Statuses. A cell is ``insufficient_data`` when either side has fewer than ``min_samples`` values.
Otherwise the effect sizes (PSI, ``|mean change|``, Wasserstein distance over the reference
standard deviation) say *how much* the metric moved and the KS p-value says whether that is more
than the sampling noise of a few dozen days: ``warn`` needs an effect at or above its warn
threshold *and* ``ks_pvalue < ks_pvalue_warn``; ``alert`` the same with the alert thresholds and
``ks_pvalue_alert``. Neither side alone decides because effect sizes on a few dozen days are noisy
while a p-value alone flags changes too small to matter.

PSI bins. With no change at all, PSI on ``k`` bins is biased upward by about
``(k - 1)(1/n_ref + 1/n_cur)`` (its chi-square approximation), and a bin the current window leaves
empty adds ``p * ln(p / 1e-4)`` on top (0.69 for a tenth). With ``drift.n_bins`` 10 on 70
reference and 14 current days that made the median no-change PSI 2.31, and 99 % of such cells
reached ``psi_alert``. So :func:`fit_reference` caps the bins of each cell
(:func:`psi_bin_count`) so that the expected no-change PSI is at most half ``psi_warn``, given its
reference size and ``current_days``, but never below 2 bins: on 14 current days even 2 bins expect
about 0.09 (skewed: median 0.02), above half the default ``psi_warn``. Simulated (1000 draws of normal values, 10,000 for the 56-day rows, no change vs a shift
of one reference standard deviation; ``reference: trailing`` with the default ``reference_days`` is
56 / 14, and the default ``reference: training`` is the model's training window, usually longer),
median PSI and share at or above ``psi_alert`` 0.25:

==================  =====  ===========================  ==========================
n_ref / n_cur       bins   no change: median, >= 0.25   1-sd shift: median, >= 0.25
==================  =====  ===========================  ==========================
56 / 14 (trailing)  2      0.021, 9 %                   0.64, 81 %
56 / 7 (short)      2      0.021, 15 %                  0.64, 69 %
70 / 14             2      0.021, 8 %                   0.64, 81 %
112 / 28            2      0.021, 3 %                   0.64, 91 %
182 / 56            3      0.035, 0.3 %                 0.77, 99 %
364 / 91            4      0.034, 0 %                   0.87, 100 %
70 / 14, old rule   10     2.31, 99 %                   3.47, 100 %
==================  =====  ===========================  ==========================

Persistence (alert fatigue). A cell at ``alert`` today stays an alert only if it was at alert on
each of the last ``persist_days`` daily evaluations (the current window ending today, yesterday,
...) and, when ``short_window_days > 0``, the short window ending today is at alert as well (the
long window proves the change is sustained, the short one that it is still happening, as in
multi-window burn-rate alerting). Otherwise it is reported as ``warn``.

Prediction drift. The risk scores of the current window against the model's held-out scores of
the whole weeks before it (:func:`prediction_drift`). A feature's scores on nearby days move
together (an incident raises them for days), so the rows are not independent and neither KS nor
PSI's own small-sample bias says what chance gives: the p-value is a block permutation test that
shuffles whole feature-weeks between the windows with a fixed seed, 499 times, more for a
``ks_pvalue_alert`` below 0.01 (so that a p-value can fall below it). The model's 28-day signals make
a feature's scores drift slowly over weeks, so its weeks are not quite exchangeable, and most scores
sit near 0, where quantile bins are narrow: on simulated slowly drifting scores with no change (12
features, 3 + 2 weeks) PSI and p-value alone alerted on 5.5 % of draws, and two of ten daily ``ci``
runs advised retraining on a PSI of 0.5 with the mean down 2.8 %. So a level also needs the mean
change or the Wasserstein distance at that level's limit, as a data-drift cell's effect does
(:func:`prediction_effect_reached`): 0 % of those draws, while a rise of every score by one logit
still alerted on 60 % (66 % before). Too few scored rows per PSI
bin, or too few feature-weeks to shuffle, is ``insufficient_data``, never an alert. Retraining
(:func:`retrain_recommendation`) is not advised when the newest model version was built on all
the data up to as-of: it would only reproduce that version, unless the model in use was saved under
other library versions, which retraining rebuilds under these. The model's age is that of the newest
version, promoted or not, so a candidate the holdout comparison refused is not retrained every
day until one wins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from featurehealth import config
from featurehealth.display import MAX_LABEL_CHARS, count_text, number_text, percent_text, plain_label
from featurehealth.signals import normalise_dates

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Numeric fact_feature_metrics columns a profile may monitor (``drift.metrics``).
METRIC_COLUMNS = config.DRIFT_METRICS
STATUSES = ("ok", "warn", "alert", "insufficient_data")
REFERENCE_KINDS = config.DRIFT_REFERENCES
#: Reference quantiles kept in baseline_stats.json.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Floor on a bin's proportion in PSI, so an empty bin gives a large but finite term.
PSI_EPSILON = 1e-4
#: Column of risk scores in the fact table.
SCORE_COLUMN = "risk_probability"
#: Score columns accepted in reports/test_predictions.parquet, first found wins.
HISTORY_SCORE_COLUMNS = ("risk_probability", "probability")
_KEY = ["feature_id", "metric"]
_COMPARISON = ("mean_ref", "mean_cur", "mean_change", "psi", "wasserstein_norm")
#: Shuffles of the block permutation test of prediction drift; minimum p-value 1 / (1 + 499) = 0.002.
PERMUTATIONS = 499
#: Fewest (shuffles + 1) x ``ks_pvalue_alert`` of that test: 500 x 0.01 with the defaults. A stricter
#: alert level gets more shuffles, or no p-value could fall below it and the risk scores never alert.
PERMUTATIONS_PER_ALERT_LEVEL = 5
#: Seed of those shuffles: a report does not change between runs on the same data.
PERMUTATION_SEED = 20260101


def _ks_gap(smaller: np.ndarray, larger: np.ndarray) -> tuple[int, np.ndarray]:
    """KS statistic of two sorted samples times the product of their sizes (an exact integer), and
    the numbers of pooled values at or below each distinct value (the only points where the two
    empirical distributions can be compared: tied values cannot be split)."""
    values = np.unique(np.concatenate([smaller, larger]))
    small_end = np.searchsorted(smaller, values, side="right")
    large_end = np.searchsorted(larger, values, side="right")
    gap = int(np.max(np.abs(small_end * len(larger) - large_end * len(smaller))))
    return gap, small_end + large_end


def _ks_reach_probability(gaps: np.ndarray, checked: np.ndarray, *, n_small: int, n_large: int) -> np.ndarray:
    """For samples of these sizes, the chance under random relabelling of the pooled values that
    the KS statistic reaches each of ``gaps`` (in units of ``1 / (n_small * n_large)``).

    A relabelling is a path that draws the pooled values in order, each from one sample; it reaches
    the gap when, at a point ``checked`` for that pair, the counts drawn so far are that far apart.
    The path's distribution is carried as probabilities (each draw takes the next value from a
    sample in proportion to what that sample has left), so nothing overflows, and its mass is
    moved to the result where it first reaches the gap. One step per pooled value for every pair
    of these sizes at once.
    """
    total = n_small + n_large
    drawn_small = np.arange(n_small + 1)
    mass = np.zeros((len(gaps), n_small + 1))
    mass[:, 0] = 1.0
    reached = np.zeros(len(gaps))
    for step in range(total):
        share = mass / (total - step)
        mass = share * (n_large - step + drawn_small)
        mass[:, 1:] += share[:, :-1] * (n_small - drawn_small[:-1])
        distance = np.abs(drawn_small * n_large - (step + 1 - drawn_small) * n_small)
        far = checked[:, step + 1, None] & (distance[None, :] >= gaps[:, None])
        reached += np.where(far, mass, 0.0).sum(axis=1)
        mass[far] = 0.0
    return np.minimum(reached, 1.0)


def ks_tests(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Two-sample Kolmogorov-Smirnov statistic and its exact p-value for each pair of samples.

    The p-value is the share of all ways to split the pooled values into samples of these sizes
    whose statistic reaches the observed one (a permutation test, counted exactly). Without tied
    values it is scipy's exact two-sided p-value; with them, where the empirical distributions
    can only be compared between distinct values, scipy's (which assumes continuous data)
    overstates it: 0.29 instead of 0.0011 for crashes on 4 of 14 days after 56 crash-free days,
    and a crash rate or a rating is often tied. Pairs of the same sizes are counted together.

    Parameters
    ----------
    pairs : sequence of (numpy.ndarray, numpy.ndarray)
        Finite values of the reference and the current sample, each sorted ascending.

    Returns
    -------
    tuple of numpy.ndarray
        The statistics and the p-values, NaN for a pair with an empty side.
    """
    statistic = np.full(len(pairs), np.nan)
    pvalue = np.full(len(pairs), np.nan)
    by_sizes: dict[tuple[int, int], list[tuple[int, int, np.ndarray]]] = {}
    for index, (reference, current) in enumerate(pairs):
        if len(reference) == 0 or len(current) == 0:
            continue
        smaller, larger = sorted((reference, current), key=len)
        gap, ends = _ks_gap(smaller, larger)
        statistic[index] = gap / (len(smaller) * len(larger))
        by_sizes.setdefault((len(smaller), len(larger)), []).append((index, gap, ends))
    for (n_small, n_large), group in by_sizes.items():
        checked = np.zeros((len(group), n_small + n_large + 1), dtype=bool)
        for row, (_, _, ends) in enumerate(group):
            checked[row, ends] = True
        gaps = np.array([gap for _, gap, _ in group])
        reached = _ks_reach_probability(gaps, checked, n_small=n_small, n_large=n_large)
        pvalue[[index for index, _, _ in group]] = reached
    return statistic, pvalue


@dataclass(frozen=True)
class Thresholds:
    """Numeric limits of the profile's ``drift`` group that decide statuses and retraining.

    Raises
    ------
    ValueError
        If a warn limit exceeds its alert limit, the p-values break
        ``0 < ks_pvalue_alert <= ks_pvalue_warn <= 1``, ``min_samples`` is below 2 or
        ``prediction_min_rows_per_bin`` below 1.
    """

    min_samples: int
    psi_warn: float
    psi_alert: float
    mean_change_warn: float
    mean_change_alert: float
    ks_pvalue_warn: float
    ks_pvalue_alert: float
    wasserstein_warn: float
    wasserstein_alert: float
    drift_share_retrain: float
    prediction_psi_retrain: float
    prediction_min_rows_per_bin: int
    max_model_age_days: int
    retrain_data_growth: float | None

    def __post_init__(self) -> None:
        if self.prediction_min_rows_per_bin < 1:
            raise ValueError(
                f"drift.prediction_min_rows_per_bin must be >= 1, got {self.prediction_min_rows_per_bin}."
            )
        if self.min_samples < 2:
            raise ValueError(f"drift.min_samples must be >= 2 (a spread needs two values), got {self.min_samples}.")
        for level in ("warn", "alert"):
            pvalue = getattr(self, f"ks_pvalue_{level}")
            if not 0 < pvalue <= 1:
                raise ValueError(f"drift.ks_pvalue_{level} {pvalue!r} is not valid; use a p-value in (0, 1].")
        # The profile's own check (config), so the API and a run word it alike.
        for name, below in (("psi", False), ("mean_change", False), ("wasserstein", False), ("ks_pvalue", True)):
            config.check_threshold_pair(f"drift.{name}_warn", getattr(self, f"{name}_warn"),
                                        f"drift.{name}_alert", getattr(self, f"{name}_alert"), below=below)

    @classmethod
    def from_params(cls, drift: Mapping[str, Any]) -> Thresholds:
        """Pick the thresholds out of a ``drift`` parameter group.

        Raises
        ------
        ValueError
            If a threshold is missing, naming the keys expected.
        """
        names = [f.name for f in fields(cls)]
        missing = [name for name in names if name not in drift]
        if missing:
            raise ValueError(f"drift group lacks {', '.join(missing)}; expected keys: {', '.join(names)}.")
        return cls(**{name: drift[name] for name in names})


@dataclass(frozen=True)
class DriftWindows:
    """The days compared by one drift run (all bounds inclusive)."""

    as_of: date
    current_days: int
    reference_start: date
    reference_end: date
    reference_source: str
    short_window_days: int
    persist_days: int
    note: str = ""

    @property
    def current_start(self) -> date:
        """First day of the current window (it ends on ``as_of``)."""
        return self.as_of - timedelta(days=self.current_days - 1)

    def evaluation_windows(self) -> list[tuple[date, date]]:
        """Current windows of the daily evaluations, ending today, yesterday, ... (persistence)."""
        span = timedelta(days=self.current_days - 1)
        ends = [self.as_of - timedelta(days=k) for k in range(self.persist_days)]
        return [(end - span, end) for end in ends]

    def short_window(self) -> tuple[date, date] | None:
        """The short window ending today, or None when the profile disables it."""
        if not self.short_window_days:
            return None
        return self.as_of - timedelta(days=self.short_window_days - 1), self.as_of

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description, dates as ISO strings."""
        short = self.short_window()
        return {
            "as_of": self.as_of.isoformat(),
            "current": {
                "start": self.current_start.isoformat(), "end": self.as_of.isoformat(), "days": self.current_days,
            },
            "reference": {
                "start": self.reference_start.isoformat(),
                "end": self.reference_end.isoformat(),
                "days": max((self.reference_end - self.reference_start).days + 1, 0),
                "source": self.reference_source,
            },
            "short": None if short is None else {
                "start": short[0].isoformat(), "end": short[1].isoformat(), "days": self.short_window_days,
            },
            "persist_days": self.persist_days,
            "note": self.note,
        }


@dataclass(frozen=True, eq=False)
class Reference:
    """What :func:`fit_reference` learnt: per-cell statistics and the reference samples.

    ``stats`` has one row per feature x metric (``count``, ``mean``, ``std``, ``min``, the
    :data:`QUANTILES` as ``q05``..., ``max``, ``bin_edges``); ``samples`` maps
    ``(feature_id, metric)`` to the sorted reference values KS and Wasserstein need.
    """

    stats: pd.DataFrame
    samples: Mapping[tuple[str, str], np.ndarray]
    metrics: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class DriftResult:
    """Outcome of :func:`monitor`: windows, the fitted reference and today's cells."""

    windows: DriftWindows
    reference: Reference
    cells: pd.DataFrame
    thresholds: Thresholds


def _whole_weeks(name: str, days: int, *, allow_zero: bool = False) -> None:
    in_weeks, allowed = config.weeks_rule(allow_zero=allow_zero)
    if not in_weeks(days):
        raise ValueError(f"drift.{name} must be {allowed}, got {days}; the same weekday mix in both windows needs it.")


def plan_windows(
    *,
    as_of: date,
    data_start: date,
    reference: str,
    reference_days: int,
    current_days: int,
    short_window_days: int,
    persist_days: int,
    training_window: tuple[date, date] | None = None,
) -> DriftWindows:
    """Place the reference, current and short windows, all in whole weeks.

    The reference ends the day before the earliest current window the persistence rule
    evaluates, so no evaluated window overlaps it. ``reference="training"`` uses the model's
    training window cut to that end and to whole weeks (keeping its latest days); without a
    training window, or if less than a week of it is left, the trailing window is used and
    ``note`` says why. A reference reaching before ``data_start`` is shortened to whole weeks.

    Parameters
    ----------
    as_of : date
        Last day of the current window.
    data_start : date
        First day with data.
    reference : {"training", "trailing"}
        Where the reference window comes from.
    reference_days, current_days : int
        Window lengths in days, multiples of 7.
    short_window_days : int
        Short confirming window, a multiple of 7 not above ``current_days``; 0 turns it off.
    persist_days : int
        Daily evaluations an alert must hold on, >= 1.
    training_window : (date, date), optional
        First and last training day from the model card.

    Returns
    -------
    DriftWindows

    Raises
    ------
    ValueError
        If an option is outside its allowed values.
    """
    if reference not in REFERENCE_KINDS:
        raise ValueError(f"drift.reference must be one of {', '.join(REFERENCE_KINDS)}, got {reference!r}.")
    _whole_weeks("current_days", current_days)
    _whole_weeks("reference_days", reference_days)
    _whole_weeks("short_window_days", short_window_days, allow_zero=True)
    if short_window_days > current_days:
        raise ValueError(
            f"drift.short_window_days ({short_window_days}) must not exceed current_days ({current_days})."
        )
    if persist_days < 1:
        raise ValueError(f"drift.persist_days must be >= 1 (1 = no persistence), got {persist_days}.")
    latest_end = as_of - timedelta(days=current_days + persist_days - 1)
    source, note = "trailing", ""
    start, end = latest_end - timedelta(days=reference_days - 1), latest_end
    if reference == "training" and training_window is None:
        note = "the model card has no training window; used the trailing reference"
    elif reference == "training":
        train_end = min(training_window[1], latest_end)
        train_start = max(training_window[0], data_start)
        weeks = ((train_end - train_start).days + 1) // 7
        if weeks >= 1:
            source, start, end = "training", train_end - timedelta(days=7 * weeks - 1), train_end
        else:
            note = ("less than a whole week of the training window precedes the current windows; "
                    "used the trailing reference")
    if start < data_start:
        weeks = max(((end - data_start).days + 1) // 7, 0)
        start = end - timedelta(days=7 * weeks - 1)
        cut = f"data starts {data_start.isoformat()}: reference cut to {7 * weeks} days"
        if not weeks:
            # Said plainly: a reference of 0 days reads as a window ending before it starts.
            cut = (f"data starts {data_start.isoformat()}, so no whole week of it precedes the current windows and "
                   f"every cell has too little reference data; shorten drift.current_days (or drift.persist_days)")
        note = "; ".join(filter(None, [note, cut]))
    return DriftWindows(
        as_of=as_of, current_days=current_days, reference_start=start, reference_end=end,
        reference_source=source, short_window_days=short_window_days, persist_days=persist_days, note=note,
    )


def window_slice(frame: pd.DataFrame, start: date | None, end: date) -> pd.DataFrame:
    """Rows of a feature-day frame dated from ``start`` (None: the first) to ``end``, inclusive.

    ``date`` may hold dates, strings or timestamps; a timezone-aware one counts on its day in UTC
    (:func:`featurehealth.signals.normalise_dates`), where the fact table cuts its days.
    """
    days = normalise_dates(frame["date"])
    keep = days <= pd.Timestamp(end)
    if start is not None:
        keep &= days >= pd.Timestamp(start)
    return frame.loc[keep].reset_index(drop=True)


def _finite_sorted(values: pd.Series) -> np.ndarray:
    """Finite numeric values of a column, sorted (text and missing values dropped)."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.sort(numbers[np.isfinite(numbers)])


def _samples(frame: pd.DataFrame, metrics: Sequence[str]) -> dict[tuple[str, str], np.ndarray]:
    """Finite values per (feature, metric), sorted; a feature with no value has an empty array."""
    unknown = [m for m in metrics if m not in METRIC_COLUMNS]
    if unknown:
        raise ValueError(f"Unknown drift metric(s) {', '.join(unknown)}; allowed: {', '.join(METRIC_COLUMNS)}.")
    missing = [c for c in ("feature_id", "date", *metrics) if c not in frame.columns]
    if missing:
        raise ValueError(f"The fact table lacks column(s) {', '.join(missing)}.")
    samples = {}
    for feature, group in frame.groupby(frame["feature_id"].astype(str), sort=True):
        for metric in metrics:
            samples[(feature, metric)] = _finite_sorted(group[metric])
    return samples


def bin_edges(values: np.ndarray, *, n_bins: int) -> np.ndarray:
    """Inner PSI bin edges: the reference's quantiles at 1/n_bins, 2/n_bins, ..., deduplicated.

    The outer bins are open (``(-inf, e_1]`` and ``(e_last, inf)``), so current values outside
    the reference range still count. Ties (e.g. many zero crash rates) merge bins, so a cell
    may have fewer than ``n_bins`` bins; no values gives no edges (a single bin). A last edge at
    the reference maximum (a tie there, or a constant reference) gets an edge just below it
    (``numpy.nextafter``), so the maximum has a bin of its own: otherwise every reference value
    lies in the bins up to it and a fall from the maximum moves no value between bins.

    Raises
    ------
    ValueError
        If ``n_bins`` is below 2.
    """
    if n_bins < 2:
        raise ValueError(f"drift.n_bins must be >= 2, got {n_bins}.")
    if len(values) == 0:
        return np.array([], dtype=float)
    edges = np.unique(np.quantile(values, np.arange(1, n_bins) / n_bins))
    top = np.max(values)
    if edges[-1] >= top:
        edges = np.unique(np.r_[edges[:-1], np.nextafter(top, -np.inf), top])
    return edges


def psi_bin_count(n_ref: int, n_cur: int, *, n_bins: int, max_chance_psi: float) -> int:
    """PSI bins for ``n_ref`` reference and ``n_cur`` current values: at most ``n_bins``, at least 2.

    The largest ``k`` whose expected no-change PSI, ``(k - 1)(1/n_ref + 1/n_cur)``, stays at or
    below ``max_chance_psi``; 2 when even two bins exceed it (a median split, the coarsest PSI).
    Few values per bin also keeps a bin from being empty by chance, which the ``1e-4`` floor
    would turn into a term of about ``p * ln(p / 1e-4)``. ``n_ref`` 0 gives ``n_bins`` (no edges
    are drawn from no values anyway).

    Raises
    ------
    ValueError
        If ``n_bins`` is below 2.
    """
    if n_bins < 2:
        raise ValueError(f"drift.n_bins must be >= 2, got {n_bins}.")
    if n_ref < 1 or n_cur < 1:
        return n_bins
    chance_per_bin = 1 / n_ref + 1 / n_cur
    return int(min(max(1 + math.floor(max_chance_psi / chance_per_bin), 2), n_bins))


def bin_proportions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of ``values`` in each bin ``(e_{i-1}, e_i]`` of the open-ended binning on ``edges``."""
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def population_stability_index(
    reference: np.ndarray, current: np.ndarray, *, edges: np.ndarray, epsilon: float = PSI_EPSILON
) -> float:
    """PSI = sum over bins of ``(p_cur - p_ref) * ln(p_cur / p_ref)``.

    Bins are fixed on the reference (:func:`bin_edges`) and open-ended at both sides. Empty bins:
    a proportion below ``epsilon`` is raised to ``epsilon`` (no renormalisation), so a bin empty
    on one side adds a large but finite term, about ``p * ln(p / epsilon)``: a real shift that
    empties a bin stands out. :func:`psi_bin_count` keeps bins few enough that chance rarely
    empties one.

    Parameters
    ----------
    reference, current : numpy.ndarray
        Values of the two windows.
    edges : numpy.ndarray
        Inner bin edges, increasing.
    epsilon : float
        Floor on a bin's proportion, > 0.

    Returns
    -------
    float
        NaN if either side is empty.
    """
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}.")
    if len(reference) == 0 or len(current) == 0:
        return float("nan")
    expected = np.maximum(bin_proportions(reference, edges), epsilon)
    actual = np.maximum(bin_proportions(current, edges), epsilon)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def fit_reference(
    frame: pd.DataFrame,
    *,
    metrics: Sequence[str],
    n_bins: int,
    current_days: int | None = None,
    max_chance_psi: float | None = None,
) -> Reference:
    """Learn the reference: per feature x metric statistics, sample and PSI bin edges.

    With ``current_days`` and ``max_chance_psi`` each cell gets :func:`psi_bin_count` bins for its
    reference size and a current window of ``current_days`` values (the most it can hold), so
    PSI with no change stays near ``max_chance_psi`` or below; without them, ``n_bins``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Feature-day rows of the reference window (fact_feature_metrics columns).
    metrics : sequence of str
        Metric columns to monitor, from :data:`METRIC_COLUMNS`.
    n_bins : int
        Most PSI bins (quantile edges, see :func:`bin_edges`).
    current_days : int, optional
        Length of the current window compared with this reference, in days.
    max_chance_psi : float, optional
        Largest expected no-change PSI allowed (:func:`monitor` passes half ``psi_warn``).

    Returns
    -------
    Reference

    Raises
    ------
    ValueError
        On an unknown metric, a missing column, ``n_bins < 2`` or only one of ``current_days``
        and ``max_chance_psi``.
    """
    if (current_days is None) != (max_chance_psi is None):
        raise ValueError("fit_reference needs both current_days and max_chance_psi, or neither.")

    def bins(n_ref: int) -> int:
        if current_days is None:
            return n_bins
        return psi_bin_count(n_ref, current_days, n_bins=n_bins, max_chance_psi=max_chance_psi)

    samples = _samples(frame, metrics)
    quantile_names = [f"q{round(q * 100):02d}" for q in QUANTILES]
    rows = []
    for (feature, metric), values in samples.items():
        present = len(values) > 0
        quantiles = np.quantile(values, QUANTILES) if present else [np.nan] * len(QUANTILES)
        rows.append({
            "feature_id": feature,
            "metric": metric,
            "count": len(values),
            "mean": values.mean() if present else np.nan,
            "std": values.std(ddof=1) if len(values) > 1 else np.nan,
            "min": values[0] if present else np.nan,
            **dict(zip(quantile_names, quantiles, strict=True)),
            "max": values[-1] if present else np.nan,
            "bin_edges": bin_edges(values, n_bins=bins(len(values))).tolist(),
        })
    columns = [*_KEY, "count", "mean", "std", "min", *quantile_names, "max", "bin_edges"]
    return Reference(stats=pd.DataFrame(rows, columns=columns), samples=samples, metrics=tuple(metrics))


def compare_samples(reference: np.ndarray, current: np.ndarray, *, edges: np.ndarray) -> dict[str, float]:
    """Effect sizes of ``current`` against ``reference`` (all NaN if a side is empty).

    ``edges`` are the PSI bins' inner edges, fixed on the reference (:func:`bin_edges`).
    ``mean_change`` is relative to ``|mean_ref|`` (NaN when that is 0); ``wasserstein_norm`` is
    the Wasserstein-1 distance divided by the reference standard deviation (NaN when that is 0,
    where PSI still sees a change). The KS test comes from :func:`ks_tests`, which counts the
    cells of an evaluation together.
    """
    if len(reference) == 0 or len(current) == 0:
        return dict.fromkeys(_COMPARISON, float("nan"))
    mean_ref, mean_cur = float(np.mean(reference)), float(np.mean(current))
    spread = float(np.std(reference, ddof=1)) if len(reference) > 1 else float("nan")
    from scipy import stats

    distance = float(stats.wasserstein_distance(reference, current))
    return {
        "mean_ref": mean_ref,
        "mean_cur": mean_cur,
        "mean_change": (mean_cur - mean_ref) / abs(mean_ref) if mean_ref != 0 else float("nan"),
        "psi": population_stability_index(reference, current, edges=edges),
        "wasserstein_norm": distance / spread if spread > 0 else float("nan"),
    }


def classify(cells: pd.DataFrame, *, thresholds: Thresholds) -> pd.DataFrame:
    """Return ``cells`` with ``status`` (see the module docstring) and ``triggered`` added.

    ``triggered`` names the effect sizes at or above the threshold of the cell's status,
    comma-separated (empty for ok and insufficient_data).
    """
    t = thresholds
    effects = {
        "psi": (cells["psi"], t.psi_warn, t.psi_alert),
        "mean_change": (cells["mean_change"].abs(), t.mean_change_warn, t.mean_change_alert),
        "wasserstein": (cells["wasserstein_norm"], t.wasserstein_warn, t.wasserstein_alert),
    }
    values = {name: v.to_numpy(dtype=float, na_value=np.nan) for name, (v, _, _) in effects.items()}
    warn_hits = {name: values[name] >= warn for name, (_, warn, _) in effects.items()}
    alert_hits = {name: values[name] >= alert for name, (_, _, alert) in effects.items()}
    pvalue = cells["ks_pvalue"].to_numpy(dtype=float, na_value=np.nan)
    enough = (cells["n_ref"].to_numpy() >= t.min_samples) & (cells["n_cur"].to_numpy() >= t.min_samples)
    is_alert = np.logical_or.reduce(list(alert_hits.values())) & (pvalue < t.ks_pvalue_alert)
    is_warn = np.logical_or.reduce(list(warn_hits.values())) & (pvalue < t.ks_pvalue_warn)
    status = np.select([~enough, is_alert, is_warn], ["insufficient_data", "alert", "warn"], "ok")
    hits = {"alert": alert_hits, "warn": warn_hits}
    triggered = [
        ",".join(name for name, hit in hits[s].items() if hit[i]) if s in hits else ""
        for i, s in enumerate(status)
    ]
    return cells.assign(status=status, triggered=triggered)


def calculate_drift(reference: Reference, current: pd.DataFrame, *, thresholds: Thresholds) -> pd.DataFrame:
    """Compare one current window with the reference, cell by cell.

    Parameters
    ----------
    reference : Reference
        From :func:`fit_reference`.
    current : pandas.DataFrame
        Feature-day rows of the current window.
    thresholds : Thresholds
        Status limits.

    Returns
    -------
    pandas.DataFrame
        One row per feature (in either window) x metric, sorted: ``feature_id``, ``metric``,
        ``n_ref``, ``n_cur``, the statistics of :func:`compare_samples`, ``status`` (before
        persistence) and ``triggered``.
    """
    current_samples = _samples(current, reference.metrics)
    edges = {(r.feature_id, r.metric): np.asarray(r.bin_edges, dtype=float) for r in reference.stats.itertuples()}
    empty = np.array([], dtype=float)
    features = sorted({f for f, _ in reference.samples} | {f for f, _ in current_samples})
    rows, pairs = [], []
    for feature in features:
        for metric in reference.metrics:
            ref = reference.samples.get((feature, metric), empty)
            cur = current_samples.get((feature, metric), empty)
            pairs.append((ref, cur))
            rows.append({
                "feature_id": feature, "metric": metric, "n_ref": len(ref), "n_cur": len(cur),
                **compare_samples(ref, cur, edges=edges.get((feature, metric), empty)),
            })
    statistic, pvalue = ks_tests(pairs)
    cells = pd.DataFrame(rows, columns=[*_KEY, "n_ref", "n_cur", *_COMPARISON])
    cells.insert(cells.columns.get_loc("wasserstein_norm"), "ks_stat", statistic)
    cells.insert(cells.columns.get_loc("wasserstein_norm"), "ks_pvalue", pvalue)
    return classify(cells, thresholds=thresholds)


def _statuses_on(keys: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Status of each ``keys`` cell in ``frame``, aligned with ``keys``."""
    merged = keys.merge(frame[[*_KEY, "status"]], on=_KEY, how="left")
    # A cell missing from an evaluation had no data there, so it cannot have been alerting.
    return merged["status"].fillna("insufficient_data").to_numpy(dtype=object)


def apply_persistence(daily: Sequence[pd.DataFrame], *, short: pd.DataFrame | None = None) -> pd.DataFrame:
    """Keep an alert only when it persisted and the short window agrees; else report a warn.

    Parameters
    ----------
    daily : sequence of pandas.DataFrame
        :func:`calculate_drift` results of the daily evaluations, today first; an alert must
        hold on all of them.
    short : pandas.DataFrame, optional
        :func:`calculate_drift` result of the short window ending today; when given it must be
        at alert too.

    Returns
    -------
    pandas.DataFrame
        Today's cells with ``raw_status`` (before this rule), ``days_in_alert`` (consecutive
        evaluations at alert, counting back from today), ``short_status`` and the final
        ``status``; ``triggered`` stays that of ``raw_status``, so an alert reported as a warn
        names the effect sizes at their alert limits.

    Raises
    ------
    ValueError
        If ``daily`` is empty.
    """
    if not daily:
        raise ValueError("daily needs at least today's evaluation.")
    today = daily[0]
    keys = today[_KEY]
    streak = np.ones(len(today), dtype=bool)
    days_in_alert = np.zeros(len(today), dtype=int)
    for frame in daily:
        streak &= _statuses_on(keys, frame) == "alert"
        days_in_alert += streak
    confirmed = days_in_alert == len(daily)
    short_status = _statuses_on(keys, short) if short is not None else np.full(len(today), None, dtype=object)
    if short is not None:
        confirmed &= short_status == "alert"
    raw = today["status"].to_numpy(dtype=object)
    status = np.where((raw == "alert") & ~confirmed, "warn", raw)
    return today.assign(raw_status=raw, days_in_alert=days_in_alert, short_status=short_status, status=status)


def monitor(
    fact: pd.DataFrame, *, settings: Mapping[str, Any], training_window: tuple[date, date] | None = None
) -> DriftResult:
    """Run the drift comparison of a fact table as of its latest day.

    Parameters
    ----------
    fact : pandas.DataFrame
        fact_feature_metrics (feature-day grain); a timezone-aware ``date`` counts on its day in UTC.
    settings : mapping
        The profile's ``drift`` group.
    training_window : (date, date), optional
        The model's training window (:func:`training_window`), used when
        ``settings["reference"] == "training"``.

    Returns
    -------
    DriftResult
        Today's cells carry the final statuses after :func:`apply_persistence`.

    Raises
    ------
    ValueError
        If the fact table is empty or a setting is outside its allowed values.
    """
    if fact.empty:
        raise ValueError("The fact table has no rows; run 02_aggregate first.")
    thresholds = Thresholds.from_params(settings)
    days = normalise_dates(fact["date"])
    windows = plan_windows(
        as_of=days.max().date(), data_start=days.min().date(), reference=settings["reference"],
        reference_days=settings["reference_days"], current_days=settings["current_days"],
        short_window_days=settings["short_window_days"], persist_days=settings["persist_days"],
        training_window=training_window,
    )
    reference = fit_reference(
        window_slice(fact, windows.reference_start, windows.reference_end),
        metrics=settings["metrics"], n_bins=settings["n_bins"], current_days=windows.current_days,
        # Half psi_warn: the sampling noise of an unchanged metric alone should not reach a warn.
        max_chance_psi=thresholds.psi_warn / 2,
    )
    daily = [
        calculate_drift(reference, window_slice(fact, start, end), thresholds=thresholds)
        for start, end in windows.evaluation_windows()
    ]
    short_window = windows.short_window()
    short = None
    if short_window is not None:
        short = calculate_drift(reference, window_slice(fact, *short_window), thresholds=thresholds)
    cells = apply_persistence(daily, short=short)
    return DriftResult(windows=windows, reference=reference, cells=cells, thresholds=thresholds)


def _parse_day(value: Any) -> date | None:
    """The day of an ISO date/timestamp string or date, None for anything else."""
    if not isinstance(value, (str, date)):
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        return None
    return None if pd.isna(stamp) else stamp.date()


def training_window(card: Mapping[str, Any]) -> tuple[date, date] | None:
    """First and last training day from a model card, or None when it does not say.

    Reads, first found: ``training_window: {start, end}``, ``split: {train_start, train_end}``,
    top-level ``train_start`` / ``train_end``. An unreadable or reversed window counts as absent.
    """
    candidates = (
        (card.get("training_window"), "start", "end"),
        (card.get("split"), "train_start", "train_end"),
        (card, "train_start", "train_end"),
    )
    for holder, start_key, end_key in candidates:
        if isinstance(holder, Mapping):
            start, end = _parse_day(holder.get(start_key)), _parse_day(holder.get(end_key))
            if start is not None and end is not None and start <= end:
                return start, end
    return None


def built_on(card: Mapping[str, Any]) -> date | None:
    """The day the data reached when ``card``'s model was built; None if the card does not say.

    That is ``test_window.end + horizon_days`` (the last test day's label needs that horizon).
    The training window's end is not used: it lags by the whole holdout, so a fresh model would
    already look weeks old.
    """
    test_window = card.get("test_window")
    test_end = _parse_day(test_window.get("end")) if isinstance(test_window, Mapping) else None
    horizon = card.get("horizon_days")
    if test_end is None or not isinstance(horizon, int) or isinstance(horizon, bool):
        return None
    return test_end + timedelta(days=horizon)


def model_age_days(card: Mapping[str, Any], *, as_of: date) -> int | None:
    """Days of data that arrived after the model was built (:func:`built_on`), up to ``as_of``; None if unknown."""
    built = built_on(card)
    return None if built is None else (as_of - built).days


def training_days(card: Mapping[str, Any]) -> int | None:
    """Days of ``card``'s training window (:func:`training_window`), both ends counted; None if it does not say."""
    window = training_window(card)
    return None if window is None else (window[1] - window[0]).days + 1


def _week_blocks(frame: pd.DataFrame, column: str, *, end: date, first_block: int = 0) -> pd.DataFrame:
    """Finite ``column`` values of ``frame`` (up to ``end``) in whole weeks counted back from ``end``.

    Returns
    -------
    pandas.DataFrame
        ``feature_id``, ``block`` (``first_block`` for the week ending at ``end``, one more per
        week before) and ``value``. A week is kept only when each of its seven days has a row, so
        every block holds the same weekday mix.
    """
    days = normalise_dates(frame["date"])
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    age = (pd.Timestamp(end) - days).dt.days.to_numpy()
    keep = np.isfinite(values) & (age >= 0)
    blocks = pd.DataFrame({
        "feature_id": frame["feature_id"].astype(str).to_numpy()[keep],
        "block": age[keep] // 7 + first_block,
        "day": days.to_numpy()[keep],
        "value": values[keep],
    })
    whole = blocks.groupby("block")["day"].nunique()
    return blocks.loc[blocks["block"].isin(whole.index[whole == 7]), ["feature_id", "block", "value"]]


def block_arrangements(blocks: pd.DataFrame) -> float:
    """log10 of the number of ways to choose each feature's current blocks among its blocks.

    ``blocks`` has one row per scored row with ``feature_id``, ``block`` and ``current`` (bool);
    a feature keeps its own number of current blocks. This bounds the smallest p-value a block
    permutation test can give: ``1 / arrangements``.
    """
    units = blocks.drop_duplicates(["feature_id", "block"])
    per_feature = units.groupby("feature_id")["current"].agg(["size", "sum"])
    return float(sum(np.log10(math.comb(int(n), int(k))) for n, k in per_feature.to_numpy()))


def block_permutation_psi(
    blocks: pd.DataFrame, *, n_bins: int, n_permutations: int = PERMUTATIONS, seed: int = PERMUTATION_SEED
) -> np.ndarray:
    """PSI of the reference and current windows with whole feature-weeks shuffled between them.

    The null distribution of prediction PSI when nothing changed. A feature's scores on nearby
    days move together (an incident raises them for days), so rows are not exchangeable; a
    feature's weeks are, roughly. Each shuffle picks, for every feature, which of its weeks are
    "current" (as many as it really has there), then computes PSI exactly as for the real split
    (bins refit on the shuffled reference).

    Parameters
    ----------
    blocks : pandas.DataFrame
        One row per score: ``feature_id``, ``block`` (week), ``current`` (bool) and ``value``.
    n_bins : int
        Requested PSI bins.
    n_permutations : int
        Shuffles, >= 1.
    seed : int
        Seed of the shuffles: the same input gives the same null.

    Returns
    -------
    numpy.ndarray
        ``n_permutations`` PSI values.
    """
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}.")
    # Rows sorted by score once, so every shuffled reference is sorted already.
    blocks = blocks.sort_values("value", kind="stable")
    # Units (feature-weeks) numbered in (feature, week) order: a feature's units are one run.
    unit_codes = blocks.groupby(["feature_id", "block"], sort=True).ngroup().to_numpy()
    n_units = int(unit_codes.max()) + 1 if len(unit_codes) else 0
    unit_feature = np.zeros(n_units, dtype=int)
    unit_feature[unit_codes] = pd.factorize(blocks["feature_id"], sort=True)[0]
    is_current = np.zeros(n_units, dtype=bool)
    is_current[unit_codes[blocks["current"].to_numpy(dtype=bool)]] = True
    group_start = np.searchsorted(unit_feature, unit_feature, side="left")
    current_per_feature = np.bincount(unit_feature, weights=is_current).astype(int)
    values = blocks["value"].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    null = np.empty(n_permutations)
    for i in range(n_permutations):
        order = np.lexsort((rng.random(n_units), unit_feature))
        rank = np.empty(n_units, dtype=int)
        rank[order] = np.arange(n_units) - group_start[order]
        current_rows = (rank < current_per_feature[unit_feature])[unit_codes]
        reference = values[~current_rows]
        null[i] = population_stability_index(
            reference, values[current_rows], edges=bin_edges(reference, n_bins=n_bins)
        )
    return null


def prediction_effect_reached(
    mean_change: float | None, wasserstein_norm: float | None, *, mean_change_limit: float, wasserstein_limit: float
) -> bool:
    """Whether the risk scores moved enough to matter: ``|mean_change|`` or ``wasserstein_norm`` at its limit.

    PSI alone is no such measure on risk scores: most sit near 0, where quantile bin edges lie
    close together, so a creep of 0.001 in a few features' scores moves them across edges (a PSI
    of 2.8 with the mean unchanged). When neither effect size is defined (a constant reference,
    e.g. every held-out score 0) there is nothing to gate on, and PSI decides alone.

    Parameters
    ----------
    mean_change, wasserstein_norm : float or None
        Change of the mean relative to the reference mean, and Wasserstein distance over the
        reference standard deviation; None or NaN when undefined.
    mean_change_limit, wasserstein_limit : float
        Limits of the status level judged (``mean_change_alert`` and ``wasserstein_alert``, or the warn ones).
    """
    effects = [(value, limit) for value, limit in ((mean_change, mean_change_limit), (wasserstein_norm, wasserstein_limit))
               if value is not None and np.isfinite(value)]
    return not effects or any(abs(value) >= limit for value, limit in effects)


def prediction_status(
    psi: float, pvalue: float, *, mean_change: float | None, wasserstein_norm: float | None, thresholds: Thresholds
) -> str:
    """Status of prediction drift: at a level (alert, then warn) when PSI reaches that level's limit, the
    p-value is below that level's and the mean change or the Wasserstein distance reaches that level's
    limit (:func:`prediction_effect_reached`)."""
    t = thresholds
    levels = (("alert", t.psi_alert, t.ks_pvalue_alert, t.mean_change_alert, t.wasserstein_alert),
              ("warn", t.psi_warn, t.ks_pvalue_warn, t.mean_change_warn, t.wasserstein_warn))
    for status, psi_limit, pvalue_limit, mean_limit, wasserstein_limit in levels:
        if psi >= psi_limit and pvalue < pvalue_limit and prediction_effect_reached(
                mean_change, wasserstein_norm, mean_change_limit=mean_limit, wasserstein_limit=wasserstein_limit):
            return status
    return "ok"


def prediction_drift(
    fact: pd.DataFrame,
    test_predictions: pd.DataFrame | None,
    *,
    windows: DriftWindows,
    n_bins: int,
    thresholds: Thresholds,
    seed: int = PERMUTATION_SEED,
    model_in_use: bool = True,
) -> dict[str, Any]:
    """Distribution of risk scores in the current window against out-of-sample history.

    Not available without a model in use (``model_in_use`` false: the model step trained none).

    The reference is the model step's held-out predictions (column ``risk_probability`` or
    ``probability``) in the whole weeks before the current window, never in-sample training
    scores; the current side is ``risk_probability`` in the fact table over the current window.
    Bins are fixed on the reference scores.

    Noise. The scores of one feature on nearby days are not independent draws (an incident
    raises them for days), so a test counting rows as independent (KS) calls the chance timing
    of a few incidents drift. The p-value here is a block permutation test
    (:func:`block_permutation_psi`: whole feature-weeks shuffled between the windows
    :data:`PERMUTATIONS` times, or more for an ``ks_pvalue_alert`` below 0.01 (see
    :data:`PERMUTATIONS_PER_ALERT_LEVEL`), drawn from ``seed``). A status also needs the
    mean change or the Wasserstein distance at its limit (:func:`prediction_status`).
    ``insufficient_data`` (never an alert) when either window has fewer than
    ``prediction_min_rows_per_bin`` rows per PSI bin, or when the feature-weeks allow too few
    arrangements for a p-value below ``ks_pvalue_alert``.

    Returns
    -------
    dict
        ``available`` and, if False, ``reason``; else ``n_ref``, ``n_cur``, ``n_bins``,
        ``n_blocks_ref``/``n_blocks_cur`` (feature-weeks), ``mean_ref``, ``mean_cur``,
        ``mean_change``, ``psi``, ``wasserstein_norm``, ``psi_null_median`` (PSI expected with no
        change at these sizes), ``psi_pvalue``, ``status`` (ok|warn|alert|insufficient_data) and
        ``reason`` (why the data is insufficient, else None).
    """
    n_permutations = max(PERMUTATIONS, math.ceil(PERMUTATIONS_PER_ALERT_LEVEL / thresholds.ks_pvalue_alert) - 1)
    if not model_in_use:
        return {"available": False, "reason": "no model (the model step trained none: reports/metrics.json says why)"}
    if test_predictions is None:
        return {"available": False, "reason": "reports/test_predictions.parquet not found"}
    column = next((c for c in HISTORY_SCORE_COLUMNS if c in test_predictions.columns), None)
    lacking = [f"'{c}'" for c in ("feature_id", "date") if c not in test_predictions.columns]
    if column is None:
        lacking.append(f"one of {', '.join(HISTORY_SCORE_COLUMNS)}")
    if lacking:
        return {"available": False, "reason": f"test predictions lack {', '.join(lacking)}"}
    if SCORE_COLUMN not in fact.columns:
        return {"available": False, "reason": f"the fact table has no '{SCORE_COLUMN}' (run 03_model first)"}
    t = thresholds
    reference_end = windows.current_start - timedelta(days=1)
    blocks = pd.concat([
        _week_blocks(window_slice(test_predictions, None, reference_end), column, end=reference_end,
                     first_block=windows.current_days // 7).assign(current=False),
        _week_blocks(window_slice(fact, windows.current_start, windows.as_of), SCORE_COLUMN,
                     end=windows.as_of).assign(current=True),
    ], ignore_index=True)
    current_rows = blocks["current"].to_numpy(dtype=bool)
    ref, cur = np.sort(blocks["value"].to_numpy()[~current_rows]), np.sort(blocks["value"].to_numpy()[current_rows])
    edges = bin_edges(ref, n_bins=n_bins)
    comparison = compare_samples(ref, cur, edges=edges)
    units = blocks.drop_duplicates(["feature_id", "block"])["current"]
    cell = {
        "n_ref": len(ref), "n_cur": len(cur), "n_bins": len(edges) + 1,
        "n_blocks_ref": int((~units).sum()), "n_blocks_cur": int(units.sum()),
        **comparison,
        "psi_null_median": np.nan, "psi_pvalue": np.nan, "status": "insufficient_data", "reason": None,
    }
    if not len(ref):
        cell["n_bins"] = n_bins  # no reference, no edges: the bins it would have
    need = t.prediction_min_rows_per_bin * cell["n_bins"]
    short = [f"{n} scored rows in the {side} window" for side, n in (("reference", len(ref)), ("current", len(cur)))
             if n < need]
    if short:
        cell["reason"] = (f"{' and '.join(short)}: fewer than {t.prediction_min_rows_per_bin} per bin "
                          f"x {cell['n_bins']} bins")
    elif block_arrangements(blocks) < np.log10(1 / t.ks_pvalue_alert):
        cell["reason"] = ("too few feature-weeks to shuffle: no arrangement could give a p-value "
                          f"below {t.ks_pvalue_alert}")
    else:
        null = block_permutation_psi(blocks, n_bins=n_bins, n_permutations=n_permutations, seed=seed)
        psi = comparison["psi"]
        # A shuffle reproducing the real split gives the same PSI: count ties as reaching it.
        pvalue = (1 + int(np.sum(null >= psi - 1e-12))) / (1 + len(null))
        cell.update(psi_null_median=float(np.median(null)), psi_pvalue=pvalue,
                    status=prediction_status(psi, pvalue, mean_change=comparison["mean_change"],
                                             wasserstein_norm=comparison["wasserstein_norm"], thresholds=t))
    return {"available": True, **_records(pd.DataFrame([cell]))[0]}


#: Significant figures a p-value keeps in the reports.
PVALUE_DIGITS = 6


def round_significant(values: pd.Series, *, digits: int = PVALUE_DIGITS) -> pd.Series:
    """``values`` rounded to ``digits`` significant figures (0 and missing values unchanged).

    Decimals suit statistics of a known scale; a p-value of 7e-12 rounded to 6 decimals reads
    0, a p-value no test gives. Each value goes through its decimal text: a scale factor
    ``10 ** (digits - 1 - exponent)`` overflows to infinity below about 1e-303 and made it NaN.

    Raises
    ------
    ValueError
        If ``digits`` < 1.
    """
    if digits < 1:
        raise ValueError(f"digits must be >= 1, got {digits}.")
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return numbers.map(lambda v: float(f"{v:.{digits}g}") if np.isfinite(v) else v)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # Rounded so that reports do not change with the last bits of floating-point sums; p-values to
    # significant figures, since the smallest ones are the strongest evidence of drift.
    pvalues = [c for c in frame.columns if str(c).endswith("pvalue")]
    rounded = frame.round(6).assign(**{c: round_significant(frame[c]) for c in pvalues})
    return rounded.astype(object).where(frame.notna(), None).to_dict(orient="records")


def baseline_report(result: DriftResult) -> dict[str, Any]:
    """Content of reports/baseline_stats.json: the reference window and its per-cell statistics."""
    return {
        "reference": result.windows.to_dict()["reference"],
        "metrics": list(result.reference.metrics),
        "quantiles": list(QUANTILES),
        "bins": ("inner edges at reference quantiles, one just below the maximum when the last is the maximum; "
                 "outer bins open-ended; bins (e[i-1], e[i]]"),
        "cells": _records(result.reference.stats),
    }


def drift_report(result: DriftResult, *, prediction: Mapping[str, Any]) -> dict[str, Any]:
    """Content of reports/data_drift.json: summary, alerts and every cell, with ``prediction``
    (the result of :func:`prediction_drift`) as its ``prediction_drift`` section.

    ``drifted_share`` is the share of cells at alert (after persistence) among the cells with
    enough data, None when fewer than ``min_samples`` cells have (one alert among a handful of
    cells would be a large share that says little). Statistics are rounded to 6 decimals,
    p-values to 6 significant figures (:func:`round_significant`), so a tiny one never reads 0.
    """
    cells = result.cells
    counts = cells["status"].value_counts()
    judged = int(len(cells) - counts.get("insufficient_data", 0))
    share = round(int(counts.get("alert", 0)) / judged, 6) if judged >= result.thresholds.min_samples else None
    alerts = cells.loc[cells["status"] == "alert"]
    return {
        "summary": {
            "n_cells": len(cells),
            **{f"n_{s.removesuffix('_data')}": int(counts.get(s, 0)) for s in STATUSES},
            "drifted_share": share,
            "prediction_drift": dict(prediction),
            "windows": result.windows.to_dict(),
        },
        "alerts": _records(alerts[[*_KEY, "triggered", "mean_change", "psi", "ks_pvalue", "wasserstein_norm"]]),
        "thresholds": {f.name: getattr(result.thresholds, f.name) for f in fields(result.thresholds)},
        "cells": _records(cells),
    }


def retrain_recommendation(
    *,
    drifted_share: float | None,
    prediction: Mapping[str, Any],
    model_age_days: int | None,
    thresholds: Thresholds,
    training_days: int | None = None,
    library_changes: Sequence[str] | None = None,
    saved_here_not_in_use: str | None = None,
    model_in_use: bool = True,
) -> dict[str, Any]:
    """Whether to retrain the risk model, with the reasons.

    Reasons: the share of drifted cells (``drifted_share``, from :func:`drift_report`'s summary)
    reaches ``drift_share_retrain`` of ``thresholds``; prediction PSI reaches
    ``prediction_psi_retrain`` with a block permutation p-value below ``ks_pvalue_alert`` and the
    mean change or the Wasserstein distance of the scores at its alert limit
    (:func:`prediction_drift`, :func:`prediction_effect_reached`); the model is older than
    ``max_model_age_days``; the days of data since the model was built reach
    ``retrain_data_growth`` times its ``training_days`` (:func:`training_days` of the same card),
    so a model trained on the few days a new feed had is refreshed as data accumulates (a null
    share turns that check off); the model in use was saved under other library versions than this
    environment's (``library_changes``, :func:`featurehealth.registry.library_check`: a pickle is
    not promised to score alike under them), unless a newer version saved under these, not in use
    (``saved_here_not_in_use``), shows the holdout comparison has already judged it here. A check whose
    input is missing is "not available", and prediction drift on insufficient data is
    "insufficient data": neither is ever a reason.

    ``model_age_days`` is that of the newest model version (promoted or not). When it was built
    on all the data up to as-of (age 0) nothing is retrained: training on the same data
    reproduces the same version, so the advice is withheld (``withheld`` says why,
    ``withheld_reasons`` what fired) rather than retraining to that version on every run, unless the
    model in use was saved under other libraries: retraining rebuilds it under these. Without a
    model in use (``model_in_use`` false) it is withheld too: the model step tries to train on every
    run until its training days hold both classes, so there is nothing to retrain.

    Returns
    -------
    dict
        ``retrain_recommended`` (bool), ``reasons`` (list of str), ``withheld`` (str or None),
        ``withheld_reasons`` (list of str) and ``checks`` (value, threshold and whether it fired,
        per check).
    """
    t = thresholds
    psi, pvalue = prediction.get("psi"), prediction.get("psi_pvalue")
    mean_change, wasserstein = prediction.get("mean_change"), prediction.get("wasserstein_norm")
    usable_psi = bool(prediction.get("available")) and psi is not None and np.isfinite(psi)
    judged = usable_psi and prediction.get("status") != "insufficient_data" and pvalue is not None
    moved = prediction_effect_reached(mean_change, wasserstein, mean_change_limit=t.mean_change_alert,
                                      wasserstein_limit=t.wasserstein_alert)
    checks = {
        "drifted_share": {
            "value": drifted_share, "threshold": t.drift_share_retrain,
            "fired": drifted_share is not None and drifted_share >= t.drift_share_retrain,
        },
        "prediction_psi": {
            "value": psi if usable_psi else None, "threshold": t.prediction_psi_retrain,
            "fired": bool(judged and psi >= t.prediction_psi_retrain and pvalue < t.ks_pvalue_alert and moved),
            "psi_expected_by_chance": prediction.get("psi_null_median") if judged else None,
            "pvalue": pvalue if judged else None, "pvalue_threshold": t.ks_pvalue_alert,
            "mean_change": mean_change if judged else None, "mean_change_threshold": t.mean_change_alert,
            "wasserstein_norm": wasserstein if judged else None, "wasserstein_threshold": t.wasserstein_alert,
        },
        "model_age_days": {
            "value": model_age_days, "threshold": t.max_model_age_days,
            "fired": model_age_days is not None and model_age_days > t.max_model_age_days,
        },
        "data_growth": _data_growth_check(model_age_days, training_days, share=t.retrain_data_growth),
        "library_versions": {
            "value": None if library_changes is None else ", ".join(library_changes) or "none changed",
            "threshold": None, "fired": bool(library_changes) and saved_here_not_in_use is None,
        },
    }
    reasons = []
    if checks["drifted_share"]["fired"]:
        reasons.append(f"{percent_text(drifted_share)} of drift cells alert (limit {percent_text(t.drift_share_retrain)})")
    if checks["prediction_psi"]["fired"]:
        expected = prediction.get("psi_null_median")
        chance = "" if expected is None else f"; {expected:.3f} expected by chance"
        evidence = []
        if mean_change is not None and np.isfinite(mean_change):
            evidence.append(f"mean {mean_change:+.0%} (limit ±{t.mean_change_alert:.0%})")
        if wasserstein is not None and np.isfinite(wasserstein):
            evidence.append(f"Wasserstein {wasserstein:.2f} (limit {t.wasserstein_alert})")
        evidence.append(f"block permutation p={pvalue:.2g}")
        reasons.append(f"risk scores drifted: PSI {psi:.3f} (limit {t.prediction_psi_retrain}{chance}), "
                       f"{', '.join(evidence)}")
    if checks["model_age_days"]["fired"]:
        reasons.append(f"newest model built {count_text(model_age_days, 'day')} of data ago (limit {t.max_model_age_days})")
    if checks["data_growth"]["fired"]:
        reasons.append(f"newest model trained on {training_days} days, built {model_age_days} days of data ago "
                       f"(advised from {percent_text(t.retrain_data_growth)} more data)")
    if checks["library_versions"]["fired"]:
        reasons.append(f"model in use saved with {checks['library_versions']['value']}")
    for check in checks.values():
        if check["value"] is None:
            check["note"] = "not available"
    if t.retrain_data_growth is None:
        checks["data_growth"]["note"] = "off (drift.retrain_data_growth is null)"
    if library_changes and saved_here_not_in_use:
        checks["library_versions"]["note"] = (f"newer version {saved_here_not_in_use}, saved with these libraries, is "
                                              f"not in use (refused by the holdout comparison or set aside by hand)")
    if usable_psi and not judged:
        checks["prediction_psi"]["note"] = f"insufficient data: {prediction.get('reason') or 'see prediction drift'}"
    withheld = None
    if reasons and not model_in_use:
        withheld = "no model is in use: the model step trains one once its training days hold both classes"
    elif reasons and model_age_days is not None and model_age_days <= 0 and not checks["library_versions"]["fired"]:
        # Retraining on the same data gives the same version id, but pickled under these libraries.
        withheld = ("the newest model version was built on all the data up to as-of: "
                    "retraining now would reproduce it")
    return {
        "retrain_recommended": bool(reasons) and withheld is None,
        "reasons": [] if withheld else reasons,
        "withheld": withheld,
        "withheld_reasons": reasons if withheld else [],
        "checks": checks,
    }


def _data_growth_check(age: int | None, days: int | None, *, share: float | None) -> dict[str, Any]:
    """The ``data_growth`` check of :func:`retrain_recommendation`: days of data since the newest model
    was built over the days it was trained on, against ``share`` (None: off, never fired)."""
    # The ratio itself is compared: age >= share * days misses the limit by float error (0.1 * 30 > 3).
    growth = None if age is None or days is None else age / days
    return {
        "value": None if growth is None else round(growth, 6), "threshold": share,
        "fired": growth is not None and share is not None and growth >= share,
        "training_days": days, "model_age_days": age,
    }


def retrain_checks_table(checks: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The ``checks`` of :func:`retrain_recommendation` for printing: a column per check, a row per
    entry (``value``, ``threshold``, ``fired``, then those only some checks have), numbers as
    :func:`featurehealth.display.number_text`, blank where a check has no such entry or no value.
    """
    # The three every check has first, whatever order a report read back from JSON holds them in.
    entries = list(dict.fromkeys(["value", "threshold", "fired", *(key for check in checks.values() for key in check)]))
    return pd.DataFrame(
        {name: [number_text(check.get(key)) for key in entries] for name, check in checks.items()},
        index=pd.Index(entries, name="entry"), dtype=object,
    )


def windows_text(windows: Mapping[str, Any]) -> str:
    """The as-of day and where the reference comes from, in words, with its ``note`` as a sentence
    (``windows`` as :meth:`DriftWindows.to_dict` gives it).
    """
    reference = windows["reference"]
    origin = (f"the model's training window ({reference['days']} days)" if reference["source"] == "training"
              else f"the {reference['days']} days before the current windows")
    text = f"As of {windows['as_of']}, the reference is {origin}."
    note = windows["note"]
    return f"{text} {note[:1].upper()}{note[1:]}." if note else text


def retrain_text(advice: Mapping[str, Any]) -> str:
    """The advice of :func:`retrain_recommendation` as text: recommended or not, then one line per
    check that fired; advice withheld says why, so fired checks never read as ignored.
    """
    if advice["retrain_recommended"]:
        head, reasons = "retraining recommended:", advice["reasons"]
    elif advice["withheld"]:
        head, reasons = f"retraining not recommended, though checks fired: {advice['withheld']}", advice["withheld_reasons"]
    else:
        head, reasons = "retraining not recommended: no check fired.", []
    return "\n".join([head, *(f"- {r}" for r in reasons)])


def status_matrix(cells: pd.DataFrame) -> pd.DataFrame:
    """Feature x metric table of statuses (metrics in monitoring order)."""
    metrics = list(dict.fromkeys(cells["metric"]))
    return cells.pivot(index="feature_id", columns="metric", values="status")[metrics]


#: Statuses from the most to the least pressing, for choosing the heatmap's rows.
SEVERITY = ("alert", "warn", "insufficient_data", "ok")


def most_severe(matrix: pd.DataFrame, *, max_rows: int) -> pd.DataFrame:
    """The ``max_rows`` features of a :func:`status_matrix` with the most pressing statuses.

    Features are ranked by their count of alerts, then warnings, then cells with too little
    data, ties by feature id; the rows keep that order.

    Raises
    ------
    ValueError
        If ``max_rows`` is below 1.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows!r}.")
    counts = pd.DataFrame({status: (matrix == status).sum(axis=1).to_numpy() for status in SEVERITY[:-1]})
    ranked = counts.assign(feature=matrix.index.to_numpy()).sort_values(
        [*SEVERITY[:-1], "feature"], ascending=[False] * (len(SEVERITY) - 1) + [True], kind="stable"
    )
    return matrix.loc[ranked["feature"].iloc[:max_rows]]


def plot_status_heatmap(cells: pd.DataFrame, *, max_rows: int = 30) -> Axes:
    """Heatmap of :func:`status_matrix` on a new figure, one colour per status and the status
    written in each cell that is not ok.

    Rows are ordered most pressing first (:func:`most_severe`). With more than ``max_rows``
    features only the most pressing are drawn and the title says so: a row per feature of a
    large product would not be read, and drawing it is the slowest part of a daily run's drift step.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    # The dashboard's colours and words, so the notebook and the page read a status alike.
    from featurehealth.dashboard.plots import STATUS_COLOURS, STATUS_WORDS, text_colour

    full = status_matrix(cells)
    matrix = most_severe(full, max_rows=max_rows)
    colours = [STATUS_COLOURS[s] for s in STATUSES]
    codes = matrix.apply(lambda column: column.map(STATUSES.index)).to_numpy(dtype=float)
    _, ax = plt.subplots(figsize=(1.2 * matrix.shape[1] + 3, 0.25 * matrix.shape[0] + 1.5))
    ax.imshow(codes, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(STATUSES) - 0.5, aspect="auto")
    # Feature ids are the export's text: drawn as written, never as mathtext (which can fail the run).
    ax.set_xticks(range(matrix.shape[1]), [plain_label(c) for c in matrix.columns], rotation=30, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [plain_label(i, max_chars=MAX_LABEL_CHARS) for i in matrix.index])
    ax.set_xlabel("metric")
    ax.set_ylabel("feature (most pressing first)")
    # White lines between cells keep neighbouring cells of one status apart. Two line collections
    # draw the same pixels as a grid on minor ticks, without a tick object per row.
    rows, columns = matrix.shape
    ax.hlines(np.arange(rows + 1) - 0.5, -0.5, columns - 0.5, color="white", linewidth=1)
    ax.vlines(np.arange(columns + 1) - 0.5, -0.5, rows - 0.5, color="white", linewidth=1)
    # The status written in every cell but ok: red alert and green ok look alike to a red-green
    # colour-blind reader.
    for (row, column), status in np.ndenumerate(matrix.to_numpy()):
        if status in STATUS_WORDS:
            ax.text(column, row, STATUS_WORDS[status], ha="center", va="center", fontsize=8,
                    color=text_colour(STATUS_COLOURS[status]))
    ax.legend(handles=[Patch(color=c, label=STATUS_WORDS.get(s, s)) for c, s in zip(colours, STATUSES, strict=True)],
              loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    shown = "" if len(matrix) == len(full) else f" ({len(matrix)} of {len(full)} features, most pressing first)"
    ax.set_title(f"Drift status per feature and metric{shown}")
    return ax
