"""The helper images the local cloud needs in docker: `busybox` for moto, and the Lambda runtime image."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from tooling.localcloud.base_image import image_exists
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.process import run

BUSYBOX_IMAGE = "busybox:latest"
STATIC_BUSYBOX = Path("/bin/busybox")
LAMBDA_IMAGE = "local/lambda-runtime:provided.al2023"
CONTENT_LABEL = "local-cloud.content-sha256"
LAMBDA_RUNTIME_DIRECTORY = Path(__file__).resolve().parent / "lambda_runtime"
_LAMBDA_CONTEXT_FILES = ("Dockerfile", "runtime_api.py")


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
        raise LocalCloudError(f"{STATIC_BUSYBOX} is missing: install the Debian package busybox-static")
    imported = subprocess.run(
        ["docker", "import", "--change", "ENV PATH=/bin", "-", BUSYBOX_IMAGE],
        input=busybox_tar(STATIC_BUSYBOX),
        capture_output=True,
        check=False,
    )
    if imported.returncode != 0:
        raise LocalCloudError(f"docker import of {BUSYBOX_IMAGE} failed: {imported.stderr.decode().strip()}")
    return True


def lambda_image_content(base_image: str, ca_certificate: Path, hosts: tuple[str, ...]) -> str:
    """A hash of everything baked into the Lambda image: when it changes, the image is rebuilt."""
    digest = hashlib.sha256()
    for name in _LAMBDA_CONTEXT_FILES:
        digest.update((LAMBDA_RUNTIME_DIRECTORY / name).read_bytes())
    digest.update(ca_certificate.read_bytes())
    digest.update(" ".join((base_image, *hosts)).encode())
    return digest.hexdigest()


def _image_label(reference: str, label: str) -> str | None:
    if not image_exists(reference):
        return None
    inspected = run(["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', reference])
    return inspected.stdout.strip()


def ensure_lambda_image(base_image: str, ca_certificate: Path, hosts: tuple[str, ...]) -> bool:
    """Build the Lambda runtime image unless it is up to date; True if built now.

    The name stays the same (moto is started with it); the content label tells whether it is current.
    """
    content = lambda_image_content(base_image, ca_certificate, hosts)
    if _image_label(LAMBDA_IMAGE, CONTENT_LABEL) == content:
        return False
    with tempfile.TemporaryDirectory(prefix="lambda-runtime-") as context:
        for name in _LAMBDA_CONTEXT_FILES:
            shutil.copyfile(LAMBDA_RUNTIME_DIRECTORY / name, Path(context) / name)
        shutil.copyfile(ca_certificate, Path(context) / "local-cloud-ca.crt")
        run(
            [
                "docker", "build", "--quiet",
                "--build-arg", f"BASE_IMAGE={base_image}",
                "--build-arg", f"LOCAL_CLOUD_HOSTS={' '.join(hosts)}",
                "--label", f"{CONTENT_LABEL}={content}",
                "--tag", LAMBDA_IMAGE,
                context,
            ],
            timeout=600,
        )  # fmt: skip
    return True
