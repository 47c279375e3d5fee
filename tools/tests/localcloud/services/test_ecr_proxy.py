"""The ECR proxy against real processes on loopback: Debian's docker-registry on a unix socket, moto's server
as the AWS API, the proxy with TLS on two loopback addresses (two accounts); every request is real HTTP.

Images are pushed the way docker and the copy Lambda push them (blobs, then the manifest by tag or digest),
so each of ECR's rules is seen as a registry client sees it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx2
import pytest

from delivery_tools.common.http import free_port
from delivery_tools.localcloud.host_changes.pki import ensure_certificates
from delivery_tools.localcloud.moto_fixes.ecr_images import REGISTRY_SOCKET_VARIABLE
from delivery_tools.localcloud.services.ecr_proxy import ProxyConfig, Registry
from delivery_tools.localcloud.services.ecr_rules import TRAFFIC_PATH
from delivery_tools.localcloud.services.registry import config as registry_config
from delivery_tools.localcloud.services.registry import socket_path as registry_socket
from delivery_tools.localcloud.services.state import LocalCloudState

REGION = "us-east-1"
ACCOUNT_A, ACCOUNT_B = "210987654321", "109876543210"
HOST_A, HOST_B = (f"{account}.dkr.ecr.{REGION}.amazonaws.com" for account in (ACCOUNT_A, ACCOUNT_B))
# Addresses of their own, so a running local cloud on 127.0.0.1 is never in the way.
ADDRESS_A, ADDRESS_B = "127.0.77.1", "127.0.77.2"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"

pytestmark = pytest.mark.skipif(shutil.which("docker-registry") is None, reason="needs Debian's docker-registry")


def _wait(ready: Any, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while not ready():
        assert process.poll() is None, f"{what} exited: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"{what} not ready: {log.read_text()[-2000:]}"
        time.sleep(0.1)


def _answers(call: Any) -> bool:
    try:
        call()
    except Exception:
        return False
    return True


class Cloud:
    """The three processes and clients to reach them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []
        self.moto_url = f"http://127.0.0.1:{free_port()}"
        self.port = free_port()
        (directory / "pki").mkdir()
        self.certificates = ensure_certificates(directory / "pki", (HOST_A, HOST_B))

    def start(
        self, name: str, command: list[str], env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.directory / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, cwd=self.directory, env={**os.environ, **(env or {})}
            )
        self.processes.append(process)
        return process, log

    def ecr(self, account: str) -> Any:
        client = boto3.client(
            "ecr", region_name=REGION, endpoint_url=self.moto_url, aws_access_key_id="x", aws_secret_access_key="y"
        )
        client.meta.events.register(
            "before-sign.ecr", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
        )
        return client

    def client(self, host: str) -> RegistryHttp:
        address = ADDRESS_A if host == HOST_A else ADDRESS_B
        return RegistryHttp(host, address, self.port, self.certificates.ca_certificate)


class RegistryHttp:
    """Registry API calls to one registry host, over TLS verified against the local CA."""

    def __init__(self, host: str, address: str, port: int, ca: Path) -> None:
        self.host = f"{host}:{port}"
        self._sni = host
        self._base = f"https://{address}:{port}"
        self._http = httpx2.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=60)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        headers = {"host": self.host, **kwargs.pop("headers", {})}
        return self._http.request(
            method, self._base + path, headers=headers, extensions={"sni_hostname": self._sni}, **kwargs
        )

    def upload_blob(self, repository: str, chunks: Iterator[bytes] | bytes, digest: str) -> httpx2.Response:
        started = self.request("POST", f"/v2/{repository}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = urlsplit(started.headers["location"])
        assert location.netloc == self.host and location.path.startswith(f"/v2/{repository}/blobs/uploads/")
        return self.request("PUT", f"{location.path}?{location.query}&digest={digest}", content=chunks)

    def push(self, repository: str, reference: str, image: bytes) -> httpx2.Response:
        """Push a one-layer image whose config is `image`; the answer to the manifest PUT."""
        layer = b"layer of " + image
        for blob in (image, layer):
            uploaded = self.upload_blob(repository, blob, _digest(blob))
            assert uploaded.status_code == 201, uploaded.text
        return self.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            content=manifest(image),
            headers={"content-type": MANIFEST_TYPE},
        )

    def tags(self, repository: str) -> list[str]:
        return sorted(self.request("GET", f"/v2/{repository}/tags/list").json().get("tags") or [])


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest(image: bytes) -> bytes:
    layer = b"layer of " + image
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(image),
                "digest": _digest(image),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": _digest(layer),
                }
            ],
        }
    ).encode()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    cloud = Cloud(tmp_path_factory.mktemp("ecr"))
    try:
        # The local cloud's own registry configuration: storage and unix socket inside its state directory.
        state = LocalCloudState.at(cloud.directory)
        socket_path = registry_socket(state)
        (cloud.directory / "registry.yml").write_text(json.dumps(registry_config(state)))
        registry, log = cloud.start("registry", ["docker-registry", "serve", str(cloud.directory / "registry.yml")])
        _wait(socket_path.exists, registry, "registry", log)

        # moto as the local cloud runs it: with its fixes, writing API-made tags into the registry.
        moto_port = str(urlsplit(cloud.moto_url).port)
        moto_command = [
            sys.executable,
            "-m",
            "delivery_tools.localcloud.moto_fixes.app",
            "-H",
            "127.0.0.1",
            "-p",
            moto_port,
        ]
        moto, log = cloud.start("moto", moto_command, {REGISTRY_SOCKET_VARIABLE: str(socket_path)})
        _wait(lambda: _answers(cloud.ecr(ACCOUNT_A).describe_repositories), moto, "moto", log)

        config = ProxyConfig(
            registries=(Registry(HOST_A, ACCOUNT_A, ADDRESS_A), Registry(HOST_B, ACCOUNT_B, ADDRESS_B)),
            port=cloud.port,
            certificate=cloud.certificates.server_certificate,
            key=cloud.certificates.server_key,
            upstream_socket=socket_path,
            endpoint_url=cloud.moto_url,
        )
        (cloud.directory / "proxy.json").write_text(config.to_json())
        command = [sys.executable, "-m", "delivery_tools.localcloud.services.ecr_proxy", "proxy.json"]
        proxy, log = cloud.start("proxy", command)
        _wait(lambda: _answers(lambda: cloud.client(HOST_A).request("GET", "/v2/")), proxy, "proxy", log)
        yield cloud
    finally:
        for process in reversed(cloud.processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _repository(
    cloud: Cloud, account: str, name: str, mutability: str, filters: list[dict[str, str]] | None = None
) -> str:
    extra = {"imageTagMutabilityExclusionFilters": filters} if filters else {}
    cloud.ecr(account).create_repository(repositoryName=name, imageTagMutability=mutability, **extra)
    return name


def _tag_invalid(tag: str, repository: str) -> dict[str, object]:
    return {
        "errors": [
            {
                "code": "TAG_INVALID",
                "message": f"The image tag '{tag}' already exists in the '{repository}' repository and cannot be "
                "overwritten because the repository is immutable.",
            }
        ]
    }


def test_base_endpoint_answers_like_a_registry(cloud: Cloud) -> None:
    base = cloud.client(HOST_A).request("GET", "/v2/")
    assert base.status_code == 200 and base.headers["docker-distribution-api-version"] == "registry/2.0"


def test_new_tag_allowed_identical_repush_refused(cloud: Cloud) -> None:
    repository = _repository(cloud, ACCOUNT_A, "identical", "IMMUTABLE")
    registry = cloud.client(HOST_A)
    first = registry.push(repository, "1.0", b'{"image": 1}')
    assert first.status_code == 201, first.text
    assert first.headers["docker-content-digest"] == _digest(manifest(b'{"image": 1}'))
    again = registry.push(repository, "1.0", b'{"image": 1}')
    assert again.status_code == 400
    assert again.json() == _tag_invalid("1.0", repository)
    assert registry.push(repository, "1.1", b'{"image": 1}').status_code == 201, "a new tag is always allowed"
    assert registry.tags(repository) == ["1.0", "1.1"]


def test_different_image_refused_and_tag_keeps_its_image(cloud: Cloud) -> None:
    repository = _repository(cloud, ACCOUNT_A, "different", "IMMUTABLE")
    registry = cloud.client(HOST_A)
    assert registry.push(repository, "v1", b'{"image": "a"}').status_code == 201
    other = registry.push(repository, "v1", b'{"image": "b"}')
    assert (other.status_code, other.json()) == (400, _tag_invalid("v1", repository))
    kept = registry.request("HEAD", f"/v2/{repository}/manifests/v1", headers={"accept": MANIFEST_TYPE})
    assert kept.headers["docker-content-digest"] == _digest(manifest(b'{"image": "a"}'))


def test_push_by_digest_always_allowed(cloud: Cloud) -> None:
    repository = _repository(cloud, ACCOUNT_A, "by-digest", "IMMUTABLE")
    registry = cloud.client(HOST_A)
    assert registry.push(repository, "v1", b'{"image": "d"}').status_code == 201
    for image in (b'{"image": "d"}', b'{"image": "e"}', b'{"image": "e"}'):
        pushed = registry.push(repository, _digest(manifest(image)), image)
        assert pushed.status_code == 201, pushed.text
    assert registry.tags(repository) == ["v1"]


def test_exclusion_filter_tags_overwritable_others_not(cloud: Cloud) -> None:
    filters = [{"filterType": "WILDCARD", "filter": "latest*"}]
    repository = _repository(cloud, ACCOUNT_A, "with-exclusion", "IMMUTABLE_WITH_EXCLUSION", filters)
    registry = cloud.client(HOST_A)
    for image in (b'{"image": "x"}', b'{"image": "y"}', b'{"image": "y"}'):
        assert registry.push(repository, "latest-dev", image).status_code == 201
    assert registry.push(repository, "2.0", b'{"image": "x"}').status_code == 201
    refused = registry.push(repository, "2.0", b'{"image": "y"}')
    assert (refused.status_code, refused.json()) == (400, _tag_invalid("2.0", repository))


def test_mutable_with_exclusion_fixes_only_matching_tags(cloud: Cloud) -> None:
    filters = [{"filterType": "WILDCARD", "filter": "release-*"}]
    repository = _repository(cloud, ACCOUNT_A, "mutable-exclusion", "MUTABLE_WITH_EXCLUSION", filters)
    registry = cloud.client(HOST_A)
    for _ in range(2):
        assert registry.push(repository, "dev", b'{"image": "m"}').status_code == 201
    assert registry.push(repository, "release-1", b'{"image": "m"}').status_code == 201
    assert registry.push(repository, "release-1", b'{"image": "m"}').status_code == 400


def test_settings_are_read_from_the_aws_api_at_request_time(cloud: Cloud) -> None:
    repository = _repository(cloud, ACCOUNT_A, "switched", "MUTABLE")
    registry = cloud.client(HOST_A)
    assert registry.push(repository, "t", b'{"image": "s"}').status_code == 201
    assert registry.push(repository, "t", b'{"image": "s2"}').status_code == 201, "MUTABLE overwrites"
    cloud.ecr(ACCOUNT_A).put_image_tag_mutability(repositoryName=repository, imageTagMutability="IMMUTABLE")
    assert registry.push(repository, "t", b'{"image": "s3"}').status_code == 400, "no restart, no stale copy"


def test_unknown_repository_is_ecrs_404(cloud: Cloud) -> None:
    registry = cloud.client(HOST_A)
    expected = {
        "errors": [
            {
                "code": "NAME_UNKNOWN",
                "message": f"The repository with name 'nowhere' does not exist in the registry with id '{ACCOUNT_A}'",
            }
        ]
    }
    for method, path in (
        ("POST", "/v2/nowhere/blobs/uploads/"),
        ("GET", "/v2/nowhere/manifests/1.0"),
        ("PUT", "/v2/nowhere/manifests/1.0"),
        ("GET", "/v2/nowhere/tags/list"),
    ):
        answer = registry.request(method, path, content=b"{}" if method == "PUT" else None)
        assert (answer.status_code, answer.json()) == (404, expected), f"{method} {path}"
    assert registry.request("HEAD", "/v2/nowhere/manifests/1.0").status_code == 404


def test_accounts_are_apart(cloud: Cloud) -> None:
    repository = _repository(cloud, ACCOUNT_A, "shared-name", "IMMUTABLE")
    a, b = cloud.client(HOST_A), cloud.client(HOST_B)
    assert a.push(repository, "1", b'{"image": "in a"}').status_code == 201
    missing = b.request("GET", f"/v2/{repository}/tags/list")
    assert missing.status_code == 404 and f"registry with id '{ACCOUNT_B}'" in missing.text
    _repository(cloud, ACCOUNT_B, repository, "IMMUTABLE")
    assert b.tags(repository) == []
    assert b.push(repository, "1", b'{"image": "in b"}').status_code == 201, "B's tag 1 is not A's"
    assert a.tags(repository) == b.tags(repository) == ["1"]
    digest_a = _digest(manifest(b'{"image": "in a"}'))
    assert b.request("GET", f"/v2/{repository}/manifests/{digest_a}").status_code == 404


def test_catalog_is_not_offered(cloud: Cloud) -> None:
    assert cloud.client(HOST_A).request("GET", "/v2/_catalog").status_code == 404


def _peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def test_a_200_mb_blob_streams_through_with_bounded_memory(cloud: Cloud) -> None:
    repository = _repository(cloud, ACCOUNT_A, "large", "IMMUTABLE")
    registry = cloud.client(HOST_A)
    proxy = cloud.processes[-1]
    chunk, count = bytes(range(256)) * 4096, 200  # 1 MiB x 200
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(chunk)
    digest = f"sha256:{expected.hexdigest()}"
    before = _peak_rss_kib(proxy.pid)
    started = time.monotonic()
    uploaded = registry.upload_blob(repository, iter([chunk] * count), digest)
    assert uploaded.status_code == 201, uploaded.text
    received = hashlib.sha256()
    size = 0
    with registry._http.stream(
        "GET",
        f"{registry._base}/v2/{repository}/blobs/{digest}",
        headers={"host": registry.host},
        extensions={"sni_hostname": HOST_A},
    ) as download:
        assert download.status_code == 200
        for part in download.iter_raw():
            received.update(part)
            size += len(part)
    seconds = time.monotonic() - started
    grown_mib = (_peak_rss_kib(proxy.pid) - before) / 1024
    print(f"200 MiB up and down through the proxy in {seconds:.1f} s; proxy peak RSS grew {grown_mib:.1f} MiB")
    assert (size, f"sha256:{received.hexdigest()}") == (count * len(chunk), digest)
    assert grown_mib < 32, f"the proxy's peak RSS grew by {grown_mib:.0f} MiB for a 200 MiB blob: it buffers"


def test_each_host_counts_the_body_bytes_it_received_and_sent(cloud: Cloud) -> None:
    repository = _repository(cloud, ACCOUNT_B, "counted", "IMMUTABLE")
    registry = cloud.client(HOST_B)

    def traffic() -> dict[str, dict[str, int]]:
        answer = cloud.client(HOST_A).request("GET", TRAFFIC_PATH)
        assert answer.status_code == 200, answer.text
        counters: dict[str, dict[str, int]] = answer.json()
        return counters

    blob = b"x" * 100_000
    before = traffic()
    uploaded = registry.upload_blob(repository, iter([blob]), _digest(blob))
    assert uploaded.status_code == 201, uploaded.text
    downloaded = registry.request("GET", f"/v2/{repository}/blobs/{_digest(blob)}")
    assert downloaded.content == blob
    after = traffic()
    key = f"{HOST_B}/{repository}"
    assert key not in before
    assert after[key] == {"received": len(blob), "sent": len(blob)}
    others = {name: value for name, value in after.items() if name != key and not name.startswith(HOST_B)}
    assert others == {name: value for name, value in before.items() if name in others}, "nothing else moved"


def test_pushed_tags_are_seen_by_the_ecr_api_of_their_account(cloud: Cloud) -> None:
    """The CDK's asset publishing asks DescribeImages whether a tag is there before it pushes (as on AWS)."""
    repository = _repository(cloud, ACCOUNT_A, "described", "IMMUTABLE")
    pushed = cloud.client(HOST_A).push(repository, "2.1", b'{"image": "described"}')
    assert pushed.status_code == 201
    images = cloud.ecr(ACCOUNT_A).describe_images(repositoryName=repository, imageIds=[{"imageTag": "2.1"}])
    assert [image["imageDigest"] for image in images["imageDetails"]] == [pushed.headers["docker-content-digest"]]
    _repository(cloud, ACCOUNT_B, repository, "IMMUTABLE")
    assert cloud.ecr(ACCOUNT_B).describe_images(repositoryName=repository)["imageDetails"] == []


def test_a_tag_added_through_the_ecr_api_is_pulled_from_the_registry(cloud: Cloud) -> None:
    """A tag added with the ECR API's PutImage is pullable through the registry, as on ECR."""
    repository = _repository(
        cloud, ACCOUNT_A, "released", "IMMUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "deploy-*"}]
    )
    pushed = cloud.client(HOST_A).push(repository, "deploy-1.0", b'{"image": "released"}')
    assert pushed.status_code == 201
    ecr = cloud.ecr(ACCOUNT_A)
    (image,) = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": "deploy-1.0"}])["images"]
    ecr.put_image(
        repositoryName=repository,
        imageTag="1.0",
        imageManifest=image["imageManifest"],
        imageManifestMediaType=image["imageManifestMediaType"],
    )
    pulled = cloud.client(HOST_A).request("GET", f"/v2/{repository}/manifests/1.0", headers={"accept": MANIFEST_TYPE})
    assert (pulled.status_code, pulled.headers["docker-content-digest"]) == (
        200,
        pushed.headers["docker-content-digest"],
    )
    with pytest.raises(ecr.exceptions.ImageAlreadyExistsException):
        ecr.put_image(repositoryName=repository, imageTag="1.0", imageManifest=image["imageManifest"])


def test_another_accounts_images_are_read_with_its_registry_id(cloud: Cloud) -> None:
    """A promotion reads its source's digest in the source account, as ECR allows with `registryId`."""
    repository = _repository(cloud, ACCOUNT_A, "promoted-source", "IMMUTABLE")
    pushed = cloud.client(HOST_A).push(repository, "3.0", b'{"image": "source"}')
    reader = cloud.ecr(ACCOUNT_B)
    images = reader.describe_images(registryId=ACCOUNT_A, repositoryName=repository, imageIds=[{"imageTag": "3.0"}])
    assert [image["imageDigest"] for image in images["imageDetails"]] == [pushed.headers["docker-content-digest"]]
    with pytest.raises(reader.exceptions.RepositoryNotFoundException):
        reader.describe_images(repositoryName=repository)
