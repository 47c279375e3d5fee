"""A small model of how ECR applies a lifecycle policy, written from the ECR documentation.

- rules run from the lowest rulePriority up; an image is expired by at most one rule;
- an image matching the tag filter of a higher-priority rule cannot be expired by a lower one;
- tagPrefixList matches when every listed prefix starts one of the image's tags;
- imageCountMoreThan sorts the selected images newest first and expires those past the count;
- sinceImagePushed expires selected images older than countNumber days.
"""

import json
from dataclasses import dataclass
from typing import Any


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
