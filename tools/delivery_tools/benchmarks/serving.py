"""Serving benchmark: our model server against the naive Flask + scikit-learn baseline, in one run, with wrk.

Measures, for both servers on this machine: /invocations with one row at 1 and 16 connections (req/s,
p50, p99, errors) and 1000-row batches (rows/s), each the median of several rounds; cold start (process
start -> first 200 on /ping); and, when a docker engine answers, container cold start and image size with
both images built from the same base image.

    delivery-bench serving [--duration 8] [--rounds 3] [--base-image IMAGE] [--no-images]

Scenarios alternate between the two servers so that drift in machine load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from delivery_tools.common.base_images import LOCAL_PYTHON_BASE_IMAGE, default_base_image
from delivery_tools.common.docker import engine_answers, image_exists
from delivery_tools.common.http import free_port, wait_for_ping
from delivery_tools.common.project import find_project_root, load_module

REPO = find_project_root()
MODEL_IMAGE_DIR = REPO / "model_image"
TRAINING_SCRIPT = MODEL_IMAGE_DIR / "training" / "train.py"
BASELINE_DIR = Path(__file__).resolve().parent / "baseline_server"
RESULTS_FILE = REPO / "benchmarks" / "results" / "serving.json"
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.9, 3.1, 5.4, 2.1], [5.9, 3.0, 4.2, 1.5], [4.6, 3.4, 1.4, 0.3]]
BATCH_ROWS = 1000
WRK_SCRIPT = """
local body_file = io.open(os.getenv("WRK_BODY_FILE"), "rb")
wrk.method = "POST"
wrk.body = body_file:read("*a")
body_file:close()
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class LoadResult:
    """One wrk run against one server."""

    server: str
    scenario: str
    rows_per_request: int
    connections: int
    requests_per_s: float
    rows_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass(frozen=True)
class ServerUnderTest:
    """How to start a server process and what to call it in the report."""

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]


@contextmanager
def running(server: ServerUnderTest, port: int, log_file: Path) -> Iterator[float]:
    """Start ``server`` on ``port``; yield its cold-start seconds; stop it with SIGTERM."""
    with log_file.open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            server.command, cwd=server.cwd, env={**os.environ, **server.env, "PORT": str(port)}, stdout=log, stderr=log
        )
        try:
            wait_for_ping(f"http://127.0.0.1:{port}", 60, alive=lambda: process.poll() is None, poll_seconds=0.005)
            yield time.perf_counter() - started
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_wrk(url: str, body_file: Path, script: Path, connections: int, duration_s: int) -> dict[str, int]:
    """One wrk run (single thread, so the load generator takes as little CPU from the servers as possible)."""
    completed = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency", "-s", str(script), url],
        env={**os.environ, "WRK_BODY_FILE": str(body_file)},
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^WRK_JSON (\{.*\})$", completed.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{completed.stdout}\n{completed.stderr}")
    summary: dict[str, int] = json.loads(match.group(1))
    return summary


def load_result(server: str, scenario: str, rows: int, connections: int, summary: dict[str, int]) -> LoadResult:
    seconds = summary["duration_us"] / 1e6
    errors = sum(summary[key] for key in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        server=server,
        scenario=scenario,
        rows_per_request=rows,
        connections=connections,
        requests_per_s=round(summary["requests"] / seconds, 1),
        rows_per_s=round(summary["requests"] * rows / seconds, 1),
        p50_ms=round(summary["p50_us"] / 1000, 3),
        p99_ms=round(summary["p99_us"] / 1000, 3),
        errors=errors,
    )


def write_bodies(directory: Path) -> dict[int, Path]:
    """Request bodies: one row, and a batch of 1000 rows cycling through real iris rows."""
    bodies = {}
    for rows in (1, BATCH_ROWS):
        path = directory / f"body-{rows}.json"
        path.write_text(json.dumps({"instances": [IRIS_ROWS[i % len(IRIS_ROWS)] for i in range(rows)]}))
        bodies[rows] = path
    return bodies


def pickle_baseline_model(path: Path) -> None:
    """The same trained pipeline the ONNX artifact comes from, pickled the way the seed image ships it."""
    training = load_module(TRAINING_SCRIPT, "model_training")
    with path.open("wb") as model_file:
        pickle.dump(training.fit_pipeline(training.load_dataset()), model_file)


def servers(model_pickle: Path) -> tuple[ServerUnderTest, ServerUnderTest]:
    python = sys.executable
    baseline = ServerUnderTest(
        name="baseline (Flask + scikit-learn)",
        command=[python, str(BASELINE_DIR / "app.py")],
        cwd=BASELINE_DIR,
        env={"BASELINE_MODEL": str(model_pickle)},
    )
    ours = ServerUnderTest(
        name="model_server (ONNX)",
        command=[python, "-m", "model_server", "serve"],
        cwd=MODEL_IMAGE_DIR,
        env={"HOST": "127.0.0.1", "LOG_LEVEL": "info"},
    )
    return baseline, ours


def median_result(rounds: list[LoadResult]) -> LoadResult:
    """Per-metric median over rounds (errors summed): one unlucky scheduling burst does not decide a number."""
    first = rounds[0]
    return LoadResult(
        server=first.server,
        scenario=first.scenario,
        rows_per_request=first.rows_per_request,
        connections=first.connections,
        requests_per_s=statistics.median(r.requests_per_s for r in rounds),
        rows_per_s=statistics.median(r.rows_per_s for r in rounds),
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=statistics.median(r.p99_ms for r in rounds),
        errors=sum(r.errors for r in rounds),
    )


def process_benchmarks(
    work: Path, duration_s: int, rounds: int, cold_starts: int
) -> tuple[list[LoadResult], list[LoadResult], dict[str, Any]]:
    """Load and cold-start measurements of both servers as local supervisor."""
    model_pickle = work / "model.pkl"
    pickle_baseline_model(model_pickle)
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT)
    bodies = write_bodies(work)
    pair = servers(model_pickle)

    cold: dict[str, Any] = {}
    for server in pair:
        samples = []
        for _ in range(cold_starts):
            with running(server, free_port(), work / "cold.log") as seconds:
                samples.append(seconds)
        cold[server.name] = {
            "median_s": round(statistics.median(samples), 3),
            "samples_s": [round(s, 3) for s in samples],
        }

    scenarios = [("1 row, c=1", 1, 1), ("1 row, c=16", 1, 16), (f"{BATCH_ROWS} rows, c=4", BATCH_ROWS, 4)]
    every_round: list[LoadResult] = []
    ports = {server.name: free_port() for server in pair}
    with (
        running(pair[0], ports[pair[0].name], work / "baseline.log"),
        running(pair[1], ports[pair[1].name], work / "ours.log"),
    ):
        for server in pair:  # warm-up: first requests, lazy imports, connection set-up
            run_wrk(f"http://127.0.0.1:{ports[server.name]}/invocations", bodies[1], script, 4, 2)
        for _ in range(rounds):
            for scenario, rows, connections in scenarios:
                for server in pair:
                    url = f"http://127.0.0.1:{ports[server.name]}/invocations"
                    summary = run_wrk(url, bodies[rows], script, connections, duration_s)
                    every_round.append(load_result(server.name, scenario, rows, connections, summary))
                    print(json.dumps(asdict(every_round[-1])), flush=True)
    medians = [
        median_result([r for r in every_round if (r.server, r.scenario) == (server.name, scenario)])
        for scenario, _, _ in scenarios
        for server in pair
    ]
    return medians, every_round, cold


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def build_images(work: Path, base_image: str) -> dict[str, str]:
    """Build our image and the naive one from the same base; return their tags."""
    tags = {"ours": "local/model-server:bench", "naive": "local/model-server-naive:bench"}
    naive_context = work / "naive-context"
    naive_context.mkdir()
    for name in ("Dockerfile", "requirements.txt", "app.py"):
        shutil.copy(BASELINE_DIR / name, naive_context / name)
    shutil.copy(work / "model.pkl", naive_context / "model.pkl")
    for key, context in (("ours", MODEL_IMAGE_DIR), ("naive", naive_context)):
        built = docker(
            "build", "-q", "--build-arg", f"BASE_IMAGE={base_image}", "-t", tags[key], str(context), check=False
        )
        if built.returncode != 0:
            raise RuntimeError(f"docker build of {tags[key]} failed:\n{built.stdout}{built.stderr}")
    return tags


def container_cold_start(image: str, runs: int) -> dict[str, Any]:
    """``docker run`` -> first 200 on ``/ping`` through the published port."""
    samples = []
    for _ in range(runs):
        port = free_port()
        started = time.perf_counter()
        container = docker("run", "-d", "-p", f"127.0.0.1:{port}:8080", image).stdout.strip()
        try:
            wait_for_ping(f"http://127.0.0.1:{port}", 60, poll_seconds=0.005)  # docker inspect would skew it
            samples.append(time.perf_counter() - started)
        finally:
            docker("rm", "-f", container, check=False)
    return {"median_s": round(statistics.median(samples), 3), "samples_s": [round(s, 3) for s in samples]}


def image_benchmarks(work: Path, base_image: str, runs: int) -> dict[str, Any]:
    tags = build_images(work, base_image)
    size = {key: int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout) for key, tag in tags.items()}
    base_size = int(docker("image", "inspect", "--format", "{{.Size}}", base_image).stdout)
    return {
        "base_image": base_image,
        "base_mb": round(base_size / 1e6, 1),
        "ours_mb": round(size["ours"] / 1e6, 1),
        "naive_mb": round(size["naive"] / 1e6, 1),
        "size_ratio": round(size["ours"] / size["naive"], 3),
        "cold_start": {key: container_cold_start(tag, runs) for key, tag in tags.items()},
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.splitlines()
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "cpus": len(os.sched_getaffinity(0)),
        "os": platform.platform(),
        "python": platform.python_version(),
        "wrk": wrk_version[0] if wrk_version else "wrk",
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def ratios(results: list[LoadResult], cold: dict[str, Any], images: dict[str, Any] | None) -> dict[str, Any]:
    """The numbers the issue sets goals for, next to the goals."""
    by_key = {(r.server.startswith("model_server"), r.scenario): r for r in results}
    ours_c16, base_c16 = by_key[(True, "1 row, c=16")], by_key[(False, "1 row, c=16")]
    batch = by_key[(True, f"{BATCH_ROWS} rows, c=4")]
    ours_cold = next(v for k, v in cold.items() if k.startswith("model_server"))["median_s"]
    summary: dict[str, Any] = {
        "c16_speedup": round(ours_c16.requests_per_s / base_c16.requests_per_s, 2),
        "c16_p99_ms": ours_c16.p99_ms,
        "ours_errors": sum(r.errors for r in results if r.server.startswith("model_server")),
        "batch_rows_per_s": batch.rows_per_s,
        "process_cold_start_s": ours_cold,
    }
    goals = {
        "c16_speedup >= 3": summary["c16_speedup"] >= 3,
        "c16_p99_ms <= 20": summary["c16_p99_ms"] <= 20,
        "ours_errors == 0": summary["ours_errors"] == 0,
        "batch_rows_per_s >= 200000": summary["batch_rows_per_s"] >= 200_000,
        "process_cold_start_s <= 1.5": ours_cold <= 1.5,
    }
    if images is not None:
        summary["container_cold_start_s"] = images["cold_start"]["ours"]["median_s"]
        summary["image_size_ratio"] = images["size_ratio"]
        goals["container_cold_start_s <= 1.5"] = summary["container_cold_start_s"] <= 1.5
        goals["image_size_ratio <= 0.6"] = images["size_ratio"] <= 0.6
    summary["goals_met"] = goals
    return summary


def markdown(results: list[LoadResult], cold: dict[str, Any], images: dict[str, Any] | None) -> str:
    lines = [
        "| scenario | server | req/s | rows/s | p50 ms | p99 ms | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r.scenario} | {r.server} | {r.requests_per_s:,.0f} | {r.rows_per_s:,.0f} | {r.p50_ms:.2f} | "
        f"{r.p99_ms:.2f} | {r.errors} |"
        for r in results
    ]
    lines += ["", "| cold start (start -> first 200 on /ping) | median s | samples s |", "| --- | ---: | --- |"]
    lines += [f"| process: {name} | {v['median_s']:.3f} | {v['samples_s']} |" for name, v in cold.items()]
    if images is not None:
        for key, value in images["cold_start"].items():
            lines.append(f"| container: {key} image | {value['median_s']:.3f} | {value['samples_s']} |")
        lines += [
            "",
            f"Image size (base `{images['base_image']}`, {images['base_mb']} MB): ours {images['ours_mb']} MB, "
            f"naive {images['naive_mb']} MB, ratio {images['size_ratio']}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every scenario; medians reported (default 3)")
    parser.add_argument("--cold-starts", type=int, default=5, help="process cold starts per server (default 5)")
    parser.add_argument(
        "--base-image", default=None, help=f"default {LOCAL_PYTHON_BASE_IMAGE} if present, else the Dockerfile's"
    )
    parser.add_argument("--no-images", action="store_true", help="skip docker image size and container cold start")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: `apt-get install wrk` (Debian package) and run again", file=sys.stderr)
        return 1

    started_on = machine()
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as scratch:
        work = Path(scratch)
        results, every_round, cold = process_benchmarks(work, args.duration, args.rounds, args.cold_starts)
        images = None
        if args.no_images:
            print("image benchmarks skipped (--no-images)")
        elif not engine_answers():
            print("image benchmarks skipped: no docker engine answers")
        else:
            base = args.base_image or (
                LOCAL_PYTHON_BASE_IMAGE if image_exists(LOCAL_PYTHON_BASE_IMAGE) else default_base_image(REPO)
            )
            images = image_benchmarks(work, base, runs=3)

    report = {
        "machine": {**started_on, "load_average_1m_at_end": machine()["load_average_1m"]},
        "load": [asdict(r) for r in results],
        "load_rounds": [asdict(r) for r in every_round],
        "cold_start": cold,
        "images": images,
        "summary": ratios(results, cold, images),
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(markdown(results, cold, images))
    print(json.dumps({"machine": report["machine"], "summary": report["summary"]}, indent=2))
    print(f"full results: {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
