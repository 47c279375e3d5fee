"""What pr-diff calls dangerous, judged by the real CDK diff engine on small templates."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tooling.prdiff.assembly import StackRef, Template
from tooling.prdiff.engine import StackPair, compare
from tooling.prdiff.review import read_allow_file, review
from tooling.prdiff.synth import SynthError, resolve_revision

REPOSITORY_STACK = StackRef("dev/Repository", "dev-Repository", "111111111111", "eu-west-1")
IMAGE_STACK = StackRef("dev/ModelImage", "dev-ModelImage", "111111111111", "eu-west-1")


def repository_template(name: str = "model-serving", policy_account: str = "444444444444") -> Template:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{policy_account}:root"},
                "Action": "ecr:BatchGetImage",
            }
        ],
    }
    return {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True}},
            "Repo": {
                "Type": "AWS::ECR::Repository",
                "Properties": {"RepositoryName": name, "RepositoryPolicyText": policy},
            },
        }
    }


def parameter_template(name: str) -> Template:
    return {"Resources": {"Uri": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String"}}}}


def judge(ref: StackRef, old: Template | None, new: Template | None, allow: tuple[str, ...] = ()) -> Any:
    return review("base", "head", compare([StackPair(ref, old, new)]), allow)


def test_repository_policy_change_is_an_update_not_blocked() -> None:
    result = judge(REPOSITORY_STACK, repository_template(), repository_template(policy_account="555555555555"))
    (change,) = result.stacks[0].resources
    assert (change.logical_id, change.impact) == ("Repo", "WILL_UPDATE")
    assert result.dangerous == ()


def test_repository_rename_is_blocked_until_allowed() -> None:
    old, new = repository_template(), repository_template(name="renamed")
    blocked = judge(REPOSITORY_STACK, old, new)
    assert [item.resource_id for item in blocked.blocked] == ["dev/Repository/Repo"]
    allowed = judge(REPOSITORY_STACK, old, new, allow=("dev/Repository/Repo",))
    assert allowed.blocked == () and len(allowed.dangerous) == 1


def test_a_key_is_stateful_in_any_stack() -> None:
    old = {"Resources": {**parameter_template("/a")["Resources"], "Key": {"Type": "AWS::KMS::Key"}}}
    result = judge(IMAGE_STACK, old, parameter_template("/a"))
    assert [item.resource_id for item in result.blocked] == ["dev/ModelImage/Key"]


def test_replacing_a_stateless_resource_is_shown_not_blocked() -> None:
    result = judge(IMAGE_STACK, parameter_template("/a"), parameter_template("/b"))
    (change,) = result.stacks[0].resources
    assert change.impact == "WILL_REPLACE"
    assert result.dangerous == ()


def test_every_resource_of_a_repository_stack_is_stateful() -> None:
    result = judge(REPOSITORY_STACK, parameter_template("/a"), parameter_template("/b"))
    assert [item.change.resource_type for item in result.blocked] == ["AWS::SSM::Parameter"]


def test_identical_templates_have_no_change() -> None:
    (diff,) = compare([StackPair(REPOSITORY_STACK, repository_template(), repository_template())])
    assert (diff.change_count, diff.resources, diff.text) == (0, (), "")


def test_allow_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    allow_file = tmp_path / "allow"
    allow_file.write_text("# why\n\ndev/Repository/Repo  # renamed on purpose\n  prod/Repository/Key\n")
    assert read_allow_file(allow_file) == ["dev/Repository/Repo", "prod/Repository/Key"]


def test_unknown_base_revision_is_named_in_the_error(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(SynthError, match=r"base revision 'origin/nope' is not a commit .*git fetch origin main"):
        resolve_revision(tmp_path, "origin/nope")
