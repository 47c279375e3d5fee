"""Where a release's image comes from: built here from a directory, or an image already in a repository.

Each gives the copy what it needs: the URI to pull, the tag the image keeps in every environment, the
digest it must have (when known before the copy), and a grant helper for the copy's role. An image taken
from a repository (a promotion from the previous environment, or a rollback to an earlier release in the
environment's own repository) needs no DockerImageAsset, so that deploy builds nothing.
"""

from collections.abc import Mapping
from typing import Protocol

from aws_cdk import Arn, ArnComponents, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ml_constructs.ecr_calls import ecr_call
from ml_constructs.image_tag import deploy_tag


class ImageSource(IConstruct, Protocol):
    @property
    def image_uri(self) -> str: ...

    @property
    def image_tag(self) -> str: ...

    @property
    def digest(self) -> str | None:
        """The digest the released image must have; None where only the copy tells (a fresh build)."""

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant: ...


# The CDK's own switch (`cdk synth --no-staging` sets it for every asset); set on one construct, it applies to
# the assets under it only.
_DISABLE_ASSET_STAGING = "aws:cdk:disable-asset-staging"


class ModelImageBuild(Construct):
    """Builds `directory` as a DockerImageAsset; the tag is `<model version>-<asset hash prefix>`.

    `stage_context=False` builds from `directory` in place instead of from its copy in the cloud assembly. The
    assembly then only deploys on the machine that synthesized it, but the build context keeps one path from
    build to build, so BuildKit sends only the files that changed: a code change to an image with gigabytes
    of weights sends kilobytes, where a staged copy (a new directory per asset hash) sends every byte again.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        directory: str,
        model_version: str,
        platform: ecr_assets.Platform,
        build_args: Mapping[str, str] | None = None,
        stage_context: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        if not stage_context:
            self.node.set_context(_DISABLE_ASSET_STAGING, True)
        self.asset = ecr_assets.DockerImageAsset(
            self, "Asset", directory=directory, platform=platform, build_args=dict(build_args or {}) or None
        )
        self.image_tag = deploy_tag(model_version, self.asset.asset_hash)
        self.image_uri = self.asset.image_uri
        self.digest: str | None = None

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.asset.repository.grant_pull(grantee)


class RepositoryImage(Construct):
    """An image already released under `image_tag` in a repository of any account and region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        account: str,
        region: str,
        image_tag: str,
    ) -> None:
        super().__init__(scope, construct_id)
        arn = Arn.format(
            ArnComponents(
                service="ecr", account=account, region=region, resource="repository", resource_name=repository_name
            ),
            Stack.of(self),
        )
        self.repository = ecr.Repository.from_repository_attributes(
            self, "Repository", repository_arn=arn, repository_name=repository_name
        )
        self.image_tag = image_tag
        self.image_uri = self.repository.repository_uri_for_tag(image_tag)
        source = ecr_call(
            self,
            "Digest",
            action="describeImages",
            parameters={
                "registryId": account,
                "repositoryName": repository_name,
                "imageIds": [{"imageTag": image_tag}],
            },
            repository_arn=self.repository.repository_arn,
            region=region,
            physical_id=f"{account}/{repository_name}:{image_tag}",
            output_paths=["imageDetails.0.imageDigest"],
        )
        self.digest: str | None = source.get_response_field("imageDetails.0.imageDigest")

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.repository.grant_pull(grantee)
