"""The Lambda Runtime API shim, driven by a real custom runtime (a script speaking the Runtime API)."""

import json
import sys
import textwrap
from pathlib import Path

import pytest

from delivery_tools.localcloud.images.lambda_runtime import runtime_api
from delivery_tools.localcloud.images.lambda_runtime.image import host_entries

# A minimal custom runtime: fetch the next event, answer with (or fail on) what the event asks for.
RUNTIME = textwrap.dedent(
    """
    import json, os, sys, urllib.request
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
    with urllib.request.urlopen(api + "/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = int(response.headers["Lambda-Runtime-Deadline-Ms"])
        event = json.loads(response.read())
    print("runtime log line", file=sys.stderr)
    if event.get("mode") == "crash":
        sys.exit(3)
    outcome = "error" if event.get("mode") == "fail" else "response"
    body = json.dumps({"echo": event, "deadline_set": deadline > 0, "handler": os.environ.get("_HANDLER")})
    request = urllib.request.Request(api + "/invocation/" + request_id + "/" + outcome, data=body.encode())
    urllib.request.urlopen(request).read()
    if event.get("mode") == "hang":
        import time; time.sleep(60)
    """
)


@pytest.fixture
def bootstrap(tmp_path: Path) -> list[str]:
    script = tmp_path / "bootstrap.py"
    script.write_text(RUNTIME)
    return [sys.executable, str(script)]


def test_the_event_reaches_the_runtime_and_its_response_comes_back(bootstrap: list[str]) -> None:
    result, failed = runtime_api.invoke(bootstrap, json.dumps({"RequestType": "Create"}).encode(), 30)
    assert not failed
    assert json.loads(result)["echo"] == {"RequestType": "Create"}
    assert json.loads(result)["deadline_set"] is True


def test_an_error_report_marks_the_invocation_failed(bootstrap: list[str]) -> None:
    result, failed = runtime_api.invoke(bootstrap, b'{"mode": "fail"}', 30)
    assert failed
    assert json.loads(result)["echo"] == {"mode": "fail"}


def test_a_runtime_that_exits_without_answering_fails_with_its_status(bootstrap: list[str]) -> None:
    result, failed = runtime_api.invoke(bootstrap, b'{"mode": "crash"}', 30)
    assert failed
    assert "status 3" in json.loads(result)["errorMessage"]


def test_the_runtime_is_stopped_once_it_answered(bootstrap: list[str]) -> None:
    # The runtime sleeps after answering; invoke must return promptly rather than wait for it.
    result, failed = runtime_api.invoke(bootstrap, b'{"mode": "hang"}', 30)
    assert not failed
    assert json.loads(result)["echo"] == {"mode": "hang"}


def test_a_runtime_that_never_answers_times_out(tmp_path: Path) -> None:
    script = tmp_path / "silent.py"
    script.write_text("import time; time.sleep(60)\n")
    result, failed = runtime_api.invoke([sys.executable, str(script)], b"{}", 1)
    assert failed
    assert json.loads(result)["errorType"] == "Sandbox.Timedout"


def test_main_prints_the_result_as_the_last_line(
    bootstrap: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    task_root = tmp_path / "task"
    task_root.mkdir()
    launcher = task_root / "bootstrap"
    launcher.write_text(f"#!/bin/sh\nexec {' '.join(bootstrap)}\n")
    launcher.chmod(0o755)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(task_root))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_TIMEOUT", "30")
    monkeypatch.setattr(runtime_api, "HOSTS_FILE", tmp_path / "hosts")
    monkeypatch.setattr("os.geteuid", lambda: 1000)  # run the runtime as ourselves

    status = runtime_api.main(["main.handler", json.dumps({"multi": "line\nvalue"})])

    last_line = capsys.readouterr().out.splitlines()[-1]
    assert status == 0
    assert json.loads(last_line)["echo"] == {"multi": "line\nvalue"}
    assert json.loads(last_line)["handler"] == "main.handler"


def test_main_fails_clearly_without_a_bootstrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setattr(runtime_api, "HOSTS_FILE", tmp_path / "hosts")
    assert runtime_api.main(["handler", "{}"]) == 1
    assert "no bootstrap" in json.loads(capsys.readouterr().out.splitlines()[-1])["errorMessage"]


def test_host_entries_are_added_once_each_at_its_own_address(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    entries = host_entries({"b.example": "127.0.0.3", "a.example": "127.0.0.2"})
    runtime_api.add_host_entries(["host.docker.internal", *entries], hosts)
    runtime_api.add_host_entries(["127.0.0.9=a.example", "host.docker.internal"], hosts)
    assert hosts.read_text().splitlines() == [
        "127.0.0.1 localhost",
        "127.0.0.1 host.docker.internal",
        "127.0.0.2 a.example",
        "127.0.0.3 b.example",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(b'{"a":\n 1}', '{"a": 1}'), (b"", "null"), (b"plain\ntext", '"plain\\ntext"')],
)
def test_results_are_printed_on_one_line(raw: bytes, expected: str) -> None:
    assert runtime_api.one_line(raw) == expected


def test_a_runtime_that_leaves_without_reading_the_acknowledgement_is_no_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The runtime posts its response and closes at once (Node.js may exit that fast): no traceback in the log."""
    script = tmp_path / "hasty.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, socket, urllib.request
            host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
            base = "http://" + host + ":" + port + "/2018-06-01/runtime"
            with urllib.request.urlopen(base + "/invocation/next") as response:
                request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            body = b'{"done": true}'
            head = f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\\r\\nHost: x\\r\\n"
            head += f"Content-Length: {len(body)}\\r\\nConnection: close\\r\\n\\r\\n"
            with socket.create_connection((host, int(port))) as connection:
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00")
                connection.sendall(head.encode() + body)
            """
        )
    )
    result, failed = runtime_api.invoke([sys.executable, str(script)], b"{}", 30)
    assert (json.loads(result), failed) == ({"done": True}, False)
    assert "Traceback" not in capfd.readouterr().err


def test_the_report_line_gives_memory_size_peak_memory_and_the_container_peak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    peak = tmp_path / "memory.max_usage_in_bytes"
    peak.write_text(str(300 * 1024 * 1024))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    line = runtime_api.report("copy", 1.5, (tmp_path / "absent", peak))
    assert line.startswith("REPORT Function: copy\tDuration: 1500.00 ms\tMemory Size: 512 MB\tMax Memory Used: ")
    assert "\tContainer Peak: 300 MB\tCPU: " in line and line.endswith(" s")
    assert "Container Peak" not in runtime_api.report("copy", 1.0, ())
