"""`local-cloud deploy|diff|destroy`: the real CDK CLI against the machine's local cloud, verified afterwards."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from delivery_tools.common.errors import ToolError
from delivery_tools.common.smoke import IRIS_SETOSA, smoke_test
from delivery_tools.localcloud import aws
from delivery_tools.localcloud.deploy.cdk_cli import CdkCli
from delivery_tools.localcloud.deploy.expectations import expected
from delivery_tools.localcloud.deploy.verify import copy_function_log_group, copy_log_since, stage_stacks, verify_deploy
from delivery_tools.localcloud.services import moto, registry
from delivery_tools.localcloud.services.cloud import RunningCloud, bring_up, is_up
from delivery_tools.localcloud.services.state import LocalCloudState
from delivery_tools.localcloud.settings import LocalSettings, load_local_settings
from delivery_tools.localcloud.steps import StepRunner

TOOLKIT_STACK = "CDKToolkit"


def _bootstrapped(endpoint_url: str, region: str) -> bool:
    cloudformation = aws.client("cloudformation", endpoint_url, region)
    try:
        cloudformation.describe_stacks(StackName=TOOLKIT_STACK)
    except cloudformation.exceptions.ClientError:
        return False
    return True


def _bootstrap(cloud: RunningCloud, cdk: CdkCli, settings: LocalSettings, steps: StepRunner) -> None:
    for target in sorted({(environment.account, environment.region) for environment in settings.environments}):
        if _bootstrapped(cloud.endpoint_url, target[1]):
            steps.note(f"{TOOLKIT_STACK} already deployed in aws://{target[0]}/{target[1]}")
        else:
            cdk.run(["bootstrap", f"aws://{target[0]}/{target[1]}"])


def _failed_deploy(error: ToolError, cloud: RunningCloud, cdk: CdkCli, settings: LocalSettings, since_ms: int) -> str:
    """Why the deploy failed, in the words a user can act on: a stopped service, or this deploy's copy log."""
    if not cloud.registry.available():
        return (
            f"the local registry ({cloud.registry.base_url}) stopped during the deploy, so the image could not be "
            "pushed or copied: run `local-cloud deploy` again (it restarts the registry)"
        )
    if not moto.moto_ready(settings.home.region):
        return "the local AWS API (moto) stopped during the deploy: run `local-cloud deploy` again (it restarts it)"
    logs = []
    for environment in settings.environments:
        log_group = copy_function_log_group(
            cloud.endpoint_url, environment.region, stage_stacks(cdk.cdk_out, environment.name)
        )
        log = copy_log_since(cloud.endpoint_url, environment.region, log_group, since_ms)
        logs.append(f"{environment.name}: the copy Lambda's log of this deploy:\n{log}")
    return f"{error}\n" + "\n".join(logs) + "\nfix the cause and run `local-cloud deploy` again"


def deploy(state: LocalCloudState, project_root: Path, settings: LocalSettings, steps: StepRunner) -> dict[str, Any]:
    """Bring the cloud up, bootstrap, deploy, verify, smoke-test the checked `settings`; return the summary."""
    started = time.monotonic()
    cloud = bring_up(state, settings, project_root, steps)
    cdk = CdkCli(project_root, cloud.endpoint_url, settings.home.region, cloud.base_image_override)
    with steps.step("cdk bootstrap"):
        _bootstrap(cloud, cdk, settings, steps)
    since_ms = int(time.time() * 1000)
    patterns = settings.stack_patterns
    with steps.step(f"cdk deploy {' '.join(patterns)}"):
        try:
            # Direct stack updates: moto's change sets lose outputs and parameters.
            cdk.run(["deploy", *patterns, "--require-approval", "never", "--method", "direct"])
        except ToolError as error:
            raise ToolError(_failed_deploy(error, cloud, cdk, settings, since_ms)) from None
    verified = []
    with steps.step("Verify the repositories and the images (read back through the AWS API and the registry)"):
        for expectation in expected(settings, cdk.cdk_out):
            verified.append(verify_deploy(cloud.registry, cloud.endpoint_url, expectation, cdk.cdk_out, since_ms))
            for check in verified[-1].checks:
                steps.note(f"ok  {expectation.settings.name}: {check.name}: {check.detail}")
    first = verified[0]
    with steps.step("Pull the image from the repository, run it, /ping and predict"):
        smoke = smoke_test(f"{settings.home.registry_host}/{first.repository}@{first.digest}")
        steps.note(f"{smoke.endpoint_url}: /ping 200, {IRIS_SETOSA[0]} -> {smoke.label}")
    return {
        "image_uri": first.image_uri,
        "image_digest": first.digest,
        "repository": first.repository,
        "tag": first.tag,
        "environments": {image.stage: image.image_uri for image in verified},
        "endpoint_url": cloud.endpoint_url,
        "registry": f"https://{settings.home.registry_host}",
        "base_image": cloud.base_image,
        "copied": first.copied,
        "tags": cloud.registry.tags(first.repository),
        "prediction": smoke.label,
        "phases": steps.timings,
        "seconds": round(time.monotonic() - started, 1),
    }


def _running_cloud(
    state: LocalCloudState, project_root: Path, what: str, steps: StepRunner
) -> tuple[LocalSettings, RunningCloud]:
    settings = load_local_settings(project_root)
    if not is_up(state):
        raise ToolError(f"the local cloud is not running, so there is nothing to {what}: run `local-cloud deploy`")
    return settings, bring_up(state, settings, project_root, steps)


def diff(state: LocalCloudState, project_root: Path, steps: StepRunner) -> None:
    """`cdk diff` of the local stages against what the running local cloud holds."""
    settings, cloud = _running_cloud(state, project_root, "diff against", steps)
    with steps.step(f"cdk diff {' '.join(settings.stack_patterns)}"):
        # Template diff: moto's change sets cannot tell replacements, and waiting for them takes minutes.
        cdk = CdkCli(project_root, cloud.endpoint_url, settings.home.region, cloud.base_image_override)
        cdk.run(["diff", *settings.stack_patterns, "--method", "template"])


def destroy(state: LocalCloudState, project_root: Path, steps: StepRunner) -> None:
    """`cdk destroy` of the local stages; then check the repositories are gone and drop their registry data."""
    settings, cloud = _running_cloud(state, project_root, "destroy", steps)
    cdk = CdkCli(project_root, cloud.endpoint_url, settings.home.region, cloud.base_image_override)
    with steps.step(f"cdk destroy {' '.join(settings.stack_patterns)}"):
        cdk.run(["destroy", *settings.stack_patterns, "--force"])
    for environment in settings.environments:
        with steps.step(f"Check the repository {environment.repository_name!r} of {environment.name} is gone"):
            ecr = aws.client("ecr", cloud.endpoint_url, environment.region)
            remaining = {repository["repositoryName"] for repository in ecr.describe_repositories()["repositories"]}
            if environment.repository_name in remaining:
                raise ToolError(f"the repository {environment.repository_name!r} still exists after cdk destroy")
            for name in registry.stored_repositories(state.registry_storage):
                if name not in remaining and registry.delete_repository_data(state, name):
                    steps.note(f"registry data of {name!r} removed (its ECR repository no longer exists)")
