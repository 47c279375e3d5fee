"""Guards on project files that drift silently: feature flags, documented configuration keys."""

import json
import re
import subprocess
from pathlib import Path

from config.settings import EnvironmentSettings, GitHubSettings, LifecycleSettings
from delivery_tools.common.cdk import cdk_cli_environment
from tests.unit.cdk_app import PROJECT_ROOT


def test_cdk_json_carries_the_recommended_feature_flags_of_the_pinned_cli(tmp_path: Path) -> None:
    subprocess.run(
        [str(PROJECT_ROOT / "node_modules/.bin/cdk"), "init", "app", "--language", "python", "--generate-only"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env=cdk_cli_environment(PROJECT_ROOT),
        timeout=120,
    )
    recommended = json.loads((tmp_path / "cdk.json").read_text())["context"]
    ours = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    assert {flag: ours.get(flag) for flag in recommended} == recommended


def test_readme_documents_every_configuration_key() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    configuration = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", configuration, flags=re.MULTILINE))
    keys = {f for f in EnvironmentSettings.model_fields if f not in ("name", "lifecycle")}
    keys |= {f"lifecycle.{f}" for f in LifecycleSettings.model_fields}
    keys |= {f"github.{f}" for f in GitHubSettings.model_fields}
    assert documented == keys
