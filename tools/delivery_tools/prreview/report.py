"""Render a review as one Markdown document, ready to post as a pull-request comment."""

from __future__ import annotations

from itertools import groupby

from delivery_tools.prreview.engine import StackDiff
from delivery_tools.prreview.images import ImageSide
from delivery_tools.prreview.review import DangerousChange, Review, resource_id

# Hidden marker a workflow uses to find and update its own comment instead of adding a new one.
REPORT_MARKER = "<!-- pr-diff-report -->"
ALLOW_FILE = ".pr-diff-allow"
# GitHub rejects comments over 65,536 characters; one stack's text may use a fraction of that.
MAX_STACK_TEXT = 12_000

_IMPACT_WORDS = {
    "WILL_REPLACE": "replace",
    "MAY_REPLACE": "may replace",
    "WILL_DESTROY": "destroy",
    "WILL_ORPHAN": "remove (retained, no longer managed)",
    "WILL_UPDATE": "update",
    "WILL_CREATE": "create",
    "WILL_IMPORT": "import",
    # The engine knows no property of custom resources: a changed one is updated all the same.
    "NO_CHANGE": "update",
}


def _impact(impact: str) -> str:
    return _IMPACT_WORDS.get(impact, impact)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _dangerous_section(review: Review) -> list[str]:
    blocked = review.blocked
    if not review.dangerous:
        return ["> [!NOTE]", "> No resource marked stateful (a KMS key, an ECR repository) is replaced or deleted.", ""]
    if blocked:
        lines = [
            "> [!CAUTION]",
            f"> **{_plural(len(blocked), 'stateful resource')} would be replaced or deleted: blocked.** "
            "What they hold (images, the key that encrypts them) would be lost.",
            f"> If that is intended, name each one in `{ALLOW_FILE}` (or `--allow ENV/Stack/LogicalId`).",
            "",
        ]
    else:
        lines = [
            "> [!WARNING]",
            f"> **{_plural(len(review.dangerous), 'stateful resource')} would be replaced or deleted**, "
            "each named by the allow-list.",
            "",
        ]
    lines += ["| Resource | Type | Impact | Why stateful | Status |", "| --- | --- | --- | --- | --- |"]
    lines += [_dangerous_row(item) for item in review.dangerous]
    return [*lines, ""]


def _dangerous_row(item: DangerousChange) -> str:
    status = "allowed" if item.allowed else "**blocked**"
    change = item.change
    reason = item.stack.stateful[change.logical_id]
    return f"| `{item.resource_id}` | `{change.resource_type}` | {_impact(change.impact)} | {reason} | {status} |"


def _image_cell(side: ImageSide | None) -> str:
    return "—" if side is None else f"{side.origin} (`{side.tag}`)"


def _images_section(review: Review) -> list[str]:
    """Per environment, the image it runs before and after; a changed promotion chain is flagged first."""
    if not review.images:
        return []
    lines = ["### Images", ""]
    moved = [image for image in review.images if image.origin_changed]
    if moved:
        lines += [
            "> [!WARNING]",
            f"> **Where {_plural(len(moved), 'environment')} get their image changes** (the promotion chain): "
            + "; ".join(
                f"`{i.environment}`: {i.before.origin} → {i.after.origin}" for i in moved if i.before and i.after
            )
            + ". Check that every environment still runs bytes an earlier one verified.",
            "",
        ]
    lines += ["| Environment | Before | After |", "| --- | --- | --- |"]
    lines += [f"| `{i.environment}` | {_image_cell(i.before)} | {_image_cell(i.after)} |" for i in review.images]
    return [*lines, ""]


def _stack_status(stack: StackDiff) -> str:
    if stack.added:
        return "new stack"
    if stack.removed:
        return "stack removed from the app (`cdk deploy` leaves it deployed, `cdk destroy` would delete it)"
    return _plural(stack.change_count, "change")


def _stack_section(stack: StackDiff) -> list[str]:
    title = f"#### `{stack.ref.display_name}` (`{stack.ref.stack_name}`): {_stack_status(stack)}"
    lines = [title, ""]
    if stack.resources:
        lines += ["| Resource | Type | Impact |", "| --- | --- | --- |"]
        lines += [
            f"| `{resource_id(stack, change)}` | `{change.resource_type}` | {_impact(change.impact)} |"
            for change in stack.resources
        ]
        lines.append("")
    text = stack.text.rstrip()
    if len(text) > MAX_STACK_TEXT:
        text = text[:MAX_STACK_TEXT] + "\n... (cut here: run the command locally for the full diff)"
    return [*lines, "<details><summary>cdk diff</summary>", "", "```text", text, "```", "", "</details>", ""]


def _environment_title(environment: str) -> str:
    return f"### Environment `{environment}`" if environment else "### Stacks outside any environment"


def _environment_section(environment: str, stacks: list[StackDiff]) -> list[str]:
    changed = [stack for stack in stacks if stack.change_count]
    lines = [_environment_title(environment), ""]
    if not changed:
        return [*lines, f"No changes ({_plural(len(stacks), 'stack')} compared).", ""]
    for stack in changed:
        lines += _stack_section(stack)
    unchanged = [f"`{stack.ref.display_name}`" for stack in stacks if not stack.change_count]
    if unchanged:
        lines += [f"Unchanged: {', '.join(unchanged)}.", ""]
    return lines


def render_markdown(review: Review) -> str:
    """The whole report: dangerous changes first, then one section per environment."""
    changed = sum(1 for stack in review.stacks if stack.change_count)
    lines = [
        REPORT_MARKER,
        f"## Stack changes: `{review.base_label}` → `{review.head_label}`",
        "",
        f"{_plural(len(review.stacks), 'stack')} compared with the CDK diff engine, {changed} changed.",
        "",
        *_dangerous_section(review),
        *_images_section(review),
    ]
    for environment, stacks in groupby(review.stacks, key=lambda stack: stack.ref.environment):
        lines += _environment_section(environment, list(stacks))
    if review.unused_allow_entries:
        entries = ", ".join(f"`{entry}`" for entry in review.unused_allow_entries)
        lines += [f"Allow-list entries that matched no change (remove them): {entries}.", ""]
    return "\n".join(lines).rstrip() + "\n"
