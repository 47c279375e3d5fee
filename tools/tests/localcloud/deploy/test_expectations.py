"""What the deploy expects from the cloud assembly: one image asset per stage, tagged version + hash."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.deploy.expectations import expected, image_asset
from delivery_tools.localcloud.settings import load_local_settings


def write_assets(assembly: Path, stage: str, images: dict[str, object]) -> None:
    directory = assembly / f"assembly-{stage}"
    directory.mkdir(parents=True)
    (directory / f"{stage}ModelImage.assets.json").write_text(json.dumps({"dockerImages": images, "files": {}}))


def test_every_environment_of_a_chain_expects_the_builds_tag_and_knows_its_source(
    project_root: Path, tmp_path: Path
) -> None:
    asset_hash = "58fccef7d262c9c4756a1cd6074755d9905b9514887853fe4312dcf94792b115"
    destination = {"repositoryName": "cdk-assets", "imageTag": asset_hash}
    settings = dataclasses.replace(load_local_settings(project_root), model_version="2.0.0")
    for environment in settings.environments:
        images: dict[str, object] = (
            {} if environment.promote_from else {asset_hash: {"destinations": {"d": destination}}}
        )
        write_assets(tmp_path, environment.name, images)
    found = expected(settings, settings, tmp_path)
    assert [(item.settings.name, item.asset, item.source and item.source.name, item.tag) for item in found] == [
        ("local", ("cdk-assets", asset_hash), None, "deploy-2.0.0-58fccef7d262"),
        ("local-staging", None, "local", "deploy-2.0.0-58fccef7d262"),
        ("local-prod", None, "local-staging", "deploy-2.0.0-58fccef7d262"),
    ]
    (only_prod,) = expected(settings, settings.only("local-prod"), tmp_path)
    assert only_prod.tag == "deploy-2.0.0-58fccef7d262", "a promoted environment deployed alone follows its chain"


def test_an_assembly_without_exactly_one_image_is_an_error(tmp_path: Path) -> None:
    write_assets(tmp_path, "stage-a", {})
    with pytest.raises(ToolError, match="found 0"):
        image_asset(tmp_path, "stage-a")


def test_a_rollback_expects_the_given_release_of_the_environments_own_repository(
    project_root: Path, tmp_path: Path
) -> None:
    settings = load_local_settings(project_root)
    (found,) = expected(settings, settings.only("local-prod"), tmp_path, rollback="deploy-1.0.0-0123456789ab")
    assert (found.tag, found.asset, found.source) == ("deploy-1.0.0-0123456789ab", None, found.settings)
