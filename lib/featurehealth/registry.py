"""Model registry: every trained model under ``models/<version>/`` with its card, and the one in use.

Layout under ``RunPaths.models``::

    <version>/risk_model.joblib   the pickled model
    <version>/card.json           its model card (file sha256 included)
    <version>/promotion.json      whether it replaced the model in use when it was trained, and why
    <version>/reports/            metrics.json, feature_importance.csv, test_predictions.parquet,
                                  early_warning_incidents.csv (when ground truth exists) and the
                                  held-out figures (PNG: curves, calibration, lead times)
    risk_model.joblib             copy of the promoted version's model ...
    risk_model.card.json          ... and of its card
    registry.json                 versions on disk (with their promotion decisions when trained and
                                  their latest rollback by hand) and the one in use

After each registration the oldest versions beyond ``model.keep_versions`` are removed
(:func:`prune_versions`; 0 keeps all), never the one in use nor the newest one. In a run this
happens in the run's staging copy, which is published whole, so the published ``models/`` only
changes when the run succeeds.

A version id is the last training day plus a hash of the training data and the parameters that
shape the fit, so the same inputs give the same id. A new version replaces the model in use only
when its PR-AUC on the held-out days neither model trained on is not below the current one's
(minus ``promote_tolerance``), or when the current one fails to score them or they hold fewer
positives than ``promote_min_positives`` (:func:`compare_on_holdout`, whose bootstrap interval of the
difference the reason quotes). With ``model.retrain: auto`` a model is trained when none is in
use, when the drift step recommends it, or when the run's training settings (the ``model`` group
but its run-only keys, the ``degradation`` rules, which define the target, the signals the
code builds and how it computes them, the card's ``signal_definitions``) differ from the model in
use and no version on disk with them was refused by the holdout comparison, or the model in use
was put there by hand (``model.use_version``, :func:`put_in_use`). A card without
``signal_definitions`` (written by an older featurehealth) is not retrained for that alone.
Loading checks the file's sha256 against its card first, because
unpickling a file is running code; the bytes checked are the bytes unpickled (the file is read once).
"""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from featurehealth import bootstrap, config, display, drift, runlog
from featurehealth import model as mdl
from featurehealth import signals as sig
from featurehealth.dashboard import plots
from featurehealth.dashboard.data import lookup

if TYPE_CHECKING:
    from featurehealth.config import RunPaths

MODEL_FILE = "risk_model.joblib"
CARD_FILE = "card.json"
CURRENT_CARD = "risk_model.card.json"
INDEX_FILE = "registry.json"
REPORTS_DIR = "reports"
#: Reports of a version, copied into ``RunPaths.reports`` while it is the model in use.
REPORT_FILES = (
    "metrics.json", "feature_importance.csv", "test_predictions.parquet", "early_warning_incidents.csv",
    *plots.MODEL_FIGURES,
)
#: The latest day's features ranked by impact, written by the model step only while a model is in use.
RANKING_FILE = "risk_ranking.csv"
RETRAIN_MODES = config.RETRAIN_MODES
#: ``model`` keys that do not change the fitted model, kept out of the version id (the risk
#: buckets are cut when scoring).
RUN_ONLY_KEYS = ("retrain", "n_jobs", "promote_tolerance", "promote_min_positives", "risk_buckets", "keep_versions",
                 "use_version")
#: The promotion decision of the run that trained, under ``reports/``.
PROMOTION_FILE = "promotion.json"
#: Added or removed signals a retraining reason names before "and N more".
SIGNAL_CHANGES_SHOWN = 3
#: What a card's ``file_sha256`` must be (hashlib's hexdigest).
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
#: What the registry and the model step read off a card besides its sha256, and what each must be.
_CARD_FIELDS = {"version": "text", "training_window.end": "a date", "test_window.start": "a date",
                "test_window.end": "a date", "horizon_days": "a whole number"}
#: What every reason scoring with a model whose card records no ``signal_definitions`` says of them.
_UNCHECKED_DEFINITIONS = ("its card does not record the signal definitions it was trained with (an older featurehealth "
                         "wrote it), so whether this run computes its signals as its training did could not be checked")


class ModelIntegrityError(RuntimeError):
    """A model file does not match its card (or has none), and is never unpickled, or matches it but cannot be loaded."""


def model_version(result: mdl.TrainingResult, *, params: Mapping[str, Any]) -> str:
    """Deterministic id: last training day and a hash of training data, signals and fit parameters."""
    shaping = {k: v for k, v in params.items() if k not in RUN_ONLY_KEYS}
    digest = config.params_hash(
        {"data": result.training_data_hash, "params": shaping, "signals": list(result.model.signals)}
    )
    return f"{result.split.train_end:%Y%m%d}-{digest[:12]}"


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a pickled model depends on."""
    import joblib
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def training_settings(
    model_params: Mapping[str, Any], degradation: Mapping[str, Any], *, signals: Sequence[str]
) -> dict[str, Any]:
    """What a trained model depends on besides its data: the ``model`` parameters that shape the
    fit and its evaluation (not :data:`RUN_ONLY_KEYS`), the ``degradation`` rules (the target),
    the signals built from the data (a signal added to :mod:`featurehealth.signals`, or one the
    input starts feeding, is used once a model is trained with it) and how this code computes them
    (:func:`featurehealth.signals.definitions_fingerprint`)."""
    return _settings(model_params, degradation, signals=signals, definitions=sig.definitions_fingerprint())


def _settings(
    model_params: Mapping[str, Any], degradation: Mapping[str, Any], *, signals: Sequence[str], definitions: Any
) -> dict[str, Any]:
    """:func:`training_settings` with the signal definitions given."""
    return {
        "model": {k: v for k, v in sorted(model_params.items()) if k not in RUN_ONLY_KEYS},
        "degradation": dict(sorted(degradation.items())),
        "signals": sorted(signals),
        "signal_definitions": definitions,
    }


def _card_settings(card: Mapping[str, Any]) -> dict[str, Any]:
    # A card written before cards kept the degradation rules or the signal definitions has none to compare.
    return _settings(card.get("params", {}), card.get("degradation", {}), signals=card.get("signals", []),
                     definitions=card.get("signal_definitions"))


def _settings_changes(card: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    """``group.key old -> new`` for each training setting of ``settings`` the card's model lacks."""
    before = _card_settings(card)
    changes = []
    for group in ("model", "degradation"):
        if group == "degradation" and not before[group]:
            continue
        changes += [
            f"{group}.{key} {before[group].get(key)!r} -> {value!r}"
            for key, value in settings[group].items() if before[group].get(key) != value
        ]
    added = sorted(set(settings["signals"]) - set(before["signals"]))
    removed = sorted(set(before["signals"]) - set(settings["signals"]))
    changes += [f"signals {sign}{display.listed(names[:SIGNAL_CHANGES_SHOWN], total=len(names))}"
                for sign, names in (("+", added), ("-", removed)) if names]
    return changes


def _definitions_changed(card: Mapping[str, Any], settings: Mapping[str, Any]) -> bool | None:
    """Whether ``settings`` compute the signals otherwise than when ``card``'s model was trained (None:
    the card records no signal definitions, as those written before cards kept them)."""
    recorded = card.get("signal_definitions")
    return recorded != settings["signal_definitions"] if isinstance(recorded, str) else None


def _same_settings(card: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
    """Whether ``card``'s model was trained with ``settings`` (as far as the card tells)."""
    return not _settings_changes(card, settings) and not _definitions_changed(card, settings)


def _trained_otherwise(version: str, changes: Sequence[str], *, redefined: bool | None) -> str:
    """What model ``version`` was trained with that this run differs from (``changes``: :func:`_settings_changes`)."""
    parts = [f"the signal definitions changed since model {version} was trained (featurehealth upgraded or "
             f"signals.py edited)"] if redefined else []
    if changes:
        parts.append(f"the training settings differ from model {version}'s: {', '.join(changes)}")
    return "; ".join(parts)


def build_card(
    report: mdl.TrainingReport, *, params: Mapping[str, Any], degradation: Mapping[str, Any], version: str
) -> dict[str, Any]:
    """Model card of a training run, without the file hash (added when the file is written)."""
    result, metrics = report.result, report.metrics
    split = result.split.as_dict()
    return {
        "version": version,
        "model_file": MODEL_FILE,
        "training_window": {"start": split["train_start"], "end": split["train_end"]},
        "test_window": {"start": split["test_start"], "end": split["test_end"]},
        "horizon_days": params["horizon_days"],
        "params": dict(params),
        "degradation": dict(degradation),
        "signals": list(result.model.signals),
        # Computed by the code that built the training signals, in this process.
        "signal_definitions": sig.definitions_fingerprint(),
        "calibration": metrics["calibration"],
        "n_train_rows": result.n_train_rows,
        "n_calibration_rows": result.n_calibration_rows,
        "training_data_hash": result.training_data_hash,
        "library_versions": library_versions(),
        "metrics": {
            "model": metrics["model"],
            "baselines": {
                name: {k: v for k, v in m.items() if k != "description"} for name, m in metrics["baselines"].items()
            },
            "early_warning": {
                k: v for k, v in metrics["early_warning"].items() if k not in ("by_kind", "lead_times_days")
            },
        },
    }


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV (floats rounded to 6 decimals, ``\\n`` line ends), atomically.

    Text holding a bare carriage return (ids and names come from other teams' files) is quoted
    like any other: with ``\\n`` line ends the CSV writer would leave it bare and a reader would
    split its row there. Then every text field is quoted; other files keep minimal quoting. Text a
    spreadsheet would run as a formula is written after a ``'`` (:func:`display.spreadsheet_text`;
    :func:`display.csv_text` takes it off); numbers, negative ones too, are written as numbers.
    """
    import csv

    floats = frame.select_dtypes("float").columns
    text_columns = frame.select_dtypes(exclude=["number", "bool"]).columns
    frame = frame.assign(**{str(c): frame[c].map(display.spreadsheet_text) for c in text_columns})
    # Per value, not Series.map(...).any(): an empty date column maps to an empty date column,
    # whose any() raises (an early-warning table with no incident to judge is empty).
    bare_cr = any(isinstance(v, str) and "\r" in v for c in text_columns for v in frame[c])
    text = frame.round({c: 6 for c in floats}).to_csv(
        index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC if bare_cr else csv.QUOTE_MINIMAL
    )
    return runlog.atomic_write_bytes(path, text.encode("utf-8"))


def save_version(
    paths: "RunPaths", report: mdl.TrainingReport, *, params: Mapping[str, Any], degradation: Mapping[str, Any]
) -> dict[str, Any]:
    """Write a trained model, its reports and its card under ``models/<version>/``.

    Returns
    -------
    dict
        The card, including ``file_sha256`` of the model file.
    """
    import hashlib
    import io

    import joblib

    version = model_version(report.result, params=params)
    folder = paths.models / version
    # The card vouches for the bytes pickled here, not for whatever the file holds when re-read,
    # and they go through a fresh temporary name, so a link planted beside them is not written through.
    buffer = io.BytesIO()
    joblib.dump(report.result.model, buffer)
    pickled = buffer.getvalue()
    runlog.atomic_write_bytes(folder / MODEL_FILE, pickled)
    card = build_card(report, params=params, degradation=degradation, version=version)
    card["file_sha256"] = hashlib.sha256(pickled).hexdigest()
    reports = folder / REPORTS_DIR
    runlog.write_json(reports / "metrics.json", {**report.metrics, "model_version": version})
    write_csv(report.importance, reports / "feature_importance.csv")
    runlog.write_parquet(report.predictions, reports / "test_predictions.parquet")
    (reports / "early_warning_incidents.csv").unlink(missing_ok=True)
    if report.incident_warnings is not None:
        write_csv(report.incident_warnings, reports / "early_warning_incidents.csv")
    write_figures(reports, report.predictions, report.metrics["early_warning"])
    runlog.write_json(folder / CARD_FILE, card)
    return card


def write_figures(reports: Path, predictions: pd.DataFrame, early_warning: Mapping[str, Any]) -> list[Path]:
    """Draw a version's held-out figures into its ``reports`` folder (PNG; stale ones removed).

    Drawn once, when the version is saved, so a run that only scores shows them without
    importing matplotlib.
    """
    figures = plots.model_report_figures(predictions, early_warning)
    for name in plots.MODEL_FIGURES:
        (reports / name).unlink(missing_ok=True)
    return [runlog.atomic_write_bytes(reports / name, plots.figure_png(fig)) for name, fig in figures.items()]


def load_model(
    model_path: str | Path, card_path: str | Path, *, way_out: str | None = None,
) -> tuple[mdl.RiskModel, dict[str, Any]]:
    """Unpickle a model only after its sha256 matches the one in its card.

    The file is read once: the bytes hashed are the bytes unpickled, so a file replaced between
    the check and the load (or a symbolic link pointed elsewhere meanwhile) is never unpickled.
    A refusal ends with what to do: restoring or retraining, or ``way_out`` when given (retraining
    does not give back a version named by hand).

    Returns
    -------
    tuple
        The :class:`~featurehealth.model.RiskModel` and its card (dict).

    Raises
    ------
    ModelIntegrityError
        If the card is missing or unreadable or has no sha256 (``file_sha256``, 64 hex digits),
        the file's sha256 differs from the card's, or the vouched bytes do not unpickle into a
        RiskModel (saved under other library versions, which the message names).
    FileNotFoundError
        If the model file does not exist.
    """
    import hashlib
    import io
    import warnings

    import joblib
    from sklearn.exceptions import InconsistentVersionWarning

    model_path, card_path = Path(model_path), Path(card_path)
    shown, shown_card = config.published_path(model_path), config.published_path(card_path)
    if not model_path.is_file():
        raise FileNotFoundError(
            f"Model file {shown} does not exist; {way_out or 'train one with model.retrain=always'}."
        )
    try:
        card = runlog.read_json(card_path)
    except (OSError, ValueError) as exc:
        problem = runlog.json_problem(exc)
    else:
        problem = _sha256_problem(card)
    if problem:
        raise ModelIntegrityError(
            f"Refusing to load {shown}, since loading a pickle runs code and only files a card vouches for are "
            f"loaded: its card {shown_card} {problem}; "
            f"{way_out or 'restore both files or retrain with model.retrain=always, which replaces them'}."
        )
    expected = card["file_sha256"]
    data = model_path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise ModelIntegrityError(
            f"Refusing to load {shown}, since loading a pickle runs code: its sha256 {actual[:16]}... does not match "
            f"{expected[:16]}... in {card_path.name}, so the file was changed or replaced after training; "
            f"{way_out or 'restore the file or retrain with model.retrain=always, which replaces it'}."
        )
    try:
        with warnings.catch_warnings():
            # scikit-learn warns once per estimator class of a pickle saved under another version: three
            # raw warnings in 03_model's output after each upgrade of the lock. The card records the
            # versions, and library_note says it in one sentence with the way out.
            warnings.simplefilter("ignore", InconsistentVersionWarning)
            loaded = joblib.load(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - whatever unpickling raises, retraining is the way out
        raise ModelIntegrityError(
            f"Refusing to use {shown}: it matches its card but cannot be loaded ({type(exc).__name__}: {exc}); "
            f"{_versions_saved_with(card)}{way_out or 'retrain with model.retrain=always, which replaces it'}."
        ) from None
    if not isinstance(loaded, mdl.RiskModel):
        raise ModelIntegrityError(
            f"{shown} does not hold a featurehealth RiskModel; "
            f"{way_out or 'retrain with model.retrain=always, which replaces it'}."
        )
    return loaded, card


def _sha256_problem(card: Any) -> str:
    """What keeps ``card`` from vouching for its model file ("has no file_sha256", ...), or ""."""
    if not isinstance(card, dict):
        return "is not a JSON object"
    if "file_sha256" not in card:
        return "has no file_sha256"
    expected = card["file_sha256"]
    if not (isinstance(expected, str) and _SHA256.fullmatch(expected)):
        return f"has file_sha256 {expected!r}, not a sha256 (64 hex digits)"
    return ""


def _changed_versions(card: Mapping[str, Any]) -> list[str] | None:
    """``<library> <old> (now <new>)`` for each library whose version on ``card`` differs from this
    environment's (None: the card records no versions)."""
    saved = card.get("library_versions")
    if not isinstance(saved, Mapping):
        return None
    now = library_versions()
    return [f"{name} {saved[name]} (now {now[name]})" for name in now if name in saved and saved[name] != now[name]]


def _versions_saved_with(card: Mapping[str, Any]) -> str:
    """``it was saved with <library> <old> (now <new>), ...; `` for each library whose version differs, or ``""``."""
    changed = _changed_versions(card)
    return f"it was saved with {', '.join(changed)}; " if changed else ""


def library_note(card: Mapping[str, Any]) -> str:
    """One sentence when the model on ``card`` was saved under other library versions, else ``""``.

    Such a pickle loads, but neither scikit-learn nor the other libraries promise it scores as it did.
    """
    changed = _changed_versions(card)
    if not changed:
        return ""
    return (f"Model {card['version']} was saved with {', '.join(changed)}; a pickle is not promised to score alike "
            f"under other library versions: retrain with --set model.retrain=always to rebuild it here.")


def library_check(card: Mapping[str, Any], *, newest: Mapping[str, Any]) -> dict[str, Any]:
    """What the drift step's ``library_versions`` check (:func:`featurehealth.drift.retrain_recommendation`)
    needs: ``library_changes``, the model in use's (``card``, empty without one) libraries whose versions
    differ from this environment's (None: no model in use, or its card records none), and
    ``saved_here_not_in_use``, the version of ``newest`` (the newest version's card) when it is not the one
    in use and was saved under this environment's versions (else None).

    Such a version was compared with the model in use on the holdout under these libraries, which kept
    the model in use: retraining again would only be refused again.
    """
    changes = _changed_versions(card) if card else None
    newer = newest.get("version")
    here = newer if newer != card.get("version") and _changed_versions(newest) == [] else None
    return {"library_changes": changes, "saved_here_not_in_use": here}


def _versions_against_card(card: Mapping[str, Any]) -> str:
    """The library versions on ``card`` against this environment's, in words, whether or not they differ."""
    changed = _changed_versions(card)
    here = ", ".join(f"{name} {version}" for name, version in library_versions().items())
    if changed is None:
        return f"its card records no library versions (here: {here})"
    if changed:
        return f"it was saved with {', '.join(changed)}"
    return f"its card's library versions are this environment's ({here})"


def has_current(paths: "RunPaths") -> bool:
    """Whether a promoted model (file and card) exists."""
    return (paths.models / MODEL_FILE).is_file() and (paths.models / CURRENT_CARD).is_file()


def _card_problem(card: Any) -> str:
    """What keeps the registry from going by ``card`` ("is not a JSON object", "has no valid <field> (<kind>), ..."),
    or "" when nothing does (:data:`_CARD_FIELDS`)."""
    if not isinstance(card, dict):
        return "is not a JSON object"
    invalid = [f"{field} ({kind})" for field, kind in _CARD_FIELDS.items() if not _is_kind(lookup(card, field), kind)]
    return f"has no valid {', '.join(invalid)}" if invalid else ""


def _is_kind(value: Any, kind: str) -> bool:
    """Whether ``value`` is ``kind``: "text", "a date" (ISO) or "a whole number" (>= 1)."""
    if kind == "a whole number":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if not (isinstance(value, str) and value):
        return False
    try:
        return kind != "a date" or bool(date.fromisoformat(value))
    except ValueError:
        return False


def _checked_current_card(card: Any, card_path: Path) -> dict[str, Any]:
    """``card``, the model in use's, or ModelIntegrityError naming it when the registry cannot go by it."""
    problem = _card_problem(card)
    if problem:
        raise ModelIntegrityError(
            f"The card {config.published_path(card_path)} of the model in use {problem}; restore it or "
            f"retrain with model.retrain=always, which replaces it."
        )
    return card


def _current_card(paths: "RunPaths") -> dict[str, Any]:
    """The card of the model in use, or ModelIntegrityError naming it when it is not valid JSON or
    lacks what is read off it (:func:`_card_problem`)."""
    card_path = paths.models / CURRENT_CARD
    try:
        card = runlog.read_json(card_path)
    except ValueError as exc:
        raise ModelIntegrityError(
            f"The card {config.published_path(card_path)} of the model in use {runlog.json_problem(exc)}; restore "
            f"it or retrain with model.retrain=always, which replaces it."
        ) from None
    return _checked_current_card(card, card_path)


def load_current(paths: "RunPaths") -> tuple[mdl.RiskModel, dict[str, Any]]:
    """The model in use and its card, sha256-checked (see :func:`load_model`).

    Raises
    ------
    ModelIntegrityError
        As :func:`load_model`, or when the card lacks what the registry and the model step read off it.
    """
    loaded, card = load_model(paths.models / MODEL_FILE, paths.models / CURRENT_CARD)
    return loaded, _checked_current_card(card, paths.models / CURRENT_CARD)


def decide_training(
    paths: "RunPaths", *, retrain: str, settings: Mapping[str, Any], use_version: str | None = None
) -> dict[str, Any]:
    """Whether this run trains a model, from ``model.retrain``, the drift step's advice and the settings.

    With ``use_version`` (``model.use_version``) nothing is trained: :func:`put_in_use` puts it in use.

    ``auto`` trains when no model is in use, when ``reports/retrain.json`` recommends it (advice
    naming another ``model_version`` than the one in use is stale and ignored), or when
    ``settings`` differ from the model in use's and no version under ``models/`` with them was
    refused by the holdout comparison (such a candidate is not trained again on every run; a
    version with them that was promoted and later replaced, as when settings are changed back,
    is no reason not to train, and neither is a refused one when the model in use needs a signal
    that ``settings`` lack, as it could not score; while the model in use was put there by hand,
    every version on disk with ``settings`` counts as set aside, like a refused one); ``always`` trains;
    ``never`` only scores, its reason naming the ``settings`` the model in use was not trained with. A
    card that records no signal definitions cannot tell whether they changed: the reason says so. It
    starts the model step, so a ``reports/promotion.json`` left by an earlier run is removed: only a
    run that trains, or puts a version in use by hand, writes one.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    retrain : str
        ``model.retrain``: auto, always or never.
    settings : mapping
        The profile's :func:`training_settings`.
    use_version : str, optional
        ``model.use_version``: a version to put in use by hand instead.

    Returns
    -------
    dict
        ``train`` (bool) and ``reason`` (one sentence); when the model in use is kept (not with
        ``use_version``), ``kept``: the reason in a few words, for the runner's summary.

    Raises
    ------
    ValueError
        If ``retrain`` is not one of auto, always, never.
    FileNotFoundError
        If ``retrain`` is never and no model is in use, or its model file is missing.
    ModelIntegrityError
        If ``retrain`` is never and the model in use has a file but no card, if its card is damaged
        (:func:`_card_problem`), or if a ``promotion.json`` the decision reads is (:func:`_promotion_record`).
    """
    if retrain not in RETRAIN_MODES:
        raise ValueError(f"model.retrain must be one of {', '.join(RETRAIN_MODES)}; got {retrain!r}.")
    (paths.reports / PROMOTION_FILE).unlink(missing_ok=True)
    if use_version:
        return {"train": False, "reason": f"model.use_version is {use_version}: nothing is trained, that version is "
                                          f"put in use by hand (model.retrain is not read)."}
    if retrain == "always":
        return {"train": True, "reason": "model.retrain is 'always'."}
    if not has_current(paths):
        return _decision_without_current(paths, retrain=retrain)
    card = _current_card(paths)
    version = card.get("version")
    advice = _retrain_advice(paths, version=version)
    if retrain == "auto" and advice is not None:
        reasons = "; ".join(advice.get("reasons", [])) or "see reports/retrain.json"
        return {"train": True, "reason": f"the drift step recommends retraining ({reasons})."}
    changes = _settings_changes(card, settings)
    redefined = _definitions_changed(card, settings)
    scoring = f"scoring with model {version} in use (model.retrain is {retrain!r})"
    # A card an older featurehealth wrote cannot tell whether its signals are computed as in its
    # training: every reason keeping its model says so, not only one with nothing else to say.
    unchecked, unchecked_kept = ((f"; {_UNCHECKED_DEFINITIONS}", "; its signal definitions could not be checked")
                                 if redefined is None else ("", ""))
    if not (changes or redefined):
        return _kept_same_settings(retrain=retrain, scoring=scoring, unchecked=unchecked,
                                   unchecked_kept=unchecked_kept)
    tried, by_hand = _set_aside_versions(paths, card, version=version, settings=settings)
    if retrain == "auto":
        if not tried:
            return {"train": True, "reason": f"{_trained_otherwise(version, changes, redefined=redefined)}."}
        # Only a version refused by the holdout comparison has a promotion record to look for.
        recorded = not by_hand and _promotion_record(paths, tried[-1]) is not None
        return _kept_for_set_aside(version, tried[-1], by_hand=by_hand, recorded=recorded, scoring=scoring,
                                   unchecked=unchecked, unchecked_kept=unchecked_kept)
    return _kept_despite_changes(version, changes, redefined=bool(redefined), retrain=retrain, tried=tried,
                                 by_hand=by_hand, scoring=scoring, unchecked=unchecked, unchecked_kept=unchecked_kept)


def _decision_without_current(paths: "RunPaths", *, retrain: str) -> dict[str, Any]:
    """Train when no model is in use, or under ``never`` raise the error saying what is missing."""
    if retrain == "never":
        if (paths.models / MODEL_FILE).exists() or (paths.models / CURRENT_CARD).exists():
            # Half of the model in use is there: say which half is missing, not "no model".
            load_current(paths)
        raise FileNotFoundError(
            f"model.retrain is 'never' but no model is in use under {paths.models}; "
            f"run once with model.retrain=auto or always to train one."
        )
    return {"train": True, "reason": "no model is in use yet."}


def _retrain_advice(paths: "RunPaths", *, version: str | None) -> dict[str, Any] | None:
    """``reports/retrain.json`` when it recommends retraining model ``version``, else None."""
    advice_path = paths.reports / "retrain.json"
    advice = runlog.read_json(advice_path) if advice_path.is_file() else {}
    current = advice.get("model_version") in (None, version)
    return advice if advice.get("retrain_recommended") and current else None


def _set_aside_versions(
    paths: "RunPaths", card: Mapping[str, Any], *, version: str, settings: Mapping[str, Any]
) -> tuple[list[str], bool]:
    """Versions with ``settings`` refused or set aside by hand, and whether the model in use was put there by hand."""
    # A model in use that needs a signal the data no longer gives cannot score: keeping it for
    # a refused candidate would stop the run in scoring.
    lacking = set(_card_settings(card)["signals"]) - set(settings["signals"])
    by_hand = _put_in_use_by_hand(paths, version)
    tried = [] if lacking else [c["version"] for c in version_cards(paths)
                                if _same_settings(c, settings) and (by_hand or _refused(paths, c["version"]))]
    return tried, by_hand


def _kept_for_set_aside(
    version: str, tried: str, *, by_hand: bool, recorded: bool, scoring: str, unchecked: str, unchecked_kept: str
) -> dict[str, Any]:
    """Under ``auto``, keep model ``version`` because version ``tried`` with this run's settings was set aside."""
    if by_hand:
        return {"train": False, "kept": f"put in use by hand with model.use_version{unchecked_kept}",
                "reason": f"{scoring}{unchecked}; version {tried} has these settings but model {version} was "
                          f"put in use by hand with model.use_version (see models/registry.json); "
                          f"model.retrain=always trains them again and lets the holdout comparison decide, "
                          f"model.use_version={tried} puts that version back."}
    if not recorded:
        # Saying the comparison kept the model in use would claim a comparison nobody recorded.
        return {"train": False,
                "kept": f"version {tried} with these settings counts as refused{unchecked_kept}",
                "reason": f"{scoring}{unchecked}; version {tried} was trained with these settings before "
                          f"versions kept their promotion decision (it has no promotion.json), so it counts as "
                          f"refused by the holdout comparison; model.retrain=always trains them again and lets the "
                          f"comparison decide and record it."}
    return {"train": False,
            "kept": f"the holdout comparison refused version {tried} with these settings{unchecked_kept}",
            "reason": f"{scoring}{unchecked}; version {tried} was already trained with these settings and the "
                      f"holdout comparison kept the model in use (see models/registry.json); model.retrain=always "
                      f"trains again, but on the same data gives the same version and comparison "
                      f"(model.promote_tolerance sets how far below the model in use its PR-AUC may be and still "
                      f"replace it)."}


def _kept_despite_changes(
    version: str, changes: Sequence[str], *, redefined: bool, retrain: str, tried: Sequence[str], by_hand: bool,
    scoring: str, unchecked: str, unchecked_kept: str,
) -> dict[str, Any]:
    """Under ``never``, keep model ``version`` and say what of this run's settings it does not reflect."""
    # Under never the model in use stays whatever changed: say what it does not reflect, or a signal
    # added to featurehealth.signals would go unused, or one computed otherwise misread, without a word.
    # Each difference in full for the reason and in a few words for the runner's summary.
    differences = [("on signals computed otherwise than in its training (the signal definitions changed since it "
                    "was trained: featurehealth upgraded or signals.py edited), which it reads as the old ones "
                    "until retrained", "the signal definitions changed since it was trained")] if redefined else []
    if changes:
        listed = ", ".join(changes)
        differences.append((f"trained with other settings than this run's ({listed}): it scores as trained, on "
                            f"its own signals only", f"trained with other settings: {listed}"))
    kept_because = "; ".join([f"model.retrain is {retrain!r}", *(s for _, s in differences)])
    # auto keeps the model in use too when a version with this run's settings was refused or set aside.
    then = ("model.retrain=auto or always trains with this run's" if not tried else
            f"model.retrain=always trains with this run's (auto keeps model {version}: version {tried[-1]}, "
            f"trained with them, was {'set aside by hand' if by_hand else 'refused by the holdout comparison'})")
    return {"train": False, "kept": f"{kept_because}{unchecked_kept}",
            "reason": f"{scoring}, {', and '.join(full for full, _ in differences)}{unchecked}; {then}."}


def _kept_same_settings(*, retrain: str, scoring: str, unchecked: str, unchecked_kept: str) -> dict[str, Any]:
    """Keep the model in use when this run's settings are the ones it was trained with."""
    kept = "same settings, retraining not advised before this run" if retrain == "auto" else f"model.retrain is {retrain!r}"
    if unchecked:
        return {"train": False, "kept": f"{kept}{unchecked_kept}",
                "reason": f"{scoring}{unchecked}: model.retrain=always retrains with this run's."}
    return {"train": False, "kept": kept, "reason": f"{scoring}."}


def _promotion_record(paths: "RunPaths", version: str) -> Mapping[str, Any] | None:
    """``models/<version>/promotion.json`` (None: there is none), or ModelIntegrityError naming it
    when it is damaged: taken for none, a version put in use by hand would count as not, and ``auto``
    would train away the rollback."""
    path = paths.models / version / PROMOTION_FILE
    try:
        record = runlog.read_json(path)
    except FileNotFoundError:
        return None
    except ValueError:
        record = None
    if not isinstance(record, Mapping):
        raise ModelIntegrityError(
            f"The promotion record {config.published_path(path)} of version {version} is damaged (not a JSON object); "
            f"restore it, or delete it to have {version} count as neither put in use by hand nor promoted by the "
            f"holdout comparison."
        )
    return record


def _put_in_use_by_hand(paths: "RunPaths", version: str) -> bool:
    """Whether ``version`` is in use through ``model.use_version`` (:func:`put_in_use`)."""
    return (_promotion_record(paths, version) or {}).get("by_hand") is True


def _refused(paths: "RunPaths", version: str) -> bool:
    """Whether ``version`` lost its holdout comparison (a version saved before decisions were kept counts as one)."""
    return (_promotion_record(paths, version) or {}).get("promoted") is not True


def version_cards(paths: "RunPaths") -> list[dict[str, Any]]:
    """Cards of the versions under ``models/`` (promoted or not), oldest first.

    A version's place is the day the data reached when it was built (its last test day plus
    ``horizon_days``: :func:`featurehealth.drift.built_on`, which the model age counts from), then its
    training window's end: the training window alone lags by the holdout and the horizon, so
    after ``model.horizon_days`` or ``model.test_share`` changes a version built later can end
    its training earlier, and the last card would not be the newest version.
    """
    return [card for _folder, card in _version_folders(paths)]


def _version_card(path: Path) -> dict[str, Any] | None:
    """The card at ``path`` (``models/<version>/card.json``), None when it names another version and
    its folder is not named as a version (a copy such as ``models/backup/``), or ModelIntegrityError
    naming it when the registry cannot go by it (:func:`_card_problem`) or it names another version."""
    try:
        card = runlog.read_json(path)
    except (OSError, ValueError) as exc:
        problem = runlog.json_problem(exc)
    else:
        problem = _card_problem(card)
        if not problem and card["version"] != path.parent.name:
            if not config.is_model_version(path.parent.name):
                # A copy kept under another name (models/backup/, "<version> copy") is no version of its own.
                return None
            problem = f"names version {card['version']}, not its folder's"
    if problem:
        raise ModelIntegrityError(
            f"The model card {config.published_path(path)} {problem}; restore it "
            f"(the model in use's is also models/{CURRENT_CARD}), or remove the folder "
            f"{config.published_path(path.parent)} if it is not the model in use (models/registry.json names that one)."
        )
    return card


def _version_folders(paths: "RunPaths") -> list[tuple[Path, dict[str, Any]]]:
    """(folder, card) of each version under ``models/``, in :func:`version_cards` order.

    Raises
    ------
    ModelIntegrityError
        If a version's card is not valid JSON, lacks what the registry reads or names another
        version than its folder's (:func:`_version_card`); a folder not named as a version whose card
        names another, a copy, is skipped.
    """
    cards = [(path.parent, _version_card(path)) for path in sorted(paths.models.glob(f"*/{CARD_FILE}"))]
    found = [(folder, card) for folder, card in cards if card is not None]
    # A card that does not say when it was built sorts first.
    return sorted(found, key=lambda item: (drift.built_on(item[1]) or date.min, item[1]["training_window"]["end"],
                                           item[1]["version"]))


def prune_versions(paths: "RunPaths", *, keep: int, protected: Sequence[str]) -> list[str]:
    """Remove the oldest version folders under ``models/`` beyond the newest ``keep`` (0 keeps all).

    Age is :func:`version_cards` order. The newest version and those named in ``protected`` (the
    one in use, the one just trained) are never removed, and count towards ``keep``. Only real
    folders directly under ``models/`` that hold their version's card are candidates: a symbolic link, a
    folder without a card (a version being written), a copy under another name (``backup/``) or
    anything else under ``models/`` is left alone.

    Returns
    -------
    list of str
        The names of the removed folders, oldest first.
    """
    import shutil

    if keep <= 0:
        return []
    folders = [folder for folder, _card in _version_folders(paths)]
    # Cards name their version, but the folder's own name is what is on disk: never follow a card out of models/.
    spared = {*protected, *(f.name for f in folders[-1:])}
    removable = [f for f in folders if f.name not in spared and not f.is_symlink()]
    excess = len(folders) - keep
    removed = removable[: max(excess, 0)]
    for folder in removed:
        # A folder that cannot be removed (permissions) is tried again by the next registration:
        # failing the run over it would throw away the model just trained.
        shutil.rmtree(folder, ignore_errors=True)
    # A folder whose card went (its version is gone for version_cards) but not the rest counts as removed.
    return [folder.name for folder in removed if not (folder / CARD_FILE).exists()]


def compare_on_holdout(
    candidate: mdl.RiskModel,
    current: tuple[mdl.RiskModel, Mapping[str, Any]] | None,
    dataset: pd.DataFrame,
    *,
    test_start: pd.Timestamp,
    test_end: pd.Timestamp,
    horizon_days: int,
    min_positives: int,
    seed: int,
) -> dict[str, Any]:
    """PR-AUC of the candidate and the current model on the same held-out rows, with the weight of evidence.

    The rows are the candidate's labelled test days that are also after the current model's
    training labels (its last training day + its horizon), so neither model has seen them. None
    left (the model in use was trained on data reaching past the candidate's, as after the input
    was cut short), rows of one class only or fewer positive rows than ``min_positives``
    (``model.promote_min_positives``: on a few positives which model ranks them higher is a
    coin toss) are not comparable, and the reason says which.

    The current model failing to score in any way is not comparable either: a ``ValueError``
    (today's signals do not fit it) or any other error, such as the ``AttributeError`` or
    ``TypeError`` of a pickle made under another scikit-learn version, whose reason names the
    exception and the library versions on its card against this environment's; the candidate
    is then promoted with that reason rather than the run failing.

    Returns
    -------
    dict
        ``comparable`` (bool), ``reason`` when not (with ``n_rows`` and ``n_positives`` when too
        few are positive), else ``candidate_pr_auc``, ``current_pr_auc``, ``n_rows``,
        ``n_positives``, ``holdout_start``/``holdout_end`` and ``pr_auc_difference_interval``
        (:func:`featurehealth.bootstrap.pr_auc_difference_interval`, seeded with ``seed``).
    """
    if current is None:
        return {"comparable": False, "reason": "no model is in use"}
    current_model, card = current
    if card.get("horizon_days") != horizon_days:
        return {"comparable": False, "reason": f"the model in use predicts a {card.get('horizon_days')}-day horizon"}
    seen_until = pd.Timestamp(card["training_window"]["end"]) + pd.Timedelta(days=horizon_days)
    start = max(test_start, seen_until + pd.Timedelta(days=1))
    rows = dataset[dataset["target"].notna().to_numpy() & mdl.in_window(dataset["date"], start, test_end)]
    y = rows["target"].to_numpy(dtype="int8")
    if not len(y):
        return {"comparable": False, "reason": _no_unseen_holdout(card["training_window"], seen_until,
                                                                  test_start=test_start, test_end=test_end)}
    if len(np.unique(y)) < 2:
        return {"comparable": False,
                "reason": f"the {len(y)} held-out feature-days unseen by both models ({start.date()} .. "
                          f"{test_end.date()}) are all {'positive' if y[0] else 'negative'}, and PR-AUC needs both classes"}
    try:
        dropped = [name for name in current_model.signals if name not in rows.columns]
        if dropped:
            # Said here rather than through signal_matrix's error, whose advice to retrain is for scoring.
            return {"comparable": False,
                    "reason": f"the model in use needs signals this run does not build ({', '.join(dropped)}: "
                              f"dropped from the code, or fed by nothing in the input, e.g. without a metadata file)"}
        current_scores = current_model.predict_proba(rows)
    except ValueError as exc:
        return {"comparable": False, "reason": f"the model in use cannot score today's signals ({exc})"}
    except Exception as exc:  # noqa: BLE001 - a model in use that cannot score is replaced, not a failed run
        return {"comparable": False, "reason": f"the model in use failed to score ({type(exc).__name__}: {exc}; "
                                               f"{_versions_against_card(card)})"}
    # After scoring: a model in use that cannot score is the stronger reason, naming what to fix.
    n_positives = int(y.sum())
    if n_positives < min_positives:
        return {"comparable": False, "n_rows": len(y), "n_positives": n_positives,
                "reason": f"only {n_positives} of the {len(y)} held-out feature-days unseen by both models "
                          f"({start.date()} .. {test_end.date()}) are positive, fewer than model.promote_min_positives "
                          f"({min_positives}) for a verdict beyond noise"}
    candidate_scores = candidate.predict_proba(rows)
    return {
        "comparable": True,
        "candidate_pr_auc": mdl.classification_metrics(y, candidate_scores, threshold=0.5)["pr_auc"],
        "current_pr_auc": mdl.classification_metrics(y, current_scores, threshold=0.5)["pr_auc"],
        "n_rows": len(rows),
        "n_positives": n_positives,
        "holdout_start": start.date().isoformat(),
        "holdout_end": test_end.date().isoformat(),
        "pr_auc_difference_interval": list(bootstrap.pr_auc_difference_interval(
            y, candidate_scores, current_scores, rows["date"].to_numpy(), block_days=horizon_days, seed=seed)),
    }


def _no_unseen_holdout(
    training_window: Mapping[str, Any], seen_until: pd.Timestamp, *, test_start: pd.Timestamp, test_end: pd.Timestamp
) -> str:
    """Why no held-out row is left to compare on, naming the model in use's training window and the candidate's test days."""
    # A card written before cards kept the training start names only its end.
    trained = (f"on {training_window['start']} .. {training_window['end']}" if "start" in training_window
               else f"up to {training_window['end']}")
    return (f"no held-out day is unseen by both models: the model in use, trained {trained}, has seen the "
            f"labels up to {seen_until.date()}, which covers the candidate's test days {test_start.date()} .. "
            f"{test_end.date()}")


def promotion_decision(comparison: Mapping[str, Any], *, tolerance: float) -> tuple[bool, str]:
    """Promote unless the candidate is worse than the current model by more than ``tolerance``; the
    reason names the held-out feature-days the PR-AUCs were measured on, how many were positive and
    the interval of the difference (:func:`compare_on_holdout`)."""
    if not comparison["comparable"]:
        return True, f"promoted: {comparison['reason']}, so there is nothing to compare against."
    new, old = comparison["candidate_pr_auc"], comparison["current_pr_auc"]
    low, high = comparison["pr_auc_difference_interval"]
    # A verdict on one day's dozen feature-days, or on an interval either side of 0, must not read
    # like one on months of them.
    rows = (f"on the {comparison['n_rows']} held-out feature-days unseen by both "
            f"({comparison['holdout_start']} .. {comparison['holdout_end']}, {comparison['n_positives']} of them "
            f"positive; new minus in use {new - old:+.4f}, 95% interval {low:+.4f} .. {high:+.4f} over resampled runs of days")
    if new >= old:
        return True, f"promoted: PR-AUC {new:.4f} >= {old:.4f} of the model in use {rows}; tolerance {tolerance})."
    if new >= old - tolerance:
        # "0.5195 >= 0.5197" would read as a false statement: say that the tolerance let it through.
        return True, (f"promoted: PR-AUC {new:.4f}, below {old:.4f} of the model in use {rows}) "
                      f"but within the tolerance {tolerance}.")
    return False, f"kept the model in use: its PR-AUC {old:.4f} beats {new:.4f} {rows}; tolerance {tolerance})."


def _first_record(decision: Any, *, by_hand: bool) -> Mapping[str, Any] | None:
    """The newest record of a version's ``promotion.json`` chain that is (``by_hand``) or is not a
    putting in use by hand, following ``earlier`` down (None: the chain holds none).

    :func:`put_in_use` keeps the decision a version was given when trained under ``earlier`` (a
    version put in use by hand again keeps the first rollback's record there), and a version
    retrained after a rollback keeps that record under ``earlier`` (:func:`register`): the first
    record not by hand is the decision when trained, the first by hand the latest rollback.
    """
    while isinstance(decision, Mapping) and (decision.get("by_hand") is True) != by_hand:
        decision = decision.get("earlier")
    return decision if isinstance(decision, Mapping) else None


def _write_index(paths: "RunPaths", current: str) -> Path:
    """``models/registry.json``: each version with the decision when trained and its latest rollback by hand.

    A card without its PR-AUC is listed with none, and a damaged ``promotion.json`` with no decision:
    the index is for reading, and refusing it would stop every run over it.
    """
    versions = []
    for card in version_cards(paths):
        decision = runlog.read_json_if_present(paths.models / card["version"] / PROMOTION_FILE)
        trained = _first_record(decision, by_hand=False) or {}
        by_hand = _first_record(decision, by_hand=True)
        versions.append({
            "version": card["version"],
            "training_window": card["training_window"],
            "pr_auc": lookup(card, "metrics.model.pr_auc"),
            "promoted": trained.get("promoted"),
            "promotion_reason": trained.get("reason"),
            "put_in_use_by_hand": {key: by_hand.get(key) for key in ("at", "previous_version", "run_id")}
                                  if by_hand else None,
        })
    return runlog.write_json(paths.models / INDEX_FILE, {"current": current, "versions": versions})


def promote(paths: "RunPaths", version: str) -> Path:
    """Make ``version`` the model in use: copy its model file and card to the top of ``models/``.

    Raises
    ------
    FileNotFoundError
        If ``version`` has no model file under ``models/``.
    """
    folder = paths.models / version
    if not (folder / MODEL_FILE).is_file():
        raise FileNotFoundError(f"Model version {version} does not exist under {paths.models}.")
    runlog.atomic_write_bytes(paths.models / MODEL_FILE, (folder / MODEL_FILE).read_bytes())
    runlog.atomic_write_bytes(paths.models / CURRENT_CARD, (folder / CARD_FILE).read_bytes())
    _write_index(paths, version)
    return paths.models / MODEL_FILE


def put_in_use(paths: "RunPaths", version: str) -> dict[str, Any]:
    """Put a version on disk back in use by hand (``model.use_version``), training nothing.

    Its model file must match its card (:func:`load_model`), as for scoring. Its ``promotion.json``
    then says it was put in use by hand, when and by which run (the decision it was given when
    trained is kept under ``earlier``), and so does ``reports/promotion.json``. A version already
    in use is left as it is, so a run that keeps the option set does not rewrite the record. The
    reason of a version whose card records no signal definitions says they could not be checked.

    Returns
    -------
    dict
        ``version``, ``promoted`` (True), ``by_hand`` (False when it was already in use),
        ``reason``, and when put in use ``previous_version``, ``at``, ``run_id`` and ``earlier``.

    Raises
    ------
    ValueError
        If no version ``version`` is on disk; the message lists those that are.
    ModelIntegrityError
        If its model file does not match its card (see :func:`load_model`).
    """
    on_disk = {folder.name: folder for folder, _card in _version_folders(paths)}
    if version not in on_disk:
        if not on_disk:
            raise ValueError(f"model.use_version {version!r} is not a model version on disk; no version is under "
                             f"models/ yet, so set it to null.")
        raise ValueError(f"model.use_version {version!r} is not a model version on disk; use one of "
                         f"{', '.join(on_disk)} (models/registry.json lists them), or null to let model.retrain decide.")
    folder = on_disk[version]
    others = [name for name in on_disk if name != version]
    _model, card = load_model(folder / MODEL_FILE, folder / CARD_FILE, way_out=(
        f"restore the file or name another version ({', '.join(others)}) in model.use_version" if others
        else "restore the file, or set model.use_version to null"
    ))
    current = runlog.read_json_if_present(paths.models / CURRENT_CARD) if has_current(paths) else None
    previous = current.get("version") if isinstance(current, Mapping) else None
    # A version an older featurehealth trained scores this code's signals, computed as its training did or not.
    unchecked = "" if isinstance(card.get("signal_definitions"), str) else f"; {_UNCHECKED_DEFINITIONS}"
    if previous == version:
        decision = {"version": version, "promoted": True, "by_hand": False,
                    "reason": f"{version} is already in use (model.use_version){unchecked}."}
    else:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        decision = {
            "version": version, "promoted": True, "by_hand": True, "previous_version": previous,
            "reason": f"put in use by hand with model.use_version, replacing {previous or 'no model'}, at "
                      f"{at}{unchecked}.",
            "at": at, "run_id": paths.run_id,
            "earlier": runlog.read_json_if_present(folder / PROMOTION_FILE),
        }
        runlog.write_json(folder / PROMOTION_FILE, decision)
        promote(paths, version)
    runlog.write_json(paths.reports / PROMOTION_FILE, decision)
    return decision


def register(
    paths: "RunPaths",
    report: mdl.TrainingReport,
    dataset: pd.DataFrame,
    *,
    params: Mapping[str, Any],
    degradation: Mapping[str, Any],
) -> dict[str, Any]:
    """Save a trained model as a new version and promote it if it is not worse than the one in use.

    The oldest versions beyond ``params["keep_versions"]`` are removed (:func:`prune_versions`),
    never the one in use after the decision nor this one, and ``models/registry.json`` lists those left.

    Returns
    -------
    dict
        ``version``, ``promoted``, ``reason``, ``previous_version`` and the holdout comparison;
        also written to ``reports/promotion.json`` (this run's) and ``models/<version>/promotion.json``
        (kept, and quoted in ``models/registry.json``; retraining the version in use, which reproduces
        it, leaves the decision it was first given there).
    """
    card = save_version(paths, report, params=params, degradation=degradation)
    try:
        current = load_current(paths) if has_current(paths) else None
    except ModelIntegrityError as exc:
        # Retraining is the documented way out of a tampered model in use: it is replaced, never loaded.
        current, refused = None, str(exc)
    else:
        refused = ""
    previous = current[1]["version"] if current else None
    split = report.result.split
    if refused:
        comparison = {"comparable": False, "reason": f"the model in use failed its integrity check ({refused.rstrip('.')})"}
    elif previous == card["version"]:
        comparison = {"comparable": False, "reason": "the model in use is this same version"}
    else:
        comparison = compare_on_holdout(
            report.result.model, current, dataset,
            test_start=split.test_start, test_end=split.test_end, horizon_days=params["horizon_days"],
            min_positives=params["promote_min_positives"], seed=params["random_state"],
        )
    promoted, reason = promotion_decision(comparison, tolerance=params["promote_tolerance"])
    decision = {
        "version": card["version"], "promoted": promoted, "reason": reason,
        "previous_version": previous, "comparison": comparison,
    }
    # Kept with the version too: the report is replaced by the next run, the audit trail must not be.
    # Retraining the version in use (same data and settings) decides nothing: its decision stays.
    kept = paths.models / card["version"] / PROMOTION_FILE
    if previous != card["version"] or not kept.is_file():
        earlier = runlog.read_json_if_present(kept)
        if _first_record(earlier, by_hand=True):
            # Retraining replays the comparison, not the rollback: the record of it stays on file.
            decision["earlier"] = earlier
        runlog.write_json(kept, decision)
    in_use = card["version"] if promoted else previous
    # Pruned first (never the one in use nor this one), so the index is written once, listing those left.
    prune_versions(paths, keep=params["keep_versions"], protected=[v for v in (in_use, card["version"]) if v])
    if promoted:
        promote(paths, card["version"])
    else:
        _write_index(paths, previous)
    runlog.write_json(paths.reports / PROMOTION_FILE, decision)
    return decision


def degradation_changes(card: Mapping[str, Any], degradation: Mapping[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Each ``degradation`` rule whose value differs from the one the card's model was trained with.

    Returns
    -------
    dict or None
        ``{key: {"trained_with": old, "current": new}}`` (empty when the rules are the same), or
        None when the card does not record its rules (saved before cards kept them).
    """
    before = card.get("degradation")
    if not before:
        return None
    return {key: {"trained_with": before.get(key), "current": value}
            for key, value in sorted(degradation.items()) if before.get(key) != value}


def publish_no_model(paths: "RunPaths", *, reason: str) -> Path:
    """Publish that no model is in use: ``reports/metrics.json`` holds ``available`` false and ``reason``
    (why none was trained, one sentence) and no metric; the model reports and ``risk_ranking.csv`` are removed.

    A number there would read as measured, and a ranking of a model that does not exist would pretend.
    """
    for name in (*REPORT_FILES, RANKING_FILE):
        (paths.reports / name).unlink(missing_ok=True)
    return runlog.write_json(paths.reports / "metrics.json", {"available": False, "reason": reason})


def publish_reports(paths: "RunPaths", card: Mapping[str, Any], *, degradation: Mapping[str, Any]) -> list[Path]:
    """Copy the reports of the model in use into ``RunPaths.reports`` (stale ones removed).

    A version saved before figures were kept gets them drawn from its own reports first.
    ``metrics.json`` gains ``degradation_changed`` (:func:`degradation_changes` against this run's
    ``degradation`` rules): a model kept after a rule change shows the metrics measured on the labels of
    the rules it was trained with, and a reader must not take them for today's. ``models/registry.json``
    is written again from the versions on disk: one lost or edited by hand is true after the next run.
    """
    source = paths.models / card["version"] / REPORTS_DIR
    if not (source / plots.MODEL_FIGURES[0]).is_file() and (source / "test_predictions.parquet").is_file():
        metrics = runlog.read_json(source / "metrics.json")
        write_figures(source, pd.read_parquet(source / "test_predictions.parquet"), metrics["early_warning"])
    written = []
    for name in REPORT_FILES:
        target = paths.reports / name
        if not (source / name).is_file():
            target.unlink(missing_ok=True)
        elif name == "metrics.json":
            changed = degradation_changes(card, degradation)
            written.append(runlog.write_json(target, {**runlog.read_json(source / name), "degradation_changed": changed}))
        else:
            written.append(runlog.atomic_write_bytes(target, (source / name).read_bytes()))
    _write_index(paths, card["version"])
    return written
