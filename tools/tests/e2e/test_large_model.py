"""End to end with a real model size: 1 GiB of ONNX external-data weights, built, copied and promoted one hop.

The model is generated into the test's checkout (never into the tracked tree), the image is built by the
CDK's asset publishing, copied into `local` by the real copy Lambda, promoted to the next account by
digest, then pulled from that account's registry and asked for a prediction. A server-code change is then
deployed, and the registry's own counters show it moved kilobytes. The images it built or pulled,
the generated model and the staged build context are removed again.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.project import MODEL_METADATA
from delivery_tools.common.docker import large_images_removed
from delivery_tools.common.project import generate_large_model
from delivery_tools.common.smoke import Sample, smoke_test
from delivery_tools.localcloud.services.state import checkout_cdk_out

pytestmark = pytest.mark.e2e

WEIGHTS_GIB = 1.0
# Images at least this large that appeared during the test are the test's (the model image and its stages).
OWN_IMAGE_BYTES = 1 << 30


@pytest.fixture
def cloud(machine: Any, tmp_path: Path) -> Iterator[Any]:
    """A checkout whose gigabyte files (the model, the build context CDK staged, the images built and pulled)
    go when the test ends."""
    with large_images_removed(OWN_IMAGE_BYTES):
        checkout = machine.checkout(tmp_path)
        yield checkout
        shutil.rmtree((checkout.project / MODEL_METADATA).parent, ignore_errors=True)
        shutil.rmtree(checkout_cdk_out(checkout.project), ignore_errors=True)


def last_json(output: str) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return summary


def received_bytes(traffic: dict[str, dict[str, int]]) -> int:
    """What a registry host received in all, over every repository (the asset push and the copy)."""
    return sum(counters.get("received", 0) for counters in traffic.values())


def test_a_gigabyte_model_is_built_copied_promoted_and_served(cloud: Any) -> None:
    started = time.monotonic()
    builder, promoted = cloud.settings.environments[:2]
    assert promoted.promote_from == builder.name and promoted.account != builder.account
    metadata = generate_large_model(cloud.project, WEIGHTS_GIB, seed=1)
    weights = (cloud.project / MODEL_METADATA).parent / "weights.bin"
    assert weights.stat().st_size >= 10**9, "at least 1 GB of weights"

    built = last_json(cloud.ok("deploy", builder.name).stdout)
    assert built["copied_in"] == [builder.name]
    assert built["prediction"] == metadata["smoke_test"]["label"], "the builder's image serves the large model"
    hop = last_json(cloud.ok("deploy", promoted.name).stdout)
    assert hop["copied_in"] == [promoted.name] and hop["tag"] == built["tag"]

    digest = str(built["image_digest"])
    tag = str(built["tag"])
    assert cloud.registry_of(builder).manifest_digest(builder.repository_name, tag) == digest
    assert cloud.registry_of(promoted).manifest_digest(promoted.repository_name, tag) == digest
    assert hop["digests"][promoted.name] == digest, "promoted by digest: the same bytes in both registries"

    # The promoted account's own registry serves the image, and the image serves the model.
    served = smoke_test(
        f"{promoted.registry_host}/{promoted.repository_name}@{digest}",
        sample=Sample.of_model(cloud.project / MODEL_METADATA),
    )
    assert served.label == metadata["smoke_test"]["label"]

    # A server-code change makes a new release whose push and copy move the code's layer, not the weights.
    code = cloud.project / "model_image" / "model_server" / "__init__.py"
    code.write_text(code.read_text() + "# a code-only change\n")
    registry = cloud.registry_of(builder)
    before = received_bytes(registry.traffic())
    changed = last_json(cloud.ok("deploy", builder.name).stdout)
    moved = received_bytes(registry.traffic()) - before
    assert changed["tag"] != tag and changed["copied_in"] == [builder.name]
    assert changed["prediction"] == metadata["smoke_test"]["label"]
    assert 0 < moved < weights.stat().st_size / 1000, f"{moved} B pushed and copied for a code change"
    print(f"\nlarge-model e2e: {time.monotonic() - started:.0f} s for {weights.stat().st_size} B of weights")
