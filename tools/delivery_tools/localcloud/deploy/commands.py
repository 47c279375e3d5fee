"""`local-cloud deploy|diff|destroy [ENV]`: the real CDK CLI against the machine's local cloud, verified afterwards.

Every local environment lives in its own account (cdk.json). Each account gets its own CDK bootstrap,
made with credentials that act in it (sts:AssumeRole); the deploy itself runs with the home account's
credentials and reaches the others through their bootstrap roles, as the CDK CLI does on AWS. The tools
then read each account back with a client acting in that account, and each image through its own
registry host.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from config import EnvironmentSettings
from config.project import MODEL_METADATA
from delivery_tools.common.errors import ToolError
from delivery_tools.common.smoke import Sample, smoke_test
from delivery_tools.localcloud.accounts import account_client, credentials_in
from delivery_tools.localcloud.deploy.cdk_cli import CdkCli
from delivery_tools.localcloud.deploy.expectations import expected
from delivery_tools.localcloud.deploy.verify import copy_function_log_group, copy_log_since, stage_stacks, verify_deploy
from delivery_tools.localcloud.services import moto, registry
from delivery_tools.localcloud.services.cloud import RunningCloud, bring_up, is_up
from delivery_tools.localcloud.services.state import LocalCloudState
from delivery_tools.localcloud.settings import LocalSettings, load_local_settings
from delivery_tools.localcloud.steps import StepRunner

TOOLKIT_STACK = "CDKToolkit"


def _cdk(project_root: Path, settings: LocalSettings, cloud: RunningCloud) -> CdkCli:
    """The CDK CLI acting in the home account (the first local environment's), as a user's own credentials
    would; it reaches the other accounts through their bootstrap roles."""
    home = settings.home
    credentials = credentials_in(cloud.endpoint_url, home.region, home.account)
    return CdkCli(project_root, cloud.endpoint_url, home.region, cloud.base_image_override, credentials)


def _bootstrapped(endpoint_url: str, region: str, account: str) -> bool:
    cloudformation = account_client("cloudformation", endpoint_url, region, account)
    try:
        cloudformation.describe_stacks(StackName=TOOLKIT_STACK)
    except cloudformation.exceptions.ClientError:
        return False
    return True


def _bootstrap(cloud: RunningCloud, cdk: CdkCli, targets: LocalSettings, steps: StepRunner) -> None:
    """`cdk bootstrap` of every account and region the targets deploy to, each acting in its own account."""
    for account, region in sorted({(environment.account, environment.region) for environment in targets.environments}):
        if _bootstrapped(cloud.endpoint_url, region, account):
            steps.note(f"{TOOLKIT_STACK} already deployed in aws://{account}/{region}")
        else:
            credentials = credentials_in(cloud.endpoint_url, region, account)
            cdk.run(["bootstrap", f"aws://{account}/{region}"], credentials)


def _copy_log(cloud: RunningCloud, cdk: CdkCli, environment: EnvironmentSettings, since_ms: int) -> str:
    where = (cloud.endpoint_url, environment.region, environment.account)
    log_group = copy_function_log_group(*where, stage_stacks(cdk.cdk_out, environment.name))
    return copy_log_since(*where, log_group, since_ms)


def _failed_deploy(
    error: ToolError,
    cloud: RunningCloud,
    cdk: CdkCli,
    settings: LocalSettings,
    stage: EnvironmentSettings,
    since_ms: int,
) -> str:
    """Why the deploy of `stage` failed, in words a user can act on: a stopped service, or the stage's copy
    log of this deploy followed by the CDK CLI's reason (last, where the eye lands)."""
    silent = [cloud.registry(host).base_url for host in cloud.unavailable_registries()]
    if silent:
        return (
            f"the local registry ({', '.join(silent)}) stopped during the deploy, so the image could not be "
            "pushed or copied: run `local-cloud deploy` again (it restarts the registry)"
        )
    if not moto.moto_ready(settings.home.region):
        return "the local AWS API (moto) stopped during the deploy: run `local-cloud deploy` again (it restarts it)"
    log = _copy_log(cloud, cdk, stage, since_ms)
    return (
        f"{stage.name} (account {stage.account}): the copy Lambda's log of this deploy:\n{log}\n"
        f"{error}\nfix the cause and run `local-cloud deploy` again"
    )


def deploy(
    state: LocalCloudState,
    project_root: Path,
    settings: LocalSettings,
    steps: StepRunner,
    only: str | None = None,
    rollback: str | None = None,
) -> dict[str, Any]:
    """Bring the cloud up (for every local environment), then bootstrap, deploy, verify and smoke-test the
    environment `only` or every local environment in cdk.json order; return the summary. `rollback` (a tag,
    with `only`) points that environment back at a release already in its repository, as `make rollback`."""
    started = time.monotonic()
    targets = settings.only(only)
    cloud = bring_up(state, settings, project_root, steps)
    cdk = _cdk(project_root, settings, cloud)
    with steps.step("cdk bootstrap, each account acting in itself"):
        _bootstrap(cloud, cdk, targets, steps)
    since_ms = int(time.time() * 1000)
    context = ["-c", f"rollback={only}={rollback}"] if rollback else []
    with steps.step(f"cdk synth {' '.join(targets.stack_patterns)}"):
        cdk.run(["synth", *targets.stack_patterns, *context, "--quiet"])
    # One stage after the other, as the delivery workflow deploys them: a promoted environment copies what
    # the environment before it holds, so that one must be deployed first (stages cannot depend on each
    # other in one `cdk deploy`). Every stage deploys the one assembly synthesized above.
    for stage, pattern in zip(targets.environments, targets.stack_patterns, strict=True):
        with steps.step(f"cdk deploy {pattern}"):
            try:
                # Direct stack updates: moto's change sets lose outputs and parameters.
                cdk.run(["deploy", pattern, "--require-approval", "never", "--method", "direct"], synthesized=True)
            except ToolError as error:
                raise ToolError(_failed_deploy(error, cloud, cdk, settings, stage, since_ms)) from None
    verified = []
    with steps.step("Verify the repositories and the images (read back per account, through each registry host)"):
        for expectation in expected(settings, targets, cdk.cdk_out, rollback):
            environment, source = expectation.settings, expectation.source
            source_digest = (
                cloud.registry(source.registry_host).manifest_digest(source.repository_name, expectation.tag)
                if source
                else None
            )
            registry_client = cloud.registry(environment.registry_host)
            verified.append(
                verify_deploy(registry_client, cloud.endpoint_url, expectation, cdk.cdk_out, since_ms, source_digest)
            )
            for check in verified[-1].checks:
                steps.note(f"ok  {environment.name} ({environment.account}): {check.name}: {check.detail}")
    first, host = verified[0], targets.home.registry_host
    with steps.step("Pull the image from the repository, run it, /ping and predict"):
        sample = Sample.of_model(project_root / MODEL_METADATA)
        smoke = smoke_test(f"{host}/{first.repository}@{first.digest}", sample=sample)
        steps.note(f"{smoke.endpoint_url}: /ping 200, {sample.instances[0]} -> {smoke.label}")
    return {
        "image_uri": first.image_uri,
        "image_digest": first.digest,
        "repository": first.repository,
        "tag": first.tag,
        "environments": {image.stage: image.image_uri for image in verified},
        "digests": {image.stage: image.digest for image in verified},
        "endpoint_url": cloud.endpoint_url,
        "registry": f"https://{host}",
        "base_image": cloud.base_image,
        "copied": first.copied,
        "copied_in": sorted(image.stage for image in verified if image.copied),
        "tags": cloud.registry(host).tags(first.repository),
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


def diff(state: LocalCloudState, project_root: Path, steps: StepRunner, only: str | None = None) -> None:
    """`cdk diff` of the local stages (or of `only`) against what the running local cloud holds."""
    settings, cloud = _running_cloud(state, project_root, "diff against", steps)
    patterns = settings.only(only).stack_patterns
    with steps.step(f"cdk diff {' '.join(patterns)}"):
        # Template diff: moto's change sets cannot tell replacements, and waiting for them takes minutes.
        cdk = _cdk(project_root, settings, cloud)
        cdk.run(["diff", *patterns, "--method", "template"])


def _after_destroy(
    state: LocalCloudState, cloud: RunningCloud, environment: EnvironmentSettings, delete_retained: bool
) -> str:
    """What became of the environment's repository: gone (its registry data dropped too), or kept for RETAIN
    (deleted now if `delete_retained`, as `aws ecr delete-repository --force` would)."""
    ecr = account_client("ecr", cloud.endpoint_url, environment.region, environment.account)
    remaining = {repository["repositoryName"] for repository in ecr.describe_repositories()["repositories"]}
    name = environment.repository_name
    if name in remaining and environment.destroy_on_removal:
        raise ToolError(f"the repository {name!r} of {environment.name} still exists after cdk destroy")
    if name in remaining and delete_retained:
        ecr.delete_repository(repositoryName=name, force=True)
        remaining.discard(name)
    dropped = [
        stored
        for stored in registry.stored_repositories(state.registry_storage, environment.account)
        if stored not in remaining and registry.delete_repository_data(state, environment.account, stored)
    ]
    if name in remaining:
        outcome = (
            f"kept with its images (removal policy RETAIN, as on AWS) in account {environment.account}; "
            "`local-cloud destroy --delete-retained` deletes it"
        )
    else:
        outcome = "deleted (RETAIN, --delete-retained)" if not environment.destroy_on_removal else "gone"
    return outcome + (f"; registry data of {', '.join(dropped)} removed" if dropped else "")


def destroy(
    state: LocalCloudState,
    project_root: Path,
    steps: StepRunner,
    only: str | None = None,
    *,
    delete_retained: bool = False,
) -> None:
    """`cdk destroy` of the local stages (or of `only`); then check each repository went as its removal
    policy says, and drop the registry data of repositories that are gone."""
    settings, cloud = _running_cloud(state, project_root, "destroy", steps)
    targets = settings.only(only)
    cdk = _cdk(project_root, settings, cloud)
    with steps.step(f"cdk destroy {' '.join(targets.stack_patterns)}"):
        cdk.run(["destroy", *targets.stack_patterns, "--force"])
    for environment in targets.environments:
        with steps.step(f"Check the repository {environment.repository_name!r} of {environment.name}"):
            steps.note(_after_destroy(state, cloud, environment, delete_retained))
