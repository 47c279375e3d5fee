"""ECR's data-plane rules as functions: routes, wildcard filters, which tag writes are refused, error bodies."""

from __future__ import annotations

import json

import pytest

from delivery_tools.localcloud.services.ecr_rules import (
    REGISTRY_HOST,
    name_unknown,
    parse_path,
    tag_invalid,
    tag_overwrite_refused,
    wildcard_match,
)

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("path", "repository", "rest", "tag"),
    [
        ("/v2/model-serving/manifests/1.0-abc", "model-serving", "manifests/1.0-abc", "1.0-abc"),
        (f"/v2/team/model/manifests/{DIGEST}", "team/model", f"manifests/{DIGEST}", None),
        ("/v2/team/model/blobs/uploads/", "team/model", "blobs/uploads/", None),
        ("/v2/m/blobs/uploads/0b1c-2d", "m", "blobs/uploads/0b1c-2d", None),
        (f"/v2/m/blobs/{DIGEST}", "m", f"blobs/{DIGEST}", None),
        ("/v2/a/b/c/tags/list", "a/b/c", "tags/list", None),
    ],
)
def test_parse_path_names_repository_route_and_tag(path: str, repository: str, rest: str, tag: str | None) -> None:
    request = parse_path(path)
    assert request is not None
    assert (request.repository, request.rest, request.tag) == (repository, rest, tag)


@pytest.mark.parametrize("path", ["/v2/", "/v2/_catalog", "/v2/m/manifests/", "/v2/M/tags/list", "/v1/m/tags/list"])
def test_parse_path_refuses_what_is_no_repository_route(path: str) -> None:
    assert parse_path(path) is None


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("latest", "latest", True),
        ("latest", "latest2", False),
        ("dev-*", "dev-", True),
        ("dev-*", "dev-1.2", True),
        ("dev-*", "dev", False),
        ("*-rc", "1.0-rc", True),
        ("*-rc", "1.0-rc1", False),
        ("1.0.*", "1.0.7", True),
        ("1.0.*", "1x0x7", False),  # dots are literal, not "any character"
        ("*", "anything", True),
    ],
)
def test_wildcard_filters_match_whole_tags(pattern: str, tag: str, matches: bool) -> None:
    assert wildcard_match(pattern, tag) is matches


LATEST = [{"filterType": "WILDCARD", "filter": "latest*"}]


@pytest.mark.parametrize(
    ("mutability", "filters", "tag", "refused"),
    [
        ("IMMUTABLE", [], "1.0", True),
        ("MUTABLE", [], "1.0", False),
        ("IMMUTABLE_WITH_EXCLUSION", LATEST, "latest-dev", False),
        ("IMMUTABLE_WITH_EXCLUSION", LATEST, "1.0", True),
        ("MUTABLE_WITH_EXCLUSION", LATEST, "latest", True),
        ("MUTABLE_WITH_EXCLUSION", LATEST, "1.0", False),
    ],
)
def test_which_existing_tags_may_be_written_again(
    mutability: str, filters: list[dict[str, str]], tag: str, refused: bool
) -> None:
    assert tag_overwrite_refused(mutability, filters, tag) is refused


def test_error_bodies_are_ecrs() -> None:
    invalid = tag_invalid("1.0", "model-serving")
    assert invalid.status == 400
    assert json.loads(invalid.body) == {
        "errors": [
            {
                "code": "TAG_INVALID",
                "message": "The image tag '1.0' already exists in the 'model-serving' repository and cannot be "
                "overwritten because the repository is immutable.",
            }
        ]
    }
    unknown = name_unknown("nope", "123456789012")
    assert unknown.status == 404
    assert json.loads(unknown.body)["errors"] == [
        {
            "code": "NAME_UNKNOWN",
            "message": "The repository with name 'nope' does not exist in the registry with id '123456789012'",
        }
    ]


def test_registry_host_names_account_and_region() -> None:
    match = REGISTRY_HOST.match("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    assert match is not None and (match["account"], match["region"]) == ("123456789012", "eu-west-1")
    assert REGISTRY_HOST.match("123.dkr.ecr.eu-west-1.amazonaws.com") is None
