"""The image each environment runs, read from the image stacks' outputs on both sides of a change."""

from delivery_tools.common.assembly import StackRef, Template
from delivery_tools.prreview.engine import StackPair
from delivery_tools.prreview.images import ImageSide, image_changes
from stacks.model_image_stack import IMAGE_ORIGIN_OUTPUT, IMAGE_TAG_OUTPUT


def image_stack(origin: str, tag: str) -> Template:
    return {"Resources": {}, "Outputs": {IMAGE_ORIGIN_OUTPUT: {"Value": origin}, IMAGE_TAG_OUTPUT: {"Value": tag}}}


def ref(environment: str, stack: str) -> StackRef:
    return StackRef(f"{environment}/{stack}", f"{environment}-{stack}", "111111111111", "eu-west-1")


def test_only_image_stacks_count_and_both_sides_are_read() -> None:
    pairs = [
        StackPair(ref("dev", "Repository"), {"Resources": {}}, {"Resources": {}}),
        StackPair(ref("dev", "ModelImage"), image_stack("built here", "1.0-a"), image_stack("built here", "1.1-b")),
        StackPair(ref("prod", "ModelImage"), None, image_stack("promoted from dev", "1.1-b")),
    ]
    dev, prod = image_changes(pairs)
    assert (dev.environment, dev.before, dev.after) == (
        "dev",
        ImageSide("built here", "1.0-a"),
        ImageSide("built here", "1.1-b"),
    )
    assert not dev.origin_changed, "a new tag from the same build environment is an ordinary release"
    assert (prod.before, prod.after) == (None, ImageSide("promoted from dev", "1.1-b"))
    assert not prod.origin_changed, "a new environment is shown, not flagged"


def test_a_different_source_is_a_changed_origin() -> None:
    (change,) = image_changes(
        [
            StackPair(
                ref("prod", "ModelImage"), image_stack("promoted from staging", "t"), image_stack("built here", "t")
            )
        ]
    )
    assert change.origin_changed
