"""/etc/hosts lines that send the fake ECR host names to loopback (added idempotently, removed on down)."""

from __future__ import annotations

from pathlib import Path

HOSTS_FILE = Path("/etc/hosts")
MARKER = "# local-cloud"


def our_line(name: str) -> str:
    return f"127.0.0.1 {name} {MARKER}"


def has_host(name: str, hosts_file: Path = HOSTS_FILE) -> bool:
    """True when the line add_host writes for `name` is there."""
    return our_line(name) in hosts_file.read_text().splitlines()


def add_host(name: str, hosts_file: Path = HOSTS_FILE) -> bool:
    """Map `name` to 127.0.0.1; True if the line was added now, False if it was already there.

    The file is rewritten in place (not replaced), since in containers /etc/hosts is a bind mount.
    """
    if has_host(name, hosts_file):
        return False
    with hosts_file.open("a") as hosts:
        hosts.write(our_line(name) + "\n")
    return True


def remove_host(name: str, hosts_file: Path = HOSTS_FILE) -> bool:
    """Remove the line add_host wrote for `name`, and no other; True if it was there."""
    lines = hosts_file.read_text().splitlines()
    if our_line(name) not in lines:
        return False
    with hosts_file.open("r+") as hosts:
        hosts.seek(0)
        hosts.write("".join(line + "\n" for line in lines if line != our_line(name)))
        hosts.truncate()
    return True
