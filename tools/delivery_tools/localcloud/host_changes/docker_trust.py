"""Docker's trust of the local CA for the registry host names (`/etc/docker/certs.d/<host>/ca.crt`)."""

from __future__ import annotations

import shutil
from pathlib import Path

CERTS_DIRECTORY = Path("/etc/docker/certs.d")


def trusts(host: str, ca_certificate: Path, directory: Path = CERTS_DIRECTORY) -> bool:
    """True when docker already trusts `ca_certificate` for `host`."""
    target = directory / host / "ca.crt"
    return target.is_file() and target.read_bytes() == ca_certificate.read_bytes()


def trust_registry(host: str, ca_certificate: Path, directory: Path = CERTS_DIRECTORY) -> bool:
    """Make docker trust `ca_certificate` for the registry `host`; True if this changed anything."""
    if trusts(host, ca_certificate, directory):
        return False
    target = directory / host / "ca.crt"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ca_certificate, target)
    return True


def untrust_registry(host: str, directory: Path = CERTS_DIRECTORY) -> bool:
    """Undo trust_registry; True if there was something to remove."""
    target = directory / host
    if not target.exists():
        return False
    shutil.rmtree(target)
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()  # made by trust_registry; docker does not need it
    return True
