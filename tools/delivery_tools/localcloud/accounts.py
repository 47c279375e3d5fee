"""Acting in one account of the local AWS API, which keeps accounts apart as AWS does.

Two ways, both moto's own: a request header naming the account (for the tools' boto3 clients), and the
credentials `sts:AssumeRole` hands out for a role of that account (for the CDK CLI, which only takes
credentials; moto evaluates no IAM, so any role of the account will do).
"""

from __future__ import annotations

from typing import Any

from delivery_tools.localcloud import aws

ACCOUNT_HEADER = "x-moto-account-id"
# The role the CDK CLI's bootstrap runs as in another account (its name is ours; moto needs no such role).
BOOTSTRAP_ROLE = "local-cloud-bootstrap"


def account_client(service: str, endpoint_url: str, region: str, account: str) -> Any:
    """A boto3 client of the local AWS API whose every request acts in `account`."""
    client = aws.client(service, endpoint_url, region)

    def name_account(request: Any, **_: Any) -> None:
        request.headers[ACCOUNT_HEADER] = account

    client.meta.events.register(f"before-sign.{client.meta.service_model.signing_name}", name_account)
    return client


def credentials_in(endpoint_url: str, region: str, account: str) -> dict[str, str]:
    """Environment variables with temporary credentials that act in `account` (from sts:AssumeRole)."""
    sts = aws.client("sts", endpoint_url, region)
    assumed = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{BOOTSTRAP_ROLE}", RoleSessionName="local-cloud")
    credentials = assumed["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
