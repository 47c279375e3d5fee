"""ECR lifecycle rules whose priorities really protect what the caller says is protected.

ECR evaluates rules from the lowest priority number up; an image that matches the tag filter of a
higher-priority rule can never be expired by a lower-priority one, and the `any` rule must come last.
So each protected prefix gets its own rule first (one prefix per rule: a tagPrefixList with several
prefixes would only match images carrying all of them), with a count no repository reaches; then the
untagged expiry; then the keep-at-most rule over everything else.
"""

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_ecr as ecr

# Larger than any image count a protected prefix will reach: the rule only exists to claim the images.
PROTECTED_COUNT = 9999


def lifecycle_rules(
    *, untagged_expiry: Duration, max_image_count: int, protected_tag_prefixes: Sequence[str]
) -> list[ecr.LifecycleRule]:
    protected = [
        ecr.LifecycleRule(
            rule_priority=priority,
            description=f"Never expire images tagged {prefix}*",
            tag_status=ecr.TagStatus.TAGGED,
            tag_prefix_list=[prefix],
            max_image_count=PROTECTED_COUNT,
        )
        for priority, prefix in enumerate(protected_tag_prefixes, start=1)
    ]
    next_priority = len(protected) + 1
    return [
        *protected,
        ecr.LifecycleRule(
            rule_priority=next_priority,
            description=f"Expire untagged images after {untagged_expiry.to_days()} days",
            tag_status=ecr.TagStatus.UNTAGGED,
            max_image_age=untagged_expiry,
        ),
        ecr.LifecycleRule(
            rule_priority=next_priority + 1,
            description=f"Keep at most {max_image_count} images",
            tag_status=ecr.TagStatus.ANY,
            max_image_count=max_image_count,
        ),
    ]
