"""Synthesis time of the whole app (every environment) against a bare one-stack CDK app.

Each sample runs in a fresh Python process, as `cdk synth` does, so the jsii start-up that every CDK
app pays is part of both numbers; bare and full samples alternate so machine noise hits both alike.
A last number is build + synth of the full app alone, inside one warm process.

    delivery-bench synth [--runs N]
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from delivery_tools.common.cdk import cdk_cli_environment
from delivery_tools.common.project import find_project_root, load_module

PROJECT_ROOT = find_project_root()
GOAL_RATIO = 1.6


def _synth_bare(outdir: str, *, builtin_validation: bool) -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_ssm as ssm

    app = App(outdir=outdir, builtin_cloud_formation_validation=builtin_validation)
    stack = Stack(app, "Bare")
    ssm.StringParameter(stack, "Parameter", string_value="bare")
    app.synth()


def synth_bare(outdir: str) -> None:
    """A one-stack app with the same App settings as ours (CDK's built-in validation off)."""
    _synth_bare(outdir, builtin_validation=False)


def synth_bare_defaults(outdir: str) -> None:
    """A one-stack app exactly as `cdk init` makes it (built-in validation on)."""
    _synth_bare(outdir, builtin_validation=True)


def synth_full(outdir: str) -> None:
    cdk_app = load_module(PROJECT_ROOT / "app.py", "cdk_app")
    context = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    app = cdk_app.new_app(context=context, outdir=outdir)
    cdk_app.build(app, cdk_app.read_settings(app))
    app.synth()


APPS: dict[str, Callable[[str], None]] = {
    "bare": synth_bare,
    "bare-cdk-defaults": synth_bare_defaults,
    "full": synth_full,
}


def time_once(kind: str) -> float:
    """One sample: import + build + synth in this (fresh) process."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        APPS[kind](outdir)
    return time.perf_counter() - start


def cold_sample(kind: str) -> float:
    result = subprocess.run(
        [sys.executable, "-m", "delivery_tools.benchmarks.synth", "--once", kind],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=cdk_cli_environment(PROJECT_ROOT),
    )
    return float(result.stdout.strip().splitlines()[-1])


def summarize(label: str, samples: dict[str, list[float]], baseline: str) -> float:
    bare, full = (statistics.median(samples[kind]) for kind in (baseline, "full"))
    ratio = full / bare
    runs = len(samples["full"])
    print(f"{label:<28} {baseline:<18} {bare:6.2f} s   full {full:6.2f} s   ratio {ratio:4.2f}x   (median of {runs})")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="delivery-bench synth")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--once", choices=sorted(APPS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.once:
        print(f"{time_once(args.once):.4f}")
        return 0

    node = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, check=True, env=cdk_cli_environment(PROJECT_ROOT)
    ).stdout
    python = platform.python_version()
    print(f"{time.strftime('%Y-%m-%d')}  {platform.platform()}  python {python}  node {node.strip()}")
    cold: dict[str, list[float]] = {kind: [] for kind in APPS}
    for _ in range(args.runs):
        for kind in APPS:
            cold[kind].append(cold_sample(kind))
    ratio = summarize("fresh process, import+synth", cold, "bare")
    summarize("fresh process, import+synth", cold, "bare-cdk-defaults")

    time_once("full")  # start jsii and load every module once
    warm = statistics.median(time_once("full") for _ in range(args.runs))
    print(f"{'warm process, build+synth':<28} {'full':<18} {warm:6.2f} s   (jsii running; median of {args.runs})")
    verdict = "meets" if ratio <= GOAL_RATIO else "misses"
    print(f"goal: full <= {GOAL_RATIO}x bare in a fresh process -> {verdict} it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
