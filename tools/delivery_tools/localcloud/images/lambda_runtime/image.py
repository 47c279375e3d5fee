"""Build the Lambda runtime image (the files next to this one) when its content changed.

One image serves both kinds of function the app deploys: `provided.al2023` (cdk-ecr-deployment's Go copy
function, run through the Runtime API shim) and `nodejs*` (the CDK's AwsCustomResource handler, run by
`node_runtime.js` on the project's pinned Node.js with the AWS SDK modules the Lambda runtime provides,
pinned in `node/package-lock.json`).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from delivery_tools.common.commands import run
from delivery_tools.common.docker import image_exists

LAMBDA_IMAGE = "local/lambda-runtime:provided.al2023"
CONTENT_LABEL = "local-cloud.content-sha256"
CONTEXT_DIRECTORY = Path(__file__).resolve().parent
_CONTEXT_FILES = ("Dockerfile", "runtime_api.py", "node_runtime.js", "node/package.json", "node/package-lock.json")


def host_entries(addresses: Mapping[str, str]) -> tuple[str, ...]:
    """`ADDRESS=HOST` for each registry host, as the runtime adds them to the container's /etc/hosts."""
    return tuple(f"{address}={host}" for host, address in sorted(addresses.items()))


def lambda_image_content(base_image: str, ca_certificate: Path, hosts: tuple[str, ...], node: Path) -> str:
    """A hash of everything baked into the Lambda image: when it changes, the image is rebuilt."""
    digest = hashlib.sha256()
    for name in _CONTEXT_FILES:
        digest.update((CONTEXT_DIRECTORY / name).read_bytes())
    digest.update(node.read_bytes())
    digest.update(ca_certificate.read_bytes())
    digest.update(" ".join((base_image, *hosts)).encode())
    return digest.hexdigest()


def _image_label(reference: str, label: str) -> str | None:
    if not image_exists(reference):
        return None
    inspected = run(["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', reference])
    return inspected.stdout.strip()


def ensure_lambda_image(base_image: str, ca_certificate: Path, addresses: Mapping[str, str], node: Path) -> bool:
    """Build the Lambda runtime image, knowing every registry host at its address, unless it is up to date;
    True if built now. The name stays the same (moto is started with it); a content label tells if current.
    `node` is the Node.js binary the image runs `nodejs*` functions with.
    """
    hosts = host_entries(addresses)
    content = lambda_image_content(base_image, ca_certificate, hosts, node)
    if _image_label(LAMBDA_IMAGE, CONTENT_LABEL) == content:
        return False
    with tempfile.TemporaryDirectory(prefix="lambda-runtime-") as context:
        for name in _CONTEXT_FILES:
            (Path(context) / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CONTEXT_DIRECTORY / name, Path(context) / name)
        shutil.copyfile(ca_certificate, Path(context) / "local-cloud-ca.crt")
        shutil.copy(node, Path(context) / "node" / "node")  # with its mode: the function runs it
        run(["npm", "ci", "--omit=dev", "--no-fund", "--no-audit", "--loglevel=error"], cwd=Path(context) / "node")
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
