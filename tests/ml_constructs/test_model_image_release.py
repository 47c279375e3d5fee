"""ModelImageRelease on its own: built or promoted sources, content tags, several releases in one stack."""

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from ml_constructs import ModelImageBuild, ModelImageRelease, RepositoryImage
from ml_constructs.model_image_release import digest_guard


def probe_stack(region: str = "us-east-1", *, partition_literals: bool = False) -> tuple[App, Stack]:
    app = App(context={"@aws-cdk/core:enablePartitionLiterals": partition_literals})
    return app, Stack(app, "Probe", env=Environment(account="123456789012", region=region))


def add_release(
    stack: Stack,
    directory: Path,
    *,
    name: str = "Release",
    repository: str = "model-serving",
    model_version: str = "1.0.0",
    build_args: dict[str, str] | None = None,
    copy_memory_mib: int = 512,
    copy_ephemeral_storage_mib: int = 512,
) -> ModelImageRelease:
    build = ModelImageBuild(
        stack,
        f"{name}Build",
        directory=str(directory),
        model_version=model_version,
        platform=ecr_assets.Platform.LINUX_ARM64,
        build_args=build_args,
    )
    return ModelImageRelease(
        stack,
        name,
        source=build,
        repository=ecr.Repository.from_repository_name(stack, f"{name}Repository", repository),
        image_uri_parameter_name=f"/{repository}/{name}/image-uri",
        image_tag_parameter_name=f"/{repository}/{name}/image-tag",
        copy_memory_mib=copy_memory_mib,
        copy_ephemeral_storage_mib=copy_ephemeral_storage_mib,
    )


def release_tag(directory: Path, **props: Any) -> tuple[str, ecr_assets.DockerImageAsset]:
    _, stack = probe_stack()
    release = add_release(stack, directory, **props)
    assert isinstance(release.source, ModelImageBuild)
    return release.image_tag, release.source.asset


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "image"
    directory.mkdir()
    (directory / "Dockerfile").write_text("ARG BASE_IMAGE=python:3.12-slim\nFROM $BASE_IMAGE\nCOPY model.txt /\n")
    (directory / "model.txt").write_text("weights v1")
    return directory


def test_tag_is_stable_for_the_same_content_and_new_for_new_content(image_dir: Path, tmp_path: Path) -> None:
    first, _ = release_tag(image_dir)
    assert re.fullmatch(r"deploy-1\.0\.0-[0-9a-f]{12}", first)
    copy = tmp_path / "copy"
    shutil.copytree(image_dir, copy)
    assert release_tag(copy)[0] == first, "same content elsewhere on disk must give the same tag"
    (copy / "model.txt").write_text("weights v2")
    changed, _ = release_tag(copy)
    assert changed != first and changed.startswith("deploy-1.0.0-")
    assert release_tag(image_dir, model_version="1.1.0")[0].startswith("deploy-1.1.0-")


def test_build_arguments_reach_the_asset_and_make_a_new_tag(image_dir: Path) -> None:
    default_tag, _ = release_tag(image_dir)
    local_tag, asset = release_tag(image_dir, build_args={"BASE_IMAGE": "local/python-base:bookworm"})
    assert local_tag != default_tag
    assert asset.asset_hash[:12] == local_tag.removeprefix("deploy-1.0.0-")


def copy_functions(template: Template) -> list[Any]:
    return [
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "bootstrap"
    ]


def statements_of(template: Template, role_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_two_releases_in_one_stack_share_one_function_whose_role_can_copy_both(image_dir: Path) -> None:
    _, stack = probe_stack()
    first = add_release(stack, image_dir, name="Iris", repository="iris-serving")
    second = add_release(stack, image_dir, name="Churn", repository="churn-serving")
    template = Template.from_stack(stack)

    (function,) = copy_functions(template)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    pushes = [s for s in statements_of(template, role_id) if "ecr:PutImage" in s["Action"]]
    pushed_to = json.dumps([s["Resource"] for s in pushes])
    assert "repository/iris-serving" in pushed_to and "repository/churn-serving" in pushed_to
    copies = template.find_resources("Custom::CDKECRDeployment")
    assert len(copies) == 2
    policies = {
        i
        for i, p in template.find_resources("AWS::IAM::Policy").items()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    }
    for copy in copies.values():
        assert policies and policies <= set(copy["DependsOn"]), "each copy waits for every grant of the shared role"
    assert first.image_uri != second.image_uri


def test_a_different_copy_memory_gets_its_own_function_and_role(image_dir: Path) -> None:
    _, stack = probe_stack()
    add_release(stack, image_dir, name="Small")
    add_release(stack, image_dir, name="Large", copy_memory_mib=4096)
    template = Template.from_stack(stack)
    functions = copy_functions(template)
    assert sorted(f["Properties"]["MemorySize"] for f in functions) == [512, 4096]
    roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions}
    assert len(roles) == 2, "each function runs with its own role"


def test_the_copy_function_gets_the_ephemeral_storage_asked_for(image_dir: Path) -> None:
    _, stack = probe_stack()
    add_release(stack, image_dir, name="Default")
    add_release(stack, image_dir, name="Spool", copy_memory_mib=1024, copy_ephemeral_storage_mib=4096)
    sizes = {
        f["Properties"]["MemorySize"]: f["Properties"]["EphemeralStorage"]["Size"]
        for f in copy_functions(Template.from_stack(stack))
    }
    assert sizes == {512: 512, 1024: 4096}


def test_releases_sharing_a_copy_function_cannot_ask_for_different_ephemeral_storage(image_dir: Path) -> None:
    _, stack = probe_stack()
    add_release(stack, image_dir, name="First")
    with pytest.raises(ValueError, match=r"already has 512 MiB of ephemeral storage, not 1024"):
        add_release(stack, image_dir, name="Second", copy_ephemeral_storage_mib=1024)


@pytest.mark.parametrize("partition_literals", [True, False])
@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1"])
def test_acknowledgements_hold_in_every_partition(image_dir: Path, region: str, partition_literals: bool) -> None:
    app, stack = probe_stack(region, partition_literals=partition_literals)
    add_release(stack, image_dir)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises if a finding is left unacknowledged
    partition = ("aws-cn" if region.startswith("cn-") else "aws") if partition_literals else '"Ref": "AWS::Partition"'
    logs = [
        statement
        for policy in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "logs:CreateLogGroup"
    ]
    rendered = json.dumps(logs)
    assert partition in rendered and f":logs:{region}:" in rendered


def test_a_promoted_release_pulls_from_the_source_account_and_builds_nothing() -> None:
    app, stack = probe_stack(partition_literals=True)
    source = RepositoryImage(
        stack,
        "Source",
        repository_name="model-serving",
        account="210987654321",
        region="eu-west-1",
        image_tag="1.0.0-x",
    )
    release = ModelImageRelease(
        stack,
        "Release",
        source=source,
        repository=ecr.Repository.from_repository_name(stack, "Repository", "model-serving"),
        image_uri_parameter_name="/model-serving/probe/image-uri",
        image_tag_parameter_name="/model-serving/probe/image-tag",
    )
    template = Template.from_stack(stack)
    (copy,) = template.find_resources("Custom::CDKECRDeployment").values()
    assert "210987654321.dkr.ecr.eu-west-1." in json.dumps(copy["Properties"]["SrcImage"])
    assert release.image_tag == "1.0.0-x"
    (function,) = copy_functions(template)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    pulls = [s for s in statements_of(template, role_id) if "ecr:BatchGetImage" in s["Action"]]
    assert "arn:aws:ecr:eu-west-1:210987654321:repository/model-serving" in json.dumps(pulls)
    assert not app.synth().get_stack_by_name("Probe").assets, "a promotion builds no image"


def test_the_digest_guard_accepts_only_the_expected_digest_and_names_both_when_it_refuses() -> None:
    expected, actual = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    guard = digest_guard("1.0.0-0123456789ab", expected=expected, actual=actual)
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-serving"
    assert re.fullmatch(guard, f"{uri}@{expected}")
    assert not re.fullmatch(guard, f"{uri}@{actual}")
    assert not re.fullmatch(guard, f"{uri}:1.0.0-0123456789ab")
    assert expected in guard and actual in guard and "1.0.0-0123456789ab" in guard
