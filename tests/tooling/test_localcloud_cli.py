"""The `python -m tooling local` command line and what the deploy expects from the cloud assembly."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tooling.cli import build_parser
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.expectations import Expected, image_asset, load_local_settings
from tooling.localcloud.system_deps import moto_requirement

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["install-deps", "engine", "base-image", "deploy", "diff", "destroy", "down"])
def test_every_make_target_has_its_local_subcommand(command: str) -> None:
    args = build_parser().parse_args(["local", command])
    assert callable(args.handler)


def test_an_unknown_subcommand_is_rejected_with_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tooling", "local", "deploi"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "invalid choice: 'deploi'" in result.stderr


def test_diff_without_a_running_local_cloud_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text("{}")
    result = subprocess.run(
        [sys.executable, "-m", "tooling", "local", "diff"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "not running" in result.stderr and "make deploy-local" in result.stderr


def test_the_local_settings_come_from_cdk_json() -> None:
    settings, version = load_local_settings(ROOT)
    assert (settings.account, settings.region) == ("123456789012", "us-east-1")
    assert version == json.loads((ROOT / "model_image/model/metadata.json").read_text())["version"]


def write_assets(assembly: Path, images: dict[str, object]) -> None:
    stage = assembly / "assembly-local"
    stage.mkdir(parents=True)
    (stage / "localModelImage.assets.json").write_text(json.dumps({"dockerImages": images, "files": {}}))


def test_the_expected_tag_is_version_and_asset_hash_prefix(tmp_path: Path) -> None:
    asset_hash = "58fccef7d262c9c4756a1cd6074755d9905b9514887853fe4312dcf94792b115"
    destination = {"repositoryName": "cdk-assets", "imageTag": asset_hash}
    write_assets(tmp_path, {asset_hash: {"destinations": {"d": destination}}})
    repository, tag = image_asset(tmp_path)
    settings, _ = load_local_settings(ROOT)
    assert Expected(settings, "2.0.0", repository, tag).tag == "2.0.0-58fccef7d262"


def test_an_assembly_without_exactly_one_image_is_an_error(tmp_path: Path) -> None:
    write_assets(tmp_path, {})
    with pytest.raises(LocalCloudError, match="found 0"):
        image_asset(tmp_path)


def test_moto_is_installed_from_the_single_pin() -> None:
    assert moto_requirement(ROOT / "requirements-dev.txt").startswith("moto[server]==")
