"""A one-shot Lambda Runtime API, the container entry point for the functions moto runs in docker.

moto starts the container with the handler and the event JSON as arguments and takes the **last line of
output** as the function's result. A custom runtime instead runs `/var/task/bootstrap` (and a `nodejs*`
function runs `node_runtime.js`), which asks the Runtime API (`AWS_LAMBDA_RUNTIME_API`) for the next event
and posts its result back. This module serves that API for exactly one event, runs the runtime, and prints
the result as the last line.

Standard library only: it runs inside the Lambda image, not in the project's venv.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

API_PREFIX = "/2018-06-01/runtime"
DEFAULT_TIMEOUT_SECONDS = 900.0
HOSTS_FILE = Path("/etc/hosts")
# The function runs as this unprivileged user, as on AWS; only the set-up (hosts entries) needs root.
FUNCTION_UID = 993
STDERR_FD = 2
NODE = Path("/var/lang/bin/node")
# The container's memory accounting, as the memory limit counts it (cgroup v1, then v2).
CGROUP_PEAKS = (Path("/sys/fs/cgroup/memory/memory.max_usage_in_bytes"), Path("/sys/fs/cgroup/memory.peak"))
NODE_RUNTIME = Path(__file__).with_name("node_runtime.js")


class Invocation:
    """The one event being served and what the function answered."""

    def __init__(self, event: bytes, timeout_seconds: float) -> None:
        self.event = event
        self.request_id = str(uuid.uuid4())
        self.deadline = time.time() + timeout_seconds
        self.delivered = False
        self.result: bytes | None = None
        self.failed = False
        self.finished = threading.Event()

    def finish(self, body: bytes, *, failed: bool) -> None:
        if not self.finished.is_set():
            self.result, self.failed = body, failed
            self.finished.set()


def _handler_class(invocation: Invocation) -> type[BaseHTTPRequestHandler]:
    class RuntimeApiHandler(BaseHTTPRequestHandler):
        """The three Runtime API calls a custom runtime makes (plus the init error report)."""

        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write("runtime-api: " + (format % args) + "\n")

        def _reply(self, status: HTTPStatus, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the runtime posted its result and exited without reading the acknowledgement: harmless

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            if self.path != f"{API_PREFIX}/invocation/next":
                self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage": "unknown path"}')
                return
            if invocation.delivered:
                # One event per container: a second poll waits until the container is stopped.
                invocation.finished.wait()
                self._reply(HTTPStatus.GONE, b'{"errorMessage": "no more events"}')
                return
            invocation.delivered = True
            arn = "arn:aws:lambda:{}:{}:function:{}".format(
                os.environ.get("AWS_REGION", "us-east-1"),
                os.environ.get("AWS_ACCOUNT_ID", "123456789012"),
                os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function"),
            )
            self._reply(
                HTTPStatus.OK,
                invocation.event,
                {
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(int(invocation.deadline * 1000)),
                    "Lambda-Runtime-Invoked-Function-Arn": arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
                },
            )

        def do_POST(self) -> None:
            body = self._body()
            if self.path == f"{API_PREFIX}/invocation/{invocation.request_id}/response":
                invocation.finish(body, failed=False)
            elif self.path in (f"{API_PREFIX}/invocation/{invocation.request_id}/error", f"{API_PREFIX}/init/error"):
                invocation.finish(body or b'{"errorMessage": "unknown error"}', failed=True)
            else:
                self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage": "unknown path or request id"}')
                return
            self._reply(HTTPStatus.ACCEPTED, b'{"status": "OK"}')

    return RuntimeApiHandler


def add_host_entries(entries: list[str], hosts_file: Path = HOSTS_FILE) -> None:
    """Map host names to loopback addresses inside the container: `ADDRESS=NAME`, or `NAME` for 127.0.0.1.

    With host networking docker writes a fresh /etc/hosts, without the host's own lines, yet the function
    must reach the services on the host's loopback by their names (moto, and every account's registry host
    posing as ECR, each on its own address, so a function of one account can pull from another's).
    """
    present = hosts_file.read_text().splitlines() if hosts_file.exists() else []
    named = {name for line in present for name in line.split()[1:]}
    wanted = [entry.split("=", 1) if "=" in entry else ["127.0.0.1", entry] for entry in entries if entry]
    missing = [(address, name) for address, name in wanted if name not in named]
    if missing:
        with hosts_file.open("a") as hosts:
            hosts.write("".join(f"{address} {name}\n" for address, name in missing))


def invoke(bootstrap: list[str], event: bytes, timeout_seconds: float, user: int | None = None) -> tuple[bytes, bool]:
    """Serve one event to the runtime started by `bootstrap` (as `user`, if given); return (result, failed)."""
    invocation = Invocation(event, timeout_seconds)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(invocation))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    environment = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}"}
    if user is not None:
        # As on AWS, the function's only writable place is /tmp (tools such as the image copier keep
        # their configuration under $HOME).
        environment["HOME"] = "/tmp"  # noqa: S108
    process = subprocess.Popen(
        bootstrap,
        env=environment,
        stdout=STDERR_FD,  # the runtime's own output is log, never the result line
        stderr=STDERR_FD,
        user=user,
        group=user,
        extra_groups=None if user is None else [],
    )
    try:
        while not invocation.finished.wait(0.2):
            if process.poll() is not None:
                invocation.finish(
                    json.dumps(
                        {
                            "errorMessage": f"runtime exited with status {process.returncode}",
                            "errorType": "Runtime.ExitError",
                        }
                    ).encode(),
                    failed=True,
                )
            elif time.time() > invocation.deadline:
                invocation.finish(
                    json.dumps(
                        {"errorMessage": f"timed out after {timeout_seconds:.0f} s", "errorType": "Sandbox.Timedout"}
                    ).encode(),
                    failed=True,
                )
    finally:
        if process.poll() is None:  # the invocation is over (answered, failed or timed out): no grace period
            process.kill()
            process.wait()
        server.shutdown()
    return invocation.result or b"", invocation.failed


def report(function: str, seconds: float, cgroup_peaks: tuple[Path, ...] = CGROUP_PEAKS) -> str:
    """AWS Lambda's REPORT log line: duration, memory size and the function's peak memory (its largest
    process's peak RSS), plus the container's peak as its memory limit counts it (with page cache) and the
    function's CPU time (what sizes it: Lambda gives CPU in proportion to memory)."""
    memory_size = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "?")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    container_peak = next((int(path.read_text()) for path in cgroup_peaks if path.is_file()), None)
    container = f"\tContainer Peak: {container_peak // (1 << 20)} MB" if container_peak is not None else ""
    return (
        f"REPORT Function: {function}\tDuration: {seconds * 1000:.2f} ms\tMemory Size: {memory_size} MB"
        f"\tMax Memory Used: {usage.ru_maxrss // 1024} MB{container}"
        f"\tCPU: {usage.ru_utime + usage.ru_stime:.2f} s"
    )


def one_line(result: bytes) -> str:
    """The result as a single line: compact JSON when it is JSON, else the text with newlines escaped."""
    text = result.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text)) if text.strip() else "null"
    except ValueError:
        return json.dumps(text)


def runtime_command(handler: str, task_root: Path) -> list[str] | None:
    """How to run the function: its custom runtime's `bootstrap`, else Node.js for a `file.export` handler
    whose file is JavaScript (moto does not tell the runtime; the code says it)."""
    bootstrap = next((path for path in (task_root / "bootstrap", Path("/opt/bootstrap")) if path.is_file()), None)
    if bootstrap is not None:
        return [str(bootstrap)]
    module = handler.rpartition(".")[0]
    if module and any((task_root / f"{module}{suffix}").is_file() for suffix in (".js", ".cjs")):
        return [str(NODE), str(NODE_RUNTIME)]
    return None


def main(argv: list[str]) -> int:
    """Container entry point: `runtime_api.py HANDLER EVENT_JSON` (moto's calling convention)."""
    if len(argv) != 2:
        print("usage: runtime_api.py HANDLER EVENT_JSON", file=sys.stderr)
        return 2
    handler, event = argv
    add_host_entries(["host.docker.internal", *os.environ.get("LOCAL_CLOUD_HOSTS", "").split()])
    command = runtime_command(handler, Path(os.environ.get("LAMBDA_TASK_ROOT", "/var/task")))
    if command is None:
        print(
            json.dumps(
                {
                    "errorMessage": f"no bootstrap in /var/task or /opt, and no {handler} in a .js file of /var/task",
                    "errorType": "Runtime.InvalidEntrypoint",
                }
            )
        )
        return 1
    os.environ["_HANDLER"] = handler
    timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)
    user = FUNCTION_UID if os.geteuid() == 0 else None
    started = time.monotonic()
    result, failed = invoke(command, event.encode(), timeout, user)
    print(report(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function"), time.monotonic() - started), file=sys.stderr)
    sys.stderr.flush()
    # moto reads the last line of the output as the result.
    print(one_line(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
