"""Telemetry simulator: realistic product-feature events with known incidents, for the pipeline.

What is simulated
-----------------
*Features.* ``n_features`` product features (``F001``...) with plausible names ("Login",
"Search", "Payments API"...), an owner team, a lifecycle stage and a tier. Most were launched
before the simulated period; some experimental/beta ones launch during it and have no events
before their launch date.

*Usage.* Daily volume is ``events_per_day`` on a weekday (weekends 0.75x), with small day
noise and a mild growth trend (+10 % a year). It is split across features by Zipf-like
weights with a floor (0.3 % of the volume, or half a uniform share when that is smaller), so
the smallest feature still has about 200 events a weekday at the default size; each feature
also grows or shrinks with its lifecycle stage and has its own day-to-day noise. Event times
follow a daily curve (peak around 17:00 UTC) and are sorted within a day.

*Event values.* Latency is lognormal with a feature-specific median (80-900 ms) and spread
(p95 kept below ~1.8 s), times a platform factor. Crashes are Bernoulli with a baseline rate
of 0.2-1.5 %, higher on busier features (see :func:`crash_rates`). About 4 % of events carry
feedback, integers 1-5 with a baseline mean of about 4.2-4.6. ``error_count`` is a small
Poisson count (+1 on a crash). Platforms are ios/android/web with a per-feature mix. The app
ships a new version every 12-21 days: a staged rollout of 3-7 days (share growing from 3 % to
25 %), then a full rollout (50 %, 75 %, 90 %, then 97 % of events); older versions keep the rest.

*Incidents* (ground truth in ``incidents.csv``). Per feature, episodes follow one another at a
rate set by ``incidents_per_feature_year``, at most 15 (the realised rate is a little lower,
about 11 for 12: an episode must fit in the period and at least 7 quiet days separate two
episodes, so incidents never overlap on a feature); none starts in a feature's first 21 days, so every feature has a trailing
baseline first. ``start`` is the onset, the first clearly degraded day; ``end`` is inclusive;
``severity`` in [0.3, 1] scales the effect (the ranges below are over that span):

- ``latency_creep``: latency x(2.3-3.3), still creeping, 2.6-4x the errors (timeouts);
- ``crash_spike_rollout``: onset is the full rollout of a new app version whose crash rate on
  the feature becomes 13-30 %;
- ``feedback_decline``: mean feedback falls by 1.8-2.6 points, 2.5x as many users leave feedback;
- ``partial_outage``: sudden: usage x(0.6-0.78), crash rate 12-25 %, latency x(2.65-3.7), many errors.

About 77 % of incidents have a weak precursor of 3-7 days before onset (``precursor_days``):
latency creeping up to +10-35 % with more errors, the buggy version's staged rollout with a
crash rate 5x baseline on it (overall at most ~2x), feedback dipping by 0.13-0.45 points with
a little more of it. ``partial_outage`` and ~10 % of the others have none (``precursor_days`` 0).
Decoys, half as many as incidents, are the same precursor patterns with no incident after them
(the staged version is fixed before its full rollout), so early warning is possible but not
trivial. With the default ``degradation`` rules, incident days are degraded and precursor days
mostly not (the clear jump comes at onset).

*Malformed rows.* A share ``malformed_share`` of rows is replaced by rule-breaking variants that
the Parquet types still hold (see :data:`MALFORMED_KINDS`); a duplicate adds an exact copy
right after its original. They are counted by kind in ``simulation.json``. Rows keep their
event-time order except where the event time itself was broken.

Files under ``out_dir``: ``events/events_YYYY-MM-DD.parquet`` (or ``.csv``), one per day, with
the columns of :data:`EVENT_SCHEMA`; ``dim_feature_metadata.csv``; ``incidents.csv``;
``simulation.json`` (parameters, rows, malformed rows and incidents by kind, files with size and sha256).
The same parameters give byte-identical files: every random draw comes from ``seed`` (one
independent stream per day, so days can be generated in parallel threads).

*Generation is all or nothing.* The files are written into a sibling folder
``.<name>.tmp-*`` and swapped in by one rename (Linux ``RENAME_EXCHANGE``; elsewhere two
renames, with a moment when ``out_dir`` is absent), ``simulation.json`` last: a reader sees the
old complete data set or the new one, and a folder without ``simulation.json`` naming the same
parameters is never reused. Generations of one folder take turns on the lock file
``.<name>.lock`` beside it, so two processes never swap over each other (the second reuses
the first's data set when its parameters match); each removes the ``.<name>.tmp-*`` and
``.<name>.old-*`` folders that a killed generation left.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import fcntl
import hashlib
import io
import math
import numbers
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from featurehealth import config, ingest, runlog

#: Bumped whenever the generator changes what a given set of parameters produces.
FORMAT_VERSION = 1
SUMMARY_FILE = "simulation.json"
METADATA_FILE = "dim_feature_metadata.csv"
INCIDENTS_FILE = "incidents.csv"
EVENTS_DIR = "events"
FILE_FORMATS = config.SIMULATED_FILE_FORMATS
MAX_INCIDENTS_PER_FEATURE_YEAR = config.SIMULATED_MAX_INCIDENTS_PER_FEATURE_YEAR

EVENT_SCHEMA = pa.schema([
    ("event_time", pa.timestamp("us", tz="UTC")),
    ("feature_id", pa.string()),
    ("user_id", pa.string()),
    ("latency_ms", pa.float64()),
    ("is_crash", pa.bool_()),
    ("feedback_score", pa.float64()),
    ("platform", pa.string()),
    ("app_version", pa.string()),
    ("error_count", pa.int64()),
])
METADATA_COLUMNS = ("feature_id", "feature_name", "owner_team", "lifecycle_stage", "tier", "launch_date")
INCIDENT_COLUMNS = ("feature_id", "start", "end", "kind", "severity", "precursor_days")

INCIDENT_KINDS = ("latency_creep", "crash_spike_rollout", "feedback_decline", "partial_outage")
_KIND_PROBABILITY = (0.32, 0.30, 0.24, 0.14)
#: Kinds whose precursor pattern also appears as a decoy.
DECOY_KINDS = INCIDENT_KINDS[:3]
_DECOY_RATIO = 0.5
_PRECURSOR_PROBABILITY = 0.9
_WARMUP_DAYS = 21
_GAP_DAYS = 7
_MEAN_OCCUPIED_DAYS = 8.0

MALFORMED_KINDS = (
    "negative_latency", "latency_out_of_range", "feedback_zero", "feedback_seven",
    "missing_feature_id", "empty_feature_id", "missing_user_id", "missing_event_time",
    "future_event_time", "duplicate_row",
)
#: Validation judges "future" against the end of the simulated period (the wall clock for real
#: telemetry); a century keeps these rows future against either.
_FUTURE_SHIFT_US = 100 * 365 * 86_400_000_000

PLATFORMS = ("ios", "android", "web")
_PLATFORM_MIX = np.array([0.42, 0.43, 0.15])
_PLATFORM_LATENCY = np.array([1.0, 1.12, 0.92])
LIFECYCLE_STAGES = ingest.METADATA_VALUES["lifecycle_stage"]
_STAGE_PROBABILITY = (0.10, 0.15, 0.65, 0.10)
_STAGE_GROWTH = (0.40, 0.25, 0.05, -0.30)
_WEEKEND_FACTOR = 0.75
_TREND_PER_YEAR = 0.10
_FEEDBACK_SD = 0.8
_DAY_US = 86_400_000_000

#: (name, owner team, tier); later features reuse the names with a qualifier.
_BASE_FEATURES = (
    ("Login", "Identity", "critical"), ("Search", "Discovery", "critical"),
    ("Payments", "Payments", "critical"), ("Checkout", "Commerce", "critical"),
    ("Notifications", "Engagement", "standard"), ("Profile", "Identity", "standard"),
    ("Settings", "Platform", "standard"), ("Messaging", "Engagement", "standard"),
    ("Home Feed", "Discovery", "critical"), ("Cart", "Commerce", "critical"),
    ("Wishlist", "Commerce", "standard"), ("Recommendations", "Discovery", "standard"),
    ("Reviews", "Commerce", "standard"), ("Onboarding", "Growth", "standard"),
    ("Sharing", "Growth", "standard"), ("File Upload", "Platform", "standard"),
    ("Video Player", "Content", "standard"), ("Maps", "Discovery", "standard"),
    ("Calendar", "Productivity", "standard"), ("Offline Mode", "Platform", "standard"),
    ("Referrals", "Growth", "standard"), ("Subscriptions", "Payments", "critical"),
    ("Help Center", "Support", "standard"), ("Live Chat", "Support", "standard"),
    ("Order Tracking", "Commerce", "standard"), ("Returns", "Commerce", "standard"),
    ("Loyalty Points", "Growth", "standard"), ("Gift Cards", "Payments", "standard"),
    ("Coupons", "Commerce", "standard"), ("Data Export", "Platform", "standard"),
    ("Dashboard", "Productivity", "standard"), ("Reports", "Productivity", "standard"),
    ("Two-Factor Auth", "Identity", "critical"), ("Password Reset", "Identity", "critical"),
    ("Dark Mode", "Platform", "standard"), ("Language Picker", "Platform", "standard"),
    ("Photo Editor", "Content", "standard"), ("Barcode Scanner", "Commerce", "standard"),
    ("Voice Search", "Discovery", "standard"), ("Stories", "Content", "standard"),
)
_QUALIFIERS = ("API", "Widget", "Sync", "v2", "Admin", "Lite", "Insights", "History")


@dataclass(frozen=True)
class Features:
    """Per-feature attributes; arrays are indexed by feature position."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    teams: tuple[str, ...]
    stages: tuple[str, ...]
    tiers: tuple[str, ...]
    launch_day: np.ndarray  # day index relative to the start; negative = before the period
    weight: np.ndarray
    growth: np.ndarray
    latency_median: np.ndarray
    latency_sigma: np.ndarray
    crash_rate: np.ndarray
    feedback_rate: np.ndarray
    feedback_mean: np.ndarray  # latent mean before rounding and clipping to 1..5
    error_rate: np.ndarray
    platform_cdf: np.ndarray  # (n_features, 2): P(ios), P(ios or android)


@dataclass(frozen=True)
class Releases:
    """App versions: first day of each staged rollout, its length and the version strings."""

    day: np.ndarray
    staging_days: np.ndarray
    versions: tuple[str, ...]


@dataclass(frozen=True)
class Episode:
    """An injected incident (``duration`` >= 1) or a decoy (``duration`` 0, precursor only)."""

    feature: int
    kind: str
    onset: int
    duration: int
    precursor_days: int
    severity: float
    level: float  # precursor strength
    release: int  # index of the buggy release (crash_spike_rollout), else -1

    @property
    def is_decoy(self) -> bool:
        """Whether the episode is a precursor that never becomes an incident."""
        return self.duration == 0


@dataclass(frozen=True)
class Effects:
    """Multipliers and shifts per (feature, day) that episodes apply to the baseline."""

    usage: np.ndarray
    latency: np.ndarray
    crash: np.ndarray
    errors: np.ndarray
    feedback_shift: np.ndarray
    feedback_rate: np.ndarray
    bug_version: np.ndarray  # release index whose events crash at ``bug_crash``, -1 = none
    bug_crash: np.ndarray  # crash probability on that version


def check_parameters(
    *,
    n_features: int,
    n_days: int,
    events_per_day: int,
    start_date: str | date,
    seed: int,
    malformed_share: float,
    incidents_per_feature_year: float,
    file_format: str,
) -> dict[str, Any]:
    """Validate the simulation parameters and return them normalised (as recorded in the summary).

    Raises
    ------
    ValueError
        If a parameter is out of its range; the message names the allowed values.
    """
    for name, value, low in (("n_features", n_features, 1), ("n_days", n_days, 1),
                             ("events_per_day", events_per_day, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
    try:
        # A datetime is a date too: keep only its calendar day.
        text = start_date.isoformat()[:10] if isinstance(start_date, date) else str(start_date)
        start = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"start_date must be a date YYYY-MM-DD; got {start_date!r}.") from None
    if isinstance(malformed_share, bool) or not isinstance(malformed_share, numbers.Real) \
            or not 0 <= malformed_share < 0.5:
        raise ValueError(f"malformed_share must be a number in [0, 0.5); got {malformed_share!r}.")
    if isinstance(incidents_per_feature_year, bool) or not isinstance(incidents_per_feature_year, numbers.Real) \
            or not 0 <= incidents_per_feature_year <= MAX_INCIDENTS_PER_FEATURE_YEAR:
        raise ValueError(
            f"incidents_per_feature_year must be a number in [0, {MAX_INCIDENTS_PER_FEATURE_YEAR:g}] (a feature's "
            f"episodes are at least {_GAP_DAYS} quiet days apart); got {incidents_per_feature_year!r}."
        )
    _check_file_format(file_format)
    return {
        "n_features": int(n_features), "n_days": int(n_days), "events_per_day": int(events_per_day),
        "start_date": start.isoformat(), "seed": int(seed), "malformed_share": float(malformed_share),
        "incidents_per_feature_year": float(incidents_per_feature_year), "file_format": file_format,
    }


def _check_file_format(file_format: str) -> None:
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}; got {file_format!r}.")


def feature_names(n_features: int) -> list[str]:
    """``n_features`` unique, plausible product-feature names, the base names first."""
    base = [name for name, _team, _tier in _BASE_FEATURES]
    names = []
    for position in range(n_features):
        round_, index = divmod(position, len(base))
        qualifier = "" if round_ == 0 else f" {_QUALIFIERS[(round_ - 1) % len(_QUALIFIERS)]}"
        suffix = "" if round_ <= len(_QUALIFIERS) else f" {(round_ - 1) // len(_QUALIFIERS) + 1}"
        names.append(f"{base[index]}{qualifier}{suffix}")
    return names


def _log_uniform(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    return np.exp(rng.uniform(math.log(low), math.log(high), size))


def crash_rates(daily_events: np.ndarray, *, seed: int | np.random.SeedSequence) -> np.ndarray:
    """Baseline crash rates in 0.2-1.5 %, rising with a feature's daily volume (with some noise).

    Few crashes a day on a little-used feature keep its crash rate readable: a middling rate on
    a few hundred events a day would keep crossing the relative crash rule (3x a median of one
    or two crashes, floor 1 %) by chance alone.

    Parameters
    ----------
    daily_events : numpy.ndarray
        Expected events a weekday per feature.
    seed : int or numpy.random.SeedSequence
        Randomness.
    """
    rng = np.random.default_rng(seed)
    rate = 0.002 * (daily_events / 300.0) ** 0.7 * rng.lognormal(0.0, 0.25, daily_events.size)
    return np.clip(rate, 0.002, 0.015)


def simulate_features(
    n_features: int, *, n_days: int, events_per_day: int, seed: int | np.random.SeedSequence,
) -> Features:
    """Draw the product features: metadata, usage weight and baseline behaviour.

    Parameters
    ----------
    n_features : int
        Number of features.
    n_days : int
        Length of the period (launches during it fall in its first half).
    events_per_day : int
        Weekday volume across features (busier features crash a little more often).
    seed : int or numpy.random.SeedSequence
        Randomness.

    Returns
    -------
    Features
    """
    rng = np.random.default_rng(seed)
    width = max(3, len(str(n_features)))
    base = [_BASE_FEATURES[i % len(_BASE_FEATURES)] for i in range(n_features)]
    tiers = tuple(tier for _name, _team, tier in base)
    drawn_stage = rng.choice(len(LIFECYCLE_STAGES), size=n_features, p=_STAGE_PROBABILITY)
    # A critical feature in experiment or on its way out would not be critical.
    stage = np.where(np.array(tiers) == "critical", LIFECYCLE_STAGES.index("ga"), drawn_stage)
    launches_late = rng.random(n_features) < np.choose(stage, [0.7, 0.3, 0.0, 0.0])
    late_day = rng.integers(7, max(8, n_days // 2 + 1), n_features)
    launch_day = np.where(launches_late & (n_days > 14), late_day, -rng.integers(30, 1500, n_features))
    zipf = 1.0 / (rng.permutation(n_features) + 1.0)
    floor = min(0.003, 0.5 / n_features)
    weight = floor + (1.0 - floor * n_features) * zipf / zipf.sum()
    median = _log_uniform(rng, 80.0, 900.0, n_features)
    # Keeps the baseline p95 (z = 1.645) below ~1.8 s, well under the 3 s absolute rule.
    sigma = np.minimum(rng.uniform(0.35, 0.65, n_features), np.log(1800.0 / median) / 1.645)
    mix = rng.dirichlet(40.0 * _PLATFORM_MIX, n_features)
    return Features(
        ids=tuple(f"F{i + 1:0{width}d}" for i in range(n_features)),
        names=tuple(feature_names(n_features)),
        teams=tuple(team for _name, team, _tier in base),
        stages=tuple(LIFECYCLE_STAGES[s] for s in stage),
        tiers=tiers,
        launch_day=launch_day.astype(np.int64),
        weight=weight,
        growth=np.asarray(_STAGE_GROWTH)[stage],
        latency_median=median,
        latency_sigma=sigma,
        crash_rate=crash_rates(events_per_day * weight, seed=int(rng.integers(2**63))),
        feedback_rate=rng.uniform(0.03, 0.05, n_features),
        feedback_mean=rng.uniform(4.3, 4.8, n_features),
        error_rate=_log_uniform(rng, 0.02, 0.2, n_features),
        platform_cdf=np.cumsum(mix, axis=1)[:, :2],
    )


def release_schedule(n_days: int, *, seed: int | np.random.SeedSequence) -> Releases:
    """App releases: two before the period (mostly adopted at its start), then every 12-21 days.

    Returns
    -------
    Releases
        Versions ``5.0.0``, ``5.1.0``, ... ``5.9.0``, ``6.0.0``...
    """
    rng = np.random.default_rng(seed)
    days = [-60, -30]
    next_day = int(rng.integers(3, 15))
    while next_day < n_days:
        days.append(next_day)
        next_day += int(rng.integers(12, 22))
    staging = rng.integers(3, 8, len(days))
    versions = tuple(f"{5 + k // 10}.{k % 10}.0" for k in range(len(days)))
    return Releases(day=np.asarray(days, dtype=np.int64), staging_days=staging.astype(np.int64), versions=versions)


def adoption(releases: Releases, n_days: int) -> np.ndarray:
    """Share of users on each release or a newer one, per day: shape (n_days, n_releases)."""
    days = np.arange(n_days)[:, None]
    since = days - releases.day[None, :]
    staging = releases.staging_days[None, :]
    staged = 0.03 + 0.22 * since / np.maximum(staging - 1, 1)
    full_steps = np.array([0.5, 0.75, 0.9, 0.97])
    full = full_steps[np.clip(since - staging, 0, len(full_steps) - 1)]
    return np.where(since < 0, 0.0, np.where(since < staging, staged, full))


def version_shares(releases: Releases, n_days: int) -> np.ndarray:
    """Share of events on each version per day, shape (n_days, n_releases); rows sum to 1.

    Each release takes its adoption share of what newer releases leave; the oldest takes the rest.
    """
    adopted = adoption(releases, n_days)
    adopted[:, 0] = 1.0
    left_by_newer = np.cumprod(1.0 - adopted[:, ::-1], axis=1)[:, ::-1]
    left_by_newer = np.concatenate([left_by_newer[:, 1:], np.ones((n_days, 1))], axis=1)
    return adopted * left_by_newer


def schedule_episodes(
    features: Features,
    releases: Releases,
    *,
    n_days: int,
    incidents_per_feature_year: float,
    seed: int | np.random.SeedSequence,
) -> list[Episode]:
    """Place incidents and decoys per feature, one after another, never overlapping.

    Episodes (incidents and half as many decoys) arrive at ``incidents_per_feature_year`` x 1.5
    a year: after each one's last day come ``_GAP_DAYS`` quiet days plus an exponential wait.
    A ``crash_spike_rollout`` starts with the next release's staged rollout and has its onset at
    the full rollout; when no release comes within 30 days it becomes a ``latency_creep``.

    Returns
    -------
    list of Episode
        Ordered by feature, then day.
    """
    rng = np.random.default_rng(seed)
    rate = incidents_per_feature_year * (1.0 + _DECOY_RATIO) / 365.0
    if rate == 0:
        return []
    mean_wait = max(1.0 / rate - _MEAN_OCCUPIED_DAYS - _GAP_DAYS, 1.0)
    decoy_probability = _DECOY_RATIO / (1.0 + _DECOY_RATIO)
    episodes = []
    for feature in range(len(features.ids)):
        day = max(0, int(features.launch_day[feature])) + _WARMUP_DAYS + int(rng.exponential(mean_wait))
        while True:
            decoy = bool(rng.random() < decoy_probability)
            kinds, weights = (DECOY_KINDS, _KIND_PROBABILITY[:3]) if decoy else (INCIDENT_KINDS, _KIND_PROBABILITY)
            kind = kinds[rng.choice(len(kinds), p=np.asarray(weights) / sum(weights))]
            has_precursor = decoy or (kind != "partial_outage" and bool(rng.random() < _PRECURSOR_PROBABILITY))
            precursor = int(rng.integers(3, 8)) if has_precursor else 0
            duration = 0 if decoy else int(rng.integers(2, 6 if kind == "partial_outage" else 11))
            severity = round(float(rng.uniform(0.3, 1.0)), 2)
            level = float(rng.uniform(0.10, 0.35))
            release = -1
            if kind == "crash_spike_rollout":
                upcoming = np.flatnonzero((releases.day >= day) & (releases.day <= day + 30))
                if upcoming.size:
                    release = int(upcoming[0])
                    day = int(releases.day[release])
                    precursor = int(releases.staging_days[release]) if has_precursor else 0
                    onset = day + int(releases.staging_days[release])
                else:
                    kind = "latency_creep"
            if release < 0:
                onset = day + precursor
            last = onset + duration - 1
            if last > n_days - 1:
                break
            episodes.append(Episode(feature, kind, onset, duration, precursor, severity, level, release))
            day = last + 1 + _GAP_DAYS + int(rng.exponential(mean_wait))
    return episodes


def episode_effects(features: Features, episodes: list[Episode], *, n_days: int) -> Effects:
    """The (feature, day) effects of ``episodes`` on top of the baseline (no randomness).

    Returns
    -------
    Effects
        Arrays of shape (n_features, n_days).
    """
    shape = (len(features.ids), n_days)
    effects = Effects(
        usage=np.ones(shape), latency=np.ones(shape), crash=np.ones(shape), errors=np.ones(shape),
        feedback_shift=np.zeros(shape), feedback_rate=np.ones(shape),
        bug_version=np.full(shape, -1, dtype=np.int64), bug_crash=np.zeros(shape),
    )
    for episode in episodes:
        f, s = episode.feature, episode.severity
        if episode.precursor_days:
            days = np.arange(episode.onset - episode.precursor_days, episode.onset)
            ramp = np.arange(1, episode.precursor_days + 1) / episode.precursor_days
            if episode.kind == "latency_creep":
                effects.latency[f, days] *= 1.0 + episode.level * ramp
                effects.errors[f, days] *= 1.0 + ramp
            elif episode.kind == "feedback_decline":
                effects.feedback_shift[f, days] += 1.3 * episode.level * ramp
                effects.feedback_rate[f, days] *= 1.0 + 0.5 * ramp
            elif episode.kind == "crash_spike_rollout":
                effects.bug_version[f, days] = episode.release
                effects.bug_crash[f, days] = 5.0 * features.crash_rate[f]
        days = np.arange(episode.onset, episode.onset + episode.duration)
        steps = np.arange(episode.duration)
        if episode.kind == "latency_creep":
            effects.latency[f, days] *= (1.9 + 1.4 * s) * (1.0 + 0.03 * steps)
            effects.errors[f, days] *= 2.0 + 2.0 * s
        elif episode.kind == "feedback_decline":
            effects.feedback_shift[f, days] += 1.4 + 1.2 * s
            effects.feedback_rate[f, days] *= 2.5
            effects.usage[f, days] *= 0.95
        elif episode.kind == "crash_spike_rollout":
            effects.bug_version[f, days] = episode.release
            effects.bug_crash[f, days] = 0.06 + 0.24 * s
        elif episode.kind == "partial_outage":
            effects.usage[f, days] *= 0.85 - 0.25 * s
            effects.crash[f, days] *= np.maximum((0.06 + 0.19 * s) / features.crash_rate[f], 1.0)
            effects.latency[f, days] *= 2.2 + 1.5 * s
            effects.errors[f, days] *= 4.0 + 6.0 * s
    return effects


def expected_counts(
    features: Features, effects: Effects, *, start: date, n_days: int, events_per_day: int,
    seed: int | np.random.SeedSequence,
) -> np.ndarray:
    """Expected events per (feature, day): volume x weekday x trend x share x effects x noise.

    A feature's share is renormalised over the features already launched that day, so the day's
    total follows ``events_per_day``; before its launch a feature has none.
    """
    rng = np.random.default_rng(seed)
    days = np.arange(n_days)
    weekday = (start.weekday() + days) % 7
    day_volume = (
        events_per_day * np.where(weekday >= 5, _WEEKEND_FACTOR, 1.0)
        * (1.0 + _TREND_PER_YEAR * days / 365.0) * rng.lognormal(0.0, 0.04, n_days)
    )
    launched = days[None, :] >= features.launch_day[:, None]
    raw_share = features.weight[:, None] * np.exp(np.log1p(features.growth)[:, None] * days[None, :] / 365.0) * launched
    share = raw_share / raw_share.sum(axis=0, keepdims=True).clip(min=1e-300)
    noise = rng.lognormal(0.0, 0.06, share.shape)
    return day_volume[None, :] * share * effects.usage * noise


@dataclass(frozen=True)
class Plan:
    """Everything fixed before the daily draws: the day generator reads it, never changes it."""

    start: date
    features: Features
    releases: Releases
    episodes: list[Episode]
    effects: Effects
    counts: np.ndarray
    shares: np.ndarray
    latency_noise: np.ndarray
    feature_pool: pa.Array  # ids, then "" for the empty-id malformed rows
    user_pool: pa.Array
    version_pool: pa.Array
    platform_pool: pa.Array
    day_seeds: list[np.random.SeedSequence]
    malformed_share: float
    file_format: str


def build_plan(params: dict[str, Any]) -> Plan:
    """Draw features, releases, episodes and per-day expectations from checked ``params``."""
    start = date.fromisoformat(params["start_date"])
    n_days, n_features = params["n_days"], params["n_features"]
    feature_seed, release_seed, episode_seed, volume_seed, noise_seed, days_seed = (
        np.random.SeedSequence(params["seed"]).spawn(6)
    )
    features = simulate_features(
        n_features, n_days=n_days, events_per_day=params["events_per_day"], seed=feature_seed,
    )
    releases = release_schedule(n_days, seed=release_seed)
    episodes = schedule_episodes(
        features, releases, n_days=n_days,
        incidents_per_feature_year=params["incidents_per_feature_year"], seed=episode_seed,
    )
    effects = episode_effects(features, episodes, n_days=n_days)
    counts = expected_counts(
        features, effects, start=start, n_days=n_days, events_per_day=params["events_per_day"], seed=volume_seed,
    )
    # Users repeat across days: a pool twice the daily volume, drawn with heavy users first.
    n_users = max(1000, 2 * params["events_per_day"])
    width = len(str(n_users - 1))
    return Plan(
        start=start, features=features, releases=releases, episodes=episodes, effects=effects, counts=counts,
        shares=version_shares(releases, n_days),
        latency_noise=np.random.default_rng(noise_seed).lognormal(0.0, 0.03, counts.shape),
        feature_pool=pa.array([*features.ids, ""], type=pa.string()),
        user_pool=pa.array([f"u{i:0{width}d}" for i in range(n_users)], type=pa.string()),
        version_pool=pa.array(releases.versions, type=pa.string()),
        platform_pool=pa.array(PLATFORMS, type=pa.string()),
        day_seeds=days_seed.spawn(n_days),
        malformed_share=params["malformed_share"],
        file_format=params["file_format"],
    )


#: Relative event volume per UTC hour: peak around 17:00, low around 05:00.
_HOURLY_DENSITY = 1.0 + 0.6 * np.cos(2.0 * np.pi * (np.arange(24) + 0.5 - 17.0) / 24.0)
_HOUR_US = 3_600_000_000


def time_of_day_us(size: int, *, seed: int | np.random.SeedSequence) -> np.ndarray:
    """``size`` sorted event times (microseconds since midnight) following the daily curve.

    Sorted uniforms come from normalised cumulative exponential gaps (no sort needed); the
    piecewise-linear inverse of the hourly distribution keeps them sorted.
    """
    rng = np.random.default_rng(seed)
    gaps = np.cumsum(rng.standard_exponential(size + 1))
    uniform = gaps[:-1] / gaps[-1]
    cdf = np.concatenate([[0.0], np.cumsum(_HOURLY_DENSITY) / _HOURLY_DENSITY.sum()])
    per_hour = np.diff(np.searchsorted(uniform, cdf))
    hour = np.repeat(np.arange(24), per_hour)
    within = (uniform - cdf[hour]) / (cdf[hour + 1] - cdf[hour])
    return ((hour + np.clip(within, 0.0, 1.0)) * _HOUR_US).astype(np.int64)


def malformed_rows(size: int, *, share: float, seed: int | np.random.SeedSequence) -> dict[str, np.ndarray]:
    """Which rows of a day to break, by kind: about ``share`` of ``size`` rows, kinds drawn uniformly.

    Returns
    -------
    dict
        :data:`MALFORMED_KINDS` -> sorted row positions (disjoint; empty arrays included).
    """
    rng = np.random.default_rng(seed)
    n_bad = int(rng.binomial(size, share)) if size else 0
    rows = np.sort(rng.choice(size, size=n_bad, replace=False)) if n_bad else np.zeros(0, dtype=np.int64)
    kinds = rng.integers(0, len(MALFORMED_KINDS), n_bad)
    return {kind: rows[kinds == i] for i, kind in enumerate(MALFORMED_KINDS)}


def day_table(plan: Plan, day: int) -> tuple[pa.Table, dict[str, int]]:
    """Generate one day's events (with its malformed rows) from ``plan``.

    Returns
    -------
    (pyarrow.Table, dict)
        Events with the columns of :data:`EVENT_SCHEMA` (string columns dictionary-encoded,
        written as plain strings), sorted by event time but for broken times; and the number
        of malformed rows by kind.
    """
    # Children by explicit key: ``SeedSequence.spawn`` counts its calls, so a second call on the
    # same plan would draw another day.
    day_seed = plan.day_seeds[day]
    time_seed, malformed_seed, value_seed = (
        np.random.SeedSequence(day_seed.entropy, spawn_key=(*day_seed.spawn_key, part)) for part in range(3)
    )
    rng = np.random.default_rng(value_seed)
    features, effects = plan.features, plan.effects
    per_feature = rng.poisson(plan.counts[:, day])
    # Feature and time are independent within a day: shuffle one, sort the other.
    feature = rng.permutation(np.repeat(np.arange(len(features.ids), dtype=np.int32), per_feature))
    size = feature.size
    day_start_us = ((plan.start - date(1970, 1, 1)).days + day) * _DAY_US
    event_us = day_start_us + time_of_day_us(size, seed=time_seed)

    platform_draw = rng.random(size)
    platform = (platform_draw >= features.platform_cdf[feature, 0]).astype(np.int8) \
        + (platform_draw >= features.platform_cdf[feature, 1])
    version_cdf = np.cumsum(plan.shares[day])
    version = np.minimum(np.searchsorted(version_cdf, rng.random(size) * version_cdf[-1], side="right"),
                         len(version_cdf) - 1).astype(np.int32)

    median = features.latency_median * effects.latency[:, day] * plan.latency_noise[:, day]
    latency = median[feature] * np.exp(features.latency_sigma[feature] * rng.standard_normal(size))
    latency = np.round(latency * _PLATFORM_LATENCY[platform], 1)
    crash_p = np.minimum(features.crash_rate * effects.crash[:, day], 0.9)[feature]
    on_bug = version == effects.bug_version[feature, day]
    crash_p = np.where(on_bug, effects.bug_crash[feature, day], crash_p)
    is_crash = rng.random(size) < crash_p

    rated = np.flatnonzero(rng.random(size) < (features.feedback_rate * effects.feedback_rate[:, day])[feature])
    feedback = np.full(size, np.nan)
    latent = (features.feedback_mean - effects.feedback_shift[:, day])[feature[rated]]
    feedback[rated] = np.clip(np.rint(latent + _FEEDBACK_SD * rng.standard_normal(rated.size)), 1.0, 5.0)
    errors = rng.poisson((features.error_rate * effects.errors[:, day])[feature]) + is_crash
    # Squaring a uniform favours low ids: a few heavy users, a long tail of light ones.
    user_draw = rng.random(size)
    users = (len(plan.user_pool) * user_draw * user_draw).astype(np.int32)

    broken = malformed_rows(size, share=plan.malformed_share, seed=malformed_seed)
    nulls = {name: np.zeros(size, dtype=bool) for name in ("event_time", "feature_id", "user_id")}
    latency[broken["negative_latency"]] *= -1.0
    latency[broken["latency_out_of_range"]] = np.round(latency[broken["latency_out_of_range"]] * 1000.0 + 650_000.0, 1)
    feedback[broken["feedback_zero"]] = 0.0
    feedback[broken["feedback_seven"]] = 7.0
    nulls["feature_id"][broken["missing_feature_id"]] = True
    feature[broken["empty_feature_id"]] = len(features.ids)
    nulls["user_id"][broken["missing_user_id"]] = True
    nulls["event_time"][broken["missing_event_time"]] = True
    event_us[broken["future_event_time"]] += _FUTURE_SHIFT_US
    columns = {
        "event_time": event_us, "feature_id": feature, "user_id": users, "latency_ms": latency,
        "is_crash": is_crash, "feedback_score": feedback, "platform": platform,
        "app_version": version, "error_count": errors.astype(np.int64),
    }
    if broken["duplicate_row"].size:
        # Each duplicate sits right after its original, keeping the time order.
        order = np.sort(np.concatenate([np.arange(size), broken["duplicate_row"]]), kind="stable")
        columns = {name: values[order] for name, values in columns.items()}
        nulls = {name: mask[order] for name, mask in nulls.items()}

    def coded(name: str, pool: pa.Array) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(columns[name], mask=nulls.get(name)), pool)

    arrays = [
        pa.array(columns["event_time"], type=EVENT_SCHEMA.field("event_time").type, mask=nulls["event_time"]),
        coded("feature_id", plan.feature_pool),
        coded("user_id", plan.user_pool),
        pa.array(columns["latency_ms"]),
        pa.array(columns["is_crash"]),
        pa.array(columns["feedback_score"], from_pandas=True),
        coded("platform", plan.platform_pool),
        coded("app_version", plan.version_pool),
        pa.array(columns["error_count"]),
    ]
    counts = {kind: int(rows.size) for kind, rows in broken.items()}
    return pa.Table.from_arrays(arrays, names=EVENT_SCHEMA.names), counts


def encode_events(table: pa.Table, *, file_format: str) -> pa.Buffer:
    """Serialise a day's events with fixed settings (no timestamps), so equal tables give equal bytes.

    Dictionary-encoded columns are written as plain strings: Parquet without the Arrow schema
    (read back as ``string``), CSV after a cast to :data:`EVENT_SCHEMA`.

    Parameters
    ----------
    table : pyarrow.Table
        A day's events in :data:`EVENT_SCHEMA`'s columns.
    file_format : {"parquet", "csv"}
        One of :data:`FILE_FORMATS`.

    Returns
    -------
    pyarrow.Buffer
        The file's bytes.

    Raises
    ------
    ValueError
        If ``file_format`` is not one of :data:`FILE_FORMATS`.
    """
    _check_file_format(file_format)
    sink = pa.BufferOutputStream()
    if file_format == "parquet":
        import pyarrow.parquet as pq

        # A Parquet dictionary of the whole user pool would cost more than it saves.
        pq.write_table(
            table, sink, compression="zstd", compression_level=1, store_schema=False,
            use_dictionary=["feature_id", "platform", "app_version"],
            column_encoding={
                "event_time": "DELTA_BINARY_PACKED", "error_count": "DELTA_BINARY_PACKED",
                "latency_ms": "BYTE_STREAM_SPLIT",
            },
        )
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(table.cast(EVENT_SCHEMA), sink)
    return sink.getvalue()


def write_day(plan: Plan, day: int, folder: Path) -> dict[str, Any]:
    """Generate and write one day's events file; return its record and malformed counts."""
    table, malformed = day_table(plan, day)
    name = f"{EVENTS_DIR}/events_{(plan.start + timedelta(days=day)).isoformat()}.{plan.file_format}"
    data = encode_events(table, file_format=plan.file_format)
    (folder / name).write_bytes(memoryview(data))
    return {"path": name, "rows": table.num_rows, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "malformed": malformed}


def _csv_bytes(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def metadata_rows(features: Features, *, start: date) -> list[tuple[str, ...]]:
    """Rows of ``dim_feature_metadata.csv`` in :data:`METADATA_COLUMNS` order."""
    return [
        (fid, name, team, stage, tier, (start + timedelta(days=int(launch))).isoformat())
        for fid, name, team, stage, tier, launch in zip(
            features.ids, features.names, features.teams, features.stages, features.tiers, features.launch_day,
            strict=True,
        )
    ]


def incident_rows(plan: Plan) -> list[tuple[Any, ...]]:
    """Rows of ``incidents.csv`` (:data:`INCIDENT_COLUMNS`), sorted by start then feature."""
    incidents = sorted((e for e in plan.episodes if not e.is_decoy), key=lambda e: (e.onset, e.feature))
    return [
        (plan.features.ids[e.feature], (plan.start + timedelta(days=e.onset)).isoformat(),
         (plan.start + timedelta(days=e.onset + e.duration - 1)).isoformat(), e.kind, f"{e.severity:.2f}",
         e.precursor_days)
        for e in incidents
    ]


def _count_by(values: list[str], allowed: tuple[str, ...]) -> dict[str, int]:
    return {kind: values.count(kind) for kind in allowed}


def _write_dataset(folder: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Write the whole data set into the empty ``folder``; return the summary."""
    plan = build_plan(params)
    (folder / EVENTS_DIR).mkdir(parents=True)
    # numpy and Arrow release the GIL in the heavy parts; days have their own random streams,
    # so the output does not depend on the thread count.
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        days = list(pool.map(lambda day: write_day(plan, day, folder), range(params["n_days"])))
    side_files = {
        METADATA_FILE: _csv_bytes(metadata_rows(plan.features, start=plan.start), METADATA_COLUMNS),
        INCIDENTS_FILE: _csv_bytes(incident_rows(plan), INCIDENT_COLUMNS),
    }
    for name, data in side_files.items():
        runlog.atomic_write_bytes(folder / name, data)
    incidents = [e for e in plan.episodes if not e.is_decoy]
    decoys = [e for e in plan.episodes if e.is_decoy]
    summary = {
        "format_version": FORMAT_VERSION,
        "parameters": params,
        "period": {
            "start": plan.start.isoformat(),
            "end": (plan.start + timedelta(days=params["n_days"] - 1)).isoformat(),
        },
        "rows_written": sum(d["rows"] for d in days),
        "malformed_rows_by_kind": {k: sum(d["malformed"][k] for d in days) for k in MALFORMED_KINDS},
        "incidents_by_kind": _count_by([e.kind for e in incidents], INCIDENT_KINDS),
        "incidents_with_precursor": sum(1 for e in incidents if e.precursor_days),
        "decoys_by_kind": _count_by([e.kind for e in decoys], DECOY_KINDS),
        "features_launched_during_period": int(np.count_nonzero(plan.features.launch_day > 0)),
        "files": [{"path": d["path"], "rows": d["rows"], "bytes": d["bytes"], "sha256": d["sha256"]} for d in days] + [
            {"path": name, "rows": data.count(b"\n") - 1, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in side_files.items()
        ],
    }
    runlog.write_json(folder / SUMMARY_FILE, summary)
    return summary


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2`` with ``RENAME_EXCHANGE``).

    Returns
    -------
    bool
        False when it did not (nothing was changed): the system or the file system cannot, or a
        sandbox refuses the call. The caller then renames twice, which reports a real problem
        (permissions, a full disk) with the usual error.
    """
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0


def _swap_in(staged: Path, target: Path) -> None:
    """Put the finished folder ``staged`` at ``target`` and remove the previous one (call with the lock held).

    Where the file system can exchange two folders, ``target`` is never absent; elsewhere the old
    folder is renamed aside first (a directory cannot be renamed over a non-empty one), so for a
    moment ``target`` is absent, but never partial.
    """
    if not target.exists():
        os.replace(staged, target)
    elif _exchange(staged, target):
        shutil.rmtree(staged, ignore_errors=True)  # now the old data set
    else:
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, retired / target.name)
        os.replace(staged, target)
        shutil.rmtree(retired, ignore_errors=True)


def _leftovers(target: Path) -> list[Path]:
    """Staging and retired folders of ``target``: ``.<name>.tmp-*`` and ``.<name>.old-*`` (8 characters after the dash)."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(tmp|old)-[a-z0-9_]{{8}}")
    return sorted(path for path in target.parent.iterdir() if pattern.fullmatch(path.name) and path.is_dir())


@contextlib.contextmanager
def _generation_lock(target: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the lock file ``.<name>.lock`` beside ``target`` while its data set is generated and swapped in.

    A run holds its profile's lock, but a notebook run by hand on a copy of the outputs, or a
    benchmark, generates the same folder outside it: without a turn each, two swaps could
    interleave (a traceback, a retired folder left behind) and one could remove the other's
    staging folder as a leftover. The lock is released when the process dies, however it dies.

    Yields
    ------
    bool
        Whether the lock is held: always with ``wait``, else only when no one else held it.
    """
    with open(target.parent / f".{target.name}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            print(f"Waiting for another process to finish generating {target} ...", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(target: Path) -> None:
    """Remove what killed generations of ``target`` left (call with the lock held: no generation is under way)."""
    for leftover in _leftovers(target):
        shutil.rmtree(leftover, ignore_errors=True)


def _new_folder(parent: Path, *, prefix: str) -> Path:
    """A new, uniquely named folder in ``parent`` with the umask's permissions.

    ``tempfile.mkdtemp`` makes it readable by its owner alone, and the staged folder becomes the
    data folder: teammates sharing a machine could not read the simulated telemetry.
    """
    while True:
        folder = parent / f"{prefix}{os.urandom(4).hex()}"  # 8 characters, as mkdtemp names them
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder


def _generate(target: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Write the data set of ``params`` beside ``target``, swap it in (lock held) and return its summary."""
    _remove_leftovers(target)
    staged = _new_folder(target.parent, prefix=f".{target.name}.tmp-")
    try:
        summary = _write_dataset(staged, params)
        _swap_in(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return summary


def simulate_telemetry(
    out_dir: str | os.PathLike[str],
    *,
    n_features: int = 120,
    n_days: int = 180,
    events_per_day: int = 50_000,
    start_date: str | date = "2026-01-01",
    seed: int = 42,
    malformed_share: float = 0.001,
    incidents_per_feature_year: float = 3.0,
    file_format: str = "parquet",
) -> dict[str, Any]:
    """Generate the simulated telemetry into ``out_dir`` (replacing it), unconditionally.

    The data set is written into a temporary sibling folder and swapped in whole, so ``out_dir``
    never holds a half-written data set; generations of one folder take turns (see the module
    docstring, which also says what is simulated).

    Parameters
    ----------
    out_dir : path-like
        Folder to (re)create.
    n_features, n_days, events_per_day, start_date, seed, malformed_share, incidents_per_feature_year, file_format
        The ``simulate`` parameter group (see ``params/default.yaml``).

    Returns
    -------
    dict
        The summary also written to ``out_dir/simulation.json``.

    Raises
    ------
    ValueError
        If a parameter is out of range.
    """
    params = check_parameters(
        n_features=n_features, n_days=n_days, events_per_day=events_per_day, start_date=start_date, seed=seed,
        malformed_share=malformed_share, incidents_per_feature_year=incidents_per_feature_year, file_format=file_format,
    )
    target = Path(out_dir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _generation_lock(target):
        return _generate(target, params)


def existing_summary(out_dir: str | os.PathLike[str], params: dict[str, Any]) -> dict[str, Any] | None:
    """The summary of the data set in ``out_dir`` if it was made with ``params`` and is complete, else None.

    Complete means every file it lists is there with the size it was written with (a file cut
    short or emptied since is generated again rather than read as damaged input; a summary
    written before sizes were recorded is judged on the files being there).
    """
    folder = Path(out_dir)
    try:
        summary = runlog.read_json(folder / SUMMARY_FILE)
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or summary.get("format_version") != FORMAT_VERSION \
            or summary.get("parameters") != params:
        return None
    if not all(_intact(folder / entry["path"], entry.get("bytes")) for entry in summary.get("files", [])):
        return None
    return summary


def _intact(path: Path, size: int | None) -> bool:
    """Whether ``path`` is a file of ``size`` bytes (of any size when None)."""
    try:
        return path.is_file() and (size is None or path.stat().st_size == size)
    except OSError:
        return False


def ensure_simulation(
    out_dir: str | os.PathLike[str],
    *,
    n_features: int = 120,
    n_days: int = 180,
    events_per_day: int = 50_000,
    start_date: str | date = "2026-01-01",
    seed: int = 42,
    malformed_share: float = 0.001,
    incidents_per_feature_year: float = 3.0,
    file_format: str = "parquet",
) -> dict[str, Any]:
    """Reuse the data set in ``out_dir`` when it is complete and records the same parameters, else generate it.

    Complete means ``simulation.json``, written last, is there with these parameters and every
    file it lists is there with its size (:func:`existing_summary`): a folder without it (a
    generation by older code killed half-way, files copied by hand) is generated again, never read.

    Parameters are those of :func:`simulate_telemetry` (the ``simulate`` group), so a caller
    writes ``ensure_simulation(folder, **params["simulate"])``.

    Returns
    -------
    dict
        The data set's summary (``simulation.json``).
    """
    options = {
        "n_features": n_features, "n_days": n_days, "events_per_day": events_per_day, "start_date": start_date,
        "seed": seed, "malformed_share": malformed_share,
        "incidents_per_feature_year": incidents_per_feature_year, "file_format": file_format,
    }
    params = check_parameters(**options)
    target = Path(out_dir).resolve()
    summary = existing_summary(target, params)
    if summary is not None:
        if _leftovers(target):
            # A killed generation's partial copy would otherwise stay until the settings change.
            with _generation_lock(target, wait=False) as idle:
                if idle:
                    _remove_leftovers(target)
        return summary
    target.parent.mkdir(parents=True, exist_ok=True)
    with _generation_lock(target):
        # Another process may have generated the same data set while this one waited for its turn.
        summary = existing_summary(target, params)
        return summary if summary is not None else _generate(target, params)
