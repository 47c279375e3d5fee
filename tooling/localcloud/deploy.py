"""`local deploy|diff|destroy`: the real CDK CLI against the local cloud, verified afterwards."""

from __future__ import annotations

import json
import time
from typing import Any

from tooling.localcloud import aws, registry
from tooling.localcloud.cdk_cli import STACKS, CdkCli
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.expectations import expected, load_local_settings
from tooling.localcloud.safety import ACCOUNT, REGION
from tooling.localcloud.services import RunningCloud, bring_up, is_up
from tooling.localcloud.smoke import smoke_test
from tooling.localcloud.state import LocalCloudState
from tooling.localcloud.steps import StepRunner
from tooling.localcloud.verify import copy_function_log_group, latest_log, verify_deploy

TOOLKIT_STACK = "CDKToolkit"


def _stack_exists(endpoint_url: str, name: str) -> bool:
    cloudformation = aws.client("cloudformation", endpoint_url)
    try:
        cloudformation.describe_stacks(StackName=name)
    except cloudformation.exceptions.ClientError:
        return False
    return True


def _bootstrap(cloud: RunningCloud, cdk: CdkCli, steps: StepRunner) -> None:
    if _stack_exists(cloud.endpoint_url, TOOLKIT_STACK):
        steps.note(f"{TOOLKIT_STACK} already deployed in aws://{ACCOUNT}/{REGION}")
        return
    cdk.run(["bootstrap", f"aws://{ACCOUNT}/{REGION}"])


def deploy(state: LocalCloudState, steps: StepRunner) -> dict[str, Any]:
    """Bring the cloud up, bootstrap, deploy, verify, smoke-test; return the summary."""
    started = time.monotonic()
    cloud = bring_up(state, steps)
    cdk = CdkCli(state, cloud.endpoint_url, cloud.base_image_override)
    with steps.step("cdk bootstrap"):
        _bootstrap(cloud, cdk, steps)
    settings, _ = load_local_settings(state.root)
    tags_before = cloud.registry.tags(settings.repository_name)
    since_ms = int(time.time() * 1000)
    with steps.step(f"cdk deploy '{STACKS}'"):
        try:
            # Direct stack updates: moto's change sets lose outputs and parameters.
            cdk.run(["deploy", STACKS, "--require-approval", "never", "--method", "direct"])
        except LocalCloudError as error:
            log = latest_log(cloud.endpoint_url, copy_function_log_group(cloud.endpoint_url))
            raise LocalCloudError(f"{error}\nthe copy Lambda's last log:\n{log}") from None
    with steps.step("Verify the repository and the image (read back through the AWS API and the registry)"):
        verified = verify_deploy(cloud.registry, cloud.endpoint_url, expected(state.root, state.cdk_out), since_ms)
        for check in verified.checks:
            steps.note(f"ok  {check.name}: {check.detail}")
    with steps.step("Pull the image from the repository, run it, /ping and predict"):
        smoke = smoke_test(f"{registry.HOST}/{verified.repository}@{verified.digest}")
        steps.note(
            f"{smoke.endpoint_url}: /ping 200, {json.dumps({'instances': [[5.1, 3.5, 1.4, 0.2]]})} -> {smoke.label}"
        )
    return {
        "image_uri": verified.image_uri,
        "image_digest": verified.digest,
        "repository": verified.repository,
        "tag": verified.tag,
        "endpoint_url": cloud.endpoint_url,
        "registry": f"https://{registry.HOST}",
        "base_image": cloud.base_image,
        "copied": verified.tag not in tags_before,
        "tags": cloud.registry.tags(verified.repository),
        "prediction": smoke.label,
        "phases": steps.timings,
        "seconds": round(time.monotonic() - started, 1),
    }


def _require_up(state: LocalCloudState, what: str) -> None:
    if not is_up(state):
        raise LocalCloudError(f"the local cloud is not running, so there is nothing to {what}: run `make deploy-local`")


def diff(state: LocalCloudState, steps: StepRunner) -> None:
    """`cdk diff` of the local stage against what the running local cloud holds."""
    _require_up(state, "diff against")
    cloud = bring_up(state, steps)
    with steps.step(f"cdk diff '{STACKS}'"):
        # Template diff: moto's change sets cannot tell replacements, and waiting for them takes minutes.
        CdkCli(state, cloud.endpoint_url, cloud.base_image_override).run(["diff", STACKS, "--method", "template"])


def destroy(state: LocalCloudState, steps: StepRunner) -> None:
    """`cdk destroy` of the local stage; then check the repository is gone and drop its registry data."""
    _require_up(state, "destroy")
    cloud = bring_up(state, steps)
    settings, _ = load_local_settings(state.root)
    with steps.step(f"cdk destroy '{STACKS}'"):
        CdkCli(state, cloud.endpoint_url, cloud.base_image_override).run(["destroy", STACKS, "--force"])
    with steps.step(f"Check the repository {settings.repository_name!r} is gone"):
        ecr = aws.client("ecr", cloud.endpoint_url)
        remaining = {repository["repositoryName"] for repository in ecr.describe_repositories()["repositories"]}
        if settings.repository_name in remaining:
            raise LocalCloudError(f"the repository {settings.repository_name!r} still exists after cdk destroy")
        for name in registry.stored_repositories(state.registry_storage):
            if name not in remaining:
                registry.delete_repository_data(state, name)
                steps.note(f"registry data of {name!r} removed (its ECR repository no longer exists)")
