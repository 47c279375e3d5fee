"""Phases of a local-cloud deploy on a warm machine, against `cdk synth` of the same app in the same run.

The baseline is the floor every deploy pays (the CDK CLI synthesizing the app); the ratios say what the
local cloud adds on top. Runs in a copy of the project (the model version is changed there, never in the
tracked tree) and takes the local cloud down at the end.

    python -m benchmarks.local_deploy [--runs N]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tooling.project_copy import copy_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "local_deploy.json"
GOALS = {"full deploy + verify": 120.0, "no-op redeploy": 20.0}


def tooling(project: Path, *arguments: str) -> tuple[float, str]:
    """Run `python -m tooling ARGS` in `project`: (seconds, stdout); fails loudly."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tooling", *arguments], cwd=project, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"tooling {' '.join(arguments)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.monotonic() - started, result.stdout


def deploy(project: Path) -> tuple[float, dict[str, object]]:
    seconds, stdout = tooling(project, "local", "deploy")
    return seconds, json.loads(stdout.strip().splitlines()[-1])


def synth_baseline(project: Path) -> float:
    """`cdk synth` of the local stage with the same CLI, base image and output directory as the deploy."""
    code = (
        "import sys, time\n"
        "from tooling.localcloud.cdk_cli import CdkCli, STACKS\n"
        "from tooling.localcloud.base_choice import choose_base_image, OFFICIAL_BASE_IMAGE\n"
        "from tooling.localcloud.moto_server import ENDPOINT_URL\n"
        "from tooling.localcloud.state import current_state\n"
        "image, _ = choose_base_image()\n"
        "override = None if image == OFFICIAL_BASE_IMAGE else image\n"
        "started = time.monotonic()\n"
        "CdkCli(current_state(), ENDPOINT_URL, override).run(['synth', STACKS, '--quiet'])\n"
        "print(time.monotonic() - started)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def set_model_version(project: Path, version: str) -> None:
    metadata_file = project / "model_image" / "model" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata_file.write_text(json.dumps({**metadata, "version": version}, indent=2) + "\n")


def measure(project: Path, run: int) -> dict[str, object]:
    """One round: full deploy after destroy, no-op redeploy, deploy of a new model version, synth baseline."""
    tooling(project, "local", "destroy")
    full_seconds, full = deploy(project)
    noop_seconds, noop = deploy(project)
    set_model_version(project, f"0.0.{run}-bench")
    change_seconds, changed = deploy(project)
    assert full["copied"] and not noop["copied"] and changed["copied"], "unexpected copy behaviour"
    return {
        "full deploy + verify": full_seconds,
        "no-op redeploy": noop_seconds,
        "deploy of a new model version": change_seconds,
        "cdk synth (baseline)": synth_baseline(project),
        "phases of the full deploy": full["phases"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-local-deploy-") as work:
        project = copy_project(Path(work))
        try:
            warm_up_seconds, _ = deploy(project)  # starts the services, bootstraps, fills docker's build cache
            rounds = [measure(project, run) for run in range(args.runs)]
        finally:
            subprocess.run(
                [sys.executable, "-m", "tooling", "local", "down"], cwd=project, capture_output=True, check=False
            )
    names = [name for name in rounds[0] if name != "phases of the full deploy"]
    medians = {name: statistics.median(float(r[name]) for r in rounds) for name in names}  # type: ignore[arg-type]
    baseline = medians["cdk synth (baseline)"]
    print(f"first deploy of the session (services started, bootstrap): {warm_up_seconds:.1f} s")
    print("| measure | median s | x cdk synth | goal |")
    print("|---|---:|---:|---|")
    for name, seconds in medians.items():
        goal = f"<= {GOALS[name]:.0f} s {'met' if seconds <= GOALS[name] else 'MISSED'}" if name in GOALS else ""
        print(f"| {name} | {seconds:.1f} | {seconds / baseline:.2f} | {goal} |")
    print("phases of the full deploy (s):", json.dumps(rounds[-1]["phases of the full deploy"]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"warm_up_seconds": warm_up_seconds, "rounds": rounds, "medians": medians}, indent=2))
    return 0 if all(medians[name] <= goal for name, goal in GOALS.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
