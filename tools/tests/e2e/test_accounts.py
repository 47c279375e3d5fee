"""End to end: every local environment in its own account, built once and promoted by digest.

`local` builds the image; `local-staging` and `local-prod` copy it from the previous account's registry, so
all three run the same digest. The image stack of an environment whose repository is retained (RETAIN) is
destroyed alone and deployed again: the copy lands under its mutable `incoming-` tag and ECR's PutImage
finds the release tag already on that digest, so the deploy succeeds without a refused push (ECR refuses
any re-push of an immutable tag, cdklabs/cdk-ecr-deployment#207; the proxy's own tests show the local cloud
refuses it too). A new model version flows through the chain; a rollback points local-prod back at the
previous digest; a tag forced onto other bytes fails the deploy with both digests named. Real components.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from delivery_tools.common.assembly import read_stacks
from delivery_tools.common.project import set_model_version
from delivery_tools.localcloud.accounts import account_client
from delivery_tools.localcloud.deploy.cdk_cli import CdkCli
from delivery_tools.localcloud.deploy.commands import TOOLKIT_STACK
from delivery_tools.localcloud.services import moto
from delivery_tools.localcloud.services.state import checkout_cdk_out, machine_state

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"

pytestmark = pytest.mark.e2e


def image_stack(project: Path, stage: str) -> str:
    """The stage's stack that deploys the image (the one without the repository), as the CLI names it."""
    (found,) = [
        stack.ref.display_name
        for stack in read_stacks(checkout_cdk_out(project)).values()
        if stack.ref.environment == stage
        and "AWS::ECR::Repository" not in {r["Type"] for r in stack.template.get("Resources", {}).values()}
    ]
    return found


def digests_of(cloud: Any, tag: str) -> dict[str, str | None]:
    return {
        env.name: cloud.registry_of(env).manifest_digest(env.repository_name, tag)
        for env in cloud.settings.environments
    }


def published(env: Any) -> str:
    ssm = account_client("ssm", moto.ENDPOINT_URL, env.region, env.account)
    return str(ssm.get_parameter(Name=env.ssm_image_uri_parameter)["Parameter"]["Value"])


def push_empty_image(host: str, repository: str, tag: str) -> str:
    """Push a minimal image (a config blob, no layers) under `tag` through the registry API; its digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    config_digest = "sha256:" + hashlib.sha256(config.encode()).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": config_digest},
            "layers": [],
        }
    )
    base, verify = f"https://{host}/v2/{repository}", str(machine_state().pki / "ca.crt")
    started = requests.post(f"{base}/blobs/uploads/", verify=verify, timeout=30)
    upload = started.headers["Location"]
    separator = "&" if "?" in upload else "?"
    requests.put(
        f"{upload}{separator}digest={config_digest}", data=config, verify=verify, timeout=30
    ).raise_for_status()
    pushed = requests.put(
        f"{base}/manifests/{tag}", data=manifest, headers={"Content-Type": MANIFEST_TYPE}, verify=verify, timeout=30
    )
    pushed.raise_for_status()
    return str(pushed.headers["Docker-Content-Digest"])


def push_other_bytes(cloud: Any, env: Any, tag: str) -> str:
    """Put a different image under `tag` the only way an immutable tag can move: the repository made
    mutable for a moment (as an administrator could), a push, and the setting restored."""
    ecr = account_client("ecr", moto.ENDPOINT_URL, env.region, env.account)
    (repository,) = ecr.describe_repositories(repositoryNames=[env.repository_name])["repositories"]
    ecr.put_image_tag_mutability(repositoryName=env.repository_name, imageTagMutability="MUTABLE")
    try:
        digest = push_empty_image(env.registry_host, env.repository_name, tag)
    finally:
        ecr.put_image_tag_mutability(
            repositoryName=env.repository_name,
            imageTagMutability=repository["imageTagMutability"],
            imageTagMutabilityExclusionFilters=repository["imageTagMutabilityExclusionFilters"],
        )
    return digest


def test_built_once_promoted_by_digest_idempotent_rolled_back_and_guarded(machine: Any, tmp_path: Path) -> None:
    cloud = machine.checkout(tmp_path)
    settings = cloud.settings
    assert len({env.account for env in settings.environments}) == len(settings.environments) > 1
    builder, *promoted = settings.environments
    assert [env.promote_from for env in promoted] == [env.name for env in settings.environments[:-1]]

    summary = cloud.deploy()
    tag, digest = str(summary["tag"]), str(summary["image_digest"])
    assert summary["copied_in"] == sorted(env.name for env in settings.environments)
    assert digests_of(cloud, tag) == {env.name: digest for env in settings.environments}, "one build, one digest"
    for env in settings.environments:
        cloudformation = account_client("cloudformation", moto.ENDPOINT_URL, env.region, env.account)
        assert cloudformation.describe_stacks(StackName=TOOLKIT_STACK)["Stacks"], f"{env.account} not bootstrapped"
        ecr = account_client("ecr", moto.ENDPOINT_URL, env.region, env.account)
        (repository,) = ecr.describe_repositories(repositoryNames=[env.repository_name])["repositories"]
        assert repository["registryId"] == env.account
        assert repository["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
        assert published(env) == f"{env.registry_host}/{env.repository_name}@{digest}"
    for env in promoted:  # their assemblies hold no image to build: they only copy
        manifests = list((checkout_cdk_out(cloud.project) / f"assembly-{env.name}").glob("*.assets.json"))
        assert manifests and not any(json.loads(path.read_text()).get("dockerImages") for path in manifests)

    # Re-created image stack over a retained repository: the copy re-runs and the release stays put.
    retained = next(env for env in settings.environments if not env.destroy_on_removal)
    cdk = CdkCli(cloud.project, moto.ENDPOINT_URL, settings.home.region, str(summary["base_image"]))
    cdk.run(["destroy", image_stack(cloud.project, retained.name), "--force"])
    again = json.loads(cloud.ok("deploy", retained.name).stdout.strip().splitlines()[-1])
    assert (again["tag"], again["digests"][retained.name], again["copied"]) == (tag, digest, True)
    assert published(retained) == f"{retained.registry_host}/{retained.repository_name}@{digest}"

    # A new model version flows through the chain, then local-prod goes back to the first release.
    set_model_version(cloud.project, f"{settings.model_version}.next")
    second = cloud.deploy()
    new_tag, new_digest = str(second["tag"]), str(second["image_digest"])
    assert new_tag != tag and new_digest != digest
    assert digests_of(cloud, new_tag) == {env.name: new_digest for env in settings.environments}
    last = settings.environments[-1]
    rolled = json.loads(cloud.ok("deploy", last.name, "--rollback", tag).stdout.strip().splitlines()[-1])
    assert (rolled["tag"], rolled["digests"][last.name]) == (tag, digest)
    assert published(last) == f"{last.registry_host}/{last.repository_name}@{digest}", "back to the first digest"

    # A release tag holding other bytes: the deploy fails and says which digests differ.
    other = push_other_bytes(cloud, builder, new_tag)
    cdk.run(["destroy", image_stack(cloud.project, builder.name), "--force"])
    refused = cloud.run("deploy", builder.name)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1 and "Traceback" not in output, output
    assert new_tag in output and other in output and new_digest in output, output
