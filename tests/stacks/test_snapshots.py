"""Whole-template snapshots per environment; only asset hashes (they change with any file) are masked."""

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from stacks.synthesis import SynthesizedApp

STACK_KINDS = ("Repository", "ModelImage")

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def mask_asset_hashes(template: dict[str, Any], image_hashes: list[str]) -> Any:
    text = ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    for image_hash in image_hashes:  # the deploy tag carries the first 12 characters of the image hash
        text = text.replace(f"-{image_hash[:12]}", "-<asset-hash-prefix>")
    return json.loads(text)


def test_masking_leaves_everything_else_alone() -> None:
    template = {"a": "x" * 3 + "0" * 64, "tag": "1.0.0-0123456789ab", "name": "model-serving-abc"}
    assert mask_asset_hashes(template, ["0123456789ab" + "f" * 52]) == {
        "a": "xxx<asset-hash>",
        "tag": "1.0.0-<asset-hash-prefix>",
        "name": "model-serving-abc",
    }


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_template_snapshot(
    synthesized: SynthesizedApp, env_name: str, kind: str, snapshot_json: SnapshotAssertion
) -> None:
    stack = synthesized.stack(env_name, kind)
    # A promoted stage carries the tag of the build in another stage: mask the image hashes of the whole app.
    image_hashes = [h for other in synthesized.stacks.values() for h in other.assets.get("dockerImages", {})]
    assert mask_asset_hashes(stack.template, image_hashes) == snapshot_json
