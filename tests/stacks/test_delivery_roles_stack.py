"""The deploy roles: only the right GitHub Environment of the right repository, only the bootstrap roles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Validations
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.delivery_roles_stack import DeliveryRolesStack, delivery_roles_per_account

ACCOUNT = "111111111111"
ENVIRONMENTS = [("dev", "eu-west-1"), ("staging", "eu-central-1")]
BOOTSTRAP_KINDS = ("deploy", "file-publishing", "image-publishing", "lookup")


def build(tmp_path: Path, **overrides: Any) -> tuple[cdk.App, DeliveryRolesStack]:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    props: dict[str, Any] = {
        "github_owner": "acme",
        "github_repo": "model-serving",
        "environments": ENVIRONMENTS,
        "env": cdk.Environment(account=ACCOUNT, region="eu-west-1"),
        **overrides,
    }
    return app, DeliveryRolesStack(app, "DeliveryRoles", **props)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[DeliveryRolesStack, Template]:
    _, stack = build(tmp_path_factory.mktemp("roles"))
    return stack, Template.from_stack(stack)


def role_of(template: Template, environment: str) -> dict[str, Any]:
    roles = template.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": f"github-deploy-{environment}"}})
    assert len(roles) == 1, f"expected one deploy role for {environment}, found {list(roles)}"
    return dict(next(iter(roles.values())))


def test_one_github_oidc_provider_for_sts(built: tuple[DeliveryRolesStack, Template]) -> None:
    _, template = built
    template.resource_count_is("AWS::IAM::OIDCProvider", 1)
    template.has_resource_properties(
        "AWS::IAM::OIDCProvider",
        {"Url": "https://token.actions.githubusercontent.com", "ClientIdList": ["sts.amazonaws.com"]},
    )


@pytest.mark.parametrize(("environment", "_region"), ENVIRONMENTS)
def test_trust_is_limited_to_the_repository_environment(
    built: tuple[DeliveryRolesStack, Template], environment: str, _region: str
) -> None:
    _, template = built
    provider_id = next(iter(template.find_resources("AWS::IAM::OIDCProvider")))
    statements = role_of(template, environment)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statements == [
        {
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Effect": "Allow",
            "Principal": {"Federated": {"Ref": provider_id}},
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": f"repo:acme/model-serving:environment:{environment}",
                }
            },
        }
    ]


@pytest.mark.parametrize(("environment", "region"), ENVIRONMENTS)
def test_role_may_only_assume_the_bootstrap_roles_of_its_region(
    built: tuple[DeliveryRolesStack, Template], environment: str, region: str
) -> None:
    _, template = built
    role_id = next(
        logical_id
        for logical_id, role in template.find_resources("AWS::IAM::Role").items()
        if role["Properties"]["RoleName"] == f"github-deploy-{environment}"
    )
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
    assert len(policies) == 1
    statements = next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]
    expected = [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    f":iam::{ACCOUNT}:role/cdk-hnb659fds-{kind}-role-{ACCOUNT}-{region}",
                ],
            ]
        }
        for kind in BOOTSTRAP_KINDS
    ]
    assert statements == [
        {
            "Sid": "AssumeCdkBootstrapRoles",
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Resource": expected,
        }
    ]
    assert role_of(template, environment)["Properties"].get("ManagedPolicyArns") is None


def test_roles_are_exposed_by_environment(built: tuple[DeliveryRolesStack, Template]) -> None:
    stack, template = built
    assert sorted(stack.deploy_roles) == ["dev", "staging"]
    template.resource_count_is("AWS::IAM::Role", 2)
    template.has_output("*", {"Value": {"Fn::GetAtt": [Match.any_value(), "Arn"]}})


def test_existing_provider_is_reused_instead_of_created(tmp_path: Path) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    _, stack = build(tmp_path, existing_oidc_provider_arn=arn)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::OIDCProvider", 0)
    trust = role_of(template, "dev")["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Federated": arn}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"github_owner": ""}, "github_owner and github_repo are required"),
        ({"environments": []}, "environments is empty"),
        ({"environments": [("dev", "eu-west-1"), ("dev", "us-east-1")]}, "duplicate names"),
    ],
)
def test_bad_props_are_rejected(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(tmp_path, **overrides)


def test_cdk_nag_aws_solutions_finds_nothing(tmp_path: Path) -> None:
    app, _ = build(tmp_path)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises ValidationFailed on any error-level finding
    report_path = tmp_path / "cdk.out" / "validation-report.json"
    if report_path.exists():
        reports = json.loads(report_path.read_text())["pluginReports"]
        assert [violation for report in reports for violation in report["violations"]] == []


def test_environments_sharing_an_account_share_one_stack(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stacks = delivery_roles_per_account(
        app,
        github_owner="acme",
        github_repo="model-serving",
        targets=[
            ("dev", ACCOUNT, "eu-west-1"),
            ("staging", ACCOUNT, "eu-central-1"),
            ("prod", "333333333333", "eu-west-1"),
        ],
    )
    assert {account: sorted(stack.deploy_roles) for account, stack in stacks.items()} == {
        ACCOUNT: ["dev", "staging"],
        "333333333333": ["prod"],
    }
    assert stacks["333333333333"].stack_name == "DeliveryRoles-333333333333"
    assert (stacks["333333333333"].account, stacks["333333333333"].region) == ("333333333333", "eu-west-1")
    for stack in stacks.values():
        Template.from_stack(stack).resource_count_is("AWS::IAM::OIDCProvider", 1)
