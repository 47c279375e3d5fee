"""A Python base image made from Debian packages, for machines where Docker Hub is unreachable.

`debootstrap --variant=minbase` needs only the Debian mirror; `docker import` turns the tree into an image.
The host's CA bundle replaces the image's so that `pip install` inside builds trusts the same TLS
authorities (including an intercepting proxy) as the host does.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from delivery_tools.common.base_images import LOCAL_PYTHON_BASE_IMAGE, default_base_image
from delivery_tools.common.commands import run
from delivery_tools.common.docker import image_exists
from delivery_tools.common.errors import ToolError

DEBIAN_SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
_PULL_TIMEOUT_SECONDS = 300
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Directories debootstrap fills that an image does not need (package downloads and indexes, docs).
_PRUNED = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info")
_IMPORT_CHANGES = (
    f"ENV PATH={IMAGE_PATH}",
    "ENV LANG=C.UTF-8",
    "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
    'CMD ["python3"]',
)


def _prepare_root(root: Path) -> None:
    """Slim the tree and make it behave like the official image for `pip install` and TLS."""
    for relative in _PRUNED:
        target = root / relative
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir(parents=True)
    # Debian marks its interpreter "externally managed"; the official image does not, and builds that
    # `pip install` outside a venv must work the same on both.
    for marker in (root / "usr/lib").glob("python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    shutil.copyfile(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")


def _import(root: Path, reference: str) -> None:
    """`tar` the tree straight into `docker import`, with PATH and friends set (an imported tree has none)."""
    changes = [argument for change in _IMPORT_CHANGES for argument in ("--change", change)]
    with subprocess.Popen(["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE) as tar:
        imported = subprocess.run(
            ["docker", "import", *changes, "-", reference],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
    if tar.returncode != 0 or imported.returncode != 0:
        raise ToolError(f"docker import of {reference} failed: {imported.stderr.strip()}")


def build_python_base_image(reference: str = LOCAL_PYTHON_BASE_IMAGE) -> None:
    """Make `reference` from scratch with debootstrap (about a minute with a nearby mirror)."""
    if not HOST_CA_BUNDLE.is_file():
        raise ToolError(f"the host CA bundle {HOST_CA_BUNDLE} is missing (install ca-certificates)")
    with tempfile.TemporaryDirectory(prefix="python-base-", dir="/var/tmp") as work:
        root = Path(work) / "rootfs"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                DEBIAN_SUITE,
                str(root),
            ],
            timeout=900,
        )
        _prepare_root(root)
        _import(root, reference)


def ensure_python_base_image(reference: str = LOCAL_PYTHON_BASE_IMAGE) -> bool:
    """Make `reference` unless docker already has it; True when it was made now."""
    if image_exists(reference):
        return False
    build_python_base_image(reference)
    return True


def official_image_available(reference: str) -> bool:
    """True if docker has `reference` or a registry serves it now (no Docker Hub: fails in a fraction of a second)."""
    if image_exists(reference):
        return True
    try:
        pulled = subprocess.run(
            ["docker", "pull", "--quiet", reference], capture_output=True, timeout=_PULL_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return pulled.returncode == 0


def choose_base_image(project_root: Path) -> tuple[str, str, str]:
    """(image, how it was obtained, the Dockerfile's default): that default whenever it can be used, else the
    local one; how is "official", "made" (from Debian packages, now) or "reused" (made before)."""
    official = default_base_image(project_root)
    if official_image_available(official):
        return official, "official", official
    made = ensure_python_base_image()
    return LOCAL_PYTHON_BASE_IMAGE, "made" if made else "reused", official
