"""The local cloud reads its environments through the CDK app's loader, never from its own constants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.settings import load_local_settings


def test_the_local_environments_come_from_cdk_json(project_root: Path) -> None:
    context = json.loads((project_root / "cdk.json").read_text())["context"]
    local = {name: env for name, env in context["environments"].items() if env.get("target") == "local"}
    settings = load_local_settings(project_root)
    assert [env.name for env in settings.environments] == list(local)
    assert settings.registry_hosts == tuple(
        sorted({f"{env['account']}.dkr.ecr.{env['region']}.amazonaws.com" for env in local.values()})
    )
    assert settings.stack_patterns == tuple(f"{name}/*" for name in local)
    version = json.loads((project_root / "model_image/model/metadata.json").read_text())["version"]
    assert settings.model_version == version


def test_a_project_without_a_local_environment_is_told_how_to_add_one(project_root: Path, tmp_path: Path) -> None:
    context = json.loads((project_root / "cdk.json").read_text())
    environments = context["context"]["environments"]
    context["context"]["environments"] = {n: e for n, e in environments.items() if e.get("target") != "local"}
    (tmp_path / "cdk.json").write_text(json.dumps(context))
    (tmp_path / "model_image" / "model").mkdir(parents=True)
    (tmp_path / "model_image" / "model" / "metadata.json").write_text('{"version": "1.0.0"}')
    with pytest.raises(ToolError, match=r"no environment in cdk\.json has \"target\": \"local\""):
        load_local_settings(tmp_path)


def test_one_local_environment_is_chosen_by_name_and_an_unknown_name_is_one_line(project_root: Path) -> None:
    settings = load_local_settings(project_root)
    last = settings.environments[-1]
    assert settings.only(last.name).environments == (last,)
    assert settings.only(None) == settings
    names = ", ".join(env.name for env in settings.environments)
    with pytest.raises(ToolError, match=f"'nowhere' is no local environment of cdk.json: choose one of {names}$"):
        settings.only("nowhere")
