"""`delivery-bench` names its benchmarks explicitly and refuses unknown ones without running anything."""

import subprocess
import sys
from pathlib import Path

from delivery_tools.benchmarks import image_sizes, local_deploy, serving, synth
from delivery_tools.benchmarks.cli import BENCHMARKS

DELIVERY_BENCH = Path(sys.executable).with_name("delivery-bench")


def test_every_benchmark_module_is_listed() -> None:
    assert {
        "synth": synth.main,
        "local-deploy": local_deploy.main,
        "image-sizes": image_sizes.main,
        "serving": serving.main,
    } == BENCHMARKS


def test_an_unknown_benchmark_is_refused_in_one_line(project_root: Path) -> None:
    result = subprocess.run(
        [str(DELIVERY_BENCH), "synht"], cwd=project_root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "delivery-bench: unknown benchmark 'synht'; choose one of synth, local-deploy, image-sizes, serving"
    ]


def test_each_benchmark_takes_its_own_arguments(project_root: Path) -> None:
    for name in BENCHMARKS:
        result = subprocess.run(
            [str(DELIVERY_BENCH), name, "--help"], cwd=project_root, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0 and "usage:" in result.stdout, name
