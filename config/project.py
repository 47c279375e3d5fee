"""The project's settings as every entry point reads them: cdk.json context plus the model's version."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.loader import ConfigError, load_settings
from config.settings import AppSettings

MODEL_METADATA = Path("model_image") / "model" / "metadata.json"


def project_context(project_root: Path) -> dict[str, Any]:
    """cdk.json's context, as the CDK CLI hands it to the app."""
    context: dict[str, Any] = json.loads((project_root / "cdk.json").read_text())["context"]
    return context


def load_project_settings(project_root: Path, context: Callable[[str], object]) -> AppSettings:
    """Validated settings; `context` looks a context key up (the CDK app's node, or cdk.json's context)."""
    try:
        model_version = json.loads((project_root / MODEL_METADATA).read_text())["version"]
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError([f"{MODEL_METADATA}: no readable 'version' ({error})"]) from None
    base_image = context("base_image")
    rollback = context("rollback")
    target = context("target")
    return load_settings(
        context("environments"),
        model_version=model_version,
        github=context("github"),
        base_image_override=str(base_image) if base_image else None,
        rollback=str(rollback) if rollback else None,
        target=str(target) if target else None,
    )
