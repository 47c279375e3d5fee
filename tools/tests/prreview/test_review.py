"""What pr-review calls dangerous, judged by the real CDK diff engine on small templates.

Stateful means marked by the app (`ml_constructs.stateful`), never guessed from a stack's name or a type.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from delivery_tools.common.assembly import StackRef, Template
from delivery_tools.prreview.engine import StackPair, compare
from delivery_tools.prreview.report import render_markdown
from delivery_tools.prreview.review import read_allow_file, review
from delivery_tools.prreview.synth import SynthError, resolve_revision
from ml_constructs.stateful import STATEFUL_METADATA_KEY

REPOSITORY_STACK = StackRef("dev/Repository", "dev-Repository", "111111111111", "eu-west-1")
IMAGE_STACK = StackRef("dev/ModelImage", "dev-ModelImage", "111111111111", "eu-west-1")
RENAMED_STACK = StackRef("dev/Storage", "dev-ImageStorage", "111111111111", "eu-west-1")
MARK = {STATEFUL_METADATA_KEY: "holds the images"}


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
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True}, "Metadata": MARK},
            "Repo": {
                "Type": "AWS::ECR::Repository",
                "Properties": {"RepositoryName": name, "RepositoryPolicyText": policy},
                "Metadata": MARK,
            },
        }
    }


def parameter_template(name: str, *, marked: bool = False) -> Template:
    parameter = {"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String"}}
    return {"Resources": {"Uri": {**parameter, **({"Metadata": MARK} if marked else {})}}}


def unmarked(template: Template) -> Template:
    return {
        "Resources": {key: {k: v for k, v in r.items() if k != "Metadata"} for key, r in template["Resources"].items()}
    }


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


def test_a_marked_key_is_stateful_in_any_stack() -> None:
    old = {"Resources": {**parameter_template("/a")["Resources"], "Key": {"Type": "AWS::KMS::Key", "Metadata": MARK}}}
    result = judge(IMAGE_STACK, old, parameter_template("/a"))
    assert [item.resource_id for item in result.blocked] == ["dev/ModelImage/Key"]


def test_renaming_the_stack_does_not_weaken_the_guard() -> None:
    old, new = repository_template(), repository_template(name="renamed")
    result = judge(RENAMED_STACK, old, new)
    assert [item.resource_id for item in result.blocked] == ["dev/Storage/Repo"]


def test_an_unmarked_resource_is_not_stateful_whatever_its_type_or_stack() -> None:
    result = judge(REPOSITORY_STACK, unmarked(repository_template()), unmarked(repository_template(name="renamed")))
    (change,) = result.stacks[0].resources
    assert change.impact == "WILL_REPLACE"
    assert result.dangerous == ()


def test_a_marker_on_either_side_counts() -> None:
    added_marker = judge(IMAGE_STACK, parameter_template("/a"), parameter_template("/b", marked=True))
    removed_marker = judge(IMAGE_STACK, parameter_template("/a", marked=True), parameter_template("/b"))
    assert [item.resource_id for item in added_marker.blocked] == ["dev/ModelImage/Uri"]
    assert [item.resource_id for item in removed_marker.blocked] == ["dev/ModelImage/Uri"]


def test_replacing_a_stateless_resource_is_shown_not_blocked() -> None:
    result = judge(IMAGE_STACK, parameter_template("/a"), parameter_template("/b"))
    (change,) = result.stacks[0].resources
    assert change.impact == "WILL_REPLACE"
    assert result.dangerous == ()


def test_the_report_says_why_a_blocked_resource_is_stateful() -> None:
    result = judge(REPOSITORY_STACK, repository_template(), repository_template(name="renamed"))
    assert "| `dev/Repository/Repo` | `AWS::ECR::Repository` | replace | holds the images | **blocked** |" in (
        render_markdown(result)
    )


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
