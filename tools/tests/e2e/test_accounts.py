"""End to end: every local environment in its own account, and ECR's tag immutability where it bites.

The image stack of an environment whose repository is retained (RETAIN) is destroyed alone; the repository
keeps the image, so deploying the stack again makes the copy Lambda push an existing tag to an IMMUTABLE
repository. ECR refuses that, even for the identical image (cdklabs/cdk-ecr-deployment#207); the local
cloud must refuse it too, with ECR's words, where the user sees them. Real components throughout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from delivery_tools.common.assembly import read_stacks
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


def test_all_accounts_deploy_and_a_retained_tag_is_refused_as_ecr_refuses_it(machine: Any, tmp_path: Path) -> None:
    cloud = machine.checkout(tmp_path)
    settings = cloud.settings
    assert len({env.account for env in settings.environments}) == len(settings.environments) > 1

    summary = cloud.deploy()
    tag = str(summary["tag"])
    assert list(summary["environments"]) == [env.name for env in settings.environments]
    assert summary["copied_in"] == sorted(env.name for env in settings.environments)
    for env in settings.environments:
        cloudformation = account_client("cloudformation", moto.ENDPOINT_URL, env.region, env.account)
        assert cloudformation.describe_stacks(StackName=TOOLKIT_STACK)["Stacks"], f"{env.account} not bootstrapped"
        ecr = account_client("ecr", moto.ENDPOINT_URL, env.region, env.account)
        (repository,) = ecr.describe_repositories(repositoryNames=[env.repository_name])["repositories"]
        assert repository["registryId"] == env.account and repository["imageTagMutability"] == "IMMUTABLE"
        described = ecr.describe_images(repositoryName=env.repository_name, imageIds=[{"imageTag": tag}])
        assert described["imageDetails"][0]["imageDigest"] == summary["digests"][env.name]
        assert cloud.registry_of(env).manifest_digest(env.repository_name, tag) == summary["digests"][env.name]

    retained = next(env for env in settings.environments if not env.destroy_on_removal)
    kept, retained_registry = summary["digests"][retained.name], cloud.registry_of(retained)
    stack = image_stack(cloud.project, retained.name)
    cdk = CdkCli(cloud.project, moto.ENDPOINT_URL, settings.home.region, str(summary["base_image"]))
    cdk.run(["destroy", stack, "--force"])
    assert retained_registry.manifest_digest(retained.repository_name, tag) == kept

    refused = cloud.run("deploy", retained.name)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1, output
    assert "Traceback" not in output
    ecr_words = (
        f"The image tag '{tag}' already exists in the '{retained.repository_name}' repository and cannot be "
        "overwritten because the repository is immutable"
    )
    error = refused.stderr.split("local-cloud deploy: error: ", 1)[1]
    assert "the copy Lambda's log of this deploy:" in error and ecr_words in error, output
    assert "tag invalid" in error.lower(), output  # TAG_INVALID as containers/image words the error code
    assert retained_registry.manifest_digest(retained.repository_name, tag) == kept
