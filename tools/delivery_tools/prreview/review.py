"""Decide which changes are dangerous: replacing or deleting a stateful resource loses data or keys.

Stateful resources are the ones the app marks (CloudFormation resource Metadata, `ml_constructs.stateful`),
on either side of the change: the marker travels with the template, whatever the stack is called.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from delivery_tools.prreview.engine import ResourceChange, StackDiff
from delivery_tools.prreview.images import ImageChange

# Impacts after which the existing physical resource is gone (or no longer managed).
DESTRUCTIVE_IMPACTS = frozenset({"WILL_REPLACE", "MAY_REPLACE", "WILL_DESTROY", "WILL_ORPHAN"})


@dataclass(frozen=True)
class DangerousChange:
    """A replacement or removal of a stateful resource, and whether the allow-list accepts it."""

    stack: StackDiff
    change: ResourceChange
    allowed: bool

    @property
    def resource_id(self) -> str:
        """`ENV/Stack/LogicalId`: the name an allow-list entry uses."""
        return resource_id(self.stack, self.change)


@dataclass(frozen=True)
class Review:
    """Everything the report shows, and whether the change set must be blocked."""

    base_label: str
    head_label: str
    stacks: tuple[StackDiff, ...]
    dangerous: tuple[DangerousChange, ...]
    unused_allow_entries: tuple[str, ...]
    images: tuple[ImageChange, ...] = ()

    @property
    def blocked(self) -> tuple[DangerousChange, ...]:
        """Dangerous changes no allow-list entry names."""
        return tuple(item for item in self.dangerous if not item.allowed)


def resource_id(stack: StackDiff, change: ResourceChange) -> str:
    """`ENV/Stack/LogicalId`, from the stack's display name (`dev/Repository`) and the logical ID."""
    return f"{stack.ref.display_name}/{change.logical_id}"


def is_stateful(stack: StackDiff, change: ResourceChange) -> bool:
    """The app marked the resource stateful in the old or the new template."""
    return change.logical_id in stack.stateful


def is_destructive(change: ResourceChange) -> bool:
    """The existing resource would be replaced, deleted or orphaned."""
    return change.is_removal or change.impact in DESTRUCTIVE_IMPACTS


def read_allow_file(path: Path) -> list[str]:
    """Allow-list entries, one `ENV/Stack/LogicalId` a line; blank lines and `#` comments are ignored."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append(entry)
    return entries


def review(
    base_label: str,
    head_label: str,
    stacks: Sequence[StackDiff],
    allow: Iterable[str],
    images: Sequence[ImageChange] = (),
) -> Review:
    """Classify every resource change and match dangerous ones against the allow-list."""
    allowed = set(allow)
    dangerous = tuple(
        DangerousChange(stack, change, allowed=resource_id(stack, change) in allowed)
        for stack in stacks
        for change in stack.resources
        if is_stateful(stack, change) and is_destructive(change)
    )
    used = {item.resource_id for item in dangerous}
    return Review(
        base_label=base_label,
        head_label=head_label,
        stacks=tuple(stacks),
        dangerous=dangerous,
        unused_allow_entries=tuple(sorted(allowed - used)),
        images=tuple(images),
    )
