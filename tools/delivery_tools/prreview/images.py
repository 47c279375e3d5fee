"""What image each environment will run, on both sides of a change, read from the stacks' outputs.

The app says it in every image stack's outputs (`stacks.model_image_stack`): built here, promoted from
which environment, or rolled back to which release, and under which tag. A reviewer sees it per
environment, and a change of where an environment's image comes from (the promotion chain) is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from delivery_tools.common.assembly import Template
from delivery_tools.prreview.engine import StackPair
from stacks.model_image_stack import IMAGE_ORIGIN_OUTPUT, IMAGE_TAG_OUTPUT


@dataclass(frozen=True)
class ImageSide:
    origin: str
    tag: str


@dataclass(frozen=True)
class ImageChange:
    """One environment's image before and after the change; None where the environment has no image stack."""

    environment: str
    before: ImageSide | None
    after: ImageSide | None

    @property
    def origin_changed(self) -> bool:
        """Where the image comes from changes: the promotion chain (or a rollback) is part of this change."""
        return self.before is not None and self.after is not None and self.before.origin != self.after.origin


def _image(template: Template | None) -> ImageSide | None:
    outputs = (template or {}).get("Outputs", {})
    origin, tag = (outputs.get(key, {}).get("Value") for key in (IMAGE_ORIGIN_OUTPUT, IMAGE_TAG_OUTPUT))
    return ImageSide(origin, tag) if isinstance(origin, str) and isinstance(tag, str) else None


def image_changes(pairs: Sequence[StackPair]) -> tuple[ImageChange, ...]:
    """One entry per environment whose image stack exists on either side, in the pairs' order."""
    changes = []
    for pair in pairs:
        before, after = _image(pair.old), _image(pair.new)
        if before is not None or after is not None:
            changes.append(ImageChange(pair.ref.environment, before, after))
    return tuple(changes)
