"""Profiles: merging over default.yaml, unknown keys rejected with the allowed ones listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

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


def test_an_extends_cycle_is_a_profile_error(params_dir: Path) -> None:
    (params_dir / "a.yaml").write_text("extends: b\n")
    (params_dir / "b.yaml").write_text("extends: a\nmodel:\n  horizon_days: 3\n")
    with pytest.raises(config.ProfileError, match=r"^Profile 'a' extends itself \(a.yaml -> b.yaml -> a.yaml\);"):
        config.load_profile("a")


def test_a_profile_extending_itself_is_a_profile_error(params_dir: Path) -> None:
    # It used to load silently as if it extended default, and a bad value in it then hung the run
    # while value_source followed the profile to itself for ever.
    (params_dir / "loop.yaml").write_text("extends: loop\nmodel:\n  horizon_days: 3\n")
    with pytest.raises(config.ProfileError, match=r"^Profile 'loop' extends itself \(loop.yaml -> loop.yaml\); let it extend default\.$"):
        config.load_profile("loop")
    # Reached through another profile, the message names the one that extends itself, not the one loaded.
    (params_dir / "child.yaml").write_text("extends: loop\n")
    with pytest.raises(config.ProfileError,
                       match=r"^Profile 'loop' extends itself \(child.yaml -> loop.yaml -> loop.yaml\); let it extend default\.$"):
        config.load_profile("child")
    (params_dir / "c.yaml").write_text("extends: d\n")
    (params_dir / "d.yaml").write_text("extends: e\n")
    (params_dir / "e.yaml").write_text("extends: d\n")
    with pytest.raises(config.ProfileError,
                       match=r"^Profile 'd' extends itself \(c.yaml -> d.yaml -> e.yaml -> d.yaml\); let d\.yaml or e\.yaml extend default\.$"):
        config.load_profile("c")


def _profile_error(params_dir: Path, name: str, text: str) -> str:
    """The ProfileError message of loading a profile ``name`` written as ``text``."""
    (params_dir / f"{name}.yaml").write_text(text)
    with pytest.raises(config.ProfileError) as raised:
        config.load_profile(name)
    return str(raised.value)


def test_invalid_yaml_is_one_line_naming_file_line_and_problem(params_dir: Path) -> None:
    message = _profile_error(params_dir, "broken", "extends: default\nmodel: [1\n")
    assert "\n" not in message
    assert message.startswith(f"Profile file {params_dir / 'broken.yaml'} is not valid YAML: ")
    assert "at line 3, column 1" in message and message.endswith("; fix the file.")


def test_a_character_yaml_does_not_read_is_one_line_naming_it(params_dir: Path) -> None:
    # The reader's error has no problem and mark of its own, and its text gave a character offset
    # ("position 42"), which an editor does not show: the line and column are counted here.
    message = _profile_error(params_dir, "bell", "extends: default\nmodel:\n  horizon_days: 3\x07\n")
    assert "\n" not in message and message.endswith("; fix the file.")
    assert "is not valid YAML: unacceptable character #x0007 (control characters are not allowed) at line 3, " \
           "column 18;" in message


def test_an_empty_profile_or_a_yaml_merge_key_loads(params_dir: Path) -> None:
    (params_dir / "empty.yaml").write_text("# nothing changed yet\n")
    assert config.load_profile("empty") == config.load_profile("default")
    # A merge key is no key of the mapping: the key it merges may be written beside it.
    (params_dir / "merged.yaml").write_text(
        "extends: default\nmodel:\n  <<: {horizon_days: 3, risk_buckets: [0.3, 0.6]}\n  risk_buckets: [0.1, 0.2]\n")
    assert config.load_profile("merged")["model"] == {"horizon_days": 3, "risk_buckets": [0.1, 0.2]}


@pytest.mark.parametrize("bad", ["../etc/passwd", "a b", "", "x/y"])
def test_profile_names_cannot_escape_params_dir(bad: str) -> None:
    with pytest.raises(config.ProfileError, match="not valid"):
        config.run_paths(bad)


def test_params_hash_ignores_key_order() -> None:
    assert config.params_hash({"a": 1, "b": [1, 2]}) == config.params_hash({"b": [1, 2], "a": 1})
    assert config.params_hash({"a": 1}) != config.params_hash({"a": 2})


def test_resolve_params_sets_given_keys_over_the_profile(params_dir: Path) -> None:
    # A hand-edited parameters cell names one key; the group's other keys stay the profile's.
    resolved = config.resolve_params("default", model={"horizon_days": 1}, ingest={})
    assert resolved == {"model": {"horizon_days": 1, "risk_buckets": [0.3, 0.6]}, "ingest": {"column_map": {}}}


def test_resolve_params_rejects_a_key_typo_in_the_parameters_cell(params_dir: Path) -> None:
    with pytest.raises(config.ProfileError, match=r"'model\.horizon_dayz' in the notebook's parameters cell; allowed keys here: horizon_days"):
        config.resolve_params("default", model={"horizon_dayz": 1})


def test_resolve_params_checks_values_like_a_run(params_dir: Path) -> None:
    with pytest.raises(config.ProfileError, match=r"model\.horizon_days 0 is not valid; use a whole number >= 1 \(from the notebook's"):
        config.resolve_params("default", model={"horizon_days": 0})


def test_a_column_map_written_the_wrong_way_round_says_so() -> None:
    # {event_time: timestamp} (canonical name first) read "maps 'event_time' onto 'timestamp'; use
    # one of event_time, ...": it named event_time as allowed and never said to swap the two.
    with pytest.raises(ValueError, match=r"^ingest\.column_map maps 'event_time' onto 'timestamp', the wrong way round: "
                                         r"write \{timestamp: event_time\}, your column's name first, then one of "
                                         r"event_time, feature_id, .*, error_count\.$"):
        config.check_column_map({"event_time": "timestamp"})


def test_a_column_map_with_a_canonical_name_in_another_case_says_how_to_write_it() -> None:
    # {Event_Time: ts} read "maps 'Event_Time' onto 'ts'; use one of event_time, ...", the swap unsaid
    # (names match whatever their case, so Event_Time is the canonical event_time written the wrong way round).
    with pytest.raises(ValueError, match=r"^ingest\.column_map maps 'Event_Time' onto 'ts', the wrong way round: "
                                         r"write \{ts: event_time\}, your column's name first"):
        config.check_column_map({"Event_Time": "ts"})
    # The right way round but the canonical name capitalised: the entry to write, in lower case.
    with pytest.raises(ValueError, match=r"^ingest\.column_map maps 'ts' onto 'Event_Time'; canonical names are "
                                         r"written in lower case: write \{ts: event_time\}\.$"):
        config.check_column_map({"ts": "Event_Time"})


def test_resolve_params_runs_a_run_s_group_checks_too() -> None:
    # A column_map onto no canonical column stops a run up front; the parameters cell is checked alike.
    with pytest.raises(config.ProfileError, match=r"^ingest\.column_map maps 'x' onto 'bogus'; use one of event_time, .*"
                                                  r"\(from the notebook's parameters cell\)\.$"):
        config.resolve_params("ci", ingest={"column_map": {"x": "bogus"}})
    with pytest.raises(config.ProfileError, match=r"window_start.*\(from the notebook's parameters cell\)\.$"):
        config.resolve_params("ci", ingest={"window_start": "2026-05-01", "window_end": "2026-04-01"})
    assert config.resolve_params("ci", ingest={"column_map": {"x": "feature_id"}})["ingest"]["column_map"] == {"x": "feature_id"}


def test_shipped_profiles_load() -> None:
    for name in config.available_profiles():
        loaded = config.load_profile(name)
        assert set(loaded) == set(config.load_profile("default"))


def test_a_relative_output_dir_is_taken_from_the_repository_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # JupyterLab starts a notebook's kernel in notebooks/, papermill in the current folder: the
    # same output_dir = "scratch" named two folders, and 02_aggregate did not find 01_ingest's files.
    monkeypatch.chdir(tmp_path)
    assert config.run_paths("ci", output_dir="scratch").root == (config.REPO_ROOT / "scratch").resolve()
    assert config.run_paths("ci", output_dir=tmp_path / "abs").root == tmp_path / "abs"


@pytest.mark.parametrize("bad", [5, ["/tmp/x"], True])
def test_an_output_dir_that_is_no_path_is_one_sentence(bad: object) -> None:
    # output_dir = 5 in a parameters cell raised Python's "expected str, bytes or os.PathLike object".
    with pytest.raises(config.ProfileError, match=r"^output_dir must be a folder path as text .* got "):
        config.run_paths("ci", output_dir=bad)  # type: ignore[arg-type]


def test_run_paths_follow_output_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    paths = config.run_paths("ci").ensure()
    assert paths.root == tmp_path / "ci"
    assert paths.reports.is_dir() and paths.models.is_dir()
    assert config.run_paths("ci", output_dir=tmp_path / "staging").root == tmp_path / "staging"


def test_ensure_leaves_the_hand_over_folder_to_the_notebook_that_writes_it(tmp_path: Path) -> None:
    # Every notebook called ensure(), so a hand run of 03_model or 04_drift left an empty work/
    # in the published outputs, which only 01_ingest writes to (and a run never publishes).
    paths = config.RunPaths(tmp_path / "ci").ensure()
    assert paths.reports.is_dir() and paths.tables.is_dir()
    assert not paths.work.exists()


def test_a_notebook_run_by_hand_on_published_outputs_waits_for_a_run_of_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hand run writing into outputs/ci while ./run_all.sh ci ran wrote into a folder the
    # publish then swapped out: its results were lost without a word.
    from featurehealth import runner

    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    staging = tmp_path / ".staging" / "ci-20260101T000000Z-0123abcd"
    with runner.profile_lock("ci"):
        with pytest.raises(config.OutputsBusy, match=r"^A run of profile 'ci' is in progress .*; wait for it to finish, "
                                                     r"or work on a copy \(cp -r .* and set output_dir = \"/tmp/ci-scratch\"\)\.$"):
            config.run_paths("ci")
        with pytest.raises(config.OutputsBusy):
            config.run_paths("default", output_dir=tmp_path / "ci")  # the published folder named as output_dir
        # The run's own notebooks write into its staging copy; other folders and profiles are free.
        assert config.run_paths("ci", output_dir=staging).root == staging
        assert config.run_paths("ci", output_dir=tmp_path / "copy").root == tmp_path / "copy"
        assert config.run_paths("ci", output_dir=tmp_path / "copy" / "ci").root == tmp_path / "copy" / "ci"
        assert config.run_paths("default").root == tmp_path / "default"
    assert config.run_paths("ci").root == tmp_path / "ci"
    # The check only looks: a run can start right after it.
    with runner.profile_lock("ci"):
        pass


def test_a_notebook_whose_paths_were_made_before_a_run_started_stops_before_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kernel keeps the paths its third cell made: with a run started since, re-running a later
    # cell (training, scoring) wrote into the published folder the run's publish then swapped out.
    from featurehealth import runner

    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    paths = config.run_paths("ci").ensure()
    staging = config.RunPaths(tmp_path / ".staging" / "ci-20260101T000000Z-0123abcd")
    with runner.profile_lock("ci"):
        for folder in ("models", "reports", "tables", "quarantine", "work", "runs", "warehouse"):
            with pytest.raises(config.OutputsBusy, match=r"^A run of profile 'ci' is in progress "):
                getattr(paths, folder)
        with pytest.raises(config.OutputsBusy):
            paths.ensure()
        assert staging.reports == staging.root / "reports"  # the run's own notebooks
    assert paths.reports == tmp_path / "ci" / "reports"


def test_overrides_parse_yaml_values_and_check_keys(params_dir: Path) -> None:
    base = config.load_profile("default")
    changed = config.apply_overrides(base, ["model.horizon_days=3", "model.risk_buckets=[0.2, 0.5]"])
    assert changed["model"] == {"horizon_days": 3, "risk_buckets": [0.2, 0.5]}
    assert base["model"]["horizon_days"] == 7  # input untouched
    with pytest.raises(config.ProfileError, match=r"'model\.horizon' in --set"):
        config.apply_overrides(base, ["model.horizon=3"])
    with pytest.raises(config.ProfileError, match="=VALUE"):
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
    with pytest.raises(config.ProfileError, match=r"group 'model' in flat.yaml must be a mapping"):
        config.load_profile("flat")
    assert config.apply_overrides(base, ["model={horizon_days: 3}"])["model"] == {"horizon_days": 3, "risk_buckets": [0.3, 0.6]}


def test_a_group_given_as_text_in_a_parameters_cell_says_how_to_write_it(params_dir: Path) -> None:
    # papermill -p model '{"n_estimators": 30}' injects a string; the --set hint model.KEY=VALUE
    # is no syntax a parameters cell takes.
    with pytest.raises(config.ProfileError, match=r"parameters cell must be a mapping") as raised:
        config.resolve_params("default", model='{"horizon_days": 3}')
    message = str(raised.value)
    assert 'model = {"KEY": VALUE}' in message and "-y 'model: {KEY: VALUE}'" in message
    assert "model.KEY=VALUE" not in message


@pytest.mark.parametrize("falsy", ["", 0, None, [], False])
def test_a_falsy_group_in_a_parameters_cell_is_an_error_like_any_non_mapping(params_dir: Path, falsy: object) -> None:
    # model = "" or model = 0 was taken for {} (all the profile's values) without a word.
    with pytest.raises(config.ProfileError, match=rf"Parameter group 'model' in the notebook's parameters cell must be a mapping, not {re.escape(repr(falsy))};"):
        config.resolve_params("default", model=falsy)


def test_set_adds_one_entry_to_a_free_form_mapping(params_dir: Path) -> None:
    (params_dir / "mapped.yaml").write_text("ingest:\n  column_map: {crash_flag: is_crash}\n")
    changed = config.apply_overrides(config.load_profile("mapped"), ["ingest.column_map.uid=user_id"])
    assert changed["ingest"]["column_map"] == {"crash_flag": "is_crash", "uid": "user_id"}
    replaced = config.apply_overrides(config.load_profile("mapped"), ["ingest.column_map={uid: user_id}"])
    assert replaced["ingest"]["column_map"] == {"uid": "user_id"}
    with pytest.raises(config.ProfileError, match=r"Unknown parameter 'model\.horizon' in --set"):
        config.apply_overrides(config.load_profile("mapped"), ["model.horizon.x=1"])


def _suggested_items(message: str) -> list[str]:
    """The --set items a message tells the user to write, as the shell would pass them."""
    import shlex

    words = shlex.split(message.partition("; write ")[2].rstrip("."))
    return [words[i + 1].rstrip(",") for i, word in enumerate(words[:-1]) if word == "--set"]


def test_override_that_is_not_yaml_names_the_key_and_what_to_write(params_dir: Path) -> None:
    with pytest.raises(config.ProfileError, match=r'^--set "ingest\.column_map=a: b: c": the value is not valid YAML \(') as raised:
        config.apply_overrides(config.load_profile("default"), ["ingest.column_map=a: b: c"])
    assert "if it is text" in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("value", "fixed"),
    [("[0.2, 0.5", [0.2, 0.5]), ("[1,2", [1, 2]), ("{horizon", {"horizon": None}), ("'abc", "abc"), ('"abc', "abc"),
     ("[0.2, 'a", [0.2, "a"]),
     # Closed quotes (a quote inside each: '' and \"), the brackets in them and a closed list are not left open.
     ("['it''s [', \"a\\\"{\", [1], [2", ["it's [", 'a"{', [1], [2]])],
)
def test_an_unclosed_bracket_or_quote_says_how_to_close_it(params_dir: Path, value: str, fixed: object) -> None:
    # "not valid YAML (did not find expected ',' or ']' at line 2, column 1)" named neither the key
    # nor the fix; the sentence now gives the closed value, which --set reads.
    with pytest.raises(config.ProfileError) as raised:
        config.apply_overrides(config.load_profile("default"), [f"model.risk_buckets={value}"])
    message = str(raised.value)
    assert message.startswith("--set ") and "model.risk_buckets=" in message and "is not closed; write --set" in message
    assert "\n" not in message and "line 2" not in message
    closed = _suggested_items(message)[0]
    assert config.apply_overrides(config.load_profile("default"), [closed])["model"]["risk_buckets"] == fixed
    if value.startswith(("[", "{")) and "'" not in value:
        as_text = _suggested_items(message)[1]
        assert config.apply_overrides(config.load_profile("default"), [as_text])["model"]["risk_buckets"] == value


@pytest.mark.parametrize("text", ["/data/raw #1/events", "/data/exports #old", "#1", "[a, b] # both"])
def test_a_set_value_holding_a_yaml_comment_is_refused(params_dir: Path, text: str) -> None:
    # " #" starts a YAML comment: --set "ingest.source=/data/exports #old" read /data/exports, another
    # folder, and a path with " #1" in it was refused as a path that does not exist.
    with pytest.raises(config.ProfileError) as raised:
        config.apply_overrides(config.load_profile("default"), [f"ingest.column_map.a={text}"])
    message = str(raised.value)
    assert message.startswith(f"--set \"ingest.column_map.a={text}\": YAML reads '#")
    assert "as a comment" in message and "\n" not in message
    as_text = _suggested_items(message)[0]
    assert config.apply_overrides(config.load_profile("default"), [as_text])["ingest"]["column_map"] == {"a": text}


def test_yaml_comment_is_the_first_comment_to_the_end_of_its_line() -> None:
    assert config.yaml_comment("x: 1 #one\n# two\ny: 2") == "#one"


@pytest.mark.parametrize("text", ["/data/a#b", "'/data/raw #1'", '"x #y"', "C#"])
def test_a_hash_yaml_keeps_in_the_value_is_no_comment(params_dir: Path, text: str) -> None:
    read = config.apply_overrides(config.load_profile("default"), [f"ingest.column_map.a={text}"])
    assert read["ingest"]["column_map"] == {"a": text.strip("'\"")}


@pytest.mark.parametrize("text", ["it's", "a[b", "exports [2026]", "don't [x"])
def test_a_quote_or_bracket_inside_plain_text_is_text_not_an_unclosed_value(params_dir: Path, text: str) -> None:
    assert config.apply_overrides(config.load_profile("default"), [f"ingest.column_map.a={text}"])["ingest"]["column_map"] == {"a": text}


@pytest.mark.parametrize(
    ("item", "expected", "write"),
    [
        ("model.horizon_days", r"^--set model\.horizon_days has no '=VALUE'; write --set model\.horizon_days=VALUE", None),
        ("model.horizon_days:3", r"^--set model\.horizon_days:3 has no '=' between the key model\.horizon_days and its value",
         "model.horizon_days=3"),
        ("model.horizon_days 3", r"^--set \"model\.horizon_days 3\" has no '='", "model.horizon_days=3"),
        ("7", r"^--set 7 names no parameter as GROUP\.KEY=VALUE; write e\.g\. --set ", None),
        ("=7", r"^--set =7 names no parameter", None),
        ("model..horizon_days=7", r"^--set model\.\.horizon_days=7 names no parameter", None),
    ],
)
def test_a_set_item_without_key_or_equals_sign_says_what_to_write(
    params_dir: Path, item: str, expected: str, write: str | None
) -> None:
    with pytest.raises(config.ProfileError, match=expected) as raised:
        config.apply_overrides(config.load_profile("default"), [item])
    assert str(raised.value).endswith(".") and "\n" not in str(raised.value)
    if write is not None:
        assert _suggested_items(str(raised.value)) == [write]
        assert config.apply_overrides(config.load_profile("default"), [write])["model"]["horizon_days"] == 3



def test_override_repeating_a_key_says_so_rather_than_to_quote_it(params_dir: Path) -> None:
    # The duplicate-key check made this a YAML error whose only advice, "quote it", would turn the
    # group into text; the sentence must name the repeated key.
    with pytest.raises(config.ProfileError) as raised:
        config.apply_overrides(config.load_profile("default"), ["model={n_estimators: 5, n_estimators: 6}"])
    assert "'n_estimators' appears twice" in str(raised.value) and "\n" not in str(raised.value)

@pytest.fixture
def real_params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "default.yaml").write_text((config.PARAMS_DIR / "default.yaml").read_text())
    monkeypatch.setattr(config, "PARAMS_DIR", tmp_path)
    return tmp_path


def test_shipped_profiles_pass_the_value_checks() -> None:
    for name in config.available_profiles():
        assert config.load_run_params(name) == config.load_profile(name)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.horizon_days=seven"], r"^model\.horizon_days 'seven' is not valid; use a whole number >= 1 \(from --set model\.horizon_days=seven\)\.$"),
        (["model.horizon_days=-3"], r"^model\.horizon_days -3 is not valid; use a whole number >= 1"),
        (["model.test_share=1.5"], r"^model\.test_share 1\.5 is not valid; use a share in \(0, 1\)"),
        (["model.max_samples=0"], r"^model\.max_samples 0 is not valid; use a share in \(0, 1\]"),
        (["model.retrain=sometimes"], r"model\.retrain 'sometimes' is not valid; use one of auto, always, never \(from --set"),
        (["ingest.as_of=2026-13-01"], r"ingest\.as_of '2026-13-01' is not a date; use YYYY-MM-DD .*\(from --set ingest\.as_of=2026-13-01\)"),
        (["ingest.as_of=2026-4-28"], r"ingest\.as_of '2026-4-28' is not a date"),
        (["ingest.window_end=2026-02-01", "ingest.window_start=2026-03-01"],
         r"window_start 2026-03-01 is after ingest.window_end 2026-02-01.*\(from --set ingest\.window_start=2026-03-01 and --set ingest\.window_end=2026-02-01\)"),
        (["ingest.as_of=2026-02-01", "ingest.window_end=2026-03-01"], r"window_end 2026-03-01 is after the as-of date 2026-02-01"),
        (["ingest.column_map=[feature_name, feature_id]"], r"column_map \['feature_name', 'feature_id'\] is not a mapping; use \{their_name: canonical_name\} with canonical names event_time, "),
        (["ingest.column_map={crash_flag: is_crash, session_id: is_crash}"], r"maps both 'crash_flag' and 'session_id' onto 'is_crash'"),
        (["ingest.column_map.ts=timestamp"], r"maps 'ts' onto 'timestamp'; use one of event_time, feature_id"),
        (["ingest.encoding=utf-16"], r"ingest\.encoding 'utf-16' is not valid; use one of utf-8, latin-1"),
        (["engine.n_workers=0"], r"engine\.n_workers 0 is not valid; use a whole number >= 1 \(from --set engine\.n_workers=0\)"),
        (["quality.stopped_after_days=0"], r"^quality\.stopped_after_days 0 is not valid; use a whole number >= 1"),
        (["quality.stopped_after_days=2.5"], r"^quality\.stopped_after_days 2\.5 is not valid; use a whole number >= 1"),
        (["drift.metrics=[p95]"], r"drift\.metrics \['p95'\] is not valid; use a list of one or more of usage_count"),
        (["quality.stop_on_fail=[fresh]"], r"quality\.stop_on_fail \['fresh'\] is not valid; use a list of some of missing_days"),
        # An empty list monitored nothing (an empty heatmap and matplotlib warnings); a repeated metric
        # failed 04_drift with a numpy broadcasting error.
        (["drift.metrics=[]"], r"^drift\.metrics \[\] is not valid; use a list of one or more of usage_count, .*, each once \(from"),
        (["drift.metrics=[crash_rate, crash_rate]"], r"^drift\.metrics \['crash_rate', 'crash_rate'\] is not valid; use a list of one or more of"),
        (["quality.stop_on_fail=[freshness, freshness]"], r"^quality\.stop_on_fail \['freshness', 'freshness'\] is not valid; use a list of some of .*, each once"),
        (["model.operating_threshold=1.5"], r"model\.operating_threshold 1\.5 is not valid; use auto or a probability"),
        (["model.alert_budget=-1"], r"model\.alert_budget -1 is not valid; use null or a number >= 0"),
        (["model.risk_buckets=[0.6, 0.3]"], r"model\.risk_buckets \[0\.6, 0\.3\] is not valid; use auto or two increasing"),
        (["run.html=1"], r"run\.html 1 is not valid; use true or false"),
        (["model.n_jobs=0"], r"^model\.n_jobs 0 is not valid; use a whole number >= 1, or -1 for all cores"),
        (["model.n_jobs=1.5"], r"^model\.n_jobs 1\.5 is not valid"),
        (["model.max_depth=0"], r"model\.max_depth 0 is not valid; use null \(no limit\) or a whole number >= 1"),
        (["model.keep_versions=-1"], r"^model\.keep_versions -1 is not valid; use a whole number >= 0 \(0 keeps every model version\) \(from --set model\.keep_versions=-1\)\.$"),
        (["model.keep_versions=2.5"], r"^model\.keep_versions 2\.5 is not valid; use a whole number >= 0"),
        # PR-AUC needs a positive, and a count of them is whole.
        (["model.promote_min_positives=0"], r"^model\.promote_min_positives 0 is not valid; use a whole number >= 1"),
        (["model.promote_min_positives=2.5"], r"^model\.promote_min_positives 2\.5 is not valid; use a whole number >= 1"),
        # A version names a folder under models/: never one outside it.
        (["model.use_version=../elsewhere"], r"^model\.use_version '\.\./elsewhere' is not valid; use null or a model "
                                             r"version under models/ \(models/registry\.json lists them\), e\.g\. 20260430-0123456789ab \(from"),
        (["model.use_version=20260430"], r"^model\.use_version 20260430 is not valid; use null or a model version"),
        (["simulate.start_date=2026-02-30"], r"simulate\.start_date '2026-02-30' is not valid; use a date YYYY-MM-DD"),
        # Read as YAML, an unquoted no is false: the run looked for a folder named "False".
        (["ingest.source=no"], r"^ingest\.source False is not valid; use text like the default 'simulated', quoted where YAML"),
        (["engine.scheduler_address=1"], r"^engine\.scheduler_address 1 is not valid; use text like the default '' or null"),
        (["ingest.source=null"], r"^ingest\.source None is not valid; use text like the default 'simulated', quoted where YAML would read a true/false, null or number"),
        # YAML 1.1 reads an exponent without a dot and a sign as text: "use a number" alone left the user puzzled.
        (["model.alert_budget=1e9"], r"^model\.alert_budget '1e9' is not valid; use null or a number >= 0 \(false alerts per feature-month\); "
                                     r"YAML reads 1e9 as text, not a number: write 1000000000 \(from --set model\.alert_budget=1e9\)\.$"),
        (["degradation.crash_max_pvalue=1e-7"], r"YAML reads 1e-7 as text, not a number: write 1\.0e-07 \(from"),
        (["simulate.events_per_day=1e3"], r"YAML reads 1e3 as text, not a number: write 1000 \(from"),
        (["model.horizon_days='14'"], r"^model\.horizon_days '14' is not valid; use a whole number >= 1; quoted, it is "
                                      r"text: write 14 without quotes \(from"),
        (["model.horizon_days=2.5e0"], r"^model\.horizon_days '2\.5e0' is not valid; use a whole number >= 1 \(from"),
        # Settings that cannot go together failed 03_model only, after the whole ingest.
        (["model.calibrate=false"], r"^model\.operating_threshold 'auto' is chosen on the calibration days; set "
                                    r"model\.calibrate: true or give a number \(from --set model\.calibrate=false\)\.$"),
        (["model.operating_threshold=0.4", "model.alert_budget=0.3"],
         r"^model\.alert_budget chooses the threshold, so it needs operating_threshold 'auto'; got operating_threshold 0\.4"),
    ],
)
def test_bad_values_name_key_value_allowed_and_source(real_params: Path, overrides: list[str], message: str) -> None:
    with pytest.raises(config.ProfileError, match=message):
        config.load_run_params("default", overrides=overrides)


def test_good_values_pass(real_params: Path) -> None:
    params = config.load_run_params("default", overrides=[
        "ingest.as_of=2026-04-28", "ingest.window_start=2026-04-01", "ingest.column_map.crash_flag=is_crash",
        "model.alert_budget=0.3", "drift.metrics=[crash_rate]", "model.max_depth=null",
        "model.n_jobs=-2", "model.keep_versions=0", "ingest.source='no'", "ingest.metadata_path=null",
        "model.use_version=20260430-0123456789ab",
    ])
    assert params["model"]["use_version"] == "20260430-0123456789ab"
    assert params["ingest"]["source"] == "no"
    assert params["ingest"]["column_map"] == {"crash_flag": "is_crash"}
    assert params["model"]["keep_versions"] == 0
    fixed = config.load_run_params("default", overrides=["model.operating_threshold=0.4", "model.calibrate=false"])
    assert fixed["model"]["operating_threshold"] == 0.4 and fixed["model"]["alert_budget"] is None


def test_a_bad_value_names_the_profile_file_that_set_it(real_params: Path) -> None:
    (real_params / "bad.yaml").write_text("extends: default\ningest:\n  as_of: 2026-02-30\n")
    (real_params / "child.yaml").write_text("extends: bad\nmodel:\n  horizon_days: 3\n")
    with pytest.raises(config.ProfileError, match=r"ingest\.as_of '2026-02-30' is not a date.*\(from bad\.yaml\)\.$"):
        config.load_run_params("child")
    assert config.value_source("model.horizon_days", profile="child", overrides=[]) == "child.yaml"
    assert (config.value_source("model.horizon_days", profile="child", overrides=["model.horizon_days=2"])
            == "--set model.horizon_days=2")
    assert config.value_source("model.test_share", profile="child", overrides=[]) == "default.yaml"




def test_published_path_maps_a_staging_file_to_the_published_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    staged = tmp_path / ".staging" / "my-profile-20261127T082512Z-6f41fa05" / "models" / "risk_model.joblib"
    assert config.published_path(staged) == tmp_path / "my-profile" / "models" / "risk_model.joblib"
    assert config.published_path(staged.parent.parent) == tmp_path / "my-profile"  # the staging copy itself
    assert config.published_path(tmp_path / "ci" / "x.json") == tmp_path / "ci" / "x.json"
    assert config.published_path(tmp_path / ".staging" / "ci.lock") == tmp_path / ".staging" / "ci.lock"


def test_run_paths_name_the_run_id_of_a_staging_copy_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    staged = config.RunPaths(tmp_path / ".staging" / "my-profile-20261127T082512Z-6f41fa05")
    assert staged.run_id == "20261127T082512Z-6f41fa05"
    assert config.RunPaths(tmp_path / "my-profile").run_id is None  # a notebook run by hand


def test_pipeline_order_allows_a_prefix_of_the_pipeline_and_the_dashboard() -> None:
    assert config.pipeline_order_problem(list(config.PIPELINE_NOTEBOOKS[:2])) is None
    assert config.pipeline_order_problem([*config.PIPELINE_NOTEBOOKS, "dashboard.ipynb"]) is None
    assert config.pipeline_order_problem(["dashboard.ipynb"]) is None


def test_pipeline_order_names_the_notebooks_one_needs_first() -> None:
    # ./run_tests.sh notebooks/03_model.ipynb alone: 03 reads the tables 01 and 02 write.
    problem = config.pipeline_order_problem(["03_model.ipynb"])
    assert problem == (
        "03_model.ipynb: pipeline notebooks read what the ones before them wrote; "
        "run 01_ingest.ipynb, 02_aggregate.ipynb, 03_model.ipynb in this order."
    )
    assert config.pipeline_order_problem(["02_aggregate.ipynb", "01_ingest.ipynb"]) is not None


def test_rerun_overrides_repeat_what_differs_from_the_profile_but_the_window() -> None:
    profile = config.load_profile("ci")
    run = config.apply_overrides(profile, [
        "ingest.source=/data/my export", "ingest.as_of=2026-04-21", "ingest.window_start=2026-04-21",
        "ingest.column_map.ts=event_time", "simulate.seed=8", "model.risk_buckets=[0.2, 0.5]", "ingest.encoding=latin-1",
    ])
    groups = {name: run[name] for name in ("simulate", "ingest", "model")}
    items = config.rerun_overrides(profile, groups)
    assert items == [
        "--set simulate.seed=8", "--set 'ingest.source=/data/my export'", "--set ingest.column_map.ts=event_time",
        "--set ingest.encoding=latin-1", "--set 'model.risk_buckets=[0.2, 0.5]'",
    ]
    # Each item reads back as the run's value; the profile's own run needs none.
    import shlex
    values = [shlex.split(item)[1] for item in items]
    assert config.apply_overrides(profile, values + ["ingest.as_of=2026-04-21", "ingest.window_start=2026-04-21"]) == run
    assert config.rerun_overrides(profile, {name: profile[name] for name in ("simulate", "ingest")}) == []
    assert config.rerun_overrides({"ingest": {"source": "simulated"}}, {"ingest": {"source": "true"}}) == [
        "--set 'ingest.source=\"true\"'"]
    # Text YAML cannot read at all (a leading @ is reserved) is quoted too, and reads back as itself.
    item = config.rerun_overrides({"ingest": {"source": "simulated"}}, {"ingest": {"source": "@exports/day"}})
    assert item == ["--set 'ingest.source=\"@exports/day\"'"]
    assert config.apply_overrides(profile, [shlex.split(item[0])[1]])["ingest"]["source"] == "@exports/day"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["quality.freshness_fail_days=-3"], r"^quality\.freshness_fail_days -3 is not valid; use a whole number >= 0 .*\(from --set quality\.freshness_fail_days=-3\)\.$"),
        (["quality.late_rows_warn=-1"], r"^quality\.late_rows_warn -1 is not valid; use a whole number >= 0"),
        (["quality.missing_days_warn=2"], r"^quality\.missing_days_warn 2 is not valid; use a share in \[0, 1\]"),
        (["quality.duplicate_share_fail=-0.1"], r"^quality\.duplicate_share_fail -0\.1 is not valid; use a share in \[0, 1\]"),
        (["quality.volume_baseline_days=0"], r"^quality\.volume_baseline_days 0 is not valid; use a whole number >= 1"),
        (["quality.null_rate_warn=0.5"], r"^quality\.null_rate_warn 0\.5 is above quality\.null_rate_fail 0\.1; .*\(from --set quality\.null_rate_warn=0\.5\)\.$"),
        (["quality.volume_drop_warn=0.05"], r"^quality\.volume_drop_warn 0\.05 is below quality\.volume_drop_fail 0\.1; "),
        (["quality.freshness_warn_days=5"],
         r"^quality\.freshness_warn_days 5 is above quality\.freshness_fail_days 3; set the warn threshold at or "
         r"below the fail one, so a value warns before it fails "),
        (["drift.psi_warn=-0.1"], r"^drift\.psi_warn -0\.1 is not valid; use a number >= 0"),
        # Infinity is a float but no number to suggest writing: no "write inf" hint.
        (["drift.psi_warn=inf"], r"^drift\.psi_warn 'inf' is not valid; use a number >= 0 \(from --set drift\.psi_warn=inf\)\.$"),
        (["drift.psi_warn=0.3"], r"^drift\.psi_warn 0\.3 is above drift\.psi_alert 0\.25; "),
        (["drift.ks_pvalue_alert=0"], r"^drift\.ks_pvalue_alert 0 is not valid; use a p-value in \(0, 1\]"),
        (["drift.ks_pvalue_alert=0.1"], r"^drift\.ks_pvalue_warn 0\.05 is below drift\.ks_pvalue_alert 0\.1; .*\(from --set drift\.ks_pvalue_alert=0\.1\)\.$"),
        (["drift.drift_share_retrain=1.5"], r"^drift\.drift_share_retrain 1\.5 is not valid; use a share in \[0, 1\]"),
        (["drift.max_model_age_days=-1"], r"^drift\.max_model_age_days -1 is not valid; use a whole number >= 0"),
        (["drift.retrain_data_growth=0"],
         r"^drift\.retrain_data_growth 0 is not valid; use null \(off\) or a number > 0, a share of the newest "
         r"model's training days: 0\.5 for 50 % more data \(from --set drift\.retrain_data_growth=0\)\.$"),
        (["drift.retrain_data_growth=half"], r"^drift\.retrain_data_growth 'half' is not valid; use null \(off\) or a number > 0"),
        (["drift.min_samples=1"], r"^drift\.min_samples 1 is not valid; use a whole number >= 2"),
        (["drift.current_days=10"], r"^drift\.current_days 10 is not valid; use a positive multiple of 7 \(whole weeks\)"),
        (["drift.short_window_days=5"], r"^drift\.short_window_days 5 is not valid; use 0 \(off\) or a positive multiple of 7"),
        (["drift.short_window_days=21"], r"^drift\.short_window_days 21 is above drift\.current_days 14; the short window"),
        # Else every cell is insufficient data, or no short window confirms an alert and each one reads warn.
        (["drift.min_samples=15"], r"^drift\.min_samples 15 is above drift\.current_days 14; .*insufficient data"),
        (["drift.min_samples=10"],
         r"^drift\.short_window_days 7 is below drift\.min_samples 10; .* or 0 \(off\) \(from --set drift\.min_samples=10\)\.$"),
        (["drift.reference=trailing", "drift.reference_days=7", "drift.min_samples=14", "drift.short_window_days=14"],
         r"^drift\.min_samples 14 is above drift\.reference_days 7; .*every cell would be insufficient data "
         r"\(from --set drift\.min_samples=14 and --set drift\.reference_days=7\)\.$"),
        (["quality.volume_min_baseline_days=40"],
         r"^quality\.volume_min_baseline_days 40 is above quality\.volume_baseline_days 28; .* no feature-day is ever judged"),
        # These used to pass the up-front check and stop the run in a notebook (exit 1, after the
        # ingest), although docs/operations.md ("Interrupts and exit codes") promises exit 2 before any notebook.
        (["degradation.min_crashes=0"], r"^degradation\.min_crashes 0 is not valid; use a number >= 1 \(from --set degradation\.min_crashes=0\)\.$"),
        (["degradation.crash_max_pvalue=0"], r"^degradation\.crash_max_pvalue 0 is not valid; use a p-value in \(0, 1\]"),
        (["degradation.min_usage=-1"], r"^degradation\.min_usage -1 is not valid; use a number >= 0"),
        (["degradation.min_feedback=-1"], r"^degradation\.min_feedback -1 is not valid; use a number >= 0"),
        (["degradation.p95_latency_rel=0"], r"^degradation\.p95_latency_rel 0 is not valid; use a number > 0"),
        (["degradation.crash_rate_rel=-2"], r"^degradation\.crash_rate_rel -2 is not valid; use a number > 0"),
        (["degradation.feedback_rel_drop=0"], r"^degradation\.feedback_rel_drop 0 is not valid; use a number > 0"),
        (["degradation.min_baseline_days=0"], r"^degradation\.min_baseline_days 0 is not valid; use a whole number >= 1"),
        (["degradation.min_baseline_days=40"],
         r"^degradation\.min_baseline_days 40 is above degradation\.baseline_days 28; .*\(from --set degradation\.min_baseline_days=40\)\.$"),
        (["drift.n_bins=1"], r"^drift\.n_bins 1 is not valid; use a whole number >= 2"),
        (["model.max_features=foo"], r"^model\.max_features 'foo' is not valid; use sqrt, log2, null"),
        (["model.max_features=0"], r"^model\.max_features 0 is not valid"),
        (["model.class_weight=foo"], r"^model\.class_weight 'foo' is not valid; use balanced, balanced_subsample or null"),
        (["model.random_state=-1"], r"^model\.random_state -1 is not valid; use a whole number in 0\.\.4294967295"),
        (["model.random_state=1.5"], r"^model\.random_state 1\.5 is not valid"),
        (["simulate.seed=-1"], r"^simulate\.seed -1 is not valid; use a whole number >= 0"),
        (["simulate.malformed_share=2"], r"^simulate\.malformed_share 2 is not valid; use a share in \[0, 0\.5\)"),
        (["simulate.incidents_per_feature_year=-1"],
         r"^simulate\.incidents_per_feature_year -1 is not valid; use a number in \[0, 15\]"),
        (["simulate.incidents_per_feature_year=30"], r"^simulate\.incidents_per_feature_year 30 is not valid"),
        (["simulate.incidents_per_feature_year=.inf"], r"^simulate\.incidents_per_feature_year inf is not valid"),
    ],
)
def test_values_out_of_range_are_refused_before_the_run(
    real_params: Path, overrides: list[str], message: str
) -> None:
    with pytest.raises(config.ProfileError, match=message):
        config.load_run_params("default", overrides=overrides)


def test_quality_and_drift_thresholds_in_range_pass(real_params: Path) -> None:
    params = config.load_run_params("default", overrides=[
        "quality.missing_days_warn=0", "quality.missing_days_fail=1", "quality.freshness_warn_days=3",
        "quality.volume_drop_warn=0.1", "drift.ks_pvalue_warn=1", "drift.psi_warn=0.25", "drift.max_model_age_days=0",
        "drift.short_window_days=0", "drift.current_days=28", "drift.short_window_days=28", "drift.min_samples=28",
        "quality.volume_min_baseline_days=28",
    ])
    assert params["quality"]["missing_days_fail"] == 1
    assert config.load_run_params("default", overrides=["drift.retrain_data_growth=null"])["drift"][
        "retrain_data_growth"] is None
    assert config.load_run_params("default", overrides=["drift.retrain_data_growth=1.5"])["drift"][
        "retrain_data_growth"] == 1.5
    assert config.load_run_params("default", overrides=[
        "drift.reference=trailing", "drift.reference_days=14", "drift.min_samples=14", "drift.short_window_days=14",
    ])["drift"]["reference_days"] == 14


def test_model_and_degradation_values_in_range_pass(real_params: Path) -> None:
    params = config.load_run_params("default", overrides=[
        "model.max_features=log2", "model.max_features=0.5", "model.max_features=3", "model.max_features=null",
        "model.class_weight=null", "model.class_weight=balanced", "model.random_state=0", "drift.n_bins=2",
        "degradation.min_baseline_days=28", "degradation.crash_max_pvalue=1", "degradation.min_usage=0",
    ])
    assert params["model"]["class_weight"] == "balanced"
    assert params["degradation"]["min_baseline_days"] == 28


@pytest.mark.parametrize(
    ("item", "key"),
    [("ingest.as_of=0", "as_of"), ("ingest.as_of=false", "as_of"), ("ingest.window_start=null", "window_start"),
     ("ingest.window_end=20260630", "window_end")],
)
def test_a_window_key_that_is_not_empty_or_a_date_is_a_usage_error(real_params: Path, item: str, key: str) -> None:
    with pytest.raises(config.ProfileError, match=rf"^ingest\.{key} .* is not a date; use YYYY-MM-DD or \"\" \(from --set {item}\)\.$"):
        config.load_run_params("default", overrides=[item])


def test_simulate_start_date_must_be_text_yyyy_mm_dd(real_params: Path) -> None:
    with pytest.raises(config.ProfileError, match=r"^simulate\.start_date 20260101 is not valid; use a date YYYY-MM-DD"):
        config.load_run_params("default", overrides=["simulate.start_date=20260101"])


def _doc_pages() -> list[Path]:
    """README.md and the pages under docs/ it links to, whose commands and links are checked."""
    return [config.REPO_ROOT / "README.md", *sorted((config.REPO_ROOT / "docs").glob("*.md"))]


def _doc_run_commands() -> list[list[str]]:
    """The ``./run_all.sh PROFILE [--set ...]`` commands of the bash blocks of README.md and docs/*.md, as words."""
    import shlex

    blocks = [block for page in _doc_pages() for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)]
    lines = [line.split("#")[0] for block in blocks for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line.startswith("./run_all.sh ") and "[" not in line]


def test_documented_run_examples_are_valid_and_their_days_are_in_the_simulated_input() -> None:
    from datetime import date, timedelta

    commands = [words for words in _doc_run_commands() if words[1] in config.available_profiles()]
    # The daily run and the backfills moved from the README to docs/operations.md, where a check of
    # the README alone no longer saw them.
    assert any("ingest.as_of" in " ".join(words) for words in commands)
    for words in commands:
        if words[1] == "year":
            continue  # needs the year profile's data: not run in tests
        overrides = [words[i + 1] for i, word in enumerate(words) if word == "--set"]
        params = config.load_run_params(words[1], overrides=overrides)
        simulate = params["simulate"]
        first = date.fromisoformat(simulate["start_date"])
        last = first + timedelta(days=simulate["n_days"] - 1)
        for key in ("as_of", "window_start", "window_end"):
            if params["ingest"][key]:
                assert first <= date.fromisoformat(params["ingest"][key]) <= last, (words, key, last)


def test_documented_backfills_set_the_as_of_date() -> None:
    # Without ingest.as_of a backfill read every file from its window's start to the input's end
    # (121 of default's 180 files for one month, against 31), which the example in
    # docs/operations.md ("Scheduled daily runs and backfills") did.
    windows = [words for words in _doc_run_commands() if any(w.startswith("ingest.window_end=") for w in words)]
    assert windows and all(any(w.startswith("ingest.as_of=") for w in words) for words in windows)


def test_documented_profile_example_for_a_new_feed_is_a_valid_profile(real_params: Path) -> None:
    import fnmatch

    text = "".join(page.read_text(encoding="utf-8") for page in _doc_pages())
    example = re.search(r"```yaml\n# params/myfeed\.yaml\n(.*?)```", text, flags=re.S)
    assert example is not None
    (real_params / "myfeed.yaml").write_text(example[1])
    ingest = config.load_run_params("myfeed")["ingest"]
    assert ingest["column_map"] == {"timestamp": "event_time", "feature_name": "feature_id", "crash_flag": "is_crash"}
    assert ingest["source"].endswith(".csv") and ingest["metadata_path"].endswith(".csv")
    # Its glob /data/exports/myfeed/*.csv matched its own metadata_path
    # /data/exports/myfeed/features.csv: 01_ingest stopped with "File features.csv has no column 'event_time'".
    assert not fnmatch.fnmatch(ingest["metadata_path"], ingest["source"])


def _prose(text: str) -> str:
    """Markdown text without its fenced code blocks, whose ``#`` lines are no headings and whose brackets no links."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _github_anchor(heading: str) -> str:
    """The #anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _broken_links(page: Path) -> list[str]:
    """The relative links and #anchors of a Markdown page that name no file or no heading of it."""
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", _prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # a URL: not this repository's to check
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(target)
        elif anchor:
            headings = re.findall(r"^#{1,6} (.+)$", _prose(linked.read_text(encoding="utf-8")), flags=re.M)
            if anchor not in {_github_anchor(heading) for heading in headings}:
                broken.append(target)
    return broken


def test_github_anchors_drop_punctuation_and_keep_hyphens() -> None:
    assert _github_anchor("Changing the model's settings, and the model registry") == (
        "changing-the-models-settings-and-the-model-registry")
    assert _github_anchor("Measured speed (2-core machine, shared; medians)") == "measured-speed-2-core-machine-shared-medians"


def test_a_link_to_a_moved_section_is_found_broken(tmp_path: Path) -> None:
    # A section moved to another page left "#your-own-telemetry" pointing at nothing.
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "telemetry.md").write_text("# Telemetry\n\n## Your own telemetry\n\n```\n# params/x.yaml\n```\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "## Profiles\n\nSee [Your own telemetry](#your-own-telemetry), [it](docs/telemetry.md#your-own-telemetry),\n"
        "[x](docs/telemetry.md#paramsxyaml), [gone](docs/gone.md), [p](#profiles) and [web](https://example.org/#a).\n"
    )
    assert _broken_links(readme) == ["#your-own-telemetry", "docs/telemetry.md#paramsxyaml", "docs/gone.md"]


@pytest.mark.parametrize("page", _doc_pages(), ids=lambda page: page.relative_to(config.REPO_ROOT).as_posix())
def test_documentation_links_and_anchors_resolve(page: Path) -> None:
    assert _broken_links(page) == []


def test_drift_short_window_days_zero_turns_the_short_window_off_as_documented(real_params: Path) -> None:
    assert config.load_run_params("default", overrides=["drift.short_window_days=0"])["drift"]["short_window_days"] == 0
    with pytest.raises(config.ProfileError, match=r"^drift\.short_window_days -7 is not valid; use 0 \(off\) or a positive multiple of 7"):
        config.load_run_params("default", overrides=["drift.short_window_days=-7"])


@pytest.mark.parametrize("parent", ["nope", "ci.yaml", 3, None, ["default"]])
def test_a_bad_extends_names_the_profile_file_that_holds_it(params_dir: Path, parent: object) -> None:
    # It named only the missing params/nope.yaml (or said "Profile name 3 is not valid"), so a
    # user whose own profile had the typo was not told which file to fix.
    message = _profile_error(params_dir, "mine", f"extends: {parent if parent is not None else ''}\nmodel:\n  horizon_days: 3\n")
    assert message.startswith("mine.yaml: extends: ") and "\n" not in message
    assert "available profiles: default, mine" in message


def test_a_group_that_is_not_a_mapping_in_a_profile_file_says_how_to_write_it_in_yaml(params_dir: Path) -> None:
    # The hint was --set's model.KEY=VALUE, which is no syntax a YAML file takes.
    message = _profile_error(params_dir, "flat", "model: 7\n")
    assert "model.KEY=VALUE" not in message
    assert "'model:'" in message and "horizon_days, risk_buckets" in message


def test_a_key_written_twice_in_a_profile_is_an_error_not_silently_dropped(params_dir: Path) -> None:
    # YAML loaders keep the last of two equal keys: the first 'model' group, and its horizon, were lost.
    message = _profile_error(params_dir, "twice", "model:\n  horizon_days: 3\ningest: {}\nmodel:\n  risk_buckets: [0.2, 0.5]\n")
    assert message.startswith(f"Profile file {params_dir / 'twice.yaml'} is not valid YAML: ")
    assert "'model'" in message and "line 1" in message and "line 4" in message and "\n" not in message
    (params_dir / "nested.yaml").write_text("model:\n  horizon_days: 3\n  horizon_days: 4\n")
    with pytest.raises(config.ProfileError, match=r"'horizon_days'.*line 2.*line 3"):
        config.load_profile("nested")


@pytest.mark.parametrize("key", ["degradation.p95_latency_abs_ms", "model.promote_tolerance", "engine.connect_timeout_s"])
def test_a_nan_number_is_refused(real_params: Path, key: str) -> None:
    # .nan passed as "a number": every comparison with it is false, so a NaN threshold silently
    # turned its rule off (p95_latency_abs_ms) or a promotion into a refusal (promote_tolerance).
    with pytest.raises(config.ProfileError, match=rf"^{re.escape(key)} nan is not valid; use "):
        config.load_run_params("default", overrides=[f"{key}=.nan"])


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("crash_rate_abs", 5, r"a share in \[0, 1\]"), ("crash_rate_rel_floor", -0.01, r"a share in \[0, 1\]"),
    ("feedback_abs", 0, r"a number in \[1, 5\], on the feedback scale \(from"), ("feedback_abs", 6, r"a number in \[1, 5\]"),
    ("p95_latency_abs_ms", 0, r"a number > 0"),
])
def test_an_absolute_degradation_limit_off_its_metric_s_scale_is_an_error(
    real_params: Path, key: str, value: float, allowed: str
) -> None:
    # crash_rate_abs: 5 (meant as 5 %) can never be exceeded by a crash rate (crashes per event):
    # the rule was silently off; feedback_abs: 0 likewise on the 1-5 scale, a limit of 0 ms flagged every day.
    with pytest.raises(config.ProfileError, match=rf"^degradation\.{key} {value} is not valid; use {allowed}"):
        config.resolve_params("default", degradation={key: value})
    with pytest.raises(config.ProfileError, match=rf"^degradation\.{key} {value} is not valid; use {allowed}"):
        config.load_run_params("default", overrides=[f"degradation.{key}={value}"])


@pytest.mark.parametrize(("text", "read_as"), [("010", "8"), ("0042", "34"), ("2:30", "150"), ("1:30.5", "90.5")])
def test_a_number_yaml_1_1_reads_as_octal_or_base_60_is_an_error_not_another_number(
    params_dir: Path, text: str, read_as: str
) -> None:
    # YAML 1.1 reads 010 as 8 and 2:30 as 150: a seed 0042 silently became 34.
    with pytest.raises(config.ProfileError, match=rf"^--set model\.horizon_days={re.escape(text)} is refused, as YAML 1\.1 reads {re.escape(text)} as (octal )?{re.escape(read_as)}") as raised:
        config.apply_overrides(config.load_profile("default"), [f"model.horizon_days={text}"])
    # Both commands the sentence gives do what they say: the number meant (the decimal one for a
    # leading zero, the value read for base 60), or the text as written.
    number, as_text = _suggested_items(str(raised.value))
    meant = int(text.lstrip("0")) if ":" not in text else float(read_as) if "." in read_as else int(read_as)
    assert config.apply_overrides(config.load_profile("default"), [number])["model"]["horizon_days"] == meant
    assert config.apply_overrides(config.load_profile("default"), [as_text])["model"]["horizon_days"] == text
    with pytest.raises(config.ProfileError, match=r"reads 010 as octal 8; write 10 for the number, or '010' for text\.$"):
        config.apply_overrides(config.load_profile("default"), ["model.risk_buckets=[010, 0.5]"])
    (params_dir / "octal.yaml").write_text(f"model:\n  horizon_days: {text}\n")
    with pytest.raises(config.ProfileError, match=r"octal.yaml is not valid YAML: .* at line 2"):
        config.load_profile("octal")
    # Quoted, it is text as before; 0, 0.5, 0x10 and 1_000 are numbers as before.
    assert config.apply_overrides(config.load_profile("default"), [f"model.horizon_days='{text}'"])["model"]["horizon_days"] == text
    for plain, number in (("0", 0), ("0.5", 0.5), ("0x10", 16), ("1_000", 1000), ("-7", -7)):
        assert config.apply_overrides(config.load_profile("default"), [f"model.horizon_days={plain}"])["model"]["horizon_days"] == number


@pytest.mark.parametrize(("variable", "root"), [("FEATUREHEALTH_OUTPUT_ROOT", config.output_root),
                                                 ("FEATUREHEALTH_DATA_ROOT", config.data_root)])
def test_an_empty_root_variable_is_unset_not_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, root: object
) -> None:
    # FEATUREHEALTH_OUTPUT_ROOT= (say, $OUT unset in a cron line) resolved to the current folder:
    # a run published its profile folders, .staging included, wherever it was started.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, "")
    assert root() == (config.REPO_ROOT / ("outputs" if variable == "FEATUREHEALTH_OUTPUT_ROOT" else "data")).resolve()


def test_set_naming_a_mapping_entry_with_a_dot_says_to_use_a_profile_file(params_dir: Path) -> None:
    # ingest.column_map.event.time=event_time replaced the whole mapping with {event: {time: ...}},
    # and the check then blamed a column 'event' mapped onto a mapping.
    with pytest.raises(config.ProfileError, match=r"^--set ingest\.column_map\.event\.time=event_time: .*'event\.time'.*profile file") as raised:
        config.apply_overrides(config.load_profile("default"), ["ingest.column_map.event.time=event_time"])
    assert "\n" not in str(raised.value)


def test_drop_before_needs_a_date_on_or_before_the_window_start() -> None:
    # The way out of a stray published day: it may drop only days the run's window does not publish.
    window = {"as_of": "2026-04-29", "window_start": "2026-04-29"}
    assert config.resolve_params("ci", ingest={**window, "drop_before": "2026-01-01"})["ingest"]["drop_before"] == "2026-01-01"
    assert config.resolve_params("ci", ingest={**window, "drop_before": "2026-04-29"})
    with pytest.raises(config.ProfileError, match=r"^ingest\.drop_before 2026-04-30 is after ingest\.window_start "
                                                  r"2026-04-29: it would drop days this run publishes; set it on or "
                                                  r"before the window's first day"):
        config.resolve_params("ci", ingest={**window, "drop_before": "2026-04-30"})
    with pytest.raises(config.ProfileError, match=r"^ingest\.drop_before 2026-01-01 needs ingest\.window_start set "
                                                  r"on or after it"):
        config.resolve_params("ci", ingest={"drop_before": "2026-01-01"})
    with pytest.raises(config.ProfileError, match=r"^ingest\.drop_before '2026-1-1' is not valid; use \"\" \(none\) "
                                                  r"or a date YYYY-MM-DD"):
        config.resolve_params("ci", ingest={**window, "drop_before": "2026-1-1"})
    # Done once: the commands a run suggests (late_rows's re-run, published_gap's backfill) do not repeat it.
    profile = config.load_profile("ci")
    assert config.rerun_overrides(profile, {"ingest": {**profile["ingest"], "drop_before": "2026-01-01"}}) == []


def _nested_aliases(levels: int) -> str:
    """A YAML flow list whose aliases nest ``levels`` deep, each naming the one before nine times ("billion laughs")."""
    names = [f"l{i}" for i in range(levels + 1)]
    lists = ['&l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lists += [f"&{name} [{', '.join([f'*{previous}'] * 9)}]" for previous, name in zip(names, names[1:], strict=False)]
    return f"[{', '.join(lists)}]"


def test_nested_yaml_aliases_are_one_sentence_not_a_hang(params_dir: Path) -> None:
    # Nine levels expand to 9**10 values: the value check spelled the whole list out, and the run
    # hung (killed after minutes) before its first notebook.
    message = _profile_error(params_dir, "laughs", f"model:\n  risk_buckets: {_nested_aliases(9)}\n")
    assert message == (f"Profile file {params_dir / 'laughs.yaml'} holds more than 10,000 values once its YAML "
                       f"aliases are expanded; write the values out.")
    with pytest.raises(config.ProfileError, match=r"^--set model\.risk_buckets: the value holds more than 10,000 "
                                                  r"values once its YAML aliases are expanded; write the value out\.$"):
        config.apply_overrides(config.load_profile("default"), [f"model.risk_buckets={_nested_aliases(9)}"])
    # An alias used a few times is still a value like any other.
    (params_dir / "shared.yaml").write_text("model:\n  risk_buckets: &cuts [0.2, 0.5]\ningest:\n  column_map: {a: *cuts}\n")
    assert config.load_profile("shared")["ingest"]["column_map"] == {"a": [0.2, 0.5]}


def test_expands_beyond_counts_each_container_key_and_item_up_to_its_limit() -> None:
    # Both lists and their three items are five values: at a limit of five, not beyond it.
    assert not config._expands_beyond([1, 2, [3]], limit=5) and config._expands_beyond([1, 2, [3]], limit=4)
    # A mapping's keys count as its values do: {a: 1, b: 2} holds five.
    assert config._expands_beyond({"a": 1, "b": 2}, limit=4) and not config._expands_beyond({"a": 1, "b": 2}, limit=5)
    # So do a !!set's members.
    assert config._expands_beyond(yaml.load("!!set {a, b, c}", Loader=config._loader()), limit=3)


def test_socket_parent_moves_to_tmp_only_where_the_sockets_would_not_bind(tmp_path: Path) -> None:
    # Under a long TMPDIR a kernel's socket path passed the limit and no kernel started
    # ("ZMQError: File name too long"); a short one keeps the temporary directory.
    import socket

    room = 30
    longest = Path("/" + "t" * (config.MAX_SOCKET_PATH - room - 1))
    assert config.socket_parent(longest, room=room) == longest
    assert config.socket_parent(Path(f"{longest}t"), room=room) == Path("/tmp")
    assert config.socket_parent(Path("/tmp"), room=room) == Path("/tmp")
    # The limit binds: a socket path of MAX_SOCKET_PATH bytes works here (Linux allows 107).
    folder = f"{tmp_path}/"
    with socket.socket(socket.AF_UNIX) as unix:
        unix.bind(folder + "s" * (config.MAX_SOCKET_PATH - len(folder)))


def _documented_parameters(doc: str) -> list[str] | None:
    """The names of a numpydoc ``Parameters`` section in order (``x, y : int`` gives both), None without one."""
    section = re.search(r"^Parameters\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, flags=re.S | re.M)
    if section is None:
        return None
    heads = [line.split(" : ")[0] for line in section[1].splitlines() if line and not line[0].isspace()]
    return [name.strip().lstrip("*") for head in heads for name in head.split(",")]


def _public_callables() -> list[tuple[str, object]]:
    """Every public function, class and public method defined in a module of ``featurehealth``."""
    import importlib
    import inspect
    import pkgutil

    import featurehealth

    found = []
    for info in pkgutil.walk_packages(featurehealth.__path__, "featurehealth."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != info.name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found.append((f"{info.name}.{name}", obj))
            if inspect.isclass(obj):
                found += [(f"{info.name}.{name}.{attr}", getattr(obj, attr)) for attr, member in vars(obj).items()
                          if not attr.startswith("_")
                          and (inspect.isfunction(member) or isinstance(member, (staticmethod, classmethod)))]
    return found


def _parameter_mismatch(obj: object) -> str:
    """How the ``Parameters`` section of ``obj``'s docstring differs from its signature, "" when it does not.

    A function whose summary says "keyword names = the ``<group>`` group" may leave out keywords
    that are keys of that group of params/default.yaml, which documents them.
    """
    import inspect

    doc = inspect.getdoc(obj) or ""
    documented = _documented_parameters(doc)
    if documented is None:
        return ""
    real = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
    group = re.search(r"keyword names = the ``(\w+)`` group", doc.split("\n", 1)[0])
    keys = set(config.load_profile("default")[group[1]]) if group else set()
    extra = [name for name in documented if name not in real]
    missing = [name for name in real if name not in documented and name not in keys]
    if extra or missing:
        return f"documents {extra} that it does not take, omits {missing} that it takes"
    order = [name for name in real if name in documented]
    return "" if documented == order else f"documents {documented} in another order than {order}"


def test_documented_parameters_are_read_from_a_numpydoc_section() -> None:
    doc = "Summary.\n\nParameters\n----------\nx, y : int\n    Both.\n**kwargs\n    More.\n\nReturns\n-------\nint\n    Sum.\n"
    assert _documented_parameters(doc) == ["x", "y", "kwargs"]
    assert _documented_parameters("Summary without sections.") is None

    def grouped(a: int, *, b: int, **facts: int) -> None:
        """Summary.

        Parameters
        ----------
        a : int
            One.
        gone : int
            A parameter that was removed.
        """

    assert _parameter_mismatch(grouped) == "documents ['gone'] that it does not take, omits ['b', 'facts'] that it takes"


def test_every_documented_parameter_list_matches_its_signature() -> None:
    # Signatures moved on and docstrings did not: check_threshold_pair documented its positional
    # parameters as (warn_key, fail_key, warn, fail), calling order (warn_key, warn, fail_key, fail).
    callables = _public_callables()
    assert len(callables) > 400
    mismatched = {name: problem for name, obj in callables if (problem := _parameter_mismatch(obj))}
    assert mismatched == {}


#: Each (file under lib/featurehealth, function, parameter) that changes the object passed as that parameter
#: on purpose, and why. Anything else a function writes into, it must copy or build anew first.
DELIBERATE_INPUT_MUTATIONS = {
    ("dashboard/app.py", "Dashboard.fill", "out"): "its job: replace what the Output widget it is given shows",
    ("runner.py", "_register_engine.LaunchedKernelEngine.execute_managed_notebook", "nb_man"):
        "papermill's engine hook; output_path is set aside for the run and put back in a finally",
    ("runner.py", "_write_succeeded_report", "report"): "the run's report is one dict its helpers complete in turn",
    ("runner.py", "_close_stopped_run", "report"): "the run's report is one dict its helpers complete in turn",
    ("runner.py", "_run_steps", "report"): "the run's report is one dict its helpers complete in turn",
    ("runner.py", "_finish_report", "report"): "the run's report is one dict its helpers complete in turn",
}

#: Methods that change the object they are called on (list, dict, set and DataFrame ones).
_MUTATING_METHODS = {"append", "extend", "update", "pop", "clear", "sort", "setdefault", "insert", "remove",
                     "popitem", "add", "discard"}


def _root_name(node: object) -> str | None:
    """The name that ``a.b[c].d`` starts from, None when it starts from anything else (a call's result)."""
    import ast

    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _names_changed_by(node: object) -> list[str | None]:
    """The names whose objects ``node`` writes into (``x[k] = v``, ``x.a = v``, ``x.update()``, ``inplace=True`` ...)."""
    import ast

    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        return [_root_name(sub) for target in targets for sub in ast.walk(target)
                if isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.ctx, (ast.Store, ast.Del))]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        inplace = any(k.arg == "inplace" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                      for k in node.keywords)
        if node.func.attr in _MUTATING_METHODS or inplace:
            return [_root_name(node.func.value)]
    return []


def _input_mutations(source: str) -> list[tuple[str, str, int]]:
    """(function, parameter, line) of each statement of ``source`` that changes an object passed to its function.

    A parameter counts until its name is bound anew (``frame = frame.copy()``), in the order of the
    lines; ``self`` and ``cls`` of a method do not count. A nested function is checked on its own.
    """
    import ast

    found = []

    def own_nodes(function: ast.AST) -> list[ast.AST]:
        nodes, stack = [], list(reversed(function.body))
        while stack:
            nodes.append(node := stack.pop())
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                stack.extend(reversed(list(ast.iter_child_nodes(node))))
        return nodes

    def visit(node: ast.AST, prefix: str, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", True)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = child.args
                names = [arg.arg for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if arg]
                static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in child.decorator_list)
                params = set(names[1:] if in_class and not static else names)
                for sub in own_nodes(child):
                    found.extend((prefix + child.name, name, sub.lineno) for name in _names_changed_by(sub)
                                 if name in params)
                    if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                        params.discard(sub.id)
                visit(child, f"{prefix}{child.name}.", False)
            else:
                visit(child, prefix, in_class)

    visit(ast.parse(source), "", False)
    return found


def test_the_input_mutation_check_finds_each_way_to_change_a_parameter() -> None:
    source = '''
def change(df, d, items, s, *, other=None):
    df["x"] = 1
    df.loc[0, "a"] = 2
    df.attrs["k"] = 1
    del df["x"]
    df.insert(0, "c", 1)
    df.pop("c")
    df.sort_values("a", inplace=True)
    df.index.name = "i"
    df.columns = ["a"]
    d.update({})
    d.setdefault("a", 1)
    items.append(1)
    items.sort()
    s.name = "x"
    other.attr = 2

def copy_first(df, d):
    df = df.copy()
    df["x"] = 1
    df.sort_values("a", inplace=False)
    d.copy().update({})

class Holder:
    def __init__(self, x):
        self.x = x

    def set(self, x):
        self.x = x
        x.owner = self
'''
    found = _input_mutations(source)
    assert [(function, parameter) for function, parameter, _ in found] == (
        [("change", "df")] * 9 + [("change", "d")] * 2 + [("change", "items")] * 2
        + [("change", "s"), ("change", "other"), ("Holder.set", "x")])
    assert [line for _, _, line in found] == [*range(3, 18), 31]


def test_no_function_changes_a_frame_or_mapping_passed_to_it_but_the_deliberate_ones() -> None:
    # The style returns new frames: a notebook user's frame changed by a call to the library
    # is a silent bug, which pandas' copy-on-write does not prevent for the frame passed in.
    package = Path(config.__file__).parent
    found: dict[tuple[str, str, str], list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        file = path.relative_to(package).as_posix()
        for function, parameter, line in _input_mutations(path.read_text(encoding="utf-8")):
            found.setdefault((file, function, parameter), []).append(f"{file}:{line}")
    assert {key: lines for key, lines in found.items() if key not in DELIBERATE_INPUT_MUTATIONS} == {}
    # An entry whose function changed or went stays allowed for nothing.
    assert set(DELIBERATE_INPUT_MUTATIONS) <= set(found)


@pytest.mark.parametrize(("text", "problem"), [
    (None, "it does not exist"),
    ("{not json", "it is not valid JSON (Expecting property name enclosed in double quotes: line 1, column 2)"),
    ("[]", f"it lacks {', '.join(config.PUBLISH_JOURNAL_KEYS)}"),
], ids=["missing", "cut", "list"])
def test_an_unreadable_publish_journal_s_problem_is_said_in_words(tmp_path: Path, text: str | None, problem: str) -> None:
    # The runner's message quoted "(JSONDecodeError: Expecting ...)", Python's class name for a cut file.
    journal = tmp_path / "default.publish.json"
    if text is not None:
        journal.write_text(text, encoding="utf-8")
    assert config.read_publish_journal(journal) == (None, problem)
