"""Acting in one account of a real moto server: the header for boto3 clients, assumed-role credentials for the CLI."""

from __future__ import annotations

import boto3

from delivery_tools.localcloud.accounts import account_client, credentials_in

REGION = "us-east-1"


def test_clients_of_two_accounts_never_see_each_others_repositories(endpoint_url: str) -> None:
    staging = account_client("ecr", endpoint_url, REGION, "222233334444")
    prod = account_client("ecr", endpoint_url, REGION, "333344445555")
    staging.create_repository(repositoryName="only-in-staging")
    (repository,) = staging.describe_repositories()["repositories"]
    assert repository["repositoryArn"] == f"arn:aws:ecr:{REGION}:222233334444:repository/only-in-staging"
    assert prod.describe_repositories()["repositories"] == []


def test_assumed_role_credentials_act_in_the_roles_account(endpoint_url: str) -> None:
    credentials = credentials_in(endpoint_url, REGION, "333344445555")
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )
    assert sts.get_caller_identity()["Account"] == "333344445555"
