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

from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.process import run, succeeds

PYTHON_BASE_IMAGE = "local/python-base:bookworm"
DEBIAN_SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
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


def image_exists(reference: str) -> bool:
    """True when the local docker engine has an image called `reference`."""
    return succeeds(["docker", "image", "inspect", reference])


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
        raise LocalCloudError(f"docker import of {reference} failed: {imported.stderr.strip()}")


def build_python_base_image(reference: str = PYTHON_BASE_IMAGE) -> None:
    """Make `reference` from scratch with debootstrap (about a minute with a nearby mirror)."""
    if not HOST_CA_BUNDLE.is_file():
        raise LocalCloudError(f"the host CA bundle {HOST_CA_BUNDLE} is missing (install ca-certificates)")
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


def ensure_python_base_image(reference: str = PYTHON_BASE_IMAGE) -> bool:
    """Make `reference` unless docker already has it; True when it was made now."""
    if image_exists(reference):
        return False
    build_python_base_image(reference)
    return True
