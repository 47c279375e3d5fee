"""The AWS naming rules the settings are checked against, kept in one place."""

import re
from functools import cache

ACCOUNT_ID = re.compile(r"^\d{12}$")
# ECR repository names: 2-256 chars, lowercase path components separated by '/', see CreateRepository.
REPOSITORY_NAME = re.compile(r"^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
# Docker/ECR image tags: first char [A-Za-z0-9_], then [A-Za-z0-9_.-], 128 chars at most.
TAG_PREFIX = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(?:role|user)/[\w+=,.@/-]{1,512}$")
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# GitHub: owners are 1-39 chars of letters, digits and inner hyphens; repository names [A-Za-z0-9_.-].
GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$")
GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@cache
def known_regions() -> frozenset[str]:
    """Regions the pinned aws-cdk-lib knows about (no network call, no hand-kept list)."""
    from aws_cdk import region_info

    return frozenset(region_info.Fact.regions)
