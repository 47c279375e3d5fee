"""Where the local cloud keeps what it makes: `.local-cloud/` in the project (gitignored).

Pid files, logs, the local CA, the registry's storage and the local cloud assembly live there, so
`local down` knows exactly what to stop and remove, and nothing leaks into the tracked tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tooling.localcloud.errors import LocalCloudError

STATE_DIR_NAME = ".local-cloud"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` (default: the working directory) holding cdk.json."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "cdk.json").is_file():
            return candidate
    raise LocalCloudError(f"no cdk.json in {here} or above: run this from the project directory")


@dataclass(frozen=True)
class LocalCloudState:
    """Paths inside the state directory; `root` is the project (the CDK app's directory)."""

    root: Path

    @property
    def directory(self) -> Path:
        return self.root / STATE_DIR_NAME

    @property
    def pids(self) -> Path:
        return self.directory / "pids"

    @property
    def logs(self) -> Path:
        return self.directory / "logs"

    @property
    def pki(self) -> Path:
        return self.directory / "pki"

    @property
    def registry_storage(self) -> Path:
        return self.directory / "registry"

    @property
    def cdk_out(self) -> Path:
        """A cloud assembly of its own, so a local deploy never races a `cdk synth` of the same tree."""
        return self.directory / "cdk.out"

    def pid_file(self, name: str) -> Path:
        return self.pids / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def prepare(self) -> None:
        """Create the directories, readable by root only (the CA key lives here)."""
        for directory in (self.directory, self.pids, self.logs, self.pki, self.registry_storage):
            directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)


def current_state() -> LocalCloudState:
    """The state of the project the command runs in."""
    return LocalCloudState(find_project_root())
