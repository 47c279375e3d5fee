"""Fix to moto's Lambda: a function's code is unpacked once, not at every invocation.

For every invocation moto creates a docker volume named after the code's digest, starts a busybox container
to unpack the code into it, and removes the volume when the invocation ends: about 1.3 s per call here, paid
by every custom resource of every deploy. AWS Lambda unpacks the code once per execution environment and
reuses a warm one. Here the volume is kept while moto runs and reused by the next invocation of the same
code (the name is the code's sha256, so a new version of the code gets a volume of its own).

The volumes moto creates carry `LABEL` (in moto's process only Lambda creates volumes), so that the local
cloud removes them before a new moto starts (a volume that a killed moto left half filled is never reused)
and when it takes moto down.
"""

from __future__ import annotations

from typing import Any

from docker.models.volumes import VolumeCollection
from moto.awslambda.models import _DockerDataVolumeContext

LABEL = "model-delivery-local-cloud.lambda-code"
_create = VolumeCollection.create


def _labelled_create(self: VolumeCollection, name: str | None = None, **kwargs: Any) -> Any:
    return _create(self, name, **{**kwargs, "labels": {**(kwargs.get("labels") or {}), LABEL: "1"}})


def _release_keeping_volume(self: _DockerDataVolumeContext, *_: object) -> None:
    """moto's release of the code volume without its removal: the next invocation finds it by name."""
    with type(self)._lock:
        self._vol_ref.refcount -= 1  # type: ignore[union-attr]


def install() -> None:
    """Patch moto's code volumes and docker's volume creation in this process (idempotent)."""
    VolumeCollection.create = _labelled_create
    _DockerDataVolumeContext.__exit__ = _release_keeping_volume  # type: ignore[method-assign]
