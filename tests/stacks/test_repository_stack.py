"""The stateful stack of every environment: key, repository, lifecycle and policy, as configured."""

import re
from typing import Any

import pytest

from stacks.synthesis import SynthesizedApp, SynthesizedStack

# A refactor must never rename these: a new logical ID means CloudFormation replaces the key or the
# repository, i.e. loses every image (or makes them undecryptable).
STATEFUL_LOGICAL_IDS = {
    "AWS::KMS::Key": "ModelRepositoryKeyE9CCEC27",
    "AWS::ECR::Repository": "ModelRepository47788BC1",
}
PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
# A promoting account pulls, and reads the digest to check that it runs the same bytes.
PROMOTION_ACTIONS = sorted([*PULL_ACTIONS, "ecr:DescribeImages", "ecr:DescribeRepositories"])
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
    assert sorted(r["Type"] for r in stack.template["Resources"].values()) == [
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
    assert properties["ImageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert properties["ImageTagMutabilityExclusionFilters"] == [
        {"ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": "deploy-*"}
    ], "only the deploy tags stay mutable, so a copy can be re-run"
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


def test_repository_policy_matches_the_configured_principals(
    synthesized: SynthesizedApp, stack: SynthesizedStack
) -> None:
    settings = synthesized.settings.environment(stack.env)
    policy = repository(stack)["Properties"].get("RepositoryPolicyText")
    promoted_to = {t.account for t in synthesized.settings.promotion_targets(settings) if t.account != settings.account}
    expected = {account: set(PULL_ACTIONS) for account in settings.pull_account_ids}
    expected |= {account: set(PROMOTION_ACTIONS) for account in promoted_to}
    expected |= {arn: set(PUSH_ACTIONS) for arn in settings.push_principal_arns}
    if not expected:
        assert policy is None
        return
    actual: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) == {"Effect", "Action", "Principal"}, "no wildcard resources or conditions"
        principals = statement["Principal"]["AWS"]
        principals = principals if isinstance(principals, list) else [principals]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for principal in _principal_ids(principals):
            actual.setdefault(principal, set()).update(actions)
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
    outputs = stack.template["Outputs"]
    assert set(outputs) == {"RepositoryName", "RepositoryUri"}
    assert outputs["RepositoryName"]["Value"] == {"Ref": STATEFUL_LOGICAL_IDS["AWS::ECR::Repository"]}
