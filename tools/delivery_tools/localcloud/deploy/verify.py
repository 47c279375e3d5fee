"""Verify a local deploy by reading it back, instead of trusting the deploy's exit status.

The image is looked up in the registry itself, and the repository's settings are read back through the
AWS API and compared with the configuration.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from config import EnvironmentSettings, LifecycleSettings
from delivery_tools.common.assembly import read_stacks
from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.accounts import account_client
from delivery_tools.localcloud.deploy.expectations import Expected
from delivery_tools.localcloud.services.registry import RegistryClient
from ml_constructs.image_tag import DEPLOY_TAG_PREFIX

_LOG_LINES = 80

# cdk-ecr-deployment's copy function; the stage's other function is the CDK's AwsCustomResource handler.
COPY_FUNCTION_LOGICAL_ID_PREFIX = "CustomCDKECRDeployment"


@dataclass(frozen=True)
class Check:
    """One compared fact: what was expected, and whether the deployed value matched."""

    name: str
    ok: bool
    detail: str


def _check(name: str, actual: object, expected: object) -> Check:
    ok = actual == expected
    return Check(name, ok, f"{actual!r}" if ok else f"expected {expected!r}, found {actual!r}")


def lifecycle_checks(policy_text: str | None, lifecycle: LifecycleSettings) -> list[Check]:
    """Compare a deployed lifecycle policy with the lifecycle settings (what each rule keeps or expires)."""
    if not policy_text:
        return [Check("lifecycle policy", False, "the repository has no lifecycle policy")]
    rules = sorted(json.loads(policy_text)["rules"], key=lambda rule: rule["rulePriority"])
    selections = [rule["selection"] for rule in rules]
    protected = [s for s in selections if s["tagStatus"] == "tagged" and s.get("tagPrefixList")]
    untagged = [s for s in selections if s["tagStatus"] == "untagged"]
    any_status = [s for s in selections if s["tagStatus"] == "any"]
    return [
        _check(
            "lifecycle: protected tag prefixes, one per rule",
            sorted(prefix for s in protected for prefix in s["tagPrefixList"]),
            sorted(lifecycle.protected_tag_prefixes),
        ),
        _check(
            "lifecycle: untagged images expire after (days)",
            [(s["countType"], s.get("countUnit"), s["countNumber"]) for s in untagged],
            [("sinceImagePushed", "days", lifecycle.untagged_expiry_days)],
        ),
        _check(
            "lifecycle: at most this many images kept",
            [(s["countType"], s["countNumber"]) for s in any_status],
            [("imageCountMoreThan", lifecycle.max_image_count)],
        ),
        _check("lifecycle: the catch-all rule comes last", selections[-1]["tagStatus"] if selections else None, "any"),
    ]


def _principals(statement: dict[str, Any]) -> set[str]:
    principal = statement.get("Principal", {})
    values = principal.get("AWS", []) if isinstance(principal, dict) else [principal]
    return set([values] if isinstance(values, str) else values)


def policy_checks(
    policy_text: str | None, settings: EnvironmentSettings, promoted_to: Collection[str] = ()
) -> list[Check]:
    """Compare who the repository policy lets in with the pull accounts and push principals configured, and
    the accounts that promote from this repository (`promoted_to`, derived from the chain by the app)."""
    statements = json.loads(policy_text)["Statement"] if policy_text else []
    allowed = [statement for statement in statements if statement.get("Effect") == "Allow"]
    granted = set().union(*(_principals(statement) for statement in allowed))
    expected = {f"arn:aws:iam::{account}:root" for account in (*settings.pull_account_ids, *promoted_to)}
    expected |= set(settings.push_principal_arns)
    actions = {
        action
        for statement in allowed
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    return [
        _check("policy: principals granted access", sorted(granted), sorted(expected)),
        Check(
            "policy: no wildcard actions",
            not actions & {"*", "ecr:*"},
            ", ".join(sorted(actions)) or "no statements",
        ),
    ]


def _optional(call: Any, key: str, not_found: str, **arguments: Any) -> str | None:
    """The text `call` returns under `key`, or None when the API says the thing does not exist."""
    try:
        return str(call(**arguments)[key])
    except Exception as error:  # botocore's modeled exceptions are generated per client
        if type(error).__name__ == not_found:
            return None
        raise


def repository_checks(
    endpoint_url: str, settings: EnvironmentSettings, promoted_to: Collection[str] = ()
) -> tuple[str, list[Check]]:
    """(repository URI, checks) for the repository's encryption, scanning, immutability and policies."""
    ecr = account_client("ecr", endpoint_url, settings.region, settings.account)
    try:
        (repository,) = ecr.describe_repositories(
            registryId=settings.account, repositoryNames=[settings.repository_name]
        )["repositories"]
    except ecr.exceptions.RepositoryNotFoundException:
        raise ToolError(f"the repository {settings.repository_name!r} does not exist after the deploy") from None
    encryption = repository.get("encryptionConfiguration", {})
    checks = [
        _check("encryption type", encryption.get("encryptionType"), "KMS"),
        _check("scan on push", repository.get("imageScanningConfiguration", {}).get("scanOnPush"), True),
        _check("tag immutability", repository.get("imageTagMutability"), "IMMUTABLE_WITH_EXCLUSION"),
        _check(
            "mutable tags: the deploy tags only",
            repository.get("imageTagMutabilityExclusionFilters"),
            [{"filterType": "WILDCARD", "filter": f"{DEPLOY_TAG_PREFIX}*"}],
        ),
    ]
    key = encryption.get("kmsKey")
    if key:
        kms = account_client("kms", endpoint_url, settings.region, settings.account)
        checks.append(_check("KMS key state", kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"], "Enabled"))
        checks.append(_check("KMS key rotation", kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"], True))
    name = settings.repository_name
    lifecycle = _optional(
        ecr.get_lifecycle_policy, "lifecyclePolicyText", "LifecyclePolicyNotFoundException", repositoryName=name
    )
    policy = _optional(
        ecr.get_repository_policy, "policyText", "RepositoryPolicyNotFoundException", repositoryName=name
    )
    checks += lifecycle_checks(lifecycle, settings.lifecycle)
    checks += policy_checks(policy, settings, promoted_to)
    return str(repository["repositoryUri"]), checks


def stage_stacks(cloud_assembly: Path, stage: str) -> list[str]:
    """The CloudFormation stack names of one stage, from the cloud assembly the deploy synthesized."""
    return [stack.ref.stack_name for stack in read_stacks(cloud_assembly).values() if stack.ref.environment == stage]


def stage_outputs(endpoint_url: str, region: str, account: str, stacks: list[str]) -> dict[str, str]:
    """The outputs of every stack of a stage, by key."""
    cloudformation = account_client("cloudformation", endpoint_url, region, account)
    return {
        output["OutputKey"]: output["OutputValue"]
        for stack in stacks
        for described in cloudformation.describe_stacks(StackName=stack)["Stacks"]
        for output in described.get("Outputs", [])
    }


def copy_function_log_group(endpoint_url: str, region: str, account: str, stacks: list[str]) -> str | None:
    """The log group of the stage's image-copy Lambda (None before it exists)."""
    cloudformation = account_client("cloudformation", endpoint_url, region, account)
    functions = []
    for stack in stacks:
        try:
            resources = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
        except (BotoCoreError, ClientError):
            continue
        functions += [
            r["PhysicalResourceId"]
            for r in resources
            if r.get("ResourceType") == "AWS::Lambda::Function"
            and r["LogicalResourceId"].startswith(COPY_FUNCTION_LOGICAL_ID_PREFIX)
        ]
    return f"/aws/lambda/{functions[0]}" if functions else None


def log_streams(endpoint_url: str, region: str, account: str, log_group: str | None) -> list[dict[str, Any]]:
    """The group's streams, newest first (one per invocation under moto)."""
    if log_group is None:
        return []
    logs = account_client("logs", endpoint_url, region, account)
    try:
        streams: list[dict[str, Any]] = logs.describe_log_streams(logGroupName=log_group)["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return sorted(streams, key=lambda stream: stream.get("creationTime", 0), reverse=True)


def copy_ran_since(endpoint_url: str, region: str, account: str, log_group: str | None, since_ms: int) -> bool:
    """True when the copy Lambda was invoked at or after `since_ms` (it wrote a new log stream)."""
    streams = log_streams(endpoint_url, region, account, log_group)
    return any(stream.get("creationTime", 0) >= since_ms for stream in streams)


def copy_log_since(endpoint_url: str, region: str, account: str, log_group: str | None, since_ms: int) -> str:
    """The last lines of the copy Lambda's log written at or after `since_ms` (this deploy's), never raising."""
    try:
        streams = [
            stream
            for stream in log_streams(endpoint_url, region, account, log_group)
            if stream.get("creationTime", 0) >= since_ms
        ]
        if not streams:
            return "(the copy Lambda did not run in this deploy)"
        events = account_client("logs", endpoint_url, region, account).get_log_events(
            logGroupName=log_group, logStreamName=streams[0]["logStreamName"]
        )["events"]
    except (BotoCoreError, ClientError) as error:
        return f"(the copy Lambda's log could not be read: {error})"
    return "\n".join(event["message"] for event in events[-_LOG_LINES:])


@dataclass(frozen=True)
class VerifiedImage:
    stage: str
    repository: str
    tag: str
    image_uri: str
    digest: str
    copied: bool
    checks: list[Check]


def verify_deploy(
    registry: RegistryClient,
    endpoint_url: str,
    expected: Expected,
    cloud_assembly: Path,
    since_ms: int,
    source_digest: str | None = None,
) -> VerifiedImage:
    """Compare everything one stage deployed with what was expected; raise on any mismatch.

    A stack reaches a complete state only after its copy Lambda answered, so the image must be there now.
    """
    settings = expected.settings
    stacks = stage_stacks(cloud_assembly, settings.name)
    where = (endpoint_url, settings.region, settings.account)
    outputs = stage_outputs(*where, stacks)
    repository_uri, checks = repository_checks(endpoint_url, settings, expected.promoted_to)
    log_group = copy_function_log_group(*where, stacks)
    digest = registry.manifest_digest(settings.repository_name, expected.tag)
    if digest is None:
        raise ToolError(
            f"{settings.repository_name}:{expected.tag} is not in the registry after the deploy; the copy Lambda's "
            f"log:\n{copy_log_since(*where, log_group, since_ms)}"
        )
    image_uri = f"{repository_uri}@{digest}"
    if expected.asset is not None:
        origin = _check("image digest = built asset's digest", digest, registry.manifest_digest(*expected.asset))
    else:
        source = expected.source.name if expected.source else "its source"
        origin = _check(f"image digest = the digest {source} runs (promoted, not rebuilt)", digest, source_digest)
    ssm = account_client("ssm", *where)
    published_uri = ssm.get_parameter(Name=settings.ssm_image_uri_parameter)["Parameter"]["Value"]
    published_tag = ssm.get_parameter(Name=settings.ssm_image_tag_parameter)["Parameter"]["Value"]
    checks = [
        _check("output RepositoryName", outputs.get("RepositoryName"), settings.repository_name),
        _check("output ImageTag", outputs.get("ImageTag"), expected.tag),
        _check("output ImageDigest", outputs.get("ImageDigest"), digest),
        _check("output ImageUri (digest-pinned)", outputs.get("ImageUri"), image_uri),
        _check(f"SSM {settings.ssm_image_uri_parameter}", published_uri, image_uri),
        _check(f"SSM {settings.ssm_image_tag_parameter}", published_tag, expected.tag),
        origin,
        *checks,
    ]
    failed = [check for check in checks if not check.ok]
    if failed:
        raise ToolError(
            f"the deployed resources of {settings.name} differ from the configuration:\n"
            + "\n".join(f"  {check.name}: {check.detail}" for check in failed)
        )
    copied = copy_ran_since(*where, log_group, since_ms)
    return VerifiedImage(settings.name, settings.repository_name, expected.tag, image_uri, digest, copied, checks)
