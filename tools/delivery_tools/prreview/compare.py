"""Pair the stacks of two sides, run the diff engine, and review the result."""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from delivery_tools.common.assembly import SynthesizedStack, Template, read_stacks
from delivery_tools.common.cdk import cdk_executable
from delivery_tools.prreview import engine
from delivery_tools.prreview.deployed import deployed_templates
from delivery_tools.prreview.images import image_changes
from delivery_tools.prreview.review import Review, review
from delivery_tools.prreview.synth import base_checkout, resolve_revision, synthesize


def _selected(stacks: dict[str, SynthesizedStack], environments: Collection[str]) -> dict[str, SynthesizedStack]:
    if not environments:
        return stacks
    return {name: stack for name, stack in stacks.items() if stack.ref.environment in environments}


def pair_stacks(
    old: dict[str, Template | None], old_stacks: dict[str, SynthesizedStack], new: dict[str, SynthesizedStack]
) -> list[engine.StackPair]:
    """One pair per stack on either side, grouped by environment in the order the app declares them."""
    pairs = [engine.StackPair(stack.ref, old.get(name), stack.template) for name, stack in new.items()]
    pairs += [engine.StackPair(stack.ref, old[name], None) for name, stack in old_stacks.items() if name not in new]
    first_seen: dict[str, int] = {}
    for pair in pairs:
        first_seen.setdefault(pair.ref.environment, len(first_seen))
    return sorted(pairs, key=lambda pair: first_seen[pair.ref.environment])


def _templates(stacks: dict[str, SynthesizedStack]) -> dict[str, Template | None]:
    return {name: stack.template for name, stack in stacks.items()}


def review_against_revision(
    project_dir: Path,
    base_revision: str,
    allow: Iterable[str],
    context: Sequence[str] = (),
    environments: Collection[str] = (),
) -> Review:
    """Synthesize `base_revision` (in a git worktree) and the working tree side by side, then review."""
    cli = cdk_executable(project_dir)
    base_commit = resolve_revision(project_dir, base_revision)
    with tempfile.TemporaryDirectory(prefix="pr-diff-") as scratch:
        scratch_dir = Path(scratch)
        with (
            base_checkout(project_dir, base_commit, scratch_dir) as checkout,
            ThreadPoolExecutor(2) as pool,
        ):
            base_job = pool.submit(synthesize, checkout, cli, scratch_dir / "base.out", context, base_revision)
            head_job = pool.submit(synthesize, project_dir, cli, scratch_dir / "head.out", context, "working tree")
            base = _selected(read_stacks(base_job.result()), environments)
            head = _selected(read_stacks(head_job.result()), environments)
    pairs = pair_stacks(_templates(base), base, head)
    return review(
        f"{base_revision} ({base_commit[:12]})", "working tree", engine.compare(pairs), allow, image_changes(pairs)
    )


def review_against_deployed(
    project_dir: Path,
    allow: Iterable[str],
    context: Sequence[str] = (),
    environments: Collection[str] = (),
) -> Review:
    """Synthesize the working tree and compare it with what CloudFormation has deployed."""
    with tempfile.TemporaryDirectory(prefix="pr-diff-") as scratch:
        out_dir = synthesize(
            project_dir, cdk_executable(project_dir), Path(scratch) / "head.out", context, "working tree"
        )
        head = _selected(read_stacks(out_dir), environments)
    deployed = deployed_templates(stack.ref for stack in head.values())
    pairs = pair_stacks(deployed, {}, head)
    return review("deployed stacks", "working tree", engine.compare(pairs), allow, image_changes(pairs))
