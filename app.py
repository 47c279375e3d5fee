#!/usr/bin/env python3
"""CDK entry point: read the configuration once, fail fast on bad values, then build one Stage per environment."""

import json
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from config import AppSettings, ConfigError, load_settings
from stacks import ModelDeliveryStage
from stacks.delivery_roles_stack import delivery_roles_per_account

PROJECT_ROOT = Path(__file__).resolve().parent
IMAGE_DIRECTORY = PROJECT_ROOT / "model_image"
MODEL_METADATA = IMAGE_DIRECTORY / "model" / "metadata.json"


def read_settings(app: App) -> AppSettings:
    """Everything the stacks need, validated before a single construct exists."""
    try:
        model_version = json.loads(MODEL_METADATA.read_text())["version"]
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError([f"{MODEL_METADATA.relative_to(PROJECT_ROOT)}: no readable 'version' ({error})"]) from None
    return load_settings(
        app.node.try_get_context("environments"),
        model_version=model_version,
        github=app.node.try_get_context("github"),
        base_image_override=app.node.try_get_context("base_image"),
    )


def build(app: App, settings: AppSettings) -> dict[str, ModelDeliveryStage]:
    stages = {
        env.name: ModelDeliveryStage(
            app, settings=env, model_version=settings.model_version, image_directory=str(IMAGE_DIRECTORY)
        )
        for env in settings.environments
    }
    if settings.github and settings.github_deployed:
        delivery_roles_per_account(
            app,
            github_owner=settings.github.owner,
            github_repo=settings.github.repo,
            targets=[(env.name, env.account, env.region) for env in settings.github_deployed],
        )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stages


def new_app(**props: Any) -> App:
    """The App of every entry point (CLI, tests, benchmarks), so all of them synthesize alike.

    CDK's built-in template validation is a subset of cfn-lint, which the test suite runs with its full
    rule set over every template; keeping both would add seconds to every synth, diff and deploy.
    """
    return App(builtin_cloud_formation_validation=False, **props)


def main() -> None:
    app = new_app()
    try:
        settings = read_settings(app)
    except ConfigError as error:
        for problem in error.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        sys.exit(2)
    build(app, settings)
    app.synth()


if __name__ == "__main__":
    main()
