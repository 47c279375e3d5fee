"""Compare templates with the CDK's own diff engine (`@aws-cdk/cloudformation-diff`, via a Node script)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from delivery_tools.common.assembly import StackRef, Template
from delivery_tools.common.errors import ToolError
from delivery_tools.prreview.stateful import stateful_resources

_SCRIPT = Path(__file__).with_name("diff_templates.js")


class DiffEngineError(ToolError):
    """The Node diff engine could not run or answered something unreadable."""


@dataclass(frozen=True)
class ResourceChange:
    """One changed resource; `impact` is the engine's ResourceImpact (WILL_REPLACE, WILL_DESTROY, ...)."""

    logical_id: str
    resource_type: str
    impact: str
    is_addition: bool
    is_removal: bool
    construct_path: str | None


@dataclass(frozen=True)
class StackPair:
    """The two sides of one stack; None where the stack does not exist on that side."""

    ref: StackRef
    old: Template | None
    new: Template | None


@dataclass(frozen=True)
class StackDiff:
    """The engine's verdict on one stack: its change count, formatted text and changed resources."""

    ref: StackRef
    change_count: int
    text: str
    resources: tuple[ResourceChange, ...]
    # Logical ID -> reason, for the resources either side marks stateful.
    stateful: dict[str, str]
    added: bool = False
    removed: bool = False


def compare(pairs: Sequence[StackPair]) -> list[StackDiff]:
    """Diff every pair in one Node process (start-up dominates a single diff)."""
    node = shutil.which("node")
    if node is None:
        raise DiffEngineError("`node` is not on PATH: the CDK diff engine needs Node.js (run `make setup`)")
    request = [{"key": index, "old": pair.old, "new": pair.new} for index, pair in enumerate(pairs)]
    result = subprocess.run(
        [node, str(_SCRIPT)],
        input=json.dumps(request),
        env={**os.environ, "FORCE_COLOR": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DiffEngineError(f"the CDK diff engine failed (exit {result.returncode}): {result.stderr.strip()}")
    answers = json.loads(result.stdout)
    return [
        StackDiff(
            ref=pairs[answer["key"]].ref,
            change_count=answer["changeCount"],
            text=answer["text"],
            resources=tuple(
                ResourceChange(
                    logical_id=resource["logicalId"],
                    resource_type=resource["type"],
                    impact=resource["impact"],
                    is_addition=resource["isAddition"],
                    is_removal=resource["isRemoval"],
                    construct_path=resource["path"],
                )
                for resource in answer["resources"]
            ),
            stateful={**stateful_resources(pairs[answer["key"]].new), **stateful_resources(pairs[answer["key"]].old)},
            added=pairs[answer["key"]].old is None,
            removed=pairs[answer["key"]].new is None,
        )
        for answer in answers
    ]
