"""/etc/hosts lines that send the fake ECR host names to their loopback addresses (idempotent, undone on down)."""

from __future__ import annotations

from pathlib import Path

HOSTS_FILE = Path("/etc/hosts")
MARKER = "# local-cloud"


def our_line(name: str, address: str) -> str:
    return f"{address} {name} {MARKER}"


def _is_ours_for(line: str, name: str) -> bool:
    fields = line.split()
    return len(fields) == 4 and fields[1] == name and " ".join(fields[2:]) == MARKER


def address_of(name: str, hosts_file: Path = HOSTS_FILE) -> str | None:
    """The address our line maps `name` to, or None when there is no line of ours for it."""
    found = [line.split()[0] for line in hosts_file.read_text().splitlines() if _is_ours_for(line, name)]
    return found[0] if found else None


def has_host(name: str, address: str, hosts_file: Path = HOSTS_FILE) -> bool:
    """True when the line add_host writes for `name` at `address` is there."""
    return our_line(name, address) in hosts_file.read_text().splitlines()


def _rewrite(hosts_file: Path, lines: list[str]) -> None:
    """Rewrite in place (not replaced), since in containers /etc/hosts is a bind mount."""
    with hosts_file.open("r+") as hosts:
        hosts.seek(0)
        hosts.write("".join(line + "\n" for line in lines))
        hosts.truncate()


def add_host(name: str, address: str, hosts_file: Path = HOSTS_FILE) -> bool:
    """Map `name` to `address`; True if the file changed, False if the line was already there.

    A line of ours for `name` with another address (an earlier address plan) is replaced, never kept beside.
    """
    if has_host(name, address, hosts_file):
        return False
    lines = [line for line in hosts_file.read_text().splitlines() if not _is_ours_for(line, name)]
    _rewrite(hosts_file, [*lines, our_line(name, address)])
    return True


def remove_host(name: str, hosts_file: Path = HOSTS_FILE) -> bool:
    """Remove the line add_host wrote for `name` (whatever its address), and no other; True if it was there."""
    lines = hosts_file.read_text().splitlines()
    kept = [line for line in lines if not _is_ours_for(line, name)]
    if kept == lines:
        return False
    _rewrite(hosts_file, kept)
    return True
