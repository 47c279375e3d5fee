"""Turn cdk.json context into AppSettings, or into one readable line per problem."""

import difflib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from config.settings import AppSettings, EnvironmentSettings, GitHubSettings, LifecycleSettings, RollbackSettings


class ConfigError(Exception):
    """Every problem found in the configuration, one line each, ready to print without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(
    environments: object,
    *,
    model_version: object,
    github: object = None,
    base_image_override: str | None = None,
    rollback: str | None = None,
    target: str | None = None,
) -> AppSettings:
    """Validate the `environments` context (a mapping of name to settings) and the model version.

    `base_image_override` (the `-c base_image=...` CLI context) replaces the base image of every
    environment that builds (the start of each promotion chain), so a machine without Docker Hub can
    build from a locally made base. `target` (the `-c target=...` CLI context) keeps the app to the
    environments of that target: the local cloud synthesizes the local ones only, so the AWS stages' image
    asset is neither fingerprinted nor staged into its cloud assembly.
    """
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError(
            [f"environments = {_show(environments)}: must be a non-empty mapping of environment name to settings"]
        )
    names = [str(name) for name in environments]
    entries = []
    for name, raw in environments.items():
        entry = {"name": name, **raw} if isinstance(raw, Mapping) else raw
        if base_image_override and isinstance(entry, dict) and not entry.get("promote_from"):
            entry["base_image"] = base_image_override  # only where an image is built
        entries.append(entry)
    document = {
        "environments": entries,
        "model_version": model_version,
        "github": github,
        "rollback": _rollback(rollback),
        "target": target,
    }
    try:
        return AppSettings.model_validate_json(json.dumps(document))
    except ValidationError as error:
        raise ConfigError([_describe(issue, names, document) for issue in error.errors()]) from None


def _rollback(value: str | None) -> dict[str, str] | None:
    """`ENV=TAG` (the `-c rollback=...` context) as the mapping the settings validate."""
    if value is None:
        return None
    environment, separator, image_tag = value.partition("=")
    if not separator:
        raise ConfigError([f"rollback = {value!r}: must be ENVIRONMENT=TAG, e.g. prod=1.0.0-0123456789ab"])
    return {"environment": environment, "image_tag": image_tag}


def _describe(issue: Any, names: list[str], document: dict[str, Any]) -> str:
    location = list(issue["loc"])
    where = "config"
    if location[:1] == ["environments"] and len(location) > 1 and isinstance(location[1], int):
        where = f"environment {names[location[1]]!r}"
        location = location[2:]
    key = ".".join(str(part) for part in location)
    message = str(issue["msg"]).removeprefix("Value error, ")
    if issue["type"] == "extra_forbidden":
        return f"{where}: unknown key {key!r}{_suggestion(location)}"
    if issue["type"] == "missing":
        return f"{where}: {key} is missing; it is required"
    if not key:
        return message if message.startswith("environment '") else f"{where}: {message}"
    return f"{where}: {key} = {_show(issue.get('input'))}: {message}"


def _suggestion(location: list[Any]) -> str:
    model: type[BaseModel] = EnvironmentSettings
    if "lifecycle" in location[:-1]:
        model = LifecycleSettings
    elif "github" in location[:-1]:
        model = GitHubSettings
    elif "rollback" in location[:-1]:
        model = RollbackSettings
    allowed = [field for field in model.model_fields if field != "name"]
    close = difflib.get_close_matches(str(location[-1]), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; allowed: {', '.join(allowed)}"


def _show(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
