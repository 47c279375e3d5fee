"""What a local deploy must produce, from the project's own configuration and cloud assembly.

The settings come from the app's config loader (the same validation `cdk synth` runs), the image tag from
the rule the construct applies (`ml_constructs.image_tag`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from config import EnvironmentSettings
from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.settings import LocalSettings


class Expected(NamedTuple):
    """One local environment's settings, the tag the deploy must land, and where its image comes from:
    the image asset the CDK built for it (the start of a promotion chain), or the environment it promotes from.
    """

    settings: EnvironmentSettings
    tag: str
    asset: tuple[str, str] | None
    source: EnvironmentSettings | None
    promoted_to: tuple[str, ...] = ()  # accounts that copy from this repository (its policy lets them pull)


def image_asset(cloud_assembly: Path, stage: str) -> tuple[str, str]:
    """(repository, tag) the CDK published the model image asset to, from the stage's asset manifests."""
    found = [
        (destination["repositoryName"], destination["imageTag"])
        for manifest in sorted((cloud_assembly / f"assembly-{stage}").glob("*.assets.json"))
        for image in json.loads(manifest.read_text()).get("dockerImages", {}).values()
        for destination in image["destinations"].values()
    ]
    if len(found) != 1:
        raise ToolError(f"expected one docker image asset for {stage} in {cloud_assembly}, found {len(found)}")
    return found[0]


def expected(
    settings: LocalSettings, targets: LocalSettings, cloud_assembly: Path, rollback: str | None = None
) -> list[Expected]:
    """What every environment of `targets` should hold after the deploy, in cdk.json order; `settings` holds
    every local environment, so a promoted one finds the environment its chain starts from. With `rollback`
    (a tag; `targets` is then one environment) the environment runs that release of its own repository."""
    # Imported here: the app's construct package loads the CDK library, which starts a Node.js process;
    # commands that never need a tag (down, diff, a configuration error) stay fast and quiet.
    from ml_constructs.image_tag import deploy_tag

    by_name = {environment.name: environment for environment in settings.environments}
    found = []
    for environment in targets.environments:
        promoted_to = tuple(
            other.account
            for other in settings.environments
            if other.promote_from == environment.name and other.account != environment.account
        )
        if rollback:
            found.append(Expected(environment, rollback, None, environment, promoted_to))
            continue
        builder = environment
        while builder.promote_from:
            builder = by_name[builder.promote_from]
        repository, asset_tag = image_asset(cloud_assembly, builder.name)
        tag = deploy_tag(settings.model_version, asset_tag)
        if environment.promote_from:
            found.append(Expected(environment, tag, None, by_name[environment.promote_from], promoted_to))
        else:
            found.append(Expected(environment, tag, (repository, asset_tag), None, promoted_to))
    return found
