"""End to end: every local environment in its own account, built once and promoted by digest.

`local` builds the image; `local-staging` and `local-prod` copy it from the previous account's registry, so
all three run the same digest. The image stack of an environment whose repository is retained (RETAIN) is
destroyed alone and deployed again: its deploy tag is one of the repository's mutable tags, so the copy
re-runs and the digest stays (ECR refuses any re-push of an immutable tag, cdklabs/cdk-ecr-deployment#207,
and so does the local cloud: the proxy's own tests). A new model version flows through the chain; a
rollback points local-prod back at the previous digest; a rollback to a tag that is not there fails before
any copy, with ECR's words naming it, and the next release still reaches local-prod. Real components
throughout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from delivery_tools.common.assembly import read_stacks
from delivery_tools.common.project import set_model_version
from delivery_tools.localcloud.accounts import account_client
from delivery_tools.localcloud.deploy.cdk_cli import CdkCli
from delivery_tools.localcloud.deploy.commands import TOOLKIT_STACK
from delivery_tools.localcloud.services import moto
from delivery_tools.localcloud.services.state import checkout_cdk_out

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


def test_built_once_promoted_by_digest_idempotent_and_rolled_back(machine: Any, tmp_path: Path) -> None:
    cloud = machine.checkout(tmp_path)
    cloud.use_a_new_model_version()
    settings = cloud.settings
    assert len({env.account for env in settings.environments}) == len(settings.environments) > 1
    _, *promoted = settings.environments
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

    # A release that is not in the repository: refused before any copy, in ECR's words, and nothing moves.
    missing = f"{tag}-missing"
    refused = cloud.run("deploy", last.name, "--rollback", missing)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1 and "Traceback" not in output, output
    assert f"imageTag:'{missing}'" in output and "does not exist" in output, output
    assert published(last) == f"{last.registry_host}/{last.repository_name}@{digest}"

    # After the refused rollback, the next release still goes all the way to local-prod (the refusal once
    # cost local-prod its SSM parameter, and every later deploy failed with ParameterNotFound).
    set_model_version(cloud.project, f"{settings.model_version}.after-refusal")
    third = cloud.deploy()
    assert third["copied_in"] == sorted(env.name for env in settings.environments)
    assert published(last) == f"{last.registry_host}/{last.repository_name}@{third['image_digest']}"
