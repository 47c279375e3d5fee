"""pr-review against real changes: a copy of the project is committed, changed through cdk.json, and reviewed.

Both sides are synthesized by the pinned CDK CLI, exactly as `make pr-review` does it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from delivery_tools.common.project import copy_project
from delivery_tools.prreview.compare import review_against_revision
from delivery_tools.prreview.engine import ResourceChange, StackDiff
from delivery_tools.prreview.report import render_markdown
from delivery_tools.prreview.review import Review, review

PROJECT_ROOT = Path(__file__).resolve().parents[3]
RENAMED = "model-serving-v2"
PR_REVIEW = Path(sys.executable).with_name("pr-review")
ENVIRONMENTS: dict[str, dict[str, object]] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"][
    "environments"
]
UNCHANGED = [name for name in ENVIRONMENTS if name not in ("dev", "staging", "prod")]


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=pr-review test", "-c", "user.email=pr-review@example.invalid"]
    return subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def committed_copy(dest: Path) -> Path:
    """The project's working tree (tracked and new files) as the first commit of a fresh repository."""
    copy_project(dest, PROJECT_ROOT)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "base")
    return dest


def change_settings(project: Path) -> None:
    """dev keeps more images, prod's repository is renamed, staging is dropped from the app (so prod now
    promotes straight from dev)."""
    cdk_json = project / "cdk.json"
    config = json.loads(cdk_json.read_text())
    environments = config["context"]["environments"]
    environments["dev"]["lifecycle"]["max_image_count"] += 5
    environments["prod"]["repository_name"] = RENAMED
    del environments["staging"]
    environments["prod"]["promote_from"] = "dev"
    cdk_json.write_text(json.dumps(config, indent=2))


@pytest.fixture(scope="module")
def changed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = committed_copy(tmp_path_factory.mktemp("project"))
    change_settings(project)
    return project


@pytest.fixture(scope="module")
def result(changed_project: Path) -> Review:
    return review_against_revision(changed_project, "HEAD", allow=[])


def stack(result: Review, display_name: str) -> StackDiff:
    (found,) = [item for item in result.stacks if item.ref.display_name == display_name]
    return found


def change_of_type(diff: StackDiff, resource_type: str) -> ResourceChange:
    (found,) = [change for change in diff.resources if change.resource_type == resource_type]
    return found


def blocked_ids(result: Review) -> set[str]:
    return {item.resource_id for item in result.blocked}


def test_every_stack_of_every_environment_is_compared(result: Review) -> None:
    names = {item.ref.display_name for item in result.stacks}
    assert {f"{env}/{kind}" for env in ENVIRONMENTS for kind in ("Repository", "ModelImage")} <= names
    assert UNCHANGED
    for env in UNCHANGED:
        assert stack(result, f"{env}/Repository").change_count == 0


def test_lifecycle_change_is_shown_and_allowed(result: Review) -> None:
    repository = change_of_type(stack(result, "dev/Repository"), "AWS::ECR::Repository")
    assert repository.impact == "WILL_UPDATE"
    assert not any(item.stack.ref.environment == "dev" for item in result.dangerous)
    report = render_markdown(result)
    dev_section = report.split("### Environment `dev`")[1].split("### Environment")[0]
    assert "LifecyclePolicyText" in dev_section
    assert f"`dev/Repository/{repository.logical_id}` | `AWS::ECR::Repository` | update |" in dev_section


def test_repository_rename_is_a_blocked_replacement(result: Review) -> None:
    diff = stack(result, "prod/Repository")
    repository = change_of_type(diff, "AWS::ECR::Repository")
    assert repository.impact == "WILL_REPLACE"
    assert f"prod/Repository/{repository.logical_id}" in blocked_ids(result)
    assert "RepositoryName (requires replacement)" in diff.text and RENAMED in diff.text


def test_stack_removed_from_the_app_is_blocked_and_said_so(result: Review) -> None:
    diff = stack(result, "staging/Repository")
    key = change_of_type(diff, "AWS::KMS::Key")
    assert diff.removed and key.is_removal
    assert f"staging/Repository/{key.logical_id}" in blocked_ids(result)
    assert "`staging/Repository` (`staging-Repository`): stack removed from the app" in render_markdown(result)


def test_blocked_changes_are_listed_first_under_a_warning(result: Review) -> None:
    report = render_markdown(result)
    warning = report.index("[!CAUTION]")
    assert warning < report.index("### Environment")
    for resource_id in blocked_ids(result):
        assert report.index(f"`{resource_id}`") > warning
        assert report.index(f"`{resource_id}`") < report.index("### Environment")


def test_allow_list_names_unblock_only_those_changes(result: Review) -> None:
    (rename,) = [item.resource_id for item in result.blocked if item.stack.ref.environment == "prod"]
    allowed = review(result.base_label, result.head_label, result.stacks, allow=[rename, "dev/Repository/Nothing"])
    assert rename not in blocked_ids(allowed)
    assert blocked_ids(allowed) == blocked_ids(result) - {rename}
    assert allowed.unused_allow_entries == ("dev/Repository/Nothing",)
    assert "| allowed |" in render_markdown(allowed)


def test_each_environment_shows_its_image_and_a_changed_promotion_chain_is_flagged(result: Review) -> None:
    images = {image.environment: image for image in result.images}
    assert images["dev"].before and images["dev"].after
    assert images["dev"].before.origin == images["dev"].after.origin == "built here"
    assert (images["staging"].before is not None, images["staging"].after) == (True, None), "staging left the app"
    prod = images["prod"]
    assert prod.before and prod.after and prod.origin_changed
    assert (prod.before.origin, prod.after.origin) == ("promoted from staging", "promoted from dev")
    assert prod.after.tag == images["dev"].after.tag, "prod runs the tag dev builds"
    report = render_markdown(result)
    assert "`prod`: promoted from staging → promoted from dev" in report
    assert report.index("### Images") < report.index("### Environment")
    assert not images["dev"].origin_changed and "`dev`: built here →" not in report


def rename_key_construct(project: Path) -> None:
    """A refactor that renames the key's construct: its logical ID changes, so the deployed key is deleted."""
    module = project / "ml_constructs" / "encrypted_repository.py"
    source, count = re.subn(r'kms\.Key\(\s*self,\s*"Key"', 'kms.Key(self, "EncryptionKey"', module.read_text())
    assert count == 1, f"the key construct of {module.name} changed shape: update this test's refactor"
    module.write_text(source)


def test_key_removal_blocks_the_command(tmp_path: Path) -> None:
    project = committed_copy(tmp_path)
    rename_key_construct(project)
    (project / ".pr-diff-allow").write_text("# kept on purpose\nprod/Repository/NoSuchResource\n")
    report_file = project / "report.md"
    completed = subprocess.run(
        [str(PR_REVIEW), "--base", "HEAD", "--output", str(report_file)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    report = completed.stdout
    assert report_file.read_text() == report
    assert report.startswith("<!-- pr-diff-report -->")
    blocked_rows = [line for line in report.splitlines() if line.endswith("| **blocked** |")]
    for env in ENVIRONMENTS:
        key_rows = [row for row in blocked_rows if row.startswith(f"| `{env}/Repository/") and "AWS::KMS::Key" in row]
        assert key_rows, f"the removal of {env}'s key is not blocked:\n{report}"
        assert key_rows[0].split("`")[1] in completed.stderr
    # Environments with removal_policy "destroy" destroy their key on removal; the others retain it.
    key_impacts = {
        row.split("`")[1].split("/")[0]: row.split("|")[3].strip() for row in blocked_rows if "KMS::Key" in row
    }
    assert key_impacts == {
        env: "destroy" if settings.get("removal_policy") == "destroy" else "remove (retained, no longer managed)"
        for env, settings in ENVIRONMENTS.items()
    }
    assert "Allow-list entries that matched no change (remove them): `prod/Repository/NoSuchResource`" in report
