"""The stateless stack: built or promoted image, deploy-time copy under a content tag, least-privilege copy role."""

import json
from pathlib import Path
from typing import Any

import pytest

from config.project import project_context
from stacks.synthesis import SynthesizedApp, SynthesizedStack, synthesize

COPY_TYPE = "Custom::CDKECRDeployment"


@pytest.fixture
def stack(synthesized: SynthesizedApp, env_name: str) -> SynthesizedStack:
    return synthesized.stack(env_name, "ModelImage")


def image_asset(stack: SynthesizedStack) -> tuple[str, dict[str, Any]]:
    ((asset_hash, asset),) = stack.assets["dockerImages"].items()
    return asset_hash, asset


def build_context(synthesized: SynthesizedApp, asset: dict[str, Any]) -> Path:
    """The directory the asset is built from: in the cloud assembly when staged, else where it is."""
    directory = str(asset["source"]["directory"])
    return (synthesized.outdir / directory.removeprefix("../")).resolve()


def chain_start(synthesized: SynthesizedApp, env: str) -> str:
    """The environment that builds the image `env` runs."""
    settings = synthesized.settings.environment(env)
    while settings.promote_from:
        settings = synthesized.settings.environment(settings.promote_from)
    return settings.name


def test_only_the_start_of_each_chain_builds_an_image(synthesized: SynthesizedApp, stack: SynthesizedStack) -> None:
    builds = chain_start(synthesized, stack.env) == stack.env
    assert bool(stack.assets.get("dockerImages")) is builds
    assert stack.template["Outputs"]["ImageOrigin"]["Value"] == (
        "built here" if builds else f"promoted from {synthesized.settings.environment(stack.env).promote_from}"
    )


def test_the_shipped_chain_builds_in_dev_and_promotes_to_staging_then_prod(synthesized: SynthesizedApp) -> None:
    assert {env: chain_start(synthesized, env) for env in ("dev", "staging", "prod")} == {
        "dev": "dev",
        "staging": "dev",
        "prod": "dev",
    }


def test_the_build_uses_model_image_for_the_configured_platform(synthesized: SynthesizedApp) -> None:
    for env in ("dev", "local"):
        _, asset = image_asset(synthesized.stack(env, "ModelImage"))
        assert asset["source"]["platform"] == synthesized.settings.environment(env).image_platform
        context = build_context(synthesized, asset)
        assert (context / "Dockerfile").is_file()
        assert (context / "model" / "metadata.json").is_file()
        assert "dockerBuildArgs" not in asset["source"], "no base-image override is configured in cdk.json"


def test_aws_builds_from_the_cloud_assembly_and_local_from_the_checkout(
    synthesized: SynthesizedApp, project_root: Path
) -> None:
    """dev's assembly is deployed elsewhere (a CI artifact), so it carries its build context; the local cloud
    builds model_image/ in place, so that BuildKit sends only what changed since the last build."""
    _, dev = image_asset(synthesized.stack("dev", "ModelImage"))
    staged = build_context(synthesized, dev)
    assert staged.parent == synthesized.outdir and staged.name.startswith("asset.")
    _, local = image_asset(synthesized.stack("local", "ModelImage"))
    assert build_context(synthesized, local) == project_root / "model_image"
    # Only the image is built in place: the functions' code (in the jsii runtime's temporary directory, gone
    # when synthesis ends) is still copied into the assembly.
    code = [asset["source"]["path"] for asset in synthesized.stack("local", "ModelImage").assets["files"].values()]
    assert any(path.startswith("../asset.") for path in code)
    assert not any(Path(path).is_absolute() for path in code)


def test_the_local_target_synthesizes_the_local_stages_only_and_stages_no_build_context(
    project_root: Path, tmp_path: Path
) -> None:
    """What the local cloud synthesizes (`-c target=local`): the AWS stages would stage their own copy of
    model_image/ into the assembly at every change (a gigabyte each time, for a large model)."""
    local = synthesize(project_root, tmp_path, {**project_context(project_root), "target": "local"})
    assert set(local.stages) == {env.name for env in local.settings.environments if env.target == "local"}
    assert not list(tmp_path.glob("DeliveryRoles-*")), "the GitHub deploy roles belong to the AWS environments"
    assert not [path for path in tmp_path.glob("asset.*") if (path / "Dockerfile").exists()]


def test_copy_lands_under_the_deploy_tag_of_the_build(synthesized: SynthesizedApp, stack: SynthesizedStack) -> None:
    builder = synthesized.settings.environment(chain_start(synthesized, stack.env))
    asset_hash, _ = image_asset(synthesized.stack(builder.name, "ModelImage"))
    settings = synthesized.settings.environment(stack.env)
    tag = f"deploy-{synthesized.settings.model_version}-{asset_hash[:12]}"
    assert stack.template["Outputs"]["ImageTag"]["Value"] == tag, "every environment of a chain runs the build's tag"

    _, copy = stack.only(COPY_TYPE)
    dest = json.dumps(copy["Properties"]["DestImage"])
    src = json.dumps(copy["Properties"]["SrcImage"])
    assert f"{settings.account}.dkr.ecr.{settings.region}" in dest
    assert dest.endswith(f'/{settings.repository_name}:{tag}"]]}}'), "a mutable deploy tag: the copy may re-run"
    if settings.promote_from:
        source = synthesized.settings.environment(settings.promote_from)
        assert f"{source.account}.dkr.ecr.{source.region}" in src and f"/{source.repository_name}:{tag}" in src
        assert "container-assets" not in src
    else:
        assert "container-assets" in src and asset_hash in src


def ecr_calls(stack: SynthesizedStack) -> dict[str, dict[str, Any]]:
    """The AwsCustomResource calls of the stack by logical id, with their Create call decoded."""
    calls = {}
    for logical_id, resource in stack.resources("Custom::AWS").items():
        create = resource["Properties"]["Create"]
        text = (
            create
            if isinstance(create, str)
            else "".join(part if isinstance(part, str) else json.dumps(part) for part in create["Fn::Join"][1])
        )
        calls[logical_id] = {"resource": resource, "create": text}
    return calls


def call_named(stack: SynthesizedStack, fragment: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, call),) = ((i, c) for i, c in ecr_calls(stack).items() if fragment in i)
    return logical_id, call


def test_the_digest_is_read_back_after_the_copy(stack: SynthesizedStack) -> None:
    copy_id, _ = stack.only(COPY_TYPE)
    calls = ecr_calls(stack)
    copied_id, copied = call_named(stack, "CopiedImage")
    assert copy_id in copied["resource"]["DependsOn"], "the copied image is read after the copy"
    assert '"action":"describeImages"' in copied["create"]
    assert stack.template["Outputs"]["ImageDigest"]["Value"] == {
        "Fn::GetAtt": [copied_id, "imageDetails.0.imageDigest"]
    }
    assert len(calls) in (1, 2), "the copied image, and a promotion's or rollback's source"


def test_consumers_get_the_digest_and_only_the_expected_one(
    synthesized: SynthesizedApp, stack: SynthesizedStack
) -> None:
    settings = synthesized.settings.environment(stack.env)
    parameters = {p["Properties"]["Name"]: p for p in stack.resources("AWS::SSM::Parameter").values()}
    uri = parameters[settings.ssm_image_uri_parameter]["Properties"]
    copied_id, _ = call_named(stack, "CopiedImage")
    assert uri["Value"] == stack.template["Outputs"]["ImageUri"]["Value"]
    assert {"Fn::GetAtt": [copied_id, "imageDetails.0.imageDigest"]} in uri["Value"]["Fn::Join"][1]
    expected_from = call_named(stack, "PromotedFromDigest" if settings.promote_from else "CopiedImage")[0]
    assert expected_from in json.dumps(uri["AllowedPattern"]), "the parameter refuses any other digest"
    assert (
        parameters[settings.ssm_image_tag_parameter]["Properties"]["Value"]
        == (stack.template["Outputs"]["ImageTag"]["Value"])
    )


def test_a_promotion_reads_the_source_digest_in_the_source_account(
    synthesized: SynthesizedApp, stack: SynthesizedStack
) -> None:
    settings = synthesized.settings.environment(stack.env)
    if not settings.promote_from:
        assert not [i for i in ecr_calls(stack) if "PromotedFrom" in i]
        return
    source = synthesized.settings.environment(settings.promote_from)
    _, call = call_named(stack, "PromotedFromDigest")
    assert f'"registryId":"{source.account}"' in call["create"]
    assert f'"region":"{source.region}"' in call["create"]


def role_of(stack: SynthesizedStack, function: dict[str, Any]) -> str:
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


def copy_function(stack: SynthesizedStack) -> dict[str, Any]:
    (function,) = (
        f for f in stack.resources("AWS::Lambda::Function").values() if f["Properties"]["Handler"] == "bootstrap"
    )
    return function


def statements_of(stack: SynthesizedStack, role_id: str) -> list[dict[str, Any]]:
    statements = []
    for policy in stack.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions_of(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_copy_role_has_only_what_the_copy_needs(synthesized: SynthesizedApp, stack: SynthesizedStack) -> None:
    settings = synthesized.settings.environment(stack.env)
    statements = statements_of(stack, role_of(stack, copy_function(stack)))
    for statement in statements:
        actions = actions_of(statement)
        assert all("*" not in action for action in actions), f"wildcard action in {actions}"
        if statement["Resource"] == "*":
            assert actions == ["ecr:GetAuthorizationToken"]
        assert not any(action.startswith("s3:") for action in actions)

    push = [s for s in statements if "ecr:PutImage" in s["Action"]]
    assert len(push) == 1
    assert f"repository/{settings.repository_name}" in json.dumps(push[0]["Resource"])
    source = settings.promote_from and synthesized.settings.environment(settings.promote_from)
    pulled_from = f"{source.account}:repository/{source.repository_name}" if source else "container-assets"
    pulls = [s for s in statements if pulled_from in json.dumps(s["Resource"])]
    assert pulls and all("ecr:PutImage" not in s["Action"] for s in pulls)


def test_each_ecr_call_may_make_that_call_on_one_repository_only(stack: SynthesizedStack) -> None:
    (handler,) = (
        f for f in stack.resources("AWS::Lambda::Function").values() if f["Properties"]["Handler"] != "bootstrap"
    )
    policies = stack.resources("AWS::IAM::Policy")
    for call_id, call in ecr_calls(stack).items():
        own_policy = f"{call_id[:-8]}CustomResourcePolicy"  # the logical id without its 8-character hash
        (policy,) = (policies[i] for i in call["resource"]["DependsOn"] if i.startswith(own_policy))
        assert policy["Properties"]["Roles"] == [{"Ref": role_of(stack, handler)}]
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        action = statement["Action"]
        assert isinstance(action, str) and action.lower().endswith(
            call["create"].split('"action":"')[1].split('"')[0].lower()
        )
        assert ":repository/" in json.dumps(statement["Resource"])


def test_copy_function_is_the_vendored_lambda_with_our_role(stack: SynthesizedStack) -> None:
    function = copy_function(stack)
    assert function["Properties"]["Runtime"] == "provided.al2023"
    assert stack.template["Resources"][role_of(stack, function)]["Type"] == "AWS::IAM::Role"
    for vendored in stack.resources("AWS::Lambda::Function").values():
        skipped = {skip["id"] for skip in vendored["Metadata"]["checkov"]["skip"]}
        assert skipped == {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}


def test_copy_function_is_sized_for_the_largest_supported_image(stack: SynthesizedStack) -> None:
    """docs/image-sizes.md: the copy streams (memory for CPU share, not for the image), /tmp stays empty."""
    properties = copy_function(stack)["Properties"]
    assert (properties["MemorySize"], properties["EphemeralStorage"]) == (512, {"Size": 512})
    assert properties["Timeout"] == 900, "cdk-ecr-deployment's 15 minutes, Lambda's maximum"


def test_copy_waits_for_its_permissions(stack: SynthesizedStack) -> None:
    _, copy = stack.only(COPY_TYPE)
    role_id = role_of(stack, copy_function(stack))
    policies = {
        i for i, p in stack.resources("AWS::IAM::Policy").items() if {"Ref": role_id} in p["Properties"]["Roles"]
    }
    assert policies and policies <= set(copy["DependsOn"])


def test_no_cross_stack_export_ties_the_stacks(synthesized: SynthesizedApp, env_name: str) -> None:
    for kind in ("Repository", "ModelImage"):
        template = json.dumps(synthesized.stack(env_name, kind).template)
        assert "Fn::ImportValue" not in template
        assert all("Export" not in o for o in synthesized.stack(env_name, kind).template["Outputs"].values())


def test_one_delivery_roles_stack_per_github_deployed_account(synthesized: SynthesizedApp) -> None:
    roles = sorted(path.name for path in synthesized.outdir.glob("DeliveryRoles-*.template.json"))
    assert roles == [
        "DeliveryRoles-111111111111.template.json",
        "DeliveryRoles-222222222222.template.json",
        "DeliveryRoles-333333333333.template.json",
    ], "local is not deployed from GitHub"
    template = json.loads((synthesized.outdir / roles[2]).read_text())
    names = sorted(r["Properties"]["RoleName"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    assert names == ["github-deploy-prod"]


def test_a_rollback_copies_an_earlier_release_of_the_same_repository_and_builds_nothing(
    project_root: Path, tmp_path: Path
) -> None:
    context = {**project_context(project_root), "rollback": "prod=deploy-1.0.0-0123456789ab"}
    app = synthesize(project_root, tmp_path, context=context)
    prod = app.settings.environment("prod")
    stack = app.stack("prod", "ModelImage")
    assert not stack.assets.get("dockerImages")
    assert stack.template["Outputs"]["ImageOrigin"]["Value"] == "rolled back to deploy-1.0.0-0123456789ab"
    assert stack.template["Outputs"]["ImageTag"]["Value"] == "deploy-1.0.0-0123456789ab"
    _, copy = stack.only(COPY_TYPE)
    assert (
        f'{prod.account}.dkr.ecr.{prod.region}.", {{"Ref": "AWS::URLSuffix"}}, "/{prod.repository_name}:deploy-1.0.0-'
        in (json.dumps(copy["Properties"]["SrcImage"]))
    )
    _, digest = call_named(stack, "RolledBackToDigest")
    assert f'"registryId":"{prod.account}"' in digest["create"]
    staging = app.stack("staging", "ModelImage")
    assert staging.template["Outputs"]["ImageOrigin"]["Value"] == "promoted from dev", "only prod rolls back"


def test_a_promotion_reads_its_source_before_copying(synthesized: SynthesizedApp) -> None:
    stack = synthesized.stack("staging", "ModelImage")
    source_id, _ = call_named(stack, "PromotedFromDigest")
    _, copy = stack.only(COPY_TYPE)
    assert source_id in copy["DependsOn"], "a missing source tag fails with ECR's message, before the copy"
