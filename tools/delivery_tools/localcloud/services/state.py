"""Where the local cloud keeps what it makes: one directory for the whole machine.

Pid files, logs, the local CA, the registry's storage, the records of every machine change and the
start-up lock live there, so every checkout deploys into the same local cloud and `local-cloud down`
knows exactly what to stop and undo. `MODEL_DELIVERY_LOCAL_CLOUD_HOME` moves it (tests use that).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_VARIABLE = "MODEL_DELIVERY_LOCAL_CLOUD_HOME"
DEFAULT_HOME = Path("/var/lib/model-delivery-local-cloud")
# A checkout's own cloud assembly for local deploys, so a deploy never races a `cdk synth` of the tree.
CHECKOUT_STATE = ".local-cloud"


@dataclass(frozen=True)
class LocalCloudState:
    """Paths inside the machine-wide state directory (`LocalCloudState.at(directory)` fills them in)."""

    directory: Path
    pids: Path
    logs: Path
    pki: Path
    registry_storage: Path
    records: Path  # one file per change made to the machine, naming its owner (see host_changes.records)
    lock_file: Path

    @classmethod
    def at(cls, directory: Path) -> LocalCloudState:
        names = ("pids", "logs", "pki", "registry", "records", "lock")
        return cls(directory, *(directory / name for name in names))

    def pid_file(self, name: str) -> Path:
        return self.pids / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def prepare(self) -> None:
        """Create the directories, readable by their owner only (the CA key lives here)."""
        for directory in (self.directory, self.pids, self.logs, self.pki, self.registry_storage, self.records):
            directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)


def machine_state() -> LocalCloudState:
    """The machine's local cloud state (`$MODEL_DELIVERY_LOCAL_CLOUD_HOME` or /var/lib/...)."""
    return LocalCloudState.at(Path(os.environ.get(HOME_VARIABLE) or DEFAULT_HOME))


def checkout_cdk_out(project_root: Path) -> Path:
    """The cloud assembly a local deploy of the checkout at `project_root` synthesizes into."""
    return project_root / CHECKOUT_STATE / "cdk.out"
