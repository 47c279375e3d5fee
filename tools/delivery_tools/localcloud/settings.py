"""The local environments of the project, read through the CDK app's own loader (cdk.json + model version).

Everything the local cloud is made of (accounts, regions, registry host names, stage names) comes from
here, so the configuration is checked before anything on the machine changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from config import ConfigError, EnvironmentSettings
from config.project import load_project_settings
from delivery_tools.common.errors import ToolError


@dataclass(frozen=True)
class LocalSettings:
    """The environments whose target is the local cloud, in promotion order, and the model version."""

    environments: tuple[EnvironmentSettings, ...]
    model_version: str

    @property
    def home(self) -> EnvironmentSettings:
        """The first local environment: its account and region are the local cloud's defaults."""
        return self.environments[0]

    @property
    def registry_hosts(self) -> tuple[str, ...]:
        """The ECR host names the registry serves (one per account and region), sorted."""
        return tuple(sorted({environment.registry_host for environment in self.environments}))

    @property
    def stack_patterns(self) -> tuple[str, ...]:
        """What the CDK CLI is asked to deploy: every stack of every local stage."""
        return tuple(f"{environment.name}/*" for environment in self.environments)

    def only(self, name: str | None) -> LocalSettings:
        """These settings narrowed to the local environment `name` (all of them for None)."""
        if name is None:
            return self
        chosen = tuple(environment for environment in self.environments if environment.name == name)
        if not chosen:
            names = ", ".join(environment.name for environment in self.environments)
            raise ToolError(f"{name!r} is no local environment of cdk.json: choose one of {names}")
        return LocalSettings(chosen, self.model_version)


def load_local_settings(project_root: Path) -> LocalSettings:
    """The validated local environments; a configuration problem is one line naming it and the fix."""
    cdk_json = project_root / "cdk.json"
    try:
        context = json.loads(cdk_json.read_text())["context"]
        settings = load_project_settings(project_root, context.get)
    except ConfigError as error:
        problems = "; ".join(error.problems)
        raise ToolError(f"configuration error: {problems} (fix cdk.json, then run the command again)") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ToolError(f"{cdk_json} cannot be read as a CDK app's settings ({error}): fix it and run again") from None
    if not settings.local_environments:
        raise ToolError('no environment in cdk.json has "target": "local": add one to deploy to the local cloud')
    # Promotion order (each environment after the one it copies from, otherwise cdk.json order): the order
    # in which they deploy, and the first is the one that builds.
    in_order = tuple(environment for environment in settings.in_promotion_order if environment.is_local)
    return LocalSettings(in_order, settings.model_version)
