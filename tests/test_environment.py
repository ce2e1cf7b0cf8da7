"""The conda environment file and the pip lock pin the same top-level versions; setup_env.sh installs them once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from featurehealth import config

# conda-forge names that differ from PyPI names
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def _lock_pins() -> dict[str, str]:
    text = (config.REPO_ROOT / "requirements.lock").read_text(encoding="utf-8")
    return {m[0].lower(): m[1] for m in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", text, re.M)}


def _environment_pins() -> dict[str, str]:
    import yaml

    env = yaml.safe_load((config.REPO_ROOT / "environment.yml").read_text(encoding="utf-8"))
    pins: dict[str, str] = {}
    for dep in env["dependencies"]:
        specs = dep["pip"] if isinstance(dep, dict) else [dep]
        for spec in specs:
            match = re.match(r"^([A-Za-z0-9_.-]+)==?([^=\s]+)$", spec)
            if match and match[1] != "python":
                pins[CONDA_TO_PYPI.get(match[1], match[1]).lower()] = match[2]
    return pins


def test_environment_yml_matches_lock() -> None:
    lock, env = _lock_pins(), _environment_pins()
    assert len(env) >= 15
    mismatched = {name: (version, lock.get(name)) for name, version in env.items() if lock.get(name) != version}
    assert mismatched == {}, f"environment.yml vs requirements.lock (env, lock): {mismatched}"


def test_every_top_level_requirement_is_in_environment_yml() -> None:
    wanted = re.findall(r"^([A-Za-z0-9_.-]+)==", (config.REPO_ROOT / "requirements.in").read_text(), re.M)
    assert sorted(n.lower() for n in wanted) == sorted(_environment_pins())


def test_lock_has_hashes_for_every_pin() -> None:
    text = (config.REPO_ROOT / "requirements.lock").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 3)[-1])
    unhashed = [b.split()[0] for b in blocks if "==" in b.split("\n")[0] and "--hash=sha256:" not in b]
    assert unhashed == []


def test_two_first_runs_at_once_install_the_environment_once(tmp_path: Path) -> None:
    # Without the lock both saw no stamp and installed into one .venv at the same time.
    (tmp_path / "scripts").mkdir()
    setup = tmp_path / "scripts" / "setup_env.sh"
    shutil.copy(config.REPO_ROOT / "scripts" / "setup_env.sh", setup)
    for name in ("requirements.lock", "pyproject.toml"):
        (tmp_path / name).write_text(name)
    log = tmp_path / "installs.log"
    fake = f'#!/bin/sh\necho "$(basename "$0") $1" >> {log}\n[ "$1" = -c ] && echo /nonexistent\nsleep 0.5\n'
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    for tool in ("python", "uv"):
        (tmp_path / ".venv" / "bin" / tool).write_text(fake)
        (tmp_path / ".venv" / "bin" / tool).chmod(0o755)
    env = {**os.environ, "PYTHON": sys.executable}
    runs = [subprocess.Popen(["bash", str(setup)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)]
    outputs = [run.communicate(timeout=60)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert log.read_text().count("python -m") == 2  # one run's pip install of uv and its compileall
    assert sum("environment ready" in output for output in outputs) == 1


def _checkout_with_fake_tools(root: Path, *, uv_editable: str, python: str = "") -> list[str]:
    """A checkout in ``root`` whose .venv's uv runs only the shell command ``uv_editable``, for its ``-e``
    install, and whose python runs ``python``; the setup command."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy(config.REPO_ROOT / "scripts" / "setup_env.sh", root / "scripts" / "setup_env.sh")
    for name in ("requirements.lock", "pyproject.toml"):
        (root / name).write_text(name)
    (root / "lib").mkdir()
    (root / ".venv" / "bin").mkdir(parents=True)
    for tool, body in (("python", python), ("uv", f'case "$*" in *" -e "*) {uv_editable};; esac')):
        (root / ".venv" / "bin" / tool).write_text(f"#!/bin/sh\n{body}\n")
        (root / ".venv" / "bin" / tool).chmod(0o755)
    return ["bash", str(root / "scripts" / "setup_env.sh")]


def _set_up(command: list[str], **env: str) -> None:
    result = subprocess.run(command, env={**os.environ, "PYTHON": sys.executable, **env}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_python_starts_under_lc_all_c_in_a_checkout_with_a_non_ascii_path(tmp_path: Path) -> None:
    # Python 3.11 reads .pth files in the locale's encoding, and setuptools writes them so: under
    # LC_ALL=C (cron) a checkout in /data/équipe/fh could not be set up, and one set up before
    # stopped every start of Python with a UnicodeDecodeError.
    root = tmp_path / "feature héalth"
    site = root / ".venv" / "lib" / "python3.11" / "site-packages"
    pth = site / "__editable__.featurehealth-0.1.0.pth"
    python = f"'{sys.executable}' -c"
    command = _checkout_with_fake_tools(
        root, uv_editable=f"{python} \"open('{pth}', 'w', encoding='locale').write('{root}/lib')\"",
        python=f"exec {python} \"import site; site.addsitedir('{site}')\"",  # as Python starts
    )
    site.mkdir(parents=True)
    pth.write_text(f"{root}/lib\n")  # as a setup before this one left it
    _set_up(command, LC_ALL="C")
    assert (site / pth.read_text().strip()).resolve() == (root / "lib").resolve()


def test_an_environment_set_up_under_umask_0_is_not_writable_by_all(tmp_path: Path) -> None:
    # Any user of the host could change the code that every run, test and dashboard imports; a
    # file of a .venv set up before under umask 0 (the python here) is made safe too.
    root = tmp_path / "fh"
    site = root / ".venv" / "lib" / "python3.11" / "site-packages"
    command = _checkout_with_fake_tools(root, uv_editable=f"mkdir -p '{site}' && echo x > '{site}/fake.py'")
    (root / ".venv" / "bin" / "python").chmod(0o777)
    _set_up(["bash", "-c", 'umask 000 && exec "$@"', "umask", *command])
    venv = root / ".venv"
    assert [p for p in (venv, *venv.rglob("*")) if p.stat().st_mode & 0o002] == []


def _run_all_with_setup(tmp_path: Path, setup_body: str) -> subprocess.CompletedProcess[str]:
    """Run a copy of run_all.sh whose scripts/setup_env.sh is ``setup_body``."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(config.REPO_ROOT / "run_all.sh", tmp_path / "run_all.sh")
    (tmp_path / "scripts" / "setup_env.sh").write_text(f"#!/bin/sh\n{setup_body}\n")
    (tmp_path / "scripts" / "setup_env.sh").chmod(0o755)
    return subprocess.run(["bash", str(tmp_path / "run_all.sh"), "ci"], capture_output=True, text=True, timeout=60)


def test_run_all_exits_1_when_setup_fails_with_another_code(tmp_path: Path) -> None:
    # uv exits 2 on its errors, which a scheduler read as run_all's "unknown profile or bad --set".
    result = _run_all_with_setup(tmp_path, "echo 'error: File not found: requirements.lock' >&2\nexit 2")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error: File not found: requirements.lock"
    assert len(lines) == 2 and lines[1].startswith("run_all: FAILED: scripts/setup_env.sh could not set up .venv")


def test_run_all_keeps_the_exit_code_of_a_setup_stopped_by_a_signal(tmp_path: Path) -> None:
    # A stopped run is an interrupted one (143), not a failed one.
    result = _run_all_with_setup(tmp_path, "kill -TERM $$")
    assert result.returncode == 143 and "run_all:" not in result.stderr
