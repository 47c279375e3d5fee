"""Comparing what the AWS API reports with the configuration: every mismatch must be caught."""

import json

from config import EnvironmentSettings, LifecycleSettings, load_settings
from delivery_tools.localcloud.deploy.verify import Check, lifecycle_checks, policy_checks

LIFECYCLE = LifecycleSettings(untagged_expiry_days=3, max_image_count=20, protected_tag_prefixes=("release", "hotfix"))


def rule(priority: int, **selection: object) -> dict[str, object]:
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


def policy(*rules: dict[str, object]) -> str:
    return json.dumps({"rules": list(rules)})


GOOD_RULES = (
    rule(1, tagStatus="tagged", tagPrefixList=["release"], countType="imageCountMoreThan", countNumber=9999),
    rule(2, tagStatus="tagged", tagPrefixList=["hotfix"], countType="imageCountMoreThan", countNumber=9999),
    rule(3, tagStatus="untagged", countType="sinceImagePushed", countUnit="days", countNumber=3),
    rule(4, tagStatus="any", countType="imageCountMoreThan", countNumber=20),
)


def failed(checks: list[Check]) -> list[str]:
    return [check.name for check in checks if not check.ok]


def test_a_policy_matching_the_settings_passes() -> None:
    assert failed(lifecycle_checks(policy(*GOOD_RULES), LIFECYCLE)) == []


def test_rule_order_in_the_document_does_not_matter() -> None:
    assert failed(lifecycle_checks(policy(*reversed(GOOD_RULES)), LIFECYCLE)) == []


def test_a_missing_policy_fails() -> None:
    assert failed(lifecycle_checks(None, LIFECYCLE)) == ["lifecycle policy"]


def test_a_wrong_expiry_or_count_or_prefix_is_caught() -> None:
    wrong_days = [
        *GOOD_RULES[:2],
        rule(3, tagStatus="untagged", countType="sinceImagePushed", countUnit="days", countNumber=7),
        GOOD_RULES[3],
    ]
    wrong_count = [*GOOD_RULES[:3], rule(4, tagStatus="any", countType="imageCountMoreThan", countNumber=50)]
    no_hotfix = [GOOD_RULES[0], *GOOD_RULES[2:]]
    assert failed(lifecycle_checks(policy(*wrong_days), LIFECYCLE)) == [
        "lifecycle: untagged images expire after (days)"
    ]
    assert failed(lifecycle_checks(policy(*wrong_count), LIFECYCLE)) == ["lifecycle: at most this many images kept"]
    assert failed(lifecycle_checks(policy(*no_hotfix), LIFECYCLE)) == [
        "lifecycle: protected tag prefixes, one per rule"
    ]


def test_a_catch_all_rule_before_the_protected_ones_is_caught() -> None:
    any_first = [rule(0, tagStatus="any", countType="imageCountMoreThan", countNumber=20), *GOOD_RULES[:3]]
    assert "lifecycle: the catch-all rule comes last" in failed(lifecycle_checks(policy(*any_first), LIFECYCLE))


def settings_with(**overrides: object) -> EnvironmentSettings:
    environment = {"account": "210987654321", "region": "eu-north-1", "repository_name": "model-serving", **overrides}
    return load_settings({"sandbox": environment}, model_version="1.0.0").environment("sandbox")


def statement(principals: list[str], actions: list[str]) -> dict[str, object]:
    return {"Effect": "Allow", "Principal": {"AWS": principals}, "Action": actions}


def test_no_grants_configured_means_no_policy() -> None:
    assert failed(policy_checks(None, settings_with())) == []


def test_granted_principals_must_equal_the_configured_ones() -> None:
    settings = settings_with(
        pull_account_ids=["444444444444"], push_principal_arns=["arn:aws:iam::123456789012:role/ci-push"]
    )
    document = {
        "Statement": [
            statement(["arn:aws:iam::444444444444:root"], ["ecr:BatchGetImage"]),
            statement(["arn:aws:iam::123456789012:role/ci-push"], ["ecr:PutImage"]),
        ]
    }
    assert failed(policy_checks(json.dumps(document), settings)) == []
    extra = {
        "Statement": [*document["Statement"], statement(["arn:aws:iam::999999999999:root"], ["ecr:BatchGetImage"])]
    }
    assert failed(policy_checks(json.dumps(extra), settings)) == ["policy: principals granted access"]
    assert failed(policy_checks(None, settings)) == ["policy: principals granted access"]


def test_wildcard_actions_are_caught() -> None:
    document = {
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"}, "Action": "ecr:*"}]
    }
    settings = settings_with(pull_account_ids=["444444444444"])
    assert failed(policy_checks(json.dumps(document), settings)) == ["policy: no wildcard actions"]


def test_accounts_that_promote_from_the_repository_are_expected_in_its_policy() -> None:
    document = {"Statement": [statement(["arn:aws:iam::222233334444:root"], ["ecr:BatchGetImage"])]}
    assert failed(policy_checks(json.dumps(document), settings_with())) == ["policy: principals granted access"]
    assert failed(policy_checks(json.dumps(document), settings_with(), promoted_to=["222233334444"])) == []
