"""The `busybox` image moto runs to fill a Lambda function's code volume, imported from Debian's static busybox."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from delivery_tools.common.docker import image_exists
from delivery_tools.common.errors import ToolError

BUSYBOX_IMAGE = "busybox:latest"
STATIC_BUSYBOX = Path("/bin/busybox")


def busybox_tar(binary: Path) -> bytes:
    """A root file system with the static busybox and a `sleep` applet link (what moto runs in it).

    The applets are symlinks *to* the binary; they must never replace it.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(binary, arcname="bin/busybox")
        for applet in ("sleep", "sh"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            archive.addfile(link)
    return buffer.getvalue()


def ensure_busybox() -> bool:
    """Import a `busybox` image from Debian's busybox-static unless one exists; True if made now."""
    if image_exists(BUSYBOX_IMAGE):
        return False
    if not STATIC_BUSYBOX.is_file():
        raise ToolError(f"{STATIC_BUSYBOX} is missing: install the Debian package busybox-static")
    imported = subprocess.run(
        ["docker", "import", "--change", "ENV PATH=/bin", "-", BUSYBOX_IMAGE],
        input=busybox_tar(STATIC_BUSYBOX),
        capture_output=True,
        check=False,
    )
    if imported.returncode != 0:
        raise ToolError(f"docker import of {BUSYBOX_IMAGE} failed: {imported.stderr.decode().strip()}")
    return True
