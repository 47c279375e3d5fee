"""Verify a local deploy by reading it back, instead of trusting the deploy's exit status.

moto reports a stack complete even when the copy Lambda failed or has not run yet, so the image is looked
up in the registry itself (waiting for the asynchronous copy), and the repository's settings are read back
through the AWS API and compared with the configuration.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from config import EnvironmentSettings, LifecycleSettings
from tooling.localcloud import aws
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.expectations import ENVIRONMENT, Expected
from tooling.localcloud.registry_api import RegistryClient

REPOSITORY_STACK = f"{ENVIRONMENT}-Repository"
IMAGE_STACK = f"{ENVIRONMENT}-ModelImage"
COPY_TIMEOUT_SECONDS = 300.0
_LOG_LINES = 80


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


def policy_checks(policy_text: str | None, settings: EnvironmentSettings) -> list[Check]:
    """Compare who the repository policy lets in with the pull accounts and push principals configured."""
    statements = json.loads(policy_text)["Statement"] if policy_text else []
    allowed = [statement for statement in statements if statement.get("Effect") == "Allow"]
    granted = set().union(*(_principals(statement) for statement in allowed))
    expected = {f"arn:aws:iam::{account}:root" for account in settings.pull_account_ids}
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


def repository_checks(endpoint_url: str, settings: EnvironmentSettings) -> tuple[str, list[Check]]:
    """(repository URI, checks) for the repository's encryption, scanning, immutability and policies."""
    ecr = aws.client("ecr", endpoint_url)
    try:
        (repository,) = ecr.describe_repositories(repositoryNames=[settings.repository_name])["repositories"]
    except ecr.exceptions.RepositoryNotFoundException:
        raise LocalCloudError(f"the repository {settings.repository_name!r} does not exist after the deploy") from None
    encryption = repository.get("encryptionConfiguration", {})
    checks = [
        _check("encryption type", encryption.get("encryptionType"), "KMS"),
        _check("scan on push", repository.get("imageScanningConfiguration", {}).get("scanOnPush"), True),
        _check("tag immutability", repository.get("imageTagMutability"), "IMMUTABLE"),
    ]
    key = encryption.get("kmsKey")
    if key:
        kms = aws.client("kms", endpoint_url)
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
    checks += policy_checks(policy, settings)
    return str(repository["repositoryUri"]), checks


def stack_outputs(endpoint_url: str, stack: str) -> dict[str, str]:
    (described,) = aws.client("cloudformation", endpoint_url).describe_stacks(StackName=stack)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def copy_function_log_group(endpoint_url: str) -> str | None:
    """The log group of the image-copy Lambda of the image stack (None before it exists)."""
    try:
        resources = aws.client("cloudformation", endpoint_url).describe_stack_resources(StackName=IMAGE_STACK)
    except (BotoCoreError, ClientError):
        return None
    functions = [
        resource["PhysicalResourceId"]
        for resource in resources["StackResources"]
        if resource.get("ResourceType") == "AWS::Lambda::Function"
    ]
    return f"/aws/lambda/{functions[0]}" if functions else None


def log_streams(endpoint_url: str, log_group: str | None) -> list[dict[str, Any]]:
    """The group's streams, newest first (one per invocation under moto)."""
    if log_group is None:
        return []
    logs = aws.client("logs", endpoint_url)
    try:
        streams: list[dict[str, Any]] = logs.describe_log_streams(logGroupName=log_group)["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return sorted(streams, key=lambda stream: stream.get("creationTime", 0), reverse=True)


def latest_log(endpoint_url: str, log_group: str | None) -> str:
    """The last lines of the newest invocation's log, for a failure message (never raises)."""
    try:
        streams = log_streams(endpoint_url, log_group)
        if not streams:
            return "(the copy Lambda has not written a log)"
        events = aws.client("logs", endpoint_url).get_log_events(
            logGroupName=log_group, logStreamName=streams[0]["logStreamName"]
        )["events"]
    except (BotoCoreError, ClientError) as error:
        return f"(the copy Lambda's log could not be read: {error})"
    return "\n".join(event["message"] for event in events[-_LOG_LINES:])


def wait_for_copy(
    registry: RegistryClient,
    endpoint_url: str,
    repository: str,
    tag: str,
    since_ms: int,
    timeout: float = COPY_TIMEOUT_SECONDS,
) -> str:
    """The digest of `repository:tag` once the copy Lambda put it there; fail with the Lambda's log if it
    finished (wrote a log after `since_ms`) without doing so, or never did within `timeout`."""
    deadline = time.monotonic() + timeout
    log_group = copy_function_log_group(endpoint_url)
    while True:
        digest = registry.manifest_digest(repository, tag)
        if digest:
            return digest
        finished = any(s.get("creationTime", 0) >= since_ms for s in log_streams(endpoint_url, log_group))
        if finished and not registry.manifest_digest(repository, tag):
            raise LocalCloudError(
                f"the copy Lambda ran but {repository}:{tag} is not in the registry; its log:\n"
                + latest_log(endpoint_url, log_group)
            )
        if time.monotonic() > deadline:
            raise LocalCloudError(
                f"{repository}:{tag} did not appear within {timeout:.0f} s; the copy Lambda's last log:\n"
                + latest_log(endpoint_url, log_group)
            )
        time.sleep(1)


@dataclass(frozen=True)
class VerifiedImage:
    repository: str
    tag: str
    image_uri: str
    digest: str
    checks: list[Check]


def verify_deploy(registry: RegistryClient, endpoint_url: str, expected: Expected, since_ms: int) -> VerifiedImage:
    """Wait for the image, then compare everything deployed with what was expected; raise on any mismatch."""
    settings = expected.settings
    outputs = stack_outputs(endpoint_url, IMAGE_STACK)
    repository_outputs = stack_outputs(endpoint_url, REPOSITORY_STACK)
    repository_uri, checks = repository_checks(endpoint_url, settings)
    image_uri = f"{repository_uri}:{expected.tag}"
    digest = wait_for_copy(registry, endpoint_url, settings.repository_name, expected.tag, since_ms)
    asset_digest = registry.manifest_digest(expected.asset_repository, expected.asset_tag)
    parameter = aws.client("ssm", endpoint_url).get_parameter(Name=settings.ssm_image_uri_parameter)
    checks = [
        _check("output RepositoryName", repository_outputs.get("RepositoryName"), settings.repository_name),
        _check("output ImageTag", outputs.get("ImageTag"), expected.tag),
        _check("output ImageUri", outputs.get("ImageUri"), image_uri),
        _check(f"SSM {settings.ssm_image_uri_parameter}", parameter["Parameter"]["Value"], image_uri),
        _check("image digest = built asset's digest", digest, asset_digest),
        *checks,
    ]
    failed = [check for check in checks if not check.ok]
    if failed:
        raise LocalCloudError(
            "the deployed resources differ from the configuration:\n"
            + "\n".join(f"  {check.name}: {check.detail}" for check in failed)
        )
    return VerifiedImage(settings.repository_name, expected.tag, image_uri, digest, checks)
