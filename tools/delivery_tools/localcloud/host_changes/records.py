"""The ownership records of every change the local cloud makes to the machine.

Each change (a hosts line, docker's trust of the CA, an image it made, a process it started) is written
down with its owner before or as it is made; `local-cloud down` undoes exactly the changes its owner
recorded, and nothing that was there before or belongs to someone else. The owner is
`$MODEL_DELIVERY_LOCAL_CLOUD_OWNER` (a test sets its own) or `local-cloud`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import NamedTuple

OWNER_VARIABLE = "MODEL_DELIVERY_LOCAL_CLOUD_OWNER"
DEFAULT_OWNER = "local-cloud"


def current_owner() -> str:
    return os.environ.get(OWNER_VARIABLE) or DEFAULT_OWNER


class Record(NamedTuple):
    """`kind` of change (hosts-line, docker-trust, image, process) to `target`, made by `owner`."""

    kind: str
    target: str
    owner: str


def _path(directory: Path, kind: str, target: str) -> Path:
    return directory / f"{kind}-{hashlib.sha256(target.encode()).hexdigest()[:16]}.json"


def record(directory: Path, kind: str, target: str, owner: str | None = None) -> Record:
    """Write down that `owner` (default: the current one) made this change; an existing record keeps its owner."""
    path = _path(directory, kind, target)
    existing = read(path)
    if existing is not None:
        return existing
    made = Record(kind, target, owner or current_owner())
    path.write_text(json.dumps(made._asdict()) + "\n")
    return made


def read(path: Path) -> Record | None:
    try:
        return Record(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def owned_by_anyone(directory: Path) -> list[Record]:
    """Every recorded change, sorted by kind and target."""
    found = [read(path) for path in sorted(directory.glob("*.json"))] if directory.is_dir() else []
    return sorted((item for item in found if item is not None), key=lambda item: (item.kind, item.target))


def owned(directory: Path, owner: str, kind: str | None = None) -> list[Record]:
    """The changes `owner` recorded (of `kind`, if given)."""
    return [item for item in owned_by_anyone(directory) if item.owner == owner and kind in (None, item.kind)]


def is_recorded(directory: Path, kind: str, target: str) -> bool:
    return _path(directory, kind, target).is_file()


def forget(directory: Path, change: Record) -> None:
    """Drop the record once its change is undone."""
    _path(directory, change.kind, change.target).unlink(missing_ok=True)
