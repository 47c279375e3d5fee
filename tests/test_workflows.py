"""The GitHub workflows, Dependabot and pre-commit configs are valid and safe, checked offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.synthesis import SynthesizedApp

PROJECT_ROOT = Path(__file__).resolve().parents[1]
GITHUB_DIR = PROJECT_ROOT / ".github"
WORKFLOWS = sorted((GITHUB_DIR / "workflows").glob("*.yml"))
# `uses: owner/repo@<40 hex> # vX.Y.Z`: immutable, and still readable for the person who bumps it.
PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
ZIZMOR = Path(sys.executable).with_name("zizmor")


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def test_there_are_ci_pr_diff_and_deploy_workflows() -> None:
    assert {"ci.yml", "pr-diff.yml", "deploy.yml"} <= {path.name for path in WORKFLOWS}


def test_workflows_match_the_github_schema() -> None:
    result = run(sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_config_matches_its_schema_and_covers_every_ecosystem() -> None:
    path = GITHUB_DIR / "dependabot.yml"
    result = run(sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.dependabot", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {update["package-ecosystem"] for update in load(path)["updates"]} == {"pip", "npm", "github-actions"}


def test_zizmor_finds_nothing_of_medium_or_high_severity() -> None:
    result = run(ZIZMOR, "--offline", "--format", "json", ".")
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr  # 1x: findings, reported below
    findings = json.loads(result.stdout)
    serious = [
        f"{finding['ident']}: {finding['desc']}"
        for finding in findings
        if finding["determinations"]["severity"] in ("Medium", "High")
    ]
    assert serious == []


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_by_commit_sha(workflow: Path) -> None:
    uses = re.findall(r"^\s*(?:- )?uses: (.+)$", workflow.read_text(), flags=re.MULTILINE)
    remote = [reference for reference in uses if not reference.startswith("./")]
    assert [reference for reference in remote if not PINNED_USES.match(reference)] == []


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_permissions_are_granted_per_job_only(workflow: Path) -> None:
    document = load(workflow)
    assert document["permissions"] == {}
    for name, job in document["jobs"].items():
        assert "permissions" in job, f"job {name} of {workflow.name} must declare its permissions"
        assert "write-all" not in str(job["permissions"])


def test_deploy_goes_dev_then_staging_then_prod_each_in_its_github_environment() -> None:
    jobs = load(GITHUB_DIR / "workflows" / "deploy.yml")["jobs"]
    assert [(name, jobs[name]["needs"], jobs[name]["with"]["environment"]) for name in ("dev", "staging", "prod")] == [
        ("dev", "ci", "dev"),
        ("staging", "dev", "staging"),
        ("prod", "staging", "prod"),
    ]
    (deploy_job,) = load(GITHUB_DIR / "workflows" / "deploy-environment.yml")["jobs"].values()
    assert deploy_job["environment"] == "${{ inputs.environment }}"
    assert deploy_job["permissions"] == {"contents": "read", "id-token": "write"}
    credentials = next(
        step
        for step in deploy_job["steps"]
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    )
    assert credentials["with"]["role-to-assume"].endswith(":role/github-deploy-${{ inputs.environment }}")


def test_only_the_first_environment_of_the_chain_builds_an_image(synthesized: SynthesizedApp) -> None:
    """Each deploy job runs `cdk deploy --app cdk.out 'ENV/*'` on the assembly CI synthesized: a stage whose
    assembly holds no docker image asset builds nothing, it only copies what the previous environment ran."""
    (deploy_job,) = load(GITHUB_DIR / "workflows" / "deploy-environment.yml")["jobs"].values()
    assert any('--app cdk.out "${DEPLOY_ENV}/*"' in step.get("run", "") for step in deploy_job["steps"])
    builders = []
    for env in ("dev", "staging", "prod"):
        assets = [
            json.loads(path.read_text()) for path in (synthesized.outdir / f"assembly-{env}").glob("*.assets.json")
        ]
        if any(manifest.get("dockerImages") for manifest in assets):
            builders.append(env)
    assert builders == ["dev"]


def test_pre_commit_config_is_valid() -> None:
    result = run(sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
