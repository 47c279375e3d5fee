"""The stateless stack: built or promoted image, deploy-time copy under a content tag, least-privilege copy role."""

import json
from typing import Any

import pytest

from stacks.synthesis import SynthesizedApp, SynthesizedStack

COPY_TYPE = "Custom::CDKECRDeployment"


@pytest.fixture
def stack(synthesized: SynthesizedApp, env_name: str) -> SynthesizedStack:
    return synthesized.stack(env_name, "ModelImage")


def image_asset(stack: SynthesizedStack) -> tuple[str, dict[str, Any]]:
    ((asset_hash, asset),) = stack.assets["dockerImages"].items()
    return asset_hash, asset


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
        staged_context = synthesized.outdir / asset["source"]["directory"].removeprefix("../")
        assert (staged_context / "Dockerfile").is_file()
        assert (staged_context / "model" / "metadata.json").is_file()
        assert "dockerBuildArgs" not in asset["source"], "no base-image override is configured in cdk.json"


def test_copy_lands_under_the_content_tag_of_the_build(synthesized: SynthesizedApp, stack: SynthesizedStack) -> None:
    builder = synthesized.settings.environment(chain_start(synthesized, stack.env))
    asset_hash, _ = image_asset(synthesized.stack(builder.name, "ModelImage"))
    settings = synthesized.settings.environment(stack.env)
    tag = f"{synthesized.settings.model_version}-{asset_hash[:12]}"
    outputs = stack.template["Outputs"]
    assert outputs["ImageTag"]["Value"] == tag, "every environment of a chain runs the build's tag"

    _, copy = stack.only(COPY_TYPE)
    dest = json.dumps(copy["Properties"]["DestImage"])
    src = json.dumps(copy["Properties"]["SrcImage"])
    assert f"/{settings.repository_name}:{tag}" in dest
    assert f"{settings.account}.dkr.ecr.{settings.region}" in dest
    if settings.promote_from:
        source = synthesized.settings.environment(settings.promote_from)
        assert f"{source.account}.dkr.ecr.{source.region}" in src and f"/{source.repository_name}:{tag}" in src
        assert "container-assets" not in src
    else:
        assert "container-assets" in src and asset_hash in src
    separator, (first, *rest) = copy["Properties"]["DestImage"]["Fn::Join"]
    assert first.startswith("docker://")
    assert outputs["ImageUri"]["Value"] == {"Fn::Join": [separator, [first.removeprefix("docker://"), *rest]]}


def test_image_uri_is_published_in_ssm_after_the_copy(stack: SynthesizedStack) -> None:
    copy_id, _ = stack.only(COPY_TYPE)
    _, parameter = stack.only("AWS::SSM::Parameter")
    assert parameter["Properties"]["Name"] == f"/model-serving/{stack.env}/image-uri"
    assert parameter["Properties"]["Value"] == stack.template["Outputs"]["ImageUri"]["Value"]
    assert copy_id in parameter["DependsOn"]


def copy_role_statements(stack: SynthesizedStack) -> list[dict[str, Any]]:
    statements = []
    for policy in stack.resources("AWS::IAM::Policy").values():
        statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_copy_role_has_only_what_the_copy_needs(synthesized: SynthesizedApp, stack: SynthesizedStack) -> None:
    settings = synthesized.settings.environment(stack.env)
    (role_id,) = stack.resources("AWS::IAM::Role")
    for policy in stack.resources("AWS::IAM::Policy").values():
        assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    statements = copy_role_statements(stack)
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
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


def test_copy_function_is_the_vendored_lambda_with_our_role(stack: SynthesizedStack) -> None:
    (role_id,) = stack.resources("AWS::IAM::Role")
    (function,) = stack.resources("AWS::Lambda::Function").values()
    assert function["Properties"]["Runtime"] == "provided.al2023"
    assert function["Properties"]["Handler"] == "bootstrap"
    assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    skipped = {skip["id"] for skip in function["Metadata"]["checkov"]["skip"]}
    assert skipped == {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}


def test_copy_waits_for_its_permissions(stack: SynthesizedStack) -> None:
    _, copy = stack.only(COPY_TYPE)
    policies = set(stack.resources("AWS::IAM::Policy"))
    assert policies <= set(copy["DependsOn"])


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
