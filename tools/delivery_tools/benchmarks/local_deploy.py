"""Local-cloud deploys on a warm machine, against `cdk synth` of the same stages in the same run.

Measured in a copy of the project (the model version is changed there, never in the tracked tree):
a full deploy of every local environment (each in its own account) after `destroy --delete-retained`, a
no-op redeploy, a deploy of a new model version, and the floor every deploy pays (the CDK CLI
synthesizing the same stages). The local cloud is
left as it was found: what the benchmark started is taken down, what ran before keeps running.

    delivery-bench local-deploy [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from delivery_tools.common.project import copy_project, find_project_root, set_model_version
from delivery_tools.localcloud.accounts import account_client
from delivery_tools.localcloud.deploy.cdk_cli import CdkCli
from delivery_tools.localcloud.host_changes.records import OWNER_VARIABLE
from delivery_tools.localcloud.images.python_base import choose_base_image
from delivery_tools.localcloud.services import moto
from delivery_tools.localcloud.settings import load_local_settings

GOALS = {"full deploy + verify": 120.0, "no-op redeploy": 20.0}
LOCAL_CLOUD = Path(sys.executable).with_name("local-cloud")


def local_cloud(project: Path, owner: str, *arguments: str) -> tuple[float, str]:
    """Run `local-cloud ARGS` in `project` as `owner`: (seconds, stdout); fails loudly."""
    started = time.monotonic()
    result = subprocess.run(
        [str(LOCAL_CLOUD), *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, OWNER_VARIABLE: owner},
    )
    if result.returncode != 0:
        raise SystemExit(f"local-cloud {' '.join(arguments)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.monotonic() - started, result.stdout


def deploy(project: Path, owner: str, *environment: str) -> tuple[float, dict[str, Any]]:
    seconds, stdout = local_cloud(project, owner, "deploy", *environment)
    summary: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return seconds, summary


def synth_baseline(project: Path) -> float:
    """`cdk synth` of the local stages with the same CLI, base image and output directory as the deploy."""
    settings = load_local_settings(project)
    image, _, official = choose_base_image(project)
    cdk = CdkCli(project, moto.ENDPOINT_URL, settings.home.region, None if image == official else image)
    started = time.monotonic()
    cdk.run(["synth", *settings.stack_patterns, "--quiet"])
    return time.monotonic() - started


def measure(project: Path, owner: str, run: int) -> dict[str, Any]:
    """One round: full deploy after destroy, no-op redeploy, deploy of a new model version, synth baseline.

    A retained repository is deleted too: it would hold the tag, and ECR refuses to copy it again.
    """
    local_cloud(project, owner, "destroy", "--delete-retained")
    full_seconds, full = deploy(project, owner)
    noop_seconds, noop = deploy(project, owner)
    set_model_version(project, f"0.0.{run}-bench")
    change_seconds, changed = deploy(project, owner)
    every = sorted(full["environments"])
    if not (full["copied_in"] == every and noop["copied_in"] == [] and changed["copied_in"] == every):
        copies = {"full": full["copied_in"], "no-op": noop["copied_in"], "new version": changed["copied_in"]}
        raise SystemExit(f"unexpected copy behaviour (environments whose copy ran): {copies}")
    return {
        "full deploy + verify": full_seconds,
        "no-op redeploy": noop_seconds,
        "deploy of a new model version": change_seconds,
        "cdk synth (baseline)": synth_baseline(project),
        "environments": sorted(full["environments"]),
        "phases of the full deploy": full["phases"],
    }


def skopeo_copy(source: str, destination: str, cache_home: Path) -> float:
    """`skopeo copy` between two registry hosts of the local cloud (trusting docker's certs.d), in seconds.

    A fresh HOME keeps containers/image's blob-info cache empty, so nothing is mounted instead of copied.
    """
    if shutil.which("skopeo") is None:
        raise SystemExit("skopeo is missing: apt-get install skopeo (the floor of a promotion hop)")
    started = time.monotonic()
    subprocess.run(
        ["skopeo", "copy", "--quiet", source, destination],
        check=True,
        capture_output=True,
        env={**os.environ, "HOME": str(cache_home)},
    )
    return time.monotonic() - started


def promotion_hop(project: Path, owner: str, run: int) -> dict[str, float]:
    """One hop of the promotion chain against `skopeo copy` of the same image between the same registries.

    The first environment builds a new model version; `skopeo copy` then moves that image into a fresh
    repository of the second account (the floor: the bytes, nothing else); then the second environment is
    deployed (its copy Lambda pulls from the first account). Two fixed costs follow: the same deploy again
    with nothing to do (a CloudFormation update and the read-back), and a rollback to the release it held
    before, whose copy re-tags an image already in the repository (every step of a hop, the copy Lambda and
    both digest reads included, but no bytes).
    """
    settings = load_local_settings(project)
    builder, target = settings.environments[0], settings.environments[1]
    if target.promote_from != builder.name:
        raise SystemExit(f"{target.name} does not promote from {builder.name}: no hop to measure")
    ssm = account_client("ssm", moto.ENDPOINT_URL, target.region, target.account)
    held_before = ssm.get_parameter(Name=target.ssm_image_tag_parameter)["Parameter"]["Value"]
    set_model_version(project, f"0.0.{run}-hop")
    _, built = deploy(project, owner, builder.name)
    floor_repository = f"bench-floor-{uuid.uuid4().hex[:8]}"
    ecr = account_client("ecr", moto.ENDPOINT_URL, target.region, target.account)
    ecr.create_repository(repositoryName=floor_repository)
    try:
        with tempfile.TemporaryDirectory(prefix="skopeo-home-") as home:
            floor = skopeo_copy(
                f"docker://{builder.registry_host}/{builder.repository_name}:{built['tag']}",
                f"docker://{target.registry_host}/{floor_repository}:{built['tag']}",
                Path(home),
            )
    finally:
        ecr.delete_repository(repositoryName=floor_repository, force=True)
    hop, promoted = deploy(project, owner, target.name)
    if promoted["copied_in"] != [target.name] or promoted["digests"][target.name] != built["image_digest"]:
        raise SystemExit(f"the hop did not copy the built digest into {target.name}: {promoted}")
    nothing, _ = deploy(project, owner, target.name)
    no_bytes, rolled = deploy(project, owner, target.name, "--rollback", held_before)
    if rolled["copied_in"] != [target.name]:
        raise SystemExit(f"the rollback of {target.name} to {held_before} did not run its copy: {rolled}")
    return {
        "promotion hop": hop,
        "skopeo copy (floor)": floor,
        "same deploy, nothing to copy": nothing,
        "a copy that moves no bytes (rollback re-tag)": no_bytes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="delivery-bench local-deploy", description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    owner = f"benchmark-{uuid.uuid4().hex[:8]}"
    source = find_project_root()
    with tempfile.TemporaryDirectory(prefix="bench-local-deploy-") as work:
        project = copy_project(Path(work), source)
        try:
            warm_up_seconds, _ = deploy(project, owner)  # starts what is not running, fills docker's build cache
            rounds = [measure(project, owner, run) for run in range(args.runs)]
            hops = [promotion_hop(project, owner, run) for run in range(args.runs)]
        finally:
            local_cloud(project, owner, "destroy", "--delete-retained")
            local_cloud(project, owner, "down")  # undoes only what this benchmark's owner started
    names = [*GOALS, "deploy of a new model version", "cdk synth (baseline)"]
    medians = {name: statistics.median(float(r[name]) for r in rounds) for name in names}
    baseline = medians["cdk synth (baseline)"]
    print(f"environments: {', '.join(rounds[0]['environments'])}")
    print(f"first deploy of the run (whatever was not running started, bootstrap): {warm_up_seconds:.1f} s")
    print("| measure | median s | x cdk synth | goal |")
    print("|---|---:|---:|---|")
    for name, seconds in medians.items():
        goal = f"<= {GOALS[name]:.0f} s {'met' if seconds <= GOALS[name] else 'MISSED'}" if name in GOALS else ""
        print(f"| {name} | {seconds:.1f} | {seconds / baseline:.2f} | {goal} |")
    print("phases of the full deploy (s):", json.dumps(rounds[-1]["phases of the full deploy"]))
    hop = {name: statistics.median(h[name] for h in hops) for name in hops[0]}
    floor = hop["skopeo copy (floor)"]
    print("| promotion hop | median s |")
    print("|---|---:|")
    for name, seconds in hop.items():
        print(f"| {name} | {seconds:.1f} |")
    for fixed in ("same deploy, nothing to copy", "a copy that moves no bytes (rollback re-tag)"):
        copy_part = hop["promotion hop"] - hop[fixed]
        verdict = "met" if copy_part <= 2 * floor else "MISSED"
        print(f"hop - ({fixed}): {copy_part:.1f} s = {copy_part / floor:.2f}x skopeo copy (goal <= 2x: {verdict})")
    results = source / "benchmarks" / "results" / "local_deploy.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(
        json.dumps({"warm_up_seconds": warm_up_seconds, "rounds": rounds, "medians": medians, "hops": hops}, indent=2)
    )
    return 0 if all(medians[name] <= goal for name, goal in GOALS.items()) else 1
