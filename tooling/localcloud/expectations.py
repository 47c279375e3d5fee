"""What a local deploy must produce, from the project's own configuration and cloud assembly.

The settings come from the app's config loader (the same validation `cdk synth` runs), the image tag from
the rule the construct applies (`ml_constructs.image_tag`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from config import EnvironmentSettings
from config.project import load_project_settings
from ml_constructs.image_tag import deploy_tag
from tooling.localcloud.errors import LocalCloudError

ENVIRONMENT = "local"


@dataclass(frozen=True)
class Expected:
    """The local environment's settings and the image the deploy should land."""

    settings: EnvironmentSettings
    model_version: str
    asset_repository: str
    asset_tag: str

    @property
    def tag(self) -> str:
        return deploy_tag(self.model_version, self.asset_tag)


def load_local_settings(root: Path) -> tuple[EnvironmentSettings, str]:
    """The `local` environment's validated settings and the model version, read as app.py reads them."""
    context = json.loads((root / "cdk.json").read_text())["context"]
    settings = load_project_settings(root, context.get)
    return settings.environment(ENVIRONMENT), settings.model_version


def image_asset(cloud_assembly: Path) -> tuple[str, str]:
    """(repository, tag) the CDK published the model image asset to, from the local stage's asset manifests."""
    found = [
        (destination["repositoryName"], destination["imageTag"])
        for manifest in sorted((cloud_assembly / f"assembly-{ENVIRONMENT}").glob("*.assets.json"))
        for image in json.loads(manifest.read_text()).get("dockerImages", {}).values()
        for destination in image["destinations"].values()
    ]
    if len(found) != 1:
        raise LocalCloudError(f"expected one docker image asset in {cloud_assembly}, found {len(found)}")
    return found[0]


def expected(root: Path, cloud_assembly: Path) -> Expected:
    settings, version = load_local_settings(root)
    asset_repository, asset_tag = image_asset(cloud_assembly)
    return Expected(settings, version, asset_repository, asset_tag)
