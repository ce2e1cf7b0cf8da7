"""Profiles: merging over default.yaml, unknown keys rejected with the allowed ones listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from featurehealth import config


@pytest.fixture
def params_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "default.yaml").write_text(
        "model:\n  horizon_days: 7\n  risk_buckets: [0.3, 0.6]\ningest:\n  column_map: {}\n"
    )
    monkeypatch.setattr(config, "PARAMS_DIR", tmp_path)
    return tmp_path


def test_profile_overrides_only_what_it_names(params_dir: Path) -> None:
    (params_dir / "small.yaml").write_text(
        "extends: default\nmodel:\n  horizon_days: 3\ningest:\n  column_map: {crash_flag: is_crash}\n"
    )
    loaded = config.load_profile("small")
    assert loaded["model"] == {"horizon_days": 3, "risk_buckets": [0.3, 0.6]}
    assert loaded["ingest"]["column_map"] == {"crash_flag": "is_crash"}


def test_unknown_nested_key_lists_allowed_keys(params_dir: Path) -> None:
    (params_dir / "typo.yaml").write_text("model:\n  horizon_dayz: 3\n")
    with pytest.raises(config.ProfileError, match=r"'model\.horizon_dayz'.*allowed keys here: horizon_days, risk_buckets"):
        config.load_profile("typo")


def test_unknown_group_is_rejected(params_dir: Path) -> None:
    (params_dir / "extra.yaml").write_text("modle:\n  horizon_days: 3\n")
    with pytest.raises(config.ProfileError, match="Unknown parameter 'modle'"):
        config.load_profile("extra")


def test_missing_profile_names_available_ones(params_dir: Path) -> None:
    with pytest.raises(config.ProfileError, match="available profiles: default"):
        config.load_profile("nope")


@pytest.mark.parametrize("bad", ["../etc/passwd", "a b", "", "x/y"])
def test_profile_names_cannot_escape_params_dir(bad: str) -> None:
    with pytest.raises(config.ProfileError, match="not valid"):
        config.run_paths(bad)


def test_params_hash_ignores_key_order() -> None:
    assert config.params_hash({"a": 1, "b": [1, 2]}) == config.params_hash({"b": [1, 2], "a": 1})
    assert config.params_hash({"a": 1}) != config.params_hash({"a": 2})


def test_resolve_params_prefers_injected_groups(params_dir: Path) -> None:
    resolved = config.resolve_params("default", model={"horizon_days": 1}, ingest={})
    assert resolved == {"model": {"horizon_days": 1}, "ingest": {"column_map": {}}}


def test_shipped_profiles_load() -> None:
    for name in config.available_profiles():
        loaded = config.load_profile(name)
        assert set(loaded) == set(config.load_profile("default"))


def test_run_paths_follow_output_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    paths = config.run_paths("ci").ensure()
    assert paths.root == tmp_path / "ci"
    assert paths.reports.is_dir() and paths.models.is_dir()
    assert config.run_paths("ci", tmp_path / "staging").root == tmp_path / "staging"


def test_overrides_parse_yaml_values_and_check_keys(params_dir: Path) -> None:
    base = config.load_profile("default")
    changed = config.apply_overrides(base, ["model.horizon_days=3", "model.risk_buckets=[0.2, 0.5]"])
    assert changed["model"] == {"horizon_days": 3, "risk_buckets": [0.2, 0.5]}
    assert base["model"]["horizon_days"] == 7  # input untouched
    with pytest.raises(config.ProfileError, match=r"'model\.horizon' in --set"):
        config.apply_overrides(base, ["model.horizon=3"])
    with pytest.raises(config.ProfileError, match="group.key=value"):
        config.apply_overrides(base, ["model.horizon_days"])


@pytest.mark.parametrize("day", ["2026-06-30", "2026-13-01", "2026-02-30"])
def test_dates_stay_strings_even_when_impossible(params_dir: Path, day: str) -> None:
    (params_dir / "default.yaml").write_text("ingest:\n  as_of: ''\n")
    (params_dir / "dated.yaml").write_text(f"ingest:\n  as_of: {day}\n")
    assert config.load_profile("dated") == {"ingest": {"as_of": day}}
    assert config.apply_overrides(config.load_profile("default"), [f"ingest.as_of={day}"]) == {
        "ingest": {"as_of": day}
    }


def test_a_group_must_stay_a_mapping(params_dir: Path) -> None:
    base = config.load_profile("default")
    with pytest.raises(config.ProfileError, match=r"group 'model' in --set must be a mapping, not 5;.*horizon_days, risk_buckets"):
        config.apply_overrides(base, ["model=5"])
    (params_dir / "flat.yaml").write_text("model: 7\n")
    with pytest.raises(config.ProfileError, match=r"group 'model' in params/flat.yaml must be a mapping"):
        config.load_profile("flat")
    assert config.apply_overrides(base, ["model={horizon_days: 3}"])["model"] == {"horizon_days": 3, "risk_buckets": [0.3, 0.6]}


def test_set_adds_one_entry_to_a_free_form_mapping(params_dir: Path) -> None:
    (params_dir / "mapped.yaml").write_text("ingest:\n  column_map: {crash_flag: is_crash}\n")
    changed = config.apply_overrides(config.load_profile("mapped"), ["ingest.column_map.uid=user_id"])
    assert changed["ingest"]["column_map"] == {"crash_flag": "is_crash", "uid": "user_id"}
    replaced = config.apply_overrides(config.load_profile("mapped"), ["ingest.column_map={uid: user_id}"])
    assert replaced["ingest"]["column_map"] == {"uid": "user_id"}
    with pytest.raises(config.ProfileError, match=r"Unknown parameter 'model\.horizon' in --set"):
        config.apply_overrides(config.load_profile("mapped"), ["model.horizon.x=1"])


def test_override_that_is_not_yaml_is_a_profile_error(params_dir: Path) -> None:
    with pytest.raises(config.ProfileError, match=r"'model.risk_buckets=\[0.2' holds a value that is not valid YAML"):
        config.apply_overrides(config.load_profile("default"), ["model.risk_buckets=[0.2"])
