"""Read the stacks of a synthesized cloud assembly (cdk.out), stages included."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Template = dict[str, Any]

_STACK_ARTIFACT = "aws:cloudformation:stack"
_NESTED_ASSEMBLY = "cdk:cloud-assembly"


@dataclass(frozen=True)
class StackRef:
    """Where a stack lives: `display_name` is the construct path the CLI shows (`dev/Repository`)."""

    display_name: str
    stack_name: str
    account: str
    region: str

    @property
    def environment(self) -> str:
        """The stage (our environment) holding the stack; empty for a stack outside any stage."""
        head, _, _ = self.display_name.rpartition("/")
        return head


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _split_environment(environment: str) -> tuple[str, str]:
    """`aws://123456789012/us-east-1` → (account, region); unresolved parts stay as the CLI wrote them."""
    account, _, region = environment.removeprefix("aws://").partition("/")
    return account, region


@dataclass(frozen=True)
class SynthesizedStack:
    """A stack and its template."""

    ref: StackRef
    template: Template


def read_stacks(assembly_dir: Path) -> dict[str, SynthesizedStack]:
    """Every stack of the assembly in `assembly_dir` by display name, nested stage assemblies included."""
    manifest_path = assembly_dir / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{assembly_dir} is not a cloud assembly: it has no manifest.json")
    stacks: dict[str, SynthesizedStack] = {}
    for artifact_id, artifact in _read_json(manifest_path).get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact["type"] == _NESTED_ASSEMBLY:
            stacks.update(read_stacks(assembly_dir / properties["directoryName"]))
        elif artifact["type"] == _STACK_ARTIFACT:
            account, region = _split_environment(artifact.get("environment", ""))
            ref = StackRef(
                display_name=artifact.get("displayName", artifact_id),
                stack_name=properties.get("stackName", artifact_id),
                account=account,
                region=region,
            )
            stacks[ref.display_name] = SynthesizedStack(ref, _read_json(assembly_dir / properties["templateFile"]))
    return stacks
