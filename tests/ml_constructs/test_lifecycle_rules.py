"""Lifecycle rules as ECR applies them: replayed through a small model of ECR's documented semantics.

The model, written from the ECR documentation:
- rules run from the lowest rulePriority up; an image is expired by at most one rule;
- an image matching the tag filter of a higher-priority rule cannot be expired by a lower one;
- tagPrefixList matches when every listed prefix starts one of the image's tags;
- imageCountMoreThan sorts the selected images newest first and expires those past the count;
- sinceImagePushed expires selected images older than countNumber days.
"""

import json
from dataclasses import dataclass
from typing import Any

import pytest

from stacks.synthesis import SynthesizedApp, SynthesizedStack


@dataclass(frozen=True)
class Image:
    digest: str
    tags: tuple[str, ...]
    age_days: int


def _selects(selection: dict[str, Any], image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "untagged":
        return not image.tags
    if status == "any":
        return True
    prefixes = selection.get("tagPrefixList", [])
    return bool(image.tags) and all(any(tag.startswith(p) for tag in image.tags) for p in prefixes)


def expired_images(policy_text: str, images: list[Image]) -> set[str]:
    rules = sorted(json.loads(policy_text)["rules"], key=lambda rule: rule["rulePriority"])
    expired: set[str] = set()
    claimed: set[str] = set()
    for rule in rules:
        selection = rule["selection"]
        selected = [image for image in images if _selects(selection, image)]
        if selection["countType"] == "imageCountMoreThan":
            newest_first = sorted(selected, key=lambda image: image.age_days)
            candidates = newest_first[selection["countNumber"] :]
        else:
            candidates = [image for image in selected if image.age_days > selection["countNumber"]]
        expired |= {image.digest for image in candidates if image.digest not in claimed}
        claimed |= {image.digest for image in selected}
    return expired


@pytest.fixture
def stack(synthesized: SynthesizedApp, env_name: str) -> SynthesizedStack:
    return synthesized.stack(env_name, "Repository")


def lifecycle_policy(stack: SynthesizedStack) -> str:
    return str(stack.only("AWS::ECR::Repository")[1]["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])


def test_lifecycle_rules_are_ordered_so_ecr_honours_them(synthesized: SynthesizedApp, stack: SynthesizedStack) -> None:
    lifecycle = synthesized.settings.environment(stack.env).lifecycle
    rules = json.loads(lifecycle_policy(stack))["rules"]
    priorities = [rule["rulePriority"] for rule in rules]
    assert priorities == sorted(set(priorities)), "priorities must be unique and in order"
    *protect, untagged, keep = rules
    assert [rule["selection"]["tagPrefixList"] for rule in protect] == [[p] for p in lifecycle.protected_tag_prefixes]
    assert all(rule["selection"]["tagStatus"] == "tagged" for rule in protect)
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": lifecycle.untagged_expiry_days,
    }
    assert keep["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": lifecycle.max_image_count,
    }


def test_lifecycle_keeps_protected_images_and_expires_the_rest(
    synthesized: SynthesizedApp, stack: SynthesizedStack
) -> None:
    lifecycle = synthesized.settings.environment(stack.env).lifecycle
    keep = lifecycle.max_image_count
    days = lifecycle.untagged_expiry_days
    protected = [Image(f"protected-{p}", (f"{p}-2024.1",), age_days=1000) for p in lifecycle.protected_tag_prefixes]
    deployed = [Image(f"deploy-{i}", (f"1.0.{i}-abcdef012345",), age_days=i) for i in range(keep + 5)]
    untagged = [Image("untagged-new", (), age_days=days - 1), Image("untagged-old", (), age_days=days + 1)]
    expired = expired_images(lifecycle_policy(stack), [*protected, *deployed, *untagged])

    assert not any(digest.startswith("protected-") for digest in expired)
    assert "untagged-old" in expired
    # Newest first: the keep rule counts every image, so protected ones take some of the places.
    survivors = {image.digest for image in deployed} - expired
    assert {f"deploy-{i}" for i in range(min(keep, len(deployed)) - len(protected) - 1)} <= survivors
    assert "deploy-0" in survivors
    assert f"deploy-{keep + 4}" in expired
