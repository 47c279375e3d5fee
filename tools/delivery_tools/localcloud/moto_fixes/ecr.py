"""Fixes to moto's AWS::ECR::Repository so the repository's settings can be read back as on AWS.

moto 5.2.5 hands the CloudFormation properties to its ECR model unchanged, but CloudFormation spells them
`EncryptionConfiguration.EncryptionType` / `ImageScanningConfiguration.ScanOnPush` where the API model
expects `encryptionType` / `scanOnPush`: the repository then reports no encryption and no scanning. It
also drops `LifecyclePolicy` and `RepositoryPolicyText`. These wrappers translate the properties and apply
the two policies, so DescribeRepositories, GetLifecyclePolicy and GetRepositoryPolicy answer what the
template asked for.

moto also ignores `EmptyOnDelete`: deleting the stack of a repository that holds images fails with
RepositoryNotEmptyException, where CloudFormation deletes the images with the repository. The images the
registry receives are recorded in moto (ECR proxy), so this matters: the repository remembers the flag
and its stack deletion forces the delete when it is set.
"""

from __future__ import annotations

import json
from typing import Any

from moto.ecr.models import Repository, ecr_backends

_create_repository = Repository.create_from_cloudformation_json
_update_repository = Repository.update_from_cloudformation_json
# The ARNs of the repositories whose template says EmptyOnDelete: true.
_EMPTY_ON_DELETE: set[str] = set()


def api_shaped(properties: dict[str, Any]) -> dict[str, Any]:
    """The repository properties with encryption and scanning in the ECR API's spelling (idempotent)."""
    shaped = dict(properties)
    encryption = properties.get("EncryptionConfiguration")
    if encryption and "EncryptionType" in encryption:
        shaped["EncryptionConfiguration"] = {
            key: value
            for key, value in (
                ("encryptionType", encryption.get("EncryptionType")),
                ("kmsKey", encryption.get("KmsKey")),
            )
            if value
        }
    scanning = properties.get("ImageScanningConfiguration")
    if scanning and "ScanOnPush" in scanning:
        shaped["ImageScanningConfiguration"] = {"scanOnPush": bool(scanning.get("ScanOnPush", False))}
    return shaped


def _policy_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _apply_policies(repository: Repository, properties: dict[str, Any], account_id: str, region_name: str) -> None:
    """Set (or clear) the lifecycle and repository policies the template declares."""
    backend = ecr_backends[account_id][region_name]
    lifecycle = (properties.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
    if lifecycle:
        backend.put_lifecycle_policy(repository.registry_id, repository.name, _policy_text(lifecycle))
    else:
        repository.lifecycle_policy = None
    policy = properties.get("RepositoryPolicyText")
    if policy:
        backend.set_repository_policy(repository.registry_id, repository.name, _policy_text(policy))
    else:
        repository.policy = None


def _remember_empty_on_delete(repository: Repository, properties: dict[str, Any]) -> None:
    if str(properties.get("EmptyOnDelete", False)).lower() == "true":
        _EMPTY_ON_DELETE.add(repository.arn)
    else:
        _EMPTY_ON_DELETE.discard(repository.arn)


def _deleted(repository: Repository, account_id: str, region_name: str) -> None:
    """Delete the repository for its stack; with EmptyOnDelete its images go too (as CloudFormation does)."""
    force = repository.arn in _EMPTY_ON_DELETE
    ecr_backends[account_id][region_name].delete_repository(repository.name, force=force)
    _EMPTY_ON_DELETE.discard(repository.arn)


def _api_shaped_json(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    """The resource JSON with its properties in the shape moto's own handlers read."""
    return {**cloudformation_json, "Properties": api_shaped(cloudformation_json["Properties"])}


def _created(
    cls: type[Repository],
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Repository:
    repository = _create_repository(
        resource_name, _api_shaped_json(cloudformation_json), account_id, region_name, **kwargs
    )
    _apply_policies(repository, cloudformation_json["Properties"], account_id, region_name)
    _remember_empty_on_delete(repository, cloudformation_json["Properties"])
    return repository


def _updated(
    cls: type[Repository],
    /,
    original_resource: Repository,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Repository:
    shaped = _api_shaped_json(cloudformation_json)
    repository = _update_repository(original_resource, new_resource_name, shaped, account_id, region_name)
    _apply_policies(repository, cloudformation_json["Properties"], account_id, region_name)
    _remember_empty_on_delete(repository, cloudformation_json["Properties"])
    return repository


def install() -> None:
    """Patch moto's ECR repository resource (idempotent)."""
    Repository.create_from_cloudformation_json = classmethod(_created)  # type: ignore[method-assign,assignment]
    Repository.update_from_cloudformation_json = classmethod(_updated)  # type: ignore[method-assign,assignment]
    Repository.delete = _deleted  # type: ignore[method-assign,assignment]
