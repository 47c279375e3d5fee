"""Serving benchmark: our model server against what users run to serve such a model, in one run, with wrk.

    delivery-bench serving [--duration 8] [--rounds 3] [--cold-starts 5] [--servers ...] [--no-images]

Servers (`servers.py`): ours, gunicorn -w 2 + Flask + scikit-learn, MLServer with its scikit-learn runtime,
and KServe's model server with a custom ONNX Runtime `Model`; each in its own virtual environment under
`.venv-bench/` made from its pinned requirements file, each with 2 workers, all on 127.0.0.1. The same
model everywhere: the ONNX file of `model_image/model/`, and for the scikit-learn servers the pipeline the
project's training code fits, written with joblib.

Before anything is timed, every server must give known iris rows their known class in every scenario it
takes part in; one wrong answer stops the benchmark. Then, at 16 connections: `GET /ping` (ours: the HTTP
floor), V2 infer with 1 row and with 100 rows (servers that speak the Open Inference Protocol), 100 rows
through the binary tensor data extension (ours; the body built by tritonclient, as its `infer` sends it),
`/invocations` with 1 row and with 100 rows (servers that speak SageMaker's contract). Rounds alternate the
servers so that drift in machine load hits all alike; the table shows per-metric medians over the rounds and
each server's req/s as a ratio to ours; below it, ours against its own `/ping` and the binary 100-row batches
against the JSON ones (rows/s). Also measured: cold start (process start -> first 200 on the
readiness path) and, when a docker engine answers, image size and container cold start of our image against
the gunicorn + Flask + scikit-learn image built from the same base. Results: `benchmarks/results/serving.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from delivery_tools.benchmarks import answers, wrk
from delivery_tools.benchmarks.servers import (
    MODEL_IMAGE_DIR,
    OURS,
    PEERS_DIR,
    REPO,
    SERVERS,
    WORKERS,
    Models,
    Server,
    running,
)
from delivery_tools.benchmarks.venvs import ensure_venv
from delivery_tools.common.base_images import LOCAL_PYTHON_BASE_IMAGE, default_base_image
from delivery_tools.common.docker import engine_answers, image_exists
from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import free_port, wait_for_ping
from delivery_tools.common.project import load_module

TRAINING_SCRIPT = MODEL_IMAGE_DIR / "model_training" / "train.py"
RESULTS_FILE = REPO / "benchmarks" / "results" / "serving.json"
VENV_ROOT = REPO / ".venv-bench"
CONNECTIONS = 16
BATCH_ROWS = 100
WARM_UP_S = 2


@dataclass(frozen=True)
class Scenario:
    name: str
    protocol: str  # ping, v2 or sagemaker (answers.PATHS)
    rows: int


JSON_BATCH = Scenario(f"V2 infer, {BATCH_ROWS} rows", "v2", BATCH_ROWS)
BINARY_BATCH = Scenario(f"V2 infer, {BATCH_ROWS} rows, binary tensors", "v2_binary", BATCH_ROWS)
SCENARIOS = (
    Scenario("GET /ping", "ping", 0),
    Scenario("V2 infer, 1 row", "v2", 1),
    Scenario("/invocations, 1 row", "sagemaker", 1),
    JSON_BATCH,
    BINARY_BATCH,
    Scenario(f"/invocations, {BATCH_ROWS} rows", "sagemaker", BATCH_ROWS),
)


def ratios_to_ours(results: list[wrk.LoadResult], ours: str) -> dict[tuple[str, str], float | None]:
    """Each result's req/s divided by ours in the same scenario (ours: 1.0); None where ours has no result."""
    ours_by_scenario = {r.scenario: r.requests_per_s for r in results if r.server == ours}
    return {
        (r.server, r.scenario): (
            round(r.requests_per_s / ours_by_scenario[r.scenario], 3) if ours_by_scenario.get(r.scenario) else None
        )
        for r in results
    }


def table(results: list[wrk.LoadResult], ratios: dict[tuple[str, str], float | None], labels: dict[str, str]) -> str:
    """The Markdown table of the load medians."""
    lines = [
        f"| scenario (c={CONNECTIONS}) | server | req/s | p50 ms | p99 ms | errors | req/s ÷ ours |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ratio = ratios[(r.server, r.scenario)]
        lines.append(
            f"| {r.scenario} | {labels[r.server]} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.errors} | {'n/a' if ratio is None else f'{ratio:.2f}'} |"
        )
    return "\n".join(lines)


def cold_start_table(cold: dict[str, Any], images: dict[str, Any] | None, labels: dict[str, str]) -> str:
    lines = ["| cold start (start -> first 200 on readiness) | median s | samples s |", "| --- | ---: | --- |"]
    lines += [f"| process: {labels[key]} | {v['median_s']:.3f} | {v['samples_s']} |" for key, v in cold.items()]
    if images is not None:
        lines += [
            f"| container: {labels[key]} | {v['median_s']:.3f} | {v['samples_s']} |"
            for key, v in images["cold_start"].items()
        ]
        lines += [
            "",
            f"Image size (base `{images['base_image']}`, {images['base_mb']} MB): "
            + ", ".join(f"{labels[key]} {mb} MB" for key, mb in images["size_mb"].items())
            + f"; ours ÷ gunicorn_flask {images['size_ratio']}",
        ]
    return "\n".join(lines)


def scenarios_of(server: Server) -> list[Scenario]:
    """The scenarios `server` takes part in: `GET /ping` is ours alone, the floor of the HTTP stack."""
    return [s for s in SCENARIOS if s.protocol in server.protocols and (s.protocol != "ping" or server is OURS)]


def train_sklearn_model(path: Path) -> None:
    """The pipeline the ONNX file is exported from, fitted by the project's training code, saved with joblib."""
    import joblib  # the training requirements (model_image/requirements-train.txt) are in the dev venv

    training = load_module(TRAINING_SCRIPT, "model_training")
    joblib.dump(training.fit_pipeline(training.load_dataset()), path)


def ratios_to_ping(results: list[wrk.LoadResult], ours: str) -> dict[str, float]:
    """Ours: each scenario's req/s divided by ours on `GET /ping`, the floor of the HTTP stack."""
    by_scenario = {r.scenario: r.requests_per_s for r in results if r.server == ours}
    floor = by_scenario.get(SCENARIOS[0].name)
    if not floor:
        return {}
    return {name: round(rate / floor, 3) for name, rate in by_scenario.items() if name != SCENARIOS[0].name}


def binary_over_json(results: list[wrk.LoadResult], ours: str) -> float | None:
    """Ours: rows/s of the 100-row batches through the binary tensor extension over the JSON ones."""
    rows_per_s = {r.scenario: r.rows_per_s for r in results if r.server == ours}
    binary, json_path = rows_per_s.get(BINARY_BATCH.name), rows_per_s.get(JSON_BATCH.name)
    return round(binary / json_path, 3) if binary and json_path else None


def check_server(server: Server, base_url: str, bodies: dict[tuple[str, int], answers.Body]) -> list[str]:
    """Ask `server` every scenario's body once; WrongAnswerError unless each known row gets its known class."""
    checked = []
    for scenario in scenarios_of(server):
        url = base_url + answers.PATHS[scenario.protocol]
        if scenario.protocol == "ping":
            response = requests.get(url, timeout=30)
        else:
            body = bodies[(scenario.protocol, scenario.rows)]
            response = requests.post(url, data=body.path.read_bytes(), headers=body.headers, timeout=30)
        if response.status_code != requests.codes.ok:
            raise answers.WrongAnswerError(
                f"{server.label} answered {scenario.name} with {response.status_code}: {response.text[:300]}"
            )
        if scenario.protocol != "ping":
            answers.check_response(server.label, scenario.protocol, scenario.rows, response.content, response.headers)
        checked.append(scenario.name)
    return checked


def median_and_samples(samples: list[float]) -> dict[str, Any]:
    """A cold-start record: the median and every sample, in seconds to the millisecond."""
    return {"median_s": round(statistics.median(samples), 3), "samples_s": [round(s, 3) for s in samples]}


def cold_starts(
    chosen: list[Server], pythons: dict[str, Path], models: Models, work: Path, runs: int
) -> dict[str, Any]:
    cold: dict[str, Any] = {}
    for server in chosen:
        samples = []
        for _ in range(runs):
            with running(server, pythons[server.key], models, work, work / f"{server.key}-cold.log") as (_, seconds):
                samples.append(seconds)
        cold[server.key] = median_and_samples(samples)
        print(f"cold start {server.key}: {cold[server.key]}", flush=True)
    return cold


def load_benchmarks(
    chosen: list[Server], pythons: dict[str, Path], models: Models, work: Path, duration_s: int, rounds: int
) -> tuple[list[wrk.LoadResult], list[wrk.LoadResult], dict[str, list[str]]]:
    """Correctness first, then the timed rounds, with every chosen server running."""
    script = work / "load.lua"
    script.write_text(wrk.SCRIPT, encoding="utf-8")
    bodies = {
        (s.protocol, s.rows): answers.write_body(work, s.protocol, s.rows) for s in SCENARIOS if s.protocol != "ping"
    }
    every_round: list[wrk.LoadResult] = []
    checked: dict[str, list[str]] = {}
    with ExitStack() as stack:  # every chosen server running at once; all stopped on leaving, also after an error
        urls = {
            s.key: stack.enter_context(running(s, pythons[s.key], models, work, work / f"{s.key}.log"))[0]
            for s in chosen
        }
        for server in chosen:
            checked[server.key] = check_server(server, urls[server.key], bodies)
            print(f"answers of {server.key} are right: {', '.join(checked[server.key])}", flush=True)

        def one_run(server: Server, scenario: Scenario, seconds: int) -> dict[str, int]:
            url = urls[server.key] + answers.PATHS[scenario.protocol]
            if scenario.protocol == "ping":
                return wrk.run_wrk(url, None, script, CONNECTIONS, seconds)
            body = bodies[(scenario.protocol, scenario.rows)]
            return wrk.run_wrk(url, body.path, script, CONNECTIONS, seconds, body.headers)

        for server in chosen:  # warm-up: first requests, lazy imports, connection set-up
            one_run(server, scenarios_of(server)[0], WARM_UP_S)
        for _ in range(rounds):
            for scenario in SCENARIOS:
                for server in (s for s in chosen if scenario in scenarios_of(s)):
                    summary = one_run(server, scenario, duration_s)
                    result = wrk.load_result(server.key, scenario.name, scenario.rows, CONNECTIONS, summary)
                    every_round.append(result)
                    print(json.dumps(asdict(result)), flush=True)
    medians = [
        wrk.median_result([r for r in every_round if (r.server, r.scenario) == (server.key, scenario.name)])
        for scenario in SCENARIOS
        for server in chosen
        if scenario in scenarios_of(server)
    ]
    return medians, every_round, checked


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def build_images(models: Models, work: Path, base_image: str) -> dict[str, str]:
    """Our image and the gunicorn + Flask + scikit-learn image, from the same base; their tags."""
    tags = {OURS.key: "local/model-server:bench", "gunicorn_flask": "local/gunicorn-flask-sklearn:bench"}
    peer_context = work / "gunicorn-flask-context"
    peer_context.mkdir()
    for name in ("Dockerfile", "requirements.txt", "flask_app.py"):
        shutil.copy(PEERS_DIR / "gunicorn_flask" / name, peer_context / name)
    shutil.copy(models.sklearn_file, peer_context / "model.joblib")
    for key, context in ((OURS.key, MODEL_IMAGE_DIR), ("gunicorn_flask", peer_context)):
        built = docker(
            "build", "-q", "--build-arg", f"BASE_IMAGE={base_image}", "-t", tags[key], str(context), check=False
        )
        if built.returncode != 0:
            raise ToolError(f"docker build of {tags[key]} failed:\n{built.stdout}{built.stderr}")
    return tags


def container_cold_start(image: str, runs: int) -> dict[str, Any]:
    """`docker run` -> first 200 on `/ping` through the published loopback port."""
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
    return median_and_samples(samples)


def image_benchmarks(models: Models, work: Path, base_image: str, runs: int) -> dict[str, Any]:
    tags = build_images(models, work, base_image)
    size = {key: int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout) for key, tag in tags.items()}
    base_size = int(docker("image", "inspect", "--format", "{{.Size}}", base_image).stdout)
    return {
        "base_image": base_image,
        "base_mb": round(base_size / 1e6, 1),
        "size_mb": {key: round(value / 1e6, 1) for key, value in size.items()},
        "size_ratio": round(size[OURS.key] / size["gunicorn_flask"], 3),
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="delivery-bench serving", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every scenario; medians reported (default 3)")
    parser.add_argument("--cold-starts", type=int, default=5, help="process cold starts per server (default 5)")
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=[s.key for s in SERVERS],
        default=[s.key for s in SERVERS],
        help="the servers to compare (default all; ours is always included)",
    )
    parser.add_argument("--venv-dir", type=Path, default=VENV_ROOT, help="where the servers' environments are kept")
    parser.add_argument(
        "--base-image", default=None, help=f"default {LOCAL_PYTHON_BASE_IMAGE} if present, else the Dockerfile's"
    )
    parser.add_argument("--no-images", action="store_true", help="skip docker image size and container cold start")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.rounds < 1 or args.cold_starts < 1:
        parser.error("--duration, --rounds and --cold-starts must be at least 1")
    return args


def chosen_servers(keys: list[str]) -> list[Server]:
    """The servers named, ours first and always (the ratios are to ours), in the order of SERVERS."""
    return [s for s in SERVERS if s is OURS or s.key in keys]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print(wrk.INSTALL_HINT, file=sys.stderr)
        return 1
    try:
        return _benchmark(args)
    except ToolError as error:
        print(f"serving benchmark failed: {error}", file=sys.stderr)
        return 1


def _benchmark(args: argparse.Namespace) -> int:
    chosen = chosen_servers(args.servers)
    pythons = {
        server.key: ensure_venv(args.venv_dir / server.key, server.requirements, server.package) for server in chosen
    }
    started_on = machine()
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as scratch:
        work = Path(scratch)
        models = Models(onnx_dir=MODEL_IMAGE_DIR / "model", sklearn_file=work / "model.joblib")
        train_sklearn_model(models.sklearn_file)
        results, every_round, checked = load_benchmarks(chosen, pythons, models, work, args.duration, args.rounds)
        cold = cold_starts(chosen, pythons, models, work, args.cold_starts)
        images = None
        if args.no_images:
            print("image benchmarks skipped (--no-images)")
        elif not engine_answers():
            print("image benchmarks skipped: no docker engine answers")
        else:
            base = args.base_image or (
                LOCAL_PYTHON_BASE_IMAGE if image_exists(LOCAL_PYTHON_BASE_IMAGE) else default_base_image(REPO)
            )
            images = image_benchmarks(models, work, base, runs=3)

    ratios = ratios_to_ours(results, OURS.key)
    to_ping = ratios_to_ping(results, OURS.key)
    binary = binary_over_json(results, OURS.key)
    labels = {s.key: s.label for s in SERVERS}
    report = {
        "machine": {**started_on, "load_average_1m_at_end": machine()["load_average_1m"]},
        "servers": {
            s.key: {"label": s.label, "requirements": str(s.requirements.relative_to(REPO)), "workers": WORKERS}
            for s in chosen
        },
        "answers_checked": checked,
        "load": [{**asdict(r), "ratio_to_ours": ratios[(r.server, r.scenario)]} for r in results],
        "load_rounds": [asdict(r) for r in every_round],
        "ours_req_per_s_over_ping": to_ping,
        "binary_over_json_rows_per_s": binary,
        "cold_start": cold,
        "images": images,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(results, ratios, labels))
    print()
    print("ours, req/s ÷ its own GET /ping: " + ", ".join(f"{name} {ratio:.2f}" for name, ratio in to_ping.items()))
    print(f"ours, {BATCH_ROWS}-row batches, rows/s binary tensors ÷ JSON: {binary}")
    print()
    print(cold_start_table(cold, images, labels))
    print(json.dumps({"machine": report["machine"]}, indent=2))
    print(f"full results: {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
