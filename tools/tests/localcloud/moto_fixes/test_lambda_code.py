"""The local cloud keeps a function's unpacked code between invocations, in volumes it can find and remove."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from delivery_tools.localcloud.moto_fixes import lambda_code


def test_every_volume_moto_creates_carries_the_label_besides_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[tuple[str | None, dict[str, Any]]] = []
    monkeypatch.setattr(lambda_code, "_create", lambda _, name=None, **kwargs: created.append((name, kwargs)))
    lambda_code._labelled_create(None, "digest")
    lambda_code._labelled_create(None, "layers", labels={"other": "x"}, driver="local")
    assert created == [
        ("digest", {"labels": {lambda_code.LABEL: "1"}}),
        ("layers", {"labels": {"other": "x", lambda_code.LABEL: "1"}, "driver": "local"}),
    ]


class CodeVolumeContext:
    """The parts of moto's code-volume context the release touches: its class's lock and the volume's count."""

    _lock = threading.Lock()

    def __init__(self, reference: Any) -> None:
        self._vol_ref = reference


def test_the_end_of_an_invocation_releases_the_code_volume_without_removing_it() -> None:
    removed: list[str] = []
    reference = SimpleNamespace(refcount=1, volume=SimpleNamespace(remove=lambda: removed.append("removed")))
    lambda_code._release_keeping_volume(CodeVolumeContext(reference), None, None, None)  # type: ignore[arg-type]
    assert reference.refcount == 0 and removed == []
