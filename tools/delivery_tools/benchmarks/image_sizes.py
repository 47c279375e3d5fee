"""Large images: the time and the bytes each kind of deploy moves, for the iris image and a generated 1 GiB model.

Per image, in a copy of the project, on the machine's local cloud (first two environments of the promotion
chain): a first deploy (repositories and the CDK asset repository emptied first, so everything is pushed),
one promotion hop, three alternating rounds of a no-op redeploy and a server-code-only change (their
medians are compared), and a model-only change (iris: a new model version; the large model: new weights of
the same size). Bytes are the ECR proxy's counters per repository
(`GET /local-cloud/traffic`): the asset push is what the CDK asset repository received, the copy what the
model repository received. The copy function's own duration and peak memory come from its REPORT line.
Floors, same run, same image, same registries: `docker push` to an empty repository and `skopeo copy`
between the two registry hosts.

    delivery-bench image-sizes [--gigabytes 1]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import EnvironmentSettings
from config.project import MODEL_METADATA
from delivery_tools.benchmarks.local_deploy import deploy, local_cloud, skopeo_copy
from delivery_tools.common.docker import large_images_removed
from delivery_tools.common.project import copy_project, find_project_root, generate_large_model, set_model_version
from delivery_tools.localcloud.accounts import account_client
from delivery_tools.localcloud.deploy.verify import copy_function_log_group, copy_log_since, stage_stacks
from delivery_tools.localcloud.services import moto, registry
from delivery_tools.localcloud.services.registry import RegistryClient
from delivery_tools.localcloud.services.state import checkout_cdk_out, machine_state
from delivery_tools.localcloud.settings import load_local_settings

# The copy function's limits on AWS (cdk-ecr-deployment sets the 15-minute maximum).
COPY_TIMEOUT_SECONDS = 900
# Images this large that appeared during the run are the benchmark's (the large model's builds and stages).
LARGE_IMAGE_BYTES = 1 << 30
ASSET_REPOSITORY = "cdk-hnb659fds-container-assets-{account}-{region}"
SERVER_CODE = Path("model_image") / "model_server" / "__init__.py"
_REPORT = re.compile(
    r"Duration: (?P<ms>[0-9.]+) ms.*Memory Size: (?P<size>\S+) MB.*Max Memory Used: (?P<rss>[0-9]+) MB"
)
_CONTAINER_PEAK = re.compile(r"Container Peak: (?P<peak>[0-9]+) MB")
_CPU = re.compile(r"CPU: (?P<cpu>[0-9.]+) s")
# A no-op redeploy and a code-only change alternate this many times; the goal compares their medians.
ROUNDS = 3
NO_OP = "no-op redeploy"
CODE_ONLY = "server-code-only change"


@dataclass
class Step:
    """One measured deploy: wall time, bytes into each repository, and the copy function's own report."""

    name: str
    seconds: float
    pushed: int
    copied: int
    copy: dict[str, float] | None


class Counters:
    """The ECR proxy's per-repository byte counters, read before and after a step."""

    def __init__(self, host: str) -> None:
        self._client = RegistryClient(host, machine_state().pki / "ca.crt")

    def read(self) -> dict[str, dict[str, int]]:
        return self._client.traffic()

    @staticmethod
    def received(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], key: str) -> int:
        return after.get(key, {}).get("received", 0) - before.get(key, {}).get("received", 0)


def parse_report(log: str) -> dict[str, float] | None:
    """The copy function's REPORT line in `log`: duration, memory size, peak memory, CPU (None if absent)."""
    found = _REPORT.search(log)
    if found is None:
        return None
    peak, cpu = _CONTAINER_PEAK.search(log), _CPU.search(log)
    return {
        "seconds": float(found["ms"]) / 1000,
        "memory_size_mib": float(found["size"]),
        "max_memory_used_mib": float(found["rss"]),
        "container_peak_mib": float(peak["peak"]) if peak else -1.0,
        "cpu_seconds": float(cpu["cpu"]) if cpu else -1.0,
    }


def copy_report(project: Path, environment: EnvironmentSettings, since_ms: int) -> dict[str, float] | None:
    """The copy function's REPORT of this step, if it ran."""
    stacks = stage_stacks(checkout_cdk_out(project), environment.name)
    group = copy_function_log_group(moto.ENDPOINT_URL, environment.region, environment.account, stacks)
    return parse_report(copy_log_since(moto.ENDPOINT_URL, environment.region, environment.account, group, since_ms))


class Bench:
    """One image's project copy, its two environments, and how to measure a deploy of either."""

    def __init__(self, project: Path, owner: str) -> None:
        self.project, self.owner = project, owner
        environments = load_local_settings(project).environments
        self.builder, self.target = environments[0], environments[1]
        self.counters = Counters(self.builder.registry_host)
        self.asset_key = f"{self.builder.registry_host}/" + ASSET_REPOSITORY.format(
            account=self.builder.account, region=self.builder.region
        )

    def measure(self, name: str, environment: EnvironmentSettings) -> tuple[Step, dict[str, Any]]:
        before, since_ms = self.counters.read(), int(time.time() * 1000)
        seconds, summary = deploy(self.project, self.owner, environment.name)
        after = self.counters.read()
        model_key = f"{environment.registry_host}/{environment.repository_name}"
        pushed = Counters.received(before, after, self.asset_key)
        step = Step(name, seconds, pushed, Counters.received(before, after, model_key), None)
        if environment.name in summary["copied_in"]:
            step.copy = copy_report(self.project, environment, since_ms)
        return step, summary

    def empty_everything(self) -> None:
        """No repository of the chain, and an empty CDK asset repository: the next deploy pushes every byte."""
        local_cloud(self.project, self.owner, "destroy", "--delete-retained")
        name = ASSET_REPOSITORY.format(account=self.builder.account, region=self.builder.region)
        ecr = account_client("ecr", moto.ENDPOINT_URL, self.builder.region, self.builder.account)
        try:
            images = ecr.list_images(repositoryName=name).get("imageIds", [])
        except ecr.exceptions.RepositoryNotFoundException:  # not bootstrapped yet: nothing to empty
            images = []
        if images:
            ecr.batch_delete_image(repositoryName=name, imageIds=images)
        registry.delete_repository_data(machine_state(), self.builder.account, name)


def image_bytes(reference: str) -> int:
    """Compressed size of an image as the registry stores it: its config and layers (skopeo inspect --raw)."""
    raw = subprocess.run(["skopeo", "inspect", "--raw", reference], check=True, capture_output=True, text=True)
    manifest = json.loads(raw.stdout)
    return int(manifest["config"]["size"]) + sum(int(layer["size"]) for layer in manifest["layers"])


def docker_push_floor(bench: Bench, local_image: str) -> tuple[float, int]:
    """`docker push` of the built image to an empty repository of the other account: (seconds, bytes in)."""
    name = f"bench-push-{uuid.uuid4().hex[:8]}"
    ecr = account_client("ecr", moto.ENDPOINT_URL, bench.target.region, bench.target.account)
    ecr.create_repository(repositoryName=name)
    remote = f"{bench.target.registry_host}/{name}:floor"
    try:
        subprocess.run(["docker", "tag", local_image, remote], check=True)
        before = bench.counters.read()
        started = time.monotonic()
        subprocess.run(["docker", "push", "--quiet", remote], check=True, capture_output=True)
        seconds = time.monotonic() - started
        moved = Counters.received(before, bench.counters.read(), f"{bench.target.registry_host}/{name}")
    finally:
        subprocess.run(["docker", "image", "rm", remote], check=False, capture_output=True)
        ecr.delete_repository(repositoryName=name, force=True)
        registry.delete_repository_data(machine_state(), bench.target.account, name)
    return seconds, moved


def skopeo_floor(bench: Bench, tag: str) -> tuple[float, int]:
    """`skopeo copy` of the built image from the builder's repository to an empty one of the other account."""
    name = f"bench-skopeo-{uuid.uuid4().hex[:8]}"
    ecr = account_client("ecr", moto.ENDPOINT_URL, bench.target.region, bench.target.account)
    ecr.create_repository(repositoryName=name)
    try:
        before = bench.counters.read()
        with tempfile.TemporaryDirectory(prefix="skopeo-home-") as home:
            seconds = skopeo_copy(
                f"docker://{bench.builder.registry_host}/{bench.builder.repository_name}:{tag}",
                f"docker://{bench.target.registry_host}/{name}:{tag}",
                Path(home),
            )
        moved = Counters.received(before, bench.counters.read(), f"{bench.target.registry_host}/{name}")
    finally:
        ecr.delete_repository(repositoryName=name, force=True)
        registry.delete_repository_data(machine_state(), bench.target.account, name)
    return seconds, moved


def built_image(project: Path, stage: str) -> str:
    """The local name the CDK gave the image it built for `stage` (cdkasset-<asset hash>)."""
    for manifest in (checkout_cdk_out(project) / f"assembly-{stage}").glob("*.assets.json"):
        for asset_hash in json.loads(manifest.read_text()).get("dockerImages", {}):
            return f"cdkasset-{asset_hash}"
    raise SystemExit(f"no docker image asset in the {stage} assembly")


def model_files_bytes(project: Path) -> int:
    """The size of the model's files (graph and weights) without its metadata."""
    model_dir = (project / MODEL_METADATA).parent
    return sum(path.stat().st_size for path in model_dir.iterdir() if path.name != "metadata.json")


def run_image(project: Path, owner: str, gigabytes: float | None) -> dict[str, Any]:
    """Every step for one image (iris when `gigabytes` is None): steps, floors, sizes."""
    if gigabytes:
        generate_large_model(project, gigabytes, seed=1)
    model_bytes = model_files_bytes(project)
    bench = Bench(project, owner)
    bench.empty_everything()
    steps = []
    first, summary = bench.measure("first deploy", bench.builder)
    steps.append(first)
    tag = str(summary["tag"])
    size = image_bytes(f"docker://{bench.builder.registry_host}/{bench.builder.repository_name}:{tag}")
    hop, _ = bench.measure("promotion hop (empty target)", bench.target)
    steps.append(hop)
    push_seconds, push_bytes = docker_push_floor(bench, built_image(project, bench.builder.name))
    skopeo_seconds, skopeo_bytes = skopeo_floor(bench, tag)
    code = project / SERVER_CODE
    for round_number in range(1, ROUNDS + 1):
        steps.append(bench.measure(f"{NO_OP} #{round_number}", bench.builder)[0])
        code.write_text(code.read_text() + f"# benchmark change {uuid.uuid4().hex}\n")
        steps.append(bench.measure(f"{CODE_ONLY} #{round_number}", bench.builder)[0])
    if gigabytes:
        generate_large_model(project, gigabytes, seed=2)
    else:
        set_model_version(project, "1.0.0-bench")
    steps.append(bench.measure("model-only change", bench.builder)[0])
    steps.append(bench.measure("promotion hop (model-only change)", bench.target)[0])
    return {
        "image_bytes": size,
        "model_bytes": model_bytes,
        "steps": [vars(step) for step in steps],
        "docker push (floor)": {"seconds": push_seconds, "bytes": push_bytes},
        "skopeo copy (floor)": {"seconds": skopeo_seconds, "bytes": skopeo_bytes},
    }


def _mb(value: float) -> str:
    return f"{value / 1e6:,.1f}"


def print_report(name: str, result: dict[str, Any]) -> None:
    """The table and the ratios BENCHMARKS.md shows, with each goal met or missed."""
    size, model = result["image_bytes"], result["model_bytes"]
    steps = {step["name"]: step for step in result["steps"]}
    print(f"\n{name}: image {_mb(size)} MB (compressed, as stored), model files {_mb(model)} MB")
    print("| step | s | pushed MB | copied MB | copy function s | copy CPU s | copy peak MiB (RSS / container) |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for step in result["steps"]:
        copy = step["copy"]
        function = f"{copy['seconds']:.1f} | {copy['cpu_seconds']:.1f}" if copy else "- | -"
        peak = f"{copy['max_memory_used_mib']:.0f} / {copy['container_peak_mib']:.0f}" if copy else "-"
        print(
            f"| {step['name']} | {step['seconds']:.1f} | {_mb(step['pushed'])} | {_mb(step['copied'])} "
            f"| {function} | {peak} |"
        )
    for floor in ("docker push (floor)", "skopeo copy (floor)"):
        print(f"| {floor} | {result[floor]['seconds']:.1f} | {_mb(result[floor]['bytes'])} | | | | |")
    noops = [step for step in result["steps"] if step["name"].startswith(NO_OP)]
    codes = [step for step in result["steps"] if step["name"].startswith(CODE_ONLY)]
    changed = steps["model-only change"]
    code_share = max(max(step["pushed"], step["copied"]) for step in codes) / size
    code_time = statistics.median(step["seconds"] for step in codes) / statistics.median(
        step["seconds"] for step in noops
    )
    model_share = max(changed["pushed"], changed["copied"]) / model if model else float("inf")
    hop = steps["promotion hop (empty target)"]
    skopeo = result["skopeo copy (floor)"]
    throughput = (hop["copied"] / hop["copy"]["seconds"]) if hop["copy"] else 0.0
    floor_throughput = skopeo["bytes"] / skopeo["seconds"]
    first_copy = steps["first deploy"]["copy"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print(
        f"- code-only change: {code_share:.4%} of the image moved per transfer ({verdict(code_share <= 0.01)}), "
        f"{code_time:.2f}x the no-op redeploy time, medians of {len(codes)} rounds ({verdict(code_time <= 1.5)})"
    )
    print(
        f"- model-only change: {model_share:.3f}x the model's size moved per transfer ({verdict(model_share <= 1.05)})"
    )
    print(
        f"- copy function {_mb(throughput)} MB/s vs skopeo {_mb(floor_throughput)} MB/s: "
        f"{throughput / floor_throughput:.2f}x ({verdict(throughput >= 0.7 * floor_throughput)})"
    )
    if first_copy:
        print(
            f"- first deploy's copy: {first_copy['seconds']:.1f} s of {COPY_TIMEOUT_SECONDS} s "
            f"({first_copy['seconds'] / COPY_TIMEOUT_SECONDS:.1%}), peak {first_copy['max_memory_used_mib']:.0f} MiB "
            f"of {first_copy['memory_size_mib']:.0f} MiB"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="delivery-bench image-sizes", description=__doc__)
    parser.add_argument("--gigabytes", type=float, default=1.0, help="weights of the large model, GiB")
    args = parser.parse_args(argv)
    owner = f"benchmark-{uuid.uuid4().hex[:8]}"
    source = find_project_root()
    results: dict[str, Any] = {"load_average_start": Path("/proc/loadavg").read_text().split()[:3]}
    with tempfile.TemporaryDirectory(prefix="bench-image-sizes-") as work, large_images_removed(LARGE_IMAGE_BYTES):
        for name, gigabytes in (("iris", None), (f"{args.gigabytes:g} GiB model", args.gigabytes)):
            project = copy_project(Path(work) / name.replace(" ", "-"), source)
            try:
                local_cloud(project, owner, "up")
                results[name] = run_image(project, owner, gigabytes)
            finally:
                local_cloud(project, owner, "destroy", "--delete-retained")
        local_cloud(project, owner, "down")  # undoes only what this benchmark's owner started
    results["load_average_end"] = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average (1/5/15 min): start {results['load_average_start']}, end {results['load_average_end']}")
    for name, result in results.items():
        if isinstance(result, dict):
            print_report(name, result)
    output = source / "benchmarks" / "results" / "image_sizes.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    return 0
