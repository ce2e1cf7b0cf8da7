"""Early-warning risk model: time split, random forest, calibration, metrics beside baselines,
importance, scoring of the latest day and the risk ranking.

The model answers "will this feature be degraded on any of the next ``horizon_days`` days?"
from the signals of :mod:`featurehealth.signals`. It is judged only on later days than it was
trained on, with a gap of ``horizon_days`` so no training label reads a test day, and always
next to two naive baselines: persistence ("degraded today => degraded soon") and a z-score rule.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from featurehealth import bootstrap, config, display, earlywarning
from featurehealth import signals as sig

#: Platt scaling only: isotonic regression, fitted on a calibration window of a few weeks, ties
#: most days at one of a few steps, which erases the ranking that early warning lives on.
CALIBRATION_METHODS = ("none", "sigmoid")
#: Keys of the ``model`` group handed to the forest.
FOREST_KEYS = ("n_estimators", "max_depth", "min_samples_leaf", "max_samples", "max_features", "class_weight")
#: The baselines' own decision point: persistence is 0/1 and the rule's score is 0.5 at z = rule_z.
BASELINE_THRESHOLD = 0.5
#: Signals the z-score rule reads, with the sign that points to "worse".
RULE_SIGNALS = {"p95_latency_z": 1.0, "crash_rate_z": 1.0, "avg_feedback_z": -1.0}
RISK_BUCKETS = ("low", "medium", "high")
#: ``operating_threshold`` value that picks the threshold with the best F1 on the calibration days.
AUTO_THRESHOLD = "auto"
#: How the operating threshold was chosen, as ``reports/metrics.json`` records it (``operating_threshold_rule``).
THRESHOLD_RULES = {
    "best_f1": "best F1 on the calibration days",
    "budget": "false-alert budget on the calibration days",
    "fixed": "fixed by model.operating_threshold",
}
#: Stand-in for a missing signal (too little history yet): below every real value, so a tree can
#: still split missing from present. The forest's native missing-value handling would cost
#: about half again the fitting time.
MISSING = -1e9
BASELINE_DESCRIPTIONS = {
    "persistence": "degraded today => degraded within the horizon",
    # Filled in with the run's model.baseline_rule_z, so a reader sees the value, not the key's name.
    "rule": "worst z-score of the day (p95 latency, crash rate, feedback) against the baseline >= {rule_z:g}",
}


class NotTrainableYetError(ValueError):
    """Too little data to train yet: too few days to split, no known target, or one class (:class:`OneClassError`).

    A state of the data, as on a new feed or a healthy platform, that more days fix, not a fault:
    the model step keeps the model in use, or publishes none, and records :attr:`reason`, the
    message without its "The risk model cannot be trained: " opening.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"The risk model cannot be trained: {reason}")
        self.reason = reason


class OneClassError(NotTrainableYetError):
    """Training or calibration days of one target class only (no degraded day ahead, or no healthy one)."""


@dataclass(frozen=True)
class TimeSplit:
    """Training and test days (inclusive); ``train_end + horizon_days < test_start``."""

    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def as_dict(self) -> dict[str, str]:
        """ISO dates of the four bounds."""
        return {name: getattr(self, name).date().isoformat() for name in self.__dataclass_fields__}


@dataclass
class RiskModel:
    """A fitted forest, the signal list it reads and the calibration applied to its output."""

    forest: Any
    signals: tuple[str, ...]
    calibration: str = "none"
    calibrator: Any = None

    def raw_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Forest probability of degrading within the horizon (before calibration)."""
        return self.forest.predict_proba(signal_matrix(frame, self.signals))[:, 1]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of degrading within the horizon, one per row of ``frame``."""
        return apply_calibration(self.raw_proba(frame), self.calibrator, method=self.calibration)


def signal_matrix(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """The columns ``names`` of ``frame`` as a float matrix, in that order, missing as :data:`MISSING`.

    Raises
    ------
    ValueError
        If a signal the model needs is missing (the model was trained on other signals, or the
        input no longer feeds one: :func:`featurehealth.signals.build_signals` leaves such out).
    """
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValueError(
            f"Signals {missing} are missing; the model was trained on a different signal set (the code "
            f"no longer builds them, or the input no longer feeds them: a metadata file, error_count, "
            f"app_version). Retrain it (model.retrain=always), or give back the input that fed them."
        )
    return np.nan_to_num(frame[list(names)].to_numpy(dtype="float64"), nan=MISSING)


def time_split(dates: pd.Series, *, horizon_days: int, test_share: float) -> TimeSplit:
    """Split labelled days by time: the last ``test_share`` of days for test, a gap, then training.

    Parameters
    ----------
    dates : pandas.Series
        Dates of the labelled rows (target known).
    horizon_days : int
        Gap in days between the last training day and the first test day, so that no training
        label reads a test day.
    test_share : float
        Share of the distinct labelled days held out, in (0, 1).

    Returns
    -------
    TimeSplit

    Raises
    ------
    ValueError
        If ``test_share`` is outside (0, 1) or ``horizon_days`` below 1.
    NotTrainableYetError
        If no day is given, or no training day is left before the gap.
    """
    _check_share(test_share, key="test_share")
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be >= 1, got {horizon_days!r}.")
    days = pd.DatetimeIndex(sorted(sig.normalise_dates(pd.Series(dates)).unique()))
    if not len(days):
        raise NotTrainableYetError(
            f"no day has a known target yet: a day's target needs the {display.count_text(horizon_days, 'day')} after it "
            f"(model.horizon_days); use more days of data."
        )
    n_test = _n_held_out(len(days), share=test_share)
    test_start = days[-n_test]
    train_days = days[days < test_start - pd.Timedelta(days=horizon_days)]
    if len(train_days) == 0:
        raise NotTrainableYetError(
            f"no training day is left: {len(days)} labelled days, {n_test} for test (model.test_share {test_share:g}) "
            f"and a gap of {display.count_text(horizon_days, 'day')} (model.horizon_days); use more days of data, a smaller "
            f"model.test_share or a shorter model.horizon_days."
        )
    return TimeSplit(train_days[0], train_days[-1], test_start, days[-1])


def _check_share(share: float, *, key: str) -> None:
    if not 0 < share < 1:
        raise ValueError(f"{key} must be in (0, 1), got {share!r}.")


def _n_held_out(n_days: int, *, share: float) -> int:
    """Days :func:`time_split` holds out of ``n_days``: the last ``share`` of them, at least one."""
    # Rounded first: in binary floats 100 * 0.07 is 7.000000000000001, whose ceiling would hold out a day more.
    return max(1, math.ceil(round(n_days * share, 9)))


def days_of_data_needed(params: Mapping[str, Any]) -> int:
    """The fewest consecutive days of data whose splits leave days to fit on, under the ``model`` group ``params``.

    The last ``horizon_days`` days have no target; of the labelled days, :func:`time_split` holds
    out the last ``test_share`` after a gap of ``horizon_days``, and with ``calibrate`` the
    calibration split does the same to the training days with ``calibration_share``.

    Raises
    ------
    ValueError
        If ``test_share`` or (with ``calibrate``) ``calibration_share`` is outside (0, 1), or
        ``horizon_days`` is below 1.
    """
    horizon = params["horizon_days"]
    if horizon < 1:
        raise ValueError(f"model.horizon_days must be >= 1, got {horizon!r}.")
    shares = [("model.test_share", params["test_share"])]
    if params["calibrate"]:
        shares.append(("model.calibration_share", params["calibration_share"]))
    for key, share in shares:
        _check_share(share, key=key)
    # Back from the one day to fit on: the fewest days each split needs to leave the days the next one splits.
    days = 1
    for _, share in reversed(shares):
        left, days = days, 1
        while days - _n_held_out(days, share=share) - horizon < left:
            days += 1
    return days + horizon


def in_window(dates: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Boolean mask of ``start <= date <= end``."""
    return ((dates >= start) & (dates <= end)).to_numpy()


def make_forest(params: Mapping[str, Any], *, n_rows: int) -> Any:
    """An unfitted RandomForestClassifier from the ``model`` group (fixed ``random_state``).

    Each tree draws ``max_samples`` of the ``n_rows`` training rows, but at least
    ``min_rows_per_tree`` of them (all when there are fewer): on a year of data a small share
    keeps fitting fast, while a small data set needs every row to grow useful trees.

    Raises
    ------
    ValueError
        If ``n_rows`` is below 1.
    """
    from sklearn.ensemble import RandomForestClassifier

    if n_rows < 1:
        raise ValueError("make_forest needs at least one training row.")
    share = min(1.0, max(params["max_samples"], params["min_rows_per_tree"] / n_rows))
    return RandomForestClassifier(
        **{key: params[key] for key in FOREST_KEYS if key != "max_samples"},
        max_samples=share,
        random_state=params["random_state"],
        n_jobs=params["n_jobs"],
    )


def fit_calibration(raw: np.ndarray, y: np.ndarray, *, method: str) -> Any:
    """Fit a map from forest probability to calibrated probability.

    ``method`` (one of :data:`CALIBRATION_METHODS`): ``sigmoid`` is Platt scaling on the log-odds
    (monotone, so the ranking is kept); ``none`` returns None.

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`CALIBRATION_METHODS`.
    """
    _check_method(method)
    if method == "none":
        return None
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1e6).fit(_logit(raw)[:, None], y)


def _check_method(method: str) -> None:
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"calibration method {method!r} is not one of {', '.join(CALIBRATION_METHODS)}.")


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def apply_calibration(raw: np.ndarray, calibrator: Any, *, method: str) -> np.ndarray:
    """Calibrated probabilities for forest probabilities ``raw``.

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`CALIBRATION_METHODS`.
    """
    _check_method(method)
    if method == "none":
        return np.asarray(raw, dtype="float64")
    return calibrator.predict_proba(_logit(raw)[:, None])[:, 1]


def choose_calibration(raw: np.ndarray, y: np.ndarray, dates: pd.Series) -> tuple[str, dict[str, float | None]]:
    """Pick the calibration with the lowest Brier score on later days than it was fitted on.

    Each method is fitted on the first half of the calibration days and scored on the second;
    ``none`` wins ties, so calibration is used only where it improves the Brier score.

    Returns
    -------
    tuple
        Chosen method and the Brier score of each method on the second half (None when a half
        lacks one class and nothing can be fitted).
    """
    days = np.sort(dates.unique())
    later = (dates >= days[len(days) // 2]).to_numpy()
    scores: dict[str, float | None] = dict.fromkeys(CALIBRATION_METHODS)
    if len(np.unique(y[~later])) < 2 or later.sum() == 0:
        return "none", scores
    for method in CALIBRATION_METHODS:
        fitted = fit_calibration(raw[~later], y[~later], method=method)
        predicted = apply_calibration(raw[later], fitted, method=method)
        scores[method] = float(np.mean((predicted - y[later]) ** 2))
    best = min(CALIBRATION_METHODS, key=lambda m: (scores[m], CALIBRATION_METHODS.index(m)))
    return best, scores


def _all_flagged_error(probability: np.ndarray) -> ValueError:
    """Why no threshold of ``operating_threshold: auto`` leaves a calibration row unflagged."""
    return ValueError(
        f"model.operating_threshold 'auto' found no threshold that leaves any of the {len(probability)} calibration "
        f"feature-days unflagged (every score is {float(np.min(probability)):.6g}); set a probability instead "
        f"(model.operating_threshold: 0.3 in the profile, or --set model.operating_threshold=0.3)."
    )


def choose_threshold(probability: np.ndarray, y: np.ndarray) -> float:
    """The probability at or above which flagging gives the best F1 on these rows.

    The lowest score is never chosen: it flags every row, an "alert on everything" that can have
    the best F1 when positives are common. The threshold is the best among those that leave at
    least one row unflagged.

    Raises
    ------
    ValueError
        If ``y`` holds one class only (no threshold can be judged), or every score is the same
        (no threshold leaves a row unflagged).
    """
    from sklearn.metrics import precision_recall_curve

    if len(np.unique(y)) < 2:
        raise ValueError(
            "operating_threshold 'auto' needs both classes on the calibration days; give a number instead."
        )
    precision, recall, thresholds = precision_recall_curve(y, probability)
    # thresholds are the distinct scores in ascending order: the first, the lowest score, flags every row.
    if len(thresholds) < 2:
        raise _all_flagged_error(probability)
    total = precision + recall
    f1 = 2 * precision * recall / np.where(total > 0, total, 1.0)
    # The curve's last point (recall 0) has no threshold.
    return float(thresholds[1 + int(np.argmax(f1[1:-1]))])


def _alert_rows(features: np.ndarray, dates: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row order by feature then date, with each row's feature code and day number in that order."""
    codes = pd.factorize(np.asarray(features))[0]
    days = (sig.normalise_dates(pd.Series(dates)).to_numpy() - np.datetime64("1970-01-01")) // np.timedelta64(1, "D")
    order = np.lexsort((days, codes))
    return order, codes[order], days[order]


def _false_alerts(flagged: np.ndarray, y: np.ndarray, codes: np.ndarray, days: np.ndarray) -> int:
    """Runs of consecutive flagged days of one feature with target 0 on every day (rows in alert order)."""
    rows = np.flatnonzero(flagged)
    if not len(rows):
        return 0
    starts = np.r_[True, (np.diff(days[rows]) != 1) | (np.diff(codes[rows]) != 0)]
    return int((np.maximum.reduceat(y[rows], np.flatnonzero(starts)) == 0).sum())


def false_alert_rate(
    probability: np.ndarray, y: np.ndarray, features: np.ndarray, dates: pd.Series, *, threshold: float
) -> float:
    """False alerts per feature-month on labelled rows, from the target alone (no incident table).

    An alert is a run of consecutive flagged days of one feature; it is false when none of its
    days is followed by degradation within the horizon (target 0 on every day of the run).
    """
    order, codes, days = _alert_rows(features, dates)
    n = _false_alerts(np.asarray(probability)[order] >= threshold, np.asarray(y)[order], codes, days)
    return n / (len(order) / earlywarning.DAYS_PER_MONTH) if len(order) else 0.0


def _check_budget(budget: Any) -> None:
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget >= 0:
        raise ValueError(f"model.alert_budget must be a number >= 0 (false alerts per feature-month) or null, got {budget!r}.")


def choose_threshold_budget(
    probability: np.ndarray, y: np.ndarray, features: np.ndarray, dates: pd.Series, *, budget: float
) -> float:
    """The lowest threshold at and above which the false-alert rate on these rows stays within ``budget``.

    ``budget`` is in false alerts per feature-month (:func:`false_alert_rate`). Candidates are 300
    quantiles (50 % to 99.9 %) of ``probability``, scanned from the top down, stopping at the first
    one over budget: flagging (nearly) everything merges alerts into a few long ones and could
    meet a budget by accident. The highest candidate is returned when none meets the budget. As
    with :func:`choose_threshold`, the lowest score (which flags every row) is never a candidate.

    Raises
    ------
    ValueError
        If ``budget`` is not a number >= 0, or every score is the same.
    """
    _check_budget(budget)
    order, codes, days = _alert_rows(features, dates)
    p, labels = np.asarray(probability, dtype="float64")[order], np.asarray(y)[order]
    months = len(order) / earlywarning.DAYS_PER_MONTH
    candidates = np.unique(np.quantile(p, np.linspace(0.5, 0.999, 300)))[::-1]
    # Half the rows or more tied at the lowest score make the median that score.
    candidates = candidates[candidates > p.min()]
    if not len(candidates):
        raise _all_flagged_error(p)
    chosen = candidates[0]
    for threshold in candidates:
        if _false_alerts(p >= threshold, labels, codes, days) / months > budget:
            break
        chosen = threshold
    return float(chosen)



def _calibration_split(dates: pd.Series, *, horizon_days: int, share: float) -> TimeSplit:
    """The training days split into days that fit the first forest and later calibration days.

    Raises
    ------
    ValueError
        If ``share`` is outside (0, 1).
    NotTrainableYetError
        Naming ``model.calibration_share`` (not the test split's ``test_share``) when the
        training days are too few to split.
    """
    _check_share(share, key="model.calibration_share")
    try:
        return time_split(dates, horizon_days=horizon_days, test_share=share)
    except NotTrainableYetError:
        days = sig.normalise_dates(pd.Series(dates)).drop_duplicates()
        raise NotTrainableYetError(
            f"the calibration days cannot be split off the {len(days)} training days "
            f"({days.min():%Y-%m-%d}..{days.max():%Y-%m-%d}): their last {share:g} and a gap of {horizon_days} "
            f"days (model.horizon_days) leave none to fit on; use more days of data, a smaller "
            f"model.calibration_share or model.calibrate: false with a numeric model.operating_threshold."
        ) from None


def _check_threshold_days(rows: pd.DataFrame, *, horizon_days: int) -> None:
    """Refuse ``operating_threshold: auto`` when the calibration days hold one class only.

    Own telemetry often has no degraded day in that stretch (a first export, a calm quarter):
    nothing there tells a good threshold from a bad one.

    Raises
    ------
    OneClassError
        Naming the days, their count and the two ways out.
    """
    y = rows["target"].to_numpy()
    if len(np.unique(y)) > 1:
        return
    days = sig.normalise_dates(rows["date"]) if len(rows) else pd.Series(dtype="datetime64[ns]")
    span = f"{days.min():%Y-%m-%d}..{days.max():%Y-%m-%d}" if len(days) else "(none)"
    which = "none" if not len(y) or y.max() == 0 else "all"
    raise OneClassError(
        f"model.operating_threshold 'auto' is chosen on the calibration days {span}, but {which} of their "
        f"{len(rows)} feature-days are followed by a degraded day within {display.count_text(horizon_days, 'day')}; "
        f"set a probability instead "
        f"(model.operating_threshold: 0.3 in the profile, or --set model.operating_threshold=0.3) "
        f"or train on more history."
    )

def _fixed_threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"model.operating_threshold must be a probability in (0, 1) or {AUTO_THRESHOLD!r}; got {value!r}.")
    return float(value)


@dataclass
class TrainingResult:
    """A fitted model with its split, calibration and threshold choices and the rows it was trained on."""

    model: RiskModel
    split: TimeSplit
    calibration_brier: dict[str, float | None]
    n_train_rows: int
    n_calibration_rows: int
    training_data_hash: str
    operating_threshold: float
    #: Which of :data:`THRESHOLD_RULES` chose it (their text).
    threshold_rule: str


def frame_hash(frame: pd.DataFrame) -> str:
    """Stable sha256 of a frame's values and column names (row order matters)."""
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def labelled_dataset(signal_frame: pd.DataFrame, target: pd.DataFrame) -> pd.DataFrame:
    """Signals joined with the target, one row per feature-day (target NaN where unknown)."""
    return signal_frame.merge(target, on=list(sig.KEYS), how="left", validate="one_to_one")


def fit_forest(
    rows: pd.DataFrame, names: Sequence[str], *, params: Mapping[str, Any], before_calibration: bool = False
) -> Any:
    """A forest fitted on ``rows`` (signals ``names``, column ``target``), predicting single-threaded.

    ``before_calibration`` says that ``rows`` are the days before the calibration days (the first
    forest of :func:`train_model`), which the one-class error then names, with the share that
    gives them more days (``model.calibration_share``, else ``model.test_share``).

    Raises
    ------
    OneClassError
        If ``rows`` hold one target class only: nothing to learn (a product with no degraded day).
    NotTrainableYetError
        If no tree could split the rows (too few for ``min_samples_leaf``): a forest of single leaves.
    ValueError
        If ``max_features`` is a count above the number of signals.
    """
    max_features = params["max_features"]
    if isinstance(max_features, int) and not isinstance(max_features, bool) and max_features > len(names):
        raise ValueError(
            f"model.max_features {max_features} is more than the {len(names)} signals the model has; use at "
            f"most {len(names)}, a share in (0, 1], sqrt, log2 or null (all signals)."
        )
    target = rows["target"].to_numpy(dtype="int8")
    if len(np.unique(target)) < 2:
        dates = sig.normalise_dates(rows["date"])
        span = f" from {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}" if len(rows) else ""
        what = "degrades within the horizon" if not target.any() else "stays healthy"
        days, share = (("feature-days before the calibration days", "model.calibration_share") if before_calibration
                       else ("training feature-days", "model.test_share"))
        raise OneClassError(
            f"none of its {len(rows)} {days}{span} {what}, so there is nothing to tell apart; give it more days "
            f"(a later ingest.as_of, a backfill of earlier days or a smaller {share}) or check the degradation rules."
        )
    forest = make_forest(params, n_rows=len(rows))
    forest.fit(signal_matrix(rows, names), target)
    if all(tree.tree_.node_count == 1 for tree in forest.estimators_):
        raise NotTrainableYetError(
            f"none of the {len(forest.estimators_)} trees could split its {len(rows)} training feature-days into "
            f"leaves of model.min_samples_leaf {params['min_samples_leaf']}, so it would score every feature alike; "
            f"give it more days or a smaller model.min_samples_leaf."
        )
    # Predicting on threads costs more than it saves at scoring sizes (a day is ~100 rows), and
    # the stored model should not depend on the cores of the machine that trained it.
    return forest.set_params(n_jobs=1)


def _too_few_days_reason(dates: pd.Series, *, params: Mapping[str, Any]) -> str | None:
    """Why the days of ``dates`` (all rows, labelled or not) are too few for the splits, and until when; None if not."""
    days = sig.normalise_dates(pd.Series(dates))
    needed = days_of_data_needed(params)
    if days.empty:
        return f"no day of data yet: it needs {needed} days of data."
    first, last = days.min(), days.max()
    has = (last - first).days + 1
    if has >= needed:
        return None
    horizon = params["horizon_days"]
    held_out = f"the test days (model.test_share {params['test_share']:g})" + (
        f" and calibration days (model.calibration_share {params['calibration_share']:g})" if params["calibrate"] else "")
    no_target = has <= horizon
    # A first run given a daily run's window is the usual way to have no target at all.
    lead, hint = (("no day has a known target yet: ",
                   " (a first run reads the input's whole history when ingest.window_start is empty)") if no_target
                  else ("", ""))
    # days_of_data_needed leaves one day to fit on, whose one class would refuse the next run: say so now.
    fitted = "then the one day before its calibration days" if params["calibrate"] else "then its one training day"
    return (
        f"{lead}it needs {needed} days of data, has {has} ({first:%Y-%m-%d}..{last:%Y-%m-%d}): a day's target needs "
        f"the {display.count_text(horizon, 'day')} after it (model.horizon_days), and {held_out} are each held out after a gap of as many "
        f"days; a model can be trained at the earliest once the data reaches "
        f"{first + pd.Timedelta(days=needed - 1):%Y-%m-%d}, and then only if, on its first day {first:%Y-%m-%d} "
        f"({fitted}), some features are followed by a degraded day within {display.count_text(horizon, 'day')} and some are not; later "
        f"data gives it more days{hint}."
    )


def train_model(dataset: pd.DataFrame, *, params: Mapping[str, Any]) -> TrainingResult:
    """Fit the forest on the training days, with a calibration chosen on later held-back days.

    With ``calibrate``, a first forest is fitted without the last ``calibration_share`` of
    training days (and a gap of ``horizon_days``); its scores on those days choose the
    calibration (:func:`choose_calibration`) and fit it. The final forest is fitted on all
    training days, because the latest days predict the future best, and keeps that
    calibration (as scikit-learn's ``CalibratedClassifierCV(ensemble=False)`` does with
    cross-validated scores). With ``operating_threshold: auto`` the same calibrated scores of
    those days choose the threshold (:func:`choose_threshold`, or :func:`choose_threshold_budget`
    when the optional ``alert_budget`` is set), never the test days.

    Parameters
    ----------
    dataset : pandas.DataFrame
        :func:`labelled_dataset` output, in any row order (rows are taken by date, then feature).
    params : mapping
        The ``model`` group.

    Returns
    -------
    TrainingResult

    Raises
    ------
    NotTrainableYetError
        When the days are fewer than :func:`days_of_data_needed` (saying how many it needs and when
        it will have them; with gaps, when the splits still leave no day to fit on), or
        (:class:`OneClassError`) the training days, those before the calibration days or, with
        ``operating_threshold: auto``, the calibration days hold one target class only.
    ValueError
        For an ``operating_threshold`` that is neither a probability nor ``auto`` (or ``auto``
        without calibration, or with one calibrated score on all calibration days, which no
        threshold can leave unflagged), an ``alert_budget`` that is negative or set beside a fixed
        threshold, or a share outside (0, 1).
    """
    names = tuple(sig.signal_columns(dataset.drop(columns="target")))
    auto_threshold = params["operating_threshold"] == AUTO_THRESHOLD
    budget = params.get("alert_budget")
    config.check_threshold_choice(
        operating_threshold=params["operating_threshold"], calibrate=params["calibrate"], alert_budget=budget
    )
    threshold = None if auto_threshold else _fixed_threshold(params["operating_threshold"])
    if budget is not None:
        _check_budget(budget)
    # In build_signals order whatever the caller's: the forest's row draws and the training-data
    # hash (part of the version id) follow row order, so the same feature-days reordered would
    # give another model.
    too_few = _too_few_days_reason(dataset["date"], params=params)
    if too_few:
        raise NotTrainableYetError(too_few)
    labelled = dataset[dataset["target"].notna()].sort_values(["date", "feature_id"], kind="stable")
    split = time_split(labelled["date"], horizon_days=params["horizon_days"], test_share=params["test_share"])
    train = labelled[in_window(labelled["date"], split.train_start, split.train_end)]
    method, calibrator, brier = "none", None, dict.fromkeys(CALIBRATION_METHODS)
    calibration_rows = train.iloc[0:0]
    inner = (_calibration_split(train["date"], horizon_days=params["horizon_days"], share=params["calibration_share"])
             if params["calibrate"] else None)
    # The final forest comes before the calibration one: training days of one class are the error
    # to name, not the shorter stretch before the calibration days.
    forest = fit_forest(train, names, params=params)
    if inner is not None:
        early = train[in_window(train["date"], inner.train_start, inner.train_end)]
        calibration_rows = train[in_window(train["date"], inner.test_start, inner.test_end)]
        y_cal = calibration_rows["target"].to_numpy(dtype="int8")
        raw = RiskModel(fit_forest(early, names, params=params, before_calibration=True), names).raw_proba(calibration_rows)
        method, brier = choose_calibration(raw, y_cal, calibration_rows["date"])
        calibrator = fit_calibration(raw, y_cal, method=method)
        if auto_threshold:
            _check_threshold_days(calibration_rows, horizon_days=params["horizon_days"])
            calibrated = apply_calibration(raw, calibrator, method=method)
            # An alert budget (false alerts per feature-month) replaces the best F1 when set;
            # either is judged on the calibration days' labels, never the test days.
            threshold = choose_threshold(calibrated, y_cal) if budget is None else choose_threshold_budget(
                calibrated, y_cal, calibration_rows["feature_id"].to_numpy(), calibration_rows["date"], budget=budget
            )
    return TrainingResult(
        model=RiskModel(forest, names, method, calibrator),
        split=split,
        calibration_brier=brier,
        n_train_rows=len(train),
        n_calibration_rows=len(calibration_rows),
        training_data_hash=frame_hash(train[[*sig.KEYS, *names, "target"]]),
        operating_threshold=threshold,
        threshold_rule=THRESHOLD_RULES["fixed" if not auto_threshold else "best_f1" if budget is None else "budget"],
    )


def baseline_scores(frame: pd.DataFrame, *, rule_z: float) -> pd.DataFrame:
    """Scores of the two naive baselines for each row of a signal frame.

    ``persistence`` is 1 when the feature is degraded today. ``rule`` is a logistic of the
    worst z-score of the day (p95 latency, crash rate up; feedback down) minus ``rule_z``, so it
    crosses 0.5 where the worst z-score reaches ``rule_z``.
    """
    worst = np.max(
        np.column_stack([frame[name].fillna(0.0).to_numpy() * sign for name, sign in RULE_SIGNALS.items()]), axis=1
    )
    return pd.DataFrame(
        {
            "persistence": frame["degraded_today"].fillna(0.0).to_numpy(),
            "rule": 1.0 / (1.0 + np.exp(-(worst - rule_z))),
        },
        index=frame.index,
    )


def classification_metrics(y_true: np.ndarray, score: np.ndarray, *, threshold: float) -> dict[str, Any]:
    """ROC-AUC, PR-AUC (average precision), precision/recall/F1 at ``threshold``, Brier, base rate.

    AUCs are None when ``y_true`` holds one class only; precision is None when nothing is flagged,
    recall None when nothing degrades, F1 None when neither happens (0/0: there is nothing to
    score, and a 0 would read as every alert wrong or every degradation missed).

    Raises
    ------
    ValueError
        If ``y_true`` is empty.
    """
    from sklearn.metrics import (
        average_precision_score, brier_score_loss, precision_recall_fscore_support, roc_auc_score,
    )

    y = np.asarray(y_true, dtype="int8")
    p = np.asarray(score, dtype="float64")
    if len(y) == 0:
        raise ValueError("classification_metrics needs at least one row.")
    flagged = (p >= threshold).astype("int8")
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, flagged, average="binary", zero_division=0.0
    )
    both = len(np.unique(y)) == 2
    any_flagged, any_positive = bool(flagged.any()), bool(y.any())
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "pr_auc": float(average_precision_score(y, p)) if both else None,
        "precision": float(precision) if any_flagged else None,
        "recall": float(recall) if any_positive else None,
        "f1": float(f1) if any_flagged or any_positive else None,
        "brier": float(brier_score_loss(y, p)),
        "base_rate": float(y.mean()),
        "threshold": float(threshold),
        "flagged_share": float(flagged.mean()),
        "n_rows": int(len(y)),
        "n_positive": int(y.sum()),
    }


def holdout_predictions(result: TrainingResult, dataset: pd.DataFrame, *, rule_z: float) -> pd.DataFrame:
    """Predictions of the model and both baselines on every day from the test start on.

    ``rule_z`` is the z-score rule's limit, where ``rule_score`` crosses 0.5 (:func:`baseline_scores`).
    Days after the test window (horizon not yet over) are included with ``y_true`` NaN: they
    count for the early-warning evaluation, never for the classification metrics.

    Returns
    -------
    pandas.DataFrame
        ``feature_id``, ``date``, ``y_true``, ``probability``, ``persistence_score``,
        ``rule_score``, ``is_degraded``.
    """
    rows = dataset[(dataset["date"] >= result.split.test_start).to_numpy()]
    baselines = baseline_scores(rows, rule_z=rule_z)
    return pd.DataFrame(
        {
            "feature_id": rows["feature_id"].to_numpy(),
            "date": rows["date"].to_numpy(),
            "y_true": rows["target"].to_numpy(dtype="float64"),
            "probability": result.model.predict_proba(rows),
            "persistence_score": baselines["persistence"].to_numpy(),
            "rule_score": baselines["rule"].to_numpy(),
            "is_degraded": rows["degraded_today"].to_numpy(),
        }
    )


def evaluate(
    predictions: pd.DataFrame, *, threshold: float, rule_z: float, horizon_days: int, min_positives: int, seed: int
) -> dict[str, Any]:
    """Metrics of the model and of both baselines on the labelled rows of ``predictions``, and how
    far the model's PR-AUC is ahead of each baseline's (:func:`baseline_intervals`).

    ``rule_z`` is the z-score rule's limit, for its description; ``horizon_days``, ``min_positives``
    and ``seed`` go to :func:`baseline_intervals`.
    """
    labelled = predictions[predictions["y_true"].notna()]
    y = labelled["y_true"].to_numpy()
    model = classification_metrics(y, labelled["probability"].to_numpy(), threshold=threshold)
    baselines = {
        name: {
            "description": description.format(rule_z=rule_z),
            **classification_metrics(y, labelled[f"{name}_score"].to_numpy(), threshold=BASELINE_THRESHOLD),
        }
        for name, description in BASELINE_DESCRIPTIONS.items()
    }
    return {
        "model": model,
        "baselines": baselines,
        "comparison": {
            "pr_auc_over_base_rate": _ratio(model["pr_auc"], model["base_rate"]),
            "pr_auc_minus_persistence": _difference(model["pr_auc"], baselines["persistence"]["pr_auc"]),
            "pr_auc_minus_rule": _difference(model["pr_auc"], baselines["rule"]["pr_auc"]),
            **baseline_intervals(labelled, horizon_days=horizon_days, min_positives=min_positives, seed=seed),
        },
    }


def baseline_intervals(labelled: pd.DataFrame, *, horizon_days: int, min_positives: int, seed: int) -> dict[str, Any]:
    """95 % paired bootstrap interval of the model's PR-AUC minus each baseline's, on the same labelled test rows.

    Resampled in runs of ``horizon_days`` days as the promotion comparison is
    (:func:`featurehealth.bootstrap.pr_auc_difference_interval`, seeded with ``seed``), so a gain
    is called one only when it stands out of the noise of the days tested. With fewer positive rows
    than ``min_positives`` (``model.promote_min_positives``) there is none: on a few positives which
    scorer ranks them higher is a coin toss.

    Returns
    -------
    dict
        ``pr_auc_minus_<baseline>_interval`` ([low, high] or None) for each of
        :data:`BASELINE_DESCRIPTIONS`, and ``no_interval_reason`` (None, or one sentence why there are none).
    """
    y = labelled["y_true"].to_numpy(dtype="int8")
    n_positive = int(y.sum())
    reason = None
    if n_positive in (0, len(y)):
        reason = (f"{'none' if n_positive == 0 else 'all'} of the {len(y)} labelled test feature-days "
                  f"{'is' if n_positive == 0 else 'are'} positive, and PR-AUC needs both classes")
    elif n_positive < min_positives:
        reason = (f"only {n_positive} of the {len(y)} labelled test feature-days are positive, fewer than "
                  f"model.promote_min_positives ({min_positives}) for an interval beyond noise")
    intervals = {
        f"pr_auc_minus_{name}_interval": None if reason else list(bootstrap.pr_auc_difference_interval(
            y, labelled["probability"].to_numpy(), labelled[f"{name}_score"].to_numpy(), labelled["date"].to_numpy(),
            block_days=horizon_days, seed=seed))
        for name in BASELINE_DESCRIPTIONS
    }
    return {**intervals, "no_interval_reason": reason}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def feature_importance(
    result: TrainingResult, test_rows: pd.DataFrame, *, random_state: int, n_repeats: int, max_rows: int
) -> pd.DataFrame:
    """Impurity importance and permutation importance (drop in PR-AUC on test rows) per signal.

    Permutation shuffles each signal ``n_repeats`` times on at most ``max_rows`` labelled test
    rows (a fixed sample; ``random_state`` seeds both the sample and the shuffles), in this
    process (:func:`permutation_drops`): worker processes cost more to start than they save here.
    It uses the forest before calibration: a monotone calibration leaves the ranking, and so the
    PR-AUC, (nearly) unchanged, and skipping it saves time.

    Returns
    -------
    pandas.DataFrame
        ``signal``, ``impurity_importance``, ``permutation_importance``, ``permutation_std``,
        ``rank`` (1 = most important by permutation, impurity breaking ties), sorted by rank.
    """
    names = list(result.model.signals)
    labelled = test_rows[test_rows["target"].notna()]
    y = labelled["target"].to_numpy(dtype="int8")
    impurity = result.model.forest.feature_importances_
    if len(np.unique(y)) < 2:
        # PR-AUC is undefined without a degraded day ahead on the test days (a calm period of
        # one's own telemetry): no permutation importance, the impurity ranks alone.
        return _ranked(pd.DataFrame({"signal": names, "impurity_importance": impurity,
                                     "permutation_importance": np.nan, "permutation_std": np.nan}))
    # Sample the rows once, so the unshuffled score that each shuffle is compared with is
    # computed on the same rows (permutation_importance's max_samples would not).
    rows = np.sort(np.random.default_rng(random_state).permutation(len(labelled))[:max_rows])
    if len(np.unique(y[rows])) < 2:
        rows = np.arange(len(labelled))
    drops = permutation_drops(
        result.model.forest, signal_matrix(labelled, names)[rows], y[rows], n_repeats=n_repeats, random_state=random_state
    )
    return _ranked(pd.DataFrame(
        {
            "signal": names,
            "impurity_importance": impurity,
            "permutation_importance": drops.mean(axis=1),
            "permutation_std": drops.std(axis=1),
        }
    ))


def permutation_drops(
    forest: Any, matrix: np.ndarray, y: np.ndarray, *, n_repeats: int, random_state: int, batch_columns: int = 8
) -> np.ndarray:
    """Drop in PR-AUC when each column of ``matrix`` is shuffled: sklearn's ``permutation_importance``.

    The shuffles are those of ``sklearn.inspection.permutation_importance`` with
    ``scoring="average_precision"`` (one seed drawn from ``random_state``, each column shuffled
    ``n_repeats`` times in turn from it), and so are the drops, bit for bit. The shuffled copies
    of ``batch_columns`` columns are scored in one prediction: a forest's prediction of a few
    thousand rows costs mostly its per-tree overhead, paid once per batch, not once per shuffle.

    Returns
    -------
    numpy.ndarray
        (n_columns, n_repeats): baseline PR-AUC minus the PR-AUC with the column shuffled.
    """
    from sklearn.metrics import average_precision_score

    n_rows, n_columns = matrix.shape
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    baseline = average_precision_score(y, forest.predict_proba(matrix)[:, 1])
    scores = np.empty((n_columns, n_repeats))
    for first in range(0, n_columns, batch_columns):
        columns = range(first, min(n_columns, first + batch_columns))
        shuffled = []
        for column in columns:
            rng, order, permuted = np.random.RandomState(seed), np.arange(n_rows), matrix.copy()
            for _ in range(n_repeats):
                rng.shuffle(order)
                permuted[:, column] = permuted[order, column]
                shuffled.append(permuted.copy())
        probability = forest.predict_proba(np.vstack(shuffled))[:, 1].reshape(len(shuffled), n_rows)
        scores[first:first + len(columns)] = [
            [average_precision_score(y, p) for p in probability[i * n_repeats:(i + 1) * n_repeats]]
            for i in range(len(columns))
        ]
    return baseline - scores


def _ranked(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` sorted by permutation importance (missing last), impurity breaking ties, with ``rank``."""
    ordered = table.sort_values(
        ["permutation_importance", "impurity_importance", "signal"], ascending=[False, False, True],
        kind="stable", na_position="last",
    )
    return ordered.assign(rank=np.arange(1, len(ordered) + 1)).reset_index(drop=True)


def tree_contributions(forest: Any, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-prediction contributions of each signal to the forest's probability of class 1.

    Following each row's path from root to leaf, the change in the node's class-1 share at a
    split is credited to the split's signal; averaged over trees,
    ``bias + contributions.sum(axis=1)`` equals ``forest.predict_proba(matrix)[:, 1]``.

    Returns
    -------
    tuple
        ``bias`` (n_rows,) and ``contributions`` (n_rows, n_signals).
    """
    n_rows, n_signals = matrix.shape
    bias = np.zeros(n_rows)
    contributions = np.zeros((n_rows, n_signals))
    for estimator in forest.estimators_:
        tree = estimator.tree_
        share = tree.value[:, 0, 1] / tree.value[:, 0, :].sum(axis=1)
        path = estimator.decision_path(matrix).tocsr()
        path.sort_indices()
        # Node ids grow from parent to child, so each row's sorted indices run root -> leaf.
        nodes = path.indices
        row = np.repeat(np.arange(n_rows), np.diff(path.indptr))
        step = row[1:] == row[:-1]
        parent, child = nodes[:-1][step], nodes[1:][step]
        np.add.at(contributions, (row[1:][step], tree.feature[parent]), share[child] - share[parent])
        bias += share[0]
    count = len(forest.estimators_)
    return bias / count, contributions / count


def bucket_cutoffs(setting: str | Sequence[float], *, operating_threshold: float | None) -> tuple[float, float]:
    """The two risk-bucket cut-offs of ``model.risk_buckets``.

    ``auto`` ties the buckets to the alerts: ``medium`` starts at the operating threshold, so
    every flagged feature is at least medium, and ``high`` halfway from it to 1. Fixed cut-offs
    that ignore the threshold would show most warnings as ``low``.

    Raises
    ------
    ValueError
        If ``setting`` is neither ``auto`` nor two increasing numbers in (0, 1), or is ``auto``
        without an operating threshold.
    """
    if isinstance(setting, str):
        if setting != AUTO_THRESHOLD:
            raise ValueError(f"risk_buckets must be 'auto' or two increasing cut-offs in (0, 1), got {setting!r}.")
        if operating_threshold is None or not 0 < operating_threshold < 1:
            raise ValueError(
                f"risk_buckets 'auto' starts 'medium' at the model's operating threshold, which is "
                f"{operating_threshold!r}; give two cut-offs instead."
            )
        return float(operating_threshold), (float(operating_threshold) + 1.0) / 2.0
    cutoffs = tuple(float(c) for c in setting)
    risk_bucket(np.empty(0), cutoffs=cutoffs)  # checks them
    return cutoffs[0], cutoffs[1]


def risk_bucket(probability: np.ndarray, *, cutoffs: Sequence[float]) -> np.ndarray:
    """``low`` below ``cutoffs[0]``, ``medium`` below ``cutoffs[1]``, else ``high``.

    Raises
    ------
    ValueError
        If ``cutoffs`` are not two increasing numbers in (0, 1), or a probability is missing
        (NaN): the model always gives a number, so a missing one is a defect upstream and must
        not be shown as a bucket.
    """
    if len(cutoffs) != 2 or not 0 < cutoffs[0] < cutoffs[1] < 1:
        raise ValueError(f"risk_buckets must be two increasing cut-offs in (0, 1), got {list(cutoffs)!r}.")
    probability = np.asarray(probability, dtype="float64")
    # searchsorted puts NaN after every cut-off, i.e. "high": a missing score would read as a
    # measured high risk on the ranking and the dashboard.
    n_missing = int(np.isnan(probability).sum())
    if n_missing:
        raise ValueError(
            f"{n_missing} of {probability.size} risk probabilities are missing (NaN); a bucket needs a "
            f"probability: score those rows again or drop them before bucketing."
        )
    return np.asarray(RISK_BUCKETS, dtype=object)[np.searchsorted(np.asarray(cutoffs), probability, side="right")]


def bucket_table(scored: pd.DataFrame, *, cutoffs: Sequence[float], day: pd.Timestamp) -> pd.DataFrame:
    """Each risk bucket's lowest risk (``risk from``) and how many features ``scored`` puts in it on
    ``day`` (every bucket, low to high, even one without a feature).

    ``scored`` as :func:`score_rows` gives it; ``cutoffs`` as :func:`bucket_cutoffs`.
    """
    counts = scored.loc[scored["date"] == day, "risk_bucket"].value_counts().reindex(RISK_BUCKETS, fill_value=0)
    return pd.DataFrame({"risk from": (0.0, *cutoffs), f"features on {day.date()}": counts.to_numpy()},
                        index=pd.Index(RISK_BUCKETS, name="risk_bucket"))


def score_rows(model: RiskModel, frame: pd.DataFrame, *, cutoffs: Sequence[float]) -> pd.DataFrame:
    """Risk probability and bucket for each row of a signal frame.

    ``cutoffs`` are the low/medium and medium/high bucket boundaries (:func:`bucket_cutoffs`).

    Returns
    -------
    pandas.DataFrame
        ``feature_id``, ``date``, ``risk_probability``, ``risk_bucket``, in ``frame``'s order.
    """
    probability = model.predict_proba(frame) if len(frame) else np.zeros(0)
    return pd.DataFrame(
        {
            "feature_id": frame["feature_id"].to_numpy(),
            "date": frame["date"].to_numpy(),
            "risk_probability": probability,
            "risk_bucket": pd.array(risk_bucket(probability, cutoffs=cutoffs), dtype=str),
        }
    )


def with_risk(fact: pd.DataFrame, scores: pd.DataFrame | None) -> pd.DataFrame:
    """A copy of ``fact`` whose risk columns hold ``scores`` (missing on rows not scored; on all rows
    when ``scores`` is None: no model is in use).

    Any earlier risk columns are replaced, so every score in the table comes from one model.
    """
    columns = [*sig.KEYS, "risk_probability", "risk_bucket"]
    keyed = (pd.DataFrame(columns=columns) if scores is None else scores[columns]).rename(
        columns={"feature_id": "_feature", "date": "_day"}
    )
    base = fact.drop(columns=["risk_probability", "risk_bucket"], errors="ignore")
    out = base.assign(_day=sig.normalise_dates(base["date"]), _feature=base["feature_id"].astype(str))
    out = out.merge(keyed, on=["_day", "_feature"], how="left", validate="one_to_one")
    return out.astype({"risk_probability": "float64", "risk_bucket": str}).drop(columns=["_day", "_feature"])


def top_drivers(
    contributions: np.ndarray, values: np.ndarray, names: Sequence[str], *, top: int
) -> dict[str, np.ndarray]:
    """Per row, the ``top`` signals with the largest positive contributions, as ranking columns.

    A signal whose contribution is zero or negative did not raise the score, so it is no driver:
    its place is left empty (None, NaN), e.g. on a feature-day scored below the forest's start.

    Returns
    -------
    dict
        ``driver_<i>``, ``driver_<i>_value`` and ``driver_<i>_contribution`` for i = 1..``top``.
    """
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    rows = np.arange(len(contributions))[:, None]
    raising = contributions[rows, order] > 0
    signal_names = np.asarray(names, dtype=object)[order]
    columns: dict[str, np.ndarray] = {}
    for i in range(top):
        kept = raising[:, i]
        columns[f"driver_{i + 1}"] = np.where(kept, signal_names[:, i], None)
        columns[f"driver_{i + 1}_value"] = np.where(kept, values[rows[:, 0], order[:, i]], np.nan)
        columns[f"driver_{i + 1}_contribution"] = np.where(kept, contributions[rows[:, 0], order[:, i]], np.nan)
    return columns


def risk_ranking(
    model: RiskModel,
    latest: pd.DataFrame,
    fact: pd.DataFrame,
    metadata: pd.DataFrame | None = None,
    *,
    cutoffs: Sequence[float],
    top_signals: int = 3,
) -> pd.DataFrame:
    """Features ranked by impact (risk x active users) with the signals that drove each score.

    Drivers are the signals with the largest positive per-prediction tree contributions
    (:func:`tree_contributions`, :func:`top_drivers`; fewer when fewer are positive): what raised
    the forest's raw score of this feature-day from the forest's starting value (its training rows' class-balanced share, 0.5 with
    ``class_weight: balanced_subsample``). Contributions are in those raw units, before the
    calibration that gives ``risk_probability``; they rank signals, they do not add up to the
    risk shown.

    Parameters
    ----------
    model : RiskModel
        The model in use.
    latest : pandas.DataFrame
        Signal rows to rank (normally every feature on the latest date).
    fact : pandas.DataFrame
        ``fact_feature_metrics`` (for ``active_users``).
    metadata : pandas.DataFrame, optional
        ``dim_feature_metadata`` (name, owner, tier, lifecycle stage are added when given).
    cutoffs : sequence of float
        Risk bucket cut-offs.
    top_signals : int
        Drivers listed per feature, 1 to the number of the model's signals.

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``feature_id``, ``date``, ``risk_probability``, ``risk_bucket``,
        ``active_users``, ``impact``, the metadata columns when given (``feature_name``,
        ``owner_team``, ``tier``, ``lifecycle_stage``, those ``metadata`` has), then
        ``driver_<i>``, ``driver_<i>_value``, ``driver_<i>_contribution`` for
        i = 1..top_signals, ``strongest_pattern`` (the evidence signal of the day's ``worst_shift_z``,
        :func:`featurehealth.signals.strongest_pattern`); no rows when ``latest`` has none.

    Raises
    ------
    ValueError
        If ``top_signals`` is outside 1..number of the model's signals.
    """
    if not 1 <= top_signals <= len(model.signals):
        raise ValueError(
            f"top_signals must be between 1 and {len(model.signals)} (the model's signals), got {top_signals!r}."
        )
    keyed = fact.assign(date=sig.normalise_dates(fact["date"]), feature_id=fact["feature_id"].astype(str))
    scores = score_rows(model, latest, cutoffs=cutoffs)
    table = scores.merge(
        keyed[[*sig.KEYS, "active_users"]], on=list(sig.KEYS), how="left", validate="one_to_one"
    )
    table["active_users"] = table["active_users"].fillna(0).astype("int64")
    table["impact"] = table["risk_probability"] * table["active_users"]
    if metadata is not None:
        columns = [c for c in ("feature_name", "owner_team", "tier", "lifecycle_stage") if c in metadata.columns]
        meta = metadata.assign(feature_id=metadata["feature_id"].astype(str))[["feature_id", *columns]]
        table = table.merge(meta.drop_duplicates("feature_id"), on="feature_id", how="left")
    if len(latest):
        _, contributions = tree_contributions(model.forest, signal_matrix(latest, model.signals))
    else:
        # scikit-learn refuses to predict zero rows; nothing to rank gives an empty table.
        contributions = np.zeros((0, len(model.signals)))
    values = latest[list(model.signals)].to_numpy(dtype="float64")
    for column, filled in top_drivers(contributions, values, model.signals, top=top_signals).items():
        table[column] = filled
    # Which pattern a driver worst_shift_z stands for, from the day's own evidence.
    table["strongest_pattern"] = sig.strongest_pattern(latest).to_numpy()
    table = table.sort_values(
        ["impact", "risk_probability", "feature_id"], ascending=[False, False, True], kind="stable"
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


@dataclass
class TrainingReport:
    """Everything a training run produces before anything is written."""

    result: TrainingResult
    predictions: pd.DataFrame
    metrics: dict[str, Any]
    importance: pd.DataFrame
    incident_warnings: pd.DataFrame | None


def train_and_evaluate(
    dataset: pd.DataFrame, incidents: pd.DataFrame | None, *, params: Mapping[str, Any]
) -> TrainingReport:
    """Train on earlier days and judge on later ones: metrics, baselines, importance, early warning.

    Parameters
    ----------
    dataset : pandas.DataFrame
        :func:`labelled_dataset` output.
    incidents : pandas.DataFrame or None
        Ground-truth incidents; None reports the early-warning figures as not available.
    params : mapping
        The ``model`` group.

    Returns
    -------
    TrainingReport
        ``metrics`` holds the operating threshold and the rule that chose it
        (``operating_threshold_rule``, one of :data:`THRESHOLD_RULES`' texts), the split, row
        counts, the calibration choice, the model's and the baselines' metrics on the labelled
        test rows with the intervals of the model's gain over each baseline (``comparison``,
        :func:`baseline_intervals`) and the early-warning summary.
    """
    result = train_model(dataset, params=params)
    predictions = holdout_predictions(result, dataset, rule_z=params["baseline_rule_z"])
    threshold = result.operating_threshold
    early, warnings = earlywarning.evaluate_early_warning(
        predictions, incidents, threshold=threshold, horizon_days=params["horizon_days"]
    )
    test_rows = dataset[in_window(dataset["date"], result.split.test_start, result.split.test_end)]
    if early["available"]:
        # Every scored day, as for the warnings (test_rows stop at the last labelled day).
        early["precursor_visibility"] = earlywarning.precursor_visibility(
            dataset[dataset["date"] >= result.split.test_start], incidents, horizon_days=params["horizon_days"]
        )
    importance = feature_importance(
        result, test_rows, random_state=params["random_state"],
        n_repeats=params["permutation_repeats"], max_rows=params["permutation_max_rows"],
    )
    metrics = {
        "horizon_days": params["horizon_days"],
        "operating_threshold": threshold,
        "operating_threshold_rule": result.threshold_rule,
        "split": {
            **result.split.as_dict(),
            "gap_days": params["horizon_days"],
            "n_train_rows": result.n_train_rows,
            "n_calibration_rows": result.n_calibration_rows,
            "n_test_rows": len(test_rows),
        },
        "calibration": {"method": result.model.calibration, "brier_on_later_days": result.calibration_brier},
        **evaluate(predictions, threshold=threshold, rule_z=params["baseline_rule_z"], horizon_days=params["horizon_days"],
                   min_positives=params["promote_min_positives"], seed=params["random_state"]),
        "early_warning": early,
    }
    return TrainingReport(result, predictions, metrics, importance, warnings)
