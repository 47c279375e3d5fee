"""The stateful stack of every environment: key, repository, lifecycle and policy, as configured."""

import json
import re
from typing import Any

import pytest

from tests.unit.cdk_app import SynthesizedApp, SynthesizedStack
from tests.unit.ecr_lifecycle import Image, expired_images

# A refactor must never rename these: a new logical ID means CloudFormation replaces the key or the
# repository, i.e. loses every image (or makes them undecryptable).
STATEFUL_LOGICAL_IDS = {
    "AWS::KMS::Key": "ModelRepositoryKeyE9CCEC27",
    "AWS::ECR::Repository": "ModelRepository47788BC1",
}
PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
PUSH_ACTIONS = sorted(
    [*PULL_ACTIONS, "ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]
)


@pytest.fixture
def stack(synthesized: SynthesizedApp, env_name: str) -> SynthesizedStack:
    return synthesized.stack(env_name, "Repository")


def repository(stack: SynthesizedStack) -> dict[str, Any]:
    return stack.only("AWS::ECR::Repository")[1]


def test_stateful_logical_ids_never_change(stack: SynthesizedStack) -> None:
    for resource_type, logical_id in STATEFUL_LOGICAL_IDS.items():
        assert list(stack.resources(resource_type)) == [logical_id]


def test_stack_holds_only_the_key_and_the_repository(stack: SynthesizedStack) -> None:
    assert sorted(r["Type"] for r in stack.template_json["Resources"].values()) == [
        "AWS::ECR::Repository",
        "AWS::KMS::Key",
    ]


def test_key_is_customer_managed_rotating_and_encrypts_the_repository(stack: SynthesizedStack) -> None:
    key_id, key = stack.only("AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert repository(stack)["Properties"]["EncryptionConfiguration"] == {
        "EncryptionType": "KMS",
        "KmsKey": {"Fn::GetAtt": [key_id, "Arn"]},
    }


def test_repository_is_immutable_scanned_and_named(synthesized: SynthesizedApp, stack: SynthesizedStack) -> None:
    settings = synthesized.settings.environment(stack.env)
    properties = repository(stack)["Properties"]
    assert properties["RepositoryName"] == settings.repository_name
    assert properties["ImageTagMutability"] == "IMMUTABLE"
    assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}


def test_removal_follows_the_environment(synthesized: SynthesizedApp, stack: SynthesizedStack) -> None:
    settings = synthesized.settings.environment(stack.env)
    expected = "Delete" if settings.destroy_on_removal else "Retain"
    for resource_type in STATEFUL_LOGICAL_IDS:
        resource = stack.only(resource_type)[1]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == (expected, expected)
    assert repository(stack)["Properties"].get("EmptyOnDelete", False) is settings.destroy_on_removal


def test_production_retains_and_is_termination_protected(synthesized: SynthesizedApp) -> None:
    prod = synthesized.settings.environment("prod")
    assert prod.production
    for kind in ("Repository", "ModelImage"):
        assert synthesized.stack("prod", kind).manifest_properties["terminationProtection"] is True
    assert repository(synthesized.stack("prod", "Repository"))["DeletionPolicy"] == "Retain"
    assert synthesized.stack("local", "Repository").manifest_properties["terminationProtection"] is False


def lifecycle_policy(stack: SynthesizedStack) -> str:
    return str(repository(stack)["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])


def test_lifecycle_rules_are_ordered_so_ecr_honours_them(synthesized: SynthesizedApp, stack: SynthesizedStack) -> None:
    lifecycle = synthesized.settings.environment(stack.env).lifecycle
    rules = json.loads(lifecycle_policy(stack))["rules"]
    priorities = [rule["rulePriority"] for rule in rules]
    assert priorities == sorted(set(priorities)), "priorities must be unique and in order"
    *protect, untagged, keep = rules
    assert [rule["selection"]["tagPrefixList"] for rule in protect] == [[p] for p in lifecycle.protected_tag_prefixes]
    assert all(rule["selection"]["tagStatus"] == "tagged" for rule in protect)
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": lifecycle.untagged_expiry_days,
    }
    assert keep["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": lifecycle.max_image_count,
    }


def test_lifecycle_keeps_protected_images_and_expires_the_rest(
    synthesized: SynthesizedApp, stack: SynthesizedStack
) -> None:
    lifecycle = synthesized.settings.environment(stack.env).lifecycle
    keep = lifecycle.max_image_count
    days = lifecycle.untagged_expiry_days
    protected = [Image(f"protected-{p}", (f"{p}-2024.1",), age_days=1000) for p in lifecycle.protected_tag_prefixes]
    deployed = [Image(f"deploy-{i}", (f"1.0.{i}-abcdef012345",), age_days=i) for i in range(keep + 5)]
    untagged = [Image("untagged-new", (), age_days=days - 1), Image("untagged-old", (), age_days=days + 1)]
    expired = expired_images(lifecycle_policy(stack), [*protected, *deployed, *untagged])

    assert not any(digest.startswith("protected-") for digest in expired)
    assert "untagged-old" in expired
    # Newest first: the keep rule counts every image, so protected ones take some of the places.
    survivors = {image.digest for image in deployed} - expired
    assert {f"deploy-{i}" for i in range(min(keep, len(deployed)) - len(protected) - 1)} <= survivors
    assert "deploy-0" in survivors
    assert f"deploy-{keep + 4}" in expired


def test_repository_policy_matches_the_configured_principals(
    synthesized: SynthesizedApp, stack: SynthesizedStack
) -> None:
    settings = synthesized.settings.environment(stack.env)
    policy = repository(stack)["Properties"].get("RepositoryPolicyText")
    expected = []
    if settings.pull_account_ids:
        expected.append(("PullFromAccounts", PULL_ACTIONS, sorted(settings.pull_account_ids)))
    if settings.push_principal_arns:
        expected.append(("PushFromPrincipals", PUSH_ACTIONS, sorted(settings.push_principal_arns)))
    if not expected:
        assert policy is None
        return
    actual = []
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) == {"Sid", "Effect", "Action", "Principal"}, "no wildcard resources or conditions"
        principals = statement["Principal"]["AWS"]
        principals = principals if isinstance(principals, list) else [principals]
        actual.append((statement["Sid"], sorted(statement["Action"]), sorted(_principal_ids(principals))))
    assert actual == expected


def _principal_ids(principals: list[str]) -> list[str]:
    """Account principals render as arn:aws:iam::ACCOUNT:root; role and user ARNs as themselves."""
    ids = []
    for principal in principals:
        assert principal != "*", "a repository policy must never allow everyone"
        account = re.fullmatch(r"arn:aws:iam::(\d{12}):root", principal)
        ids.append(account.group(1) if account else principal)
    return ids


def test_outputs_name_the_repository(stack: SynthesizedStack) -> None:
    outputs = stack.template_json["Outputs"]
    assert set(outputs) == {"RepositoryName", "RepositoryUri"}
    assert outputs["RepositoryName"]["Value"] == {"Ref": STATEFUL_LOGICAL_IDS["AWS::ECR::Repository"]}
