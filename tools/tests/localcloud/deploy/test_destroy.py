"""After `cdk destroy`, each account's repository is checked against its removal policy in that account
(real moto server), and the registry data of repositories that are gone is dropped, per account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import EnvironmentSettings
from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.accounts import account_client
from delivery_tools.localcloud.deploy.commands import _after_destroy
from delivery_tools.localcloud.host_changes.pki import Certificates
from delivery_tools.localcloud.services import registry
from delivery_tools.localcloud.services.cloud import RunningCloud
from delivery_tools.localcloud.services.state import LocalCloudState
from delivery_tools.localcloud.settings import load_local_settings


def _cloud(endpoint_url: str) -> RunningCloud:
    unused = Path("unused")
    return RunningCloud(endpoint_url, Certificates(unused, unused, unused), "", None, {})


def _store(state: LocalCloudState, account: str, repository: str) -> Path:
    """Registry data of `account`'s `repository`, laid out as docker-registry stores it."""
    directory = state.registry_storage / "docker/registry/v2/repositories" / account / repository
    (directory / "_manifests").mkdir(parents=True)
    return directory


def _environment(project_root: Path, retained: bool) -> EnvironmentSettings:
    environments = load_local_settings(project_root).environments
    return next(env for env in environments if env.destroy_on_removal is not retained)


def _with_repository(endpoint_url: str, environment: EnvironmentSettings) -> Any:
    """An ECR client acting in the environment's account, where its repository now exists."""
    ecr = account_client("ecr", endpoint_url, environment.region, environment.account)
    ecr.create_repository(repositoryName=environment.repository_name)
    return ecr


def _other_account(project_root: Path, environment: EnvironmentSettings) -> str:
    accounts = {env.account for env in load_local_settings(project_root).environments}
    return sorted(accounts - {environment.account})[0]


def test_a_destroyed_repository_loses_its_registry_data_in_its_own_account_only(
    endpoint_url: str, state: LocalCloudState, project_root: Path
) -> None:
    environment = _environment(project_root, retained=False)
    mine = _store(state, environment.account, environment.repository_name)
    neighbour = _store(state, _other_account(project_root, environment), environment.repository_name)
    outcome = _after_destroy(state, _cloud(endpoint_url), environment, delete_retained=False)
    assert outcome == f"gone; registry data of {environment.repository_name} removed"
    assert not mine.exists() and neighbour.is_dir()
    assert registry.stored_repositories(state.registry_storage, environment.account) == []


def test_a_retained_repository_stays_with_its_images_unless_asked(
    endpoint_url: str, state: LocalCloudState, project_root: Path
) -> None:
    environment = _environment(project_root, retained=True)
    ecr = _with_repository(endpoint_url, environment)
    data = _store(state, environment.account, environment.repository_name)
    kept = _after_destroy(state, _cloud(endpoint_url), environment, delete_retained=False)
    assert kept.startswith("kept with its images (removal policy RETAIN, as on AWS)") and data.is_dir()
    deleted = _after_destroy(state, _cloud(endpoint_url), environment, delete_retained=True)
    assert deleted == f"deleted (RETAIN, --delete-retained); registry data of {environment.repository_name} removed"
    assert ecr.describe_repositories()["repositories"] == [] and not data.exists()


def test_a_repository_that_should_be_gone_but_is_not_fails_the_destroy(
    endpoint_url: str, state: LocalCloudState, project_root: Path
) -> None:
    environment = _environment(project_root, retained=False)
    ecr = _with_repository(endpoint_url, environment)
    try:
        with pytest.raises(ToolError, match=f"of {environment.name} still exists after cdk destroy"):
            _after_destroy(state, _cloud(endpoint_url), environment, delete_retained=False)
    finally:
        ecr.delete_repository(repositoryName=environment.repository_name, force=True)
