"""Serving the dashboard on 127.0.0.1 and the browser set-up (featurehealth.dashboard.serve)."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from featurehealth.dashboard import serve


@pytest.mark.parametrize("port", [0, 65536, True, "8866", 80.0])
def test_check_port_refuses_non_ports(port: object) -> None:
    with pytest.raises(ValueError, match="1..65535"):
        serve.check_port(port)  # type: ignore[arg-type]


def test_voila_serves_only_the_dashboard_on_localhost() -> None:
    command = serve.voila_command(port=9999, python="py")
    assert command[:4] == ["py", "-m", "voila", str(serve.NOTEBOOK)]
    assert {"--Voila.ip=127.0.0.1", "--port=9999", "--no-browser", "--Voila.port_retries=0",
            "--VoilaConfiguration.show_tracebacks=False", "--KernelManager.transport=ipc"} <= set(command)


def test_voila_s_sockets_go_to_tmp_under_a_temporary_directory_too_long_for_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under a long $TMPDIR the path of a kernel's socket passed the limit: Voila failed with
    # "File name too long" and the page never drew.
    import uuid

    assert len(f"/voila_{'x' * 8}/kernel-{uuid.uuid4()}-ipc-5") == serve.VOILA_SOCKET_ROOM
    monkeypatch.setattr(tempfile, "tempdir", "/" + "t" * 60)
    assert "--Voila.connection_dir_root=/tmp" in serve.voila_command(port=9999, python="py")
    monkeypatch.setattr(tempfile, "tempdir", "/scratch/tmp")
    assert "--Voila.connection_dir_root=/scratch/tmp" in serve.voila_command(port=9999, python="py")


def test_environment_pins_the_outputs_root_without_touching_the_base(tmp_path: Path) -> None:
    base = {"FEATUREHEALTH_OUTPUT_ROOT": "/elsewhere", "HOME": "/home/x"}
    env = serve.voila_environment(base, output_root=tmp_path)
    assert env["FEATUREHEALTH_OUTPUT_ROOT"] == str(tmp_path) and env["HOME"] == "/home/x"
    assert base["FEATUREHEALTH_OUTPUT_ROOT"] == "/elsewhere"


def test_wait_for_port_sees_a_listener_and_times_out_without_one() -> None:
    with socket.socket() as listener:
        listener.bind((serve.HOST, 0))
        listener.listen()
        serve.wait_for_port(listener.getsockname()[1], timeout=5)
    with pytest.raises(TimeoutError, match="Nothing listens"):
        serve.wait_for_port(serve.free_port(), timeout=0.3)


def test_wait_for_port_stops_when_the_server_exits() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    with pytest.raises(RuntimeError, match="exited with code 3"):
        serve.wait_for_port(serve.free_port(), timeout=5, process=process)


def test_only_the_dashboard_server_is_reachable_from_the_page() -> None:
    assert serve.is_local("http://127.0.0.1:8866/voila/static/x.js", port=8866)
    assert serve.is_local("data:image/png;base64,AAAA", port=8866)
    assert not serve.is_local("https://cdn.jsdelivr.net/npm/x.css", port=8866)
    assert not serve.is_local("http://127.0.0.1:8867/", port=8866)


def test_main_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve.main(["http"]) == 2
    assert "port must be an integer in 1..65535, got 'http'" in capsys.readouterr().err


def test_main_help_prints_the_usage_instead_of_refusing_it_as_a_port(capsys: pytest.CaptureFixture[str]) -> None:
    # "--help" was read as the port: "the port must be an integer in 1..65535, got '--help'", exit 2.
    for flag in ("-h", "--help"):
        assert serve.main([flag]) == 0
        out = capsys.readouterr()
        assert "[PORT]" in out.out and str(serve.DEFAULT_PORT) in out.out and not out.err


def test_main_refuses_a_busy_port_before_starting_voila(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind((serve.HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not serve.port_is_free(port)
        assert serve.main([str(port)]) == 1
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
    assert serve.port_is_free(port)


def test_an_empty_port_variable_means_the_default_port(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # "PORT= scripts/serve_dashboard.sh" (a variable left empty in a unit file) was refused as "got ''".
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind((serve.HOST, 0))
        busy.listen()
        monkeypatch.setattr(serve, "DEFAULT_PORT", busy.getsockname()[1])
        monkeypatch.setenv("PORT", "")
        assert serve.main([]) == 1  # the default port, busy here, so Voila never starts
    assert f"port {serve.DEFAULT_PORT} on 127.0.0.1 is in use" in capsys.readouterr().err


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free() -> None:
    """A dashboard stopped after a visit leaves its side of the connections in TIME_WAIT for a minute;
    Voila binds over them, so restarting it at once was refused as 'in use' with nothing serving."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Voila's server does
        server.bind((serve.HOST, 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection((serve.HOST, port))
        accepted, _ = server.accept()
        accepted.close()  # the server closes first: its end waits in TIME_WAIT
        client.recv(1)
        client.close()
    assert serve.port_is_free(port)


def test_main_says_why_a_port_it_may_not_use_is_refused_rather_than_calling_it_busy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 80 as a non-root user: bind fails with EACCES, which read "port 80 ... is in use".
    class NoRight(socket.socket):
        def bind(self, address: object) -> None:
            raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(socket, "socket", NoRight)
    assert serve.main(["80"]) == 1
    err = capsys.readouterr().err
    assert "in use" not in err and "cannot listen on 127.0.0.1:80 (Permission denied)" in err
    assert err.count("\n") == 1
