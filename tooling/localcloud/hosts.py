"""The /etc/hosts line that sends the fake ECR host name to loopback (added idempotently, removed on down)."""

from __future__ import annotations

from pathlib import Path

HOSTS_FILE = Path("/etc/hosts")
MARKER = "# local-cloud"


def _our_line(name: str) -> str:
    return f"127.0.0.1 {name} {MARKER}"


def add_host(name: str, hosts_file: Path = HOSTS_FILE) -> bool:
    """Map `name` to 127.0.0.1; True if the line was added now, False if it was already there.

    The file is rewritten in place (not replaced), since in containers /etc/hosts is a bind mount.
    """
    lines = hosts_file.read_text().splitlines()
    if _our_line(name) in lines:
        return False
    with hosts_file.open("a") as hosts:
        hosts.write(_our_line(name) + "\n")
    return True


def remove_hosts(hosts_file: Path = HOSTS_FILE) -> list[str]:
    """Remove every line this module added; return the host names they mapped."""
    lines = hosts_file.read_text().splitlines()
    ours = [line for line in lines if line.endswith(MARKER)]
    if ours:
        hosts_file.write_text("".join(line + "\n" for line in lines if not line.endswith(MARKER)))
    return [line.split()[1] for line in ours]
