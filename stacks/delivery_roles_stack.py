"""GitHub Actions deploy roles for one AWS account, assumed through OIDC (no long-lived keys in GitHub).

Each environment gets its own role: only a workflow job running in that GitHub Environment of this one
repository can assume it, and the role can do nothing but assume the CDK bootstrap roles of the account,
which carry the real deploy permissions (and their own CloudFormation execution policy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import CfnOutput, Duration, Environment, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_ISSUER = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
DEFAULT_BOOTSTRAP_QUALIFIER = "hnb659fds"
# The roles `cdk bootstrap` creates; the CLI assumes them to look up, publish assets and deploy.
BOOTSTRAP_ROLE_KINDS = ("deploy", "file-publishing", "image-publishing", "lookup")
# A deploy that takes longer than this is stuck; the CLI refreshes the bootstrap roles' sessions itself.
MAX_SESSION = Duration.hours(1)


def github_subject(owner: str, repo: str, environment: str) -> str:
    """The OIDC `sub` claim of a job that runs in `environment` of `owner/repo`."""
    return f"repo:{owner}/{repo}:environment:{environment}"


def bootstrap_role_name(qualifier: str, kind: str, account: str, region: str) -> str:
    """The name `cdk bootstrap` gives a role of this kind in this account and region."""
    return f"cdk-{qualifier}-{kind}-role-{account}-{region}"


def deploy_role_name(environment: str) -> str:
    """A fixed name, so a workflow can build the role ARN from the account ID alone."""
    return f"github-deploy-{environment}"


class DeliveryRolesStack(Stack):
    """The GitHub OIDC provider of one account and a deploy role for each environment deployed into it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        github_owner: str,
        github_repo: str,
        environments: Sequence[tuple[str, str]],
        bootstrap_qualifier: str = DEFAULT_BOOTSTRAP_QUALIFIER,
        existing_oidc_provider_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        """`environments` are (name, region) pairs deployed into this stack's account.

        Pass `existing_oidc_provider_arn` when the account already has the GitHub provider: IAM allows one
        provider per URL and account.
        """
        super().__init__(scope, construct_id, **kwargs)
        if not github_owner or not github_repo:
            raise ValueError("github_owner and github_repo are required to limit who may assume the roles")
        if not environments:
            raise ValueError("environments is empty: a roles stack needs at least one (name, region) pair")
        names = [name for name, _ in environments]
        if len(set(names)) != len(names):
            raise ValueError(f"environments has duplicate names: {names}")
        provider_arn = (
            existing_oidc_provider_arn
            or (
                iam.OidcProviderNative(self, "GitHubOidcProvider", url=GITHUB_OIDC_URL, client_ids=[STS_AUDIENCE])
            ).oidc_provider_arn
        )
        self.deploy_roles: Mapping[str, iam.IRole] = {
            name: self._deploy_role(
                provider_arn,
                github_subject(github_owner, github_repo, name),
                name,
                region,
                bootstrap_qualifier,
            )
            for name, region in environments
        }

    def _deploy_role(self, provider_arn: str, subject: str, environment: str, region: str, qualifier: str) -> iam.IRole:
        role = iam.Role(
            self,
            f"DeployRole-{environment}",
            role_name=deploy_role_name(environment),
            description=f"GitHub Actions deploys of environment {environment}: assumes the CDK bootstrap roles",
            max_session_duration=MAX_SESSION,
            assumed_by=iam.WebIdentityPrincipal(
                provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_ISSUER}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_ISSUER}:sub": subject,
                    }
                },
            ),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeCdkBootstrapRoles",
                actions=["sts:AssumeRole"],
                resources=[
                    f"arn:{self.partition}:iam::{self.account}:role/{name}"
                    for name in (
                        bootstrap_role_name(qualifier, kind, self.account, region) for kind in BOOTSTRAP_ROLE_KINDS
                    )
                ],
            )
        )
        CfnOutput(self, f"DeployRoleArn-{environment}", value=role.role_arn)
        return role


def delivery_roles_per_account(
    scope: Construct,
    *,
    github_owner: str,
    github_repo: str,
    targets: Sequence[tuple[str, str, str]],
) -> dict[str, DeliveryRolesStack]:
    """One `DeliveryRoles-<account>` stack per account of `targets` (environment, account, region).

    Environments that share an account share its stack: IAM allows one GitHub provider per account.
    """
    by_account: dict[str, list[tuple[str, str]]] = {}
    for name, account, region in targets:
        by_account.setdefault(account, []).append((name, region))
    return {
        account: DeliveryRolesStack(
            scope,
            f"DeliveryRoles-{account}",
            github_owner=github_owner,
            github_repo=github_repo,
            environments=environments,
            env=Environment(account=account, region=environments[0][1]),
            description=f"GitHub Actions OIDC deploy roles of {github_owner}/{github_repo} for account {account}",
        )
        for account, environments in by_account.items()
    }
