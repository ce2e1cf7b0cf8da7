"""Telemetry simulator: product-feature events with injected, ground-truthed incidents.

Deterministic by seed: the same parameters give byte-identical files.

Design
------
* **Features.** ``n_features`` product features (``F001``...) with owner team, lifecycle stage,
  tier and launch date; a feature launched during the period has no events before its launch.
* **Volume.** About ``events_per_day`` events a day in total, weekends at 0.75x, a little day
  noise; usage is Zipf-skewed across features with a floor so every feature keeps a usable daily
  sample (at the default size >= ~140 events a day).
* **Normal behaviour.** Per-feature lognormal latency (median 80-900 ms), baseline crash rate
  0.2-1.5 %, sparse integer feedback on ~4 % of events (mean 4.0-4.5), platforms, an app
  version that moves forward every ~30 days, small Poisson error counts.
* **Incidents** (``incidents.csv``: feature_id, start = onset, end inclusive, kind, severity,
  precursor_days), at random features and dates, never overlapping on one feature:

  - ``latency_creep``: latency climbs 10-35 % over the precursor days, then jumps to 1.9-3x.
  - ``crash_spike_rollout``: a new app version rolls out over the precursor days with a mildly
    raised crash rate, then its crash rate jumps (overall 5-12x baseline).
  - ``feedback_decline``: feedback drifts down during the precursor, then falls by 1.5-3 points
    while more users leave feedback.
  - ``partial_outage``: sudden, never with a precursor: usage drops by 40-70 %, crashes and
    latency spike.

  About 80 % of the non-outage incidents have a weak precursor of 3-7 days (error counts rise
  too); the rest, and every outage, have none (``precursor_days`` = 0). **Decoys**: precursor-like
  blips (latency +10-30 %, more errors, a harmless rollout) that are *not* followed by an
  incident, so early warning is possible but not trivial.
* **Malformed rows.** A share ``malformed_share`` of rows is made invalid in ways the Parquet
  types can hold (negative or huge latency, feedback 0 or 7, null/empty feature id, null user,
  null or future timestamp) plus exact duplicates; counts by kind go to ``simulation.json``.

Files: ``events/events_YYYY-MM-DD.parquet`` (or ``.csv``), ``dim_feature_metadata.csv``,
``incidents.csv``, ``simulation.json``.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from featurehealth import runlog

FILE_FORMATS = ("parquet", "csv")
INCIDENT_KINDS = ("latency_creep", "crash_spike_rollout", "feedback_decline", "partial_outage")
MALFORMED_KINDS = (
    "negative_latency", "latency_too_high", "feedback_zero", "feedback_seven", "null_feature_id",
    "empty_feature_id", "null_user_id", "null_event_time", "future_event_time", "duplicate_event",
)
PLATFORMS = ("ios", "android", "web")
_NAMES = ("Login", "Search", "Payments", "Checkout", "Feed", "Messaging", "Profile", "Notifications",
          "Upload", "Playback", "Cart", "Recommendations", "Settings", "Onboarding", "Maps", "Share")
_AREAS = ("", "Autocomplete", "History", "Sync", "Preview", "Export", "Widget", "Offline")
_TEAMS = ("identity", "discovery", "commerce", "social", "media", "platform", "growth", "infra")
_WEEKEND_FACTOR = 0.75
_FEEDBACK_RATE = 0.04


def _check_args(n_features: int, n_days: int, events_per_day: int, malformed_share: float,
                incidents_per_feature_year: float, file_format: str) -> None:
    if n_features < 1 or n_days < 1 or events_per_day < 1:
        raise ValueError("n_features, n_days and events_per_day must be >= 1.")
    if not 0 <= malformed_share < 0.5:
        raise ValueError(f"malformed_share must be in [0, 0.5); got {malformed_share}.")
    if incidents_per_feature_year < 0:
        raise ValueError("incidents_per_feature_year must be >= 0.")
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}; got {file_format!r}.")


def feature_metadata(n_features: int, start: date, n_days: int, rng: np.random.Generator) -> "Any":
    """Dimension table of the simulated features (pandas DataFrame)."""
    import pandas as pd

    ids = [f"F{i + 1:03d}" for i in range(n_features)]
    names = []
    for i in range(n_features):
        base, area = _NAMES[i % len(_NAMES)], _AREAS[(i // len(_NAMES)) % len(_AREAS)]
        round_ = i // (len(_NAMES) * len(_AREAS))
        names.append(" ".join(p for p in (base, area, str(round_ + 1) if round_ else "") if p))
    late = rng.random(n_features) < 0.15
    offsets = np.where(late, rng.integers(0, max(1, int(n_days * 0.5)), n_features),
                       -rng.integers(30, 900, n_features))
    return pd.DataFrame({
        "feature_id": ids,
        "feature_name": names,
        "owner_team": rng.choice(_TEAMS, n_features),
        "lifecycle_stage": np.where(late, "experimental",
                                    rng.choice(["beta", "ga", "ga", "ga", "deprecated"], n_features)),
        "tier": rng.choice(["critical", "standard"], n_features, p=[0.3, 0.7]),
        "launch_date": [(start + timedelta(days=int(o))).isoformat() for o in offsets],
    })


def _plan_incidents(launch_idx: np.ndarray, n_days: int, rate: float, rng: np.random.Generator) -> list[dict]:
    """Non-overlapping incidents per feature, each with its kind, severity and precursor."""
    incidents = []
    for f, first in enumerate(launch_idx):
        first = max(int(first), 0) + 21  # a baseline before the first incident
        usable = n_days - first
        if usable < 12:
            continue
        day = first
        for _ in range(rng.poisson(rate * usable / 365)):
            kind = INCIDENT_KINDS[rng.choice(4, p=[0.3, 0.25, 0.2, 0.25])]
            precursor = 0 if kind == "partial_outage" or rng.random() > 0.8 else int(rng.integers(3, 8))
            duration = int(rng.integers(2, 11))
            start = day + precursor + int(rng.integers(0, max(1, usable // 3)))
            if start + duration >= n_days:
                break
            incidents.append({"feature": f, "start": start, "end": start + duration - 1, "kind": kind,
                              "severity": round(float(rng.uniform(0.4, 1.0)), 3), "precursor_days": precursor})
            day = start + duration + 10
    return incidents


def _effects(incidents: list[dict], n_features: int, n_days: int, launch_idx: np.ndarray,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per feature-day multipliers that incidents, precursors and decoys apply to the events."""
    shape = (n_features, n_days)
    fx = {"latency": np.ones(shape), "crash": np.ones(shape), "usage": np.ones(shape),
          "feedback_shift": np.zeros(shape), "feedback_rate": np.ones(shape), "errors": np.ones(shape),
          "rollout": np.zeros(shape), "rollout_crash": np.ones(shape)}
    for inc in incidents:
        f, s, e, sev, pre = inc["feature"], inc["start"], inc["end"] + 1, inc["severity"], inc["precursor_days"]
        ramp = np.linspace(0, 1, pre + 1)[1:] if pre else np.zeros(0)
        p = slice(s - pre, s)
        if pre:
            fx["errors"][f, p] *= 1 + 2.5 * ramp
        if inc["kind"] == "latency_creep":
            fx["latency"][f, p] *= 1 + (0.1 + 0.25 * sev) * ramp
            fx["latency"][f, s:e] *= 1.9 + 1.1 * sev
        elif inc["kind"] == "crash_spike_rollout":
            fx["rollout"][f, p] = 0.05 + 0.35 * ramp
            fx["rollout_crash"][f, p] = 2.5
            fx["rollout"][f, s:e] = 0.75
            fx["rollout_crash"][f, s:e] = 7 + 9 * sev
        elif inc["kind"] == "feedback_decline":
            fx["feedback_shift"][f, p] -= (0.2 + 0.3 * sev) * ramp
            fx["feedback_shift"][f, s:e] -= 1.5 + 1.5 * sev
            fx["feedback_rate"][f, s:e] *= 3
        else:
            fx["usage"][f, s:e] *= 1 - (0.4 + 0.3 * sev)
            fx["crash"][f, s:e] *= 5 + 8 * sev
            fx["latency"][f, s:e] *= 2.2
        fx["errors"][f, s:e] *= 5
    busy = np.zeros(shape, dtype=bool)
    for inc in incidents:
        busy[inc["feature"], max(0, inc["start"] - inc["precursor_days"] - 10):inc["end"] + 1] = True
    # Decoys: precursor-like blips with no incident after them.
    for f in range(n_features):
        for _ in range(rng.poisson(2.0 * n_days / 365)):
            length = int(rng.integers(3, 6))
            s = int(rng.integers(max(0, launch_idx[f]) + 14, n_days)) if n_days > max(0, launch_idx[f]) + 14 else n_days
            if s + length > n_days or busy[f, s:s + length + 10].any():
                continue
            ramp = np.linspace(0, 1, length + 1)[1:]
            choice = rng.integers(3)
            if choice == 0:
                fx["latency"][f, s:s + length] *= 1 + rng.uniform(0.1, 0.3) * ramp
            elif choice == 1:
                fx["rollout"][f, s:s + length] = 0.05 + 0.3 * ramp
                fx["rollout_crash"][f, s:s + length] = 1.5
            fx["errors"][f, s:s + length] *= 1 + 2 * ramp
            busy[f, s:s + length] = True
    return fx


def _day_table(d: int, day: date, counts: np.ndarray, profile: dict[str, np.ndarray], fx: dict[str, np.ndarray],
               version: int, pools: dict[str, Any], malformed_share: float, end_ts: int,
               rng: np.random.Generator) -> tuple[Any, dict[str, int]]:
    """One day's events as a pyarrow Table, with malformed rows and their counts by kind."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n_by_feature = counts[:, d]
    feature = rng.permutation(np.repeat(np.arange(len(n_by_feature), dtype=np.int32), n_by_feature))
    n = feature.size
    day_us = int(np.datetime64(day.isoformat(), "us").astype(np.int64))
    event_us = day_us + np.sort(rng.integers(0, 86_400_000_000, n))
    latency = np.exp(np.log(profile["latency_median"][feature] * fx["latency"][feature, d])
                     + profile["latency_sigma"][feature] * rng.standard_normal(n))
    new_version = rng.random(n) < fx["rollout"][feature, d]
    crash_p = profile["crash_base"][feature] * fx["crash"][feature, d]
    crash_p = np.where(new_version, crash_p * fx["rollout_crash"][feature, d], crash_p)
    is_crash = rng.random(n) < np.minimum(crash_p, 0.9)
    has_feedback = rng.random(n) < _FEEDBACK_RATE * fx["feedback_rate"][feature, d]
    feedback = np.clip(np.rint(profile["feedback_mean"][feature] + fx["feedback_shift"][feature, d]
                               + 0.8 * rng.standard_normal(n)), 1, 5)
    errors = rng.poisson(0.05 * fx["errors"][feature, d]) + is_crash
    users = rng.integers(0, len(pools["users"]), n)
    platform = rng.choice(3, n, p=[0.45, 0.4, 0.15])
    versions = (version + new_version).astype(np.int32)

    feature_null = np.zeros(n, dtype=bool)
    user_null = np.zeros(n, dtype=bool)
    time_null = np.zeros(n, dtype=bool)
    feedback_null = ~has_feedback
    feature_idx = feature.copy()
    counts_by_kind = dict.fromkeys(MALFORMED_KINDS, 0)
    n_bad = rng.binomial(n, malformed_share) if malformed_share else 0
    duplicates = np.zeros(0, dtype=np.int64)
    if n_bad:
        rows = rng.choice(n, n_bad, replace=False)
        kinds = rng.integers(0, len(MALFORMED_KINDS), n_bad)
        for k, kind in enumerate(MALFORMED_KINDS):
            sel = rows[kinds == k]
            counts_by_kind[kind] = int(sel.size)
            if kind == "negative_latency":
                latency[sel] = -latency[sel]
            elif kind == "latency_too_high":
                latency[sel] = 600_000 + latency[sel] * 1000
            elif kind in ("feedback_zero", "feedback_seven"):
                feedback[sel], feedback_null[sel] = (0 if kind == "feedback_zero" else 7), False
            elif kind == "null_feature_id":
                feature_null[sel] = True
            elif kind == "empty_feature_id":
                feature_idx[sel] = len(pools["features"]) - 1  # the pool's trailing "" entry
            elif kind == "null_user_id":
                user_null[sel] = True
            elif kind == "null_event_time":
                time_null[sel] = True
            elif kind == "future_event_time":
                event_us[sel] = end_ts + rng.integers(1, 30, sel.size) * 86_400_000_000
            else:
                duplicates = np.sort(sel)
    order = np.sort(np.concatenate([np.arange(n), duplicates]), kind="stable")

    def col(values: np.ndarray, pa_type: Any, mask: np.ndarray | None = None) -> Any:
        return pa.array(values[order], type=pa_type, mask=None if mask is None else mask[order])

    table = pa.table({
        "event_time": pa.array(event_us[order], type=pa.timestamp("us", tz="UTC"), mask=time_null[order]),
        "feature_id": pc.if_else(pa.array(feature_null[order]), pa.scalar(None, pa.string()),
                                 pc.take(pools["features"], pa.array(feature_idx[order]))),
        "user_id": pc.if_else(pa.array(user_null[order]), pa.scalar(None, pa.string()),
                              pc.take(pools["users"], pa.array(users[order]))),
        "latency_ms": col(np.round(latency, 3), pa.float64()),
        "is_crash": col(is_crash, pa.bool_()),
        "feedback_score": col(feedback, pa.float64(), feedback_null),
        "platform": pc.take(pools["platforms"], pa.array(platform[order])),
        "app_version": pc.take(pools["versions"], pa.array(versions[order])),
        "error_count": col(errors.astype(np.int64), pa.int64()),
    })
    return table, counts_by_kind


def _write_events(table: Any, path: Path, file_format: str) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if file_format == "parquet":
        pq.write_table(table, path, compression="snappy")
    else:
        pacsv.write_csv(table, path)


def simulate_telemetry(
    out_dir: str | os.PathLike[str],
    *,
    n_features: int = 120,
    n_days: int = 180,
    events_per_day: int = 50_000,
    start_date: str = "2026-01-01",
    seed: int = 42,
    malformed_share: float = 0.001,
    incidents_per_feature_year: float = 3.0,
    file_format: str = "parquet",
) -> dict[str, Any]:
    """Generate telemetry, metadata and ground-truth incidents into ``out_dir`` (see module doc).

    Returns
    -------
    dict
        The summary also written to ``simulation.json``.
    """
    import pyarrow as pa

    _check_args(n_features, n_days, events_per_day, malformed_share, incidents_per_feature_year, file_format)
    params = {"n_features": n_features, "n_days": n_days, "events_per_day": events_per_day,
              "start_date": start_date, "seed": seed, "malformed_share": malformed_share,
              "incidents_per_feature_year": incidents_per_feature_year, "file_format": file_format}
    rng = np.random.default_rng(seed)
    start = date.fromisoformat(start_date)
    out = Path(out_dir)
    (out / "events").mkdir(parents=True, exist_ok=True)

    dim = feature_metadata(n_features, start, n_days, rng)
    launch_idx = np.array([(date.fromisoformat(x) - start).days for x in dim["launch_date"]])
    weights = 1 / np.arange(1, n_features + 1) ** 0.8
    weights = np.maximum(rng.permutation(weights / weights.sum()), 0.35 / n_features)
    weights /= weights.sum()
    profile = {
        "latency_median": rng.uniform(80, 900, n_features),
        "latency_sigma": rng.uniform(0.35, 0.6, n_features),
        "crash_base": rng.uniform(0.002, 0.015, n_features),
        "feedback_mean": rng.uniform(4.0, 4.5, n_features),
    }
    incidents = _plan_incidents(launch_idx, n_days, incidents_per_feature_year, rng)
    fx = _effects(incidents, n_features, n_days, launch_idx, rng)
    days = [start + timedelta(days=d) for d in range(n_days)]
    day_factor = np.array([_WEEKEND_FACTOR if x.weekday() >= 5 else 1.0 for x in days])
    day_factor *= np.exp(0.05 * rng.standard_normal(n_days)) / (5 + 2 * _WEEKEND_FACTOR) * 7
    launched = np.arange(n_days)[None, :] >= launch_idx[:, None]
    expected = events_per_day * weights[:, None] * day_factor[None, :] * fx["usage"] * launched
    counts = rng.poisson(expected)

    pools = {
        "features": pa.array(list(dim["feature_id"]) + [""], pa.string()),
        "users": pa.array([f"u{i:07d}" for i in range(max(1000, events_per_day * 2))], pa.string()),
        "platforms": pa.array(PLATFORMS, pa.string()),
        "versions": pa.array([f"5.{m}.0" for m in range(n_days // 30 + 3)], pa.string()),
    }
    end_ts = int(np.datetime64((start + timedelta(days=n_days)).isoformat(), "us").astype(np.int64))
    malformed = dict.fromkeys(MALFORMED_KINDS, 0)
    rows = 0
    event_files = []
    # Writing releases the GIL: one writer thread overlaps file output with the next day's draw.
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending = []
        for d, day in enumerate(days):
            table, bad = _day_table(d, day, counts, profile, fx, d // 30, pools, malformed_share, end_ts, rng)
            for kind, count in bad.items():
                malformed[kind] += count
            rows += table.num_rows
            path = out / "events" / f"events_{day.isoformat()}.{file_format}"
            event_files.append(path)
            pending.append(writer.submit(_write_events, table, path, file_format))
        for future in pending:
            future.result()
    files = {p.relative_to(out).as_posix(): runlog.sha256_file(p) for p in event_files}

    dim.to_csv(out / "dim_feature_metadata.csv", index=False, lineterminator="\n")
    import pandas as pd

    truth = pd.DataFrame([{
        "feature_id": dim["feature_id"][i["feature"]],
        "start": days[i["start"]].isoformat(), "end": days[i["end"]].isoformat(),
        "kind": i["kind"], "severity": i["severity"], "precursor_days": i["precursor_days"],
    } for i in incidents], columns=["feature_id", "start", "end", "kind", "severity", "precursor_days"])
    truth = truth.sort_values(["start", "feature_id"], kind="mergesort").reset_index(drop=True)
    truth.to_csv(out / "incidents.csv", index=False, lineterminator="\n")
    for name in ("dim_feature_metadata.csv", "incidents.csv"):
        files[name] = runlog.sha256_file(out / name)
    summary = {
        "params": params, "rows": rows, "malformed_rows": malformed,
        "incidents_by_kind": {k: int((truth["kind"] == k).sum()) for k in INCIDENT_KINDS},
        "incidents_with_precursor": int((truth["precursor_days"] > 0).sum()),
        "files": files,
    }
    runlog.write_json(out / "simulation.json", summary)
    return summary


def ensure_simulation(out_dir: str | os.PathLike[str], **params: Any) -> dict[str, Any]:
    """Return the simulation in ``out_dir``, generating it only when missing or made otherwise.

    Generation happens in a temporary sibling folder that replaces ``out_dir`` only when complete,
    so an interrupted run never leaves a half-written data set behind.
    """
    out = Path(out_dir)
    stamp = out / "simulation.json"
    wanted = {**_DEFAULTS, **params}
    unknown = set(params) - set(_DEFAULTS)
    if unknown:
        raise ValueError(f"Unknown simulation parameter(s) {sorted(unknown)}; allowed: {', '.join(_DEFAULTS)}.")
    if stamp.is_file():
        existing = runlog.read_json(stamp)
        if existing.get("params") == wanted and all((out / f).is_file() for f in existing.get("files", {})):
            return existing
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    summary = simulate_telemetry(staging, **wanted)
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return summary


_DEFAULTS: dict[str, Any] = {
    "n_features": 120, "n_days": 180, "events_per_day": 50_000, "start_date": "2026-01-01", "seed": 42,
    "malformed_share": 0.001, "incidents_per_feature_year": 3.0, "file_format": "parquet",
}
